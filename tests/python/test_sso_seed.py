"""Seed 004's IAM Identity Center examples, end to end: `awsid serve` (default world) is the
portal, SSO-OIDC and STS; `awsid sso login` logs in (device code approved on the server's
verification page, or the browser flow driven by a test "browser"); then the unmodified aws CLI
(awscli 1.45.11 / botocore 1.43.11), boto3 and awsid itself use the cached token.

The config files are the seed's, verbatim (one key per line; the seed page shows them run
together). The reference for `sso login` itself is v2 (not installed): its texts are checked
here, its token file is read by botocore v1.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from serve_fixtures import (
    caller_identity,
    run_aws,
    served,  # noqa: F401  (fixture)
    write_aws_files,
)
from conftest import clean_env

START_URL = "https://my-sso-portal.awsapps.com/start"
SSO_USER = "sso-user@example.com"
DEV_ACCOUNT = "111122223333"
PROD_ACCOUNT = "444455556666"
SESSION_TOKEN_FILE = "0ad374308c5a4e22f723adf10145eafad7c4031c.json"  # sha1("my-sso")
LEGACY_TOKEN_FILE = "c7aaaf71fcc8777ae2475525ed049d39fe16c484.json"  # sha1(START_URL)

# Seed 004, "IAM Identity Center (SSO)", config file.
SEED_SSO_CONFIG = """[default]
sso_session = my-sso
sso_account_id = 111122223333
sso_role_name = readOnly
region = us-west-2
output = text

[profile user1]
sso_session = my-sso
sso_account_id = 444455556666
sso_role_name = readOnly
region = us-east-1
output = json

[sso-session my-sso]
sso_region = us-east-1
sso_start_url = https://my-sso-portal.awsapps.com/start
sso_registration_scopes = sso:account:access
"""

# Seed 004, "IAM Identity Center (Legacy SSO)", config file.
SEED_LEGACY_CONFIG = """[default]
sso_start_url = https://my-sso-portal.awsapps.com/start
sso_region = us-east-1
sso_account_id = 111122223333
sso_role_name = readOnly
region = us-west-2
output = text

[profile user1]
sso_start_url = https://my-sso-portal.awsapps.com/start
sso_region = us-east-1
sso_account_id = 444455556666
sso_role_name = readOnly
region = us-east-1
output = json
"""

ROLE_ARN = re.compile(
    r"^arn:aws:sts::(\d{12}):assumed-role/AWSReservedSSO_readOnly_([0-9a-f]{16})/"
    + re.escape(SSO_USER)
    + "$"
)


def sso_env(served, home: Path, **extra: str) -> dict[str, str]:
    """The client environment: STS, the portal and OIDC are all the server."""
    url = served.sts_url
    return clean_env(
        home,
        AWS_ENDPOINT_URL_STS=url,
        AWS_ENDPOINT_URL_SSO=url,
        AWS_ENDPOINT_URL_SSO_OIDC=url,
        **extra,
    )


def request(served, method: str, target: str, form: dict | None = None) -> http.client.HTTPResponse:
    """One request to the server's API listener (no redirects followed, no proxy)."""
    host, port = served.api.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    body = urllib.parse.urlencode(form) if form is not None else None
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if form is not None else {}
    conn.request(method, target, body=body, headers=headers)
    resp = conn.getresponse()
    resp.text = resp.read().decode()
    conn.close()
    return resp


