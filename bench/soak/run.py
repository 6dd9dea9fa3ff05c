#!/usr/bin/env python3
"""Soak and load: `awsid serve` under steady mixed load with 1-minute credential lifetimes.

Starts `awsid serve` on a copy of the default world whose instances and ECS tasks issue
credentials that live 60 s (rotating every 30 s), then runs worker threads at a steady total
rate, round robin over:

* `imds`     IMDSv2 token PUT (every 100th request) and the role's credentials GET;
* `imds-use` GetCallerIdentity signed with the IMDS credentials last fetched: the credentials
             served must work at STS for as long as they are served (no credential gap across
             rotations);
* `ecs`      the task's credentials (`GET /v2/credentials/<id>`);
* `assume`   AssumeRole(marketingadminrole) signed with user1's keys, freshly signed each time;
* `iam`      an IAM read (`ListRoles`, signed by the administrator), when the server answers IAM (reported as skipped when it
             does not).

Every answer is checked (status 200 and the expected document). Reported per minute: requests,
errors, p50/p99 latency per kind, and the server's RSS; at the end the totals and whether RSS
stayed flat (last sample within 10% of the first sample after the first minute).

Usage:
  python3 bench/soak/run.py [--bin target/release/awsid] [--minutes 10] [--rate 200]
  python3 bench/soak/run.py --short     # the test suite's variant: 20 s at 50 req/s
Writes bench/out/soak.json (or --json PATH). Needs botocore (the test venv's) for signing.
Exit status 1 on any error, on RSS growth above 10%, or when the server dies.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WORLD = REPO / "crates" / "server" / "src" / "world" / "default_world.toml"
ROLE = "my-instance-profile"
INSTANCE = "i-1234567890abcdef0"
ECS_ID = "6d2f4b8a-1c3e-4f5a-9b7d-0e2c4a6f8b1d"
USER1 = ("AKIAI44QH8DHBEXAMPLE", "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY")
# The default world's administrator (AdministratorAccess): user1 may not list roles.
ADMIN = ("AKIAAWSIDADMIN000001", "awsidAdminSecretKeyEXAMPLEEXAMPLEKEY0001")
MASTER_KEY = base64.b64encode(bytes(range(32))).decode()
ASSUME = ("Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole"
          "%2Fmarketingadminrole&RoleSessionName=soak")
GCI = "Action=GetCallerIdentity&Version=2011-06-15"
IAM = "Action=ListRoles&Version=2010-05-08"
KINDS = ["imds", "imds-use", "ecs", "assume", "iam"]


def soak_world(lifetime: int) -> str:
    """The default world with every instance's and task's credentials living `lifetime` s."""
    text = WORLD.read_text()
    text = re.sub(r"^(\[\[(instances|ecs_tasks)\]\])$",
                  rf"\1\ncredential_lifetime_seconds = {lifetime}", text, flags=re.M)
    return text


def start_server(binary: Path, workdir: Path, world: Path) -> tuple[subprocess.Popen, dict]:
    ready = workdir / "ready.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BOTO_"))}
    env.update(HOME=str(workdir), AWSID_MASTER_KEY=MASTER_KEY, AWS_EC2_METADATA_DISABLED="true")
    proc = subprocess.Popen(
        [str(binary), "serve", "--quiet", "--world", str(world), "--api", "127.0.0.1:0",
         "--imds", "127.0.0.1:0", "--ecs", "127.0.0.1:0", "--ready-file", str(ready)],
        stdout=subprocess.DEVNULL, stderr=open(workdir / "serve.err", "w"), env=env)
    deadline = time.monotonic() + 30
    while not ready.exists():
        if proc.poll() is not None:
            raise SystemExit(f"awsid serve exited: {(workdir / 'serve.err').read_text()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("awsid serve did not become ready in 30 s")
        time.sleep(0.02)
    return proc, json.loads(ready.read_text())


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    """A /proc/PID/status memory field in kB: VmRSS, or its parts RssAnon (heap, stacks: what
    the server allocates) and RssFile (pages of the executable mapped in: code and constants)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def signed(api: str, body: str, creds: tuple) -> dict:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    req = AWSRequest(method="POST", url=f"http://{api}/", data=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    service = "iam" if body.endswith("2010-05-08") else "sts"
    SigV4Auth(Credentials(*creds), service, "us-east-1").add_auth(req)
    return dict(req.headers.items())


class Worker:
    """One client thread with keep-alive connections to each listener (as SDKs pool them)."""

    def __init__(self, info: dict, stats: "Stats") -> None:
        self.api, self.ecs = info["api"], info["ecs"]
        self.imds = info["imds"][INSTANCE]
        self.stats = stats
        self.conns: dict[str, http.client.HTTPConnection] = {}
        self.token: str | None = None
        self.imds_creds: tuple | None = None
        self.n = 0

    def call(self, addr: str, method: str, path: str, headers: dict, body: str | None = None):
        for attempt in (0, 1):
            conn = self.conns.get(addr)
            if conn is None:
                host, port = addr.rsplit(":", 1)
                conn = self.conns[addr] = http.client.HTTPConnection(host, int(port), timeout=10)
            try:
                conn.request(method, path, body=body, headers=headers)
                r = conn.getresponse()
                return r.status, r.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # The server closed an idle keep-alive connection: reconnect once, as SDKs do.
                conn.close()
                del self.conns[addr]
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def one(self, kind: str) -> tuple[bool, str]:
        if kind == "imds":
            if self.token is None or self.n % 100 == 0:
                status, body = self.call(self.imds, "PUT", "/latest/api/token",
                                         {"X-aws-ec2-metadata-token-ttl-seconds": "21600"})
                if status != 200:
                    return False, f"token PUT {status}"
                self.token = body.decode()
            status, body = self.call(self.imds, "GET",
                                     f"/latest/meta-data/iam/security-credentials/{ROLE}",
                                     {"X-aws-ec2-metadata-token": self.token})
            if status != 200:
                return False, f"credentials GET {status}"
            doc = json.loads(body)
            self.imds_creds = (doc["AccessKeyId"], doc["SecretAccessKey"], doc["Token"])
            return doc.get("Code") == "Success", "Code != Success"
        if kind == "imds-use":
            if self.imds_creds is None:
                return True, ""
            status, body = self.call(self.api, "POST", "/", signed(self.api, GCI, self.imds_creds), GCI)
            return status == 200 and b"assumed-role/my-instance-profile/" in body, \
                f"GetCallerIdentity with IMDS credentials: {status} {body[:200]!r}"
        if kind == "ecs":
            status, body = self.call(self.ecs, "GET", f"/v2/credentials/{ECS_ID}", {})
            return status == 200 and b'"AccessKeyId"' in body, f"ECS {status}"
        if kind == "assume":
            status, body = self.call(self.api, "POST", "/", signed(self.api, ASSUME, USER1), ASSUME)
            return status == 200 and b"<AssumeRoleResult>" in body, f"AssumeRole {status} {body[:200]!r}"
        if kind == "iam":
            status, body = self.call(self.api, "POST", "/", signed(self.api, IAM, ADMIN), IAM)
            if b"<Code>InvalidAction</Code>" in body or status == 404:
                return True, "skipped"
            return status == 200 and b"<ListRolesResult>" in body, f"ListRoles {status} {body[:200]!r}"
        raise ValueError(kind)


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lat: dict[str, list[float]] = {k: [] for k in KINDS}
        self.errors: list[str] = []
        self.skipped: dict[str, int] = {k: 0 for k in KINDS}

    def take(self):
        with self.lock:
            out = (self.lat, self.errors, self.skipped)
            self.lat = {k: [] for k in KINDS}
            self.errors = []
            self.skipped = {k: 0 for k in KINDS}
        return out


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", type=Path, default=None)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--rate", type=float, default=200, help="requests per second, all kinds")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--lifetime", type=int, default=60, help="credential lifetime (s)")
    ap.add_argument("--interval", type=float, default=60, help="report interval (s)")
    ap.add_argument("--short", action="store_true")
    ap.add_argument("--json", type=Path, default=REPO / "bench" / "out" / "soak.json")
    args = ap.parse_args()
    if args.short:
        args.minutes, args.rate, args.interval = 1 / 3, 50, 5
    binary = args.bin or Path(os.environ.get("AWSID_BIN") or REPO / "target" / "release" / "awsid")
    if not binary.is_file():
        raise SystemExit(f"awsid binary not found at {binary} (cargo build-static, or --bin)")

    workdir = Path(tempfile.mkdtemp(prefix="awsid-soak-"))
    world = workdir / "world.toml"
    world.write_text(soak_world(args.lifetime))
    server, info = start_server(binary, workdir, world)
    stats = Stats()
    stop = threading.Event()
    per_thread = args.rate / args.threads

    def run(k: int) -> None:
        w = Worker(info, stats)
        next_at = time.monotonic()
        i = k
        while not stop.is_set():
            kind = KINDS[i % len(KINDS)]
            i += 1
            w.n += 1
            t0 = time.perf_counter()
            try:
                ok, why = w.one(kind)
            except Exception as e:  # noqa: BLE001 - every failure is an error to report
                ok, why = False, f"{kind}: {type(e).__name__}: {e}"
            ms = (time.perf_counter() - t0) * 1000
            with stats.lock:
                if why == "skipped":
                    stats.skipped[kind] += 1
                elif kind != "imds-use" or w.imds_creds is not None:
                    stats.lat[kind].append(ms)
                if not ok:
                    stats.errors.append(f"{kind}: {why}")
            next_at += 1 / per_thread
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                next_at = time.monotonic()

    threads = [threading.Thread(target=run, args=(k,), daemon=True) for k in range(args.threads)]
    for t in threads:
        t.start()
    rows = []
    all_errors: list[str] = []
    start = time.monotonic()
    end = start + args.minutes * 60
    failed: list[str] = []
    try:
        while time.monotonic() < end:
            time.sleep(min(args.interval, max(0.0, end - time.monotonic())))
            if server.poll() is not None:
                failed.append(f"awsid serve died (exit {server.returncode})")
                break
            lat, errors, skipped = stats.take()
            all_errors += errors
            rows.append({
                "t_s": round(time.monotonic() - start),
                "requests": sum(len(v) for v in lat.values()),
                "errors": len(errors),
                "rss_kb": rss_kb(server.pid),
                "rss_anon_kb": rss_kb(server.pid, "RssAnon"),
                "rss_file_kb": rss_kb(server.pid, "RssFile"),
                **{f"{k}_p50_ms": round(pct(v, 50), 2) for k, v in lat.items() if v},
                **{f"{k}_p99_ms": round(pct(v, 99), 2) for k, v in lat.items() if v},
                "skipped": {k: n for k, n in skipped.items() if n},
            })
            r = rows[-1]
            print(f"t={r['t_s']:>4}s requests={r['requests']:>6} errors={r['errors']} "
                  f"rss={r['rss_kb'] / 1024:.1f}MiB (anon {r['rss_anon_kb'] / 1024:.1f}, "
                  f"file {r['rss_file_kb'] / 1024:.1f}) "
                  + " ".join(f"{k}={r.get(k + '_p50_ms', '-')}/{r.get(k + '_p99_ms', '-')}ms"
                             for k in KINDS if k + "_p50_ms" in r), flush=True)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=15)
        hwm = 0
        if server.poll() is None:
            for line in Path(f"/proc/{server.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()

    total = sum(r["requests"] for r in rows)
    if all_errors:
        failed.append(f"{len(all_errors)} errors, e.g. {all_errors[0]}")
    # RSS after warm-up: the first sample at or after one minute (or the first in short runs).
    warm = next((r for r in rows if r["t_s"] >= 60), rows[0] if rows else None)
    growth = (rows[-1]["rss_kb"] / warm["rss_kb"] - 1) if rows and warm and warm["rss_kb"] else 0.0
    if growth > 0.10:
        failed.append(f"RSS grew {growth:.1%} after warm-up ({warm['rss_kb']} -> {rows[-1]['rss_kb']} kB)")
    if total == 0:
        failed.append("no request was made")
    summary = {"binary": str(binary), "minutes": args.minutes, "rate": args.rate,
               "lifetime_s": args.lifetime, "requests": total, "errors": len(all_errors),
               "error_samples": all_errors[:20], "rss_growth_after_warmup": round(growth, 4),
               "vmhwm_kb": hwm, "rows": rows, "failed": failed}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\n{total} requests in {args.minutes:g} min, {len(all_errors)} errors, RSS after warm-up "
          f"{warm['rss_kb'] / 1024 if warm else 0:.1f} MiB -> end {rows[-1]['rss_kb'] / 1024 if rows else 0:.1f} MiB "
          f"({growth:+.1%}), peak {hwm / 1024:.1f} MiB")
    if warm and rows:
        print(f"of which anonymous memory (heap, stacks) {warm['rss_anon_kb'] / 1024:.1f} -> "
              f"{rows[-1]['rss_anon_kb'] / 1024:.1f} MiB, pages of the executable "
              f"{warm['rss_file_kb'] / 1024:.1f} -> {rows[-1]['rss_file_kb'] / 1024:.1f} MiB")
    skipped = {k for r in rows for k in r["skipped"]}
    if skipped:
        print(f"skipped (the server does not answer them): {', '.join(sorted(skipped))}")
    for f in failed:
        print(f"FAILED: {f}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
