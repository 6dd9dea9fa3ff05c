"""`awsid vault` with the desktop keyring as the session's key holder
(`AWSID_VAULT_KEYRING=secret-service`), proven against a real Secret Service: GNOME Keyring
(`gnome-keyring-daemon --components=secrets`, its login keyring unlocked non-interactively from
stdin) on a D-Bus session bus the test starts and stops. The aws CLI calls STS through
`credential_process = awsid credential-process --profile vaulted` 50 times with one passphrase
prompt; `secret-tool` (libsecret, a client nobody here wrote) sees awsid's item; the secret and
the data key are nowhere in plain text; and a missing or silent Secret Service is a clear,
bounded error while the headless agent path keeps working.

Needs dbus-daemon, dbus-send, gnome-keyring-daemon and secret-tool (./scripts/test installs
them when root, and fails without them); a missing one FAILS the suite, it is never skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pexpect
import pytest

from serve_fixtures import USER1_KEY, start_server, stop_server
from test_vault import (PASSPHRASE, USER1_ARN, add_from_profile, agent_pids, files_containing,
                        spawn, vault_env, write_profiles)

KEYRING_PASSWORD = "login keyring password"
TOOLS = {
    "dbus-daemon": "dbus-daemon",
    "dbus-send": "dbus-bin",
    "gnome-keyring-daemon": "gnome-keyring",
    "secret-tool": "libsecret-tools",
}


def require_tools() -> None:
    """Fails (never skips) when a tool is missing: ./scripts/test installs them when root."""
    missing = [(t, p) for t, p in TOOLS.items() if shutil.which(t) is None]
    if missing:
        what = ", ".join(f"{t} (apt-get install {p})" for t, p in missing)
        pytest.fail(f"the Secret Service suite needs {what}; ./scripts/test installs them when "
                    "root", pytrace=False)


def bus_config(root: Path, services: Path, extra: str = "") -> Path:
    conf = root / "bus.conf"
    conf.write_text(f"""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={root}/bus</listen>
  <servicedir>{services}</servicedir>
  {extra}
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
""")
    return conf


@dataclass
class Bus:
    """A private D-Bus session bus (and, when started, GNOME Keyring on it)."""
    root: Path
    address: str
    daemon: subprocess.Popen
    keyring: subprocess.Popen | None = None

    def env(self) -> dict[str, str]:
        return {"DBUS_SESSION_BUS_ADDRESS": self.address}

    def has_owner(self, name: str) -> bool:
        r = subprocess.run(
            ["dbus-send", f"--bus={self.address}", "--print-reply",
             "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
             "org.freedesktop.DBus.NameHasOwner", f"string:{name}"],
            capture_output=True, text=True, timeout=10)
        return "boolean true" in r.stdout

    def start_keyring(self, home: Path) -> None:
        """gnome-keyring-daemon --unlock (the login keyring's password on stdin), secrets only."""
        env = dict(os.environ, HOME=str(home), XDG_RUNTIME_DIR=str(self.root),
                   DBUS_SESSION_BUS_ADDRESS=self.address)
        env.pop("XDG_DATA_HOME", None)
        self.keyring = subprocess.Popen(
            ["gnome-keyring-daemon", "--unlock", "--components=secrets", "--foreground"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        assert self.keyring.stdin is not None
        self.keyring.stdin.write(KEYRING_PASSWORD.encode())
        self.keyring.stdin.close()
        deadline = time.monotonic() + 30
        while not self.has_owner("org.freedesktop.secrets"):  # readiness, not a fixed sleep
            assert self.keyring.poll() is None, "gnome-keyring-daemon exited"
            assert time.monotonic() < deadline, "gnome-keyring-daemon never took its bus name"
            time.sleep(0.05)

    def stop_keyring(self) -> None:
        if self.keyring is not None:
            self.keyring.terminate()
            try:
                self.keyring.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.keyring.kill()
                self.keyring.wait()
            self.keyring = None

    def stop(self) -> None:
        self.stop_keyring()
        self.daemon.terminate()
        try:
            self.daemon.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.daemon.kill()
            self.daemon.wait()


def start_bus(root: Path, services: Path | None = None, extra: str = "") -> Bus:
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    services = services or root / "services"
    services.mkdir(exist_ok=True)
    conf = bus_config(root, services, extra)
    daemon = subprocess.Popen(
        ["dbus-daemon", f"--config-file={conf}", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert daemon.stdout is not None
    address = daemon.stdout.readline().strip()  # printed once it listens
    assert address.startswith("unix:"), address
    return Bus(root, address, daemon)


@pytest.fixture
def served(awsid_bin: Path, tmp_path: Path):
    s = start_server(awsid_bin, tmp_path / "server")
    yield s
    stop_server(s)


@pytest.fixture
def bus(tmp_path: Path):
    require_tools()
    b = start_bus(tmp_path / "dbus")
    yield b
    b.stop()


def secret_tool(bus: Bus, home: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, HOME=str(home), DBUS_SESSION_BUS_ADDRESS=bus.address)
    return subprocess.run(["secret-tool", *args], env=env, capture_output=True, timeout=30)


def vault_id(home: Path) -> str:
    doc = json.loads((home / ".local/share/awsid/vault.json").read_text())
    return doc["id"]


def test_aws_cli_with_the_key_in_gnome_keyring_50_calls_one_prompt(
        served, bus: Bus, awsid_bin: Path, aws_bin: Path, home: Path):
    bus.start_keyring(home)
    write_profiles(home)
    env = vault_env(served, home, awsid_bin, aws_bin)
    env.update(bus.env(), AWSID_VAULT_KEYRING="secret-service")
    add_from_profile(awsid_bin, env, home)
    vid = vault_id(home)
    vault_path = home / ".local/share/awsid/vault.json"

    # The item, as libsecret's secret-tool sees it: awsid's attributes, the vault's path.
    found = secret_tool(bus, home, "search", "--all", "application", "awsid")
    listing = (found.stdout + found.stderr).decode(errors="replace")  # attributes: stderr
    assert f"attribute.awsid-vault-id = {vid}" in listing, listing
    assert f"attribute.awsid-vault-path = {vault_path}" in listing, listing
    assert f"label = awsid vault key ({vault_path})" in listing, listing
    data_key = secret_tool(bus, home, "lookup", "application", "awsid", "awsid-vault-id", vid).stdout
    assert len(data_key) == 32

    # `vault lock` deletes the item; the next call asks once, the 49 others do not.
    r = subprocess.run([str(awsid_bin), "vault", "lock"], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert secret_tool(bus, home, "lookup", "awsid-vault-id", vid).stdout == b""
    script = (
        "for i in $(seq 50); do aws sts get-caller-identity --profile vaulted "
        "--query Arn --output text || echo CALL-FAILED; done; echo ALL-DONE"
    )
    child = spawn("bash", ["-c", script], env, home)
    child.expect("Vault passphrase")
    child.sendline(PASSPHRASE)
    child.expect("ALL-DONE", timeout=600)
    transcript = child.before
    child.expect(pexpect.EOF)
    assert "CALL-FAILED" not in transcript, transcript[-2000:]
    assert transcript.count(USER1_ARN) == 50, transcript[-2000:]
    assert "Vault passphrase" not in transcript
    assert agent_pids(home.parent / "run") == [], "an agent was started despite secret-service"

    # A new process with no terminal at all gets the key from the keyring (once per session).
    r = subprocess.run([str(awsid_bin), "credential-process", "--profile", "vaulted"], env=env,
                       capture_output=True, text=True, start_new_session=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["SecretAccessKey"] == USER1_KEY[1]
    status = subprocess.run([str(awsid_bin), "vault", "status"], env=env, capture_output=True,
                            text=True, check=True).stdout
    assert "Secret Service: holds the unlocked key (AWSID_VAULT_KEYRING=secret-service" in status

    # Nothing in plain text: not the AWS secret, not the data key (GNOME Keyring keeps awsid's
    # item in its in-memory session collection), not in any environment.
    data_key = secret_tool(bus, home, "lookup", "awsid-vault-id", vid).stdout
    assert len(data_key) == 32
    assert files_containing(home, USER1_KEY[1].encode()) == []
    assert files_containing(home, data_key) == []
    assert (home / ".local/share/keyrings/login.keyring").exists()  # the keyring's own file
    assert USER1_KEY[1] not in json.dumps(env)
    assert bus.keyring is not None
    keyring_environ = Path(f"/proc/{bus.keyring.pid}/environ").read_bytes()
    assert USER1_KEY[1].encode() not in keyring_environ and data_key not in keyring_environ

    # A new login session (the keyring restarted): the session collection is gone, so the key
    # is too, and a call without a terminal says how to unlock.
    bus.stop_keyring()
    bus.start_keyring(home)
    r = subprocess.run([str(awsid_bin), "credential-process", "--profile", "vaulted"], env=env,
                       capture_output=True, text=True, start_new_session=True, timeout=60)
    assert r.returncode != 0 and "awsid vault unlock" in r.stderr, r.stderr
    r = subprocess.run([str(awsid_bin), "vault", "unlock", "--passphrase-stdin"], env=env,
                       input=PASSPHRASE + "\n", capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "kept by the Secret Service" in r.stderr and "until `awsid vault lock`" in r.stderr
    r = subprocess.run([str(aws_bin), "sts", "get-caller-identity", "--profile", "vaulted"],
                       env=env, capture_output=True, text=True, start_new_session=True)
    assert r.returncode == 0 and json.loads(r.stdout)["Arn"] == USER1_ARN, r.stderr
    subprocess.run([str(awsid_bin), "vault", "lock"], env=env, check=True, capture_output=True)
    assert secret_tool(bus, home, "lookup", "awsid-vault-id", vid).stdout == b""


def test_no_secret_service_is_a_clear_quick_error_and_the_agent_still_works(
        served, bus: Bus, awsid_bin: Path, aws_bin: Path, home: Path, tmp_path: Path):
    write_profiles(home)
    env = vault_env(served, home, awsid_bin, aws_bin)
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    add = dict(env, AWS_ACCESS_KEY_ID=USER1_KEY[0], AWS_SECRET_ACCESS_KEY=USER1_KEY[1])
    r = subprocess.run([str(awsid_bin), "vault", "add", "vaulted", "--env", "--passphrase-stdin"],
                       env=add, input=PASSPHRASE + "\n", capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    unlock = [str(awsid_bin), "vault", "unlock", "--passphrase-stdin"]

    # No bus at all: what was looked for.
    no_bus = dict(env, AWSID_VAULT_KEYRING="secret-service")
    r = subprocess.run(unlock, env=no_bus, input=PASSPHRASE + "\n", capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 253, r.stderr
    assert ("AWSID_VAULT_KEYRING=secret-service, but no D-Bus session bus: "
            "DBUS_SESSION_BUS_ADDRESS is not set and there is no "
            f"{env['XDG_RUNTIME_DIR']}/bus") in r.stderr, r.stderr
    assert "unset AWSID_VAULT_KEYRING to use the vault agent" in r.stderr

    # A bus on which nothing provides org.freedesktop.secrets: said at once.
    on_bus = dict(no_bus, **bus.env())
    start = time.monotonic()
    r = subprocess.run(unlock, env=on_bus, input=PASSPHRASE + "\n", capture_output=True,
                       text=True, timeout=30)
    assert time.monotonic() - start < 4.5
    assert r.returncode == 253, r.stderr
    assert (f"no Secret Service on the D-Bus session bus ({bus.address}): nothing owns or can "
            "start org.freedesktop.secrets") in r.stderr, r.stderr
    assert USER1_KEY[1] not in r.stderr and PASSPHRASE not in r.stderr

    # A service that never answers (its activation hangs): bounded, never a hang.
    hung_root = tmp_path / "hung"
    services = hung_root / "services"
    services.mkdir(parents=True)
    (services / "org.freedesktop.secrets.service").write_text(
        "[D-BUS Service]\nName=org.freedesktop.secrets\nExec=/bin/sleep 9\n")
    hung = start_bus(hung_root, services, '<limit name="service_start_timeout">8000</limit>')
    try:
        start = time.monotonic()
        r = subprocess.run(unlock, env=dict(no_bus, DBUS_SESSION_BUS_ADDRESS=hung.address),
                           input=PASSPHRASE + "\n", capture_output=True, text=True, timeout=60)
        took = time.monotonic() - start
    finally:
        hung.stop()
    assert r.returncode == 253, r.stderr
    assert ("the Secret Service (org.freedesktop.secrets) did not answer a connection within "
            "5 s") in r.stderr, r.stderr
    assert 4.5 < took < 8, took

    # The headless path (the agent, no D-Bus at all) keeps working.
    subprocess.run([str(awsid_bin), "vault", "lock"], env=env, check=True, capture_output=True)
    r = subprocess.run(unlock, env=env, input=PASSPHRASE + "\n", capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([str(aws_bin), "sts", "get-caller-identity", "--profile", "vaulted"],
                       env=env, capture_output=True, text=True, start_new_session=True)
    assert r.returncode == 0 and json.loads(r.stdout)["Arn"] == USER1_ARN, r.stderr
    subprocess.run([str(awsid_bin), "vault", "lock"], env=env, check=True, capture_output=True)


def test_bus_fixture_cleans_up(tmp_path: Path):
    """The private bus and keyring are stopped: no stray daemons survive a test."""
    require_tools()
    b = start_bus(tmp_path / "dbus")
    home = tmp_path / "home"
    home.mkdir()
    b.start_keyring(home)
    pids = (b.daemon.pid, b.keyring.pid if b.keyring else 0)
    b.stop()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
