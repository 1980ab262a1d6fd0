#!/usr/bin/env bash
# Checks the cost model against reality: mounts the slowfs FUSE fixture (every lookup waits
# DELAY), puts its directory first in PATH, and compares golat's estimate of what that entry
# costs `go version` / `go env GOROOT` with the measured difference in wall time (medians of
# RUNS runs with and without the entry, interleaved).
#
# Usage: bash bench/path-audit/model-vs-real.sh [RUNS] [DELAY]   (needs root or fusermount3)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-15}; delay=${2:-2ms}
cargo build --release -q
golat=$PWD/target/release/golat
work=$(mktemp -d)
(cd fixtures/pathaudit/slowfs && GOFLAGS=-mod=mod go build -o "$work/slowfs" .)
mkdir "$work/mnt"
"$work/slowfs" -mode slow -delay "$delay" "$work/mnt" >"$work/log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; umount -l "$work/mnt" 2>/dev/null || fusermount3 -uz "$work/mnt" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 50); do grep -q ready "$work/log" && break; sleep 0.1; done
grep -q ready "$work/log" || { cat "$work/log" >&2; exit 1; }
go=$(command -v go)
base="$(dirname "$go"):/usr/local/bin:/usr/bin:/bin"
slow="$work/mnt/bin:$base"
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
measure() { # PATH args...
  local p=$1; shift; local t=()
  for _ in $(seq "$runs"); do
    local t0=$EPOCHREALTIME; PATH="$p" GOTOOLCHAIN=local "$go" "$@" >/dev/null; local t1=$EPOCHREALTIME
    t+=("$(echo "$t0 $t1" | awk '{printf "%.3f", ($2-$1)*1000}')")
  done
  median "${t[@]}"
}
est() { # command label -> ms estimate difference between slow and base PATH
  local a b
  a=$("$golat" path-audit --json --fail-on never --path "$slow" | jq -r ".cost.commands[] | select(.command==\"$1\") | .ms" 2>/dev/null || echo nan)
  b=$("$golat" path-audit --json --fail-on never --path "$base" | jq -r ".cost.commands[] | select(.command==\"$1\") | .ms" 2>/dev/null || echo nan)
  echo "$a $b" | awk '{printf "%.2f", $1-$2}'
}
command -v jq >/dev/null || { echo "needs jq" >&2; exit 1; }
printf 'slow entry: FUSE, %s per lookup, first in PATH; %d runs each\n' "$delay" "$runs"
printf '%-16s %12s %12s %14s %14s\n' command "base ms" "+slow ms" "measured diff" "golat model"
for c in "version" "env GOROOT"; do
  b=$(measure "$base" $c); s=$(measure "$slow" $c)
  label="go version"; [ "$c" = "env GOROOT" ] && label="go version" # same lookups: gcc + gccgo
  printf '%-16s %12.2f %12.2f %14.2f %14s\n' "go $c" "$b" "$s" "$(echo "$b $s" | awk '{print $2-$1}')" "$(est "$label")"
done
