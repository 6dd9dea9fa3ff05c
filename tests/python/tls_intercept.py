"""Reaching local fakes from an AWS CLI that cannot be pointed at them.

Debian's aws CLI v2 (2.9.19, the second runnable reference) predates `AWS_ENDPOINT_URL_STS`
and the other endpoint settings (2.13.0), so its credential STS client always calls the real
`https://sts[.<region>].amazonaws.com/`. The suites run it with `HTTPS_PROXY` pointing at a
loopback server that answers `CONNECT sts….amazonaws.com:443`, terminates TLS with a
certificate from a throw-away certificate authority (trusted by the CLI through
`AWS_CA_BUNDLE`) and hands the requests inside the tunnel to a local fake. The CLI's own
endpoint and region logic runs unchanged; nothing leaves the machine (any other `CONNECT` is
refused by the caller).

The authority is made once per test session with the `openssl` command (`./scripts/test`
requires it): a CA key and certificate, and a leaf certificate for the STS host names of every
public region.
"""

from __future__ import annotations

import http.client
import re
import ssl
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# Host names of STS in the `aws` partition (the global endpoint and the regional ones).
REGIONS = [
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-south-1",
    "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ca-central-1", "ca-west-1",
    "eu-central-1", "eu-central-2", "eu-west-1", "eu-west-2", "eu-west-3", "eu-south-1",
    "eu-south-2", "eu-north-1", "il-central-1", "me-south-1", "me-central-1", "sa-east-1",
]
STS_HOSTS = ["sts.amazonaws.com"] + [f"sts.{r}.amazonaws.com" for r in REGIONS]
STS_CONNECT = re.compile(r"^sts(\.[a-z0-9-]+)?\.amazonaws\.com:443$")

_lock = threading.Lock()
_authority: "Authority | None" = None


class Authority:
    """A throw-away CA (`ca_file`, for `AWS_CA_BUNDLE`) and a server context presenting a leaf
    certificate for every name in `STS_HOSTS`."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.ca_file = directory / "ca.pem"
        key, cert = directory / "leaf.key", directory / "leaf.pem"
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(str(cert), str(key))

    @staticmethod
    def create(directory: Path) -> "Authority":
        def openssl(*args: str) -> None:
            r = subprocess.run(["openssl", *args], cwd=directory, capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError(f"openssl {' '.join(args)} failed: {r.stderr}")

        directory.mkdir(parents=True, exist_ok=True)
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
                "-days", "2", "-subj", "/CN=awsid test authority",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr",
                "-subj", "/CN=sts.amazonaws.com")
        sans = ",".join(f"DNS:{h}" for h in STS_HOSTS)
        (directory / "leaf.ext").write_text(
            f"subjectAltName={sans}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
        openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", "leaf.pem", "-days", "2", "-extfile", "leaf.ext")
        return Authority(directory)


def authority() -> Authority:
    """The session's authority (created on first use)."""
    global _authority
    with _lock:
        if _authority is None:
            _authority = Authority.create(Path(tempfile.mkdtemp(prefix="awsid-tls-")))
        return _authority


def open_tunnel(handler: BaseHTTPRequestHandler) -> bool:
    """In `do_CONNECT`: for an STS host, answers 200, switches the connection to TLS with the
    session authority's certificate and lets the handler's request loop read the tunnelled
    requests (`handler.tunnel_host` names the host). Returns False (nothing sent) for any other
    host, which the caller refuses."""
    if not STS_CONNECT.match(handler.path):
        return False
    handler.send_response(200, "Connection established")
    handler.end_headers()
    handler.wfile.flush()
    tls = authority().context.wrap_socket(handler.connection, server_side=True)
    handler.connection = tls
    handler.rfile = tls.makefile("rb")
    handler.wfile = tls.makefile("wb")
    handler.tunnel_host = handler.path.rsplit(":", 1)[0]
    handler.close_connection = False
    return True


class _ForwardingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    server: "ForwardingProxy"

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_CONNECT(self) -> None:  # noqa: N802
        if not open_tunnel(self):
            self.server.refused.append(self.path)
            self.send_error(403)

    def _forward(self) -> None:
        if getattr(self, "tunnel_host", None) is None:
            self.server.refused.append(self.path)
            self.send_error(403)
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        conn = http.client.HTTPConnection(*self.server.upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        self.send_response(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()
        self.server.forwarded.append((self.tunnel_host, self.command, self.path))
        conn.close()

    do_GET = do_POST = do_PUT = _forward  # noqa: N815


class ForwardingProxy(ThreadingHTTPServer):
    """An `HTTPS_PROXY` on 127.0.0.1 that sends what the CLI means for STS to `upstream`
    (`host:port` of a plain-HTTP server such as `awsid serve --api`), unchanged (the `Host`
    header stays the AWS name the request was signed for). Refused `CONNECT`s are kept in
    `refused`; a context manager."""

    daemon_threads = True

    def __init__(self, upstream: str):
        host, port = upstream.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.refused: list[str] = []
        self.forwarded: list[tuple[str, str, str]] = []
        super().__init__(("127.0.0.1", 0), _ForwardingHandler)
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def client_env(self) -> dict[str, str]:
        """What a client needs to go through this proxy and trust its certificates."""
        return {"HTTPS_PROXY": self.url, "HTTP_PROXY": self.url, "NO_PROXY": "127.0.0.1,localhost",
                "AWS_CA_BUNDLE": str(authority().ca_file)}

    def __enter__(self) -> "ForwardingProxy":
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)
