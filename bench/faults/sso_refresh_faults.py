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

`--long-lived FAULT` (one of LONG_FAULTS) measures long-lived clients instead, in real time:
after the login, one `configure export-credentials` puts the role credentials in the CLI
cache; their `Expiration` is moved to `--role-left` seconds ahead (default 1,020: the
15-minute advisory window opens after 2 min, the 10-minute mandatory one after 7) and the
token's `expiresAt` to `--token-left` (default 360: inside every refresh window, expiring
after 6 min). Then four clients start, each asking for credentials every `--interval` s and
calling STS `GetCallerIdentity` with them (`imds_outage.py`'s clients and summary):

* `awsid-relay`  `awsid serve-credentials --protocol container` over the profile (what a user
                 runs for a long-lived program; `awsid exec --server ecs` is the same relay);
* `awsid`        awsid's chain holder for the profile in a process (`imds_outage_client
                 chain`: `Session::resolve` once, then the holder's `get()` on every call);
* `botocore`     one botocore session's credentials (`RefreshableCredentials` from its
                 `SSOProvider`, the token from `SSOTokenProvider`), the CLI cache set on the
                 provider as v2 sets it, `get_frozen_credentials()` on every call;
* `rust-sdk`     the AWS SDK for Rust's default chain (`imds_outage_client sdk`; it keeps no
                 CLI cache, so it starts with fresh role credentials).

After `--warmup` s the fault is set on the `sso` target (portal and OIDC: `CreateToken` and
`GetRoleCredentials` both fail) or, for the `sso-oidc …` faults, on OIDC alone, for
`--fault-seconds`, then cleared; the clients go on for `--after` s. The server does not know
the cache was edited: credentials past their moved expiry still work at STS, and a token past
its moved `expiresAt` still works at the portal — the summary counts what each client did with
them (`handed_out_expired`, failures while the cached role credentials were still valid).

    nice -n 5 target/venv/bin/python bench/faults/sso_refresh_faults.py --bin target/debug/awsid \\
        --client target/debug/imds_outage_client --long-lived "sso outage: connections reset" \\
        --out bench/out/sso_long_lived_reset.json
"""

from __future__ import annotations

import argparse
import collections
import datetime
import hashlib
import json
import os
import subprocess
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
# `--long-lived`: (name, switchboard target, spec); outages end after --fault-seconds.
LONG_FAULTS = [
    ("sso 500, rate 0.5", "sso", {"error_rate": 0.5, "error": "internal"}),
    ("sso 429, rate 0.5", "sso", {"error_rate": 0.5, "error": "throttling"}),
    ("sso outage: 503 on every call", "sso", {"outage": {"mode": "error"},
                                              "error": "unavailable"}),
    ("sso outage: connections reset", "sso", {"outage": {"mode": "reset"}}),
    ("sso-oidc outage: connections reset", "sso-oidc", {"outage": {"mode": "reset"}}),
]


def utc(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def botocore_long_lived(sts: str, interval: float, total: float) -> None:
    """The long-lived `botocore` client (`--botocore-client`): one session's credentials for
    the environment's profile, asked every `interval` s; JSON lines as imds_outage.py's."""
    import botocore.session
    from botocore.utils import JSONFileCache
    from imds_outage import poll_botocore

    session = botocore.session.Session()
    # v2 keeps SSO role credentials in ~/.aws/cli/cache (the provider's `cache`).
    session.get_component("credential_provider").get_provider("sso").cache = JSONFileCache(
        os.path.expanduser(os.path.join("~", ".aws", "cli", "cache")))

    def load():
        creds = session.get_credentials()
        if creds is None:
            raise RuntimeError("no credentials")
        return creds

    poll_botocore(session, load, sts, interval, total)


def long_lived(args, binary: Path) -> dict:
    """The `--long-lived` run (see the module documentation)."""
    from imds_outage import relay_client, summarize

    name, target, spec = next(f for f in LONG_FAULTS if f[0] == args.long_lived)
    client = Path(args.client).resolve()
    total = args.warmup + args.fault_seconds + args.after
    with served_world(binary) as (work, info):
        plane = Plane(info)
        home = work / "home"
        home.mkdir()
        (home / "config").write_text(SSO_CONFIG)
        env = client_env(plane, "sso", home)
        sso_login(binary, env, plane)
        token_file = home / ".aws" / "sso" / "cache" / (
            hashlib.sha1(b"my-sso").hexdigest() + ".json")
        r = subprocess.run([str(binary), "configure", "export-credentials", "--profile", "user1"],
                           env=env, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise SystemExit(f"export-credentials: {r.stderr}")
        seeded = json.loads(r.stdout)["AccessKeyId"]
        begin = time.time()
        role_expiry = begin + args.role_left
        entries = list((home / ".aws" / "cli" / "cache").glob("*.json"))
        assert entries, "no CLI cache entry for the SSO role credentials"
        for entry in entries:
            doc = json.loads(entry.read_text())
            doc["Credentials"]["Expiration"] = utc(role_expiry)
            entry.write_text(json.dumps(doc))
        token = json.loads(token_file.read_text())
        token["expiresAt"] = utc(begin + args.token_left)
        token_file.write_text(json.dumps(token))
        procs: dict[str, subprocess.Popen] = {}
        outs, errs = {}, {}
        sts = f"http://{plane.api}/"
        try:
            for c in args.clients.split(","):
                outs[c] = open(work / f"{c}.out", "w")
                errs[c] = open(work / f"{c}.err", "w")
                if c == "awsid-relay":
                    procs[c] = relay_client(binary, dict(env, AWS_PROFILE="user1"), work, sts,
                                            args.interval, total, outs[c], errs[c])
                    continue
                cmd = {
                    "awsid": [str(client), "chain", str(args.interval), str(total)],
                    "rust-sdk": [str(client), "sdk", str(args.interval), str(total)],
                    "botocore": [sys.executable, __file__, "--botocore-client", sts,
                                 str(args.interval), str(total)],
                }[c]
                procs[c] = subprocess.Popen(cmd, stdout=outs[c], stderr=errs[c], env=env)
            time.sleep(max(0.0, begin + args.warmup - time.time()))
            spec = dict(spec)
            if "outage" in spec:
                spec["outage"] = dict(spec["outage"], seconds=args.fault_seconds)
            seq = plane.last_seq()
            plane.set_fault(target, spec)
            fault = (time.time(), time.time() + args.fault_seconds)
            print(f"{name} set at {time.strftime('%H:%M:%S', time.gmtime(fault[0]))} UTC for "
                  f"{args.fault_seconds} s", file=sys.stderr, flush=True)
            time.sleep(args.fault_seconds)
            plane.clear()
            seen = [d for d in plane.since(seq) if d["service"] == "sso"]
            time.sleep(max(0.0, begin + total + 2 - time.time()))
            if "awsid-relay" in procs:
                procs["awsid-relay"].terminate()
            for p in procs.values():
                p.wait(timeout=60)
        finally:
            for p in procs.values():
                if p.poll() is None:
                    p.kill()
        summaries = []
        for c in procs:
            outs[c].close()
            errs[c].close()
            rows = [json.loads(line) for line in (work / f"{c}.out").read_text().splitlines()
                    if line.startswith("{")]
            s = summarize(c, rows, (work / f"{c}.err").read_text(), {seeded: role_expiry},
                          fault, args.interval)
            s["failed_while_cached_role_credentials_valid"] = sum(
                1 for r in rows if not r["ok"] and r["t"] < role_expiry)
            # The Rust SDK's row is its chain's `provide_credentials()`; its STS client (the
            # default identity cache in front of the same chain) is called on failures too.
            s["failed_but_sts_client_ok"] = sum(
                1 for r in rows if not r["ok"] and r["sts"] == "ok")
            s["first_failure_s"] = next((round(r["t"] - begin) for r in rows if not r["ok"]),
                                        None)
            s["last_failure_s"] = next((round(r["t"] - begin) for r in reversed(rows)
                                        if not r["ok"]), None)
            summaries.append(s)
            print(json.dumps(s), flush=True)
    injected = collections.Counter(d["action"] for d in seen if d["action"] in FAULTY)
    return {
        "fault": name, "target": target, "started": time.strftime("%H:%M:%S", time.gmtime(begin)),
        "role_left": args.role_left, "token_left": args.token_left, "warmup": args.warmup,
        "fault_seconds": args.fault_seconds, "after": args.after, "interval": args.interval,
        "sso_requests_during_fault": len(seen), "faulty_answers": dict(injected),
        "load_average": os.getloadavg(), "clients": summaries,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=str(REPO / "target" / "debug" / "awsid"))
    parser.add_argument("--sdk", default=str(REPO / "target" / "debug" / "sdk_credentials"))
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--clients", default="awsid,botocore,rust-sdk")
    parser.add_argument("--only", help="cells whose 'state / fault' contains this (| for or)")
    parser.add_argument("--out")
    parser.add_argument("--long-lived", metavar="FAULT", choices=[f[0] for f in LONG_FAULTS],
                        help="run long-lived clients through this fault instead")
    parser.add_argument("--client", default=str(REPO / "target" / "debug" / "imds_outage_client"))
    parser.add_argument("--interval", type=int, default=5)
    parser.add_argument("--role-left", type=int, default=1020)
    parser.add_argument("--token-left", type=int, default=360)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--fault-seconds", type=int, default=600)
    parser.add_argument("--after", type=int, default=90)
    parser.add_argument("--botocore-client", nargs=3, metavar=("STS", "INTERVAL", "TOTAL"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.botocore_client:
        sts, interval, total = args.botocore_client
        botocore_long_lived(sts, float(interval), float(total))
        return 0
    binary, sdk = Path(args.bin).resolve(), Path(args.sdk).resolve()
    if args.long_lived:
        if args.clients == "awsid,botocore,rust-sdk":
            args.clients = "awsid-relay,awsid,botocore,rust-sdk"
        result = long_lived(args, binary)
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
        return 0
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
