"""`awsid login` end to end against `awsid serve`'s AWS Sign-In (default world, user
`developer`): the browser flow (a test "browser" signs in on the authorization page and follows
the redirect to awsid's loopback listener) and `--remote` (the code shown on the confirmation
page typed back). Then botocore's own `login` provider (botocore 1.43.11: the aws CLI v1 and
boto3) and awsid resolve the profile from the token file awsid wrote; 32 processes refreshing
one login session at once make one CreateOAuth2Token and all get the new credentials; `logout`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

from conftest import clean_env
from serve_fixtures import caller_identity, served  # noqa: F401
from storm import HANG_SECONDS, Gate, calls, delta
from test_sso_seed import request

DEVELOPER = "arn:aws:iam::123456789012:user/developer"
PROCESSES = 32
ROUNDS = 5

# Signs in as the developer on the authorization page, then follows the redirect.
BROWSER = f"""
import http.client, sys, urllib.parse
url = urllib.parse.urlsplit(sys.argv[1])
def call(netloc, method, target, body=None):
    c = http.client.HTTPConnection(netloc, timeout=10)
    c.request(method, target, body=body,
              headers={{"Content-Type": "application/x-www-form-urlencoded"}} if body else {{}})
    r = c.getresponse(); r.read(); c.close(); return r
