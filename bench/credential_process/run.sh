#!/usr/bin/env bash
# Benchmark: a cached `awsid credential-process` against the ecosystem's usual workaround and
# against botocore resolving the profile itself, in one hyperfine run.
#
# The profile is `chain` of bench/credentials (role `target` assumed from role `mid` assumed
# from the `base` keys, a chain of depth 2) with both hops already in ~/.aws/cli/cache, where
# awsid, botocore and the aws CLI v2 all look for them.
#
# Commands (hyperfine -N: no shell, one process start each):
#   awsid-cp      target/release/awsid credential-process --profile chain
#   awsid-start   target/release/awsid --version: the same binary started and stopped, reading
#                 no file (what "a cached hit costs about as much as starting the process" means)
#   aws-v2-export /usr/bin/aws configure export-credentials --profile chain --format process
#                 (the workaround people put in credential_process; Debian's v2 2.9.19 — v1 has
#                 no export-credentials)
#   botocore      bench/credentials/botocore_peer.py --profile chain: the aws CLI's own session
#                 resolving the profile itself, with the CLI's cache
#   botocore+awsid-cp / botocore+aws-v2-export
#                 the same botocore session resolving a profile whose credential_process is the
#                 awsid command or the workaround: what a Python client pays end to end. The
#                 workaround runs under `env -u AWS_DATA_PATH` (~1 ms): the v1 CLI session of the
#                 peer exports AWS_DATA_PATH=<v1's awscli/data>, and v2 started with it loads v1's
#                 CLI model and fails ('Namespace' object has no attribute 'cli_binary_format').
#
# Every command is checked to print the cached credentials first, with STS unreachable. The
# measurements run in a network namespace of their own (`unshare --net`, needs root): a cache
# miss could not reach any service, and no run can talk to anything but itself.
#
# Results: bench/out/credential_process/{run.json,machine.txt,summary.md}
# Usage:   bench/credential_process/run.sh      (AWSID_BENCH_BIN=path to skip the build)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
out="$repo/bench/out/credential_process"
rm -rf "$out"
mkdir -p "$out"

die() { echo "bench/credential_process/run.sh: $*" >&2; exit 1; }
command -v hyperfine >/dev/null || die "hyperfine is required: apt-get install hyperfine"
command -v unshare >/dev/null || die "unshare (util-linux) is required"
[[ "$(id -u)" == 0 ]] || die "run as root: the measurements run in their own network namespace"
aws_v2=/usr/bin/aws
[[ -x "$aws_v2" ]] || die "the aws CLI v2 is required at /usr/bin/aws: apt-get install awscli"
python="${PYTHON:-$repo/target/venv/bin/python}"
"$python" -c 'import awscli, botocore' 2>/dev/null ||
    die "no awscli/botocore for $python (run ./scripts/test once, or set PYTHON=)"

awsid="${AWSID_BENCH_BIN:-}"
if [[ -z "$awsid" ]]; then
    echo "==> cargo build-static (target/release/awsid, statically linked; .cargo/config.toml)"
    cargo build-static
    awsid="$repo/target/release/awsid"
fi
botocore_peer="$repo/bench/credentials/botocore_peer.py"

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nproc: $(nproc)"
    echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
    echo "os: $(. /etc/os-release && echo "$PRETTY_NAME") / kernel $(uname -r)"
    echo "rustc: $(rustc --version)"
    echo "awsid: $("$awsid" --version 2>&1) ($(git rev-parse --short HEAD))"
    echo "aws v2: $("$aws_v2" --version 2>&1)"
    echo "python: $("$python" --version 2>&1); awscli $("$python" -c 'import awscli; print(awscli.__version__)'); botocore $("$python" -c 'import botocore; print(botocore.__version__)')"
    echo "hyperfine: $(hyperfine --version)"
} >"$out/machine.txt"

# The identity plane, only to fill the cache once.
serve_pid=""
cleanup() { [[ -z "$serve_pid" ]] || kill "$serve_pid" 2>/dev/null || true; }
trap cleanup EXIT
"$awsid" serve --world bench/credentials/world.toml --api 127.0.0.1:0 --imds 127.0.0.1:0 \
    --ecs 127.0.0.1:0 --ready-file "$out/ready.json" --quiet >"$out/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 100); do [[ -s "$out/ready.json" ]] && break; sleep 0.1; done
[[ -s "$out/ready.json" ]] || die "awsid serve did not start (see $out/serve.log)"
api="$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["api"])' "$out/ready.json")"

