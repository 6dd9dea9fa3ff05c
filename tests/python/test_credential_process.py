"""`credential_process = awsid credential-process --profile P` used by clients nobody here wrote —
the aws CLI v1 (PyPI), the aws CLI v2 (Debian's 2.9.19), boto3 — against `awsid serve`; MFA
codes typed into a pseudo-terminal (the caller owns stdin and stdout, awsid asks on
`/dev/tty`) under each of the three, an MFA session shared by two roles with one code under
each of the three, `mfa_process` and `ykman` as code sources, the no-terminal error, and
`awsid configure mfa-login`. The Rust SDK and the JavaScript SDK v3 do the same in
tests/interop/tests/rust_sdk_credential_process.rs and tests/js/test/serve.test.mjs.

Each test that types or computes MFA codes has its own server (the server refuses a code of a
step it has already accepted for the device) and takes its codes from `totp_code.next_code`.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import clean_env
from serve_fixtures import (
    USER1_KEY,
    USER1_MFA_SECRET,
    USER1_MFA_SERIAL,
    served,  # noqa: F401  (fixture)
    start_server,
    stop_server,
)
from storm import HANG_SECONDS, calls, delta
from totp_code import next_code

V2_AWS = Path("/usr/bin/aws")
ACCOUNT = "123456789012"
HERE = Path(__file__).resolve().parent

BASE_CONFIG = """\
[profile user1]
region = us-east-1

[profile hop1]
role_arn = arn:aws:iam::123456789012:role/marketingadminrole
source_profile = user1
region = us-east-1

[profile hop2]
role_arn = arn:aws:iam::123456789012:role/defaultrole
source_profile = hop1
region = us-east-1

[profile mfa]
role_arn = arn:aws:iam::123456789012:role/mfarole
source_profile = user1
mfa_serial = arn:aws:iam::123456789012:mfa/user1
region = us-east-1

[profile mfas1]
role_arn = arn:aws:iam::123456789012:role/mfarole
source_profile = user1
mfa_serial = arn:aws:iam::123456789012:mfa/user1
mfa_session = true
region = us-east-1

