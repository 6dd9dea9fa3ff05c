"""One refresh per machine: refresh storms against `awsid serve`, counted at the server.

32 `awsid credential-process` processes start at the same instant (behind a `flock` gate,
released once the kernel lists all 32 as waiting) and every test counts the calls the storm
caused (`GET /metrics`), never times. Each storm is repeated 20 times.

* a two-hop role profile (user1 -> marketingadminrole -> defaultrole) from an empty cache:
  exactly one AssumeRole per hop; the same with both cached entries near expiry;
* one SSO token (sso-session, access token expired, refresh token valid) needed by 32
  processes over four roles: exactly one CreateToken (the server rotates refresh tokens, so a
  second refresh with the same one would fail), one GetRoleCredentials per role, every process
  gets credentials and the token file ends valid (the server takes its access token);
* a lock holder SIGKILLed in the middle of its refresh: the others go on at once (the lock dies
  with the process), one of them refreshes, the entry is whole.

What the aws CLI does in the same storms is recorded by `bench/storm/run.py` (COMPATIBILITY.md).
"""

from __future__ import annotations

import datetime as dt
import http.client
import http.server
import json
import os
import signal
import subprocess
import threading
import urllib.request
from pathlib import Path

import pytest

from serve_fixtures import USER1_KEY, served  # noqa: F401  (fixture)
from storm import HANG_SECONDS, Gate, calls, delta, run_storm, wait_for_lock_waiters
from conftest import clean_env
from test_sso_seed import SESSION_TOKEN_FILE, device_login, sso_env, token_file

ROUNDS = 20
PROCESSES = 32

TWO_HOP_CONFIG = """\
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
"""

USER1_CREDENTIALS = f"""\
[user1]
aws_access_key_id = {USER1_KEY[0]}
aws_secret_access_key = {USER1_KEY[1]}
"""


def make_home(root: Path, name: str) -> Path:
    home = root / name
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "config").write_text(TWO_HOP_CONFIG)
    (home / ".aws" / "credentials").write_text(USER1_CREDENTIALS)
    return home


def cache_entries(home: Path) -> dict[str, dict]:
    cache = home / ".aws" / "cli" / "cache"
    return {p.name: json.loads(p.read_text()) for p in sorted(cache.glob("*.json"))}


def check_all_succeeded(results) -> str:
    """Every process printed Version 1 JSON; all the same credentials. Returns the key id."""
    keys = set()
    for r in results:
        assert r.returncode == 0, f"exit {r.returncode}: {r.stderr}"
        doc = json.loads(r.stdout)
        assert doc["Version"] == 1
        keys.add(doc["AccessKeyId"])
    assert len(keys) == 1, keys
    return keys.pop()


def expire_soon(home: Path) -> None:
    """Moves every cached entry's Expiration to 10 minutes from now (inside the 15-minute
    refresh window; the credentials themselves stay valid at the server)."""
    soon = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=10)).replace(microsecond=0)
    for path in (home / ".aws" / "cli" / "cache").glob("*.json"):
        doc = json.loads(path.read_text())
        doc["Credentials"]["Expiration"] = soon.isoformat()
        path.write_text(json.dumps(doc))


def test_two_hop_storm_makes_one_call_per_hop(served, awsid_bin, tmp_path):  # noqa: F811
    argv = [str(awsid_bin), "credential-process", "--profile", "hop2"]
    for round_ in range(ROUNDS):
        home = make_home(tmp_path, f"home{round_}")
        env = served.client_env(home)

        before = calls(served.api)
        results = run_storm(tmp_path, argv, env, PROCESSES)
        first = check_all_succeeded(results)
        assert delta(before, calls(served.api)) == {("sts", "AssumeRole"): 2}, f"round {round_}"
        entries = cache_entries(home)
        assert len(entries) == 2, entries.keys()

        # The same storm with both hops inside the refresh window.
        expire_soon(home)
        before = calls(served.api)
        results = run_storm(tmp_path, argv, env, PROCESSES)
        second = check_all_succeeded(results)
        assert second != first
        assert delta(before, calls(served.api)) == {("sts", "AssumeRole"): 2}, f"round {round_}"
        for name, doc in cache_entries(home).items():
            expiry = dt.datetime.fromisoformat(doc["Credentials"]["Expiration"])
            assert expiry - dt.datetime.now(dt.timezone.utc) > dt.timedelta(minutes=30), name
        assert {e["Credentials"]["AccessKeyId"] for e in cache_entries(home).values()} >= {second}


