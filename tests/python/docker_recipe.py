"""Runs inside a network namespace of its own (`unshare -n`, as root) and reports, as JSON on
stdout, the README's Docker recipe ("Containers") with a real Docker daemon — nothing here
touches the host's network:

* this namespace plays the host: loopback up and 169.254.170.2/32 on `lo` (the recipe's one
  root step); `dockerd` (Debian's docker.io) with its data, socket and `docker0` bridge
  (172.17.0.1/16) private to the test (`--iptables=false`: nothing is written to the host's
  firewall, and the recipe needs no NAT: the container talks to its gateway only);
* no registry is reachable, so the image is `docker import`ed from a scaffold root filesystem
  (`/etc/passwd`, the merged-/usr symlinks) and the container gets the host's `/usr` and this
  Python (its prefix and the test venv) as read-only bind mounts: the SDKs run unchanged in a
  real container on the default bridge;
* `awsid serve` (STS, sessions of the world's lifetime) on the gateway address, and the
  README's `awsid serve-credentials --profile ctr --protocol container --listen
  169.254.170.2:4592 --allow-network 172.17.0.0/16`;
* in containers: boto3 with `AWS_CONTAINER_CREDENTIALS_FULL_URI` and
  `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (the token file's directory mounted) for SECONDS;
  the refusals as a container sees them; Debian's aws CLI v2 2.9.19 (no token-file support)
  with `AWS_CONTAINER_AUTHORIZATION_TOKEN`.

Usage: unshare -n -- python3 docker_recipe.py AWSID WORKDIR SECONDS
WORKDIR holds home/ (profile `ctr`), world.toml and loop.py (the boto3 loop).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from netns_scenario import host_address_up, start_plane, start_standing, stop_all, wait_for

GATEWAY = "172.17.0.1"
IMAGE = "awsid-recipe-scaffold:1"

PROBE = r"""
import json, os, urllib.request, urllib.error
url = os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
token = open(os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]).read()
def call(headers):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as r:
            return [r.status, "credentials" if b"SecretAccessKey" in r.read() else "?"]
    except urllib.error.HTTPError as e:
        return [e.code, e.read().decode()]
print(json.dumps({"none": call({}), "wrong": call({"Authorization": "x" + token[1:]}),
                                "right": call({"Authorization": token})}))
