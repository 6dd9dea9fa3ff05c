"""v2's region lookup from instance metadata, request by request, against the real v2 binary.

With no region configured, v2 asks IMDS for one (`awscli/utils.py` `IMDSRegionProvider` /
`InstanceMetadataRegionFetcher` on the vendored botocore's `IMDSFetcher`: token `PUT`, then
`GET latest/meta-data/placement/availability-zone/`; docs/spec/imds-client.md §3). A scripted
IMDS on 127.0.0.1 answers each request as the case says — a status, an empty body, no answer
at all (the client's read timeout), a closed connection — and records what arrives and when.
`configure list` with keys from the environment (so IMDS is asked only for the region) runs
through awsid and through Debian's v2 2.9.19; both must send the same requests (method, path,
the token TTL header, the token or its absence), in the same order, with the same timeout
between a silent answer and the next request, and print the same region row.

Two cases differ in 2.9.19 and follow the current sources (2.36.7), each named with the release
that changed it: `token-400` (2.21.1, aws-cli 75f3c12f4: `retrieve_region` catches
`BadIMDSRequestError`, 2.9.19 lets it escape) and `v1-disabled` (2.15.1, e7f98b4bb: the region
fetcher honours `ec2_metadata_v1_disabled`, which 2.9.19 does not know).
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import clean_env

TOKEN_PATH = "/latest/api/token"
ZONE_PATH = "/latest/meta-data/placement/availability-zone/"
TOKEN = "AQAEAFAKE-TOKEN=="
KEY_ID, SECRET = "AKIAIMDSREGIONTEST01", "imds/region/test/secret/key/0000000000000"

# An answer: (status, body), "hang" (never answer: the client's read timeout) or "close"
# (close the connection without a response: a retryable error in both clients).
Answer = tuple[int, str] | str


@dataclass
class Case:
    """One IMDS behaviour; `token` and `zone` answer successive requests (the last repeats)."""

    case_id: str
    token: list[Answer]
    zone: list[Answer] = field(default_factory=lambda: [(200, "eu-central-1b")])
    env: dict[str, str] = field(default_factory=dict)
    # The region row awsid prints: the region, or None for `<not set>`.
    region: str | None = None
    # The requests expected (method, path, token header), checked for awsid and for 2.9.19.
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    # The error awsid prints instead of the listing (exit 255), if any.
    error: str | None = None
    # Where 2.9.19 differs: the release of the current behaviour.
    v2_exception: str | None = None


PUT = ("PUT", TOKEN_PATH, None)
GET_V1 = ("GET", ZONE_PATH, None)
GET_V2 = ("GET", ZONE_PATH, TOKEN)

CASES = [
    Case("token-200", [(200, TOKEN)], region="eu-central-1", requests=[PUT, GET_V2]),
    Case("token-403", [(403, "")], region="eu-central-1", requests=[PUT, GET_V1]),
    Case("token-404", [(404, "")], region="eu-central-1", requests=[PUT, GET_V1]),
    Case("token-405", [(405, "")], region="eu-central-1", requests=[PUT, GET_V1]),
    Case("token-400", [(400, "")], region=None, requests=[PUT], v2_exception="2.21.1"),
    Case("token-500", [(500, "")], region="eu-central-1", requests=[PUT, GET_V1]),
    Case("token-500-3-attempts", [(500, "")], env={"AWS_METADATA_SERVICE_NUM_ATTEMPTS": "3"},
         region="eu-central-1", requests=[PUT, PUT, PUT, GET_V1]),
    Case("token-500-then-200", [(500, ""), (200, TOKEN)], env={"AWS_METADATA_SERVICE_NUM_ATTEMPTS": "2"},
         region="eu-central-1", requests=[PUT, PUT, GET_V2]),
    Case("token-closed-2-attempts", ["close"], env={"AWS_METADATA_SERVICE_NUM_ATTEMPTS": "2"},
         region="eu-central-1", requests=[PUT, PUT, GET_V1]),
    # A read timeout on the token is IMDSv1 at once, whatever the attempts.
    Case("token-timeout", ["hang"], env={"AWS_METADATA_SERVICE_NUM_ATTEMPTS": "3"},
         region="eu-central-1", requests=[PUT, GET_V1]),
    Case("token-timeout-2s", ["hang"], env={"AWS_METADATA_SERVICE_TIMEOUT": "2"},
         region="eu-central-1", requests=[PUT, GET_V1]),
    Case("zone-404", [(200, TOKEN)], zone=[(404, "")], env={"AWS_METADATA_SERVICE_NUM_ATTEMPTS": "2"},
         region=None, requests=[PUT, GET_V2, GET_V2]),
    Case("zone-empty-then-zone", [(200, TOKEN)], zone=[(200, ""), (200, "sa-east-1c")],
         env={"AWS_METADATA_SERVICE_NUM_ATTEMPTS": "2"}, region="sa-east-1", requests=[PUT, GET_V2, GET_V2]),
    Case("zone-timeout", [(200, TOKEN)], zone=["hang"], env={"AWS_METADATA_SERVICE_NUM_ATTEMPTS": "2"},
         region=None, requests=[PUT, GET_V2, GET_V2]),
    Case("config-file-settings", [(500, "")], env={"__config__": "metadata_service_num_attempts = 2\n"},
         region="eu-central-1", requests=[PUT, PUT, GET_V1]),
    Case("disabled", [(200, TOKEN)], env={"AWS_EC2_METADATA_DISABLED": "true"}, region=None, requests=[]),
    Case("v1-disabled", [(404, "")], env={"AWS_EC2_METADATA_V1_DISABLED": "true"}, requests=[PUT],
         error="Error retrieving metadata: Unable to retrieve token for use in IMDSv2 call and IMDSv1 "
               "has been disabled", v2_exception="2.15.1"),
]


class ScriptedImds(ThreadingHTTPServer):
    """IMDS on 127.0.0.1 answering as `case` says, recording (time, method, path, headers)."""

    daemon_threads = True

    def __init__(self, case: Case):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.case = case
        self.log: list[tuple[float, str, str, str | None, str | None]] = []
        self.counts = {"PUT": 0, "GET": 0}
        self.lock = threading.Lock()
        self.released = threading.Event()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def next_answer(self, method: str) -> Answer:
        with self.lock:
            script = self.case.token if method == "PUT" else self.case.zone
            n = self.counts[method]
            self.counts[method] += 1
        return script[min(n, len(script) - 1)]

    def close(self) -> None:
        self.released.set()
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ScriptedImds

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet test output
        pass

    def _answer(self) -> None:
        self.server.log.append((time.monotonic(), self.command, self.path,
                                self.headers.get("x-aws-ec2-metadata-token-ttl-seconds"),
                                self.headers.get("x-aws-ec2-metadata-token")))
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        expected = TOKEN_PATH if self.command == "PUT" else ZONE_PATH
        answer = self.server.next_answer(self.command) if self.path == expected else (404, "")
        if answer == "hang":
            self.server.released.wait(30)
            self.close_connection = True
            return
        if answer == "close":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        status, body = answer
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_PUT = _answer  # noqa: N815
    do_GET = _answer  # noqa: N815


@dataclass
class Run:
    status: int
    stdout: str
    stderr: str
    requests: list[tuple[str, str, str | None]]
    gaps: list[float]


def run(program: Path, case: Case, home: Path) -> Run:
    (home / ".aws").mkdir(parents=True, exist_ok=True)
    extra = dict(case.env)
    config = "[default]\n" + extra.pop("__config__", "")
    (home / ".aws" / "config").write_text(config)
    server = ScriptedImds(case)
    try:
        env = clean_env(home, AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET,
                        AWS_EC2_METADATA_SERVICE_ENDPOINT=server.url, AWS_EC2_METADATA_DISABLED="false")
        env.update(extra)
        for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
            env.pop(var, None)
        r = subprocess.run([str(program), "configure", "list"], env=env, capture_output=True,
                           text=True, timeout=120)
    finally:
        server.close()
    log = server.log
    requests = []
    for _, method, path, ttl, token in log:
        if method == "PUT":
            assert ttl == "21600", (program, ttl)
        requests.append((method, path, token))
    gaps = [b[0] - a[0] for a, b in zip(log, log[1:])]
    return Run(r.returncode, r.stdout, r.stderr, requests, gaps)


def region_row(stdout: str) -> list[str]:
    """The region row's words without the `:` separators of 2.31.0's layout."""
    row = [line for line in stdout.splitlines() if line.split()[:1] == ["region"]]
    assert len(row) == 1, stdout
    return [w for w in row[0].split() if w != ":"]


def expected_row(case: Case) -> list[str]:
    return ["region", case.region, "imds"] if case.region else ["region", "<not", "set>", "None", "None"]


@pytest.mark.parametrize("case", CASES, ids=[c.case_id for c in CASES])
def test_region_lookup_matches_v2(case: Case, awsid_bin: Path, aws_v2_bin: Path, tmp_path: Path):
    ours = run(awsid_bin, case, tmp_path / "awsid")
    assert ours.requests == case.requests, ours
    if case.error is not None:
        assert (ours.status, ours.stderr) == (255, f"\nawsid: [ERROR]: {case.error}\n"), ours
    else:
        assert ours.status == 0, ours.stderr
        assert region_row(ours.stdout) == expected_row(case), ours.stdout
    reference = run(aws_v2_bin, case, tmp_path / "v2")
    if case.v2_exception is None:
        assert reference.requests == ours.requests, (reference, ours)
        assert (reference.status, region_row(reference.stdout)) == (0, region_row(ours.stdout)), reference
        # A silent answer costs both clients the configured timeout before the next request.
        timeout = float(case.env.get("AWS_METADATA_SERVICE_TIMEOUT", "1"))
        for gaps in (ours.gaps, reference.gaps):
            for (method, _, _), gap in zip(case.requests, gaps):
                silent = "hang" in (case.token if method == "PUT" else case.zone)
                if silent:
                    assert timeout - 0.05 <= gap <= timeout + 1.0, (case.case_id, gaps)
    elif case.case_id == "token-400":
        # 2.9.19: the same request, then BadIMDSRequestError escapes the lookup (its text is
        # the repr of the request).
        assert reference.requests == ours.requests, reference
        assert reference.status == 255, reference
        assert "<botocore.awsrequest.AWSRequest object at " in reference.stderr, reference
    elif case.case_id == "v1-disabled":
        # 2.9.19 does not know the setting: it falls back to IMDSv1 and finds the region.
        assert reference.requests == [PUT, GET_V1], reference
        assert reference.status == 0 and region_row(reference.stdout)[1] == "eu-central-1", reference


def test_unreachable_imds_means_no_region(awsid_bin: Path, aws_v2_bin: Path, home: Path):
    """Nothing listens at the endpoint: no region, no error, in both clients."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before the runs: connection refused
    env = clean_env(home, AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET,
                    AWS_EC2_METADATA_DISABLED="false",
                    AWS_EC2_METADATA_SERVICE_ENDPOINT=f"http://127.0.0.1:{port}/",
                    AWS_METADATA_SERVICE_NUM_ATTEMPTS="2")
    rows = []
    for program in (awsid_bin, aws_v2_bin):
        r = subprocess.run([str(program), "configure", "list"], env=env, capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, (program, r.stderr)
        rows.append(region_row(r.stdout))
    assert rows[0] == rows[1] == ["region", "<not", "set>", "None", "None"], rows
