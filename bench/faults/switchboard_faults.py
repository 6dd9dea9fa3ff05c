#!/usr/bin/env python3
"""awsid's client, botocore and the AWS SDK for Rust under the fault switchboard of `awsid serve`.

Starts `awsid serve` (default world) and, for each fault, sets it through the admin API
(`PUT /awsid/faults/<endpoint>`) and lets each client get credentials (or, for IAM, call
`ListRoles`) `--calls` times, each call from scratch (a new process or botocore session, no
cache):

* STS — a role profile (`source_profile` with static keys → `AssumeRole`), `retry_mode =
  standard`, `max_attempts = 3` (v2's default);
* IMDS — the default chain with `AWS_EC2_METADATA_SERVICE_ENDPOINT` at the instance's listener
  (each client's own IMDS rules: botocore and awsid 1 attempt, 1 s timeout by default);
* ECS — the default chain with `AWS_CONTAINER_CREDENTIALS_FULL_URI` at the task's endpoint;
* SSO — an `sso_session` profile with a token cached by one `awsid sso login` (device code,
  approved on the device page) → the portal's `GetRoleCredentials`;
* IAM — `ListRoles` with static keys, standard mode, 3 attempts (botocore and the Rust SDK;
  awsid's client calls IAM only in `vault rotate`).

Clients: `awsid configure export-credentials`, botocore in this process
(`Session().get_credentials()`, `client('iam').list_roles()`) and `sdk_credentials` (the
unmodified Rust SDK's default chain, `tests/interop/src/bin/sdk_credentials.rs`). Rates are
seeded and the spec is set afresh before each client, so each client meets the same sequence
of rolls. For every call the decision log (`/console/decisions`) gives the requests the
endpoint saw and the faults injected into them.

Prints one JSON line per (fault, client): calls, credentials, failed, requests, faulty answers,
how many faulty answers each failed call had met, the first error, credentials handed out
already expired, and seconds per call (p50, max).

    target/venv/bin/python bench/faults/switchboard_faults.py --bin target/debug/awsid \\
        --sdk target/debug/sdk_credentials --calls 20
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench" / "soak"))

from run import ADMIN, ECS_ID, INSTANCE, USER1, WORLD, start_server  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/marketingadminrole"
SSO_USER = "sso-user@example.com"
SSO_CONFIG = """
[profile user1]
sso_session = my-sso
sso_account_id = 444455556666
sso_role_name = readOnly
region = us-east-1

