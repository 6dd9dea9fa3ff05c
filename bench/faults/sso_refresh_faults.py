#!/usr/bin/env python3
"""SSO token refresh (SSO-OIDC `CreateToken` with the refresh token) under faults: awsid,
botocore's `SSOTokenProvider` and the AWS SDK for Rust's SSO token provider.

Starts `awsid serve` (default world), logs in once (`awsid sso login --use-device-code`, approved
on the device page) for an `sso_session` profile, then for each (token state, fault): before
every call the cached token's `expiresAt` is moved (the refresh token and the server's session
stay real), the fault is set on the switchboard's `sso-oidc` target (OIDC alone: the portal's
`GetRoleCredentials` still answers), and each client gets the profile's credentials
`--calls` times, each from scratch (a new process or botocore session):

* token states: `10 min left` (inside botocore's and awsid's 15-minute refresh window, outside
  the Rust SDK's 5 minutes), `4 min left` (inside every window), `expired 1 min ago`;
* faults: none, 500 / 503 / 429 at rate 0.5, an outage answering 503 on every call, an outage
  resetting every connection.

Per call: credentials or the error, the `CreateToken` requests the server saw (and the faulty
ones among them), and whether the cache holds a refreshed token afterwards. The server does not
know the cache was edited: a client that goes on with the "expired" token gets credentials
here where the real portal would answer 401 — counted as `used an expired token`.

    target/venv/bin/python bench/faults/sso_refresh_faults.py --bin target/debug/awsid \\
        --sdk target/debug/sdk_credentials --calls 10 --out bench/out/sso_refresh_faults.json
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import sys
import shutil
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(REPO / "bench" / "faults"))
sys.path.insert(0, str(REPO / "bench" / "soak"))

from switchboard_faults import (  # noqa: E402
    FAULTY, ROLE, SSO_CONFIG, USER1, Plane, call_awsid, call_botocore, call_sdk, client_env,
    served_world, sso_login)

STATES = [("10 min left", 600), ("4 min left", 240), ("expired 1 min ago", -60)]
FAULTS = [
    ("no fault", {}),
    ("500, rate 0.5", {"error_rate": 0.5, "error": "internal"}),
    ("503, rate 0.5", {"error_rate": 0.5, "error": "unavailable"}),
    ("429, rate 0.5", {"error_rate": 0.5, "error": "throttling"}),
    ("outage: 503 on every call", {"outage": {"seconds": 3600, "mode": "error"},
                                   "error": "unavailable"}),
    ("outage: connections reset", {"outage": {"seconds": 3600, "mode": "reset"}}),
]


def utc(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=str(REPO / "target" / "debug" / "awsid"))
    parser.add_argument("--sdk", default=str(REPO / "target" / "debug" / "sdk_credentials"))
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--clients", default="awsid,botocore,rust-sdk")
    parser.add_argument("--only", help="cells whose 'state / fault' contains this (| for or)")
    parser.add_argument("--out")
    args = parser.parse_args()
    binary, sdk = Path(args.bin).resolve(), Path(args.sdk).resolve()
    every = {
        "awsid": lambda env: call_awsid(binary, env),
        "botocore": lambda env: call_botocore(env, False),
        "rust-sdk": lambda env: call_sdk(sdk, env, False),
    }
    only = args.only.split("|") if args.only else []
    rows = []
    with served_world(binary) as (work, info):
        plane = Plane(info)
        home = work / "home"
        home.mkdir()
        (home / "config").write_text(
            "[profile role]\nrole_arn = " + ROLE + "\nsource_profile = base\n" + SSO_CONFIG)
        (home / "credentials").write_text(
            f"[base]\naws_access_key_id = {USER1[0]}\naws_secret_access_key = {USER1[1]}\n")
        env = client_env(plane, "sso", home)
        sso_login(binary, env, plane)
        cache = home / ".aws" / "sso" / "cache" / (
            hashlib.sha1(b"my-sso").hexdigest() + ".json")
        assert cache.exists(), list((home / ".aws" / "sso" / "cache").iterdir())
        for state, left in STATES:
            for fault, spec in FAULTS:
                cell = f"{state} / {fault}"
                if only and not any(o in cell for o in only):
                    continue
                for client in args.clients.split(","):
                    plane.clear()
                    if spec:
                        plane.set_fault("sso-oidc", spec)
                    ok_n, refreshed, used_expired, token_reqs, faulty = 0, 0, 0, 0, 0
                    errors: dict[str, int] = {}
                    times = []
                    for _ in range(args.calls):
                        for d in ("cli", "boto"):
                            shutil.rmtree(home / ".aws" / d, ignore_errors=True)
                        token = json.loads(cache.read_text())
                        token["expiresAt"] = utc(time.time() + left)
                        cache.write_text(json.dumps(token))
                        before = cache.read_text()
                        seq = plane.last_seq()
                        start = time.monotonic()
                        ok, err, _ = every[client](env)
                        times.append(time.monotonic() - start)
                        seen = [d for d in plane.since(seq) if d["service"] == "sso"]
                        n_faulty = sum(1 for d in seen if d["action"] in FAULTY)
                        creates = [d for d in seen if d["outcome"] != "injected"
                                   and "CreateToken" in (d["action"] or "")]
                        token_reqs += len(creates) + n_faulty
                        faulty += n_faulty
                        after = json.loads(cache.read_text())
                        was_refreshed = cache.read_text() != before and (
                            after.get("accessToken") != token.get("accessToken"))
                        refreshed += was_refreshed
                        if ok:
                            ok_n += 1
                            if left < 0 and not was_refreshed:
                                used_expired += 1
                        else:
                            errors[err] = errors.get(err, 0) + 1
                    times.sort()
                    row = {
                        "state": state, "fault": fault, "client": client,
                        "calls": args.calls, "credentials": ok_n,
                        "failed": args.calls - ok_n, "refreshed": refreshed,
                        "used_expired_token": used_expired,
                        "create_token_requests": token_reqs, "faulty_answers": faulty,
                        "errors": errors,
                        "seconds_p50": round(times[len(times) // 2], 2),
                        "seconds_max": round(times[-1], 2),
                    }
                    rows.append(row)
                    print(json.dumps(row), flush=True)
        plane.clear()
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
