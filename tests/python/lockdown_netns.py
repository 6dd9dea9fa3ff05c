"""Runs inside a network namespace of its own (`unshare -n`, as root) and reports, as JSON on
stdout, what root and `nobody` can reach on the metadata addresses before, during and after
`awsid imds lockdown`, and what `awsid serve --imds-allow-user` answers them.

Usage: unshare -n -- python3 lockdown_netns.py AWSID WORKDIR SCENARIO [BACKEND]

SCENARIO is `firewall` (awsid imds lockdown with BACKEND nft|iptables) or `allow-list`
(awsid serve's UID allow-list). Nothing here touches the host's network: the namespace has
only its own loopback, with the metadata addresses added to it.
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

V4 = ["169.254.169.254", "169.254.170.2", "169.254.170.23"]
V6 = ["fd00:ec2::254", "fd00:ec2::23"]
NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]

# A client as small as an SDK's: one HTTP GET, prints the status, or the error class.
CLIENT = r"""
import http.client, sys
host, path = sys.argv[1], sys.argv[2]
try:
    c = http.client.HTTPConnection(host, timeout=5)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read().decode("latin-1")
    print(r.status, body.replace("\n", " ")[:400])
except OSError as e:
    print("error", type(e).__name__)
"""


def sh(*cmd: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(list(cmd), capture_output=True, text=True, check=check, **kw)


def request(host: str, path: str, as_nobody: bool) -> str:
    cmd = (NOBODY if as_nobody else []) + [sys.executable, "-c", CLIENT, host, path]
    return sh(*cmd, timeout=20).stdout.strip()


def probe(paths: dict[str, str]) -> dict[str, str]:
    """`{who@address: result}` for root and nobody over every address in `paths`."""
    out = {}
    for who, nobody in (("root", False), ("nobody", True)):
        for host, path in paths.items():
            out[f"{who}@{host}"] = request(host, path, nobody)
    return out


def start_serve(awsid: str, workdir: Path, *extra: str) -> subprocess.Popen:
    ready = workdir / "ready.json"
    if ready.exists():
        ready.unlink()
    env = dict(os.environ, AWSID_MASTER_KEY="AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
    proc = subprocess.Popen(
        [awsid, "serve", "--allow-non-loopback", "--api", "127.0.0.1:0", "--ecs", "169.254.170.2:8080",
         "--imds", "[::]:80", "--quiet", "--ready-file", str(ready), *extra],
        stdout=subprocess.DEVNULL, stderr=open(workdir / "serve.err", "w"), env=env,
    )
    deadline = time.monotonic() + 30
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit(f"awsid serve did not start: {(workdir / 'serve.err').read_text()}")
        time.sleep(0.05)
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=10)


IMDS_PATH = "/latest/meta-data/instance-id"
ECS_PATH = "/credentials"


def firewall(awsid: str, workdir: Path, backend: str) -> dict:
    root = workdir / "persist-root"
    (root / "etc").mkdir(parents=True)
    conf = root / "etc" / "nftables.conf"
    conf.write_text("#!/usr/sbin/nft -f\nflush ruleset\n")
    if backend == "iptables":
        (root / "etc" / "iptables").mkdir()
    lockdown = [awsid, "imds", "lockdown", "--backend", backend, "--persist-root", str(root)]
    status = [awsid, "imds", "status", "--backend", backend, "--persist-root", str(root)]
    paths = {"169.254.169.254": IMDS_PATH, "[fd00:ec2::254]": IMDS_PATH,
             "169.254.170.2:8080": ECS_PATH}
    serve = start_serve(awsid, workdir)
    report: dict = {}
    try:
        report["before"] = probe(paths)
        report["dry_run"] = sh(*lockdown, "--dry-run", "root").stdout
        report["after_dry_run"] = probe(paths)
        applied = sh(*lockdown, "root")
        report["apply_stdout"] = applied.stdout
        report["rules_once"] = ruleset(backend)
        sh(*lockdown, "root")
        report["rules_twice"] = ruleset(backend)
        report["locked"] = probe(paths)
        report["status_locked"] = sh(*status).stdout
        report["status_json"] = json.loads(sh(*status, "--output", "json").stdout)
        # The SDK-style client: awsid's own IMDS provider at the default address.
        for who, prefix in (("root", []), ("nobody", NOBODY)):
            r = sh(*prefix, awsid, "configure", "export-credentials", check=False,
                   env={"PATH": os.environ["PATH"], "HOME": str(workdir),
                        "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
                        "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "IPv6"}, timeout=60)
            report[f"export_{who}"] = {"rc": r.returncode, "has_key": '"AccessKeyId"' in r.stdout}
        if backend == "nft":
            report["persisted_conf"] = conf.read_text()
            # A reload of the firewall service: flush everything, load the main file.
            sh("nft", "flush", "ruleset")
            report["after_flush"] = probe({"169.254.169.254": IMDS_PATH})
            sh("nft", "-f", str(conf))
            report["after_reload"] = probe({"169.254.169.254": IMDS_PATH})
        else:
            report["persisted_v4"] = (root / "etc/iptables/rules.v4").read_text()
            report["persisted_v6"] = (root / "etc/iptables/rules.v6").read_text()
        report["undo_dry_run"] = sh(*lockdown, "--undo", "--dry-run").stdout
        report["undo_stdout"] = sh(*lockdown, "--undo").stdout
        report["undone"] = probe(paths)
        report["rules_undone"] = ruleset(backend)
        report["status_undone"] = sh(*status).stdout
        report["conf_after_undo"] = conf.read_text()
        sh(*lockdown, "--undo")  # twice: still fine
        sh(*lockdown, "--no-persist")  # nobody at all: blocked after boot
        report["nobody_allowed"] = probe(paths)
        sh(*lockdown, "--undo", "--no-persist")
        report["final"] = probe(paths)
    finally:
        stop(serve)
    return report


def ruleset(backend: str) -> str:
    if backend == "nft":
        return sh("nft", "list", "ruleset").stdout
    text = sh("iptables-save").stdout + sh("ip6tables-save").stdout
    # Drop the timestamps and packet counters, which change between two listings.
    return "".join(re.sub(r" \[\d+:\d+\]$", "", line) + "\n"
                   for line in text.splitlines() if not line.startswith("#"))


def allow_list(awsid: str, workdir: Path) -> dict:
    serve = start_serve(awsid, workdir, "--imds-allow-user", "root")
    try:
        paths = {"169.254.169.254": IMDS_PATH, "[fd00:ec2::254]": IMDS_PATH,
                 "127.0.0.1": IMDS_PATH, "[::1]": IMDS_PATH}
        return {"allow_root": probe(paths)}
    finally:
        stop(serve)


def main() -> None:
    awsid, workdir, scenario = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    sh("ip", "link", "set", "lo", "up")
    for a in V4:
        sh("ip", "addr", "add", f"{a}/32", "dev", "lo")
    for a in V6:
        sh("ip", "-6", "addr", "add", f"{a}/128", "dev", "lo", "nodad")
    if scenario == "firewall":
        report = firewall(awsid, workdir, sys.argv[4])
    else:
        report = allow_list(awsid, workdir)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
