"""`awsid imds lockdown` and `awsid serve --imds-allow-user`, for real, in network namespaces
the tests create (`unshare -n`, as root): the metadata addresses on the namespace's loopback,
`awsid serve` listening on them, requests as root and as `nobody` over IPv4 and IPv6.

Needs root (to create the namespace and switch to `nobody`), `unshare`, `setpriv`, `ip`, and
nftables and iptables; the test command installs the missing ones. Skipped, loudly, only when
the kernel refuses to create a network namespace.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "lockdown_netns.py"

REFUSED = "error ConnectionRefusedError"


def _require_namespaces() -> None:
    if os.geteuid() != 0:
        pytest.fail("the lock-down suite needs root (network namespaces, setpriv to nobody)",
                    pytrace=False)
    for tool in ("unshare", "setpriv", "ip", "nft", "iptables", "ip6tables"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            pytest.fail(f"'{tool}' is required by the lock-down suite (./scripts/test installs it)",
                        pytrace=False)
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        banner = "#" * 78
        print(f"\n{banner}\nSKIPPING THE NETWORK-NAMESPACE LOCK-DOWN TESTS: the kernel refused "
              f"`unshare -n`: {probe.stderr.strip()}\n{banner}", file=sys.stderr)
        pytest.skip(f"the kernel refuses network namespaces here: {probe.stderr.strip()}")


def run_scenario(awsid_bin: Path, tmp_path: Path, *args: str) -> dict:
    _require_namespaces()
    tmp_path.chmod(0o755)  # nobody runs the client from here
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    r = subprocess.run(
        ["unshare", "-n", "--", sys.executable, str(SCENARIO), str(awsid_bin), str(tmp_path), *args],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert r.returncode == 0, f"scenario failed:\n{r.stdout}\n{r.stderr}"
    return json.loads(r.stdout)


def assert_all(results: dict[str, str], who: str, expect) -> None:
    for key, value in results.items():
        if key.startswith(f"{who}@"):
            assert expect(key, value), f"{key}: {value!r}"


def served(key: str, value: str) -> bool:
    # IMDS answers the instance id; the ECS endpoint answers (an authorization error without
    # the task token): either way the connection went through.
    return value.startswith("200 i-") if "170.2" not in key else value[:3].isdigit()


@pytest.mark.parametrize("backend", ["nft", "iptables"])
def test_lockdown_root_only_over_ipv4_and_ipv6(awsid_bin: Path, tmp_path: Path, backend: str):
    rep = run_scenario(awsid_bin, tmp_path, "firewall", backend)

    # Before: everyone reaches every address; a dry run prints and changes nothing.
    assert_all(rep["before"], "root", served)
    assert_all(rep["before"], "nobody", served)
    assert rep["after_dry_run"] == rep["before"]
    dry = rep["dry_run"]
    assert dry.startswith(
        f"# awsid imds lockdown (dry run): {'nftables' if backend == 'nft' else 'iptables'}; "
        "allowed: root (uid 0)\n"
        "# metadata addresses: 169.254.169.254, 169.254.170.2, 169.254.170.23, fd00:ec2::254, "
        "fd00:ec2::23\n"), dry

    # Locked: root still served, nobody refused at once, over IPv4 and IPv6 and for ECS too.
    assert_all(rep["locked"], "root", served)
    assert_all(rep["locked"], "nobody", lambda k, v: v == REFUSED)
    assert rep["export_root"] == {"rc": 0, "has_key": True}
    assert rep["export_nobody"]["rc"] != 0 and not rep["export_nobody"]["has_key"]

    # Idempotent: applying twice leaves the same rules.
    assert rep["rules_once"] == rep["rules_twice"]
    if backend == "nft":
        assert rep["rules_once"].count("table inet awsid_imds_lockdown") == 1
        assert "meta skuid 0 accept" in rep["rules_once"]
        # The dry run printed exactly the script that was loaded.
        assert "add table inet awsid_imds_lockdown\n" in dry
        assert "ct original ip6 daddr @metadata_ipv6 meta skuid { 0 } accept" in dry
    else:
        assert rep["rules_once"].count("-A OUTPUT -j AWSID-IMDS-LOCKDOWN") == 2  # v4 and v6
        assert "--uid-owner 0 -j RETURN" in rep["rules_once"]

    assert "IMDS lock-down: active" in rep["status_locked"]
    assert "allowed users: root (uid 0)" in rep["status_locked"]
    assert rep["status_json"]["active"] is True
    assert rep["status_json"]["allowed_uids"] == [0]
    assert rep["status_json"]["persisted"]

    # Kept across a firewall reload.
    if backend == "nft":
        assert 'include "' in rep["persisted_conf"]
        assert rep["after_flush"]["nobody@169.254.169.254"].startswith("200")
        assert rep["after_reload"]["nobody@169.254.169.254"] == REFUSED
        assert rep["after_reload"]["root@169.254.169.254"].startswith("200")
    else:
        assert "AWSID-IMDS-LOCKDOWN" in rep["persisted_v4"]
        assert "--ctorigdst fd00:ec2::254" in rep["persisted_v6"]

    # Undo restores access and removes what awsid added.
    assert rep["undo_dry_run"].startswith("# awsid imds lockdown --undo (dry run)")
    assert_all(rep["undone"], "nobody", served)
    assert "awsid_imds_lockdown" not in rep["rules_undone"]
    assert "AWSID-IMDS-LOCKDOWN" not in rep["rules_undone"]
    assert "IMDS lock-down: not active" in rep["status_undone"]
    assert rep["conf_after_undo"] == "#!/usr/sbin/nft -f\nflush ruleset\n"

    # No user at all: the endpoint is closed for everyone (after boot), then reopened.
    assert_all(rep["nobody_allowed"], "root", lambda k, v: v == REFUSED)
    assert_all(rep["nobody_allowed"], "nobody", lambda k, v: v == REFUSED)
    assert_all(rep["final"], "nobody", served)


def test_serve_uid_allow_list_over_loopback_ipv4_and_ipv6(awsid_bin: Path, tmp_path: Path):
    rep = run_scenario(awsid_bin, tmp_path, "allow-list")["allow_root"]
    assert_all(rep, "root", lambda k, v: v.startswith("200 i-"))
    # Refused with the real service's 403 page, on the metadata addresses and on loopback.
    assert_all(rep, "nobody", lambda k, v: v.startswith("403 ") and "403 - Forbidden" in v)
    assert {k.split("@")[1] for k in rep} == {
        "169.254.169.254", "[fd00:ec2::254]", "127.0.0.1", "[::1]"}


def test_dry_run_needs_no_privileges(awsid_bin: Path, tmp_path: Path):
    """`--dry-run` prints the rules for either backend without root or a firewall."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    cmd = [str(awsid_bin), "imds", "lockdown", "--dry-run", "--persist-root", str(tmp_path)]
    if os.geteuid() == 0 and shutil.which("setpriv"):
        tmp_path.chmod(0o755)
        cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] + cmd
    nft = subprocess.run(cmd + ["--backend", "nft", "root", "0"], capture_output=True,
                         text=True, env=env)
    assert nft.returncode == 0, nft.stderr
    assert "allowed: root (uid 0)\n" in nft.stdout  # duplicates dropped
    assert "\t\tct state new ct direction original ct original ip daddr @metadata_ipv4 " \
           "meta skuid { 0 } accept\n" in nft.stdout
    assert nft.stdout.endswith("# not kept across reboots: no nftables configuration file "
                               f"({tmp_path}/etc/nftables.conf, "
                               f"{tmp_path}/etc/sysconfig/nftables.conf)\n")
    ipt = subprocess.run(cmd + ["--backend", "iptables", "--no-persist"], capture_output=True,
                         text=True, env=env)
    assert ipt.returncode == 0, ipt.stderr
    assert "allowed: nobody (every user is refused)" in ipt.stdout
    assert "RETURN" not in ipt.stdout
    bad = subprocess.run(cmd + ["no-such-user-awsid"], capture_output=True, text=True, env=env)
    assert bad.returncode == 252
    assert "unknown user 'no-such-user-awsid'" in bad.stderr
