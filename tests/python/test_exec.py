"""`awsid exec` against `awsid serve`:

* boto3 inside `--server ecs` and `--server imds` keeps calling `sts get-caller-identity` past
  three expiries of STS sessions that live 6 seconds (the world's
  `sts_session_lifetime_seconds`) without an error (the exec's server refreshes the role
  through awsid's chain);
* 20 `awsid exec --server imds` at once, each child seeing its own profile's identity;
* refusals with the real services' status and text: the container endpoint without or with a
  wrong token, IMDSv1 and token errors, a peer of another OS user (as `nobody`, root only);
* `--server env`: the variables set, every other credential setting removed;
* exit codes and SIGINT/SIGTERM pass through, and the server stops with the child.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from relay_fixtures import (  # noqa: F401  (short: a fixture)
    BOTO3_LOOP,
    SECONDS,
    assumed,
    loop_fields,
    port_open,
    script,
    short,
    write_role_home,
)
from serve_fixtures import served  # noqa: F401  (a fixture)


@pytest.fixture
def exec_home(home: Path) -> Path:
    write_role_home(home, "p-ecs", "p-imds", "p-env", *[f"p{i:02d}" for i in range(20)])
    return home


def test_boto3_keeps_working_across_expiries(short, awsid_bin: Path, exec_home: Path, tmp_path: Path):
    loop = script(tmp_path, "loop.py", BOTO3_LOOP)
    env = short.client_env(exec_home)
    procs = {
        mode: subprocess.Popen(
            [str(awsid_bin), "exec", "--profile", f"p-{mode}", "--server", mode, "--",
             sys.executable, str(loop), str(SECONDS)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for mode in ("ecs", "imds")
    }
    for mode, p in procs.items():
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, f"--server {mode}: exit {p.returncode}\n{out}\n{err}"
        fields = loop_fields(out)
        assert fields["arn"] == assumed(f"p-{mode}"), out
        assert fields["method"] == ("container-role" if mode == "ecs" else "iam-role"), out
        assert int(fields["calls"]) >= 40, out
        # A new session at each half-life: at least one per expiry.
        assert int(fields["keys"]) >= 4, out


IDENTITY = """
    import json, os, boto3
    c = boto3.Session().get_credentials()
    print(json.dumps({"arn": boto3.client("sts").get_caller_identity()["Arn"],
                      "method": c.method,
                      "env": sorted(k for k in os.environ if k.startswith("AWS_"))}))
"""


def test_twenty_imds_execs_each_see_their_own_identity(served, awsid_bin: Path, exec_home: Path,
                                                        tmp_path: Path):
    who = script(tmp_path, "who.py", IDENTITY)
    env = served.client_env(exec_home)
    procs = [
        subprocess.Popen(
            [str(awsid_bin), "exec", "--profile", f"p{i:02d}", "--server", "imds", "--",
             sys.executable, str(who)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for i in range(20)
    ]
    endpoints = set()
    for i, p in enumerate(procs):
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, f"p{i:02d}: exit {p.returncode}\n{out}\n{err}"
        got = json.loads(out)
        assert got["arn"] == assumed(f"p{i:02d}"), got
        assert got["method"] == "iam-role", got
        assert "AWS_ACCESS_KEY_ID" not in got["env"] and "AWS_SECRET_ACCESS_KEY" not in got["env"]
        endpoints.add(tuple(k for k in got["env"] if k != "AWS_PAGER"))
    assert endpoints == {("AWS_DEFAULT_REGION", "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                          "AWS_ENDPOINT_URL_STS", "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
                          "AWS_METADATA_SERVICE_TIMEOUT", "AWS_REGION")}


REFUSALS = """
    import json, os, subprocess, sys, urllib.request, urllib.error

    def call(method, url, headers=None):
        req = urllib.request.Request(url, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return [r.status, r.read().decode()]
        except urllib.error.HTTPError as e:
            return [e.code, e.read().decode()]

    out = {}
    if "AWS_CONTAINER_CREDENTIALS_FULL_URI" in os.environ:
        url = os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
        token = os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
        out["none"] = call("GET", url)
        out["wrong"] = call("GET", url, {"Authorization": "x" + token[1:]})
        out["right"] = call("GET", url, {"Authorization": token})[0]
    else:
        base = os.environ["AWS_EC2_METADATA_SERVICE_ENDPOINT"].rstrip("/")
        creds = base + "/latest/meta-data/iam/security-credentials/"
        out["v1"] = call("GET", creds)
        out["no-ttl"] = call("PUT", base + "/latest/api/token")
        out["bad-ttl"] = call("PUT", base + "/latest/api/token",
                              {"X-aws-ec2-metadata-token-ttl-seconds": "21601"})
        out["bad-token"] = call("GET", creds, {"X-aws-ec2-metadata-token": "forged"})
        tok = call("PUT", base + "/latest/api/token",
                   {"X-aws-ec2-metadata-token-ttl-seconds": "60"})[1]
        out["role"] = call("GET", creds, {"X-aws-ec2-metadata-token": tok})
        url = creds
    if os.geteuid() == 0 and len(sys.argv) > 1:
        # The same request from another OS user's socket.
        r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                            sys.executable, "-c",
                            "import sys, urllib.request, urllib.error\\n"
                            "try:\\n urllib.request.urlopen(sys.argv[1], timeout=10)\\n"
                            "except urllib.error.HTTPError as e:\\n"
                            " print(e.code, e.read().decode())", url],
                           capture_output=True, text=True)
        out["other-user"] = r.stdout
    print(json.dumps(out))