home="$out/home"
mkdir -p "$home/.aws"
cat >"$home/.aws/credentials" <<'EOF'
[base]
aws_access_key_id = AKIABENCHBASE0000001
aws_secret_access_key = bench/base/secret/0000000000000000000000
EOF
cat >"$home/.aws/config" <<EOF
[default]
region = us-west-2

[profile mid]
role_arn = arn:aws:iam::123456789012:role/mid
source_profile = base
duration_seconds = 43200
region = us-west-2

[profile chain]
role_arn = arn:aws:iam::123456789012:role/target
source_profile = mid
role_session_name = bench
region = us-west-2

[profile cp-awsid]
credential_process = $awsid credential-process --profile chain
region = us-west-2

[profile cp-aws-v2]
credential_process = env -u AWS_DATA_PATH $aws_v2 configure export-credentials --profile chain --format process
region = us-west-2
EOF
chmod 600 "$home/.aws/config" "$home/.aws/credentials"

for v in $(env | sed -n 's/^\(AWS_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
export HOME="$home" AWS_EC2_METADATA_DISABLED=true AWS_PAGER=""

# Fill the cache: awsid resolves `chain` once (two AssumeRole calls to the local plane).
AWS_ENDPOINT_URL_STS="http://$api" "$awsid" credential-process --profile chain >/dev/null
[[ "$(ls "$home/.aws/cli/cache"/*.json | wc -l)" == 2 ]] || die "expected 2 cache entries"
cleanup
serve_pid=""

# Never time an error path or a different answer: every command, with no network at all.
key_of() { "$python" -c 'import json,sys; print(json.load(sys.stdin)["AccessKeyId"])'; }
cached_key="$("$awsid" credential-process --profile chain | key_of)"
check() { # NAME COMMAND...
    local got
    got="$(unshare --net "$@" | key_of)" || die "$1 failed without network"
    [[ "$got" == "$cached_key" ]] || die "$*: $got, expected the cached $cached_key"
}
check "$awsid" credential-process --profile chain
check "$aws_v2" configure export-credentials --profile chain --format process
check "$python" "$botocore_peer" --profile chain
check "$python" "$botocore_peer" --profile cp-awsid
check "$python" "$botocore_peer" --profile cp-aws-v2

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"
cat "$out/machine.txt"
# shellcheck disable=SC2086
unshare --net hyperfine -N --warmup 3 --min-runs 20 --style basic ${HYPERFINE_ARGS:-} \
    --export-json "$out/run.json" \
    -n awsid-cp "$awsid credential-process --profile chain" \
    -n awsid-start "$awsid --version" \
    -n aws-v2-export "$aws_v2 configure export-credentials --profile chain --format process" \
    -n botocore "$python $botocore_peer --profile chain" \
    -n botocore+awsid-cp "$python $botocore_peer --profile cp-awsid" \
    -n botocore+aws-v2-export "$python $botocore_peer --profile cp-aws-v2"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/machine.txt"

"$python" - "$out" <<'EOF' | tee "$out/summary.md"
import json, statistics, sys
from pathlib import Path
out = Path(sys.argv[1])
runs = {r["command"]: r for r in json.loads((out / "run.json").read_text())["results"]}
med = {k: statistics.median(r["times"]) * 1000 for k, r in runs.items()}
print("| command | median ms (mean ± σ) | min ms | runs |")
print("|---|---:|---:|---:|")
for k, r in runs.items():
    print(f"| `{k}` | {med[k]:.2f} ({r['mean'] * 1000:.2f} ± {r['stddev'] * 1000:.2f}) | "
          f"{min(r['times']) * 1000:.2f} | {len(r['times'])} |")
print()
ratio = lambda a, b: med[a] / med[b]
print(f"* workaround / awsid credential-process: {ratio('aws-v2-export', 'awsid-cp'):.0f}x (target >= 100x)")
print(f"* botocore resolving the profile itself / awsid credential-process: {ratio('botocore', 'awsid-cp'):.0f}x")
print(f"* awsid credential-process / awsid --version (process start alone): {ratio('awsid-cp', 'awsid-start'):.2f}x "
      f"({med['awsid-cp'] - med['awsid-start']:+.2f} ms for the cached resolution)")
print(f"* a botocore client, credential_process = workaround vs = awsid: "
      f"{ratio('botocore+aws-v2-export', 'botocore+awsid-cp'):.2f}x "
      f"({med['botocore+aws-v2-export'] - med['botocore+awsid-cp']:.0f} ms saved per resolution)")
EOF
