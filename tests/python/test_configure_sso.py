"""Seed 004's two `aws configure sso` transcripts, typed into `awsid configure sso` through a
pseudo-terminal (pexpect) against `awsid serve`'s default world: the session form (browser
flow, approved by a test "browser") and the legacy form (blank session name, device flow,
approved on the verification page). The config file awsid writes is byte-compared with the one
the v2 CLI's own ConfigureSSOCommand writes for the same answers (v2_configure_sso.py, Debian's
awscli 2.9.19); then the aws CLI, boto3 and awsid use the profile.

Also: `configure sso-session`, the unattended form (every answer a flag), `--all`, and the
errors of a run without a terminal.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from conftest import clean_env
from serve_fixtures import caller_identity, served, write_aws_files  # noqa: F401
from test_sso_seed import (
    DEV_ACCOUNT,
    SSO_USER,
    START_URL,
    request,
    sso_env,
    token_file,
    SESSION_TOKEN_FILE,
    LEGACY_TOKEN_FILE,
)

V2_PYTHON = "/usr/bin/python3"
V2_REFERENCE = Path(__file__).with_name("v2_configure_sso.py")
ROLE_ARN = re.compile(
    r"^arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_ReadOnly_[0-9a-f]{16}/"
    + re.escape(SSO_USER)
    + "$"
)
DOWN = "\x1b[B"

# The "browser": follows the authorize page's approval and its redirect to awsid's listener.
BROWSER = f"""
import http.client, sys, urllib.parse
url = urllib.parse.urlsplit(sys.argv[1])
def call(netloc, method, target, body=None):
    c = http.client.HTTPConnection(netloc, timeout=10)
    c.request(method, target, body=body,
              headers={{"Content-Type": "application/x-www-form-urlencoded"}} if body else {{}})
    r = c.getresponse(); r.read(); c.close(); return r
if url.path == "/authorize":
    form = url.query + "&" + urllib.parse.urlencode({{"action": "approve", "user": "{SSO_USER}"}})
    r = call(url.netloc, "POST", "/authorize", form)
    loc = urllib.parse.urlsplit(r.getheader("Location"))
    call(loc.netloc, "GET", loc.path + "?" + loc.query)
