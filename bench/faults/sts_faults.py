#!/usr/bin/env python3
"""awsid's client and botocore under STS faults, in front of a real `awsid serve`.

A small fault proxy sits between the clients and `awsid serve`'s STS listener. For each fault —
500 `InternalError`, 503 `ServiceUnavailable`, 400 `Throttling`, a connection reset, 400
`AccessDenied` (not retryable) — and each count of consecutive faulty answers (2: within the
3-attempt budget; 3: beyond it), both clients resolve a role profile (`source_profile` with
static keys → AssumeRole) once from an empty cache: `awsid configure export-credentials` and
botocore (`Session(profile).get_credentials()`), both in standard retry mode with 3 attempts
(v2's default; botocore 1.x defaults to legacy). Prints a JSON line per run: the requests STS saw,
whether credentials came back, the error text, seconds taken.

The proxy predates `awsid serve`'s fault switchboard and is kept for exactly n faulty answers
in a row; bench/faults/switchboard_faults.py drives the switchboard itself.

    target/venv/bin/python bench/faults/sts_faults.py --bin target/debug/awsid
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench" / "soak"))

from run import USER1, WORLD, start_server  # noqa: E402  (bench/soak/run.py)

ROLE = "arn:aws:iam::123456789012:role/marketingadminrole"
FAULTS = {
    "500 InternalError": (500, "InternalError", "We encountered an internal error."),
    "503 ServiceUnavailable": (503, "ServiceUnavailable", "Service is unavailable."),
    "400 Throttling": (400, "Throttling", "Rate exceeded"),
    "reset": None,
    "403 AccessDenied": (403, "AccessDenied", "Not authorized."),
}


class Proxy:
    """Answers the next `pending` requests with `fault`, forwards the rest to `upstream`."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.lock = threading.Lock()
        self.fault: tuple | None = None
        self.pending = 0
        self.seen = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with proxy.lock:
                    proxy.seen += 1
                    faulty = proxy.pending > 0
                    if faulty:
                        proxy.pending -= 1
                    fault = proxy.fault
                if faulty and fault == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               struct.pack("ii", 1, 0))
                    self.connection.close()
                    self.close_connection = True
                    return
                if faulty:
                    status, code, message = fault
                    out = (f'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                           f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{message}"
                           f"</Message></Error><RequestId>fault</RequestId></ErrorResponse>").encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "text/xml")
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                    return
                conn = http.client.HTTPConnection(proxy.upstream, timeout=10)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                headers["Host"] = self.headers.get("Host", proxy.upstream)
                conn.request("POST", self.path, body=body, headers=headers)
                r = conn.getresponse()
                out = r.read()
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)
                conn.close()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"

    def arm(self, fault, count: int) -> None:
        with self.lock:
            self.fault, self.pending, self.seen = fault, count, 0


BOTOCORE = """
import sys, boto3
try:
    c = boto3.Session(profile_name="role").get_credentials().get_frozen_credentials()
    print("OK", c.access_key)
except Exception as e:
    print("ERR", e)
"""


def run_client(client: str, home: Path, proxy_url: str, binary: Path) -> tuple[bool, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BOTO_"))}
    env.update(HOME=str(home), AWS_CONFIG_FILE=str(home / "config"),
               AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"),
               AWS_ENDPOINT_URL_STS=proxy_url, AWS_EC2_METADATA_DISABLED="true")
    for d in ("cli", "boto"):
        subprocess.run(["rm", "-rf", str(home / ".aws" / d)], check=True)
    if client == "awsid":
        p = subprocess.run([str(binary), "configure", "export-credentials", "--profile", "role"],
                           capture_output=True, text=True, env=env, timeout=120)
        return p.returncode == 0, (p.stderr.strip() if p.returncode else "")
    p = subprocess.run([sys.executable, "-c", BOTOCORE], capture_output=True, text=True, env=env,
                       timeout=120)
    out = p.stdout.strip()
    return out.startswith("OK"), out[4:] if out.startswith("ERR") else p.stderr.strip()[-300:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=str(REPO / "target" / "debug" / "awsid"))
    args = parser.parse_args()
    binary = Path(args.bin).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        world = work / "world.toml"
        world.write_text(WORLD.read_text())
        proc, info = start_server(binary, work, world)
        try:
            proxy = Proxy(info["api"])
            home = work / "home"
            home.mkdir()
            (home / "config").write_text(
                "[profile role]\nrole_arn = " + ROLE + "\nsource_profile = base\n"
                "region = us-east-1\nretry_mode = standard\nmax_attempts = 3\n")
            (home / "credentials").write_text(
                f"[base]\naws_access_key_id = {USER1[0]}\naws_secret_access_key = {USER1[1]}\n")
            for name, fault in FAULTS.items():
                for count in (2, 3):
                    for client in ("awsid", "botocore"):
                        proxy.arm("reset" if fault is None else fault, count)
                        start = time.monotonic()
                        ok, error = run_client(client, home, proxy.url, binary)
                        print(json.dumps({
                            "fault": name, "faulty_answers": count, "client": client,
                            "sts_requests": proxy.seen, "credentials": ok,
                            "seconds": round(time.monotonic() - start, 2), "error": error,
                        }), flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
