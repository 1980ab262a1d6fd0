#!/usr/bin/env bash
# bench/trace/pair.sh: two golat binaries alternated on the bench trace, with paired ratios.
#
#   bash bench/trace/pair.sh N "FLAGS" OLD_BIN NEW_BIN [TRACE]
#   bash bench/trace/pair.sh 7 "--json" /tmp/golat-before ./target/release/golat
#
# Runs `BIN trace FLAGS TRACE` N times each, OLD and NEW in turn, and prints the medians of
# wall time, CPU time (user+sys) and peak RSS (KB), then the median of each round's NEW/OLD
# ratio (wall and CPU): a load change hits both of a round alike. TRACE defaults to the one
# bench/trace/run.sh writes.
set -euo pipefail
N=$1 FLAGS=$2 A=$3 B=$4
T=${5:-bench/out/trace/busy.trace}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
: > "$OUT/a"; : > "$OUT/b"
for _ in $(seq "$N"); do
  for x in a b; do
    bin=$A; [ $x = b ] && bin=$B
    # shellcheck disable=SC2086 # FLAGS is a list of flags
    /usr/bin/time -f "%e %U %S %M" -o "$OUT/t" "$bin" trace $FLAGS "$T" > /dev/null
    awk '{print $1, $2 + $3, $4}' "$OUT/t" >> "$OUT/$x"
  done
done
med() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
for x in a b; do
  echo "$([ $x = a ] && echo old || echo new) wall $(cut -d' ' -f1 "$OUT/$x" | med) s, cpu $(cut -d' ' -f2 "$OUT/$x" | med) s, rss $(cut -d' ' -f3 "$OUT/$x" | med) KB"
done
paste -d' ' "$OUT/b" "$OUT/a" | awk '{print $1/$4, $2/$5}' > "$OUT/r"
echo "new/old, median of paired rounds: wall $(cut -d' ' -f1 "$OUT/r" | med)x, cpu $(cut -d' ' -f2 "$OUT/r" | med)x"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
