"""The short variants of the reliability scripts, against the binary under test:

* bench/hostile/run.py --short: 1 MiB headers, 100 MiB bodies, slowloris, idle connections and
  malformed HTTP against `awsid serve` while legitimate IMDS, ECS and STS requests keep being
  answered; every refusal must be the expected status and service code, RSS under 64 MiB
  (latency is reported, not asserted: it is a benchmark figure);
* bench/soak/run.py --short: 20 s of mixed load with 60-second credential lifetimes, IMDS
  credentials used at STS across rotations; 0 errors and flat RSS;
* bench/faults/sts_faults.py: awsid's client and botocore under STS faults (500, 503,
  Throttling, resets, AccessDenied) behind a fault proxy: the same number of attempts, the same
  outcome and the same error text;
* bench/faults/static_stability.py: botocore through an IMDS outage (the awsid and Rust SDK side
  is tests/interop/tests/static_stability.rs).
* bench/faults/switchboard_faults.py --short: awsid's client, botocore and the Rust SDK under
  faults set through `awsid serve`'s switchboard (STS 500, IMDS 503, IAM Throttling).

The full runs (5,000 idle connections, 500 slowloris, 10-minute soak) are in RELIABILITY.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import REPO


def run_script(script: str, tmp_path: Path, awsid_bin: Path) -> str:
    out = tmp_path / "result.json"
    r = subprocess.run(
        [sys.executable, str(REPO / "bench" / script), "--short", "--bin", str(awsid_bin),
         "--json", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, f"{script} failed:\n{r.stdout}\n{r.stderr}"
    assert out.is_file()
    return r.stdout


def test_hostile_input_short(tmp_path: Path, awsid_bin: Path) -> None:
    text = run_script("hostile/run.py", tmp_path, awsid_bin)
    for phase in ("baseline", "headers", "bodies", "slowloris", "idle", "malformed"):
        assert f"| {phase} |" in text, text


def test_soak_short(tmp_path: Path, awsid_bin: Path) -> None:
    text = run_script("soak/run.py", tmp_path, awsid_bin)
    assert ", 0 errors," in text, text


def faults(script: str, awsid_bin: Path) -> list[dict]:
    r = subprocess.run([sys.executable, str(REPO / "bench" / "faults" / script), "--bin",
                        str(awsid_bin)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"{script} failed:\n{r.stdout}\n{r.stderr}"
    return [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]


def test_sts_faults_awsid_retries_as_botocore(awsid_bin: Path) -> None:
    runs = faults("sts_faults.py", awsid_bin)
    assert len(runs) == 20, runs
    by = {(r["fault"], r["faulty_answers"], r["client"]): r for r in runs}
    for (fault, count, client), r in by.items():
        if client != "awsid":
            continue
        peer = by[(fault, count, "botocore")]
        assert (r["sts_requests"], r["credentials"]) == (peer["sts_requests"], peer["credentials"]), (r, peer)
        retryable = fault != "403 AccessDenied"
        # Within the 3-attempt budget a retry saves the call; beyond it both give up after 3.
        assert r["credentials"] == (retryable and count == 2), r
        assert r["sts_requests"] == (3 if retryable else 1), r
        if not r["credentials"]:
            # awsid's report adds the profile and provider; botocore's text comes first.
            assert r["error"].startswith("awsid: [ERROR]: " + peer["error"]), (r, peer)


def test_botocore_through_an_imds_outage(awsid_bin: Path) -> None:
    [r] = faults("static_stability.py", awsid_bin)
    # botocore has no static stability for an unreachable IMDS: every call in the window fails.
    # (awsid serves all of them: tests/interop/tests/static_stability.rs.)
    assert (r["calls"], r["failed"]) == (121, 121), r


def test_switchboard_faults_short(awsid_bin: Path) -> None:
    """bench/faults/switchboard_faults.py --short: faults set through `awsid serve`'s admin API
    (STS 500 and IMDS 503 at a seeded rate of 0.5, 5 calls per client). Each client meets the
    same rolls, so awsid's client must end exactly as botocore did (and at STS, with the same
    3-attempt budget, as the Rust SDK), and no STS call may fail before its 3 attempts."""
    sdk = awsid_bin.parent / "sdk_credentials"
    assert sdk.is_file(), f"{sdk}: cargo build --workspace --all-targets builds it"
    r = subprocess.run([sys.executable, str(REPO / "bench" / "faults" / "switchboard_faults.py"),
                        "--short", "--bin", str(awsid_bin), "--sdk", str(sdk)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"switchboard_faults.py failed:\n{r.stdout}\n{r.stderr}"
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    by = {(row["fault"], row["client"]): row for row in rows}
    assert len(rows) == 6, rows

    def outcome(row: dict) -> tuple:
        return row["credentials"], row["requests"], row["faulty_answers_per_failed_call"]

    sts = [by[("STS 500 InternalFailure, rate 0.5", c)] for c in ("awsid", "botocore", "rust-sdk")]
    assert outcome(sts[0]) == outcome(sts[1]) == outcome(sts[2]), sts
    assert sts[0]["faulty_answers"] > 0, sts[0]
    # Standard mode, 3 attempts: a call fails only after 3 faulty answers in a row.
    assert all(n == 3 for n in sts[0]["faulty_answers_per_failed_call"]), sts[0]
    # IMDS: botocore's rules (1 attempt by default), the same outcome call by call.
    imds = [by[("IMDS 503, rate 0.5", c)] for c in ("awsid", "botocore")]
    assert outcome(imds[0]) == outcome(imds[1]), imds
    assert imds[0]["faulty_answers"] > 0, imds[0]
