#!/usr/bin/env python3
"""bench/overhead: what golat profile costs, against native and strace, in one run.

Workloads (issues 2 and 15):
  a  `go build -o /dev/null ./fixtures/hello` with a warm cache (it links every time)
  b  `go build` of fixtures/hello with a fresh temporary GOCACHE (compiles the runtime)
  c  `go run ./fixtures/hello`
  n  the warm no-op build: `go build -o OUT ./fixtures/hello` with OUT up to date (no link)
  t  `/bin/true`: golat's fixed cost per run (startup, calibration, analysis, report)
Variants, alternated within each round so machine noise hits all alike:
  native, golat (default: inittrace on), golat --no-inittrace,
  strace -f --seccomp-bpf -T -o /dev/null -e trace=<golat's set>, and
  floor: bench/overhead/floor.c, a bare tracer with golat's filter that only resumes the
  tracee at one entry stop per traced call (the least any ptrace tracer of this set pays
  just to count the calls; golat's cost above it is golat's own work), and
  floor-exact: the same with FLOOR_EXACT=1, which also reads each call's number, arguments
  and path and times a copy of each lookup (the kernel work an exact, replay-timed record
  of every call needs, with no model or report).
Prints per workload the median wall time of each variant, its ratio to native, the median
of per-round (paired) ratios, the CPU time of the whole process tree, golat against the
floor (paired), golat's fixed cost (median golat minus median native, for `t`), golat's
own estimate of the native wall ("native ≈" in its report) against the measured native,
and golat's own peak RSS and CPU (from the report it writes). Usage:

  bench/overhead/run.py [--rounds N] [--cold-rounds N] [--workloads abcnt]
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# GOLAT=/path/to/golat compares another build (an older release, say).
GOLAT = os.environ.get("GOLAT") or os.path.join(REPO, "target", "release", "golat")
FLOOR = os.path.join(REPO, "bench", "out", "overhead", "floor")
# Same set golat traces (src/tracer/syscalls.rs, native ABI, without write).
STRACE_SET = ("open,stat,lstat,access,connect,execve,getdents,chdir,fchdir,rename,mkdir,rmdir,"
              "creat,unlink,readlink,getdents64,openat,mkdirat,newfstatat,unlinkat,renameat,"
              "readlinkat,faccessat,renameat2,execveat,statx,openat2,faccessat2")


def timed(argv, env):
    """(wall s, CPU s of the whole process tree: user+sys of every reaped descendant)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(argv)}\n{proc.stderr.decode()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def variants(workload_argv, report_path):
    return {
        "native": workload_argv,
        "golat": [GOLAT, "profile", "-q", "--json", report_path, "--"] + workload_argv,
        "golat --no-inittrace": [GOLAT, "profile", "-q", "--no-inittrace", "--"] + workload_argv,
        "strace --seccomp-bpf -T": ["strace", "-f", "--seccomp-bpf", "-T", "-o", "/dev/null",
                                    "-e", "trace=" + STRACE_SET] + workload_argv,
        "floor (bare entry stops)": [FLOOR] + workload_argv,
        # The floor plus the kernel work every exact, replay-timed record needs.
        "floor-exact (+info,path,copy)": ["env", "FLOOR_EXACT=1", FLOOR] + workload_argv,
    }


def run_workload(name, argv, rounds, fresh_cache):
    base_env = dict(os.environ, GOTOOLCHAIN="local", GOFLAGS="-buildvcs=false")
    report_path = os.path.join(tempfile.gettempdir(), f"golat-bench-{os.getpid()}.json")
    times, cpus = {}, {}
    rss, cpu, stops, estimates = [], [], [], []
    # One warm-up round of everything, not counted.
    for round_no in range(rounds + 1):
        for label, cmd in variants(argv, report_path).items():
            env = dict(base_env)
            cache = None
            if fresh_cache:
                cache = tempfile.mkdtemp(prefix="golat-bench-cache-")
                env["GOCACHE"] = cache
            wall, tree_cpu = timed(cmd, env)
            if cache:
                shutil.rmtree(cache, ignore_errors=True)
            if round_no == 0:
                continue
            times.setdefault(label, []).append(wall)
            cpus.setdefault(label, []).append(tree_cpu)
            if label == "golat":
                with open(report_path) as f:
                    report = json.load(f)
                t = report["timing"]
                rss.append(t["tracer_max_rss_kb"] / 1024)
                cpu.append(t["tracer_cpu_ms"])
                stops.append(t["stops"])
                tracing = report.get("hotspots", {}).get("exec", {}).get("tracing", {})
                if "native_wall_ms" in tracing:
                    estimates.append(tracing["native_wall_ms"] / 1000)
    native = statistics.median(times["native"])
    native_cpu = statistics.median(cpus["native"])
    print(f"\n({name}) {' '.join(argv)}{'  [fresh GOCACHE per run]' if fresh_cache else ''}"
          f"  n={rounds}")
    # `paired` is the median of per-round ratios (each variant against the native run of
    # the same round, moments apart), steadier than a ratio of medians when the load of
    # other tenants drifts. `CPU` is user+sys of the whole process tree, tracer included.
    print(f"  {'variant':<30} {'median s':>9} {'min s':>8} {'max s':>8} {'ratio':>7} "
          f"{'paired':>7} {'CPU s':>7} {'ratio':>7}")
    for label, ts in times.items():
        med = statistics.median(ts)
        paired = statistics.median(t / n for t, n in zip(ts, times["native"]))
        c = statistics.median(cpus[label])
        print(f"  {label:<30} {med:>9.3f} {min(ts):>8.3f} {max(ts):>8.3f} {med / native:>6.2f}x "
              f"{paired:>6.2f}x {c:>7.2f} {c / native_cpu:>6.2f}x")
    floor = times.get("floor (bare entry stops)")
    if floor:
        # What golat adds above the mechanism's floor, paired per round like the rest.
        above = statistics.median(g / f for g, f in zip(times["golat"], floor))
        print(f"  golat / floor: {above:.3f}x paired (golat's own work above the bare stops)")
        exact = times.get("floor-exact (+info,path,copy)")
        if exact:
            least = statistics.median(e / f for e, f in zip(exact, floor))
            rest = statistics.median(g / e for g, e in zip(times["golat"], exact))
            print(f"  floor-exact / floor: {least:.3f}x paired (the least an exact, replay-timed "
                  f"tracer pays: syscall info, path, timed copy); golat / floor-exact: "
                  f"{rest:.3f}x")
    if name == "t":
        fixed = statistics.median(times["golat"]) - native
        print(f"  golat's fixed cost: {fixed * 1000:.2f} ms (median golat - median native)")
    if estimates:
        est = statistics.median(estimates)
        print(f"  golat's own estimate of the native wall: {est:.3f} s, measured native "
              f"{native:.3f} s ({est / native:.2f}x)")
    print(f"  golat itself: peak RSS {statistics.median(rss):.1f} MB (max {max(rss):.1f}), "
          f"CPU {statistics.median(cpu):.0f} ms, {statistics.median(stops):.0f} stops")
    if os.path.exists(report_path):
        os.remove(report_path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rounds", type=int, default=7, help="counted rounds for a and c")
    ap.add_argument("--cold-rounds", type=int, default=3, help="counted rounds for b")
    ap.add_argument("--workloads", default="abcnt")
    args = ap.parse_args()
    if not os.path.exists(GOLAT):
        subprocess.run(["cargo", "build", "--release"], cwd=REPO, check=True)
    for tool in ("go", "strace", "cc"):
        if not shutil.which(tool):
            sys.exit(f"bench/overhead needs {tool} on PATH")
    os.makedirs(os.path.dirname(FLOOR), exist_ok=True)
    subprocess.run(["cc", "-O2", "-o", FLOOR, os.path.join(REPO, "bench", "overhead", "floor.c")],
                   check=True)
    print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; golat {GOLAT}")
    build = ["go", "build", "-o", "/dev/null", "./fixtures/hello"]
    if "a" in args.workloads:
        subprocess.run(build, cwd=REPO, check=True)  # warm the cache
        run_workload("a", build, args.rounds, fresh_cache=False)
    if "b" in args.workloads:
        run_workload("b", build, args.cold_rounds, fresh_cache=True)
    if "c" in args.workloads:
        run_workload("c", ["go", "run", "./fixtures/hello"], args.rounds, fresh_cache=False)
    if "n" in args.workloads:
        out = os.path.join(REPO, "bench", "out", "overhead", "hello")
        noop = ["go", "build", "-o", out, "./fixtures/hello"]
        subprocess.run(noop, cwd=REPO, check=True)  # build it once: later builds are no-ops
        run_workload("n", noop, args.rounds, fresh_cache=False)
    if "t" in args.workloads:
        run_workload("t", ["/bin/true"], args.rounds * 3, fresh_cache=False)


if __name__ == "__main__":
    main()
