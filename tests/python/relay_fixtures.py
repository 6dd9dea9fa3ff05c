"""What the credential-relay suites share (`test_exec.py`, `test_serve_credentials.py`): short-lived
STS sessions, role profiles over one user's keys, the boto3 loop that must keep working across
expiries, and the root-only scenarios run in a network namespace of their own."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from serve_fixtures import USER1_KEY, short_lived_world, start_server, stop_server, write_aws_files

LIFETIME = 6
SECONDS = 3 * LIFETIME + 3
ROLE = "arn:aws:iam::123456789012:role/defaultrole"
HERE = Path(__file__).resolve().parent

# Calls STS for argv[1] seconds and prints `calls= keys= arn= method=`.
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


def role_profiles(*names: str) -> str:
    """`user1` and, for each name, a profile assuming ROLE from it with that session name."""
    text = "[profile user1]\nregion = us-east-1\n"
    for n in names:
        text += (f"\n[profile {n}]\nrole_arn = {ROLE}\nsource_profile = user1\n"
                 f"role_session_name = {n}\nregion = us-east-1\n")
    return text


def write_role_home(home: Path, *names: str) -> None:
    write_aws_files(home, config=role_profiles(*names),
                    credentials=f"[user1]\naws_access_key_id = {USER1_KEY[0]}\n"
                    f"aws_secret_access_key = {USER1_KEY[1]}\n")


def script(directory: Path, name: str, body: str) -> Path:
    p = directory / name
    p.write_text(textwrap.dedent(body))
    return p


def loop_fields(stdout: str) -> dict[str, str]:
    """The `key=value` words of BOTO3_LOOP's output."""
    return dict(f.split("=", 1) for f in stdout.split())


def port_open(url: str) -> bool:
    hostport = url.split("//", 1)[1].split("/", 1)[0]
    host, port = hostport.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def short(awsid_bin: Path, tmp_path_factory: pytest.TempPathFactory):
    """`awsid serve` whose STS sessions expire after LIFETIME seconds."""
    d = tmp_path_factory.mktemp("serve-short")
    s = start_server(awsid_bin, d, short_lived_world(d / "world.toml", LIFETIME))
    yield s
    stop_server(s)


def run_namespace_scenario(scenario: str, awsid_bin: Path, workdir: Path,
                           tools: dict[str, str], timeout: float) -> dict:
    """Runs `scenario` (a script beside this file) as root in a network namespace of its own,
    with WORKDIR holding home/ (profile `ctr`), world.toml (LIFETIME sessions) and loop.py;
    returns the JSON it prints. `tools` maps the commands it needs to their Debian packages."""
    if os.geteuid() != 0:
        pytest.fail(f"{scenario} needs root (network namespaces)", pytrace=False)
    for tool, package in {"unshare": "util-linux", "ip": "iproute2", **tools}.items():
        if shutil.which(tool) is None:
            pytest.fail(f"'{tool}' is required (apt-get install {package})", pytrace=False)
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"the kernel refuses network namespaces here: {probe.stderr.strip()}")
    write_role_home(workdir / "home", "ctr")
    short_lived_world(workdir / "world.toml", LIFETIME)
    script(workdir, "loop.py", BOTO3_LOOP)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DOCKER_"))}
    r = subprocess.run(["unshare", "-n", "--", sys.executable, str(HERE / scenario),
                        str(awsid_bin), str(workdir), str(SECONDS)],
                       capture_output=True, text=True, timeout=timeout, env=env)
    assert r.returncode == 0, f"scenario failed:\n{r.stdout}\n{r.stderr}"
    return json.loads(r.stdout)
