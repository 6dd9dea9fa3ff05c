#!/usr/bin/env python3
"""Refresh storms, awsid against the aws CLI: 32 processes started at the same instant (behind a
flock gate, released once all 32 wait on it), the calls they cause counted at `awsid serve`
(`GET /metrics`), and the processes that fail. What tests/python/test_single_flight.py asserts
for awsid, recorded here next to what the reference does in the same storm.

Storms (each repeated --rounds times on a fresh home):

* role-empty   two-hop role profile (user1 -> marketingadminrole -> defaultrole), empty cache;
* role-expiry  the same with both cached hops 10 minutes from expiry (inside the refresh window);
* sso-expired  an sso-session token whose access token has expired (refresh token valid), 32
               processes over four SSO roles, no role credentials cached.

awsid runs `awsid credential-process --profile P`; the aws CLI (awscli 1.45.11 from the test
venv) runs `aws sts get-caller-identity --profile P` (its own resolution, with its
~/.aws/cli/cache). The aws CLI v2 on this machine (2.9.19) cannot be pointed at a local STS or
SSO endpoint for its credential providers (service endpoint variables came in 2.13.0), so it is
not in these storms.

Usage: target/venv/bin/python bench/storm/run.py [--rounds N] [--awsid PATH] [--aws PATH]
Writes bench/out/storm/results.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "python"))

from serve_fixtures import start_server, stop_server  # noqa: E402
from storm import Gate, calls, delta  # noqa: E402
from test_single_flight import SSO_CONFIG, SSO_ROLES, expire_soon, make_home  # noqa: E402
from test_sso_seed import SESSION_TOKEN_FILE, device_login, sso_env, token_file  # noqa: E402

PROCESSES = 32


def storm(gate_dir: Path, commands: list[list[str]], env: dict) -> list[int]:
    """Runs the commands started at one instant; returns their exit statuses."""
    gate = Gate(gate_dir / f"gate-{len(list(gate_dir.iterdir()))}")
    procs = [gate.start(argv, env) for argv in commands]
    gate.open()
    codes = []
    for p in procs:
        p.communicate(timeout=600)
        codes.append(p.returncode)
    return codes


def role_storm(served, work: Path, awsid: str, aws: str, client: str, near_expiry: bool) -> dict:
    home = make_home(work, f"home-{client}-{near_expiry}-{len(list(work.iterdir()))}")
    env = served.client_env(home)
    command = (
        [awsid, "credential-process", "--profile", "hop2"]
        if client == "awsid"
        else [aws, "sts", "get-caller-identity", "--profile", "hop2", "--output", "json"]
    )
    if near_expiry:
        storm(work, [command], env)  # fill the cache once
        expire_soon(home)
    before = calls(served.api)
    codes = storm(work, [command] * PROCESSES, env)
    made = delta(before, calls(served.api))
    return {"AssumeRole": made.get(("sts", "AssumeRole"), 0), "failed": sum(c != 0 for c in codes)}


def sso_storm(served, work: Path, awsid: str, aws: str, client: str, home: Path) -> dict:
    env = sso_env(served, home)
    path = token_file(home, SESSION_TOKEN_FILE)
    token = json.loads(path.read_text())
    past = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    path.write_text(json.dumps(token | {"expiresAt": past}))
    shutil.rmtree(home / ".aws" / "cli", ignore_errors=True)
    commands = []
    for i in range(PROCESSES):
        profile = f"r{i % len(SSO_ROLES)}"
        commands.append(
            [awsid, "credential-process", "--profile", profile]
            if client == "awsid"
            else [aws, "sts", "get-caller-identity", "--profile", profile, "--output", "json"]
        )
    before = calls(served.api)
    codes = storm(work, commands, env)
    made = delta(before, calls(served.api))
    after = json.loads(path.read_text())
    valid = dt.datetime.fromisoformat(after["expiresAt"].replace("Z", "+00:00").replace("UTC", "+00:00"))
    return {
        "CreateToken": made.get(("sso-oidc", "CreateToken"), 0),
        "GetRoleCredentials": made.get(("sso", "GetRoleCredentials"), 0),
        "failed": sum(c != 0 for c in codes),
        "token valid after": valid > dt.datetime.now(dt.timezone.utc),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--awsid", default=str(REPO / "target" / "debug" / "awsid"))
    ap.add_argument("--aws", default=shutil.which("aws"))
    args = ap.parse_args()
    out = REPO / "bench" / "out" / "storm"
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, list]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        served = start_server(Path(args.awsid), work / "serve")
        runs = work / "runs"
        runs.mkdir()
        try:
            for client in ("awsid", "aws"):
                for name, near in (("role-empty", False), ("role-expiry", True)):
                    for _ in range(args.rounds):
                        r = role_storm(served, runs, args.awsid, args.aws, client, near)
                        for k, v in r.items():
                            results.setdefault(f"{name} {client}", {}).setdefault(k, []).append(v)
                home = work / f"sso-{client}"
                (home / ".aws").mkdir(parents=True)
                (home / ".aws" / "config").write_text(SSO_CONFIG)
                rc, _, err = device_login(Path(args.awsid), served, sso_env(served, home), "r0")
                assert rc == 0, err
                for _ in range(args.rounds):
                    r = sso_storm(served, runs, args.awsid, args.aws, client, home)
                    for k, v in r.items():
                        results.setdefault(f"sso-expired {client}", {}).setdefault(k, []).append(v)
        finally:
            stop_server(served)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    print(f"| storm ({PROCESSES} processes, {args.rounds} rounds) | calls per round | failed processes per round |")
    print("|---|---|---|")
    for name, series in results.items():
        counted = {k: v for k, v in series.items() if k not in ("failed", "token valid after")}
        shown = ", ".join(
            f"{k} {min(v)}–{max(v)} (median {statistics.median(v):g})" if min(v) != max(v) else f"{k} {v[0]}"
            for k, v in counted.items()
        )
        failed = series["failed"]
        extra = ""
        if "token valid after" in series:
            extra = f"; token valid after: {sum(series['token valid after'])}/{len(failed)}"
        print(f"| {name} | {shown} | {min(failed)}–{max(failed)}{extra} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
