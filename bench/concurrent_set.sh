#!/usr/bin/env bash
# Counts how many of N concurrent `configure set` calls (N different keys, one profile) survive,
# for the aws CLI and for awsid, over R rounds in throw-away homes.
#
#   bench/concurrent_set.sh [N=32] [R=5]
#
# PRESEED=1 starts each round from an existing `[default]` config file (the CLI's in-place
# rewrite path) instead of no file at all (its create-and-append path).
#
# AWSID (default: target/debug/awsid, else target/release/awsid) and AWS (default: `aws` on
# PATH) name the binaries. No network: AWS_EC2_METADATA_DISABLED=true, nothing but files.
set -euo pipefail

N=${1:-32}
R=${2:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
AWSID=${AWSID:-}
if [ -z "$AWSID" ]; then
  for candidate in "$ROOT/target/release/awsid" "$ROOT/target/debug/awsid"; do
    if [ -x "$candidate" ]; then AWSID=$candidate; break; fi
  done
fi
AWS=${AWS:-aws}
[ -x "${AWSID:-/nonexistent}" ] || { echo "awsid binary not found; build it (cargo build -p awsid) or set AWSID" >&2; exit 2; }
command -v "$AWS" >/dev/null || { echo "aws CLI not found; set AWS" >&2; exit 2; }

# One round: N parallel sets of key00..key{N-1}, then count the keys the reader still sees.
round() {
  local bin=$1 home
  home=$(mktemp -d)
  if [ "${PRESEED:-0}" = 1 ]; then
    mkdir -p "$home/.aws" && printf '[default]\nregion = us-east-1\n' >"$home/.aws/config"
  fi
  for i in $(seq 0 $((N - 1))); do
    HOME=$home AWS_EC2_METADATA_DISABLED=true "$bin" configure set "$(printf 'key%02d' "$i")" "v$i" \
      >/dev/null 2>>"$home/errors" &
  done
  wait
  local parsed
  # Count with botocore's reader (the file may no longer parse after a lost race).
  parsed=$(python3 - "$home/.aws/config" "$N" <<'PY'
import sys
import botocore.configloader as cl
try:
    profiles = cl.load_config(sys.argv[1])["profiles"]
except Exception as e:  # a torn or duplicated file
    print("unparseable")
    sys.exit(0)
d = profiles.get("default", {})
print(sum(1 for i in range(int(sys.argv[2])) if d.get("key%02d" % i) == "v%d" % i))
PY
)
  local errors lines
  errors=$(grep -c . "$home/errors" 2>/dev/null || true)
  # Key lines present in the text at all, parseable or not.
  lines=$(grep -Ec '^key[0-9]+ = v[0-9]+$' "$home/.aws/config" 2>/dev/null || true)
  rm -rf "$home"
  echo "$parsed ${errors:-0} ${lines:-0}"
}

printf '%-7s %-6s %-12s %-12s %s\n' tool round "read back" "key lines" "stderr lines"
for tool in aws awsid; do
  bin=$AWS
  [ "$tool" = awsid ] && bin=$AWSID
  total=0
  for r in $(seq 1 "$R"); do
    read -r kept errs lines < <(round "$bin")
    printf '%-7s %-6s %-12s %-12s %s\n' "$tool" "$r" "$kept/$N" "$lines/$N" "$errs"
    [[ $kept =~ ^[0-9]+$ ]] && total=$((total + kept))
  done
  printf '%-7s %-6s %-12s\n' "$tool" total "$total/$((N * R))"
done