"""


def _refusals(awsid_bin: Path, env: dict, mode: str, probe: Path) -> dict:
    r = subprocess.run(
        [str(awsid_bin), "exec", "--profile", "p-ecs", "--server", mode, "--",
         sys.executable, str(probe), "other-user"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert r.returncode == 0, f"exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    return json.loads(r.stdout)


def test_container_endpoint_refusals(served, awsid_bin: Path, exec_home: Path, tmp_path: Path):
    probe = script(tmp_path, "probe.py", REFUSALS)
    tmp_path.chmod(0o755)
    got = _refusals(awsid_bin, served.client_env(exec_home), "ecs", probe)
    # The EKS Pod Identity Agent's plain-text refusals (docs/spec/container-client.md §5).
    assert got["none"] == [400, "Service account token cannot be empty\n"], got
    assert got["wrong"][0] == 400 and re.fullmatch(
        r"\[[0-9a-f-]{36}\]: \(InvalidTokenException\): The authorization token is not valid, "
        r"fault: client\n", got["wrong"][1]), got
    assert got["right"] == 200
    if os.geteuid() == 0:
        assert got["other-user"] == ("403 Access Denied. This endpoint does not serve the "
                                     "caller's address or OS user\n\n"), got


def test_imds_refusals(served, awsid_bin: Path, exec_home: Path, tmp_path: Path):
    probe = script(tmp_path, "probe.py", REFUSALS)
    tmp_path.chmod(0o755)
    got = _refusals(awsid_bin, served.client_env(exec_home), "imds", probe)
    assert got["v1"][0] == 401 and "<title>401 - Unauthorized</title>" in got["v1"][1], got
    assert got["no-ttl"][0] == 400 and "400 - Bad Request" in got["no-ttl"][1], got
    assert got["bad-ttl"][0] == 400, got
    assert got["bad-token"][0] == 401, got
    # IMDS lists the role's own name.
    assert got["role"] == [200, "defaultrole"], got
    if os.geteuid() == 0:
        assert got["other-user"].startswith("403 ") and "403 - Forbidden" in got["other-user"], got


def test_env_mode_sets_the_variables_and_removes_other_settings(served, awsid_bin: Path,
                                                                exec_home: Path, tmp_path: Path):
    who = script(tmp_path, "who.py", IDENTITY)
    env = served.client_env(exec_home, AWS_PROFILE="user1", AWS_CONTAINER_CREDENTIALS_FULL_URI=
                           "http://127.0.0.1:9/", AWS_WEB_IDENTITY_TOKEN_FILE="/nonexistent")
    r = subprocess.run([str(awsid_bin), "exec", "--profile", "p-env", "--",
                        sys.executable, str(who)], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["arn"] == assumed("p-env")
    assert got["method"] == "env"
    # AWS_PAGER and AWS_EC2_METADATA_DISABLED come from the test's environment and stay.
    assert got["env"] == ["AWS_ACCESS_KEY_ID", "AWS_ACCOUNT_ID", "AWS_CREDENTIAL_EXPIRATION",
                          "AWS_DEFAULT_REGION", "AWS_EC2_METADATA_DISABLED",
                          "AWS_ENDPOINT_URL_STS", "AWS_PAGER", "AWS_REGION",
                          "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]


def test_nesting_is_explained(served, awsid_bin: Path, exec_home: Path):
    env = served.client_env(exec_home)
    r = subprocess.run([str(awsid_bin), "exec", "--profile", "p-env", "--",
                        str(awsid_bin), "exec", "--", "true"], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode != 0
    assert "already runs under `awsid exec` with profile p-env" in r.stderr, r.stderr


@pytest.mark.parametrize("mode", ["env", "ecs", "imds"])
def test_exit_codes_pass_through(served, awsid_bin: Path, exec_home: Path, mode: str):
    env = served.client_env(exec_home)
    for code in (0, 3, 255):
        r = subprocess.run([str(awsid_bin), "exec", "--profile", "p-env", "--server", mode, "--",
                            "sh", "-c", f"exit {code}"], env=env, timeout=60)
        assert r.returncode == code, (mode, code)
    r = subprocess.run([str(awsid_bin), "exec", "--profile", "p-env", "--server", mode, "--",
                        "sh", "-c", "kill -KILL $$"], env=env, timeout=60)
    # With --server env awsid has become the command (execve): it is the process killed.
    assert r.returncode == (-9 if mode == "env" else 128 + 9), mode
    r = subprocess.run([str(awsid_bin), "exec", "--profile", "p-env", "--server", mode, "--",
                        "no-such-command-awsid"], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 127, (mode, r.stderr)
    assert "no-such-command-awsid" in r.stderr


def test_an_unknown_option_is_a_usage_error_not_the_command(served, awsid_bin: Path,
                                                            exec_home: Path, tmp_path: Path):
    """`awsid exec --typo` is v2's usage error (252) and runs nothing; a command whose name
    starts with `-` follows `--`, and the command's own options stay the command's."""
    weird = tmp_path / "--weird-cmd"
    weird.write_text("#!/bin/sh\nprintf '%s|' \"$@\"\nexit 7\n")
    weird.chmod(0o755)
    env = served.client_env(exec_home)
    env["PATH"] = f"{tmp_path}:{env.get('PATH', os.defpath)}"
    r = subprocess.run([str(awsid_bin), "exec", "--profile", "p-env", "--weird-cmd", "-x"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (
        252, "",
        "\nawsid: [ERROR]: An error occurred (ParamValidation): Unknown options: --weird-cmd,-x\n"), r
    for mode in ("env", "ecs"):
        r = subprocess.run([str(awsid_bin), "exec", "--profile", "p-env", "--server", mode, "--",
                            "--weird-cmd", "--flag", "--profile", "x"],
                           env=env, capture_output=True, text=True, timeout=60)
        assert (r.returncode, r.stdout) == (7, "--flag|--profile|x|"), (mode, r.stderr)
        r = subprocess.run([str(awsid_bin), "exec", "--profile", "p-env", "--server", mode,
                            "sh", "-c", "echo \"$0 $1\"", "--weird", "-x"],
                           env=env, capture_output=True, text=True, timeout=60)
        assert (r.returncode, r.stdout) == (0, "--weird -x\n"), (mode, r.stderr)


SIGNALLED = """
    import os, signal, sys, time
    got = []
    def on(signo, frame):
        got.append(signo)
    signal.signal(signal.SIGINT, on)
    signal.signal(signal.SIGTERM, on)
    url = os.environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT") or \\
        os.environ.get("AWS_CONTAINER_CREDENTIALS_FULL_URI") or ""
    print(url, flush=True)
    while len(got) < 2:
        time.sleep(0.01)
    print(" ".join(signal.Signals(s).name for s in got), flush=True)
    sys.exit(42)
