"""`awsid serve --shell` driven through a pseudo-terminal, as a person uses it: the greeting, the
aws CLI (the pinned reference) and awsid getting identities for every seed profile inside the
shell, Ctrl-C at the prompt reaching the shell and not awsid, `awsid explain` inside; after
`exit` — or SIGINT, SIGTERM or SIGHUP sent to awsid — the shell is gone, the listeners are
closed, the temporary directory is removed, and the person's real `~/.aws` is byte-identical
(nothing read into the session, nothing written: the CLI cache goes to the sandbox's HOME).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import sys
import time
from pathlib import Path

import pexpect
import pytest

from conftest import REPO
from serve_fixtures import ACCOUNT, TEST_MASTER_KEY

PROMPT = "(awsid) "
ANSI = re.compile(r"\x1b\[[?0-9;]*[A-Za-z]")  # bash's bracketed-paste toggles
ARN = {
    "default": f"arn:aws:iam::{ACCOUNT}:user/defaultuser",
    "user1": f"arn:aws:iam::{ACCOUNT}:user/user1",
    "marketingadmin": f"arn:aws:sts::{ACCOUNT}:assumed-role/marketingadminrole/",
    "marketingadmin-ec2": f"arn:aws:sts::{ACCOUNT}:assumed-role/marketingadminrole/",
    "crossaccount": "arn:aws:sts::777788889999:assumed-role/user1role/session_user1",
}
# The person's own files: profiles with the seed names but other keys, which must never be used.
REAL_CONFIG = "[default]\nregion = ap-south-1\n\n[profile marketingadmin]\nrole_arn = arn:aws:iam::999999999999:role/mine\nsource_profile = default\n"
REAL_CREDENTIALS = "[default]\naws_access_key_id = AKIAREALUSEREXAMPLE1\naws_secret_access_key = realsecretrealsecretrealsecretrealsecre\n"


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under `root` (relative path -> sha256 and mode): any read-write trace shows."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_file():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest() + f" {path.stat().st_mode:o}"
        else:
            out[rel] = "dir"
    return out


def closed(addr: str) -> bool:
    host, port = addr.rsplit(":", 1)
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, int(port))) != 0


@pytest.fixture
def real_home(tmp_path: Path) -> Path:
    home = tmp_path / "real-home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "config").write_text(REAL_CONFIG)
    (home / ".aws" / "credentials").write_text(REAL_CREDENTIALS)
    (home / ".aws" / "credentials").chmod(0o600)
    return home


class Shell:
    """A running `awsid serve --shell` under pexpect."""

    def __init__(self, awsid: Path, home: Path, tmp: Path):
        self.ready = tmp / "ready.json"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BOTO_"))}
        env.update(
            HOME=str(home), SHELL="/bin/bash", AWSID_MASTER_KEY=TEST_MASTER_KEY, AWS_PAGER="", LC_ALL="C.UTF-8",
            TMPDIR=str(tmp), PATH=f"{Path(awsid).parent}:{Path(sys.executable).parent}:{env['PATH']}",
            # Settings of the person's shell that must not leak into the sandbox.
            AWS_PROFILE="marketingadmin", AWS_ACCESS_KEY_ID="AKIALEAKEDEXAMPLE000", AWS_SECRET_ACCESS_KEY="leaked",
            AWS_REGION="ap-south-1",
        )
        self.child = pexpect.spawn(
            str(awsid),
            ["serve", "--shell", "--api", "127.0.0.1:0", "--imds", "127.0.0.1:0", "--ecs", "127.0.0.1:0",
             "--ready-file", str(self.ready)],
            env=env, cwd=str(tmp), encoding="utf-8", timeout=60, dimensions=(50, 200),
        )
        self.child.expect_exact(PROMPT)
        self.greeting = self.child.before
        found = re.search(r"files\s+(\S+)/\{config,credentials\}", self.greeting)
        assert found, self.greeting
        self.sandbox = Path(found.group(1))
        self.bound = json.loads(self.ready.read_text())

    def run(self, line: str) -> str:
        self.child.sendline(line)
        self.child.expect_exact(PROMPT)
        out = ANSI.sub("", self.child.before).replace("\r\n", "\n").replace("\r", "")
        return out.split("\n", 1)[1] if "\n" in out else ""

    def addresses(self) -> list[str]:
        return [self.bound["api"], self.bound["ecs"], *self.bound["imds"].values()]


def test_shell_session(awsid_bin, aws_bin, real_home, tmp_path):
    before = tree_digest(real_home)
    sh = Shell(awsid_bin, real_home, tmp_path)
    assert "Profiles: default, user1, marketingadmin, marketingadmin-ec2, admin, crossaccount, sso" in sh.greeting
    assert "aws sts get-caller-identity --profile marketingadmin" in sh.greeting
    assert "awsid explain --profile crossaccount" in sh.greeting
    assert len(sh.greeting.splitlines()) <= 24, "the greeting fits one screen"
    assert sh.sandbox.is_dir() and oct(sh.sandbox.stat().st_mode & 0o777) == "0o700"
    assert oct((sh.sandbox / "credentials").stat().st_mode & 0o777) == "0o600"

    env = sh.run("env | grep -E '^(AWS_|HOME=)' | sort")
    assert f"HOME={sh.sandbox}/home" in env
    assert f"AWS_CONFIG_FILE={sh.sandbox}/config" in env
    assert f"AWS_ENDPOINT_URL_STS=http://{sh.bound['api']}/" in env
    for leaked in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION="):
        assert leaked not in env, env
    assert "AWS_PAGER=" in env  # display preferences are kept

    # marketingadmin-ec2 first: the role through instance metadata, before the cache has it.
    for profile in ["marketingadmin-ec2", "default", "user1", "marketingadmin", "crossaccount"]:
        arn = sh.run(f"aws sts get-caller-identity --profile {profile} --query Arn --output text").strip()
        assert arn.startswith(ARN[profile]), (profile, arn)
        line = sh.run(f"awsid sts get-caller-identity --profile {profile} --output text").strip()
        assert line.split("\t")[1].startswith(ARN[profile]), (profile, line)

    # Ctrl-C at the prompt reaches the shell only: the server keeps serving.
    sh.child.sendcontrol("c")
    sh.child.expect_exact(PROMPT)
    assert sh.run("awsid sts get-caller-identity --output text").split("\t")[1].strip() == ARN["default"]

    explained = json.loads(sh.run("awsid explain --profile crossaccount --output json"))
    assert explained["credentials"]["provider"] == "assume-role"
    assert explained["credentials"]["source_profiles"] == ["crossaccount", "default"]
    assert explained["credentials"]["hops"][0]["role_arn"]["source"]["path"] == f"{sh.sandbox}/config"

    sh.child.sendline("exit")
    sh.child.expect(pexpect.EOF)
    sh.child.close()
    assert sh.child.exitstatus == 0, sh.child.before
    assert "server stopped" in sh.child.before
    assert not sh.sandbox.exists()
    assert not sh.ready.exists()
    assert all(closed(a) for a in sh.addresses())
    assert tree_digest(real_home) == before


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_signals_to_awsid_clean_up(sig, awsid_bin, real_home, tmp_path):
    before = tree_digest(real_home)
    sh = Shell(awsid_bin, real_home, tmp_path)
    # A command running in the shell when the signal arrives goes too (EOF on the pty master
    # means every process holding the terminal, `sleep` included, has exited).
    sh.child.sendline("sleep 300")
    time.sleep(0.3)
    os.kill(sh.child.pid, sig)
    sh.child.expect(pexpect.EOF, timeout=15)
    sh.child.close()
    assert sh.child.exitstatus == 128 + sig, (sh.child.exitstatus, sh.child.signalstatus)
    assert not sh.sandbox.exists()
    assert all(closed(a) for a in sh.addresses())
    assert tree_digest(real_home) == before
    leftover = [p for p in tmp_path.iterdir() if p.name.startswith("awsid-shell-")]
    assert leftover == []
