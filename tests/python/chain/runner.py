"""Runs one side of a chain case: a throw-away HOME holding the case's files, a fresh fake
endpoint server, the tool, and what came out (credentials or error, STS calls, IMDS/ECS
requests, cache files).
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .cases import CLOSED_URL, Case
from .driver import MARKER
from .fakes import FakeEndpoints, World

DRIVER = Path(__file__).with_name("driver.py")
AWSID_PREFIX = "Unable to retrieve credentials: "
NO_CREDENTIALS = "no credentials found"


@dataclass
class Outcome:
    """What one tool made of one case (HOME replaced by `<HOME>` in every text)."""

    ok: bool
    access_key: str | None = None
    secret_key: str | None = None
    token: str | None = None
    expiry: str | None = None
    message: str | None = None  # the inner error message
    phase: str | None = None  # reference only: resolve | fetch
    method: str | None = None  # reference only: the provider that found the credentials
    exit_code: int = 0
    stdout: str = ""
    stderr: str = ""
    shape_problems: list[str] = field(default_factory=list)  # awsid output not as promised
    sts_calls: list[dict] = field(default_factory=list)
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    cache: dict[str, str | None] = field(default_factory=dict)  # file -> cached AccessKeyId
    # reference only (driver trace): providers whose load ran, the assume-role walk, its base
    tried: list[str] | None = None
    visited: list[str] | None = None
    base: str | None = None

    def credentials(self) -> tuple:
        return (self.access_key, self.secret_key, self.token, self.expiry)

    def summary(self) -> str:
        lines = [f"    exit {self.exit_code}"]
        if self.ok:
            lines.append(f"    credentials: key={self.access_key} token={'yes' if self.token else 'no'} expiry={self.expiry}"
                         + (f" method={self.method}" if self.method else ""))
        else:
            lines.append(f"    error ({self.phase or 'resolve'}): {self.message!r}")
        lines.append(f"    stderr: {self.stderr!r}")
        lines.extend(f"    sts: {c}" for c in self.sts_calls)
        lines.extend(f"    {k}: {m} {p}" for k, m, p in self.requests)
        lines.extend(f"    cache: {name} -> {key}" for name, key in sorted(self.cache.items()))
        return "\n".join(lines)


def fill(text: str, home: Path, fake: FakeEndpoints) -> str:
    """Replaces the case placeholders for one run."""
    return (
        text.replace("{home}", str(home))
        .replace("{sts}", fake.sts_url)
        .replace("{imds}", fake.imds_url)
        .replace("{ecs}", fake.ecs_url)
        .replace("{closed}", CLOSED_URL)
    )


def prepare_home(case: Case, home: Path, fake: FakeEndpoints) -> None:
    """Writes the case's files (0600) and scripts (0700) under a new HOME."""
    home.mkdir(parents=True, exist_ok=True)
    for rel, text in case.rendered_files().items():
        path = home / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(fill(text, home, fake), encoding="utf-8")
        path.chmod(0o600)
    for rel, text in case.scripts.items():
        path = home / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        path.chmod(0o700)


def child_env(case_env: dict[str, str], case: Case, home: Path, fake: FakeEndpoints) -> dict[str, str]:
    """The run's environment: nothing AWS-related from the caller, HOME, IMDS pointed at the
    fake (or disabled), then the case's variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BOTO_", "_AWS_"))}
    env = {k: v for k, v in env.items() if k.lower() not in ("http_proxy", "https_proxy", "no_proxy", "all_proxy")}
    env.update(HOME=str(home), AWS_PAGER="", LC_ALL="C.UTF-8")
    # Anything not addressed to 127.0.0.1 goes to the fake as a proxy, which refuses it and
    # records the attempt: a mis-generated case cannot reach a real AWS endpoint.
    env.update(HTTP_PROXY=fake.base_url, HTTPS_PROXY=fake.base_url, NO_PROXY="127.0.0.1,localhost")
    if case.imds_mode == "disabled":
        env["AWS_EC2_METADATA_DISABLED"] = "true"
    else:
        env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = fake.imds_url
    env.update({k: fill(v, home, fake) for k, v in case_env.items()})
    return env


def read_cache(home: Path) -> dict[str, str | None]:
    """`~/.aws/cli/cache/*.json` -> the cached access key id (None if unreadable); checks 0600."""
    out: dict[str, str | None] = {}
    cache = home / ".aws" / "cli" / "cache"
    if not cache.is_dir():
        return out
    for path in sorted(cache.glob("*.json")):
        try:
            key = json.loads(path.read_text())["Credentials"]["AccessKeyId"]
        except (ValueError, KeyError, TypeError):
            key = None
        mode = stat.S_IMODE(path.stat().st_mode)
        out[path.name] = key if mode == 0o600 else f"{key} (mode {mode:o})"
    return out


def _world(case: Case, anchor: int, *, tunnels: bool = False) -> World:
    return World(anchor=anchor, imds_mode="ok" if case.imds_mode == "disabled" else case.imds_mode,
                 ecs_token=case.ecs_token, imds_zone=case.imds_zone, tunnels=tunnels)


def _finish(outcome: Outcome, fake: FakeEndpoints, home: Path) -> Outcome:
    outcome.sts_calls = [c.comparable() for c in fake.world.sts_calls]
    outcome.requests = list(fake.world.requests)
    outcome.cache = read_cache(home)
    return outcome


def _scrub(text: str, home: Path, fake: FakeEndpoints) -> str:
    return text.replace(str(home), "<HOME>").replace(fake.base_url, "<FAKE>")


def parse_reference(stdout: str, stderr: str, code: int) -> Outcome:
    """The driver's result line."""
    for line in stdout.splitlines():
        if line.startswith(MARKER):
            data = json.loads(line[len(MARKER):])
            break
    else:
        return Outcome(ok=False, message=f"driver printed no result (exit {code})", exit_code=code,
                       stdout=stdout, stderr=stderr, phase="crash")
    trace = {"tried": data.get("tried"), "visited": data.get("visited"), "base": data.get("base")}
    if data["ok"]:
        return Outcome(ok=True, access_key=data["access_key"], secret_key=data["secret_key"],
                       token=data["token"], expiry=data["expiry"], method=data["method"],
                       exit_code=code, stdout=stdout, stderr=stderr, **trace)
    return Outcome(ok=False, message=data["message"], phase=data["phase"], method=data["type"],
                   exit_code=code, stdout=stdout, stderr=stderr, **trace)


