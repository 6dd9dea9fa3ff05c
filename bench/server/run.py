#!/usr/bin/env python3
"""Server benchmark: `wrk -t2 -c32 -d10s` against awsid serve, a bare hyper server (same
runtime settings, fixed body) and moto_server, in one run, on the same two paths:

* IMDS credentials: GET /latest/meta-data/iam/security-credentials/<role> with an IMDSv2
  token header (awsid verifies the token's HMAC on every request);
* signed AssumeRole: POST / with a SigV4-signed AssumeRole form (awsid verifies the signature,
  evaluates the trust and identity policies and mints new credentials on every request).

The AssumeRole request is signed (botocore) just before each run; the default world allows 15
minutes of clock skew and a run lasts 10 seconds, so the one signature stays valid. Each
server's RSS is sampled under load (VmRSS mid-run) and its peak (VmHWM) read at the end.

With `--spin-us 2.5,5,10` the bare server is run again on the AssumeRole path with that many
microseconds of busy-waiting added to each request (`bare_hyper ADDR SPIN_NS`): a calibration of
what a given extra CPU cost per request does to the request rate in the same run, on the same
cores `wrk` shares.

Usage: python3 bench/server/run.py [--duration 10s] [--skip-build] [--no-moto] [--spin-us 2.5,5]
Writes the raw wrk output to bench/out/ and prints a Markdown table.
Needs: wrk (Debian package), botocore, moto_server (pip moto[server]), a release build.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "bench" / "out"
ROLE = "my-instance-profile"
INSTANCE = "i-1234567890abcdef0"
USER1 = ("AKIAI44QH8DHBEXAMPLE", "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY")
ASSUME_BODY = (
    "Action=AssumeRole&Version=2011-06-15"
    "&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fmarketingadminrole"
    "&RoleSessionName=bench"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def proc_status(pid: int, field: str) -> int:
    """A kB value from /proc/<pid>/status (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def tree_pids(pid: int) -> list[int]:
    """pid and its descendants (moto_server may fork)."""
    out = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    for c in children:
        out += tree_pids(int(c))
    return out


def sign_assume_role(host: str) -> dict[str, str]:
    """Headers of a botocore-signed AssumeRole POST to http://<host>/ (signed now)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    req = AWSRequest(
        method="POST",
        url=f"http://{host}/",
        data=ASSUME_BODY,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(Credentials(*USER1), "sts", "us-east-1").add_auth(req)
    return {k: v for k, v in req.headers.items()}


def lua_script(method: str, path: str, headers: dict[str, str], body: str | None) -> str:
    def q(s: str) -> str:
        return json.dumps(s)

    lines = [f"wrk.method = {q(method)}", f"wrk.path = {q(path)}"]
    for k, v in headers.items():
        if k.lower() == "host":
            continue
        lines.append(f"wrk.headers[{q(k)}] = {q(v)}")
    if body is not None:
        lines.append(f"wrk.body = {q(body)}")
    # Count non-2xx answers so a benchmark of error pages cannot pass for a success.
    lines.append(
        "local bad = 0\n"
        "function response(status, headers, body) if status ~= 200 then bad = bad + 1 end end\n"
        "function done(summary, latency, requests) io.write(string.format('non200 %d\\n', bad)) end"
    )
    return "\n".join(lines) + "\n"


def run_wrk(url: str, script: str, duration: str, pid: int, name: str) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
        script_path = f.name
    samples: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        time.sleep(2)
        while not stop.is_set():
            samples.append(sum(proc_status(p, "VmRSS") for p in tree_pids(pid)))
            stop.wait(1)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    r = subprocess.run(
        ["wrk", "-t2", "-c32", f"-d{duration}", "--latency", "-s", script_path, url],
        capture_output=True,
        text=True,
    )
    stop.set()
    t.join()
    os.unlink(script_path)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.txt").write_text(r.stdout + r.stderr)
    text = r.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", text)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    p99_ms = float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan")
    non200 = int(re.search(r"non200 (\d+)", text).group(1))
    total = int(re.search(r"(\d+) requests in", text).group(1))
    return {
        "rps": rps,
        "p99_ms": p99_ms,
        "non200": non200,
        "requests": total,
        "rss_load_kb": max(samples) if samples else 0,
    }


def start(cmd: list[str], env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)


def stop(p: subprocess.Popen) -> None:
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", default="10s")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--no-moto", action="store_true")
    ap.add_argument("--spin-us", default="", help="comma-separated extra microseconds per request "
                    "for a calibration run of the bare server (AssumeRole path)")
    args = ap.parse_args()
    spins = [float(x) for x in args.spin_us.split(",") if x.strip()]
    if not shutil.which("wrk"):
        raise SystemExit("wrk is required: apt-get install wrk")
    if not args.skip_build:
        subprocess.run(["cargo", "build", "--release", "-p", "awsid-server", "--example", "bare_hyper"],
                       cwd=REPO, check=True)
        subprocess.run(["cargo", "build-static"], cwd=REPO, check=True)
    target = REPO / "target" / "release"
    for binary in (target / "awsid", target / "examples" / "bare_hyper"):
        if not binary.exists():
            raise SystemExit(f"{binary} is missing: run `cargo build-static` and `cargo build --release "
                             "-p awsid-server --example bare_hyper` (or leave out --skip-build)")
    results: dict[str, dict] = {}

    # --- awsid serve
    api, imds, ecs = free_port(), free_port(), free_port()
    home = tempfile.mkdtemp()
    env = dict(os.environ, HOME=home, AWSID_MASTER_KEY="AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
    awsid = start([str(target / "awsid"), "serve", "--quiet", "--api", f"127.0.0.1:{api}",
                   "--imds", f"127.0.0.1:{imds}", "--ecs", f"127.0.0.1:{ecs}"], env)
    wait_port(api)
    wait_port(imds)
    import urllib.request

    token = urllib.request.urlopen(urllib.request.Request(
        f"http://127.0.0.1:{imds}/latest/api/token", method="PUT",
        headers={"X-aws-ec2-metadata-token-ttl-seconds": "21600"})).read().decode()
    imds_headers = {"X-aws-ec2-metadata-token": token}
    creds_path = f"/latest/meta-data/iam/security-credentials/{ROLE}"
    results["awsid IMDS credentials"] = run_wrk(
        f"http://127.0.0.1:{imds}", lua_script("GET", creds_path, imds_headers, None), args.duration,
        awsid.pid, "awsid-imds")
    results["awsid AssumeRole"] = run_wrk(
        f"http://127.0.0.1:{api}",
        lua_script("POST", "/", sign_assume_role(f"127.0.0.1:{api}"), ASSUME_BODY),
        args.duration, awsid.pid, "awsid-assume-role")
    awsid_hwm = proc_status(awsid.pid, "VmHWM")
    stop(awsid)

    # --- bare hyper, same runtime settings
    port = free_port()
    bare = start([str(target / "examples" / "bare_hyper"), f"127.0.0.1:{port}"])
    wait_port(port)
    results["bare hyper IMDS path"] = run_wrk(
        f"http://127.0.0.1:{port}", lua_script("GET", creds_path, imds_headers, None), args.duration,
        bare.pid, "bare-imds")
    results["bare hyper AssumeRole"] = run_wrk(
        f"http://127.0.0.1:{port}",
        lua_script("POST", "/", sign_assume_role(f"127.0.0.1:{port}"), ASSUME_BODY),
        args.duration, bare.pid, "bare-assume-role")
    bare_hwm = proc_status(bare.pid, "VmHWM")
    stop(bare)

    # --- bare hyper with a fixed extra cost per request (calibration)
    for us in spins:
        port = free_port()
        spun = start([str(target / "examples" / "bare_hyper"), f"127.0.0.1:{port}", str(round(us * 1000))])
        wait_port(port)
        results[f"bare hyper AssumeRole path + {us:g} us"] = run_wrk(
            f"http://127.0.0.1:{port}",
            lua_script("POST", "/", sign_assume_role(f"127.0.0.1:{port}"), ASSUME_BODY),
            args.duration, spun.pid, f"bare-assume-role-spin-{us:g}us")
        stop(spun)

    # --- moto_server
    moto_hwm = 0
    if not args.no_moto and shutil.which("moto_server"):
        port = free_port()
        moto = start(["moto_server", "-p", str(port)])
        wait_port(port)
        results["moto IMDS credentials"] = run_wrk(
            f"http://127.0.0.1:{port}", lua_script("GET", creds_path, imds_headers, None), args.duration,
            moto.pid, "moto-imds")
        results["moto AssumeRole"] = run_wrk(
            f"http://127.0.0.1:{port}",
            lua_script("POST", "/", sign_assume_role(f"127.0.0.1:{port}"), ASSUME_BODY),
            args.duration, moto.pid, "moto-assume-role")
        moto_hwm = max(proc_status(p, "VmHWM") for p in tree_pids(moto.pid))
        stop(moto)

    print(f"wrk -t2 -c32 -d{args.duration}, {os.cpu_count()} cores\n")
    print("| target | req/s | p99 ms | non-200 | RSS under load MiB |")
    print("|---|---:|---:|---:|---:|")
    for name, r in results.items():
        print(f"| {name} | {r['rps']:.0f} | {r['p99_ms']:.2f} | {r['non200']} | {r['rss_load_kb'] / 1024:.1f} |")
    print()
    print(f"peak RSS (VmHWM): awsid {awsid_hwm / 1024:.1f} MiB, bare hyper {bare_hwm / 1024:.1f} MiB"
          + (f", moto {moto_hwm / 1024:.1f} MiB" if moto_hwm else ""))
    imds_ratio = results["awsid IMDS credentials"]["rps"] / results["bare hyper IMDS path"]["rps"]
    ar_ratio = results["awsid AssumeRole"]["rps"] / results["bare hyper AssumeRole"]["rps"]
    print(f"IMDS credentials / bare hyper: {imds_ratio:.0%} (target >= 90%)")
    print(f"AssumeRole / bare hyper: {ar_ratio:.0%} (target >= 50%)")
    for us in spins:
        r = results[f"bare hyper AssumeRole path + {us:g} us"]["rps"] / results["bare hyper AssumeRole"]["rps"]
        print(f"bare hyper + {us:g} us per request / bare hyper: {r:.0%}")
    if "moto AssumeRole" in results:
        print(f"awsid / moto: IMDS {results['awsid IMDS credentials']['rps'] / max(results['moto IMDS credentials']['rps'], 1e-9):.0f}x, "
              f"AssumeRole {results['awsid AssumeRole']['rps'] / max(results['moto AssumeRole']['rps'], 1e-9):.0f}x")
    bad = [n for n, r in results.items() if n.startswith("awsid") and r["non200"]]
    if bad:
        print(f"ERROR: non-200 answers from {bad}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
