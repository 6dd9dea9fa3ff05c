#!/usr/bin/env python3
"""Hostile input against `awsid serve`, while legitimate clients keep asking.

Starts `awsid serve` (default world, ephemeral loopback ports) and runs phases one after the
other. In every phase a prober (this process) sends legitimate requests every few milliseconds,
each on a new connection, round robin:

* IMDS credentials (`GET …/security-credentials/<role>` with an IMDSv2 token),
* ECS credentials (`GET /v2/credentials/<id>`),
* signed STS `GetCallerIdentity` (signed with botocore once at start; the world allows 15
  minutes of clock skew).

Each must answer 200 with the expected document. Meanwhile an attacker process (this script
with `--attack NAME`) hammers the server:

* `baseline`    no attack;
* `headers`     requests with a 1 MiB header, to every listener, several at a time;
* `bodies`      100 MiB bodies: STS POSTs with Content-Length, chunked STS POSTs, and IMDS
                token PUTs with a 100 MiB body;
* `slowloris`   500 connections that send a request head one byte per second;
* `idle`        5,000 connections that send nothing (reopened when the server closes them);
* `malformed`   broken HTTP in a loop: bad methods, versions, header names, bare LF, bad and
                conflicting lengths, bad chunk sizes, NUL bytes, an HTTP/2 preface, a TLS
                ClientHello, a 100 kB URI.

Reported per phase: the prober's p50/p99/max latency and failures, the server's RSS (VmRSS
sampled every 0.25 s; VmHWM at the end), and every refusal the attacker received, by status
and service error code. The run fails when a legitimate request fails, when a refusal is not
what the service answers (see EXPECTED below), or when RSS reaches 64 MiB; with `--strict` also
when a phase's p99 is 10 ms or more (latency is a benchmark figure, so the short variant run by
the test suite reports it without asserting it).

Usage:
  python3 bench/hostile/run.py [--bin target/release/awsid] [--phase-seconds 10] [--strict]
  python3 bench/hostile/run.py --short      # the test suite's variant: 2 s phases, 50 idle
                                            # connections and 20 slowloris, no latency gate
Writes a JSON summary to bench/out/hostile.json (or --json PATH).
Needs botocore (the test venv's) to sign the STS probe.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROLE = "my-instance-profile"
INSTANCE = "i-1234567890abcdef0"
ECS_ID = "6d2f4b8a-1c3e-4f5a-9b7d-0e2c4a6f8b1d"
USER1 = ("AKIAI44QH8DHBEXAMPLE", "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY")
GCI = "Action=GetCallerIdentity&Version=2011-06-15"
MASTER_KEY = base64.b64encode(bytes(range(32))).decode()
RSS_LIMIT_KB = 64 * 1024
P99_LIMIT_MS = 10.0
MIB = 1024 * 1024

# What each attack may be answered with: (listener, status, code). The code is the service's
# error code parsed from the body ("" = empty body: the HTTP layer refused before any service saw
# the request; "token" = an IMDS token). Status 0 = the connection was closed without an answer.
EXPECTED = {
    # Heads over the 64 KiB limit: refused by the HTTP layer.
    "headers": {("api", 431, ""), ("imds", 431, ""), ("ecs", 431, "")},
    "bodies": {
        # Content-Length and chunked bodies over 64 KiB alike.
        ("api", 413, "RequestEntityTooLarge"),
        # IMDS ignores request bodies: the token is issued and the rest of the body discarded.
        ("imds", 200, "token"),
        # The lingering close gives up after 8 MiB: a sender that has not read its answer by
        # then is reset.
        ("api", 0, ""), ("imds", 0, ""),
    },
    # Slow or silent heads are cut off at the 10 s header timeout, without an answer.
    "slowloris": {("any", 0, "")},
    "idle": {("any", 0, "")},
}

# Broken HTTP and what answers it: a set of (status, code) for every listener, or SERVICE when
# the request is (leniently) well-formed and reaches the service, whose own error answers it.
SERVICE = "service"
REFUSED = {(400, "")}
MALFORMED: list[tuple[bytes, object]] = [
    (b"GET\x00 / HTTP/1.1\r\nHost: x\r\n\r\n", REFUSED),
    (b"G(T / HTTP/1.1\r\nHost: x\r\n\r\n", REFUSED),
    (b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", REFUSED),
    (b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", REFUSED),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n", REFUSED),
    # Bare LF line ends are accepted (as by most servers); the trailing garbage is never read.
    (b"GET / HTTP/1.1\nHost: x\n\n\x01\x02", SERVICE),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", REFUSED),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", REFUSED),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", REFUSED),
    # A bad chunk size is found while the body is read: STS answers IncompleteBody, IMDS and
    # ECS (which do not read bodies) answer the method.
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", SERVICE),
    # Transfer-Encoding wins over Content-Length (RFC 9112 6.3), and the connection closes.
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
     b"3\r\nabc\r\n0\r\n\r\n", SERVICE),
    # HTTP/2 prior knowledge is not spoken: closed.
    (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", {(0, "")}),
    # A TLS ClientHello on a plain-HTTP port.
    (bytes.fromhex("16030100a5010000a10303") + os.urandom(160), REFUSED),
    (b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", {(414, "")}),
    # Empty lines before a request are skipped (RFC 9112 2.2) while waiting for one: the
    # attacker gives up first.
    (b"\r\n\r\n\r\n", {(0, "")}),
    (b" / HTTP/1.1\r\n\r\n", REFUSED),
    (b"\x7fELF" + bytes(range(256)) * 2, REFUSED),
]


# ----------------------------------------------------------------------------------------------
# Server


def start_server(binary: Path, workdir: Path) -> tuple[subprocess.Popen, dict]:
    ready = workdir / "ready.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BOTO_"))}
    env.update(HOME=str(workdir), AWSID_MASTER_KEY=MASTER_KEY, AWS_EC2_METADATA_DISABLED="true")
    proc = subprocess.Popen(
        [str(binary), "serve", "--quiet", "--api", "127.0.0.1:0", "--imds", "127.0.0.1:0",
         "--ecs", "127.0.0.1:0", "--ready-file", str(ready)],
        stdout=subprocess.DEVNULL, stderr=open(workdir / "serve.err", "w"), env=env)
    deadline = time.monotonic() + 30
    while not ready.exists():
        if proc.poll() is not None:
            raise SystemExit(f"awsid serve exited: {(workdir / 'serve.err').read_text()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("awsid serve did not become ready in 30 s")
        time.sleep(0.02)
    info = json.loads(ready.read_text())
    return proc, info


def proc_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def split(addr: str) -> tuple[str, int]:
    host, port = addr.rsplit(":", 1)
    return host, int(port)


# ----------------------------------------------------------------------------------------------
# Raw HTTP helpers (blocking, for the prober)


def exchange(addr: tuple[str, int], request: bytes, timeout: float = 5.0) -> tuple[int, bytes]:
    """Sends one request on a new connection; returns (status, body) of the answer."""
    with socket.create_connection(addr, timeout=timeout) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(request)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep:
                length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), None)
                if length is not None and len(body) >= length:
                    break
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.") else 0
    return status, body


def request(method: str, path: str, host: str, headers: dict[str, str] | None = None,
            body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    for k, v in (headers or {}).items():
        if k.lower() not in ("host", "connection", "content-length"):
            lines.append(f"{k}: {v}")
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def signed_gci(api: str) -> bytes:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    req = AWSRequest(method="POST", url=f"http://{api}/", data=GCI,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(*USER1), "sts", "us-east-1").add_auth(req)
    return request("POST", "/", api, dict(req.headers.items()), GCI.encode())


class Prober:
    """Legitimate traffic: one request every `interval` seconds, round robin over the three
    endpoints, each on a fresh connection; latencies and failures per phase."""

    def __init__(self, info: dict, interval: float) -> None:
        self.api, self.ecs = info["api"], info["ecs"]
        self.imds = info["imds"][INSTANCE]
        token_req = request("PUT", "/latest/api/token", self.imds,
                            {"X-aws-ec2-metadata-token-ttl-seconds": "21600"})
        status, token = exchange(split(self.imds), token_req)
        assert status == 200, f"IMDS token PUT answered {status}"
        self.requests = [
            ("imds", split(self.imds), request(
                "GET", f"/latest/meta-data/iam/security-credentials/{ROLE}", self.imds,
                {"X-aws-ec2-metadata-token": token.decode()}), b'"Code" : "Success"'),
            ("ecs", split(self.ecs), request("GET", f"/v2/credentials/{ECS_ID}", self.ecs),
             b'"AccessKeyId"'),
            ("sts", split(self.api), signed_gci(self.api), b"<GetCallerIdentityResult>"),
        ]
        self.interval = interval
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def run(self) -> None:
        i = 0
        next_at = time.monotonic()
        while not self.stop.is_set():
            name, addr, req, expect = self.requests[i % len(self.requests)]
            i += 1
            t0 = time.perf_counter()
            try:
                status, body = exchange(addr, req)
                ok = status == 200 and expect in body
                why = f"{name}: status {status}, body {body[:120]!r}"
            except OSError as e:
                ok, why = False, f"{name}: {type(e).__name__}: {e}"
            elapsed = (time.perf_counter() - t0) * 1000
            with self.lock:
                self.latencies.append(elapsed)
                if not ok:
                    self.failures.append(why)
            next_at += self.interval
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                next_at = time.monotonic()

    def take(self) -> tuple[list[float], list[str]]:
        with self.lock:
            out = (self.latencies, self.failures)
            self.latencies, self.failures = [], []
        return out


# ----------------------------------------------------------------------------------------------
# Attacks (run in a child process: `--attack NAME --info JSON --seconds N`)


def service_code(body: bytes) -> str:
    """The error code in an STS XML, JSON or IMDS body ("" for an empty body)."""
    text = body.decode("utf-8", "replace")
    if "<Code>" in text:
        return text.split("<Code>", 1)[1].split("</Code>", 1)[0]
    if text.startswith("{"):
        try:
            doc = json.loads(text)
            return str(doc.get("code") or doc.get("Code") or doc.get("__type") or "json")
        except ValueError:
            return "json?"
    return "" if not text else "token" if len(text) > 20 and " " not in text else text[:40]


async def read_answer(reader: asyncio.StreamReader, timeout: float) -> tuple[int, bytes]:
    """(status, body) of one answer, or (0, b"") when the connection closes without one."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError,
            asyncio.LimitOverrunError, OSError):
        return 0, b""
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.") else -1
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    body = b""
    if length:
        try:
            body = await asyncio.wait_for(reader.readexactly(length), timeout)
        except (asyncio.IncompleteReadError, asyncio.TimeoutError, OSError):
            pass
    return status, body


