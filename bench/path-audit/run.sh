#!/usr/bin/env bash
# Benchmark: `golat path-audit` vs `which -a go` over the same 60-entry PATH on local disk,
# interleaved in one run; prints medians and the ratio. Goal: golat < 50 ms.
#
# The PATH: $GOROOT/bin, 44 temp dirs with 12 executables each (3 of them hold a `go`
# script, so `go` is shadowed), 5 missing dirs, 3 duplicates (one with a trailing slash),
# and the system dirs /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin plus
# /usr/games = 60 entries. golat lists every directory (1 000+ files in /usr/bin), measures
# each entry's lookup latency, reads build info of the Go binaries, and prints the report.
#
# NAMES=repeated: every temp dir holds the same 18 names instead (55 entries sharing 18 names,
# so every name is shadowed 43 times: the shadowed-executables table and its build-info reads
# are the work; this once cost one thread per read, 567 clones).
#
# Usage: [NAMES=repeated] bash bench/path-audit/run.sh [RUNS]   (default 21; builds the
# release binary)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-21}
cargo build --release -q
golat=$PWD/target/release/golat
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
goroot=$(go env GOROOT)
entries=("$goroot/bin")
for i in $(seq 1 44); do
  d="$work/tools$i/bin"
  mkdir -p "$d"
  if [ "${NAMES:-}" = repeated ]; then
    for j in $(seq 1 18); do printf '#!/bin/sh\n' >"$d/tool-$j"; chmod 755 "$d/tool-$j"; done
  else
    for j in $(seq 1 12); do printf '#!/bin/sh\n' >"$d/tool$i-$j"; chmod 755 "$d/tool$i-$j"; done
  fi
  if [ $((i % 15)) -eq 0 ]; then printf '#!/bin/sh\necho fake go\n' >"$d/go"; chmod 755 "$d/go"; fi
  entries+=("$d")
done
for i in 1 2 3 4 5; do entries+=("$work/missing$i/bin"); done
entries+=("$work/tools1/bin/" "$work/tools2/bin" "$goroot/bin")
entries+=(/usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin /usr/games)
P=$(IFS=:; echo "${entries[*]}")
n=${#entries[@]}
[ "$n" -eq 60 ] || { echo "bench: built $n entries, want 60" >&2; exit 1; }
which_bin=$(command -v which)

ms() { echo "$1 $2" | awk '{printf "%.3f", ($2 - $1) * 1000}'; }
w=(); g=()
# One warm-up of each so both start from a warm dentry cache.
PATH="$P" "$which_bin" -a go >/dev/null || true
"$golat" path-audit --path "$P" --fail-on never >/dev/null
for _ in $(seq 1 "$runs"); do
  t0=$EPOCHREALTIME
  PATH="$P" "$which_bin" -a go >/dev/null || true
  t1=$EPOCHREALTIME
  "$golat" path-audit --path "$P" --fail-on never >/dev/null
  t2=$EPOCHREALTIME
  w+=("$(ms "$t0" "$t1")"); g+=("$(ms "$t1" "$t2")")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mw=$(median "${w[@]}"); mg=$(median "${g[@]}")
printf 'PATH entries: %d (%d bytes), names: %s, runs: %d, machine load: %s\n' "$n" "${#P}" "${NAMES:-distinct}" "$runs" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-28s median %8.2f ms   min %8.2f   max %8.2f\n' "which -a go" "$mw" "$(median "$(printf '%s\n' "${w[@]}" | sort -n | head -1)")" "$(printf '%s\n' "${w[@]}" | sort -n | tail -1)"
printf '%-28s median %8.2f ms   min %8.2f   max %8.2f\n' "golat path-audit" "$mg" "$(printf '%s\n' "${g[@]}" | sort -n | head -1)" "$(printf '%s\n' "${g[@]}" | sort -n | tail -1)"
awk -v g="$mg" -v w="$mw" 'BEGIN {printf "ratio golat/which: %.1fx; goal golat < 50 ms: %s\n", g / w, (g < 50 ? "met" : "NOT met")}'