[profile mfas2]
role_arn = arn:aws:iam::123456789012:role/marketingadminrole
source_profile = user1
mfa_serial = arn:aws:iam::123456789012:mfa/user1
mfa_session = true
duration_seconds = 7200
region = us-east-1
"""

CREDENTIALS = f"""\
[user1]
aws_access_key_id = {USER1_KEY[0]}
aws_secret_access_key = {USER1_KEY[1]}
"""


def cp_profiles(awsid_bin: Path, *targets: str) -> str:
    """`[profile cp-T]` with `credential_process = awsid credential-process --profile T`."""
    return "".join(
        f"\n[profile cp-{t}]\ncredential_process = {awsid_bin} credential-process --profile {t}\n"
        "region = us-east-1\n"
        for t in targets
    )


def make_home(root: Path, awsid_bin: Path, extra: str = "") -> Path:
    home = root / "home"
    (home / ".aws").mkdir(parents=True)
    targets = ("hop2", "mfa", "mfas1", "mfas2")
    (home / ".aws" / "config").write_text(BASE_CONFIG + cp_profiles(awsid_bin, *targets) + extra)
    (home / ".aws" / "credentials").write_text(CREDENTIALS)
    return home


@pytest.fixture
def server(awsid_bin: Path, tmp_path: Path):
    """A server of its own (MFA codes are single-use per device and step)."""
    s = start_server(awsid_bin, tmp_path / "serve")
    yield s
    stop_server(s)


def arn(doc: dict) -> str:
    return doc["Arn"]


def assumed(role: str) -> re.Pattern:
    return re.compile(rf"^arn:aws:sts::{ACCOUNT}:assumed-role/{role}/[\w+=,.@-]+$")


# ---------------------------------------------------------------- clients, no MFA


def aws_v1(aws_bin: Path, env: dict, profile: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(aws_bin), "sts", "get-caller-identity", "--profile", profile, "--output", "json"],
        env=env, capture_output=True, text=True, timeout=HANG_SECONDS,
    )


def aws_v2(served_, env: dict, profile: str) -> subprocess.CompletedProcess:
    # 2.9.19 predates AWS_ENDPOINT_URL_STS (2.13.0): the command's own call takes
    # --endpoint-url; credentials come from awsid, which honours the variable.
    return subprocess.run(
        [str(V2_AWS), "sts", "get-caller-identity", "--profile", profile, "--output", "json",
         "--endpoint-url", served_.sts_url],
        env=env, capture_output=True, text=True, timeout=HANG_SECONDS,
    )


BOTO3_SCRIPT = """
import json, sys, boto3
session = boto3.Session(profile_name=sys.argv[1])
sts = session.client("sts", endpoint_url=sys.argv[2])
print(json.dumps(sts.get_caller_identity()))
"""

# The same for a terminal: only the ARN, on one line.
BOTO3_ARN_SCRIPT = """
import json, sys, boto3
session = boto3.Session(profile_name=sys.argv[1])
sts = session.client("sts", endpoint_url=sys.argv[2])
print(json.dumps({"Arn": sts.get_caller_identity()["Arn"]}))
"""


def boto3_call(env: dict, profile: str, url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", BOTO3_SCRIPT, profile, url],
        env=env, capture_output=True, text=True, timeout=HANG_SECONDS,
    )


def test_clients_use_awsid_as_their_credential_process(served, awsid_bin, aws_bin, tmp_path):  # noqa: F811
    assert V2_AWS.exists(), "the aws CLI v2 (Debian package awscli) is required at /usr/bin/aws"
    home = make_home(tmp_path, awsid_bin)
    env = served.client_env(home)
    before = calls(served.api)
    results = {
        "aws v1": aws_v1(aws_bin, env, "cp-hop2"),
        "aws v2": aws_v2(served, env, "cp-hop2"),
        "boto3": boto3_call(env, "cp-hop2", served.sts_url),
    }
    for client, r in results.items():
        assert r.returncode == 0, f"{client}: {r.stderr}"
        assert assumed("defaultrole").match(arn(json.loads(r.stdout))), (client, r.stdout)
    # Three clients, one resolution: the two hops were assumed once and cached for the others.
    made = delta(before, calls(served.api))
    assert made == {("sts", "AssumeRole"): 2, ("sts", "GetCallerIdentity"): 3}, made
    # The credential_process output is exactly what export-credentials prints.
    cp = subprocess.run(
        [str(awsid_bin), "credential-process", "--profile", "hop2"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout
    export = subprocess.run(
        [str(awsid_bin), "configure", "export-credentials", "--profile", "hop2", "--format", "process"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout
    assert cp == export
    assert list(json.loads(cp)) == ["Version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"]


def test_a_profile_naming_itself_is_refused(served, awsid_bin, aws_bin, tmp_path):  # noqa: F811
    loop = f"\n[profile loop]\ncredential_process = {awsid_bin} credential-process --profile loop\n"
    home = make_home(tmp_path, awsid_bin, loop)
    env = served.client_env(home)
    r = aws_v1(aws_bin, env, "loop")
    assert r.returncode != 0
    assert "infinite loop" in r.stderr or "Maximum recursive" in r.stderr, r.stderr


# ---------------------------------------------------------------- MFA in a terminal


class Terminal:
    """A command running in a pseudo-terminal (its controlling terminal): what it writes, and
    answers typed when a prompt appears."""

    def __init__(self, argv: list[str], env: dict):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child
            try:
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        self.output = b""

    def _read(self, deadline: float) -> bool:
        """Reads what is available; False at end of output."""
        ready, _, _ = select.select([self.fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return True
        try:
            data = os.read(self.fd, 4096)
        except OSError:  # EIO: the other side is closed
            return False
        if not data:
            return False
        self.output += data
        return True

    def expect(self, pattern: str) -> None:
        """Waits until `pattern` has appeared in the output."""
        deadline = time.monotonic() + HANG_SECONDS
        while not re.search(pattern.encode(), self.output):
            if time.monotonic() > deadline or not self._read(deadline):
                pytest.fail(f"no {pattern!r} in {self.output!r}", pytrace=False)

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode() + b"\r")

    def finish(self) -> tuple[int, str]:
        deadline = time.monotonic() + HANG_SECONDS
        while self._read(deadline):
            if time.monotonic() > deadline:
                os.kill(self.pid, 9)
                pytest.fail(f"did not finish: {self.output!r}", pytrace=False)
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status), self.output.decode(errors="replace")


PROMPT = re.escape(f"Enter MFA code for {USER1_MFA_SERIAL}: ")


def last_json(text: str) -> dict:
    start = text.rindex("{", 0, text.rindex('"Arn"'))
    return json.loads(text[start : text.index("}", start) + 1])


def client_argv(cli: str, aws_bin: Path, server_, profile: str) -> list[str]:
    """`sts get-caller-identity` with `profile` by the aws CLI v1, v2, or a boto3 script."""
    if cli == "v1":
        return [str(aws_bin), "sts", "get-caller-identity", "--profile", profile, "--output", "json"]
    if cli == "v2":
        assert V2_AWS.exists(), "the aws CLI v2 (Debian package awscli) is required at /usr/bin/aws"
        return [str(V2_AWS), "sts", "get-caller-identity", "--profile", profile, "--output", "json",
                "--endpoint-url", server_.sts_url]
    return [sys.executable, "-c", BOTO3_ARN_SCRIPT, profile, server_.sts_url]


CLIENTS = ["v1", "v2", "boto3"]


@pytest.mark.parametrize("cli", CLIENTS)
def test_mfa_role_prompted_on_the_terminal(server, awsid_bin, aws_bin, tmp_path, cli):
    home = make_home(tmp_path, awsid_bin)
    env = server.client_env(home)
    codes = tmp_path / "codes.state"
    argv = client_argv(cli, aws_bin, server, "cp-mfa")
    term = Terminal(argv, env)
    term.expect(PROMPT)
    term.type(next_code(USER1_MFA_SECRET, codes))
    rc, out = term.finish()
    assert rc == 0, out
    assert assumed("mfarole").match(last_json(out)["Arn"]), out
    # The role is cached: the next call asks nothing.
    term = Terminal(argv, env)
    rc, out = term.finish()
    assert rc == 0, out
    assert "Enter MFA code" not in out


@pytest.mark.parametrize("cli", CLIENTS)
def test_mfa_session_serves_two_roles_with_one_code(server, awsid_bin, aws_bin, tmp_path, cli):
    home = make_home(tmp_path, awsid_bin)
    env = server.client_env(home)
    codes = tmp_path / "codes.state"
    before = calls(server.api)
    first = Terminal(client_argv(cli, aws_bin, server, "cp-mfas1"), env)
    first.expect(PROMPT)
    first.type(next_code(USER1_MFA_SECRET, codes))
    rc, out = first.finish()
    assert rc == 0, out
    assert assumed("mfarole").match(last_json(out)["Arn"]), out
    # A second role naming the same mfa_serial: no prompt, the session is reused.
    second = Terminal(client_argv(cli, aws_bin, server, "cp-mfas2"), env)
    rc, out = second.finish()
    assert rc == 0, out
    assert "Enter MFA code" not in out
    assert assumed("marketingadminrole").match(last_json(out)["Arn"]), out
    made = delta(before, calls(server.api))
    assert made == {
        ("sts", "GetSessionToken"): 1,
        ("sts", "AssumeRole"): 2,
        ("sts", "GetCallerIdentity"): 2,
    }, made
    # duration_seconds = 7200 was requested as 3600: STS caps roles assumed with a session.
    cp = json.loads(subprocess.run(
        [str(awsid_bin), "credential-process", "--profile", "mfas2"],
        env=env, capture_output=True, text=True, check=True).stdout)
    left = dt_seconds_left(cp["Expiration"])
    assert 3000 < left <= 3600, cp["Expiration"]
    # Roles expire, the session lasts: with the role entries gone, both roles are assumed again
    # from the cached session without a code (no terminal at all this time).
    for entry in (home / ".aws" / "cli" / "cache").glob("*.json"):
        if "AssumedRoleUser" in entry.read_text():
            entry.unlink()
    before = calls(server.api)
    for profile in ("mfas1", "mfas2"):
        r = subprocess.run([str(awsid_bin), "credential-process", "--profile", profile],
                           env=env, capture_output=True, text=True, start_new_session=True)
        assert r.returncode == 0, r.stderr
    assert delta(before, calls(server.api)) == {("sts", "AssumeRole"): 2}


def dt_seconds_left(expiration: str) -> float:
    import datetime as dt

    return (dt.datetime.fromisoformat(expiration) - dt.datetime.now(dt.timezone.utc)).total_seconds()


def test_no_terminal_is_a_clear_error(server, awsid_bin, tmp_path):
    home = make_home(tmp_path, awsid_bin)
    env = server.client_env(home)
    # A new session has no controlling terminal: /dev/tty cannot be opened.
    r = subprocess.run([str(awsid_bin), "credential-process", "--profile", "mfa"],
                       env=env, capture_output=True, text=True, start_new_session=True,
                       stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    assert f"Cannot get an MFA code for {USER1_MFA_SERIAL}: there is no terminal to ask on" in r.stderr, r.stderr
    assert "mfa_process" in r.stderr
    assert r.stdout == ""


def test_mfa_process_and_ykman_supply_codes(server, awsid_bin, tmp_path):
    codes = tmp_path / "codes.state"
    log = tmp_path / "codes.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # A stand-in for ykman: records its arguments and prints a code.
    ykman = bin_dir / "ykman"
    ykman.write_text(
        f"#!/bin/sh\necho \"$@\" >> {tmp_path / 'ykman.args'}\n"
        f"exec {sys.executable} {HERE / 'totp_code.py'} {USER1_MFA_SECRET} {codes} {log}\n"
    )
    ykman.chmod(0o755)
    extra = f"""