class Tally:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, int, str], int] = {}
        self.opened = self.open_now = self.open_max = self.connect_errors = 0

    def add(self, listener: str, status: int, body: bytes) -> None:
        key = (listener, status, service_code(body))
        self.counts[key] = self.counts.get(key, 0) + 1


async def attack_headers(info: dict, seconds: float, tally: Tally, scale: float) -> None:
    junk = b"X-Junk: " + b"a" * MIB + b"\r\n"
    targets = [("api", "POST", "/"), ("imds", "GET", f"/latest/meta-data/"),
               ("ecs", "GET", f"/v2/credentials/{ECS_ID}")]
    deadline = time.monotonic() + seconds

    async def one(listener: str, method: str, path: str) -> None:
        addr = info[listener] if listener != "imds" else info["imds"][INSTANCE]
        while time.monotonic() < deadline:
            try:
                reader, writer = await asyncio.open_connection(*split(addr))
            except OSError:
                await asyncio.sleep(0.05)
                continue
            try:
                writer.write(f"{method} {path} HTTP/1.1\r\nHost: {addr}\r\n".encode() + junk
                             + b"\r\n")
                try:
                    await asyncio.wait_for(writer.drain(), 5)
                except (OSError, asyncio.TimeoutError):
                    pass
                status, body = await read_answer(reader, 5)
                tally.add(listener, status, body)
            finally:
                writer.close()

    n = max(1, int(4 * scale))
    await asyncio.gather(*(one(*t) for t in targets for _ in range(n)))


