"""What the network-namespace scenarios (`container_netns.py`, `docker_recipe.py`) share: they
run as root in a namespace of their own that plays the host, start `awsid serve` (STS) on the
bridge's gateway and `awsid serve-credentials` on 169.254.170.2, and stop everything they
started on the way out."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable

MASTER_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
BASE_ENV = {"PATH": os.environ["PATH"], "LC_ALL": "C.UTF-8"}


def host_address_up() -> None:
    """The recipe's one root step, in this namespace: loopback up, 169.254.170.2 on `lo`."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "addr", "add", "169.254.170.2/32", "dev", "lo"], check=True)


def wait_for(check: Callable[[], bool], proc: subprocess.Popen, what: str, log: Path | None,
             seconds: float = 30) -> None:
    """Polls `check` until it holds; exits naming `what` (and the tail of `log`) when `proc`
    ends first or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while not check():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            tail = log.read_text()[-3000:] if log is not None and log.exists() else ""
            raise SystemExit(f"{what} did not start {tail}")
        time.sleep(0.05)


def start_plane(awsid: str, workdir: Path, api_host: str,
                procs: list[subprocess.Popen]) -> str:
    """`awsid serve` with WORKDIR's world, STS on `api_host`; returns the STS URL."""
    ready = workdir / "ready.json"
    log = workdir / "serve.err"
    serve = subprocess.Popen(
        [awsid, "serve", "--allow-non-loopback", "--api", f"{api_host}:0", "--imds",
         "127.0.0.1:0", "--ecs", "127.0.0.1:0", "--world", str(workdir / "world.toml"),
         "--quiet", "--ready-file", str(ready)],
        stdout=subprocess.DEVNULL, stderr=open(log, "w"),
        env=dict(BASE_ENV, HOME=str(workdir), AWSID_MASTER_KEY=MASTER_KEY))
    procs.append(serve)
    wait_for(ready.exists, serve, "awsid serve", log)
    return f"http://{json.loads(ready.read_text())['api']}/"


def start_standing(awsid: str, workdir: Path, args: list[str], env: dict[str, str],
                   procs: list[subprocess.Popen]) -> tuple[subprocess.Popen, dict[str, str]]:
    """`awsid serve-credentials ARGS` as the profile `ctr` of WORKDIR/home; returns it and the
    variables it printed for its listener."""
    log = workdir / "standing.err"
    standing = subprocess.Popen(
        [awsid, "serve-credentials", "--profile", "ctr", *args],
        stdout=subprocess.PIPE, stderr=open(log, "w"), text=True,
        env=dict(BASE_ENV, HOME=str(workdir / "home"), **env))
    procs.append(standing)
    lines: dict[str, str] = {}
    while "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE" not in lines:
        line = standing.stdout.readline()
        if not line:
            raise SystemExit("serve-credentials exited: " + log.read_text())
        if "=" in line and not line.startswith("#"):
            k, v = line.strip().split("=", 1)
            lines.setdefault(k, v)
    return standing, lines


def stop_all(procs: list[subprocess.Popen], seconds: float = 10) -> None:
    """SIGTERM to each process still running, newest first; SIGKILL after `seconds`."""
    for p in reversed(procs):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=seconds)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