page = call(url.netloc, "GET", url.path + "?" + url.query)
assert page.status == 200, page.status
form = url.query + "&" + urllib.parse.urlencode({{"action": "approve", "user": "{DEVELOPER}"}})
r = call(url.netloc, "POST", url.path, form)
assert r.status in (302, 303), r.status
loc = urllib.parse.urlsplit(r.getheader("Location"))
call(loc.netloc, "GET", loc.path + "?" + loc.query)
"""


def login_env(served, home: Path, **extra: str) -> dict[str, str]:
    return clean_env(
        home,
        AWS_ENDPOINT_URL_STS=served.sts_url,
        AWS_ENDPOINT_URL_SIGNIN=served.sts_url,
        **({"AWS_DEFAULT_REGION": "us-east-1"} | extra),
    )


def token_path(home: Path, session: str) -> Path:
    return home / ".aws" / "login" / "cache" / (hashlib.sha256(session.encode()).hexdigest() + ".json")


def browser_login(awsid_bin: Path, served, home: Path, tmp_path: Path, profile: str = "dev") -> subprocess.CompletedProcess:
    script = tmp_path / "browser.py"
    script.write_text(BROWSER)
    env = login_env(served, home, BROWSER=f"{sys.executable} {script} %s")
    return subprocess.run(
        [str(awsid_bin), "login", "--profile", profile, "--region", "us-east-1"],
        env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120,
    )


def resolves_everywhere(awsid_bin: Path, aws_bin: Path, env: dict[str, str], profile: str) -> str:
    """botocore (aws CLI v1, boto3) and awsid get the developer's identity; returns the key id."""
    assert caller_identity(aws_bin, env, "--profile", profile)["Arn"] == DEVELOPER
    code = (
        "import boto3; s = boto3.Session(profile_name=%r); "
        "print(s.client('sts').get_caller_identity()['Arn'], s.get_credentials().method)" % profile
    )
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [DEVELOPER, "login"]
    r = subprocess.run([str(awsid_bin), "sts", "get-caller-identity", "--profile", profile, "--output", "json"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["Arn"] == DEVELOPER
    r = subprocess.run([str(awsid_bin), "configure", "export-credentials", "--profile", profile, "--format", "process"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["AccessKeyId"]


def test_browser_login_then_botocore_and_awsid(served, awsid_bin: Path, aws_bin: Path, home: Path, tmp_path: Path):
    r = browser_login(awsid_bin, served, home, tmp_path)
    assert r.returncode == 0, r.stderr
    m = re.fullmatch(
        r"Attempting to open your default browser\. If the browser does not open, open the following URL\.\n"
        r"If you are unable to open the URL on this device, run this command again with the '--remote' option\.\n\n"
        r"(http://\S+/v1/authorize\?\S+)\n\n\n"
        rf"Updated profile dev to use {re.escape(DEVELOPER)} credentials\.\n"
        r'Use "--profile dev" to use the new credentials, such as "aws sts get-caller-identity --profile dev"\n',
        r.stdout,
    )
    assert m, r.stdout
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(m.group(1)).query)
    assert q["client_id"] == ["arn:aws:signin:::devtools/same-device"]
    assert q["code_challenge_method"] == ["SHA-256"] and q["scope"] == ["openid"]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/oauth/callback", q["redirect_uri"][0])
    assert (home / ".aws" / "config").read_text() == f"[profile dev]\nlogin_session = {DEVELOPER}\n"
    path = token_path(home, DEVELOPER)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    token = json.loads(path.read_text())
    assert list(token) == ["accessToken", "tokenType", "clientId", "refreshToken", "idToken", "dpopKey"]
    assert list(token["accessToken"]) == ["accessKeyId", "secretAccessKey", "sessionToken", "accountId", "expiresAt"]
    assert token["accessToken"]["accountId"] == "123456789012"
    assert token["dpopKey"].startswith("-----BEGIN EC PRIVATE KEY-----\n")
    for secret in (token["accessToken"]["secretAccessKey"], token["refreshToken"], token["dpopKey"]):
        assert secret not in r.stdout + r.stderr
    env = login_env(served, home)
    resolves_everywhere(awsid_bin, aws_bin, env, "dev")

    # Logout removes the profile's token; the chain then reports v2's error.
    r = subprocess.run([str(awsid_bin), "logout", "--profile", "dev"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Removed cached login credentials for profile 'dev'.")
    assert not path.exists()
    r = subprocess.run([str(awsid_bin), "sts", "get-caller-identity", "--profile", "dev"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "Please reauthenticate with 'aws login'" in r.stderr
    r = subprocess.run([str(awsid_bin), "logout", "--all"], env=env, capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout) == (0, "No cached login session tokens found.\n")


def test_remote_login_with_the_pasted_code(served, awsid_bin: Path, aws_bin: Path, home: Path):
    env = login_env(served, home)
    proc = subprocess.Popen([str(awsid_bin), "login", "--remote"], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    while True:
        line = proc.stdout.readline()
        assert line, f"no URL printed: {lines!r} {proc.stderr.read()!r}"
        lines.append(line)
        if "/v1/authorize?" in line:
            break
    assert "".join(lines) == f"Browser will not be automatically opened.\nPlease visit the following URL:\n\n{line}"
    url = urllib.parse.urlsplit(line.strip())
    q = urllib.parse.parse_qs(url.query)
    assert q["client_id"] == ["arn:aws:signin:::devtools/cross-device"]
    assert q["redirect_uri"] == [f"{served.sts_url}v1/sessions/confirmation"]
    r = request(served, "POST", "/v1/authorize", dict(urllib.parse.parse_qsl(url.query)) | {"action": "approve", "user": DEVELOPER})
    assert r.status in (302, 303), r.text
    loc = urllib.parse.urlsplit(r.getheader("Location"))
    page = request(served, "GET", f"{loc.path}?{loc.query}")
    assert page.status == 200
    code = html.unescape(re.search(r'id="verification-code">([^<]+)<', page.text).group(1))
    # Not communicate(): it reads the pipe's descriptor and would miss what readline() above
    # already buffered (the prompt, when it arrives together with the URL).
    proc.stdin.write(code + "\n")
    proc.stdin.close()
    out = proc.stdout.read()
    err = proc.stderr.read()
    proc.wait(timeout=60)
    assert proc.returncode == 0, err
    assert out == (
        "\nEnter the authorization code displayed in your browser: \n"
        f"Updated profile default to use {DEVELOPER} credentials.\n"
    )
    assert (home / ".aws" / "config").read_text() == f"[default]\nlogin_session = {DEVELOPER}\n"
    resolves_everywhere(awsid_bin, aws_bin, env, "default")


def test_a_profile_with_other_credentials_is_refused(served, awsid_bin: Path, home: Path):
    (home / ".aws").mkdir(exist_ok=True)
    (home / ".aws" / "config").write_text("[profile keys]\naws_access_key_id = AKIDEXAMPLE\n")
    r = subprocess.run([str(awsid_bin), "login", "--profile", "keys", "--region", "us-east-1"],
                       env=login_env(served, home), capture_output=True, text=True, timeout=60)
    assert r.returncode == 253
    assert "Profile 'keys' is already configured with Access Key credentials." in r.stderr


def test_32_processes_refreshing_one_login_session_lose_none(served, awsid_bin: Path, aws_bin: Path, home: Path, tmp_path: Path):
    """The service rotates refresh tokens (each is single-use): without the single flight, all
    but one of the refreshers would be refused and the session lost."""
    r = browser_login(awsid_bin, served, home, tmp_path)
    assert r.returncode == 0, r.stderr
    env = login_env(served, home)
    path = token_path(home, DEVELOPER)
    for round_ in range(ROUNDS):
        token = json.loads(path.read_text())
        soon = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        token["accessToken"]["expiresAt"] = soon
        path.write_text(json.dumps(token))
        for entry in (home / ".aws" / "cli" / "cache").glob("*.json"):
            entry.unlink()
        gate = Gate(tmp_path / f"gate-{round_}")
        procs = [gate.start([str(awsid_bin), "credential-process", "--profile", "dev"], env) for _ in range(PROCESSES)]
        before = calls(served.api)
        gate.open()
        keys = set()
        for p in procs:
            out, err = p.communicate(timeout=HANG_SECONDS)
            assert p.returncode == 0, f"round {round_}: {err}"
            keys.add(json.loads(out)["AccessKeyId"])
        made = delta(before, calls(served.api))
        refreshes = {k: v for k, v in made.items() if k[1] == "CreateOAuth2Token"}
        assert list(refreshes.values()) == [1], f"round {round_}: {made}"
        after = json.loads(path.read_text())
        assert after["refreshToken"] != token["refreshToken"], "rotated"
        assert after["dpopKey"] == token["dpopKey"], "the session keeps its key"
        assert keys == {after["accessToken"]["accessKeyId"]}, keys
    # botocore reads the refreshed session too.
    assert caller_identity(aws_bin, env, "--profile", "dev")["Arn"] == DEVELOPER
