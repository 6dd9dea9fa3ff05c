#!/usr/bin/env bash
# Benchmark: whole-process credential resolution.
#
#   static  `--profile static`: keys in ~/.aws/credentials
#   chain   `--profile chain`: role `target` assumed from role `mid` assumed from the `base`
#           keys (a chain of depth 2), both hops already in ~/.aws/cli/cache
#
# Commands, all measured in the same hyperfine run per case:
#   awsid       target/release/awsid configure export-credentials --profile P
#   botocore    bench/credentials/botocore_peer.py --profile P: the aws CLI's own session
#               (same files, same ~/.aws/cli/cache), printing like export-credentials
#   aws-config  bench/credentials/awsconfig-peer (AWS SDK for Rust, default chain for P). The SDK
#               has no file cache: for `chain` it calls STS twice per run, here `awsid serve`
#               on loopback with bench/credentials/world.toml
#   floor-cat   cat of the files the resolution reads (config, credentials, the cache entries)
#
# Results: bench/out/credentials/{static,chain}.json (hyperfine), machine.txt, summary.md
# (bench/credentials/summarize.py). Every command's answer is checked before it is timed.
#
# Usage: bench/credentials/run.sh
# Env:   PYTHON=python with awscli 1.45.11 importable (default: target/venv/bin/python)
#        AWSID_BENCH_BIN=path: measure this awsid binary instead of building target/release/awsid
#        (e.g. an experimental build); it also serves the STS for aws-config
#        HYPERFINE_ARGS='--min-runs 50' extra hyperfine options
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
out="$repo/bench/out/credentials"
rm -rf "$out"
mkdir -p "$out"

die() { echo "bench/credentials/run.sh: $*" >&2; exit 1; }
command -v hyperfine >/dev/null || die "hyperfine is required: apt-get install hyperfine"
python="${PYTHON:-$repo/target/venv/bin/python}"
[[ -x "$python" ]] || python="$(command -v python3)"
"$python" -c 'import awscli, botocore' 2>/dev/null ||
    die "no awscli/botocore for $python (run ./scripts/test once, or set PYTHON=)"

awsid="${AWSID_BENCH_BIN:-}"
if [[ -z "$awsid" ]]; then
    echo "==> cargo build-static (target/release/awsid, statically linked; .cargo/config.toml)"
    cargo build-static
    awsid="$repo/target/release/awsid"
fi
echo "==> cargo build --release (bench/credentials/awsconfig-peer, target/bench-peer)"
cargo build --release --locked --manifest-path bench/credentials/awsconfig-peer/Cargo.toml \
    --target-dir "$repo/target/bench-peer"
peer="$repo/target/bench-peer/release/awsconfig-peer"
botocore_peer="$repo/bench/credentials/botocore_peer.py"

# Machine and versions (before HOME changes: rustup finds its toolchain through HOME).
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nproc: $(nproc)"
    echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
    echo "os: $(. /etc/os-release && echo "$PRETTY_NAME") / kernel $(uname -r)"
    echo "rustc: $(rustc --version)"
    echo "awsid: $("$awsid" --version 2>&1) ($(git rev-parse --short HEAD))"
    echo "python: $("$python" --version 2>&1); awscli $("$python" -c 'import awscli; print(awscli.__version__)'); botocore $("$python" -c 'import botocore; print(botocore.__version__)')"
    echo "aws-config: $(sed -n '/^name = "aws-config"$/{n;s/^version = "\(.*\)"/\1/p}' bench/credentials/awsconfig-peer/Cargo.lock)"
    echo "hyperfine: $(hyperfine --version)"
} >"$out/machine.txt"

# ---------------------------------------------------------------------------------------------
# The identity plane for aws-config's STS calls (and for filling the cache once)
# ---------------------------------------------------------------------------------------------
serve_pid=""
cleanup() { [[ -z "$serve_pid" ]] || kill "$serve_pid" 2>/dev/null || true; }
trap cleanup EXIT
"$awsid" serve --world bench/credentials/world.toml --api 127.0.0.1:0 --imds 127.0.0.1:0 \
    --ecs 127.0.0.1:0 --ready-file "$out/ready.json" --quiet >"$out/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 100); do [[ -s "$out/ready.json" ]] && break; sleep 0.1; done