async def attack_bodies(info: dict, seconds: float, tally: Tally, scale: float) -> None:
    chunk = b"a" * MIB
    deadline = time.monotonic() + seconds
    api, imds = info["api"], info["imds"][INSTANCE]

    async def send_body(listener: str, addr: str, head: bytes, chunked: bool) -> None:
        try:
            reader, writer = await asyncio.open_connection(*split(addr))
        except OSError:
            await asyncio.sleep(0.05)
            return
        answer = asyncio.ensure_future(read_answer(reader, 10))
        try:
            writer.write(head)
            for _ in range(100):
                if answer.done():
                    break
                writer.write(b"100000\r\n" + chunk + b"\r\n" if chunked else chunk)
                await asyncio.wait_for(writer.drain(), 10)
            if chunked and not answer.done():
                writer.write(b"0\r\n\r\n")
        except (OSError, asyncio.TimeoutError):
            pass
        status, body = await answer
        tally.add(listener, status, body)
        writer.close()

    async def loop(kind: int) -> None:
        while time.monotonic() < deadline:
            if kind == 0:
                head = (f"POST / HTTP/1.1\r\nHost: {api}\r\nContent-Type: application/"
                        f"x-www-form-urlencoded\r\nContent-Length: {100 * MIB}\r\n\r\n").encode()
                await send_body("api", api, head, False)
            elif kind == 1:
                head = (f"POST / HTTP/1.1\r\nHost: {api}\r\nContent-Type: application/"
                        f"x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
                await send_body("api", api, head, True)
            else:
                head = (f"PUT /latest/api/token HTTP/1.1\r\nHost: {imds}\r\n"
                        f"X-aws-ec2-metadata-token-ttl-seconds: 60\r\n"
                        f"Content-Length: {100 * MIB}\r\n\r\n").encode()
                await send_body("imds", imds, head, False)

    n = max(1, int(2 * scale))
    await asyncio.gather(*(loop(k) for k in range(3) for _ in range(n)))


async def hold_connections(info: dict, seconds: float, tally: Tally, count: int,
                           trickle: bool) -> None:
    """`count` connections held open (reopened when closed); `trickle` sends a request head one
    byte per second (slowloris), otherwise nothing is sent (idle)."""
    addrs = [info["api"], info["ecs"], info["imds"][INSTANCE]]
    deadline = time.monotonic() + seconds
    head = b"GET /latest/meta-data/ HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 4096

    async def holder(k: int) -> None:
        addr = addrs[k % len(addrs)]
        await asyncio.sleep((k % 100) / 100)  # spread the connects over a second
        while time.monotonic() < deadline:
            try:
                reader, writer = await asyncio.open_connection(*split(addr))
            except OSError:
                tally.connect_errors += 1
                await asyncio.sleep(0.2)
                continue
            tally.opened += 1
            tally.open_now += 1
            tally.open_max = max(tally.open_max, tally.open_now)
            try:
                pos = 0
                while time.monotonic() < deadline:
                    if trickle and pos < len(head):
                        writer.write(head[pos:pos + 1])
                        pos += 1
                    # Idle connections sleep until something happens; slow ones wake every
                    # second to send their next byte.
                    wait = 1.0 if trickle else max(0.01, deadline - time.monotonic())
                    try:
                        data = await asyncio.wait_for(reader.read(65536), wait)
                    except asyncio.TimeoutError:
                        continue
                    except OSError:
                        data = b""
                    if not data:
                        tally.add("any", 0, b"")
                        break
                    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.") else -1
                    tally.add("any", status, data.partition(b"\r\n\r\n")[2])
                    break
            finally:
                tally.open_now -= 1
                writer.close()

    await asyncio.gather(*(holder(k) for k in range(count)))



async def attack_malformed(info: dict, seconds: float, tally: Tally, scale: float) -> None:
    addrs = [info["api"], info["ecs"], info["imds"][INSTANCE]]
    deadline = time.monotonic() + seconds

    async def loop(k: int) -> None:
        i = k
        while time.monotonic() < deadline:
            addr = addrs[i % len(addrs)]
            index = i % len(MALFORMED)
            payload = MALFORMED[index][0]
            i += 1
            try:
                reader, writer = await asyncio.open_connection(*split(addr))
            except OSError:
                await asyncio.sleep(0.05)
                continue
            try:
                writer.write(payload)
                try:
                    await asyncio.wait_for(writer.drain(), 2)
                except (OSError, asyncio.TimeoutError):
                    pass
                status, body = await read_answer(reader, 3)
                tally.add(f"#{index}", status, body)
            finally:
                writer.close()

    await asyncio.gather(*(loop(k) for k in range(max(1, int(8 * scale)))))


def run_attack(name: str, info: dict, seconds: float, args: argparse.Namespace) -> dict:
    tally = Tally()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if name == "headers":
        coro = attack_headers(info, seconds, tally, args.scale)
    elif name == "bodies":
        coro = attack_bodies(info, seconds, tally, args.scale)
    elif name == "slowloris":
        coro = hold_connections(info, seconds, tally, args.slowloris, True)
    elif name == "idle":
        coro = hold_connections(info, seconds, tally, args.idle, False)
    elif name == "malformed":
        coro = attack_malformed(info, seconds, tally, args.scale)
    else:
        raise SystemExit(f"unknown attack {name}")
    asyncio.run(coro)
    return {
        "answers": {f"{k[0]} {k[1]} {k[2]}": v for k, v in sorted(tally.counts.items())},
        "connections_opened": tally.opened,
        "connections_held_max": tally.open_max,
        "connect_errors": tally.connect_errors,
    }


# ----------------------------------------------------------------------------------------------
# Driver


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", type=Path, default=None,
                    help="awsid binary (default: $AWSID_BIN, else target/release/awsid)")
    ap.add_argument("--phase-seconds", type=float, default=10.0)
    ap.add_argument("--idle", type=int, default=5000, help="idle connections")
    ap.add_argument("--slowloris", type=int, default=500, help="slowloris connections")
    ap.add_argument("--scale", type=float, default=1.0, help="concurrency of the other attacks")
    ap.add_argument("--interval-ms", type=float, default=5.0, help="prober request interval")
    ap.add_argument("--attacker-nice", type=int, default=0,
                    help="run the attacker process at this niceness (19: its own CPU work -- "
                         "generating gigabytes -- yields to the server, as on another machine; "
                         "the server still handles every attack byte at normal priority)")
    ap.add_argument("--phases", default="baseline,headers,bodies,slowloris,idle,malformed")
    ap.add_argument("--short", action="store_true", help="the test suite's quick variant")
    ap.add_argument("--strict", action="store_true", help=f"fail when a p99 is >= {P99_LIMIT_MS} ms")
    ap.add_argument("--json", type=Path, default=REPO / "bench" / "out" / "hostile.json")
    ap.add_argument("--attack", help=argparse.SUPPRESS)
    ap.add_argument("--info", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.short:
        args.phase_seconds, args.idle, args.slowloris, args.scale = 2.0, 50, 20, 0.5

    if args.attack:
        result = run_attack(args.attack, json.loads(args.info), args.phase_seconds, args)
        print(json.dumps(result))
        return 0

    binary = args.bin or Path(os.environ.get("AWSID_BIN") or REPO / "target" / "release" / "awsid")
    if not binary.is_file():
        raise SystemExit(f"awsid binary not found at {binary} (cargo build-static, or --bin)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    need = args.idle + args.slowloris + 100
    if hard < need:
        raise SystemExit(f"the open-file limit ({hard}) is below the {need} connections needed")

    workdir = Path(tempfile.mkdtemp(prefix="awsid-hostile-"))
    server, info = start_server(binary, workdir)
    failed: list[str] = []
    phases: dict[str, dict] = {}
    try:
        prober = Prober(info, args.interval_ms / 1000)
        thread = threading.Thread(target=prober.run, daemon=True)
        thread.start()
        for phase in args.phases.split(","):
            rss: list[int] = []
            prober.take()
            attacker = None
            if phase != "baseline":
                attacker = subprocess.Popen(
                    [sys.executable, __file__, "--attack", phase, "--info", json.dumps(info),
                     "--phase-seconds", str(args.phase_seconds), "--idle", str(args.idle),
                     "--slowloris", str(args.slowloris), "--scale", str(args.scale)],
                    stdout=subprocess.PIPE, text=True,
                    preexec_fn=(lambda: os.nice(args.attacker_nice)) if args.attacker_nice
                    else None)
            end = time.monotonic() + args.phase_seconds
            while time.monotonic() < end or (attacker and attacker.poll() is None):
                rss.append(proc_kb(server.pid, "VmRSS"))
                time.sleep(0.25)
                if time.monotonic() > end + 60:
                    attacker.kill()
                    failed.append(f"{phase}: the attacker did not finish")
                    break
            attack: dict = {}
            if attacker:
                out, _ = attacker.communicate()
                attack = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
            refusals = attack.get("answers", {})
            lat, fails = prober.take()
            p50, p99 = percentile(lat, 50), percentile(lat, 99)
            phases[phase] = {
                "probes": len(lat), "probe_failures": len(fails), "p50_ms": round(p50, 3),
                "p99_ms": round(p99, 3), "max_ms": round(max(lat) if lat else float("nan"), 3),
                "rss_max_kb": max(rss), "refusals": refusals,
                "connections_held_max": attack.get("connections_held_max", 0),
                "connect_errors": attack.get("connect_errors", 0),
            }
            if server.poll() is not None:
                failed.append(f"{phase}: awsid serve died (exit {server.returncode})")
                break
            if fails:
                failed.append(f"{phase}: {len(fails)} legitimate requests failed, e.g. {fails[0]}")
            if not lat:
                failed.append(f"{phase}: no legitimate request was answered")
            if max(rss) >= RSS_LIMIT_KB:
                failed.append(f"{phase}: RSS reached {max(rss) / 1024:.1f} MiB")
            if args.strict and p99 >= P99_LIMIT_MS:
                failed.append(f"{phase}: p99 {p99:.2f} ms >= {P99_LIMIT_MS} ms")
            for key, n in refusals.items():
                listener, status, code = key.split(" ", 2)
                if listener.startswith("#"):
                    want = MALFORMED[int(listener[1:])][1]
                    ok = (code != "" or int(status) in (200, 0)) if want == SERVICE \
                        else (int(status), code) in want
                else:
                    ok = (listener, int(status), code) in EXPECTED.get(phase, set())
                if not ok:
                    failed.append(f"{phase}: unexpected answer {key!r} x{n}")
            if phase in ("slowloris", "idle"):
                want = args.slowloris if phase == "slowloris" else args.idle
                if attack.get("connections_held_max", 0) < want:
                    failed.append(f"{phase}: only {attack.get('connections_held_max')} of {want} "
                                  f"connections were open at once")
            elif phase != "baseline" and not refusals:
                failed.append(f"{phase}: the attack recorded no answer at all")
        prober.stop.set()
        thread.join(timeout=10)
        hwm = proc_kb(server.pid, "VmHWM")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    summary = {"binary": str(binary), "phase_seconds": args.phase_seconds, "idle": args.idle,
               "attacker_nice": args.attacker_nice, "load_average": os.getloadavg(),
               "slowloris": args.slowloris, "scale": args.scale, "vmhwm_kb": hwm,
               "phases": phases, "failed": failed}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"awsid serve under hostile input ({binary}), {args.phase_seconds:g} s per phase, "
          f"prober every {args.interval_ms:g} ms on new connections, attacker niceness "
          f"{args.attacker_nice}, load average {os.getloadavg()[0]:.2f}\n")
    print("| phase | probes | failed | p50 ms | p99 ms | max ms | RSS max MiB | answers to the attack |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for name, p in phases.items():
        answers = ", ".join(f"{k.strip()} ×{v}" for k, v in p["refusals"].items()) or "-"
        if p["connections_held_max"]:
            answers = f"{p['connections_held_max']} connections open at once; " + answers
        print(f"| {name} | {p['probes']} | {p['probe_failures']} | {p['p50_ms']:.2f} | "
              f"{p['p99_ms']:.2f} | {p['max_ms']:.2f} | {p['rss_max_kb'] / 1024:.1f} | {answers} |")
    print(f"\npeak RSS (VmHWM): {hwm / 1024:.1f} MiB", flush=True)
    for f in failed:
        print(f"FAILED: {f}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