"""


def scaffold(path: Path) -> None:
    """A root filesystem with no programs: `/usr` comes from the host at run time."""
    with tarfile.open(path, "w") as tar:
        def add(name: str, kind: bytes, data: bytes = b"", target: str = "") -> None:
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.size = kind, target, len(data)
            info.mode = 0o1777 if name == "tmp" else 0o755 if kind == tarfile.DIRTYPE else 0o644
            tar.addfile(info, io.BytesIO(data) if data else None)
        for d in ("etc", "tmp", "run", "proc", "sys", "dev", "root", "usr"):
            add(d, tarfile.DIRTYPE)
        for link in ("bin", "lib", "lib64", "sbin"):
            add(link, tarfile.SYMTYPE, target=f"usr/{link}")
        add("etc/passwd", tarfile.REGTYPE, b"root:x:0:0:root:/root:/bin/sh\n")
        add("etc/group", tarfile.REGTYPE, b"root:x:0:\n")


def main() -> None:
    awsid, workdir, seconds = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    report: dict = {}
    host_address_up()
    docker_dir = workdir / "docker"
    docker_dir.mkdir()
    # containerd's sockets live under the exec root: a Unix socket path must stay under 108
    # bytes, so a short directory of its own.
    exec_root = Path(tempfile.mkdtemp(prefix="awsid-dockerd-"))
    sock = exec_root / "docker.sock"
    denv = dict(os.environ, DOCKER_HOST=f"unix://{sock}")
    procs: list[subprocess.Popen] = []
    dockerd_log = workdir / "dockerd.log"
    try:
        dockerd = subprocess.Popen(
            ["dockerd", "--data-root", str(docker_dir / "root"), "--exec-root",
             str(exec_root / "exec"), "-H", f"unix://{sock}", "--pidfile",
             str(exec_root / "dockerd.pid"), "--iptables=false", "--ip6tables=false",
             "--ip-masq=false"],
            stdout=subprocess.DEVNULL, stderr=open(dockerd_log, "w"))
        procs.append(dockerd)

        def daemon_up() -> bool:
            return subprocess.run(["docker", "version"], env=denv,
                                  capture_output=True).returncode == 0
        wait_for(daemon_up, dockerd, "dockerd", dockerd_log, seconds=60)
        version = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"],
                                 env=denv, capture_output=True, text=True, check=True)
        report["server_version"] = version.stdout.strip()
        scaffold(workdir / "rootfs.tar")
        subprocess.run(["docker", "import", str(workdir / "rootfs.tar"), IMAGE], env=denv,
                       check=True, capture_output=True)

        sts = start_plane(awsid, workdir, GATEWAY, procs)
        xdg = workdir / "xdg"
        xdg.mkdir(mode=0o700)
        # The README's command, as written (STS pointed at the test's plane).
        standing, lines = start_standing(
            awsid, workdir, ["--protocol", "container", "--listen", "169.254.170.2:4592",
                             "--allow-network", "172.17.0.0/16"],
            {"XDG_RUNTIME_DIR": str(xdg), "AWS_ENDPOINT_URL_STS": sts}, procs)
        report["lines"] = lines
        token_file = Path(lines["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"])

        mounts = ["-v", "/usr:/usr:ro", "-v", f"{workdir}:/w:ro"]
        for prefix in {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix)}:
            if not prefix.startswith("/usr"):
                mounts += ["-v", f"{prefix}:{prefix}:ro"]
        python = os.path.join(sys.prefix, "bin", "python3")
        run = ["docker", "run", "--rm", *mounts,
               "-e", "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.2:4592/credentials",
               "-e", f"AWS_ENDPOINT_URL_STS={sts}", "-e", "AWS_REGION=us-east-1",
               "-e", "AWS_DEFAULT_REGION=us-east-1", "-e", "AWS_EC2_METADATA_DISABLED=true",
               "-e", "HOME=/tmp"]
        with_file = [*run, "-e", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/run/awsid/token",
                     "-v", f"{token_file.parent}:/run/awsid:ro", IMAGE]

        def container(*cmd: str, timeout: float = 180) -> dict:
            r = subprocess.run(list(cmd), capture_output=True, text=True, env=denv,
                               timeout=timeout)
            return {"rc": r.returncode, "stdout": r.stdout.strip(), "stderr": r.stderr[-2000:]}

        report["loop"] = container(*with_file, python, "/w/loop.py", seconds)
        report["probe"] = container(*with_file, python, "-c", PROBE)
        # Debian's aws CLI v2 2.9.19 reads neither the token file nor AWS_ENDPOINT_URL_STS.
        report["aws_v2_2_9"] = container(
            *run, "-e", f"AWS_CONTAINER_AUTHORIZATION_TOKEN={token_file.read_text()}", IMAGE,
            "/usr/bin/aws", "sts", "get-caller-identity", "--endpoint-url", sts,
            "--output", "json")
        standing.send_signal(signal.SIGTERM)
        report["standing_rc"] = standing.wait(timeout=30)
    finally:
        stop_all(procs, seconds=30)
        # A daemon that died early leaves its mounts (the data root is bind-mounted on itself).
        for d in (docker_dir, exec_root):
            for m in reversed(mounts_under(d)):
                subprocess.run(["umount", "-l", m], capture_output=True)
        shutil.rmtree(exec_root, ignore_errors=True)
    print(json.dumps(report))


def mounts_under(d: Path) -> list[str]:
    """Mount points at or below `d`, in mount order (from /proc/self/mountinfo)."""
    prefix = str(d.resolve())
    points = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    return [m for m in points if m == prefix or m.startswith(prefix + "/")]


if __name__ == "__main__":
    main()
