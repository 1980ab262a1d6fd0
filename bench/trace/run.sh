#!/usr/bin/env bash
# bench/trace: golat's trace parser vs Go's reader on a ≈50 MB execution trace, in one run.
#
#   bash bench/trace/run.sh            # RUNS=5 runs each, go tool trace -d=parsed once
#   RUNS=3 PARSED_RUNS=0 TRACE_DURATION=4s bash bench/trace/run.sh
#   WORKLOAD=spawn bash bench/trace/run.sh   # a goroutine per work item (busy ... spawn)
#   BASE_REV=60fe74d bash bench/trace/run.sh # also golat-trace as built at that revision
#
# Contenders, all reading the same file (page-cached after the first read):
#   golat-parse   golat trace --parse-only (reader + ordering, every event, no summary); by
#                 default a second thread reads the file and merges the per-M streams
#   golat-parse-1t  the same with --single-thread: everything on one thread
#   golat-trace   golat trace --json (the full summary: the user-facing command)
#   go-reader     golang.org/x/exp/trace, only iterating events (bench/trace/readerbench)
#   go-d-parsed   go tool trace -d=parsed > /dev/null (Go's reader + Event.String())
#   golat-trace-base  with BASE_REV: golat trace --json built from that revision (e.g. the
#                 summary before the startup view), to price what was added since; its
#                 paired ratio (this run's golat-trace / the same round's base) is printed
# Prints medians of wall time, CPU time (user+sys) and peak RSS (/usr/bin/time -v's
# "Maximum resident set size"), throughput, and ratios against go-reader: of the medians,
# and for golat-trace also the median of each round's own ratio (wall and CPU), with its
# largest peak RSS. On a shared 2-core machine wall time swings with load; CPU time is the
# steadier comparison.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=bench/out/trace
mkdir -p "$OUT"
RUNS=${RUNS:-5}
PARSED_RUNS=${PARSED_RUNS:-1}
DURATION=${TRACE_DURATION:-4s}
WORKLOAD=${WORKLOAD:-busy}
case $WORKLOAD in
  busy) MODE=() ;;
  spawn) MODE=(spawn) ;;
  *) echo "WORKLOAD must be busy or spawn" >&2; exit 2 ;;
esac

cargo build --release -q
BASE_BIN=
if [ -n "${BASE_REV:-}" ]; then
  # The baseline is built from `git archive` in bench/out, so no worktree is touched.
  BASE_SRC=$OUT/base-$BASE_REV
  if [ ! -x "$OUT/base-target/release/golat" ] || [ "$(cat "$OUT/base-target/rev" 2>/dev/null)" != "$BASE_REV" ]; then
    rm -rf "$BASE_SRC" && mkdir -p "$BASE_SRC"
    git archive "$BASE_REV" | tar -x -C "$BASE_SRC"
    cargo build --release -q --manifest-path "$BASE_SRC/Cargo.toml" --target-dir "$OUT/base-target"
    echo "$BASE_REV" > "$OUT/base-target/rev"
  fi
  BASE_BIN=$OUT/base-target/release/golat
fi
(cd bench/trace && go build -o "../../$OUT/busy" ./busy && go build -o "../../$OUT/readerbench" ./readerbench)
TRACE=$OUT/$WORKLOAD.trace
if [ ! -s "$TRACE" ]; then
  echo "writing $TRACE (busy ${MODE[*]} traced for $DURATION)..." >&2
  "$OUT/busy" "$TRACE" "$DURATION" "${MODE[@]}"
fi
BYTES=$(stat -c %s "$TRACE")
EVENTS=$(./target/release/golat trace --parse-only "$TRACE" | awk '{print $2}')
GOEVENTS=$("$OUT/readerbench" "$TRACE" | awk '{print $2}')
echo "trace: $TRACE, $BYTES bytes, $EVENTS events (Go's reader: $GOEVENTS)"
[ "$EVENTS" = "$GOEVENTS" ] || { echo "event counts differ" >&2; exit 1; }

# measure NAME RUNS CMD...: appends "wall cpu rss_kb" lines to $OUT/NAME.times
measure() {
  local name=$1 runs=$2
  shift 2
  : > "$OUT/$name.times"
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %U %S %M" -o "$OUT/time.txt" "$@" > /dev/null
    awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}' "$OUT/time.txt" >> "$OUT/$name.times"
  done
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }

