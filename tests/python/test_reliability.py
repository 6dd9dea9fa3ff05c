"""The short variants of the reliability scripts, against the binary under test:

* bench/hostile/run.py --short: 1 MiB headers, 100 MiB bodies, slowloris, idle connections and
  malformed HTTP against `awsid serve` while legitimate IMDS, ECS and STS requests keep being
  answered; every refusal must be the expected status and service code, RSS under 64 MiB
  (latency is reported, not asserted: it is a benchmark figure);
* bench/soak/run.py --short: 20 s of mixed load with 60-second credential lifetimes, IMDS
  credentials used at STS across rotations; 0 errors and flat RSS.

The full runs (5,000 idle connections, 500 slowloris, 10-minute soak) are in RELIABILITY.md.
"""

from __future__ import annotations

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
