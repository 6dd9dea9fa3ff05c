"""Endpoints that never stop answering: STS, the ECS container endpoint, IMDS and the SSO
portal each stream an endless body (chunked, as fast as the socket takes it) or announce a
50 MB one. awsid must stop reading at its bound (1 MiB for STS and SSO, 64 KiB for the
metadata endpoints — the real ones answer a few KiB), fail with an error naming the endpoint,
and stay small: the child's peak RSS (`getrusage` through `os.wait4`) must be under 64 MiB.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import clean_env

RSS_LIMIT_KIB = 64 * 1024
CHUNK = b"<x>" + b"a" * 65_000 + b"</x>"


class EndlessServer:
    """A loopback server answering every request with 200 and an endless chunked body
    (`mode="chunked"`) or a `Content-Length: 50000000` header and a body that never ends
    (`mode="length"`). Counts the bytes it managed to send."""

    def __init__(self, mode: str):
        self.mode = mode
        self.sent = 0
        self.requests: list[str] = []
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                data = conn.recv(4096)
                if not data:
                    return
                head += data
            self.requests.append(head.split(b"\r\n", 1)[0].decode())
            if self.mode == "chunked":
                header = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n"
                frame = f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n"
            else:
                header = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 50000000\r\n\r\n"
                frame = CHUNK
            try:
                conn.sendall(header)
                deadline = time.monotonic() + 60
                while not self._stop.is_set() and time.monotonic() < deadline:
                    conn.sendall(frame)
                    self.sent += len(frame)
            except OSError:
                return  # the client hung up: what it should do

    def close(self) -> None:
        self._stop.set()
        self._sock.close()


# Linux records the pre-exec memory of a forked child in its peak RSS, so a child forked
# straight from a pytest process that has grown to 80+ MiB reports at least that much. A small
# launcher forks the measured program instead and reports that grandchild's own peak RSS.
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)
"""


def run_measured(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, int, float]:
    """Runs argv; returns (exit status, stderr, peak RSS in KiB of argv's process, seconds)."""
    err = cwd / "stderr.txt"
    rss = cwd / "maxrss.txt"
    start = time.monotonic()
    with open(err, "wb") as ef:
        proc = subprocess.run([sys.executable, "-c", _LAUNCHER, str(rss), *argv], env=env, cwd=cwd,
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=ef)
    return proc.returncode, err.read_text(), int(rss.read_text()), time.monotonic() - start


def _files(home: Path, config: str, extra: dict[str, str] | None = None) -> None:
    (home / ".aws").mkdir(parents=True, exist_ok=True)
    (home / ".aws" / "config").write_text(config)
    for rel, text in (extra or {}).items():
        p = home / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        p.chmod(0o600)


SSO_START = "https://endless.awsapps.com/start"


def scenario(endpoint: str, home: Path, url: str) -> tuple[dict[str, str], str]:
    """(environment, the URL the error must name) for `endpoint`."""
    if endpoint == "sts":
        _files(home, "[profile base]\naws_access_key_id = AKIAENDLESSEXAMPLE01\naws_secret_access_key = s\n"
                     "[profile r]\nrole_arn = arn:aws:iam::123456789012:role/r\nsource_profile = base\n"
                     "region = us-east-1\n")
        return clean_env(home, AWS_ENDPOINT_URL_STS=url, AWS_PROFILE="r"), url + "/"
    if endpoint == "ecs":
        _files(home, "")
        full = url + "/v2/credentials"
        return clean_env(home, AWS_CONTAINER_CREDENTIALS_FULL_URI=full), full
    if endpoint == "imds":
        _files(home, "")
        return clean_env(home, AWS_EC2_METADATA_DISABLED="false",
                         AWS_EC2_METADATA_SERVICE_ENDPOINT=url + "/"), url + "/latest/api/token"
    if endpoint == "sso":
        token = {"startUrl": SSO_START, "region": "us-east-1", "accessToken": "endless-token",
                 "expiresAt": "2099-01-01T00:00:00Z"}
        key = hashlib.sha1(SSO_START.encode()).hexdigest()
        _files(home, f"[default]\nsso_start_url = {SSO_START}\nsso_region = us-east-1\n"
                     "sso_account_id = 123456789012\nsso_role_name = r\n",
               {f".aws/sso/cache/{key}.json": json.dumps(token)})
        return clean_env(home, AWS_ENDPOINT_URL_SSO=url), url + "/federation/credentials"
    raise AssertionError(endpoint)


@pytest.mark.parametrize("mode", ["chunked", "length"])
@pytest.mark.parametrize("endpoint", ["sts", "ecs", "imds", "sso"])
def test_an_endless_response_ends_in_a_clear_error(endpoint: str, mode: str, awsid_bin: Path, tmp_path: Path):
    server = EndlessServer(mode)
    try:
        home = tmp_path / "home"
        env, named = scenario(endpoint, home, server.url)
        code, stderr, rss_kib, seconds = run_measured(
            [str(awsid_bin), "configure", "export-credentials"], env, home)
    finally:
        server.close()
    assert server.requests, "awsid never asked the endpoint"
    assert code in (253, 255), (code, stderr)
    assert "larger than" in stderr and named.split("?")[0] in stderr, stderr
    assert "Traceback" not in stderr
    assert rss_kib < RSS_LIMIT_KIB, f"peak RSS {rss_kib} KiB"
    assert seconds < 30, f"took {seconds:.1f} s"
    # The bound is what stopped it: far less than the server could have sent.
    assert server.sent < 64 * 1024 * 1024, server.sent
