#!/usr/bin/env python3
"""Instructions per request (callgrind) of the two benchmarked calls of bench/server/run.py:
IMDS credentials (token-checked GET) and signed AssumeRole, on awsid serve and on the bare
hyper baseline. Instruction counts do not depend on the machine's load, unlike wrk figures.

Each server runs under `valgrind --tool=callgrind` with one tokio worker
(AWSID_SERVER_THREADS=1). After a warm-up, the counters are zeroed (`callgrind_control -z`),
N requests are sent on one keep-alive connection, and the counters are dumped
(`callgrind_control -d`); the dump's total / N is the user-space cost of one request
(the kernel's socket work is not counted). The dumps stay in bench/out/callgrind/ for
`callgrind_annotate --inclusive=yes <file>`.

Usage: python3 bench/server/profile.py [-n 1000] [--only imds|assume-role] [--no-bare]
Needs: valgrind, botocore, the release binaries (target/release/awsid and
target/release/examples/bare_hyper: `cargo build-static` and
`cargo build --release -p awsid-server --example bare_hyper`).
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import ASSUME_BODY, ROLE, free_port, sign_assume_role, wait_port  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "bench" / "out" / "callgrind"


def drive(port: int, method: str, path: str, headers: dict[str, str], body: str | None, n: int) -> None:
    """Sends `n` requests on one keep-alive connection; every answer must be a 200."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    hdrs = {k: v for k, v in headers.items() if k.lower() != "host"}
    for _ in range(n):
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        if r.status != 200:
            raise SystemExit(f"{method} {path} answered {r.status}: {data[:300]!r}")
    conn.close()


def total_ir(dump: Path) -> int:
    for line in dump.read_text(errors="replace").splitlines():
        if line.startswith("totals:") or line.startswith("summary:"):
            return int(line.split()[1])
    raise SystemExit(f"no totals in {dump}")


def measure(name: str, cmd: list[str], env: dict, port: int, requests: list, n: int) -> dict[str, float]:
    """Runs `cmd` under callgrind; for each (label, method, path, headers_fn, body) in
    `requests` returns instructions per request."""
    OUT.mkdir(parents=True, exist_ok=True)
    base = OUT / f"{name}.out"
    for old in OUT.glob(f"{name}.out*"):
        old.unlink()
    vg = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={base}", *cmd],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        wait_port(port, timeout=120)
        results = {}
        for label, method, path, headers_fn, body in requests:
            headers = headers_fn()
            drive(port, method, path, headers, body, 50)  # warm-up: caches, allocator, lazy init
            subprocess.run(["callgrind_control", "-z", str(vg.pid)], check=True, capture_output=True)
            t0 = time.monotonic()
            drive(port, method, path, headers, body, n)
            took = time.monotonic() - t0
            before = set(OUT.glob(f"{name}.out*"))
            subprocess.run(["callgrind_control", "-d", label, str(vg.pid)], check=True, capture_output=True)
            deadline = time.monotonic() + 60
            while True:
                new = set(OUT.glob(f"{name}.out*")) - before
                if new:
                    break
                if time.monotonic() > deadline:
                    raise SystemExit("callgrind dump did not appear")
                time.sleep(0.2)
            dump = max(new, key=lambda p: p.stat().st_mtime)
            time.sleep(0.5)  # let the dump finish writing
            target = OUT / f"{name}-{label}.callgrind"
            dump.rename(target)
            ir = total_ir(target)
            results[label] = ir / n
            print(f"{name} {label}: {ir:,} instructions / {n} requests = {ir / n:,.0f} per request "
                  f"({took:.1f} s under valgrind) -> {target.relative_to(REPO)}", flush=True)
        return results
    finally:
        vg.terminate()
        try:
            vg.wait(timeout=30)
        except subprocess.TimeoutExpired:
            vg.kill()
            vg.wait()
        for left in OUT.glob(f"{name}.out*"):
            left.unlink()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=1000, help="requests per measurement")
    ap.add_argument("--only", choices=["imds", "assume-role"])
    ap.add_argument("--no-bare", action="store_true")
    args = ap.parse_args()
    target = REPO / "target" / "release"
    creds_path = f"/latest/meta-data/iam/security-credentials/{ROLE}"

    api, imds, ecs = free_port(), free_port(), free_port()
    home = tempfile.mkdtemp()
    env = dict(os.environ, HOME=home, AWSID_SERVER_THREADS="1",
               AWSID_MASTER_KEY="AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
    token_box: dict[str, str] = {}

    def imds_headers() -> dict[str, str]:
        if "t" not in token_box:
            c = http.client.HTTPConnection("127.0.0.1", imds, timeout=120)
            c.request("PUT", "/latest/api/token", headers={"X-aws-ec2-metadata-token-ttl-seconds": "21600"})
            token_box["t"] = c.getresponse().read().decode()
            c.close()
        return {"X-aws-ec2-metadata-token": token_box["t"]}

    awsid_reqs = []
    if args.only in (None, "imds"):
        awsid_reqs.append(("imds", "GET", creds_path, imds_headers, None))
    if args.only in (None, "assume-role"):
        awsid_reqs.append(("assume-role", "POST", "/", lambda: sign_assume_role(f"127.0.0.1:{api}"), ASSUME_BODY))
    # IMDS requests go to the IMDS port, AssumeRole to the API port: measure them separately.
    results: dict[str, float] = {}
    for req in awsid_reqs:
        port = imds if req[0] == "imds" else api
        cmd = [str(target / "awsid"), "serve", "--quiet", "--api", f"127.0.0.1:{api}",
               "--imds", f"127.0.0.1:{imds}", "--ecs", f"127.0.0.1:{ecs}"]
        token_box.clear()
        r = measure("awsid", cmd, env, port, [req], args.n)
        results[f"awsid {req[0]}"] = r[req[0]]
        wait_free(api)
    if not args.no_bare:
        port = free_port()
        bare_reqs = []
        token_box["t"] = "x" * 44
        if args.only in (None, "imds"):
            bare_reqs.append(("imds", "GET", creds_path, lambda: {"X-aws-ec2-metadata-token": token_box["t"]}, None))
        if args.only in (None, "assume-role"):
            bare_reqs.append(("assume-role", "POST", "/", lambda: sign_assume_role(f"127.0.0.1:{port}"), ASSUME_BODY))
        r = measure("bare", [str(target / "examples" / "bare_hyper"), f"127.0.0.1:{port}"],
                    dict(os.environ, AWSID_SERVER_THREADS="1"), port, bare_reqs, args.n)
        for k, v in r.items():
            results[f"bare hyper {k}"] = v
    print()
    print("| server, call | instructions per request |")
    print("|---|---:|")
    for k, v in results.items():
        print(f"| {k} | {v:,.0f} |")
    return 0


def wait_free(port: int, timeout: float = 30) -> None:
    """Waits until nothing listens on `port` (the previous server has exited)."""
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                time.sleep(0.2)
        except OSError:
            return


if __name__ == "__main__":
    sys.exit(main())
