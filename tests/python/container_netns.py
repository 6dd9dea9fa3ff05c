"""Runs inside a network namespace of its own (`unshare -n`, as root) and reports, as JSON on
stdout, the container recipe of `awsid serve-credentials` (README, "Containers") on Docker's
bridge network rebuilt by hand — nothing here touches the host's network:

* this namespace plays the host: loopback up, 169.254.170.2/32 on `lo` (the recipe's one root
  step), a veth to the "container" as the bridge's gateway (10.213.0.1/24, Docker's 172.17.0.1),
  `awsid serve` (STS, sessions of the world's lifetime) on that gateway address, and
  `awsid serve-credentials --listen 169.254.170.2:0 --allow-network 10.213.0.0/24`;
* the container: a namespace with 10.213.0.2/24 and a default route via the gateway, as Docker
  sets one up; boto3 in it uses `AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.2:PORT/…`
  and `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` for SECONDS;
* an outsider: another namespace (10.214.0.2, its own veth) outside --allow-network.

Usage: unshare -n -- python3 container_netns.py AWSID WORKDIR SECONDS
WORKDIR holds home/ (profile `ctr`), world.toml and loop.py (the boto3 loop).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from netns_scenario import BASE_ENV, host_address_up, start_plane, start_standing, stop_all

GATEWAY, CONTAINER, OUTSIDER = "10.213.0.1", "10.213.0.2", "10.214.0.2"

# One HTTP request, as small as an SDK's: prints `STATUS BODY` or `error CLASS`.
CLIENT = r"""
import http.client, sys
host, port, method, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
headers = dict(h.split("=", 1) for h in sys.argv[5:])
try:
    c = http.client.HTTPConnection(host, port, timeout=5)
    c.request(method, path, headers=headers)
    r = c.getresponse()
    print(r.status, r.read().decode("latin-1").replace("\n", " ")[:300])
except OSError as e:
    print("error", type(e).__name__)
"""


def sh(*cmd: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(list(cmd), capture_output=True, text=True, check=check, **kw)


def namespace() -> subprocess.Popen:
    """A process holding a fresh network namespace (the container's)."""
    return subprocess.Popen(["unshare", "-n", "--", "sleep", "600"])


def in_ns(pid: int, *cmd: str) -> list[str]:
    return ["nsenter", f"--net=/proc/{pid}/ns/net", "--", *cmd]


def wire(pid: int, host_if: str, host_ip: str, ns_ip: str) -> None:
    """A veth from this namespace to `pid`'s, /24 on both ends, default route via ours."""
    # The namespace must exist before the veth can be moved into it.
    for _ in range(200):
        if Path(f"/proc/{pid}/ns/net").exists() and \
                os.readlink(f"/proc/{pid}/ns/net") != os.readlink("/proc/self/ns/net"):
            break
        time.sleep(0.01)
    sh("ip", "link", "add", host_if, "type", "veth", "peer", "name", "eth0", "netns", str(pid))
    sh("ip", "addr", "add", f"{host_ip}/24", "dev", host_if)
    sh("ip", "link", "set", host_if, "up")
    sh(*in_ns(pid, "ip", "link", "set", "lo", "up"))
    sh(*in_ns(pid, "ip", "addr", "add", f"{ns_ip}/24", "dev", "eth0"))
    sh(*in_ns(pid, "ip", "link", "set", "eth0", "up"))
    sh(*in_ns(pid, "ip", "route", "add", "default", "via", host_ip))


def request(pid: int, host: str, port: int, method: str, path: str, *headers: str) -> str:
    return sh(*in_ns(pid, sys.executable, "-c", CLIENT, host, str(port), method, path, *headers),
              timeout=30).stdout.strip()


def main() -> None:
    awsid, workdir, seconds = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    report: dict = {}
    host_address_up()
    container, outsider = namespace(), namespace()
    procs: list[subprocess.Popen] = [container, outsider]
    try:
        wire(container.pid, "veth-ctr", GATEWAY, CONTAINER)
        wire(outsider.pid, "veth-out", "10.214.0.1", OUTSIDER)
        sts = start_plane(awsid, workdir, GATEWAY, procs)
        token_file = workdir / "run" / "awsid" / "ctr" / "token"
        standing, lines = start_standing(
            awsid, workdir, ["--listen", "169.254.170.2:0", "--allow-network", "10.213.0.0/24",
                             "--token-file", str(token_file)],
            {"AWS_ENDPOINT_URL_STS": sts}, procs)
        report["lines"] = lines
        uri = lines["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
        hostport, path = uri.removeprefix("http://").split("/", 1)
        port = int(hostport.rsplit(":", 1)[1])
        token = token_file.read_text()
        report["token_file"] = {"newline": token.endswith("\n"),
                                "mode": oct(token_file.stat().st_mode & 0o777)}
        # The SDK in the container, for SECONDS (several expiries of the world's sessions).
        client_env = dict(BASE_ENV, HOME=str(workdir / "container-home"),
                          AWS_CONTAINER_CREDENTIALS_FULL_URI=uri,
                          AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=lines[
                              "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"],
                          AWS_ENDPOINT_URL_STS=sts, AWS_REGION="us-east-1",
                          AWS_DEFAULT_REGION="us-east-1",
                          AWS_EC2_METADATA_DISABLED="true")
        loop = subprocess.run(in_ns(container.pid, sys.executable, str(workdir / "loop.py"),
                                    seconds),
                              capture_output=True, text=True, env=client_env, timeout=180)
        report["loop"] = {"rc": loop.returncode, "stdout": loop.stdout.strip(),
                          "stderr": loop.stderr[-2000:]}
        report["container"] = {
            "right": request(container.pid, "169.254.170.2", port, "GET", f"/{path}",
                             f"Authorization={token}").split(" ", 1)[0],
            "none": request(container.pid, "169.254.170.2", port, "GET", f"/{path}"),
            "wrong": request(container.pid, "169.254.170.2", port, "GET", f"/{path}",
                             "Authorization=x" + token[1:]),
            "imds": request(container.pid, "169.254.170.2", port, "PUT", "/latest/api/token",
                            "X-aws-ec2-metadata-token-ttl-seconds=60"),
        }
        report["outsider"] = {
            "right": request(outsider.pid, "169.254.170.2", port, "GET", f"/{path}",
                             f"Authorization={token}"),
        }
        standing.send_signal(signal.SIGTERM)
        report["standing_rc"] = standing.wait(timeout=30)
        report["token_file_after"] = token_file.exists()
    finally:
        stop_all(procs)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
