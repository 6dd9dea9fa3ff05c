#!/usr/bin/env python3
"""`awsid vault rotate` under IAM and STS faults set through `awsid serve`'s switchboard.

Starts `awsid serve` (default world). For each fault, a fresh IAM user allowed to manage its own
keys (the IAM user guide's self-service policy) gets an access key from the administrator; the
key is put in a vault (`awsid vault add --env`, the key held by the kernel keyring for the run).
Then the fault is set through the admin API and `awsid vault rotate` runs `--rotations` times
in a row (a seeded rate gets seed 1, 2, … per rotation, so the runs are reproducible). After
each rotation the faults are cleared and the state is checked from outside:

* does the vault's key (`awsid credential-process`) still work (STS `GetCallerIdentity`)?
* which keys does IAM list for the user (the administrator's `ListAccessKeys`): keys that are
  not in the vault are orphans (a secret nobody holds, one of the user's two slots);
* is the rotation's message true (the key ids it names, where it says they are)?

Rotation's contract (RELIABILITY.md): never lose the working key — after any failure the vault's
key works, or the error says exactly which key exists where. Prints one JSON line per fault.

    target/venv/bin/python bench/faults/vault_rotate_faults.py --bin target/debug/awsid \\
        --rotations 10 --out bench/out/vault_rotate_faults.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench" / "soak"))
sys.path.insert(0, str(REPO / "bench" / "faults"))

from run import ADMIN  # noqa: E402  (bench/soak/run.py)
from switchboard_faults import Plane, served_world  # noqa: E402

PASSPHRASE = "correct horse battery staple"
ACCOUNT = "123456789012"
# A rate limit this slow never refills within a run: the first `burst` requests pass, every
# later one is throttled.
NEVER = 0.0001

# (name, {target: spec}, rotations (None: --rotations), what else: "vault-unwritable",
# "keep-old-inactive" (`vault rotate --keep-old-inactive`: the old key is deactivated with
# UpdateAccessKey(Inactive), signed with the new key, instead of deleted))
FAULTS = [
    ("IAM 500 ServiceFailure, rate 0.5", {"iam": {"error_rate": 0.5, "error": "internal"}}, None, ""),
    ("IAM 503 ServiceUnavailable, rate 0.5", {"iam": {"error_rate": 0.5, "error": "unavailable"}},
     None, ""),
    ("IAM 400 Throttling, rate 0.5", {"iam": {"error_rate": 0.5, "error": "throttling"}}, None, ""),
    ("IAM connection reset, rate 0.5", {"iam": {"reset_rate": 0.5}}, None, ""),
    ("IAM outage (500 on every call)",
     {"iam": {"outage": {"seconds": 3600, "mode": "error"}, "error": "internal"}}, 1, ""),
    ("STS 500 InternalFailure, rate 0.5", {"sts": {"error_rate": 0.5, "error": "internal"}}, None,
     ""),
    ("IAM answers lost after the call was carried out, rate 0.5",
     {"iam": {"lost_answer_rate": 0.5}}, None, ""),
    ("vault unwritable between CreateAccessKey and the write", {}, 1, "vault-unwritable"),
    ("IAM throttled from the call after CreateAccessKey on (old key's DeleteAccessKey fails)",
     {"iam": {"rate_limit": {"rate": NEVER, "burst": 2}}}, 1, ""),
    ("STS throttled after the first call (the new key cannot be verified)",
     {"sts": {"rate_limit": {"rate": NEVER, "burst": 1}}}, 1, ""),
    ("STS throttled after the first call and IAM after CreateAccessKey (the undo fails too)",
     {"sts": {"rate_limit": {"rate": NEVER, "burst": 1}},
      "iam": {"rate_limit": {"rate": NEVER, "burst": 2}}}, 1, ""),
    # --keep-old-inactive: the last IAM call is UpdateAccessKey(Inactive) of the old key.
    ("keep-old-inactive: IAM 500 ServiceFailure, rate 0.5",
     {"iam": {"error_rate": 0.5, "error": "internal"}}, None, "keep-old-inactive"),
    ("keep-old-inactive: IAM connection reset, rate 0.5", {"iam": {"reset_rate": 0.5}}, None,
     "keep-old-inactive"),
    ("keep-old-inactive: IAM answers lost after the call was carried out, rate 0.5",
     {"iam": {"lost_answer_rate": 0.5}}, None, "keep-old-inactive"),
    ("keep-old-inactive: IAM outage (500 on every call)",
     {"iam": {"outage": {"seconds": 3600, "mode": "error"}, "error": "internal"}}, 1,
     "keep-old-inactive"),
    ("keep-old-inactive: IAM throttled from the call after CreateAccessKey on "
     "(UpdateAccessKey(Inactive) fails, and the listing that would tell)",
     {"iam": {"rate_limit": {"rate": NEVER, "burst": 2}}}, 1, "keep-old-inactive"),
    ("keep-old-inactive: the vault write fails after CreateAccessKey", {}, 1,
     "vault-unwritable,keep-old-inactive"),
    ("keep-old-inactive: STS throttled after the first call (the new key cannot be verified)",
     {"sts": {"rate_limit": {"rate": NEVER, "burst": 1}}}, 1, "keep-old-inactive"),
]


def admin_iam(plane: Plane):
    import botocore.session
    return botocore.session.Session().create_client(
        "iam", region_name="us-east-1", endpoint_url=f"http://{plane.api}/",
        aws_access_key_id=ADMIN[0], aws_secret_access_key=ADMIN[1])


def sts_works(plane: Plane, key_id: str, secret: str) -> str:
    import botocore.session
    c = botocore.session.Session().create_client(
        "sts", region_name="us-east-1", endpoint_url=f"http://{plane.api}/",
        aws_access_key_id=key_id, aws_secret_access_key=secret)
    try:
        return c.get_caller_identity()["Arn"]
    except Exception as e:  # noqa: BLE001 — the outcome is the measurement
        return f"refused: {getattr(e, 'response', {}).get('Error', {}).get('Code') or e}"


def new_user(plane: Plane, name: str) -> tuple[str, str]:
    iam = admin_iam(plane)
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="own-keys", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": [
            "iam:CreateAccessKey", "iam:ListAccessKeys", "iam:UpdateAccessKey",
            "iam:DeleteAccessKey"], "Resource": f"arn:aws:iam::{ACCOUNT}:user/{name}"}]}))
    k = iam.create_access_key(UserName=name)["AccessKey"]
    return k["AccessKeyId"], k["SecretAccessKey"]


def user_env(plane: Plane, home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BOTO_", "AWSID_"))}
    run = home / "run"
    run.mkdir(mode=0o700, parents=True, exist_ok=True)
    env.update(HOME=str(home), XDG_RUNTIME_DIR=str(run), AWS_REGION="us-east-1",
               AWS_ENDPOINT_URL=f"http://{plane.api}/", AWS_EC2_METADATA_DISABLED="true",
               AWSID_VAULT_IDLE_TIMEOUT="3600", AWS_CONFIG_FILE=str(home / ".aws" / "config"),
               AWS_SHARED_CREDENTIALS_FILE=str(home / ".aws" / "credentials"),
               AWS_RETRY_MODE="standard", AWS_MAX_ATTEMPTS="3")
    return env


def awsid(binary: Path, env: dict, *args: str, stdin: str | None = None,
          extra: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(binary), *args], env=dict(env, **(extra or {})), input=stdin,
                          capture_output=True, text=True, timeout=300, start_new_session=True)


def vault_key(binary: Path, env: dict) -> tuple[str, str] | None:
    r = awsid(binary, env, "credential-process", "--profile", "vaulted")
    if r.returncode != 0:
        return None
    d = json.loads(r.stdout)
    return d["AccessKeyId"], d["SecretAccessKey"]


def key_before(before: tuple[str, str]) -> str:
    return before[0]


def run_fault(binary: Path, plane: Plane, work: Path, index: int, name: str, faults: dict,
              rotations: int, special: str, verify_timeout: int) -> dict:
    user = f"rotator{index}"
    arn = f"arn:aws:iam::{ACCOUNT}:user/{user}"
    key = new_user(plane, user)
    home = work / user
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "config").write_text("[profile vaulted]\nregion = us-east-1\n")
    env = user_env(plane, home)
    r = awsid(binary, env, "vault", "add", "vaulted", "--env", "--passphrase-stdin",
              stdin=PASSPHRASE + "\n", extra={"AWS_ACCESS_KEY_ID": key[0],
                                             "AWS_SECRET_ACCESS_KEY": key[1]})
    if r.returncode != 0:
        raise SystemExit(f"vault add: {r.stderr}")
    iam = admin_iam(plane)
    rotated, failed, working_after, orphans_max, messages, untrue = 0, 0, 0, 0, [], []
    vault_file = None
    for i in range(rotations):
        before = vault_key(binary, env)
        assert before is not None
        lock = None
        if "vault-unwritable" in special:
            # The vault's writer lock path made a directory: the write after CreateAccessKey
            # fails (as a full disk or a read-only home would), nothing before it writes.
            vault_file = next(p for p in home.rglob("*.json") if "vault" in p.name)
            lock = vault_file.with_name(vault_file.name + ".lock")
            if lock.exists():
                lock.unlink()
            lock.mkdir()
        for target, spec in faults.items():
            plane.set_fault(target, spec, seed=i + 1)
        keep = ["--keep-old-inactive"] if "keep-old-inactive" in special else []
        r = awsid(binary, env, "vault", "rotate", "vaulted", "--passphrase-stdin",
                  "--verify-timeout", str(verify_timeout), *keep, stdin=PASSPHRASE + "\n")
        plane.clear()
        if lock is not None:
            lock.rmdir()
        after = vault_key(binary, env)
        works = after is not None and sts_works(plane, *after) == arn
        working_after += works
        listed = {k["AccessKeyId"]: k["Status"] for k in
                  iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}
        orphans = [k for k in listed if after is None or k != after[0]]
        orphans_max = max(orphans_max, len([k for k in orphans if listed[k] == "Active"]))
        text = " ".join((r.stdout + r.stderr).split())
        if key[1] in text or (after and after[1] in text):
            untrue.append("a secret appeared in the output")
        if r.returncode == 0:
            rotated += 1
            if after == before:
                untrue.append(f"rotation {i + 1} said it rotated but the vault key is unchanged")
            if keep and listed.get(before[0]) != "Inactive":
                untrue.append(f"rotation {i + 1} said the old key was deactivated; IAM lists "
                              f"{listed}")
        else:
            failed += 1
            messages.append(text[:400])
            # Every key IAM still lists must be named by the message, or be the vault's.
            for k in listed:
                if k not in text and (after is None or k != after[0]):
                    untrue.append(f"rotation {i + 1}: IAM lists {k}, the message does not say")
            for claim in ("IAM lists the old key as Active", "IAM lists the old key as Inactive"):
                status = claim.rsplit(" ", 1)[1]
                if claim in text and listed.get(key_before(before)) != status:
                    untrue.append(f"rotation {i + 1}: says '{claim}'; IAM lists {listed}")
            if "deleted again" in text:
                gone = re.search(r"new access key (AKIA[A-Z0-9]+)", text)
                if gone and gone.group(1) in listed:
                    untrue.append(f"rotation {i + 1}: says {gone.group(1)} was deleted; IAM lists it")
        if orphans:
            # The next rotation would be refused (two keys): clean up as the message says, so
            # that every rotation of the row meets the fault afresh.
            for k in orphans:
                iam.delete_access_key(UserName=user, AccessKeyId=k)
    row = {
        "fault": name, "rotations": rotations, "rotated": rotated, "failed": failed,
        "vault_key_worked_after": working_after, "orphan_active_keys_max": orphans_max,
        "untrue_or_incomplete_messages": untrue, "messages": sorted(set(
            re.sub(r"AKIA[A-Z0-9]+|\*+[A-Z0-9]{4}", "<key>", m) for m in messages)),
    }
    print(json.dumps(row), flush=True)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=str(REPO / "target" / "debug" / "awsid"))
    parser.add_argument("--rotations", type=int, default=10)
    parser.add_argument("--verify-timeout", type=int, default=3,
                        help="vault rotate --verify-timeout (seconds)")
    parser.add_argument("--only", help="the faults whose name contains this text (| for or)")
    parser.add_argument("--out")
    args = parser.parse_args()
    binary = Path(args.bin).resolve()
    only = args.only.split("|") if args.only else []
    rows = []
    with served_world(binary) as (work, info):
        plane = Plane(info)
        try:
            for i, (name, faults, n, special) in enumerate(FAULTS):
                if only and not any(o in name for o in only):
                    continue
                rows.append(run_fault(binary, plane, work, i, name, faults, n or args.rotations,
                                      special, args.verify_timeout))
        finally:
            for home in work.glob("rotator*"):
                subprocess.run([str(binary), "vault", "lock"], env=user_env(plane, home),
                               capture_output=True)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
