"""Helpers for the `awsid serve` suites: start the identity plane on ephemeral ports, build
client environments pointing at it, and the seed documents' credentials.

Every server is started with `--ready-file` and stopped (SIGTERM) by the fixture that started
it; traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import struct
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import REPO, clean_env

DEFAULT_WORLD = REPO / "crates" / "server" / "src" / "world" / "default_world.toml"

# The seed documents' example credentials (AWS documentation example values).
USER1_KEY = ("AKIAI44QH8DHBEXAMPLE", "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY")
DEFAULT_KEY = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
IQOJ_TOKEN = "IQoJb3JpZ2luX2IQoJb3JpZ2luX2IQoJb3JpZ2luX2IQoJb3JpZ2luX2IQoJb3JpZVERYLONGSTRINGEXAMPLE"
FCZIB_TOKEN = "fcZib3JpZ2luX2IQoJb3JpZ2luX2IQoJb3JpZ2luX2IQoJb3JpZ2luX2IQoJb3JpZVERYLONGSTRINGEXAMPLE"
SHORT_DEFAULT = ("ASIAIOSFODNN7EXAMPLE", DEFAULT_KEY[1], IQOJ_TOKEN)
SHORT_USER1 = ("ASIAI44QH8DHBEXAMPLE", USER1_KEY[1], FCZIB_TOKEN)
USER1_MFA_SERIAL = "arn:aws:iam::123456789012:mfa/user1"
USER1_MFA_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
DEFAULT_MFA_SERIAL = "arn:aws:iam::123456789012:mfa/defaultuser"
DEFAULT_MFA_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

ACCOUNT = "123456789012"
OPTIONAL_INSTANCE = "i-1234567890abcdef0"
REQUIRED_INSTANCE = "i-0fedcba9876543210"
ECS_TOKEN = "awsid-dev-container-token"
ECS_CREDENTIALS_ID = "6d2f4b8a-1c3e-4f5a-9b7d-0e2c4a6f8b1d"

# A fixed master key so that tests never create key files in a real home directory.
TEST_MASTER_KEY = base64.b64encode(bytes(range(32))).decode()


def totp(secret_base32: str, at: float | None = None, step_offset: int = 0) -> str:
    """RFC 6238 code (SHA-1, 30 s, 6 digits)."""
    key = base64.b32decode(secret_base32.upper() + "=" * (-len(secret_base32) % 8))
    counter = int((time.time() if at is None else at) // 30) + step_offset
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


@dataclass
class Served:
    """A running `awsid serve`: its addresses and process."""

    api: str
    ecs: str
    imds: dict[str, str]
    process: subprocess.Popen
    workdir: Path
    stdout_text: str = field(default="")

    @property
    def sts_url(self) -> str:
        return f"http://{self.api}/"

    def imds_url(self, instance: str = OPTIONAL_INSTANCE) -> str:
        return f"http://{self.imds[instance]}/"

    @property
    def ecs_url(self) -> str:
        return f"http://{self.ecs}/credentials"

    def client_env(self, home: Path, **extra: str) -> dict[str, str]:
        """A clean environment whose STS endpoint is this server (IMDS stays disabled)."""
        return clean_env(home, AWS_ENDPOINT_URL_STS=self.sts_url, **extra)

    def imds_env(self, home: Path, instance: str = OPTIONAL_INSTANCE, **extra: str) -> dict[str, str]:
        """A client environment that may also use this server's IMDS of `instance`."""
        return self.client_env(
            home,
            AWS_EC2_METADATA_DISABLED="false",
            AWS_EC2_METADATA_SERVICE_ENDPOINT=self.imds_url(instance),
            **extra,
        )


