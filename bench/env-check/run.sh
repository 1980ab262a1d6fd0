#!/usr/bin/env bash
# Benchmark: a full `golat env-check` on this machine vs `go env -json` (what a user would run to
# look at the same settings), interleaved in one run. Prints medians (ms) and the ratio.
# Goal: golat env-check < 100 ms wall. Usage: bench/env-check/run.sh [RUNS] [DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-31}
dir=${2:-.}
cargo build --release --quiet
golat=./target/release/golat
command -v go >/dev/null || { echo "bench: go is not on PATH" >&2; exit 1; }

# Wall time of one command in microseconds, from bash's own clock (no extra process).
time_us() {
  local t0 t1
  t0=$EPOCHREALTIME
  "$@" >/dev/null 2>&1 || true
  t1=$EPOCHREALTIME
  echo $(( (${t1/./} - ${t0/./}) ))
}

median_ms() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m/1000}'; }

declare -a g e v c
cold_go_env() {
  local cache
  cache=$(mktemp -d)
  time_us env GOCACHE="$cache" go env -json
  rm -rf "$cache"
}
# one warm-up each (page cache, go's own caches)
time_us "$golat" env-check --dir "$dir" --json >/dev/null
time_us go env -json >/dev/null
for ((i = 0; i < runs; i++)); do
  g+=("$(time_us "$golat" env-check --dir "$dir" --json)")
  e+=("$(time_us go env -json)")
  v+=("$(time_us go version)")
  c+=("$(cold_go_env)")
done

mg=$(printf '%s\n' "${g[@]}" | median_ms)
me=$(printf '%s\n' "${e[@]}" | median_ms)
mv=$(printf '%s\n' "${v[@]}" | median_ms)
mc=$(printf '%s\n' "${c[@]}" | median_ms)
echo "runs: $runs (interleaved), dir: $dir, $(go version | cut -d' ' -f3), $(nproc) cores"
printf '%-40s %8s ms\n' "golat env-check --json" "$mg" "go env -json" "$me" \
  "go env -json, fresh GOCACHE (cold)" "$mc" "go version (floor for any go call)" "$mv"
awk -v g="$mg" -v e="$me" -v c="$mc" 'BEGIN { printf "ratio golat / go env -json: %.2f (cold: %.3f)\n", g / e, g / c }'
awk -v g="$mg" 'BEGIN { if (g < 100) print "goal < 100 ms: met"; else { print "goal < 100 ms: MISSED"; exit 1 } }'