[profile viaprocess]
role_arn = arn:aws:iam::123456789012:role/mfarole
source_profile = user1
mfa_serial = arn:aws:iam::123456789012:mfa/user1
mfa_process = {sys.executable} {HERE / 'totp_code.py'} {USER1_MFA_SECRET} {codes} {log}
region = us-east-1

[profile viaykman]
role_arn = arn:aws:iam::123456789012:role/mfarole
role_session_name = ykman-session
source_profile = user1
mfa_serial = arn:aws:iam::123456789012:mfa/user1
mfa_prompt = ykman
region = us-east-1

[profile badprocess]
role_arn = arn:aws:iam::123456789012:role/mfarole
role_session_name = bad-session
source_profile = user1
mfa_serial = arn:aws:iam::123456789012:mfa/user1
mfa_process = exit 3
region = us-east-1
"""
    home = make_home(tmp_path, awsid_bin, extra)
    env = server.client_env(home, PATH=f"{bin_dir}:{os.environ['PATH']}")
    for profile in ("viaprocess", "viaykman"):
        r = subprocess.run([str(awsid_bin), "credential-process", "--profile", profile],
                           env=env, capture_output=True, text=True, start_new_session=True)
        assert r.returncode == 0, (profile, r.stderr)
    assert len(log.read_text().split()) == 2
    assert (tmp_path / "ykman.args").read_text() == f"oath accounts code --single {USER1_MFA_SERIAL}\n"
    r = subprocess.run([str(awsid_bin), "credential-process", "--profile", "badprocess"],
                       env=env, capture_output=True, text=True, start_new_session=True)
    assert r.returncode != 0
    assert f"Cannot get an MFA code for {USER1_MFA_SERIAL}: mfa_process failed (exit status: 3)" in r.stderr


# ---------------------------------------------------------------- configure mfa-login


def mfa_login(awsid_bin: Path, env: dict, stdin: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(awsid_bin), "configure", "mfa-login", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=HANG_SECONDS)


def test_mfa_login_writes_a_session_profile(server, awsid_bin, aws_bin, tmp_path):
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "config").write_text(
        "[default]\nregion = us-east-1\nmfa_serial = arn:aws:iam::123456789012:mfa/user1\n"
    )
    (home / ".aws" / "credentials").write_text(
        f"[default]\naws_access_key_id = {USER1_KEY[0]}\naws_secret_access_key = {USER1_KEY[1]}\n"
    )
    env = server.client_env(home)
    codes = tmp_path / "codes.state"

    # The profile's mfa_serial; the code; Enter takes the generated profile name.
    r = mfa_login(awsid_bin, env, next_code(USER1_MFA_SECRET, codes) + "\n\n")
    assert r.returncode == 0, r.stderr
    m = re.fullmatch(
        r"MFA token code: Profile to update \[123456789012-user1\]: "
        r"Temporary credentials written to profile '123456789012-user1'\n"
        r"Credentials will expire at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC\n"
        r"To use these credentials, specify --profile 123456789012-user1 when running AWS CLI commands\n",
        r.stdout,
    )
    assert m, r.stdout
    creds = (home / ".aws" / "credentials").read_text()
    assert "[123456789012-user1]\naws_access_key_id = ASIA" in creds
    assert "aws_session_token = " in creds
    # The file keeps its mode (0644, made by this test), and v2's warning says so.
    assert (home / ".aws" / "credentials").stat().st_mode & 0o777 == 0o644
    assert "is accessible by other users" in r.stderr, r.stderr
    # The profile works for the aws CLI: a user session of user1.
    r = subprocess.run([str(aws_bin), "sts", "get-caller-identity", "--profile", "123456789012-user1",
                        "--output", "json", "--region", "us-east-1"],
                       env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/user1"

    # --update-profile and --serial-number: no prompt but the code.
    r = mfa_login(awsid_bin, env, next_code(USER1_MFA_SECRET, codes) + "\n",
                  "--update-profile", "mytemp", "--serial-number", USER1_MFA_SERIAL,
                  "--duration-seconds", "900")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("MFA token code: Temporary credentials written to profile 'mytemp'\n")

    # A wrong code: the service's error, v2's write_error line, exit 1, nothing written.
    before = (home / ".aws" / "credentials").read_text()
    r = mfa_login(awsid_bin, env, "000000\n", "--update-profile", "bad")
    assert r.returncode == 1
    assert r.stderr == (
        "\nawsid: [ERROR]: An error occurred: An error occurred (AccessDenied) when calling the "
        "GetSessionToken operation: MultiFactorAuthentication failed with invalid MFA one time "
        "pass code.\n"
    )
    assert (home / ".aws" / "credentials").read_text() == before

    # No code: exit 1 before any call.
    r = mfa_login(awsid_bin, env, "\n")
    assert (r.returncode, r.stderr) == (1, "\nawsid: [ERROR]: MFA token code is required\n")

    # A duration below the model's minimum: botocore's parameter validation (exit 252).
    r = mfa_login(awsid_bin, env, "123456\n", "--update-profile", "x", "--duration-seconds", "60")
    assert r.returncode == 252
    assert "Invalid value for parameter DurationSeconds, value: 60, valid min value: 900" in r.stderr


def test_mfa_login_without_credentials_asks_for_them(server, awsid_bin, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = server.client_env(home, AWS_DEFAULT_REGION="us-east-1")
    codes = tmp_path / "codes.state"
    answers = "\n".join([USER1_KEY[0], USER1_KEY[1], USER1_MFA_SERIAL,
                         next_code(USER1_MFA_SECRET, codes), "sess"]) + "\n"
    r = mfa_login(awsid_bin, env, answers)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(
        "Please provide your AWS credentials:\nAWS Access Key ID: AWS Secret Access Key: "
        "MFA serial number or ARN: MFA token code: Profile to update [123456789012-user1]: "
        "Temporary credentials written to profile 'sess'\n"
    ), r.stdout
    assert "[sess]\naws_access_key_id = ASIA" in (home / ".aws" / "credentials").read_text()
    # A missing answer is required.
    r = mfa_login(awsid_bin, clean_env(tmp_path / "empty", AWS_DEFAULT_REGION="us-east-1"), "\n")
    assert (r.returncode, r.stderr) == (1, "\nawsid: [ERROR]: AWS Access Key ID is required\n")