[sso-session my-sso]
sso_region = us-east-1
sso_start_url = https://my-sso-portal.awsapps.com/start
sso_registration_scopes = sso:account:access
"""
SEED = 14

# (name, endpoint, spec[, extra client environment])
FAULTS = [
    ("STS 500 InternalFailure, rate 0.5", "sts", {"error_rate": 0.5, "error": "internal"}),
    ("STS 503 ServiceUnavailable, rate 0.5", "sts", {"error_rate": 0.5, "error": "unavailable"}),
    ("STS 400 Throttling, rate 0.5", "sts", {"error_rate": 0.5, "error": "throttling"}),
    ("STS connection reset, rate 0.5", "sts", {"reset_rate": 0.5}),
    ("STS latency 500 ms", "sts", {"latency_ms": 500}),
    ("IMDS 500, rate 0.5", "imds", {"error_rate": 0.5, "error": "internal"}),
    ("IMDS 503, rate 0.5", "imds", {"error_rate": 0.5, "error": "unavailable"}),
    ("IMDS 429, rate 0.5", "imds", {"error_rate": 0.5, "error": "throttling"}),
    ("IMDS outage (refused)", "imds", {"outage": {"seconds": 3600, "mode": "refused"}}),
    ("IMDS credentials served expired", "imds", {"expired_credentials": True}),
    # IMDS latency and hangs against the clients' timeouts (botocore's and awsid's
    # `metadata_service_timeout`, default 1 s, and `metadata_service_num_attempts`, default 1;
    # the Rust SDK's IMDS client has fixed 1 s connect/read timeouts and 4 attempts and reads
    # neither setting). The fourth element is the clients' extra environment.
    ("IMDS latency 500 ms", "imds", {"latency_ms": 500}),
    ("IMDS latency 1500 ms", "imds", {"latency_ms": 1500}),
    ("IMDS latency 1500 ms, metadata_service_timeout 2", "imds", {"latency_ms": 1500},
     {"AWS_METADATA_SERVICE_TIMEOUT": "2"}),
    ("IMDS latency uniform 0-2000 ms", "imds", {"latency_ms": {"min": 0, "max": 2000}}),
    ("IMDS latency uniform 0-2000 ms, metadata_service_num_attempts 3", "imds",
     {"latency_ms": {"min": 0, "max": 2000}}, {"AWS_METADATA_SERVICE_NUM_ATTEMPTS": "3"}),
    ("IMDS hang", "imds", {"outage": {"seconds": 3600, "mode": "hang"}}),
    ("IMDS hang, metadata_service_timeout 2, num_attempts 2", "imds",
     {"outage": {"seconds": 3600, "mode": "hang"}},
     {"AWS_METADATA_SERVICE_TIMEOUT": "2", "AWS_METADATA_SERVICE_NUM_ATTEMPTS": "2"}),
    ("ECS 500, rate 0.5", "ecs", {"error_rate": 0.5, "error": "internal"}),
    ("ECS 503, rate 0.5", "ecs", {"error_rate": 0.5, "error": "unavailable"}),
    ("ECS outage (refused)", "ecs", {"outage": {"seconds": 3600, "mode": "refused"}}),
    ("SSO portal 500, rate 0.5", "sso", {"error_rate": 0.5, "error": "internal"}),
    ("SSO portal 503, rate 0.5", "sso", {"error_rate": 0.5, "error": "unavailable"}),
    ("SSO portal 429 TooManyRequests, rate 0.5", "sso", {"error_rate": 0.5, "error": "throttling"}),
    ("IAM 500 ServiceFailure, rate 0.5", "iam", {"error_rate": 0.5, "error": "internal"}),
    ("IAM 503 ServiceUnavailable, rate 0.5", "iam", {"error_rate": 0.5, "error": "unavailable"}),
    ("IAM 400 Throttling, rate 0.5", "iam", {"error_rate": 0.5, "error": "throttling"}),
]
# `--short` (the test command's variant, tests/python/test_reliability.py): one fault of STS
# and one of IMDS, 5 calls each.
SHORT = ["STS 500 InternalFailure, rate 0.5", "IMDS 503, rate 0.5"]
FAULTY = {"fault:error", "fault:throttling", "fault:reset", "fault:hang"}


class Plane:
    def __init__(self, info: dict) -> None:
        self.api = info["api"]
        self.ecs = info["ecs"]
        self.imds = info["imds"][INSTANCE]

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        c = http.client.HTTPConnection(self.api, timeout=30)
        data = json.dumps(body).encode() if body is not None else None
        c.request(method, path, body=data, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        out = r.read()
        c.close()
        return r.status, (json.loads(out) if out else {})

    def set_fault(self, endpoint: str, spec: dict, seed: int = SEED) -> None:
        spec = dict(spec, seed=seed)
        if "outage" in spec:
            spec["outage"] = dict(spec["outage"], after_seconds=0)
        status, out = self.request("PUT", f"/awsid/faults/{endpoint}", spec)
        if status != 200:
            raise SystemExit(f"PUT /awsid/faults/{endpoint}: {status} {out}")

    def clear(self) -> None:
        self.request("DELETE", "/awsid/faults")

    def last_seq(self) -> int:
        d = self.request("GET", "/console/decisions?after=0")[1]["decisions"]
        return d[-1]["seq"] if d else 0

    def since(self, seq: int) -> list[dict]:
        return self.request("GET", f"/console/decisions?after={seq}")[1]["decisions"]


@contextlib.contextmanager
def served_world(binary: Path, world_text: str | None = None) -> Iterator[tuple[Path, dict]]:
    """`awsid serve` on a copy of the soak's world (or `world_text`) in a temporary directory:
    yields the directory and the server's addresses; stops the server and removes the
    directory."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        world = work / "world.toml"
        world.write_text(WORLD.read_text() if world_text is None else world_text)
        proc, info = start_server(binary, work, world)
        try:
            yield work, info
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def client_env(plane: Plane, endpoint: str, home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BOTO_"))}
    env.update(HOME=str(home), AWS_CONFIG_FILE=str(home / "config"),
               AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"), AWS_REGION="us-east-1",
               AWS_DEFAULT_REGION="us-east-1", AWS_RETRY_MODE="standard", AWS_MAX_ATTEMPTS="3")
    if endpoint == "sts":
        env.update(AWS_PROFILE="role", AWS_ENDPOINT_URL_STS=f"http://{plane.api}/",
                   AWS_EC2_METADATA_DISABLED="true")
    elif endpoint == "imds":
        env.update(AWS_EC2_METADATA_SERVICE_ENDPOINT=f"http://{plane.imds}/")
    elif endpoint == "ecs":
        env.update(AWS_CONTAINER_CREDENTIALS_FULL_URI=f"http://{plane.ecs}/v2/credentials/{ECS_ID}",
                   AWS_EC2_METADATA_DISABLED="true")
    elif endpoint == "sso":
        env.update(AWS_PROFILE="user1", AWS_ENDPOINT_URL_SSO=f"http://{plane.api}/",
                   AWS_ENDPOINT_URL_SSO_OIDC=f"http://{plane.api}/",
                   AWS_ENDPOINT_URL_STS=f"http://{plane.api}/", AWS_EC2_METADATA_DISABLED="true")
    elif endpoint == "iam":
        env.update(AWS_ACCESS_KEY_ID=ADMIN[0], AWS_SECRET_ACCESS_KEY=ADMIN[1],
                   AWS_ENDPOINT_URL_IAM=f"http://{plane.api}/", AWS_EC2_METADATA_DISABLED="true")
    return env


def sso_login(binary: Path, env: dict, plane: Plane) -> None:
    """One `awsid sso login --use-device-code`, approved on the device page as SSO_USER: the
    token every client's SSO call uses."""
    import re
    import urllib.parse
    p = subprocess.Popen([str(binary), "sso", "login", "--profile", "user1", "--use-device-code",
                          "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=env)
    assert p.stdout is not None
    code = None
    for line in p.stdout:
        if re.fullmatch(r"[A-Z]{4}-[A-Z]{4}", line.strip()):
            code = line.strip()
            break
    if code is None:
        raise SystemExit(f"awsid sso login printed no code: {p.stderr.read() if p.stderr else ''}")
    c = http.client.HTTPConnection(plane.api, timeout=30)
    c.request("POST", "/device", body=urllib.parse.urlencode(
        {"user_code": code, "action": "approve", "user": SSO_USER}),
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse()
    r.read()
    if r.status != 200:
        raise SystemExit(f"device approval: {r.status}")
    out, err = p.communicate(timeout=60)
    if p.returncode != 0:
        raise SystemExit(f"awsid sso login failed: {err}")


def parse_expiry(text: str) -> float | None:
    import datetime
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def call_awsid(binary: Path, env: dict) -> tuple[bool, str, float | None]:
    p = subprocess.run([str(binary), "configure", "export-credentials"], capture_output=True,
                       text=True, env=env, timeout=300)
    if p.returncode != 0:
        return False, " ".join(p.stderr.split())[:300], None
    doc = json.loads(p.stdout)
    return True, "", parse_expiry(doc["Expiration"]) if doc.get("Expiration") else None


def call_sdk(sdk: Path, env: dict, iam: bool) -> tuple[bool, str, float | None]:
    p = subprocess.run([str(sdk)] + (["iam"] if iam else []), capture_output=True, text=True,
                       env=env, timeout=300)
    out = p.stdout.strip()
    if out.startswith("OK "):
        rest = out[3:]
        return True, "", float(rest) if rest != "-" else None
    return False, (out[4:] if out.startswith("ERR ") else (out + p.stderr)[-300:]), None


def call_botocore(env: dict, iam: bool) -> tuple[bool, str, float | None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        # Imported with HOME set: botocore fixes its SSO token cache directory at import.
        import botocore.session
        s = botocore.session.Session()
        if iam:
            s.create_client("iam").list_roles()
            return True, "", None
        c = s.get_credentials()
        if c is None:
            return False, "no credentials found", None
        c.get_frozen_credentials()
        expiry = getattr(c, "_expiry_time", None)
        return True, "", expiry.timestamp() if expiry else None
    except Exception as e:  # noqa: BLE001 — what botocore raised is the measurement
        return False, " ".join(f"{type(e).__name__}: {e}".split())[:300], None
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_fault(plane: Plane, name: str, endpoint: str, spec: dict, clients: dict, calls: int,
              home: Path, extra_env: dict | None = None) -> list[dict]:
    rows = []
    service = "iam" if endpoint == "iam" else endpoint
    for client, call in clients.items():
        if endpoint == "iam" and client == "awsid":
            continue
        plane.clear()
        plane.set_fault(endpoint, spec)
        env = dict(client_env(plane, endpoint, home), **(extra_env or {}))
        ok_n, requests, faulty, expired, fail_faults, times = 0, 0, 0, 0, [], []
        served_expired = 0
        first_error = ""
        for _ in range(calls):
            for d in ("cli", "boto"):
                subprocess.run(["rm", "-rf", str(home / ".aws" / d)], check=True)
            seq = plane.last_seq()
            start = time.monotonic()
            ok, err, expiry = call(env, endpoint == "iam")
            times.append(time.monotonic() - start)
            seen = [d for d in plane.since(seq) if d["service"] == service]
            n_faulty = sum(1 for d in seen if d["action"] in FAULTY)
            served_expired += sum(1 for d in seen if d["action"] == "fault:expired-credentials")
            n_requests = n_faulty + sum(1 for d in seen if d["outcome"] != "injected")
            requests += n_requests
            faulty += n_faulty
            if ok:
                ok_n += 1
                if expiry is not None and expiry < time.time():
                    expired += 1
            else:
                fail_faults.append(n_faulty)
                first_error = first_error or err
        times.sort()
        rows.append({
            "fault": name, "client": client, "calls": calls, "credentials": ok_n,
            "failed": calls - ok_n, "requests": requests, "faulty_answers": faulty,
            "faulty_answers_per_failed_call": sorted(fail_faults),
            "served_expired": served_expired, "handed_out_expired": expired,
            "first_error": first_error,
            "seconds_p50": round(times[len(times) // 2], 2), "seconds_max": round(times[-1], 2),
        })
        print(json.dumps(rows[-1]), flush=True)
    plane.clear()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=str(REPO / "target" / "debug" / "awsid"))
    parser.add_argument("--sdk", default=str(REPO / "target" / "debug" / "sdk_credentials"))
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--short", action="store_true", help=f"only {SHORT}, 5 calls each")
    parser.add_argument("--only", help="run the faults whose name contains this text "
                        "(alternatives separated by |)")
    parser.add_argument("--clients", default="awsid,botocore,rust-sdk")
    parser.add_argument("--out", help="also write every row to this JSON file")
    args = parser.parse_args()
    if args.short:
        args.calls = 5
    binary, sdk = Path(args.bin).resolve(), Path(args.sdk).resolve()
    every = {
        "awsid": lambda env, iam: call_awsid(binary, env),
        "botocore": call_botocore,
        "rust-sdk": lambda env, iam: call_sdk(sdk, env, iam),
    }
    clients = {c: every[c] for c in args.clients.split(",")}
    rows = []
    with served_world(binary) as (work, info):
        plane = Plane(info)
        home = work / "home"
        home.mkdir()
        (home / "config").write_text(
            "[profile role]\nrole_arn = " + ROLE + "\nsource_profile = base\n"
            "region = us-east-1\nretry_mode = standard\nmax_attempts = 3\n" + SSO_CONFIG)
        (home / "credentials").write_text(
            f"[base]\naws_access_key_id = {USER1[0]}\naws_secret_access_key = {USER1[1]}\n")
        only = args.only.split("|") if args.only else []
        faults = [f for f in FAULTS if (not only or any(o in f[0] for o in only))
                  and (not args.short or f[0] in SHORT)]
        if any(f[1] == "sso" for f in faults):
            sso_login(binary, client_env(plane, "sso", home), plane)
        for name, endpoint, spec, *extra in faults:
            rows += run_fault(plane, name, endpoint, spec, clients, args.calls, home,
                              extra[0] if extra else None)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