ERROR_PREFIX = "awsid: [ERROR]: "
CONFIGURATION = "An error occurred (Configuration): "
DETAILS = "\n\nAdditional error details:\n"
NO_REGION_HINT = ' You can also configure your region by running "aws configure".'
# Exit statuses of v2's handlers for what escapes `export-credentials` unwrapped, by the
# botocore exception (`awscli/errorhandler.py`); the rest is GeneralExceptionHandler's 255.
UNWRAPPED_EXIT = {"ClientError": 254, "NoRegionError": 253, "ParamValidationError": 252}


def parse_awsid(stdout: str, stderr: str, code: int) -> Outcome:
    """`export-credentials --format process` output, or its error report in v2's writer:
    `\\nawsid: [ERROR]: An error occurred (Configuration): Unable to retrieve credentials:
    <message>\\n` (exit 253) for errors of resolution, the bare error (its v2 exit status) for
    errors of the deferred fetch, and awsid's `Additional error details:` naming the profile
    and the provider."""
    if code == 0:
        out = Outcome(ok=True, exit_code=code, stdout=stdout, stderr=stderr)
        try:
            doc = json.loads(stdout)
        except ValueError as e:
            out.shape_problems.append(f"stdout is not JSON: {e}")
            return out
        if doc.get("Version") != 1 or list(doc)[:3] != ["Version", "AccessKeyId", "SecretAccessKey"]:
            out.shape_problems.append(f"unexpected process document keys {list(doc)}")
        out.access_key, out.secret_key = doc.get("AccessKeyId"), doc.get("SecretAccessKey")
        out.token, out.expiry = doc.get("SessionToken"), doc.get("Expiration")
        return out
    out = Outcome(ok=False, exit_code=code, stdout=stdout, stderr=stderr)
    if not stderr.startswith("\n" + ERROR_PREFIX):
        out.shape_problems.append(f"stderr does not start with {chr(10) + ERROR_PREFIX!r}")
    text = stderr[1 + len(ERROR_PREFIX):] if stderr.startswith("\n" + ERROR_PREFIX) else stderr
    body, _, details = text.partition(DETAILS)
    body = body.rstrip("\n")
    if body == CONFIGURATION + AWSID_PREFIX + NO_CREDENTIALS:
        out.phase, out.message = "resolve", NO_CREDENTIALS  # nothing failed: no provider to name
        if details:
            out.shape_problems.append("details after 'no credentials found'")
    elif body.startswith(AWSID_PREFIX) and "could not be found" in body:
        # The selected profile does not exist, so v2 cannot read its `cli_error_format` and
        # writes the error in the legacy form (no code, no details).
        out.phase, out.message = "resolve", body[len(AWSID_PREFIX):]
        if details:
            out.shape_problems.append("details in the legacy form")
    else:
        if not re.match(r"Profile: [^\n]*\n(Provider: [^\n]*\n)?$", details):
            out.shape_problems.append(f"no 'Profile:'/'Provider:' error details at the end of stderr: {details!r}")
        if body.startswith(CONFIGURATION + AWSID_PREFIX):
            out.phase, out.message = "resolve", body[len(CONFIGURATION + AWSID_PREFIX):]
            if code != 253:
                out.shape_problems.append(f"exit status {code}, expected 253")
        else:
            out.phase = "fetch"
            for code_name in ("NoRegion", "ParamValidation"):
                body = body.removeprefix(f"An error occurred ({code_name}): ")
            out.message = body.removesuffix(NO_REGION_HINT)
    return out


