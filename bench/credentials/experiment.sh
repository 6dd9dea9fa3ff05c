#!/usr/bin/env bash
# Where awsid's start-up time goes (BENCHMARKS.md, Credentials, "Why static misses 2×"):
# `export-credentials --profile static` of the same source built three ways — as released
# (PIE, dynamic glibc), non-PIE, static non-PIE — against the aws-config peer, empty Rust
# programs (dynamic and static) and `cat`, in one hyperfine run; then page faults (`perf stat`)
# and instruction counts (callgrind) per binary.
#
# Results: bench/out/credentials-experiment/{experiment-static.json,summary.md}.
# Usage: bench/credentials/experiment.sh      (builds into target/bench-experiment/{nopie,static})
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
out="$repo/bench/out/credentials-experiment"
rm -rf "$out"
mkdir -p "$out"
for tool in hyperfine perf valgrind; do
    command -v "$tool" >/dev/null || { echo "experiment.sh: $tool is required (apt-get install $tool)" >&2; exit 1; }
done

triple=x86_64-unknown-linux-gnu
cargo build --release -p awsid --locked
cargo build --release --locked --manifest-path bench/credentials/awsconfig-peer/Cargo.toml \
    --target-dir target/bench-peer
RUSTFLAGS="-C relocation-model=static" \
    cargo build --release -p awsid --locked --target "$triple" --target-dir target/bench-experiment/nopie
RUSTFLAGS="-C relocation-model=static -C target-feature=+crt-static" \
    cargo build --release -p awsid --locked --target "$triple" --target-dir target/bench-experiment/static
printf 'fn main() {}\n' >"$out/empty.rs"
rustc -O -o "$out/empty" "$out/empty.rs"
rustc -O -C relocation-model=static -C target-feature=+crt-static -o "$out/empty-static" "$out/empty.rs"

declare -A bin=(
    [awsid-default]="$repo/target/release/awsid"
    [awsid-nopie]="$repo/target/bench-experiment/nopie/$triple/release/awsid"
    [awsid-static-nopie]="$repo/target/bench-experiment/static/$triple/release/awsid"
)
home="$out/home"
mkdir -p "$home/.aws"
printf '[static]\naws_access_key_id = AKIABENCHSTATIC00001\naws_secret_access_key = bench/static/secret/000000000000000000\n' \
    >"$home/.aws/credentials"
printf '[profile static]\nregion = us-west-2\n' >"$home/.aws/config"
for v in $(env | sed -n 's/^\(AWS_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
export HOME="$home" AWS_EC2_METADATA_DISABLED=true
peer="$repo/target/bench-peer/release/awsconfig-peer"
for name in "${!bin[@]}"; do
    "${bin[$name]}" configure export-credentials --profile static | grep -q AKIABENCHSTATIC00001 ||
        { echo "experiment.sh: $name does not answer the static key" >&2; exit 1; }
done
[[ "$("$peer" static)" == AKIABENCHSTATIC00001 ]] || { echo "experiment.sh: aws-config answers wrong" >&2; exit 1; }

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/load.txt"
args=(-N --warmup 20 --min-runs 300 --style basic --export-json "$out/experiment-static.json")
for name in awsid-default awsid-nopie awsid-static-nopie; do
    args+=(-n "$name" "${bin[$name]} configure export-credentials --profile static")
done
args+=(-n aws-config "$peer static" -n empty-rust "$out/empty" -n empty-rust-static "$out/empty-static"
    -n floor-cat "cat $home/.aws/config $home/.aws/credentials")
hyperfine "${args[@]}"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/load.txt"

# Page faults and instructions per binary (deterministic, unlike times).
declare -A cmd=(
    [aws-config]="$peer static" [empty-rust]="$out/empty" [empty-rust-static]="$out/empty-static"
    [floor-cat]="cat $home/.aws/config $home/.aws/credentials"
)
for name in "${!bin[@]}"; do cmd[$name]="${bin[$name]} configure export-credentials --profile static"; done
for name in "${!cmd[@]}"; do
    # shellcheck disable=SC2086
    faults="$(perf stat -x, -r 50 -e page-faults ${cmd[$name]} 2>&1 >/dev/null | awk -F, '/page-faults/ {print $1}')"
    # shellcheck disable=SC2086
    instr="$(valgrind --tool=callgrind --callgrind-out-file=/dev/null ${cmd[$name]} 2>&1 >/dev/null |
        sed -n 's/.*refs: *//p' | tr -d ,)"
    echo "$name $faults $instr"
done >"$out/counts.txt"

python3 - "$out" <<'EOF'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
med = {r["command"]: r["median"] * 1000 for r in json.loads((out / "experiment-static.json").read_text())["results"]}
counts = {l.split()[0]: l.split()[1:] for l in (out / "counts.txt").read_text().splitlines()}
lines = ["| command | median (ms) | aws-config / it | page faults | instructions |", "|---|---:|---:|---:|---:|"]
for name, ms in med.items():
    faults, instr = (counts.get(name, ["?", "?"]) + ["?", "?"])[:2]
    lines.append(f"| {name} | {ms:.3f} | {med['aws-config'] / ms:.2f}× | {faults} | {int(instr):,} |" if instr.isdigit()
                 else f"| {name} | {ms:.3f} | {med['aws-config'] / ms:.2f}× | {faults} | {instr} |")
(out / "summary.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
