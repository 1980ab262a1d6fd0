#!/usr/bin/env python3
"""bench/build_cache: what the build-cache section and --explain cost.

A warm no-op `go build -o BIN .` of fixtures/cachemod (copied to a temp dir, built once),
run alternately, --rounds times, with the order rotated each round so drifting load hits
every variant alike:

  native      the build untraced
  plain       golat profile --no-build-cache   (no -debug-actiongraph)
  default     golat profile                    (-debug-actiongraph, merged into the report)
  explain     golat profile --explain          (also GODEBUG=gocachehash=1, lines hidden)

Printed: each variant's median wall (golat's own wall, tracing included), and per round
the paired ratios default/plain and explain/plain, with their medians: the cost of the
section and of --explain relative to a traced no-op build. Also the go command's gocachehash
line count (one ptrace stop each under --explain).

  python3 bench/build_cache/run.py [--rounds N]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOLAT = os.environ.get("GOLAT") or os.path.join(REPO, "target", "release", "golat")
med = statistics.median


def timed(cmd, cwd):
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - start) * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "-q"], cwd=REPO, check=True)
    work = tempfile.mkdtemp(prefix="golat-bench-cache-")
    try:
        mod = os.path.join(work, "cachemod")
        shutil.copytree(os.path.join(REPO, "fixtures", "cachemod"), mod)
        build = ["go", "build", "-o", "bin/cachemod", "."]
        subprocess.run(build, cwd=mod, check=True)
        report = os.path.join(work, "r.json")
        variants = {
            "native": build,
            "plain": [GOLAT, "profile", "-q", "--no-build-cache", "--"] + build,
            "default": [GOLAT, "profile", "-q", "--"] + build,
            "explain": [GOLAT, "profile", "-q", "--explain", "--json", report, "--"] + build,
        }
        names = list(variants)
        for name in names:  # warm-up
            timed(variants[name], mod)
        walls = {n: [] for n in names}
        for r in range(args.rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for name in order:
                walls[name].append(timed(variants[name], mod))
        with open(report) as f:
            note = json.load(f)["timing"]["note"]
        hashes = note.split("kept its ")[1].split(" ")[0] if "kept its " in note else "?"
        print(f"warm no-op `go build` of fixtures/cachemod, {args.rounds} rounds, order rotated")
        for name in names:
            print(f"  {name:8} median {med(walls[name]):7.1f} ms  (min {min(walls[name]):.1f}, "
                  f"max {max(walls[name]):.1f})")
        for name in ("default", "explain"):
            ratios = [a / b for a, b in zip(walls[name], walls["plain"])]
            print(f"  {name}/plain paired ratio: median {med(ratios):.3f} "
                  f"(min {min(ratios):.3f}, max {max(ratios):.3f})")
        ratios = [a / b for a, b in zip(walls["plain"], walls["native"])]
        print(f"  plain/native paired ratio: median {med(ratios):.3f}")
        print(f"  gocachehash lines the go command printed under --explain: {hashes}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
