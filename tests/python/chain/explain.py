"""The `awsid explain` side of the chain corpus: `awsid explain --output json` on a case, run with
every endpoint (STS, IMDS, ECS, and HTTP(S)_PROXY for anything else) pointed at a fake that
records what reaches it — explain must reach nothing — and the comparison of its document with
what botocore did on the same case (the driver's `tried` / `visited` / `base` trace).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .cases import Case
from .differences import DIFFERENCES
from .fakes import FakeEndpoints
from .runner import Outcome, _scrub, _world, child_env, prepare_home

SCHEMA = "awsid-explain/1"
SCHEMA_FILE = Path(__file__).resolve().parents[3] / "docs" / "explain.schema.json"


@dataclass
class Explained:
    """What `awsid explain --output json` printed for a case, and what reached the fakes."""

    exit_code: int
    doc: dict | None
    stdout: str
    stderr: str
    contacted: list = field(default_factory=list)  # STS calls and IMDS/ECS/proxy requests

    def summary(self) -> str:
        if self.doc is None:
            return f"    exit {self.exit_code}\n    stdout: {self.stdout!r}\n    stderr: {self.stderr!r}"
        c = self.doc["credentials"]
        lines = [
            f"    exit {self.exit_code}",
            f"    credentials: {c['status']} provider={c['provider']} candidates={c['candidates']}",
            f"    source_profiles: {c['source_profiles']} base={(c['base'] or {}).get('provider')}",
            f"    error: {self.doc['error']}",
        ]
        lines += [f"    {p['provider']:<30} {p['status']:<15} {p['reason']}" for p in self.doc["providers"]]
        lines += [f"    contacted: {x}" for x in self.contacted]
        return "\n".join(lines)


def run_explain(awsid: str, case: Case, home: Path, anchor: int) -> Explained:
    """`awsid explain --output json` with the case's global options, in a fresh HOME."""
    with FakeEndpoints(_world(case, anchor)) as fake:
        prepare_home(case, home, fake)
        env = child_env(case.env, case, home, fake)
        proc = subprocess.run([awsid, "explain", "--output", "json", *case.argv], env=env, cwd=home,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        stdout, stderr = _scrub(proc.stdout, home, fake), _scrub(proc.stderr, home, fake)
        try:
            doc = json.loads(stdout) if proc.returncode == 0 else None
        except ValueError:
            doc = None
        contacted = [("sts", c.comparable()) for c in fake.world.sts_calls] + list(fake.world.requests)
        return Explained(proc.returncode, doc, stdout, stderr, contacted)


def compare_explain(case: Case, ref: Outcome, got: Explained) -> list[str]:
    """Every way explain's document disagrees with what botocore did on `case`."""
    problems: list[str] = []
    if got.contacted:
        problems.append(f"explain made network calls: {got.contacted}")
    if got.doc is None:
        return problems + [f"explain printed no JSON document (exit {got.exit_code})"]
    doc = got.doc
    if doc.get("schema") != SCHEMA:
        problems.append(f"schema {doc.get('schema')!r}")
    if ref.phase == "crash":
        return problems + ["the reference driver crashed"]
    cred, error = doc["credentials"], doc["error"]
    provider = cred["provider"]
    tried = ref.tried or []
    if ref.ok:
        if cred["status"] == "chosen":
            if provider != ref.method:
                problems.append(f"explain chose {provider}, botocore {ref.method}")
        elif cred["status"] == "undetermined":
            if ref.method not in cred["candidates"]:
                problems.append(f"botocore used {ref.method}, not among explain's candidates {cred['candidates']}")
        else:
            problems.append(f"botocore found credentials ({ref.method}), explain says {cred['status']}")
        if error is not None:
            problems.append(f"explain reports an error botocore did not raise: {error}")
    elif ref.message == "no credentials found":
        if cred["status"] not in ("none", "undetermined"):
            problems.append(f"botocore found no credentials, explain says {cred['status']} ({provider})")
    else:
        deciding = tried[-1] if tried else None
        if provider != deciding:
            problems.append(f"the provider that fails in botocore is {deciding} (tried {tried}), explain names {provider}")
        if error is not None:
            if ref.phase == "fetch":
                problems.append(f"explain reports a configuration error for a failure of the service call: {error}")
            checks = [DIFFERENCES[d].messages for d in case.differences if DIFFERENCES[d].messages]
            if checks:
                for check in checks:
                    problems.extend(check(ref.message or "", error["message"]))
            elif error["message"] != ref.message:
                problems.append(f"error message differs:\n      reference {ref.message!r}\n      explain   {error['message']!r}")
    # The source profile chain, wherever botocore walked it to the end.
    method = ref.method if ref.ok else (tried[-1] if tried else None)
    if method == "assume-role" and error is None and ref.visited is not None:
        if cred["source_profiles"] != ref.visited:
            problems.append(f"source profiles: botocore {ref.visited}, explain {cred['source_profiles']}")
        base = (cred["base"] or {}).get("provider")
        if ref.base is not None and base != ref.base:
            problems.append(f"base provider: botocore {ref.base}, explain {base}")
    statuses = [p["status"] for p in doc["providers"]]
    if [p["provider"] for p in doc["providers"]] != PROVIDERS:
        problems.append(f"providers listed {[p['provider'] for p in doc['providers']]}")
    deciding_status = {"chosen", "error"}
    if cred["status"] == "chosen" and sum(s in deciding_status for s in statuses) != 1:
        problems.append(f"{sum(s in deciding_status for s in statuses)} deciding providers: {statuses}")
    return problems


# The aws CLI v2's default chain (botocore's create_credential_resolver + ProfileProviderBuilder).
PROVIDERS = ["env", "assume-role", "assume-role-with-web-identity", "sso", "shared-credentials-file", "login",
             "custom-process", "config-file", "ec2-credentials-file", "boto-config", "container-role", "iam-role"]
