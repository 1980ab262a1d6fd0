#!/usr/bin/env bash
# What `golat profile --runtime-trace` costs: `go run ./fixtures/hello` (a program that exits
# in a few ms) natively, under `golat profile`, and under `golat profile --runtime-trace`,
# runs interleaved. Prints medians of N runs (default 7) of: the outer wall (what the user
# waits), the report's wall_ms (the traced command), and the program's own life (its exec to
# its exit, from the report), with the differences --runtime-trace makes.
#   bash bench/runtime_trace_overhead.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-7}
cargo build --release -q
golat=$PWD/target/release/golat
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset GODEBUG
# Warm the build cache for both variants (the overlay packages are built once, then cached).
go run ./fixtures/hello >/dev/null
"$golat" profile -q --runtime-trace go run ./fixtures/hello >/dev/null
python3 - "$golat" "$n" "$tmp" <<'PY'
import json, statistics, subprocess, sys, time
golat, n, tmp = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cmd = ["go", "run", "./fixtures/hello"]
variants = {
    "native": cmd,
    "golat": [golat, "profile", "-q", "--json", f"{tmp}/a.json", "--"] + cmd,
    "golat+rt": [golat, "profile", "-q", "--runtime-trace", "--json", f"{tmp}/b.json", "--"] + cmd,
}
res = {k: {"outer": [], "wall": [], "program": []} for k in variants}
for _ in range(n):
    for k, argv in variants.items():
        t0 = time.monotonic()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        res[k]["outer"].append((time.monotonic() - t0) * 1000)
        if k != "native":
            r = json.load(open(argv[argv.index("--json") + 1]))
            res[k]["wall"].append(r["wall_ms"])
            p = [p for p in r["processes"] if p["tool"] == "hello"][-1]
            res[k]["program"].append(p["end_ms"] - p["execs"][-1]["t_ms"])
            if k == "golat+rt":
                assert r["go"]["runtime_trace"]["summary"]["generations"] >= 1
med = lambda v: statistics.median(v) if v else float("nan")
cell = lambda v, f: format(med(v), f) if v else "-"
print(f"go run ./fixtures/hello, medians of {n} interleaved runs, ms ({subprocess.check_output(['go', 'version'], text=True).strip()})")
print(f"{'variant':10} {'outer':>8} {'wall_ms':>8} {'program':>8}")
for k in variants:
    print(f"{k:10} {cell(res[k]['outer'], '8.1f')} {cell(res[k]['wall'], '8.1f'):>8} {cell(res[k]['program'], '8.2f'):>8}")
a, b = res["golat"], res["golat+rt"]
print(f"--runtime-trace adds: outer {med(b['outer']) - med(a['outer']):+.1f} ms "
      f"({med(b['outer']) / med(a['outer']):.2f}x), traced wall {med(b['wall']) - med(a['wall']):+.1f} ms, "
      f"program exec->exit {med(b['program']) - med(a['program']):+.2f} ms")
PY
