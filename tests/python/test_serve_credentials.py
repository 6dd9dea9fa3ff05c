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
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import clean_env
from serve_fixtures import (  # noqa: F401  (served: a fixture)
    USER1_KEY,
    served,
    short_lived_world,
    start_server,
    stop_server,
    write_aws_files,
)

LIFETIME = 6
SECONDS = 3 * LIFETIME + 3
ROLE = "arn:aws:iam::123456789012:role/defaultrole"
HERE = Path(__file__).resolve().parent

BOTO3_LOOP = """
    import sys, time, boto3
    end = time.monotonic() + float(sys.argv[1])
    session = boto3.Session()
    sts = session.client("sts")
    calls, keys, arn = 0, set(), ""
    while time.monotonic() < end:
        arn = sts.get_caller_identity()["Arn"]
        calls += 1
        keys.add(session.get_credentials().get_frozen_credentials().access_key)
        time.sleep(0.1)
    print(f"calls={calls} keys={len(keys)} arn={arn} method={session.get_credentials().method}")
"""


def assumed(session: str) -> str:
    return f"arn:aws:sts::123456789012:assumed-role/defaultrole/{session}"


def profiles(*names: str) -> str:
    text = "[profile user1]\nregion = us-east-1\n"
    for n in names:
        text += (f"\n[profile {n}]\nrole_arn = {ROLE}\nsource_profile = user1\n"
                 f"role_session_name = {n}\nregion = us-east-1\n")
    return text


def write_home(home: Path, *names: str) -> None:
    write_aws_files(home, config=profiles(*names),
                    credentials=f"[user1]\naws_access_key_id = {USER1_KEY[0]}\n"
                    f"aws_secret_access_key = {USER1_KEY[1]}\n")


@pytest.fixture(scope="module")
def short(awsid_bin: Path, tmp_path_factory: pytest.TempPathFactory):
    """`awsid serve` whose STS sessions expire after LIFETIME seconds."""
    d = tmp_path_factory.mktemp("serve-short")
    s = start_server(awsid_bin, d, short_lived_world(d / "world.toml", LIFETIME))
    yield s
    stop_server(s)


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


def port_open(url: str) -> bool:
    hostport = url.split("//", 1)[1].split("/", 1)[0]
    host, port = hostport.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except OSError:
        return False


def test_boto3_through_the_standing_server_across_expiries(short, awsid_bin: Path, home: Path,
                                                          tmp_path: Path):
    write_home(home, "standing")
    token_file = tmp_path / "run" / "token"
    server_env = short.client_env(home)
    p, lines = start_standing(awsid_bin, server_env, "--profile", "standing",
                              "--listen", "127.0.0.1:0", "--token-file", str(token_file))
    try:
        assert token_file.read_text() and not token_file.read_text().endswith("\n")
        assert token_file.stat().st_mode & 0o777 == 0o600
        loop = tmp_path / "loop.py"
        loop.write_text(textwrap.dedent(BOTO3_LOOP))
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
            fields = dict(f.split("=", 1) for f in out.split())
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
    write_home(home, "standing")
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
    if os.geteuid() != 0:
        pytest.fail("the container recipe test needs root (network namespaces)", pytrace=False)
    for tool in ("unshare", "nsenter", "ip"):
        if shutil.which(tool) is None:
            pytest.fail(f"'{tool}' is required (util-linux, iproute2)", pytrace=False)
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"the kernel refuses network namespaces here: {probe.stderr.strip()}")
    write_home(tmp_path / "home", "ctr")
    short_lived_world(tmp_path / "world.toml", LIFETIME)
    (tmp_path / "loop.py").write_text(textwrap.dedent(BOTO3_LOOP))
    (tmp_path / "container-home").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    r = subprocess.run(["unshare", "-n", "--", sys.executable, str(HERE / "container_netns.py"),
                        str(awsid_bin), str(tmp_path), str(SECONDS)],
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, f"scenario failed:\n{r.stdout}\n{r.stderr}"
    got = json.loads(r.stdout)
    assert got["lines"]["AWS_CONTAINER_CREDENTIALS_FULL_URI"].startswith("http://169.254.170.2:")
    assert got["token_file"] == {"newline": False, "mode": "0o600"}
    loop = got["loop"]
    assert loop["rc"] == 0, loop
    fields = dict(f.split("=", 1) for f in loop["stdout"].split())
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
    if os.geteuid() != 0:
        pytest.fail("the Docker recipe test needs root (dockerd)", pytrace=False)
    for tool, package in (("dockerd", "docker.io"), ("docker", "docker.io"),
                          ("unshare", "util-linux"), ("ip", "iproute2")):
        if shutil.which(tool) is None:
            pytest.fail(f"'{tool}' is required (apt-get install {package})", pytrace=False)
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"the kernel refuses network namespaces here: {probe.stderr.strip()}")
    write_home(tmp_path / "home", "ctr")
    short_lived_world(tmp_path / "world.toml", LIFETIME)
    (tmp_path / "loop.py").write_text(textwrap.dedent(BOTO3_LOOP))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DOCKER_"))}
    r = subprocess.run(["unshare", "-n", "--", sys.executable, str(HERE / "docker_recipe.py"),
                        str(awsid_bin), str(tmp_path), str(SECONDS)],
                       capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, f"scenario failed:\n{r.stdout}\n{r.stderr}"
    got = json.loads(r.stdout)
    assert got["server_version"], got
    assert got["lines"]["AWS_CONTAINER_CREDENTIALS_FULL_URI"] == \
        "http://169.254.170.2:4592/credentials", got
    loop = got["loop"]
    assert loop["rc"] == 0, loop
    fields = dict(f.split("=", 1) for f in loop["stdout"].split())
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
