#!/usr/bin/env bash
# Benchmark: what `awsid exec` adds to starting a command, in one hyperfine run.
#
# Commands (hyperfine -N: no shell, one process start each), all running /bin/true:
#   true           /bin/true alone (the floor)
#   exec-env       awsid exec --profile static -- true            (keys into the environment, execve)
#   exec-ecs       awsid exec --profile static --server ecs -- true
#   exec-imds      awsid exec --profile static --server imds -- true
#
# `static` is a profile of long-term keys in ~/.aws/credentials. The server modes serve temporary
# credentials only, so they use the key's GetSessionToken session, made once before the
# measurements by `awsid serve` (default world) and then read from ~/.aws/cli/cache (1 hour
# left, so every run is a cache hit). The server modes include starting the private endpoint
# (a socket on 127.0.0.1, a thread runtime), spawning the command, waiting for it and stopping
# the endpoint. The measurements run in a network namespace of their own (`unshare --net`, needs
# root; loopback brought up inside): nothing can reach a service, so a cache miss would fail.
#
# Results: bench/out/exec/{run.json,machine.txt,summary.md}
# Usage:   bench/exec/run.sh      (AWSID_BENCH_BIN=path to skip the build)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
out="$repo/bench/out/exec"
rm -rf "$out"
mkdir -p "$out"

die() { echo "bench/exec/run.sh: $*" >&2; exit 1; }
command -v hyperfine >/dev/null || die "hyperfine is required: apt-get install hyperfine"
command -v unshare >/dev/null || die "unshare (util-linux) is required"
[[ "$(id -u)" == 0 ]] || die "run as root: the measurements run in their own network namespace"

awsid="${AWSID_BENCH_BIN:-}"
if [[ -z "$awsid" ]]; then
    echo "==> cargo build-static (target/release/awsid, statically linked; .cargo/config.toml)"
    cargo build-static
    awsid="$repo/target/release/awsid"
fi
true_bin="$(readlink -f "$(type -P true)")"

serve_pid=""
home="$(mktemp -d)"
trap '[[ -z "$serve_pid" ]] || kill "$serve_pid" 2>/dev/null || true; rm -rf "$home"' EXIT
mkdir -p "$home/.aws"
printf '[profile static]\nregion = us-east-1\n' >"$home/.aws/config"
printf '[static]\naws_access_key_id = AKIAI44QH8DHBEXAMPLE\naws_secret_access_key = je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY\n' \
    >"$home/.aws/credentials"

# The key session, made once (and checked to be a cache hit afterwards, with STS unreachable).
master_key="$(head -c 32 /dev/urandom | base64)"
env -i PATH="$PATH" HOME="$home" AWSID_MASTER_KEY="$master_key" \
    "$awsid" serve --api 127.0.0.1:0 --imds 127.0.0.1:0 --ecs 127.0.0.1:0 --quiet \
    --ready-file "$home/ready.json" &
serve_pid=$!
for _ in $(seq 300); do [[ -s "$home/ready.json" ]] && break; sleep 0.1; done
[[ -s "$home/ready.json" ]] || die "awsid serve did not become ready"
api="$(sed -n 's/.*"api":"\([^"]*\)".*/\1/p' "$home/ready.json")"
env -i PATH="$PATH" HOME="$home" AWS_ENDPOINT_URL_STS="http://$api/" \
    "$awsid" exec --profile static --server ecs -- "$true_bin"
kill "$serve_pid"
wait "$serve_pid" || true
serve_pid=""

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nproc: $(nproc)"
    echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
    echo "os: $(. /etc/os-release && echo "$PRETTY_NAME") / kernel $(uname -r)"
    echo "rustc: $(rustc --version)"
    echo "awsid: $("$awsid" --version 2>&1) ($(git rev-parse --short HEAD))"
    echo "hyperfine: $(hyperfine --version)"
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out/machine.txt"

cat >"$out/inner.sh" <<INNER
set -euo pipefail
ip link set lo up
export PATH="$PATH" HOME="$home" AWS_ENDPOINT_URL_STS=http://127.0.0.1:9/
for mode in env ecs imds; do
    "$awsid" exec --profile static --server \$mode -- "$true_bin" ||
        { echo "exec --server \$mode failed (a cache miss?)" >&2; exit 1; }
done
hyperfine -N --warmup 10 --min-runs 200 --export-json "$out/run.json" \\
    -n true "$true_bin" \\
    -n exec-env "$awsid exec --profile static -- $true_bin" \\
    -n exec-ecs "$awsid exec --profile static --server ecs -- $true_bin" \\
    -n exec-imds "$awsid exec --profile static --server imds -- $true_bin"
INNER
unshare --net -- env -i PATH="$PATH" bash "$out/inner.sh"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"

python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
results = {r["command"]: r for r in json.load(open(f"{out}/run.json"))["results"]}
floor = results["true"]["median"]
rows = ["| command | median (ms) | mean ± σ (ms) | runs | overhead over `true` (ms, medians) |",
        "|---|---:|---:|---:|---:|"]
for name in ("true", "exec-env", "exec-ecs", "exec-imds"):
    r = results[name]
    rows.append(f"| `{name}` | {r['median']*1e3:.2f} | {r['mean']*1e3:.2f} ± {r['stddev']*1e3:.2f} "
                f"| {len(r['times'])} | {(r['median'] - floor)*1e3:+.2f} |")
open(f"{out}/summary.md", "w").write("\n".join(rows) + "\n")
print("\n".join(rows))
PY