def start_server(awsid_bin: Path, workdir: Path, world: Path | None = None,
                 state_dir: Path | None = None) -> Served:
    """Starts `awsid serve` on ephemeral ports and waits for its ready file (≤ 30 s); its state
    is kept in `state_dir` (`--state-dir`) when given."""
    workdir.mkdir(parents=True, exist_ok=True)
    ready = workdir / "ready.json"
    cmd = [
        str(awsid_bin),
        "serve",
        "--api", "127.0.0.1:0",
        "--imds", "127.0.0.1:0",
        "--ecs", "127.0.0.1:0",
        "--ready-file", str(ready),
    ]
    if world is not None:
        cmd += ["--world", str(world)]
    if state_dir is not None:
        cmd += ["--state-dir", str(state_dir)]
    env = clean_env(workdir, AWSID_MASTER_KEY=TEST_MASTER_KEY)
    out = open(workdir / "serve.out", "w")
    err = open(workdir / "serve.err", "w")
    proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
    deadline = time.monotonic() + 30
    while not ready.exists():
        if proc.poll() is not None:
            pytest.fail(
                f"awsid serve exited with {proc.returncode}: {(workdir / 'serve.err').read_text()}",
                pytrace=False,
            )
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("awsid serve did not write its ready file within 30 s", pytrace=False)
        time.sleep(0.05)
    data = json.loads(ready.read_text())
    return Served(
        api=data["api"],
        ecs=data["ecs"],
        imds=data["imds"],
        process=proc,
        workdir=workdir,
        stdout_text=(workdir / "serve.out").read_text(),
    )


def stop_server(served: Served) -> int:
    """SIGTERM, then wait (≤ 10 s); returns the exit status."""
    served.process.send_signal(signal.SIGTERM)
    try:
        return served.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        served.process.kill()
        served.process.wait()
        pytest.fail("awsid serve did not stop within 10 s of SIGTERM", pytrace=False)
        raise


def world_with(extra_toml: str, path: Path) -> Path:
    """Writes the default world plus `extra_toml` to `path`."""
    path.write_text(DEFAULT_WORLD.read_text() + "\n" + extra_toml)
    return path


def short_lived_world(path: Path, lifetime: int) -> Path:
    """Writes the default world with every STS session expiring after `lifetime` seconds (the
    world setting `sts_session_lifetime_seconds`), for refresh tests."""
    text = DEFAULT_WORLD.read_text().replace(
        "sts_clock_skew_seconds = 900\n",
        f"sts_clock_skew_seconds = 900\nsts_session_lifetime_seconds = {lifetime}\n",
        1,
    )
    assert "sts_session_lifetime_seconds" in text
    path.write_text(text)
    return path


def write_aws_files(home: Path, config: str | None = None, credentials: str | None = None) -> None:
    """Writes ~/.aws/config and ~/.aws/credentials under `home`."""
    aws = home / ".aws"
    aws.mkdir(parents=True, exist_ok=True)
    if config is not None:
        (aws / "config").write_text(config)
    if credentials is not None:
        (aws / "credentials").write_text(credentials)


def run_aws(aws_bin: Path, env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """Runs the reference aws CLI (60 s limit)."""
    return subprocess.run(
        [str(aws_bin), *args], env=env, capture_output=True, text=True, input=stdin, timeout=60
    )


def caller_identity(aws_bin: Path, env: dict[str, str], *args: str) -> dict:
    """`aws sts get-caller-identity --output json` → the parsed document (fails on error)."""
    r = run_aws(aws_bin, env, "sts", "get-caller-identity", "--output", "json", *args)
    assert r.returncode == 0, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return json.loads(r.stdout)


@pytest.fixture
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """For in-process boto3 tests (import it and mark it autouse with
    `pytestmark = pytest.mark.usefixtures("isolated_env")`): no AWS settings from the outside,
    a throw-away HOME, no real metadata service."""
    for k in list(os.environ):
        if k.startswith(("AWS_", "BOTO_")):
            monkeypatch.delenv(k)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))


@pytest.fixture(scope="module")
def served(awsid_bin: Path, tmp_path_factory: pytest.TempPathFactory):
    """`awsid serve` on the default world for one test module."""
    s = start_server(awsid_bin, tmp_path_factory.mktemp("serve"))
    yield s
    stop_server(s)


@pytest.fixture(scope="module")
def served_expired(awsid_bin: Path, tmp_path_factory: pytest.TempPathFactory):
    """The default world plus an already expired pre-issued session (`ASIAEXPIREDEXAMPLE01`)."""
    d = tmp_path_factory.mktemp("serve-expired")
    world = world_with(
        """
[[sessions]]
access_key_id = "ASIAEXPIREDEXAMPLE01"
secret_access_key = "expiredSecretExampleKeyEXAMPLEKEYEXAMPLE"
session_token = "expiredSessionTokenExample"
principal = "arn:aws:iam::123456789012:user/user1"
expires = "2020-01-01T00:00:00Z"
""",
        d / "world.toml",
    )
    s = start_server(awsid_bin, d, world)
    yield s
    stop_server(s)
