"""`awsid sso status` and `awsid sso logout --sso-session S` (awsid's own, beyond v2): the
state of each session's cached token (expiry and refreshability only), and a logout of one
session that leaves the others logged in."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from serve_fixtures import served, write_aws_files  # noqa: F401
from test_sso_seed import SEED_SSO_CONFIG, SESSION_TOKEN_FILE, START_URL, device_login, sso_env, token_file

CONFIG = SEED_SSO_CONFIG + (
    "\n[sso-session other]\nsso_start_url = https://other.awsapps.com/start\nsso_region = eu-west-1\n"
    "\n[profile legacy]\nsso_start_url = https://legacy.awsapps.com/start\nsso_region = us-east-2\n"
    "sso_account_id = 111122223333\nsso_role_name = readOnly\n"
)


def awsid(awsid_bin: Path, env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(awsid_bin), *args], env=env, capture_output=True, text=True, timeout=60)


def test_status_then_logout_of_one_session(served, awsid_bin: Path, home: Path):
    write_aws_files(home, config=CONFIG)
    env = sso_env(served, home)
    r = awsid(awsid_bin, env, "sso", "status")
    assert r.returncode == 0, r.stderr
    assert r.stdout == (
        f"[sso-session my-sso] {START_URL} (us-east-1): not logged in\n"
        "[sso-session other] https://other.awsapps.com/start (eu-west-1): not logged in\n"
        "[legacy] https://legacy.awsapps.com/start (us-east-2): not logged in\n"
    )
    rc, _, err = device_login(awsid_bin, served, env, "user1")
    assert rc == 0, err
    # A role credential cached by awsid for a profile of the session.
    assert awsid(awsid_bin, env, "configure", "export-credentials", "--profile", "user1").returncode == 0
    cached = list((home / ".aws" / "cli" / "cache").glob("*.json"))
    assert len(cached) == 1
    r = awsid(awsid_bin, env, "sso", "status", "--output", "json")
    assert r.returncode == 0, r.stderr
    status = json.loads(r.stdout)
    mine = status[0]
    assert mine["sso_session"] == "my-sso" and mine["state"] == "valid" and mine["refreshable"] is True
    assert mine["token_file"] == str(token_file(home, SESSION_TOKEN_FILE))
    assert [s["state"] for s in status[1:]] == ["not-logged-in", "not-logged-in"]
    token = json.loads(token_file(home, SESSION_TOKEN_FILE).read_text())
    assert token["accessToken"] not in r.stdout and token["refreshToken"] not in r.stdout
    r = awsid(awsid_bin, env, "sso", "status")
    assert r.stdout.startswith(f"[sso-session my-sso] {START_URL} (us-east-1): logged in until "), r.stdout
    assert ", refreshable\n" in r.stdout

    r = awsid(awsid_bin, env, "sso", "logout", "--sso-session", "other")
    assert (r.returncode, r.stdout) == (0, "SSO session other was not logged in.\n")
    assert token_file(home, SESSION_TOKEN_FILE).exists()
    r = awsid(awsid_bin, env, "sso", "logout", "--sso-session", "my-sso")
    assert (r.returncode, r.stdout) == (0, "Logged out of SSO session my-sso (1 cached role credential(s) removed).\n")
    assert not token_file(home, SESSION_TOKEN_FILE).exists()
    assert not any(p.exists() for p in cached)
    r = awsid(awsid_bin, env, "sso", "logout", "--sso-session", "nope")
    assert r.returncode == 253
    assert 'The specified sso-session does not exist: "nope"' in r.stderr
