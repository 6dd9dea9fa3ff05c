#!/usr/bin/env python3
"""Long-lived clients through a real-time IMDS outage of `awsid serve` (no injected clock).

Starts `awsid serve` on the default world with the instances' credentials living `--lifetime`
seconds (default 180: rotated every 90 s), then four long-lived clients of the instance's IMDS,
each asking for credentials every `--interval` seconds and calling STS `GetCallerIdentity`
with what it got:

* `awsid`       awsid's refresh holder (`credentials::refresh`) over its IMDS provider, in a
                process of its own (`imds_outage_client awsid`, tests/interop/src/bin);
* `awsid-relay` `awsid serve-credentials --protocol container` (the standing credential
                server a user runs) with IMDS as its source, read through the container
                protocol as an SDK would;
* `rust-sdk`    the unmodified AWS SDK for Rust (`imds_outage_client sdk`): its default chain's
                IMDS provider, and STS through a client with the default identity cache;
* `botocore`    botocore's `RefreshableCredentials` from `InstanceMetadataProvider` (default
                fetcher: 1 attempt, 1 s timeout), in a process of its own.

After `--warmup` seconds the IMDS outage is set through the fault switchboard's admin API
(`PUT /awsid/faults/imds {"outage": {"seconds": N, "mode": M}}`, `--mode`: `refused` closes
the listener, connections are refused; `reset` resets every connection; `hang` answers
nothing until the outage ends, then resets; `error` answers 503) for `--outage` seconds of
real time, then the clients go on for `--after` seconds. The driver polls IMDS itself every few seconds (while it answers) to learn
each access key's real expiry.

Reports per client: calls, failures, calls answered during the outage, calls answered past the
real expiry of the credentials handed out, credentials handed out already expired (by their
own stated expiry), STS rejections, seconds from the outage's end to fresh credentials, and
the distinct stderr lines (with counts). JSON to `--out`, one summary line per client on stdout;
with IMDS_OUTAGE_KEEP=<dir> set, every client's per-call JSON lines and stderr, the server's
stderr and the keys' real expiries are copied there.

    nice -n 19 target/venv/bin/python bench/faults/imds_outage.py --bin target/debug/awsid \\
        --client target/debug/imds_outage_client --out bench/out/imds_outage.json
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench" / "soak"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import soak_world  # noqa: E402  (bench/soak/run.py)
from switchboard_faults import Plane, served_world  # noqa: E402


def botocore_client(imds: str, sts: str, interval: float, total: float) -> None:
    """The `botocore` client (run as `imds_outage.py --botocore-client …`): JSON lines."""
    import botocore.session
    from botocore.credentials import InstanceMetadataProvider
    from botocore.utils import InstanceMetadataFetcher

    fetcher = InstanceMetadataFetcher(timeout=1, num_attempts=1, base_url=imds, env={})

    def load():
        creds = InstanceMetadataProvider(iam_role_fetcher=fetcher).load()
        if creds is None:
            raise RuntimeError("InstanceMetadataProvider found no credentials")
        return creds

    poll_botocore(botocore.session.Session(), load, sts, interval, total)


def poll_botocore(session, load, sts: str, interval: float, total: float) -> None:
    """One long-lived botocore credentials object (from `load()` once, then refreshed by
    botocore itself), used with STS every `interval` s for `total` s: one JSON line per call
    (key, stated expiry, STS's answer or the error)."""
    creds = None
    start = time.monotonic()
    n = 0
    while time.monotonic() - start < total:
        row = {"t": time.time(), "ok": False, "key": "", "expiry": None, "sts": "-", "error": ""}
        try:
            if creds is None:
                creds = load()
            frozen = creds.get_frozen_credentials()
            expiry = getattr(creds, "_expiry_time", None)
            row.update(ok=True, key=frozen.access_key,
                       expiry=expiry.timestamp() if expiry else None)
            client = session.create_client(
                "sts", region_name="us-east-1", endpoint_url=sts,
                aws_access_key_id=frozen.access_key, aws_secret_access_key=frozen.secret_key,
                aws_session_token=frozen.token)
            try:
                client.get_caller_identity()
                row["sts"] = "ok"
            except Exception as e:  # noqa: BLE001 — the outcome is the measurement
                row["sts"] = getattr(e, "response", {}).get("Error", {}).get("Code") or type(e).__name__
        except Exception as e:  # noqa: BLE001
            row["error"] = " ".join(f"{type(e).__name__}: {e}".split())[:300]
        print(json.dumps(row), flush=True)
        n += 1
        time.sleep(max(0.0, start + n * interval - time.monotonic()))


def relay_client(binary: Path, env: dict, work: Path, sts: str, interval: float,
                 total: float, out, err) -> subprocess.Popen:
    """`awsid serve-credentials` over IMDS, read through the container protocol by a thread of
    this process; returns the server process (its stderr goes to `err`)."""
    token_file = work / "relay-token"
    proc = subprocess.Popen(
        [str(binary), "serve-credentials", "--protocol", "container", "--listen", "127.0.0.1:0",
         "--token-file", str(token_file)],
        stdout=subprocess.PIPE, stderr=err, text=True, env=env)
    assert proc.stdout is not None
    variables = {}
    for line in proc.stdout:
        k, _, v = line.strip().partition("=")
        variables[k] = v
        if "AWS_CONTAINER_CREDENTIALS_FULL_URI" in variables and (
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE" in variables):
            break
    if "AWS_CONTAINER_CREDENTIALS_FULL_URI" not in variables:
        raise SystemExit(f"serve-credentials printed {variables}")
    url = variables["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
    token = Path(variables["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]).read_text()

    def poll() -> None:
        import datetime

        import botocore.session
        host, _, path = url.removeprefix("http://").partition("/")
        session = botocore.session.Session()
        start = time.monotonic()
        n = 0
        while time.monotonic() - start < total:
            row = {"t": time.time(), "ok": False, "key": "", "expiry": None, "sts": "-",
                   "error": ""}
            try:
                c = http.client.HTTPConnection(host, timeout=10)
                c.request("GET", "/" + path, headers={"Authorization": token})
                r = c.getresponse()
                body = r.read()
                c.close()
                if r.status != 200:
                    raise RuntimeError(f"{r.status} {body[:200]!r}")
                doc = json.loads(body)
                row.update(ok=True, key=doc["AccessKeyId"], expiry=datetime.datetime.fromisoformat(
                    doc["Expiration"].replace("Z", "+00:00")).timestamp())
                client = session.create_client(
                    "sts", region_name="us-east-1", endpoint_url=sts,
                    aws_access_key_id=doc["AccessKeyId"],
                    aws_secret_access_key=doc["SecretAccessKey"], aws_session_token=doc["Token"])
                try:
                    client.get_caller_identity()
                    row["sts"] = "ok"
                except Exception as e:  # noqa: BLE001
                    row["sts"] = (getattr(e, "response", {}).get("Error", {}).get("Code")
                                  or type(e).__name__)
            except Exception as e:  # noqa: BLE001
                row["error"] = " ".join(f"{type(e).__name__}: {e}".split())[:300]
            out.write(json.dumps(row) + "\n")
            out.flush()
            n += 1
            time.sleep(max(0.0, start + n * interval - time.monotonic()))

    threading.Thread(target=poll, daemon=True).start()
    return proc


def imds_key_expiry(imds: str) -> tuple[str, float] | None:
    """The instance's current credentials (key id, expiry) straight from IMDS, or None."""
    import datetime
    try:
        c = http.client.HTTPConnection(imds, timeout=2)
        c.request("PUT", "/latest/api/token",
                  headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
        r = c.getresponse()
        token = r.read().decode()
        path = "/latest/meta-data/iam/security-credentials/"
        c.request("GET", path, headers={"X-aws-ec2-metadata-token": token})
        r = c.getresponse()
        role = r.read().decode().strip()
        c.request("GET", path + role, headers={"X-aws-ec2-metadata-token": token})
        r = c.getresponse()
        doc = json.loads(r.read())
        c.close()
        return doc["AccessKeyId"], datetime.datetime.fromisoformat(
            doc["Expiration"].replace("Z", "+00:00")).timestamp()
    except (OSError, ValueError, KeyError, http.client.HTTPException):
        return None


def summarize(name: str, rows: list[dict], stderr: str, keys: dict, outage: tuple,
              interval: float) -> dict:
    start, end = outage
    during = [r for r in rows if start <= r["t"] < end]
    answered_past_expiry = sum(1 for r in rows if r["ok"] and r["key"] in keys
                               and r["t"] > keys[r["key"]])
    unknown_key = sum(1 for r in rows if r["ok"] and r["key"] not in keys)
    handed_out_expired = sum(1 for r in rows if r["ok"] and r["expiry"] is not None
                             and r["expiry"] <= r["t"])
    last_key_before = next((r["key"] for r in reversed(rows) if r["ok"] and r["t"] < start), None)
    recovered = next((r["t"] - end for r in rows if r["t"] >= end and r["ok"]
                      and r["key"] != last_key_before and r["sts"] == "ok"), None)
    lines = collections.Counter(line.strip() for line in stderr.splitlines() if line.strip())
    errors = collections.Counter(r["error"] for r in rows if not r["ok"])
    sts = collections.Counter(r["sts"] for r in rows if r["ok"] and r["sts"] != "ok")
    return {
        "client": name, "calls": len(rows), "failed": sum(1 for r in rows if not r["ok"]),
        "calls_during_outage": len(during),
        "failed_during_outage": sum(1 for r in during if not r["ok"]),
        "answered_past_real_expiry": answered_past_expiry,
        "answered_with_unseen_key": unknown_key,
        "handed_out_expired": handed_out_expired,
        "sts_rejected": sum(sts.values()), "sts_errors": dict(sts),
        "sts_rejected_during_outage": sum(1 for r in during if r["ok"] and r["sts"] != "ok"),
        "seconds_to_fresh_after_outage": None if recovered is None else round(recovered, 1),
        "errors": dict(errors.most_common(5)),
        "stderr_lines": sum(lines.values()),
        "stderr": dict(lines.most_common(8)),
        "interval": interval,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=str(REPO / "target" / "debug" / "awsid"))
    parser.add_argument("--client", default=str(REPO / "target" / "debug" / "imds_outage_client"))
    parser.add_argument("--lifetime", type=int, default=180)
    parser.add_argument("--interval", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=60)
    parser.add_argument("--outage", type=int, default=600)
    parser.add_argument("--after", type=int, default=300)
    parser.add_argument("--clients", default="awsid,awsid-relay,rust-sdk,botocore")
    parser.add_argument("--mode", default="refused", choices=["refused", "reset", "hang", "error"],
                        help="how IMDS fails during the outage (the switchboard's outage mode)")
    parser.add_argument("--out")
    parser.add_argument("--botocore-client", nargs=4, metavar=("IMDS", "STS", "INTERVAL", "TOTAL"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.botocore_client:
        imds, sts, interval, total = args.botocore_client
        botocore_client(imds, sts, float(interval), float(total))
        return 0
    total = args.warmup + args.outage + args.after
    binary, client = Path(args.bin).resolve(), Path(args.client).resolve()
    with served_world(binary, soak_world(args.lifetime)) as (work, info):
        plane = Plane(info)
        api, imds = plane.api, plane.imds
        home = work / "home"
        home.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BOTO_"))}
        env.update(HOME=str(home), AWS_CONFIG_FILE=str(home / "config"),
                   AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"),
                   AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1",
                   AWS_EC2_METADATA_SERVICE_ENDPOINT=f"http://{imds}/",
                   AWS_ENDPOINT_URL_STS=f"http://{api}/")
        procs: dict[str, subprocess.Popen] = {}
        outs, errs = {}, {}
        try:
            for name in args.clients.split(","):
                outs[name] = open(work / f"{name}.out", "w")
                errs[name] = open(work / f"{name}.err", "w")
                if name == "awsid-relay":
                    procs[name] = relay_client(binary, env, work, f"http://{api}/",
                                               args.interval, total, outs[name], errs[name])
                    continue
                cmd = {
                    "awsid": [str(client), "awsid", str(args.interval), str(total)],
                    "rust-sdk": [str(client), "sdk", str(args.interval), str(total)],
                    "botocore": [sys.executable, __file__, "--botocore-client", f"http://{imds}",
                                 f"http://{api}/", str(args.interval), str(total)],
                }[name]
                procs[name] = subprocess.Popen(cmd, stdout=outs[name], stderr=errs[name], env=env)
            keys: dict[str, float] = {}

            def watch(until: float) -> None:
                while time.time() < until:
                    got = imds_key_expiry(imds)
                    if got:
                        keys[got[0]] = got[1]
                    time.sleep(2)

            begin = time.time()
            watch(begin + args.warmup)
            plane.set_fault("imds", {"outage": {"seconds": args.outage, "mode": args.mode}})
            outage = (time.time(), time.time() + args.outage)
            print(f"{args.mode} outage set at {time.strftime('%H:%M:%S', time.gmtime(outage[0]))} "
                  f"UTC for {args.outage} s", file=sys.stderr, flush=True)
            time.sleep(args.outage)
            watch(begin + total + 5)
            if "awsid-relay" in procs:
                procs["awsid-relay"].terminate()
            for p in procs.values():
                p.wait(timeout=60)
        finally:
            for p in procs.values():
                if p.poll() is None:
                    p.kill()
        summaries = []
        if os.environ.get("IMDS_OUTAGE_KEEP"):
            import shutil
            shutil.copytree(work, os.environ["IMDS_OUTAGE_KEEP"], dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("*.sqlite*", "home"))
            (Path(os.environ["IMDS_OUTAGE_KEEP"]) / "keys.json").write_text(json.dumps(
                {"keys": keys, "outage": outage}))
        for name in procs:
            outs[name].close()
            errs[name].close()
            rows = [json.loads(line) for line in (work / f"{name}.out").read_text().splitlines()
                    if line.startswith("{")]
            s = summarize(name, rows, (work / f"{name}.err").read_text(), keys, outage,
                          args.interval)
            summaries.append(s)
            print(json.dumps(s), flush=True)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({
            "lifetime": args.lifetime, "interval": args.interval, "warmup": args.warmup,
            "mode": args.mode, "started": time.strftime("%H:%M:%S", time.gmtime(begin)),
            "outage": args.outage, "after": args.after, "load_average": os.getloadavg(),
            "clients": summaries}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
