#!/usr/bin/env python3
"""bench/field: golat profile on a real module with hundreds of packages, fetched through
the Go module proxy (default golang.org/x/tools@v0.52.0: 221 packages, 484 with their
dependencies), cold and then warm, with the checks issue 20 asks of a big build:

- cold (a fresh GOCACHE): the first "what to change" is the packages compiled, with the
  standard library among them; the critical path reaches the end of the wall (its tail is
  kept, whatever is left out of its middle); the per-tool "on critical path" totals add
  up to the whole path, not to the listed processes;
- warm (the same cache again): nothing is compiled and "what to change" says nothing about
  it.

Prints each figure and PASS/FAIL per check; exits 1 when a check fails. Needs go, network
access to the module proxy, and a release build of golat (built here). Not run by CI.

    python3 bench/field/run.py [--module MOD@VERSION] [--keep]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOLAT = os.path.join(REPO, "target", "release", "golat")


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def profile(src, env, json_path, text_path):
    t = time.monotonic()
    run(
        [GOLAT, "profile", "--json", json_path, "-o", text_path, "--top", "5",
         "go", "build", "./..."],
        cwd=src, env=env,
    )
    with open(json_path) as f:
        return json.load(f), time.monotonic() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--module", default="golang.org/x/tools@v0.52.0")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    run(["cargo", "build", "--release", "-q"], cwd=REPO)

    work = tempfile.mkdtemp(prefix="golat-field-")
    failed = []

    def check(name, ok, detail):
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")
        if not ok:
            failed.append(name)

    try:
        info = json.loads(run(["go", "mod", "download", "-json", args.module],
                              capture_output=True, text=True).stdout)
        src = os.path.join(work, "src")
        shutil.copytree(info["Dir"], src)
        run(["chmod", "-R", "u+w", src])
        env = dict(os.environ, GOCACHE=os.path.join(work, "gocache"),
                   GOFLAGS="-mod=mod -buildvcs=false", GOTOOLCHAIN="local")
        # Dependencies into the module cache first: the cold build measures compiling.
        run(["go", "mod", "download"], cwd=src, env=env)
        pkgs = run(["go", "list", "./..."], cwd=src, env=env, capture_output=True,
                   text=True).stdout.split()
        deps = run(["go", "list", "-deps", "./..."], cwd=src, env=env, capture_output=True,
                   text=True).stdout.split()
        print(f"module {args.module}: {len(pkgs)} packages, {len(deps)} with dependencies")

        cold, cold_s = profile(src, env, os.path.join(work, "cold.json"),
                               os.path.join(work, "cold.txt"))
        ex = cold["hotspots"]["exec"]
        wc = cold["hotspots"]["what_to_change"]
        compiles = sum(1 for p in cold["processes"]
                       if p["tool"] == "compile" and "-V=full" not in p["argv"])
        print(f"cold: {cold['wall_ms'] / 1000:.1f} s wall under golat ({cold_s:.1f} s with the "
              f"analysis), {len(cold['processes'])} processes, {compiles} compiles, "
              f"{sum(s['count'] for s in cold['syscalls'])} calls "
              f"({cold.get('calls_omitted', 0)} left out of the JSON), "
              f"{os.path.getsize(os.path.join(work, 'cold.json')) / 1e6:.1f} MB of JSON")
        for i, f in enumerate(wc["findings"], 1):
            print(f"  what to change {i}. {f['title']}: ≈{f['saves_ms']:.0f} ms "
                  f"({100 * f['share']:.1f}%), {f['confidence']}")
        first = wc["findings"][0] if wc["findings"] else {}
        check("cold: first finding is the packages compiled",
              first.get("key") == "rebuilt_packages"
              and "standard library" in first.get("evidence", ""),
              first.get("title", "(none)"))
        links = ex["critical_path"]
        gap = ex.get("critical_path_gap")
        last_end = links[-1]["to_ms"] if links else 0.0
        check("cold: the critical path reaches the end of the wall",
              last_end >= 0.99 * cold["wall_ms"],
              f"last link ends at {last_end:.0f} of {cold['wall_ms']:.0f} ms; "
              f"{ex['critical_path_links']} links, {len(links)} kept"
              + (f", {gap['links']} left out of the middle ({gap['ms']:.0f} ms)" if gap else ""))
        path_ms = sum(l["ms"] for l in links) + (gap["ms"] if gap else 0.0)
        tools_ms = sum(t["critical_ms"] for t in ex["tools"])
        check("cold: per-tool critical-path totals add up to the whole path",
              abs(tools_ms - path_ms) <= 0.01 * path_ms + 0.5,
              f"tools {tools_ms:.0f} ms, path {path_ms:.0f} ms, "
              f"{ex['critical_processes']} processes held it")

        warm, warm_s = profile(src, env, os.path.join(work, "warm.json"),
                               os.path.join(work, "warm.txt"))
        wcw = warm["hotspots"]["what_to_change"]
        compiles = sum(1 for p in warm["processes"]
                       if p["tool"] == "compile" and "-V=full" not in p["argv"])
        print(f"warm: {warm['wall_ms'] / 1000:.2f} s wall under golat, "
              f"{len(warm['processes'])} processes, {compiles} compiles")
        for i, f in enumerate(wcw["findings"], 1):
            print(f"  what to change {i}. {f['title']}: ≈{f['saves_ms']:.0f} ms "
                  f"({100 * f['share']:.1f}%), {f['confidence']}")
        if not wcw["findings"]:
            with open(os.path.join(work, "warm.txt")) as f:
                line = next((l for l in f if l.startswith("What to change")), "").strip()
            print(f"  {line}")
        check("warm: nothing compiled, no rebuilt-packages finding",
              compiles == 0 and not any(f["key"] == "rebuilt_packages"
                                        for f in wcw["findings"]),
              f"{compiles} compiles")
        first = wcw["findings"][0] if wcw["findings"] else {}
        check("warm: first finding is the links go build ./... throws away",
              first.get("key") == "discarded_links", first.get("title", "(none)"))

        # The fix, natively: build into a directory once, then time the next build against
        # the plain one, alternately (median of 3 each).
        bindir = os.path.join(work, "bin") + "/"
        run(["go", "build", "-o", bindir, "./..."], cwd=src, env=env)
        plain, fixed = [], []
        for _ in range(3):
            for cmd, acc in ((["go", "build", "./..."], plain),
                             (["go", "build", "-o", bindir, "./..."], fixed)):
                t = time.monotonic()
                run(cmd, cwd=src, env=env)
                acc.append(time.monotonic() - t)
        med = lambda v: sorted(v)[len(v) // 2]
        saved_ms = (med(plain) - med(fixed)) * 1000
        said = first.get("saves_ms", 0.0)
        print(f"fix applied (native, medians of 3): go build ./... {med(plain):.2f} s, "
              f"go build -o DIR/ ./... {med(fixed):.2f} s: saved {saved_ms:.0f} ms; golat said "
              f"≈{said:.0f} ms of its traced wall")
        check("fix: building into a directory saves at least half of what golat said",
              saved_ms >= 0.5 * said, f"{saved_ms:.0f} ms against ≈{said:.0f} ms")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if failed:
        print(f"{len(failed)} check(s) failed")
        sys.exit(1)


if __name__ == "__main__":
    main()
