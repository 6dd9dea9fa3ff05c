"""`awsid serve`'s pages in a real browser: headless Chromium (Debian's, driven over the
DevTools pipe by chromium_cdp.py) opens the console sign-in URL `awsid console` prints and lands
on the console page as the right principal; a person's path through the IAM Identity Center
device-approval page (code → user → Approve → "Request approved"), through its authorization
page of the browser (PKCE) flow of `awsid sso login` (user → Approve → the redirect to awsid's
loopback listener, "Request processed") and through the AWS Sign-In authorization page of
`awsid login` (user → Allow → the redirect to awsid's listener) and of `awsid login --remote`
(user → Allow → the code to paste). Each step's
page text is checked and a screenshot is kept under target/test-screenshots/ (path printed).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from chromium_cdp import Chromium, png_size
from conftest import clean_env
from serve_fixtures import served, write_aws_files  # noqa: F401
from test_login import DEVELOPER, login_env
from test_sso_seed import SEED_SSO_CONFIG, SSO_USER, Login, sso_env

DEV_KEYS = (
    "[dev]\naws_access_key_id = AKIADEVELOPEREXAMPLE\n"
    "aws_secret_access_key = dEvElOpErSeCrEtKeY/ExAmPlEkEy0123456789a\n"
)
DEV_CONFIG = (
    "[profile dev]\nregion = us-east-1\n"
    "[profile devrole]\nregion = us-east-1\nrole_arn = arn:aws:iam::123456789012:role/developerrole\n"
    "source_profile = dev\n"
)


def console_url(awsid_bin: Path, env: dict[str, str], profile: str) -> str:
    r = subprocess.run([str(awsid_bin), "console", "--profile", profile], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    url = r.stdout.strip()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/federation\?Action=login&Issuer=awsid&Destination=\S+&SigninToken=\S+", url), url
    return url


def test_console_url_lands_as_the_right_principal(served, awsid_bin: Path, home: Path, tmp_path: Path):
    write_aws_files(home, config=DEV_CONFIG, credentials=DEV_KEYS)
    env = clean_env(home, AWS_ENDPOINT_URL_STS=served.sts_url, AWS_ENDPOINT_URL_SIGNIN=served.sts_url)
    user_url = console_url(awsid_bin, env, "dev")
    role_url = console_url(awsid_bin, env, "devrole")
    with Chromium(tmp_path / "user") as b:
        b.goto(user_url)
        assert b.url() == f"{served.sts_url}console"
        text = b.text()
        assert "arn:aws:sts::123456789012:federated-user/awsid-console" in text, text
        assert png_size(b.screenshot("console-federated-user"))[0] >= 800
        # The sign-in token is single-use: opening the URL again is refused.
        b.goto(user_url)
        assert "The sign-in token was already used" in b.text()
    with Chromium(tmp_path / "role") as b:
        b.goto(role_url)
        text = b.text()
        assert re.search(r"arn:aws:sts::123456789012:assumed-role/developerrole/\S+", text), text
        b.screenshot("console-role-session")


def test_device_approval_page_in_chromium(served, awsid_bin: Path, home: Path, tmp_path: Path):
    write_aws_files(home, config=SEED_SSO_CONFIG)
    env = sso_env(served, home)
    login = Login(awsid_bin, env, "--profile", "user1", "--use-device-code", "--no-browser")
    m = login.wait_for(r"Please visit the following URL:\n\n(\S+)\n\nThen enter the code:\n\n([A-Z]{4}-[A-Z]{4})\n")
    verification, code = m.group(1), m.group(2)
    with Chromium(tmp_path) as b:
        b.goto(verification)
        assert "Code" in b.text()
        b.screenshot("sso-device-code")
        b.js(f"document.querySelector('#user_code').value = {json.dumps(code)}")
        b.click("button[type=submit]")
        text = b.text()
        assert code in text and SSO_USER in text, text
        b.screenshot("sso-device-sign-in")
        b.js(f"document.querySelector('#user').value = {json.dumps(SSO_USER)}")
        b.click("button[value=approve]")
        text = b.text()
        assert "Request approved" in text and "Approved" in text, text
        b.screenshot("sso-device-approved")
    rc, out, err = login.finish()
    assert rc == 0, err
    assert out.endswith("Successfully logged into Start URL: https://my-sso-portal.awsapps.com/start\n")


def test_sso_authorization_page_in_chromium(served, awsid_bin: Path, home: Path, tmp_path: Path):
    """`awsid sso login` (the PKCE browser flow, v2's default): the printed authorization URL
    opened in Chromium, a user chosen, Approve; Chromium follows the redirect to awsid's loopback
    listener, which finishes the login."""
    write_aws_files(home, config=SEED_SSO_CONFIG)
    env = sso_env(served, home)
    login = Login(awsid_bin, env, "--profile", "user1", "--no-browser")
    m = login.wait_for(r"\ABrowser will not be automatically opened\.\nPlease visit the following URL:\n\n(\S+)\n")
    with Chromium(tmp_path) as b:
        b.goto(m.group(1))
        text = b.text()
        assert "Allow access" in text and "https://my-sso-portal.awsapps.com/start" in text, text
        assert "sso:account:access" in text, text
        b.screenshot("sso-authorize")
        b.js(f"document.querySelector('#user').value = {json.dumps(SSO_USER)}")
        b.click("button[value=approve]")
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/oauth/callback\?code=\S+&state=\S+", b.url()), b.url()
        assert "Request processed" in b.text(), b.text()
        b.screenshot("sso-authorize-redirected")
    rc, out, err = login.finish()
    assert rc == 0, err
    assert out.endswith("Successfully logged into Start URL: https://my-sso-portal.awsapps.com/start\n")
    r = subprocess.run([str(awsid_bin), "sts", "get-caller-identity", "--profile", "user1", "--output", "json"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["Arn"].startswith("arn:aws:sts::444455556666:assumed-role/AWSReservedSSO_readOnly_"), r.stdout


def test_login_browser_flow_in_chromium(served, awsid_bin: Path, home: Path, tmp_path: Path):
    """`awsid login` on this computer: the authorization URL it prints (its browser command does
    nothing here) opened in Chromium, the user chosen, Allow; Chromium follows the redirect to
    awsid's loopback listener, which finishes the login."""
    env = login_env(served, home, BROWSER="true")
    proc = subprocess.Popen([str(awsid_bin), "login", "--profile", "dev", "--region", "us-east-1"], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = ""
    while "/v1/authorize?" not in url:
        url = proc.stdout.readline()
        assert url, proc.stderr.read()
    with Chromium(tmp_path) as b:
        b.goto(url.strip())
        text = b.text()
        assert "AWS CLI" in text and "on this computer" in text, text
        b.screenshot("signin-authorize-same-device")
        b.js(f"document.querySelector('#user').value = {json.dumps(DEVELOPER)}")
        b.click("button[value=approve]")
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/oauth/callback\?code=\S+&state=\S+", b.url()), b.url()
        b.screenshot("signin-authorize-redirected")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"Updated profile dev to use {DEVELOPER} credentials.\n" in out, out
    r = subprocess.run([str(awsid_bin), "sts", "get-caller-identity", "--profile", "dev", "--output", "json"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["Arn"] == DEVELOPER


def test_login_authorization_page_in_chromium(served, awsid_bin: Path, home: Path, tmp_path: Path):
    env = login_env(served, home)
    proc = subprocess.Popen([str(awsid_bin), "login", "--remote"], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = ""
    while "/v1/authorize?" not in url:
        url = proc.stdout.readline()
        assert url, proc.stderr.read()
    with Chromium(tmp_path) as b:
        b.goto(url.strip())
        text = b.text()
        assert "AWS CLI" in text and "on another device" in text, text
        b.screenshot("signin-authorize")
        b.js(f"document.querySelector('#user').value = {json.dumps(DEVELOPER)}")
        b.click("button[value=approve]")
        text = b.text()
        assert "Approved" in text and "aws login --remote" in text, text
        b.screenshot("signin-confirmation")
        code = b.js("document.querySelector('#verification-code').innerText")
    out, err = proc.communicate(code + "\n", timeout=60)
    assert proc.returncode == 0, err
    assert out.endswith(f"Updated profile default to use {DEVELOPER} credentials.\n")
    r = subprocess.run([str(awsid_bin), "sts", "get-caller-identity", "--output", "json"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["Arn"] == DEVELOPER


def test_console_fault_controls_in_chromium(served, tmp_path: Path):
    """The console's fault controls as a person uses them: the IAM row's form (error rate 1,
    throttling) → Set → back on the page with the fault in force; an IAM call is throttled;
    Clear → the fault is gone. Every change and the injected fault are in the decisions."""
    import urllib.error
    import urllib.request

    base = served.sts_url
    iam = "form:has(input[name=target][value=iam])"

    def iam_status() -> int:
        req = urllib.request.Request(base, data=b"Action=ListRoles&Version=2010-05-08",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status
        except urllib.error.HTTPError as e:
            body = e.read().decode()
            return e.code if e.code != 400 or "<Code>Throttling</Code>" in body else -1

    try:
        with Chromium(tmp_path) as b:
            b.goto(f"{base}console/world")
            assert "Faults (the switchboard; off unless set)" in b.text()
            b.js(f"document.querySelector({json.dumps(iam + ' input[name=error_rate]')}).value = '1';"
                 f"document.querySelector({json.dumps(iam + ' select[name=error]')}).value = 'throttling'")
            b.click(f"{iam} button[value=set]")
            assert b.url() == f"{base}console/world#faults"
            row = b.js(f"document.querySelector({json.dumps(iam)}).closest('tr').innerText")
            assert '"error":"throttling"' in row and '"error_rate":1.0' in row, row
            b.screenshot("console-faults-set")
            assert iam_status() == 400
            b.goto(f"{base}console/world")
            row = b.js(f"document.querySelector({json.dumps(iam)}).closest('tr').innerText")
            assert "throttled 1" in row, row
            log = b.js("document.querySelector('#log').innerText")
            assert "fault:throttling" in log and "faults:set" in log, log
            b.click(f"{iam} button[value=clear]")
            row = b.js(f"document.querySelector({json.dumps(iam)}).closest('tr').innerText")
            assert row.split("\t")[1].strip() == "none", row
            b.screenshot("console-faults-cleared")
        assert iam_status() == 403, "unsigned: IAM's own answer again"
    finally:
        urllib.request.urlopen(urllib.request.Request(f"{base}awsid/faults", method="DELETE"),
                               timeout=30).read()
