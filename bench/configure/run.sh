#!/usr/bin/env bash
# Benchmark: `awsid configure get region --profile pLAST` vs `aws configure get …` vs two floors
# (processes that only read the two files), on config files of 10, 1,000 and 10,000 profiles,
# all measured in the same hyperfine run per size. Results: bench/out/configure/*.json and a
# markdown table (bench/out/configure/summary.md) made by summarize.py.
#
# Usage: bench/configure/run.sh [SIZES...]      (default: 10 1000 10000)
# Env:   AWS=path/to/aws (default: target/venv/bin/aws, else `aws` on PATH)
#        HYPERFINE_ARGS='--runs 20' extra hyperfine options
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
out="$repo/bench/out/configure"
mkdir -p "$out"

command -v hyperfine >/dev/null || {
    echo "bench/configure/run.sh: hyperfine is required: apt-get install hyperfine" >&2
    exit 1
}
command -v rustc >/dev/null || { echo "bench/configure/run.sh: rustc is required" >&2; exit 1; }
aws="${AWS:-}"
if [[ -z "$aws" ]]; then
    if [[ -x "$repo/target/venv/bin/aws" ]]; then aws="$repo/target/venv/bin/aws"; else aws="$(command -v aws || true)"; fi
fi
[[ -n "$aws" && -x "$aws" ]] || { echo "bench/configure/run.sh: no aws CLI (run ./scripts/test once, or set AWS=)" >&2; exit 1; }

sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(10 1000 10000)

echo "==> cargo build-static (target/release/awsid, statically linked; .cargo/config.toml)"
cargo build-static
awsid="$repo/target/release/awsid"

echo "==> rustc -O floor_read.rs"
rustc -O --edition 2021 -o "$out/floor_read" bench/configure/floor_read.rs

# Record the machine and versions next to the numbers.
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nproc: $(nproc)"
    echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
    echo "os: $(. /etc/os-release && echo "$PRETTY_NAME") / kernel $(uname -r)"
    echo "rustc: $(rustc --version)"
    echo "awsid: $("$awsid" --version 2>&1) ($(git rev-parse --short HEAD))"
    echo "aws: $("$aws" --version 2>&1)"
    echo "hyperfine: $(hyperfine --version)"
    echo "cat: $(cat --version | head -1)"
} >"$out/machine.txt"
cat "$out/machine.txt"

for n in "${sizes[@]}"; do
    home="$out/home-$n"
    rm -rf "$home"
    python3 bench/configure/gen_files.py "$n" "$home"
    last="p$((n - 1))"
    export HOME="$home" AWS_EC2_METADATA_DISABLED=true
    unset AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE AWS_PROFILE AWS_DEFAULT_PROFILE AWS_REGION AWS_DEFAULT_REGION

    # Never time an error path: both must print the same region first.
    want="$("$aws" configure get region --profile "$last")"
    got="$("$awsid" configure get region --profile "$last" 2>&1)" || true
    if [[ "$got" != "$want" ]]; then
        echo "bench/configure/run.sh: awsid does not answer like aws at $n profiles" >&2
        echo "  aws:   $want" >&2
        echo "  awsid: $got" >&2
        echo "  (not measured)" >&2
        exit 1
    fi

    echo "==> $n profiles ($(wc -c <"$home/.aws/config") + $(wc -c <"$home/.aws/credentials") bytes)"
    # -N: no intermediate shell, so every command pays exactly one process start.
    # shellcheck disable=SC2086
    hyperfine -N --warmup 3 --style basic ${HYPERFINE_ARGS:-} \
        --export-json "$out/get-$n.json" \
        -n awsid "$awsid configure get region --profile $last" \
        -n aws "$aws configure get region --profile $last" \
        -n floor-cat "cat $home/.aws/config $home/.aws/credentials" \
        -n floor-rust-read "$out/floor_read"
done

python3 bench/configure/summarize.py "$out" | tee "$out/summary.md"
