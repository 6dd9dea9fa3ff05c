#!/usr/bin/env python3
"""Turns bench/out/configure/get-*.json (hyperfine exports) into a markdown table.

Times are shown as median (mean ± σ). Ratios compare medians of commands measured in the same
hyperfine run: medians, because the machine is shared and outliers skew means.
Usage: summarize.py DIR"""

import json
import sys
from pathlib import Path

NOISE_MS = 0.2  # differences smaller than this are below what this machine can resolve


def main() -> None:
    out = Path(sys.argv[1])
    runs = {}
    for path in out.glob("get-*.json"):
        n = int(path.stem.split("-")[1])
        runs[n] = {r["command"]: r for r in json.loads(path.read_text())["results"]}
    if not runs:
        sys.exit(f"no get-*.json in {out}")

    def cell(r):
        return f"{r['median'] * 1000:.2f} ({r['mean'] * 1000:.2f} ± {r['stddev'] * 1000:.2f})"

    def med(n, cmd):
        return runs[n][cmd]["median"]

    print("| profiles | awsid (ms) | aws (ms) | floor: cat (ms) | floor: rust read (ms) "
          "| aws / awsid | awsid / cat | awsid / rust read |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in sorted(runs):
        r = runs[n]
        print(f"| {n:,} | {cell(r['awsid'])} | {cell(r['aws'])} | {cell(r['floor-cat'])} "
              f"| {cell(r['floor-rust-read'])} | {med(n, 'aws') / med(n, 'awsid'):.0f}× "
              f"| {med(n, 'awsid') / med(n, 'floor-cat'):.2f}× "
              f"| {med(n, 'awsid') / med(n, 'floor-rust-read'):.2f}× |")
    print()
    print("Times: median (mean ± σ) in ms. Ratios: medians from the same hyperfine run.")
    sizes = sorted(runs)
    for lo, hi in zip(sizes, sizes[1:]):
        total = med(hi, "awsid") / med(lo, "awsid")
        ex_lo = (med(lo, "awsid") - med(lo, "floor-rust-read")) * 1000
        ex_hi = (med(hi, "awsid") - med(hi, "floor-rust-read")) * 1000
        line = (f"- {lo:,} → {hi:,} profiles ({hi / lo:,.0f}× more): awsid median {total:.1f}×; "
                f"time above the rust-read floor {ex_lo:.2f} ms → {ex_hi:.2f} ms")
        if ex_lo >= NOISE_MS:
            line += f" ({ex_hi / ex_lo:.1f}×)"
        else:
            line += " (the smaller one is below this machine's noise)"
        print(line + ".")


if __name__ == "__main__":
    main()