# The machine is shared: say how loaded it was, before and after.
load() { cut -d' ' -f1-3 /proc/loadavg; }
LOAD_BEFORE=$(load)

# Interleave the contenders so load changes hit all of them alike.
names=(golat-parse golat-parse-1t golat-trace go-reader)
[ -n "$BASE_BIN" ] && names+=(golat-trace-base)
for name in "${names[@]}"; do : > "$OUT/$name.times"; done
for _ in $(seq "$RUNS"); do
  for name in "${names[@]}"; do
    case $name in
      golat-parse) cmd=(./target/release/golat trace --parse-only "$TRACE") ;;
      golat-parse-1t) cmd=(./target/release/golat trace --parse-only --single-thread "$TRACE") ;;
      golat-trace) cmd=(./target/release/golat trace --json "$TRACE") ;;
      go-reader) cmd=("$OUT/readerbench" "$TRACE") ;;
      golat-trace-base) cmd=("$BASE_BIN" trace --json "$TRACE") ;;
    esac
    /usr/bin/time -f "%e %U %S %M" -o "$OUT/time.txt" "${cmd[@]}" > /dev/null
    awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}' "$OUT/time.txt" >> "$OUT/$name.times"
  done
done
if [ "$PARSED_RUNS" -gt 0 ]; then
  measure go-d-parsed "$PARSED_RUNS" go tool trace -d=parsed "$TRACE"
  names+=(go-d-parsed)
fi

gw=$(cut -d' ' -f1 "$OUT/go-reader.times" | median)
gc=$(cut -d' ' -f2 "$OUT/go-reader.times" | median)
printf "\n%-14s %5s %9s %9s %9s %10s %12s %11s\n" tool runs wall_s cpu_s rss_MB MB/s_wall "go-reader/x" "(cpu ratio)"
for n in "${names[@]}"; do
  w=$(cut -d' ' -f1 "$OUT/$n.times" | median)
  c=$(cut -d' ' -f2 "$OUT/$n.times" | median)
  r=$(cut -d' ' -f3 "$OUT/$n.times" | median)
  runs=$(wc -l < "$OUT/$n.times")
  awk -v n="$n" -v runs="$runs" -v w="$w" -v c="$c" -v r="$r" -v b="$BYTES" -v gw="$gw" -v gc="$gc" 'BEGIN {
    printf "%-14s %5d %9.2f %9.2f %9.1f %10.1f %11.2fx %10.2fx\n", n, runs, w, c, r/1024, b/1e6/w, gw/w, gc/c }'
done
echo "(medians; ratio = go-reader time / tool time, >1 means faster than Go's reader)"
# Paired: round i of golat-trace against round i of Go's reader, which ran in the same round.
paste -d' ' "$OUT/go-reader.times" "$OUT/golat-trace.times" |
  awk '{print $1/$4, $2/$5}' > "$OUT/paired-go.ratios"
gpw=$(cut -d' ' -f1 "$OUT/paired-go.ratios" | median)
gpc=$(cut -d' ' -f2 "$OUT/paired-go.ratios" | median)
trss=$(cut -d' ' -f3 "$OUT/golat-trace.times" | sort -n | tail -1)
echo "go-reader / golat-trace, median of paired rounds: wall ${gpw}x, cpu ${gpc}x (goal >= 4x wall); golat-trace peak RSS, largest of the runs: $(awk -v r="$trss" 'BEGIN {printf "%.1f", r/1024}') MB (goal <= 100 MB)"
if [ -n "$BASE_BIN" ]; then
  # Paired: round i of golat-trace against round i of the base, which ran next to it.
  paste -d' ' "$OUT/golat-trace.times" "$OUT/golat-trace-base.times" |
    awk '{print $1/$4, $2/$5}' > "$OUT/paired.ratios"
  pw=$(cut -d' ' -f1 "$OUT/paired.ratios" | median)
  pc=$(cut -d' ' -f2 "$OUT/paired.ratios" | median)
  echo "golat-trace / golat-trace-base ($BASE_REV), median of paired rounds: wall ${pw}x, cpu ${pc}x"
fi
echo "load average (1/5/15 min): $LOAD_BEFORE before, $(load) after; $(nproc) cores"