[[ -s "$out/ready.json" ]] || die "awsid serve did not start (see $out/serve.log)"
api="$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["api"])' "$out/ready.json")"

# ---------------------------------------------------------------------------------------------
# The files
# ---------------------------------------------------------------------------------------------
home="$out/home"
mkdir -p "$home/.aws"
cat >"$home/.aws/credentials" <<'EOF'
[base]
aws_access_key_id = AKIABENCHBASE0000001
aws_secret_access_key = bench/base/secret/0000000000000000000000

[static]
aws_access_key_id = AKIABENCHSTATIC00001
aws_secret_access_key = bench/static/secret/000000000000000000
EOF
cat >"$home/.aws/config" <<'EOF'
[default]
region = us-west-2

[profile static]
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
EOF
chmod 600 "$home/.aws/config" "$home/.aws/credentials"

for v in $(env | sed -n 's/^\(AWS_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
export HOME="$home" AWS_EC2_METADATA_DISABLED=true AWS_ENDPOINT_URL_STS="http://$api"

# Fill ~/.aws/cli/cache the way the CLI does: botocore resolves `chain` once (two AssumeRole
# calls); the chained hop lives one hour, so the entries stay valid (> 15 min) for the run.
"$python" "$botocore_peer" --profile chain >/dev/null
ls "$home/.aws/cli/cache"/*.json >/dev/null 2>&1 || die "the CLI wrote no cache entries"
[[ "$(ls "$home/.aws/cli/cache" | wc -l)" == 2 ]] || die "expected 2 cache entries: $(ls "$home/.aws/cli/cache")"

# ---------------------------------------------------------------------------------------------
# Never time an error path or a different answer
# ---------------------------------------------------------------------------------------------
key_of() { "$python" -c 'import json,sys; print(json.load(sys.stdin)["AccessKeyId"])'; }
static_key=AKIABENCHSTATIC00001
for who in awsid botocore aws-config; do
    case $who in
    awsid) got="$("$awsid" configure export-credentials --profile static | key_of)" ;;
    botocore) got="$("$python" "$botocore_peer" --profile static | key_of)" ;;
    aws-config) got="$("$peer" static)" ;;
    esac
    [[ "$got" == "$static_key" ]] || die "$who answers $got for static, expected $static_key"
done
cached_key="$("$python" -c 'import json,glob,sys
for p in glob.glob(sys.argv[1] + "/*.json"):
    d = json.load(open(p))
    if "/target/" in d["AssumedRoleUser"]["Arn"]: print(d["Credentials"]["AccessKeyId"])' "$home/.aws/cli/cache")"
# With STS unreachable, the cache alone must answer for awsid and botocore (zero STS calls).
for who in awsid botocore; do
    case $who in
    awsid) got="$(AWS_ENDPOINT_URL_STS=http://127.0.0.1:1 "$awsid" configure export-credentials --profile chain | key_of)" ;;
    botocore) got="$(AWS_ENDPOINT_URL_STS=http://127.0.0.1:1 "$python" "$botocore_peer" --profile chain | key_of)" ;;
    esac
    [[ "$got" == "$cached_key" ]] || die "$who answers $got for chain without STS, expected the cached $cached_key"
done
got="$("$peer" chain)"
[[ "$got" == ASIA* ]] || die "aws-config answers $got for chain, expected temporary credentials"

# ---------------------------------------------------------------------------------------------
# The measurements
# ---------------------------------------------------------------------------------------------
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"
cat "$out/machine.txt"
cache_files=("$home"/.aws/cli/cache/*.json)
for case in static chain; do
    floor="cat $home/.aws/config $home/.aws/credentials"
    [[ "$case" == static ]] || floor="$floor ${cache_files[*]}"
    echo "==> $case"
    # -N: no intermediate shell, so every command pays exactly one process start.
    # shellcheck disable=SC2086
    hyperfine -N --warmup 5 --min-runs 30 --style basic ${HYPERFINE_ARGS:-} \
        --export-json "$out/$case.json" \
        -n awsid "$awsid configure export-credentials --profile $case" \
        -n botocore "$python $botocore_peer --profile $case" \
        -n aws-config "$peer $case" \
        -n floor-cat "$floor"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/machine.txt"

"$python" bench/credentials/summarize.py "$out" | tee "$out/summary.md"
