#!/usr/bin/env python3
"""Turns bench/out/credentials/{static,chain}.json (hyperfine exports) and machine.txt into the
markdown of BENCHMARKS.md's "Credentials" section: the machine, one row per case, ratios, and
whether the targets (≥ 50× faster than botocore, ≥ 2× faster than aws-config) were met.

Times are medians (mean ± σ) in ms; ratios compare medians of commands measured in the same
hyperfine run — medians, because the machine is shared and outliers skew means.
Usage: summarize.py DIR"""

import json
import sys
from pathlib import Path

CASES = {
    "static": "`--profile static` (keys in `~/.aws/credentials`)",
    "chain": "`--profile chain` (2 role hops, both cached in `~/.aws/cli/cache`)",
}
TARGETS = {"botocore": 50.0, "aws-config": 2.0}


def main() -> None:
    out = Path(sys.argv[1])
    runs = {}
    for case in CASES:
        path = out / f"{case}.json"
        if path.exists():
            runs[case] = {r["command"]: r for r in json.loads(path.read_text())["results"]}
    if not runs:
        sys.exit(f"no static.json / chain.json in {out}")

    def cell(r: dict) -> str:
        return f"{r['median'] * 1000:.2f} ({r['mean'] * 1000:.2f} ± {r['stddev'] * 1000:.2f})"

    machine = (out / "machine.txt").read_text().strip().splitlines() if (out / "machine.txt").exists() else []
    if machine:
        print("Machine and versions (`bench/out/credentials/machine.txt`):\n")
        print("```")
        print("\n".join(machine))
        print("```\n")
    print("| case | awsid (ms) | botocore, as the CLI (ms) | aws-config (ms) | floor: cat (ms) "
          "| botocore / awsid | aws-config / awsid | awsid / cat | runs (awsid, botocore) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    verdicts = []
    for case, r in runs.items():
        med = {cmd: res["median"] for cmd, res in r.items()}
        ratios = {peer: med[peer] / med["awsid"] for peer in TARGETS}
        print(f"| {CASES[case]} | {cell(r['awsid'])} | {cell(r['botocore'])} | {cell(r['aws-config'])} "
              f"| {cell(r['floor-cat'])} | {ratios['botocore']:.0f}× | {ratios['aws-config']:.1f}× "
              f"| {med['awsid'] / med['floor-cat']:.2f}× "
              f"| {len(r['awsid']['times'])}, {len(r['botocore']['times'])} |")
        for peer, target in TARGETS.items():
            met = "met" if ratios[peer] >= target else "MISSED"
            verdicts.append(f"{case}: {ratios[peer]:.1f}× faster than {peer} (target ≥ {target:g}×: {met})")
    print()
    print("Times: median (mean ± σ) in ms over the runs shown. Ratios: medians from the same "
          "hyperfine run.\n")
    for v in verdicts:
        print(f"* {v}")


if __name__ == "__main__":
    main()
