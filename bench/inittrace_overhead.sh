#!/usr/bin/env bash
# What capturing GODEBUG=inittrace=1 costs under `golat profile`: wall time of the init-chain
# fixture binary and of `go version`, native vs golat without inittrace vs golat with it
# (the default). Prints medians of N runs (default 9) and the differences.
#   bash bench/inittrace_overhead.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-9}
cargo build --release -q
golat=./target/release/golat
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd fixtures/initchain && go build -o "$tmp/initchain" .)
unset GODEBUG

# median wall ms of n runs of "$@" (stdout/stderr discarded)
median_ms() {
  local times=()
  for _ in $(seq "$n"); do
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1
    t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'
}

row() {
  printf '%-12s %8s %10s %12s %12s %12s %14s\n' "$@"
}

printf 'median of %s runs, ms (%s)\n' "$n" "$(go version)"
row command native native+it golat-no-it golat+it "runtime it" "golat capture"
for label in initchain go-version; do
  if [ "$label" = initchain ]; then cmd=("$tmp/initchain"); else cmd=(go version); fi
  base=$(median_ms "${cmd[@]}")
  base_it=$(GODEBUG=inittrace=1 median_ms "${cmd[@]}")
  off=$(median_ms "$golat" profile --quiet --no-inittrace -- "${cmd[@]}")
  on=$(median_ms "$golat" profile --quiet --inittrace all -- "${cmd[@]}")
  # runtime it: what GODEBUG=inittrace=1 costs by itself (the allocator's slow path);
  # golat capture: what golat's stops on the lines add on top of that.
  row "$label" "$base" "$base_it" "$off" "$on" \
    "$(awk -v a="$base_it" -v b="$base" 'BEGIN {printf "%+.1f", a-b}')" \
    "$(awk -v on="$on" -v off="$off" -v a="$base_it" -v b="$base" 'BEGIN {printf "%+.1f", (on-off)-(a-b)}')"
done
