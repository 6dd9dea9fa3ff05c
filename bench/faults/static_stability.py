#!/usr/bin/env python3
"""botocore's instance-metadata credentials through a 10-minute IMDS outage.

Starts `awsid serve` (default world), loads credentials with botocore's own
`InstanceMetadataProvider` from the instance's IMDS listener, stops the server (IMDS refused from
then on), moves botocore's clock (`RefreshableCredentials._time_fetcher`) to 5 minutes before the
expiry and asks for the credentials every 5 s of that clock for 10 minutes — the same schedule as
`tests/interop/tests/static_stability.rs` runs for awsid's client and the Rust SDK. Prints one JSON
line: calls, failures (with the first error) and calls answered past the real expiry.

    target/venv/bin/python bench/faults/static_stability.py --bin target/debug/awsid
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench" / "soak"))

from run import INSTANCE, WORLD, start_server  # noqa: E402  (bench/soak/run.py)

from botocore.credentials import InstanceMetadataProvider  # noqa: E402
from botocore.utils import InstanceMetadataFetcher  # noqa: E402

STEPS = 121
STEP_SECS = 5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=str(REPO / "target" / "debug" / "awsid"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        world = work / "world.toml"
        world.write_text(WORLD.read_text())
        proc, info = start_server(Path(args.bin), work, world)
        try:
            url = f"http://{info['imds'][INSTANCE]}"
            # env={}: the fetcher otherwise reads AWS_EC2_METADATA_DISABLED from the process
            # (scripts/test sets it); this fetcher only ever talks to the plane on loopback.
            fetcher = InstanceMetadataFetcher(timeout=1, num_attempts=1, base_url=url, env={})
            creds = InstanceMetadataProvider(iam_role_fetcher=fetcher).load()
            first = creds.get_frozen_credentials()
            expiry = creds._expiry_time
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    # IMDS is off from here on. botocore's clock: 5 minutes before the expiry, then +5 s a call.
    offset = expiry - datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    shift = [offset]
    creds._time_fetcher = lambda: datetime.datetime.now(datetime.timezone.utc) + shift[0]
    failed, past_expiry, served_ok, first_error = 0, 0, 0, None
    for _ in range(STEPS):
        now = creds._time_fetcher()
        try:
            c = creds.get_frozen_credentials()
            assert c.access_key == first.access_key
            served_ok += 1
            if now > expiry:
                past_expiry += 1
        except Exception as e:  # noqa: BLE001 — what botocore raised is the measurement
            failed += 1
            first_error = first_error or f"{type(e).__name__}: {e}"
        shift[0] += datetime.timedelta(seconds=STEP_SECS)
    print(json.dumps({
        "client": "botocore", "calls": STEPS, "served": served_ok, "failed": failed,
        "served_past_real_expiry": past_expiry, "first_error": first_error,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