"""


@pytest.mark.parametrize("mode", ["ecs", "imds"])
def test_signals_reach_the_child_and_the_server_stops_with_it(served, awsid_bin: Path,
                                                              exec_home: Path, tmp_path: Path,
                                                              mode: str):
    child = script(tmp_path, "child.py", SIGNALLED)
    p = subprocess.Popen([str(awsid_bin), "exec", "--profile", "p-env", "--server", mode, "--",
                          sys.executable, str(child)], env=served.client_env(exec_home),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    url = p.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), url
    assert port_open(url)
    # Sent to awsid alone (not its process group): awsid must pass them on.
    p.send_signal(signal.SIGINT)
    time.sleep(0.2)
    assert p.poll() is None, "awsid must wait for the child"
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=30)
    assert out.strip() == "SIGINT SIGTERM", (out, err)
    assert p.returncode == 42, err
    assert not port_open(url), "the server must stop with the child"


@pytest.mark.parametrize("mode", ["ecs", "imds"])
def test_a_child_killed_by_a_forwarded_signal_gives_128_plus_it(served, awsid_bin: Path,
                                                               exec_home: Path, mode: str):
    p = subprocess.Popen([str(awsid_bin), "exec", "--profile", "p-env", "--server", mode, "--",
                          "sh", "-c", "echo up; exec sleep 30"],
                         env=served.client_env(exec_home), stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "up"
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=30) == 128 + signal.SIGTERM


def test_long_term_keys_become_one_shared_session(served, awsid_bin: Path, exec_home: Path,
                                                  tmp_path: Path):
    """`--server ecs|imds` hands out temporary credentials only: user1's keys become a
    GetSessionToken session, made once and reused by the next exec (the shared cache)."""
    from storm import calls, delta

    who = script(tmp_path, "who.py", IDENTITY)
    env = served.client_env(exec_home)
    before = calls(served.api)
    for mode in ("ecs", "imds", "ecs"):
        r = subprocess.run([str(awsid_bin), "exec", "--profile", "user1", "--server", mode, "--",
                            sys.executable, str(who)], env=env, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stderr
        got = json.loads(r.stdout)
        assert got["arn"] == "arn:aws:iam::123456789012:user/user1", got
    made = delta(before, calls(served.api))
    assert made.get(("sts", "GetSessionToken")) == 1, made
    # --duration is refused where the source decides, and with env's long-term keys.
    r = subprocess.run([str(awsid_bin), "exec", "--profile", "user1", "--duration", "1h", "--",
                        "true"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 252, r.stderr
    assert "long-term keys are handed over as they are with --server env" in r.stderr