"""


def spawn(awsid_bin: Path, env: dict[str, str], *args: str) -> pexpect.spawn:
    child = pexpect.spawn(
        str(awsid_bin), ["configure", "sso", *args], env=env, encoding="utf-8", timeout=60,
        dimensions=(40, 200),
    )
    child.logfile_read = _Transcript()
    return child


class _Transcript:
    """Collects what the terminal showed (printed on failure by pytest's captured output)."""

    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s
        sys.stdout.write(s)

    def flush(self):
        pass


def type_answer(child: pexpect.spawn, prompt: str, answer: str) -> None:
    child.expect_exact(prompt)
    child.send(answer + "\r")


def pick(child: pexpect.spawn, wanted: str, limit: int = 10) -> None:
    """Moves the menu's cursor down until `wanted` is marked, then Enter."""
    for _ in range(limit):
        i = child.expect([re.escape(f"> {wanted} "), r"> [^\r\n]+\r\n"])
        if i == 0:
            child.send("\r")
            return
        child.send(DOWN)
    pytest.fail(f"{wanted!r} never selected")


def v2_reference(tmp_path: Path, served, answers: dict, picks: list[str], token: str) -> tuple[str, dict]:
    """The config file v2's ConfigureSSOCommand writes for `answers` in a fresh home, and its
    report (questions asked, login arguments)."""
    home = tmp_path / "v2home"
    (home / ".aws").mkdir(parents=True)
    spec = tmp_path / "v2spec.json"
    spec.write_text(json.dumps({
        "answers": answers, "picks": picks, "access_token": token, "endpoint_url": served.sts_url,
    }))
    env = sso_env(served, home)
    r = subprocess.run([V2_PYTHON, str(V2_REFERENCE), str(spec)], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert report["rc"] == 0
    return (home / ".aws" / "config").read_text(), report


def use_profile(awsid_bin: Path, aws_bin: Path, env: dict[str, str], profile: str) -> None:
    """The aws CLI, boto3 and awsid all get the ReadOnly session of the developer account."""
    arn = caller_identity(aws_bin, env, "--profile", profile)["Arn"]
    assert ROLE_ARN.match(arn), arn
    code = (
        f"import boto3; print(boto3.Session(profile_name={profile!r}).client('sts')"
        ".get_caller_identity()['Arn'])"
    )
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout.strip()) == (0, arn), r.stderr
    r = subprocess.run([str(awsid_bin), "sts", "get-caller-identity", "--profile", profile, "--output", "json"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["Arn"] == arn


SESSION_CONFIG = """[profile user1]
sso_session = my-sso
sso_account_id = 111122223333
sso_role_name = ReadOnly
region = us-west-2
output = json
[sso-session my-sso]
sso_start_url = https://my-sso-portal.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access
"""


def test_seed_transcript_with_a_session(served, awsid_bin: Path, aws_bin: Path, home: Path, tmp_path: Path):
    browser = tmp_path / "browser.py"
    browser.write_text(BROWSER)
    env = sso_env(served, home, BROWSER=f"{sys.executable} {browser} %s")
    child = spawn(awsid_bin, env)
    type_answer(child, "SSO session name (Recommended): ", "my-sso")
    type_answer(child, "SSO start URL [None]: ", START_URL)
    type_answer(child, "SSO region [None]: ", "us-east-1")
    type_answer(child, "SSO registration scopes [sso:account:access]: ", "")
    child.expect_exact("Attempting to automatically open the SSO authorization page in your default browser.")
    child.expect_exact("There are 2 AWS accounts available to you.\r\n")
    # v2's menu: the cursor, the text padded to the widest entry, two spaces.
    child.expect_exact("> DeveloperAccount, developer-account-admin@example.com (111122223333)    \r\n")
    child.expect_exact("  ProductionAccount, production-account-admin@example.com (444455556666)  \r\n")
    child.send("\r")
    child.expect_exact("Using the account ID 111122223333\r\n")
    child.expect(r"There are \d roles available to you\.\r\n")
    pick(child, "ReadOnly")
    child.expect_exact('Using the role name "ReadOnly"\r\n')
    type_answer(child, "Default client Region [None]: ", "us-west-2")
    type_answer(child, "CLI default output format (json if not specified) [None]: ", "json")
    type_answer(child, "Profile name [ReadOnly-111122223333]: ", "user1")
    child.expect_exact(
        "To use this profile, specify the profile name using --profile, as shown:\r\n\r\n"
        "aws sts get-caller-identity --profile user1\r\n"
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    written = (home / ".aws" / "config").read_text()
    assert written == SESSION_CONFIG
    token = json.loads(token_file(home, SESSION_TOKEN_FILE).read_text())
    assert token["startUrl"] == START_URL and "refreshToken" in token
    assert token["accessToken"] not in child.logfile_read.text
    reference, report = v2_reference(
        tmp_path, served,
        {"SSO session name": "my-sso", "SSO start URL": START_URL, "SSO region": "us-east-1",
         "SSO registration scopes": "", "CLI default client Region": "us-west-2",
         "CLI default output format": "json", "CLI profile name": "user1"},
        [DEV_ACCOUNT, "ReadOnly"], token["accessToken"],
    )
    assert written.encode() == reference.encode(), "byte-identical with v2's file"
    assert report["login_args"] == {
        "sso_region": "us-east-1", "start_url": START_URL, "session_name": "my-sso",
        "registration_scopes": ["sso:account:access"], "force_refresh": True,
    }
    use_profile(awsid_bin, aws_bin, env, "user1")


LEGACY_CONFIG = """[profile user1]
sso_start_url = https://my-sso-portal.awsapps.com/start
sso_region = us-east-1
sso_account_id = 111122223333
sso_role_name = ReadOnly
region = us-west-2
output = json
"""


def test_seed_transcript_legacy(served, awsid_bin: Path, aws_bin: Path, home: Path, tmp_path: Path):
    env = sso_env(served, home, BROWSER="true")
    child = spawn(awsid_bin, env)
    type_answer(child, "SSO session name (Recommended): ", "")
    child.expect_exact(
        "\x1b[1mWARNING: Configuring using legacy format (e.g. without an SSO session).\r\n"
        'Consider re-running "configure sso" command and providing a session name.\r\n\x1b[0m'
    )
    type_answer(child, "SSO start URL [None]: ", START_URL)
    type_answer(child, "SSO region [None]: ", "us-east-1")
    child.expect(r"Then enter the code:\r\n\r\n([A-Z]{4}-[A-Z]{4})\r\n")
    code = child.match.group(1)
    page = request(served, "GET", f"/device?user_code={code}")
    assert page.status == 200 and SSO_USER in page.text
    r = request(served, "POST", "/device", {"user_code": code, "action": "approve", "user": SSO_USER})
    assert r.status == 200, r.text
    child.expect_exact("There are 2 AWS accounts available to you.\r\n")
    child.expect_exact("> DeveloperAccount")
    child.send("\r")
    child.expect_exact("Using the account ID 111122223333\r\n")
    pick(child, "ReadOnly")
    child.expect_exact('Using the role name "ReadOnly"\r\n')
    type_answer(child, "Default client Region [None]: ", "us-west-2")
    type_answer(child, "CLI default output format (json if not specified) [None]: ", "json")
    type_answer(child, "Profile name [ReadOnly-111122223333]: ", "user1")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    written = (home / ".aws" / "config").read_text()
    assert written == LEGACY_CONFIG
    token = json.loads(token_file(home, LEGACY_TOKEN_FILE).read_text())
    reference, report = v2_reference(
        tmp_path, served,
        {"SSO session name": "", "SSO start URL": START_URL, "SSO region": "us-east-1",
         "CLI default client Region": "us-west-2", "CLI default output format": "json",
         "CLI profile name": "user1"},
        [DEV_ACCOUNT, "ReadOnly"], token["accessToken"],
    )
    assert written.encode() == reference.encode(), "byte-identical with v2's file"
    assert report["login_args"] == {"start_url": START_URL, "sso_region": "us-east-1"}
    use_profile(awsid_bin, aws_bin, env, "user1")


def test_second_run_reuses_the_session_and_its_token(served, awsid_bin: Path, home: Path, tmp_path: Path):
    """An existing session is not asked about again; its fresh token is reused (no login)."""
    browser = tmp_path / "browser.py"
    browser.write_text(BROWSER)
    env = sso_env(served, home, BROWSER=f"{sys.executable} {browser} %s")
    flags = ["--sso-session", "my-sso", "--start-url", START_URL, "--sso-region", "us-east-1",
             "--scopes", "sso:account:access", "--account-id", DEV_ACCOUNT, "--role-name", "ReadOnly", "--default-region", "us-west-2",
             "--default-output", "json", "--profile", "user1"]
    r = subprocess.run([str(awsid_bin), "configure", "sso", *flags], env=env, capture_output=True,
                       text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert r.returncode == 0, r.stderr
    assert (home / ".aws" / "config").read_text() == SESSION_CONFIG
    # Unattended, second profile, same session: no login (the token has hours left).
    r = subprocess.run(
        [str(awsid_bin), "configure", "sso", "--sso-session", "my-sso", "--account-id", "444455556666",
         "--role-name", "FullAccess", "--default-region", "eu-west-1", "--default-output", "text",
         "--profile", "prod"],
        env=env | {"BROWSER": "false"}, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "Attempting" not in r.stdout
    assert r.stdout == (
        "Using the account ID 444455556666\nUsing the role name \"FullAccess\"\n"
        "To use this profile, specify the profile name using --profile, as shown:\n\n"
        "aws sts get-caller-identity --profile prod\n"
    )
    assert (home / ".aws" / "config").read_text() == SESSION_CONFIG + (
        "[profile prod]\nsso_session = my-sso\nsso_account_id = 444455556666\n"
        "sso_role_name = FullAccess\nregion = eu-west-1\noutput = text\n"
    )


def test_all_writes_every_account_and_role_and_keeps_existing(served, awsid_bin: Path, home: Path, tmp_path: Path):
    browser = tmp_path / "browser.py"
    browser.write_text(BROWSER)
    write_aws_files(home, config="[profile ReadOnly-111122223333]\nregion = ap-south-1\n")
    env = sso_env(served, home, BROWSER=f"{sys.executable} {browser} %s")
    r = subprocess.run(
        [str(awsid_bin), "configure", "sso", "--all", "--sso-session", "my-sso", "--start-url", START_URL,
         "--sso-region", "us-east-1", "--scopes", "sso:account:access", "--default-region", "us-west-2"],
        env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "Kept the existing profile ReadOnly-111122223333\n" in r.stdout
    assert r.stdout.endswith("5 profile(s) written, 1 existing profile(s) left alone.\n"), r.stdout
    text = (home / ".aws" / "config").read_text()
    assert text.startswith("[profile ReadOnly-111122223333]\nregion = ap-south-1\n")
    assert "[profile FullAccess-444455556666]\nsso_session = my-sso\nsso_account_id = 444455556666\n" \
           "sso_role_name = FullAccess\nregion = us-west-2\n" in text
    assert text.count("[profile ") == 6 and text.count("[sso-session my-sso]") == 1


def test_without_a_terminal_a_menu_needs_its_flag(served, awsid_bin: Path, home: Path, tmp_path: Path):
    browser = tmp_path / "browser.py"
    browser.write_text(BROWSER)
    env = sso_env(served, home, BROWSER=f"{sys.executable} {browser} %s")
    r = subprocess.run(
        [str(awsid_bin), "configure", "sso", "--sso-session", "my-sso", "--start-url", START_URL,
         "--sso-region", "us-east-1", "--scopes", ""],
        env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120,
    )
    assert r.returncode == 255
    assert "Choosing an AWS account needs a terminal (stdin and stdout); give it with --account-id" in r.stderr
    assert not (home / ".aws" / "config").exists(), "nothing written"
    # Piped answers still work for the questions (one line each).
    r = subprocess.run([str(awsid_bin), "configure", "sso"], env=env, capture_output=True, text=True,
                       input="my-sso\nnot a url\n", timeout=120)
    assert r.returncode == 255
    assert "Not a valid Start URL\n" in r.stdout
    assert 'No answer for "SSO start URL" (the input ended); give it with --start-url' in r.stderr


def test_configure_sso_session(awsid_bin: Path, home: Path, tmp_path: Path):
    env = clean_env(home)
    child = pexpect.spawn(str(awsid_bin), ["configure", "sso-session"], env=env, encoding="utf-8", timeout=30)
    type_answer(child, "SSO session name: ", "corp")
    type_answer(child, "SSO start URL [None]: ", "https://d-1234567890.awsapps.com/start")
    type_answer(child, "SSO region [None]: ", "eu-west-1")
    type_answer(child, "SSO registration scopes [sso:account:access]: ", "sso:account:access, codewhisperer:completions")
    child.expect_exact("\r\nCompleted configuring SSO session: corp\r\n"
                       "Run the following to login and refresh access token for this session:\r\n\r\n"
                       "aws sso login --sso-session corp\r\n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert (home / ".aws" / "config").read_text() == (
        "[sso-session corp]\nsso_start_url = https://d-1234567890.awsapps.com/start\n"
        "sso_region = eu-west-1\nsso_registration_scopes = sso:account:access, codewhisperer:completions\n"
    )