class Login:
    """`awsid sso login …` running in the background; its stdout is collected line by line."""

    def __init__(self, awsid_bin: Path, env: dict[str, str], *args: str):
        self.proc = subprocess.Popen(
            [str(awsid_bin), "sso", "login", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_for(self, pattern: str, timeout: float = 30) -> re.Match:
        """The first match of `pattern` in the output so far (waits for it)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                m = re.search(pattern, "".join(self.lines), re.M)
                if m:
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    self.proc.kill()
                    pytest.fail(
                        f"no {pattern!r} in the output of sso login: {''.join(self.lines)!r} "
                        f"stderr: {self.proc.stderr.read() if self.proc.poll() is not None else ''}",
                        pytrace=False,
                    )
                self._cond.wait(min(left, 0.5))

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail(f"sso login did not finish: {''.join(self.lines)!r}", pytrace=False)
        self._reader.join(5)
        return rc, "".join(self.lines), self.proc.stderr.read()


def device_login(awsid_bin: Path, served, env: dict[str, str], profile: str, action: str = "approve"):
    """`awsid sso login --profile P --use-device-code --no-browser`, approved (or denied) on the
    verification page's form; returns (exit status, stdout, stderr)."""
    login = Login(awsid_bin, env, "--profile", profile, "--use-device-code", "--no-browser")
    m = login.wait_for(
        r"\A(Browser will not be automatically opened\.\nPlease visit the following URL:\n\n"
        r"(http://[^\n]+/device)\n\nThen enter the code:\n\n([A-Z]{4}-[A-Z]{4})\n\n"
        r"Alternatively, you may visit the following URL which will autofill the code upon loading:\n"
        r"(\S+)\n)"
    )
    uri, code, complete = m.group(2), m.group(3), m.group(4)
    assert uri == f"{served.sts_url}device"
    assert complete == f"{uri}?user_code={code}"
    page = request(served, "GET", f"/device?user_code={code}")
    assert page.status == 200 and SSO_USER in page.text
    r = request(served, "POST", "/device", {"user_code": code, "action": action, "user": SSO_USER})
    assert r.status == 200, r.text
    return login.finish()


def token_file(home: Path, name: str) -> Path:
    return home / ".aws" / "sso" / "cache" / name


def assert_sso_arn(arn: str, account: str) -> str:
    m = ROLE_ARN.match(arn)
    assert m, arn
    assert m.group(1) == account
    return m.group(2)


# ---------------------------------------------------------------- sso-session shape


def test_seed_sso_session_device_login_then_aws_cli(served, awsid_bin: Path, aws_bin: Path, home: Path):
    write_aws_files(home, config=SEED_SSO_CONFIG)
    env = sso_env(served, home)
    rc, out, err = device_login(awsid_bin, served, env, "user1")
    assert rc == 0, err
    assert out.endswith(f"\nSuccessfully logged into Start URL: {START_URL}\n"), out
    assert err == ""
    # The token file: v2's name and field order, mode 0600, no secrets on the terminal.
    path = token_file(home, SESSION_TOKEN_FILE)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    token = json.loads(path.read_text())
    assert list(token) == [
        "startUrl", "region", "accessToken", "expiresAt", "clientId", "clientSecret",
        "registrationExpiresAt", "refreshToken",
    ]
    assert token["startUrl"] == START_URL and token["region"] == "us-east-1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", token["expiresAt"])
    for secret in (token["accessToken"], token["clientSecret"], token["refreshToken"]):
        assert secret not in out
    # The registration is cached under v2's key.
    reg = json.loads(token_file(home, "c5cfae6e3e4f067423a532368c8b514b6a4b0ace.json").read_text())
    assert list(reg) == ["clientId", "clientSecret", "expiresAt", "scopes"]
    assert reg["scopes"] == ["sso:account:access"]

    # The unmodified aws CLI reads the token and gets the reserved role's session.
    user1 = caller_identity(aws_bin, env, "--profile", "user1")
    suffix = assert_sso_arn(user1["Arn"], PROD_ACCOUNT)
    assert user1["Account"] == PROD_ACCOUNT
    default = caller_identity(aws_bin, env, "--profile", "default")
    assert assert_sso_arn(default["Arn"], DEV_ACCOUNT) == suffix, "one suffix per permission set"
    # The profile's own output format (text) works too.
    r = run_aws(aws_bin, env, "sts", "get-caller-identity")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[:2] == [DEV_ACCOUNT, default["Arn"]]

    # boto3, in a child with the same environment.
    code = (
        "import boto3, json; "
        "print(json.dumps([boto3.Session(profile_name=p).client('sts').get_caller_identity()['Arn'] "
        "for p in ('user1', 'default')]))"
    )
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [user1["Arn"], default["Arn"]]

    # awsid itself: export-credentials and sts get-caller-identity.
    r = subprocess.run(
        [str(awsid_bin), "configure", "export-credentials", "--profile", "user1", "--format", "process"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert r.returncode == 0, r.stderr
    creds = json.loads(r.stdout)
    assert creds["Version"] == 1 and creds["AccessKeyId"].startswith("ASIA")
    r = subprocess.run(
        [str(awsid_bin), "sts", "get-caller-identity", "--profile", "user1"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["Arn"] == user1["Arn"]


def test_seed_sso_session_browser_flow(served, awsid_bin: Path, aws_bin: Path, home: Path, tmp_path: Path):
    """The default flow for an sso-session: PKCE, with a test "browser" ($BROWSER) that follows
    the authorize page and its redirect to awsid's loopback listener."""
    write_aws_files(home, config=SEED_SSO_CONFIG)
    browser = tmp_path / "browser.py"
    browser.write_text(
        f"""
import http.client, sys, urllib.parse
url = urllib.parse.urlsplit(sys.argv[1])
def call(netloc, method, target, body=None):
    c = http.client.HTTPConnection(netloc, timeout=10)
    c.request(method, target, body=body,
              headers={{"Content-Type": "application/x-www-form-urlencoded"}} if body else {{}})
    r = c.getresponse(); r.read(); c.close(); return r
page = call(url.netloc, "GET", url.path + "?" + url.query)
assert page.status == 200, page.status
form = url.query + "&" + urllib.parse.urlencode({{"action": "approve", "user": "{SSO_USER}"}})
r = call(url.netloc, "POST", "/authorize", form)
assert r.status == 302, r.status
loc = urllib.parse.urlsplit(r.getheader("Location"))
open(sys.argv[2], "w").write(loc.geturl())
call(loc.netloc, "GET", loc.path + "?" + loc.query)
"""
    )
    seen = tmp_path / "redirect.txt"
    env = sso_env(served, home, BROWSER=f"{sys.executable} {browser} %s {seen}")
    login = Login(awsid_bin, env)
    m = login.wait_for(
        r"\AAttempting to automatically open the SSO authorization page in your default browser\.\n"
        r"If the browser does not open or you wish to use a different device to authorize this request, "
        r"open the following URL:\n\n(\S+)\n"
    )
    authorize = urllib.parse.urlsplit(m.group(1))
    assert f"{authorize.scheme}://{authorize.netloc}/" == served.sts_url
    q = urllib.parse.parse_qs(authorize.query)
    assert q["response_type"] == ["code"] and q["code_challenge_method"] == ["S256"]
    assert q["scopes"] == ["sso:account:access"]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/oauth/callback", q["redirect_uri"][0])
    rc, out, err = login.finish()
    assert rc == 0, err
    assert out.endswith(f"Successfully logged into Start URL: {START_URL}\n")
    redirect = urllib.parse.urlsplit(seen.read_text())
    assert urllib.parse.parse_qs(redirect.query)["state"] == q["state"]
    assert_sso_arn(caller_identity(aws_bin, env, "--profile", "user1")["Arn"], PROD_ACCOUNT)


def test_manual_browser_flow_with_no_browser(served, awsid_bin: Path, home: Path):
    """--no-browser prints the authorize URL; a denial ends the login with v2's error."""
    write_aws_files(home, config=SEED_SSO_CONFIG)
    env = sso_env(served, home)
    login = Login(awsid_bin, env, "--no-browser")
    m = login.wait_for(r"\ABrowser will not be automatically opened\.\nPlease visit the following URL:\n\n(\S+)\n")
    url = urllib.parse.urlsplit(m.group(1))
    r = request(served, "POST", "/authorize", dict(urllib.parse.parse_qsl(url.query)) | {"action": "deny"})
    assert r.status == 302
    loc = urllib.parse.urlsplit(r.getheader("Location"))
    host, port = loc.netloc.split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    c.request("GET", f"{loc.path}?{loc.query}")
    assert c.getresponse().status == 200
    rc, out, err = login.finish()
    assert rc == 255
    assert err == "\nawsid: [ERROR]: Error loading authorization code: Failed to retrieve an authorization code.\n"


def test_botocore_refreshes_a_token_close_to_expiry(served, awsid_bin: Path, aws_bin: Path, home: Path):
    write_aws_files(home, config=SEED_SSO_CONFIG)
    env = sso_env(served, home)
    rc, _, err = device_login(awsid_bin, served, env, "user1")
    assert rc == 0, err
    path = token_file(home, SESSION_TOKEN_FILE)
    before = json.loads(path.read_text())
    soon = (datetime.now(timezone.utc) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    path.write_text(json.dumps(before | {"expiresAt": soon}))
    # botocore's SSO token provider refreshes (CreateToken, refresh_token grant) at < 15 min.
    assert_sso_arn(caller_identity(aws_bin, env, "--profile", "user1")["Arn"], PROD_ACCOUNT)
    after = json.loads(path.read_text())
    assert after["accessToken"] != before["accessToken"]
    assert after["refreshToken"] != before["refreshToken"], "the server rotates refresh tokens"
    assert after["expiresAt"] > soon
    assert after["clientId"] == before["clientId"]
    # The old refresh token is spent: refreshing from it again is refused.
    host, port = served.api.rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    c.request(
        "POST",
        "/token",
        body=json.dumps({"grantType": "refresh_token", "clientId": before["clientId"],
                         "clientSecret": before["clientSecret"], "refreshToken": before["refreshToken"]}),
        headers={"Content-Type": "application/json"},
    )
    r = c.getresponse()
    assert r.status == 400
    assert r.getheader("x-amzn-ErrorType").startswith("InvalidGrantException:")


# ---------------------------------------------------------------- legacy shape


def test_seed_legacy_device_login_then_aws_cli(served, awsid_bin: Path, aws_bin: Path, home: Path):
    write_aws_files(home, config=SEED_LEGACY_CONFIG)
    env = sso_env(served, home)
    # A legacy profile always uses the device flow (no --use-device-code needed).
    login = Login(awsid_bin, env, "--profile", "user1", "--no-browser")
    m = login.wait_for(r"Then enter the code:\n\n([A-Z]{4}-[A-Z]{4})\n")
    r = request(served, "POST", "/device", {"user_code": m.group(1), "action": "approve", "user": SSO_USER})
    assert r.status == 200
    rc, out, err = login.finish()
    assert rc == 0, err
    token = json.loads(token_file(home, LEGACY_TOKEN_FILE).read_text())
    assert "refreshToken" not in token, "legacy logins are not refreshable"
    assert_sso_arn(caller_identity(aws_bin, env, "--profile", "user1")["Arn"], PROD_ACCOUNT)
    assert_sso_arn(caller_identity(aws_bin, env, "--profile", "default")["Arn"], DEV_ACCOUNT)
    code = (
        "import boto3; "
        "print(boto3.Session(profile_name='default').client('sts').get_caller_identity()['Account'])"
    )
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout.strip()) == (0, DEV_ACCOUNT), r.stderr
    r = subprocess.run(
        [str(awsid_bin), "sts", "get-caller-identity", "--profile", "default", "--output", "json"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert_sso_arn(json.loads(r.stdout)["Arn"], DEV_ACCOUNT)


def test_logout_then_the_session_is_gone(served, awsid_bin: Path, aws_bin: Path, home: Path):
    write_aws_files(home, config=SEED_SSO_CONFIG)
    env = sso_env(served, home)
    rc, _, err = device_login(awsid_bin, served, env, "user1")
    assert rc == 0, err
    path = token_file(home, SESSION_TOKEN_FILE)
    copy = path.read_text()
    assert caller_identity(aws_bin, env, "--profile", "user1")
    r = subprocess.run([str(awsid_bin), "sso", "logout"], env=env, capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert not path.exists()
    # The registration stays (v2 sweeps only files holding an accessToken).
    assert token_file(home, "c5cfae6e3e4f067423a532368c8b514b6a4b0ace.json").exists()
    r = run_aws(aws_bin, env, "sts", "get-caller-identity", "--profile", "user1")
    assert r.returncode == 255
    assert "Error loading SSO Token: Token for my-sso does not exist" in r.stderr
    # A copy of the logged-out token is dead at the portal: the SSO session has expired.
    path.write_text(copy)
    r = run_aws(aws_bin, env, "sts", "get-caller-identity", "--profile", "user1")
    assert r.returncode == 255
    assert (
        "The SSO session associated with this profile has expired or is otherwise invalid. "
        "To refresh this SSO session run aws sso login with the corresponding profile."
    ) in r.stderr, r.stderr
    r = subprocess.run(
        [str(awsid_bin), "sts", "get-caller-identity", "--profile", "user1"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert r.returncode == 255
    assert "The SSO session associated with this profile has expired or is otherwise invalid." in r.stderr


def test_denied_device_login_and_configuration_errors(served, awsid_bin: Path, home: Path):
    write_aws_files(home, config=SEED_SSO_CONFIG + "\n[profile plain]\nregion = us-east-1\n")
    env = sso_env(served, home)
    rc, out, err = device_login(awsid_bin, served, env, "user1", action="deny")
    assert rc == 254
    assert err.startswith("\nawsid: [ERROR]: An error occurred (AccessDeniedException) when calling the CreateToken operation")
    r = subprocess.run(
        [str(awsid_bin), "sso", "login", "--profile", "plain"], env=env, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 253
    assert r.stderr == (
        "\nawsid: [ERROR]: An error occurred (Configuration): Missing the following required SSO configuration values: sso_start_url, sso_region. "
        "To make sure this profile is properly configured to use SSO, please run: aws configure sso --profile plain\n"
    )
    r = subprocess.run(
        [str(awsid_bin), "sso", "login", "--sso-session", "nope"], env=env, capture_output=True, text=True, timeout=60
    )
    assert (r.returncode, r.stderr) == (253, '\nawsid: [ERROR]: An error occurred (Configuration): The specified sso-session does not exist: "nope"\n')


def test_serve_prints_the_sso_exports(served):
    assert f"export AWS_ENDPOINT_URL_SSO={served.sts_url}\n" in served.stdout_text
    assert f"export AWS_ENDPOINT_URL_SSO_OIDC={served.sts_url}\n" in served.stdout_text