class HoldingProxy:
    """An STS proxy in front of `awsid serve` that holds the first AssumeRole request it sees
    (so its sender sits inside its refresh, under the lock) and forwards everything else."""

    def __init__(self, upstream: str):
        self.upstream = upstream
        self.held = threading.Event()
        self.release = threading.Event()
        self.forwarded = 0
        self._first = True
        self._lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with proxy._lock:
                    hold = proxy._first and b"Action=AssumeRole" in body
                    proxy._first = proxy._first and not hold
                if hold:
                    proxy.held.set()
                    proxy.release.wait(HANG_SECONDS)
                    # The sender is dead by now: drop the request without forwarding it.
                    self.close_connection = True
                    return
                req = urllib.request.Request(
                    f"http://{proxy.upstream}/",
                    data=body,
                    # The original Host header: it is signed.
                    headers=dict(self.headers.items()),
                    method="POST",
                )
                try:
                    with urllib.request.urlopen(req, timeout=60) as r:
                        status, payload, headers = r.status, r.read(), r.headers
                except urllib.error.HTTPError as e:
                    status, payload, headers = e.code, e.read(), e.headers
                with proxy._lock:
                    proxy.forwarded += 1
                self.send_response(status)
                for k in ("Content-Type", "x-amzn-RequestId"):
                    if headers.get(k):
                        self.send_header(k, headers[k])
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def test_sigkilled_lock_holder_blocks_no_one(served, awsid_bin, tmp_path):  # noqa: F811
    home = make_home(tmp_path, "home")
    proxy = HoldingProxy(served.api)
    try:
        # A bound no test reaches: if the dead holder's lock outlived it, the waiters would hang
        # (and the guard fail the test) instead of going on at once.
        env = clean_env(home, AWS_ENDPOINT_URL_STS=proxy.url, AWSID_LOCK_WAIT="3600")
        argv = [str(awsid_bin), "--debug", "credential-process", "--profile", "hop1"]
        holder = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proxy.held.wait(HANG_SECONDS), "the holder never sent its AssumeRole"
        cache = home / ".aws" / "cli" / "cache"
        [lock] = cache.glob("*.json.lock")
        waiters = [
            subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(8)
        ]
        wait_for_lock_waiters(lock, len(waiters))
        before = calls(served.api)
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=HANG_SECONDS)
        proxy.release.set()
        results = [(p.communicate(timeout=HANG_SECONDS), p.returncode) for p in waiters]
        keys = set()
        for (out, err), rc in results:
            assert rc == 0, err
            assert "still held after" not in err, err
            keys.add(json.loads(out)["AccessKeyId"])
        assert len(keys) == 1
        # One waiter refreshed, under the lock; the others read what it wrote.
        assert delta(before, calls(served.api)) == {("sts", "AssumeRole"): 1}
        refreshed = [err for (_, err), _ in results if "under its lock" in err]
        assert len(refreshed) == 1, [err for (_, err), _ in results]
        entries = cache_entries(home)
        assert [e["Credentials"]["AccessKeyId"] for e in entries.values()] == [keys.pop()]
        assert not list(cache.glob(".*.tmp")), "a temp file was left behind"
    finally:
        proxy.close()


SSO_ROLES = [
    ("111122223333", "readOnly"),
    ("111122223333", "FullAccess"),
    ("444455556666", "readOnly"),
    ("444455556666", "ReadOnly"),
]

SSO_CONFIG = "".join(
    f"[profile r{i}]\nsso_session = my-sso\nsso_account_id = {account}\nsso_role_name = {role}\n"
    "region = us-east-1\n\n"
    for i, (account, role) in enumerate(SSO_ROLES)
) + """[sso-session my-sso]
sso_region = us-east-1
sso_start_url = https://my-sso-portal.awsapps.com/start
sso_registration_scopes = sso:account:access
"""


def test_sso_token_storm_makes_one_create_token(served, awsid_bin, tmp_path):  # noqa: F811
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "config").write_text(SSO_CONFIG)
    env = sso_env(served, home)
    rc, _, err = device_login(awsid_bin, served, env, "r0")
    assert rc == 0, err
    token_path = token_file(home, SESSION_TOKEN_FILE)
    cli_cache = home / ".aws" / "cli" / "cache"
    for round_ in range(ROUNDS):
        before_token = json.loads(token_path.read_text())
        past = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        token_path.write_text(json.dumps(before_token | {"expiresAt": past}))
        for entry in cli_cache.glob("*.json"):
            entry.unlink()

        gate = Gate(tmp_path / f"gate-sso-{round_}")
        procs = [
            (i % len(SSO_ROLES), gate.start(
                [str(awsid_bin), "credential-process", "--profile", f"r{i % len(SSO_ROLES)}"], env
            ))
            for i in range(PROCESSES)
        ]
        before = calls(served.api)
        gate.open()
        keys: dict[int, set[str]] = {}
        for role, p in procs:
            out, err = p.communicate(timeout=HANG_SECONDS)
            assert p.returncode == 0, f"round {round_}: {err}"
            keys.setdefault(role, set()).add(json.loads(out)["AccessKeyId"])
        made = delta(before, calls(served.api))
        assert made == {
            ("sso-oidc", "CreateToken"): 1,
            ("sso", "GetRoleCredentials"): len(SSO_ROLES),
        }, f"round {round_}"
        assert all(len(k) == 1 for k in keys.values()), keys
        after_token = json.loads(token_path.read_text())
        assert after_token["refreshToken"] != before_token["refreshToken"]
        expires = dt.datetime.strptime(after_token["expiresAt"], "%Y-%m-%dT%H:%M:%SZ")
        assert expires.replace(tzinfo=dt.timezone.utc) > dt.datetime.now(dt.timezone.utc)
        # The token every process ends with is the one in the file, and the server takes it.
        assert portal_status(served, after_token["accessToken"]) == 200, f"round {round_}"
    # (A token the server does not know is refused: the check above can fail.)
    assert portal_status(served, "not-a-token") == 401


def portal_status(served, access_token: str) -> int:
    """The status of ListAccounts (the SSO portal) called with `access_token`."""
    host, port = served.api.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", "/assignment/accounts?max_result=10", headers={"x-amz-sso_bearer_token": access_token})
    r = conn.getresponse()
    r.read()
    conn.close()
    return r.status
