#!/usr/bin/env python3
"""bench/startup: what golat's startup-phase breakpoints cost, in stops and in time.

Workloads, each run alternately --rounds times with the order rotated each round:

  program   fixtures/startup built once (two slow inits, 85 ms of sleep), run directly
  go-run    a warm `go run .` of fixtures/startup (the go command, the link, the program)

Variants:

  native    the workload untraced (the program prints its own time to main.main)
  off       golat profile --startup off
  user      golat profile (the default: breakpoints in programs that are not the toolchain)
  all       golat profile --startup all (breakpoints in the go command and its tools too)

Printed per workload: median wall of each variant; the paired ratio user/off and all/off
(medians of per-round ratios); ptrace stops per Go process with and without breakpoints
(medians over rounds of each process kind's stops, user - off and all - off), which the
breakpoints bound at 4 per process; and for `program`, exec → main.main as the startup
table reports it (raw and its native estimate) against the program's own native figure
and, when bpftrace can run (root), each phase against the kernel's uprobes on the same four
functions in native runs (first entry of each: a Go function whose stack must grow is
entered again after morestack).

  python3 bench/startup/run.py [--rounds N]
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


def monotonic_ns():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def run(cmd, cwd, env):
    start = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True, text=True)
    return (time.perf_counter() - start) * 1e3, p


def stops_by_tool(report):
    """Stops per process, grouped by tool: {tool: [stops, ...]}."""
    out = {}
    for p in report["processes"]:
        out.setdefault(p["tool"], []).append(p.get("stops", 0))
    return out


PROBES = ["runtime.schedinit", "runtime.main", "runtime.gcenable", "main.main"]


def bpftrace_phases(prog, env, rounds):
    """Median native phase durations (ms) between the first entries of PROBES, by uprobes."""
    if not shutil.which("bpftrace") or os.geteuid() != 0:
        return None
    script = " ".join(
        f'uprobe:{prog}:{f} {{ printf("{i} %lu\\n", nsecs); }}' for i, f in enumerate(PROBES)
    )
    per = [[] for _ in PROBES[1:]]
    for _ in range(rounds):
        p = subprocess.run(["bpftrace", "-e", script, "-c", prog], env=env, capture_output=True, text=True, timeout=120)
        first = {}
        for line in p.stdout.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
                first.setdefault(int(parts[0]), int(parts[1]))
        if len(first) == len(PROBES):
            for i in range(1, len(PROBES)):
                per[i - 1].append((first[i] - first[i - 1]) / 1e6)
    return [med(v) if v else None for v in per]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "-q"], cwd=REPO, check=True)
    work = tempfile.mkdtemp(prefix="golat-bench-startup-")
    env = dict(os.environ, GOTOOLCHAIN="local", GOFLAGS="-buildvcs=false")
    env.pop("GODEBUG", None)
    try:
        src = os.path.join(work, "startup")
        shutil.copytree(os.path.join(REPO, "fixtures", "startup"), src)
        prog = os.path.join(work, "startup-bin")
        subprocess.run(["go", "build", "-o", prog, "."], cwd=src, env=env, check=True)
        subprocess.run(["go", "run", "."], cwd=src, env=env, check=True, capture_output=True)
        report = os.path.join(work, "r.json")
        workloads = {"program": [prog], "go-run": ["go", "run", "."]}
        table_phases = []  # the program's phases (native estimates) when run directly
        for wname, cmd in workloads.items():
            variants = {
                "native": cmd,
                "off": [GOLAT, "profile", "-q", "--startup", "off", "--json", report, "--"] + cmd,
                "user": [GOLAT, "profile", "-q", "--json", report, "--"] + cmd,
                "all": [GOLAT, "profile", "-q", "--startup", "all", "--json", report, "--"] + cmd,
            }
            names = list(variants)
            walls = {n: [] for n in names}
            stops = {n: {} for n in names}
            own_main, table_main, table_native = [], [], []
            for r in range(args.rounds + 1):
                order = names[r % len(names):] + names[: r % len(names)]
                for n in order:
                    e = dict(env, GOLAT_T0_NS=str(monotonic_ns()))
                    ms, p = run(variants[n], src, e)
                    if r == 0:
                        continue  # warm-up
                    walls[n].append(ms)
                    if n == "native" and wname == "program":
                        for line in p.stderr.splitlines():
                            if line.startswith("time-to-main-ns "):
                                own_main.append(int(line.split()[1]) / 1e6)
                    if n != "native":
                        rep = json.load(open(report))
                        for tool, v in stops_by_tool(rep).items():
                            stops[n].setdefault(tool, []).append(med(v))
                        if n == "user" and wname == "program":
                            st = rep["hotspots"]["startup"]["processes"][0]
                            table_main.append(st["main_ms"])
                            table_native.append(st["main_ms"] - st["golat_ms"])
                            table_phases.append({ph["to"]: ph["native_ms"] for ph in st["phases"]})
            print(f"\n== {wname}: {' '.join(cmd)}  ({args.rounds} rounds)")
            for n in names:
                print(f"  {n:<7} median wall {med(walls[n]):8.1f} ms")
            for n in ("user", "all"):
                ratios = [a / b for a, b in zip(walls[n], walls["off"])]
                print(f"  {n}/off paired median {med(ratios):.3f}x")
            print("  stops per process (median), by tool:  off   user   all   user-off  all-off")
            tools = sorted(set(stops["off"]) | set(stops["user"]) | set(stops["all"]))
            for t in tools:
                o, u, a = (med(stops[n].get(t, [0])) for n in ("off", "user", "all"))
                print(f"    {t:<28} {o:7.0f} {u:6.0f} {a:6.0f} {u - o:+9.0f} {a - o:+8.0f}")
            if own_main:
                print(
                    f"  exec → main.main: program's own native {med(own_main):.2f} ms; "
                    f"startup table {med(table_main):.2f} ms raw, native ≈ {med(table_native):.2f} ms"
                )
        kernel = bpftrace_phases(prog, env, args.rounds)
        if kernel:
            print("\n== phases of the program: kernel uprobes (native runs) vs golat's native estimate")
            for i, f in enumerate(PROBES[1:]):
                g = med([t[f] for t in table_phases if f in t]) if table_phases else float("nan")
                k = kernel[i]
                if k is None:
                    continue
                print(f"  {PROBES[i]:>18} → {f:<18} kernel {k:8.3f} ms   golat native ≈ {g:8.3f} ms")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