def parse_v2(stdout: str, stderr: str, code: int) -> Outcome:
    """`aws configure export-credentials` of Debian's v2 (2.9.19, before the 2.34 error
    writer): the process document, or `\\n<message>\\n` — `Unable to retrieve credentials:
    <message>\\n` (exit 253) for errors of `get_credentials()`, the bare exception text for
    errors of the deferred fetch (with `NoRegionErrorHandler`'s hint)."""
    if code == 0:
        out = parse_awsid(stdout, "", 0)
        out.stderr = stderr
        return out
    out = Outcome(ok=False, exit_code=code, stdout=stdout, stderr=stderr)
    body = stderr.strip("\n")
    if code == 253 and body.startswith(AWSID_PREFIX):
        out.phase, out.message = "resolve", body[len(AWSID_PREFIX):].strip()
    else:
        out.phase, out.message = "fetch", body.removesuffix(NO_REGION_HINT)
    return out


def run_v2(case: Case, home: Path, anchor: int, *, server=None, aws_v2: Path | None = None) -> Outcome:
    """Debian's aws CLI v2 (`configure export-credentials`) on the case, in a fork of `server`
    (`v2_forkserver.ForkServer`) or as the binary `aws_v2`. Its STS calls reach the fake
    through the TLS tunnel (2.9.19 has no `AWS_ENDPOINT_URL_STS`)."""
    from tls_intercept import authority
    from v2_forkserver import run_binary

    with FakeEndpoints(_world(case, anchor, tunnels=True)) as fake:
        prepare_home(case, home, fake)
        env = child_env(case.env, case, home, fake)
        env["AWS_CA_BUNDLE"] = str(authority().ca_file)
        argv = ["configure", "export-credentials", *case.argv]
        if server is not None:
            stdout, stderr, code = server.run(argv, env, home, home.parent)
        else:
            assert aws_v2 is not None
            stdout, stderr, code = run_binary(aws_v2, argv, env, home)
        out = parse_v2(_scrub(stdout, home, fake), _scrub(stderr, home, fake), code)
        return _finish(out, fake, home)


class ForkServer:
    """`driver.py --serve`: one interpreter with the CLI imported, forking a child per case (see
    the driver's docstring). One request at a time; use one server per worker thread."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen([sys.executable, str(DRIVER), "--serve"], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True)
        self._lock = threading.Lock()

    def run(self, argv: list[str], env: dict[str, str], cwd: Path, outdir: Path) -> tuple[str, str, int]:
        """Runs the driver with `argv` in `env`/`cwd`; returns (stdout, stderr, exit status)."""
        out, err = outdir / "driver.stdout", outdir / "driver.stderr"
        request = {"argv": argv, "env": env, "cwd": str(cwd), "stdout": str(out), "stderr": str(err)}
        with self._lock:
            assert self._proc.stdin and self._proc.stdout
            self._proc.stdin.write(json.dumps(request) + "\n")
            self._proc.stdin.flush()
            line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"driver fork server exited with status {self._proc.wait()}")
        return out.read_text(), err.read_text(), json.loads(line)["status"]

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait(timeout=30)


def run_reference(case: Case, home: Path, anchor: int, *, fresh: bool = True,
                  server: ForkServer | None = None) -> Outcome:
    """The botocore driver (the aws CLI's session) on the case, in a fork of `server` or in a new
    interpreter; `fresh=False` re-uses `home`."""
    with FakeEndpoints(_world(case, anchor)) as fake:
        if fresh:
            prepare_home(case, home, fake)
        env = child_env(case.reference_env(), case, home, fake)
        if server is not None:
            stdout, stderr, code = server.run(case.argv, env, home, home.parent)
        else:
            proc = subprocess.run([sys.executable, str(DRIVER), *case.argv], env=env, cwd=home,
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
            stdout, stderr, code = proc.stdout, proc.stderr, proc.returncode
        out = parse_reference(_scrub(stdout, home, fake), _scrub(stderr, home, fake), code)
        return _finish(out, fake, home)


def run_awsid(awsid: str, case: Case, home: Path, anchor: int, *, fresh: bool = True) -> Outcome:
    """`awsid configure export-credentials` on the case; `fresh=False` re-uses `home`."""
    with FakeEndpoints(_world(case, anchor)) as fake:
        if fresh:
            prepare_home(case, home, fake)
        env = child_env(case.env, case, home, fake)
        proc = subprocess.run([awsid, "configure", "export-credentials", *case.argv], env=env,
                              cwd=home, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=120)
        out = parse_awsid(_scrub(proc.stdout, home, fake), _scrub(proc.stderr, home, fake), proc.returncode)
        return _finish(out, fake, home)
