"""`awsid serve-credentials`, the standing credential server, against `awsid serve`:

* boto3 through it — over IMDSv2 and over the container protocol with the token in a file —
  keeps calling `sts get-caller-identity` past three expiries of 6-second STS sessions without
  an error; SIGTERM stops it (exit 0, port closed, token file removed);
* refusals with the real services' status and text (no or wrong token, IMDSv1);
* the container recipe (README): a "container" network namespace on a hand-built Docker bridge
  reaches it at 169.254.170.2 with `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` across the same
  expiries; another network is refused, and a container peer gets no IMDS (root only:
  network namespaces).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import clean_env
from relay_fixtures import (  # noqa: F401  (short: a fixture)
    BOTO3_LOOP,
    ROLE,
    SECONDS,
    assumed,
    loop_fields,
    port_open,
    run_namespace_scenario,
    script,
    short,
    write_role_home,
)
from serve_fixtures import served  # noqa: F401  (a fixture)


def start_standing(awsid_bin: Path, env: dict, *args: str) -> tuple[subprocess.Popen, dict]:
    """Starts `serve-credentials` and reads the variables of its first listener."""
    p = subprocess.Popen([str(awsid_bin), "serve-credentials", *args], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: dict[str, str] = {}
    listeners = 0
    while True:
        line = p.stdout.readline()
        if not line:
            p.wait(timeout=10)
            pytest.fail(f"serve-credentials exited with {p.returncode}: {p.stderr.read()}")
        if line.startswith("# ") and line[2:3].isdigit():
            listeners += 1
            if listeners > 1:
                break
        elif "=" in line and not line.startswith("#"):
            k, v = line.strip().split("=", 1)
            lines[k] = v
        # The last variable of a listener's block.
        if "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE" in lines or (
                "--protocol" in args and "imds" in args
                and "AWS_METADATA_SERVICE_NUM_ATTEMPTS" in lines):
            break
    return p, lines


def test_boto3_through_the_standing_server_across_expiries(short, awsid_bin: Path, home: Path,
                                                          tmp_path: Path):
    write_role_home(home, "standing")
    token_file = tmp_path / "run" / "token"
    server_env = short.client_env(home)
    p, lines = start_standing(awsid_bin, server_env, "--profile", "standing",
                              "--listen", "127.0.0.1:0", "--token-file", str(token_file))
    try:
        assert token_file.read_text() and not token_file.read_text().endswith("\n")
        assert token_file.stat().st_mode & 0o777 == 0o600
        loop = script(tmp_path, "loop.py", BOTO3_LOOP)
        # Clients with no profile files: the default chain reaches the server.
        client_home = tmp_path / "client-home"
        client_home.mkdir()
        base = clean_env(client_home, AWS_ENDPOINT_URL_STS=short.sts_url, AWS_REGION="us-east-1",
                     AWS_DEFAULT_REGION="us-east-1")
        envs = {
            "imds": dict(base, AWS_EC2_METADATA_DISABLED="false",
                         AWS_EC2_METADATA_SERVICE_ENDPOINT=lines[
                             "AWS_EC2_METADATA_SERVICE_ENDPOINT"],
                         AWS_METADATA_SERVICE_TIMEOUT=lines["AWS_METADATA_SERVICE_TIMEOUT"],
                         AWS_METADATA_SERVICE_NUM_ATTEMPTS=lines[
                             "AWS_METADATA_SERVICE_NUM_ATTEMPTS"]),
            "container": dict(base, AWS_CONTAINER_CREDENTIALS_FULL_URI=lines[
                "AWS_CONTAINER_CREDENTIALS_FULL_URI"],
                AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=lines[
                    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]),
        }
        assert lines["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] == str(token_file)
        procs = {
            name: subprocess.Popen([sys.executable, str(loop), str(SECONDS)], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for name, env in envs.items()
        }
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, f"{name}: exit {proc.returncode}\n{out}\n{err}"
            fields = loop_fields(out)
            assert fields["arn"] == assumed("standing"), out
            assert fields["method"] == ("iam-role" if name == "imds" else "container-role"), out
            assert int(fields["calls"]) >= 40, out
            assert int(fields["keys"]) >= 4, out
    finally:
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=30)
    assert rc == 0, p.stderr.read()
    assert not port_open(lines["AWS_EC2_METADATA_SERVICE_ENDPOINT"])
    assert not token_file.exists(), "the token file goes with its server"


def call(method: str, url: str, headers: dict | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_standing_server_refusals(served, awsid_bin: Path, home: Path, tmp_path: Path):
    write_role_home(home, "standing")
    token_file = tmp_path / "token"
    p, lines = start_standing(awsid_bin, served.client_env(home), "--profile", "standing",
                              "--listen", "127.0.0.1:0", "--token-file", str(token_file))
    try:
        url = lines["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
        token = token_file.read_text()
        # The EKS Pod Identity Agent's plain-text refusals (docs/spec/container-client.md §5).
        assert call("GET", url) == (400, "Service account token cannot be empty\n")
        status, body = call("GET", url, {"Authorization": "x" + token[1:]})
        assert status == 400 and re.fullmatch(
            r"\[[0-9a-f-]{36}\]: \(InvalidTokenException\): The authorization token is not "
            r"valid, fault: client\n", body), body
        status, body = call("GET", url, {"Authorization": token})
        assert status == 200 and json.loads(body)["RoleArn"] == ROLE, status
        creds = lines["AWS_EC2_METADATA_SERVICE_ENDPOINT"] + \
            "latest/meta-data/iam/security-credentials/"
        status, body = call("GET", creds)
        assert status == 401 and "<title>401 - Unauthorized</title>" in body, body
        status, body = call("PUT", lines["AWS_EC2_METADATA_SERVICE_ENDPOINT"] + "latest/api/token")
        assert status == 400 and "400 - Bad Request" in body, body
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=30) == 0
    # Listening where it cannot: the error names the address.
    r = subprocess.run([str(awsid_bin), "serve-credentials", "--profile", "standing",
                        "--listen", "192.0.2.1:0", "--token-file", str(token_file)],
                       env=served.client_env(home), capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "cannot listen on 192.0.2.1:0" in r.stderr, r.stderr
    # A loopback network cannot be allowed: local peers are admitted by OS user.
    r = subprocess.run([str(awsid_bin), "serve-credentials", "--profile", "standing",
                        "--listen", "127.0.0.1:0", "--allow-network", "127.0.0.0/8"],
                       env=served.client_env(home), capture_output=True, text=True, timeout=30)
    assert r.returncode == 252 and "holds loopback addresses" in r.stderr, r.stderr


def test_container_recipe_on_a_bridge(awsid_bin: Path, tmp_path: Path):
    (tmp_path / "container-home").mkdir()
    got = run_namespace_scenario("container_netns.py", awsid_bin, tmp_path,
                                 {"nsenter": "util-linux"}, timeout=300)
    assert got["lines"]["AWS_CONTAINER_CREDENTIALS_FULL_URI"].startswith("http://169.254.170.2:")
    assert got["token_file"] == {"newline": False, "mode": "0o600"}
    loop = got["loop"]
    assert loop["rc"] == 0, loop
    fields = loop_fields(loop["stdout"])
    assert fields["arn"] == assumed("ctr") and fields["method"] == "container-role", loop
    assert int(fields["calls"]) >= 40 and int(fields["keys"]) >= 4, loop
    ctr = got["container"]
    assert ctr["right"] == "200", got
    assert ctr["none"] == "400 Service account token cannot be empty", got
    assert re.fullmatch(r"400 \[[0-9a-f-]{36}\]: \(InvalidTokenException\): The authorization "
                        r"token is not valid, fault: client", ctr["wrong"]), got
    # A peer admitted for its network gets the container protocol only.
    assert ctr["imds"].startswith("403 ") and "403 - Forbidden" in ctr["imds"], got
    # Another network, even with the token: the container endpoint's 403.
    assert got["outsider"]["right"] == ("403 Access Denied. This endpoint does not serve the "
                                        "caller's address or OS user"), got
    assert got["standing_rc"] == 0 and got["token_file_after"] is False


def test_docker_recipe_with_a_real_daemon(awsid_bin: Path, tmp_path: Path):
    """The README's recipe with Docker itself: dockerd in a private network namespace, boto3 in
    a container on the default bridge through 169.254.170.2 and the token file, three expiries
    (tests/python/docker_recipe.py)."""
    got = run_namespace_scenario("docker_recipe.py", awsid_bin, tmp_path,
                                 {"dockerd": "docker.io", "docker": "docker.io"}, timeout=600)
    assert got["server_version"], got
    assert got["lines"]["AWS_CONTAINER_CREDENTIALS_FULL_URI"] == \
        "http://169.254.170.2:4592/credentials", got
    loop = got["loop"]
    assert loop["rc"] == 0, loop
    fields = loop_fields(loop["stdout"])
    assert fields["arn"] == assumed("ctr") and fields["method"] == "container-role", loop
    assert int(fields["calls"]) >= 40 and int(fields["keys"]) >= 4, loop
    assert got["probe"]["rc"] == 0, got["probe"]
    probe = json.loads(got["probe"]["stdout"])
    assert probe["none"] == [400, "Service account token cannot be empty\n"], probe
    assert probe["wrong"][0] == 400 and "(InvalidTokenException)" in probe["wrong"][1], probe
    assert probe["right"] == [200, "credentials"], probe
    v2 = got["aws_v2_2_9"]
    assert v2["rc"] == 0 and json.loads(v2["stdout"])["Arn"] == assumed("ctr"), v2
    assert got["standing_rc"] == 0
