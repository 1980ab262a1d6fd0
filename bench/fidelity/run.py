#!/usr/bin/env python3
"""bench/fidelity: are golat's per-syscall durations true? Compares, per syscall, the
totals golat reports (`total_ms`: replayed or round-trip-corrected) and what the tracer saw
(`total_ms_inclusive`) with the kernel's own measure of the same command, taken by bpftrace
on the raw_syscalls tracepoints of a native (unptraced) run, and with strace -T's totals.

Rounds alternate: bpftrace-on-native, golat, strace -T; medians per syscall are compared.
Goal (issue 2): golat's corrected totals within +-50% of the kernel's.

The command's own first execve (the launch) is left out on every side: its kernel time is
mostly the teardown of the launcher's memory image (bpftrace's forked copy: about 2 ms;
golat's: about 0.2 ms), which says nothing about the command.

  bench/fidelity/run.py [--rounds N] [-- COMMAND...]   (default: no-op go build of fixtures/hello)

Needs root (or CAP_BPF) and bpftrace (Debian package `bpftrace`).
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOLAT = os.path.join(REPO, "target", "release", "golat")
# x86_64 numbers of the calls compared (the file calls a no-op build makes).
CALLS = {257: "openat", 262: "newfstatat", 89: "readlink", 267: "readlinkat",
         217: "getdents64", 439: "faccessat2", 21: "access", 59: "execve", 332: "statx"}

BPF = r"""
tracepoint:sched:sched_process_fork /args->parent_pid == cpid || @tree[args->parent_pid]/ {
  @tree[args->child_pid] = 1;
}
tracepoint:raw_syscalls:sys_enter /(pid == cpid || @tree[pid]) && (%s)/ {
  if (args->id == 59 && pid == cpid && @launched == 0) {
    @launched = 1;
  } else {
    @start[tid] = nsecs; @nr[tid] = args->id;
  }
}
tracepoint:raw_syscalls:sys_exit /@start[tid]/ {
  @ns[@nr[tid]] = sum(nsecs - @start[tid]); @n[@nr[tid]] = count();
  delete(@start[tid]); delete(@nr[tid]);
}
END { clear(@tree); clear(@start); clear(@nr); clear(@launched); }
""" % " || ".join(f"args->id == {nr}" for nr in CALLS)


def kernel_run(cmd):
    """Per-syscall (count, total ms) measured in the kernel for one native run."""
    with tempfile.NamedTemporaryFile("w", suffix=".bt", delete=False) as f:
        f.write(BPF)
        script = f.name
    out = subprocess.run(["bpftrace", "-c", " ".join(cmd), script], cwd=REPO,
                         capture_output=True, text=True)
    os.unlink(script)
    totals = {}
    for key, nr, value in re.findall(r"@(ns|n)\[(\d+)\]: (\d+)", out.stdout):
        name = CALLS.get(int(nr))
        if name:
            count, ms = totals.get(name, (0, 0.0))
            if key == "n":
                count = int(value)
            else:
                ms = int(value) / 1e6
            totals[name] = (count, ms)
    if not totals:
        sys.exit(f"bpftrace measured nothing:\n{out.stderr[-2000:]}")
    return totals


def golat_run(cmd):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        path = f.name
    events = path + ".events"
    subprocess.run([GOLAT, "profile", "-q", "--no-inittrace", "--json", path,
                    "--events", events, "--"] + cmd,
                   cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    with open(path) as f:
        report = json.load(f)
    with open(events) as f:
        execs = [e for e in map(json.loads, f) if e.get("name") == "execve"]
    os.unlink(path)
    os.unlink(events)
    totals = {s["name"]: [s["count"], s["total_ms"], s["total_ms_inclusive"]]
              for s in report["syscalls"]}
    if execs and "execve" in totals:
        launch = min(execs, key=lambda e: e["t_ms"])
        t = totals["execve"]
        totals["execve"] = [t[0] - 1, t[1] - launch["dur_us"] / 1e3,
                            t[2] - launch["dur_us_inclusive"] / 1e3]
    return {name: tuple(t) for name, t in totals.items()}


def strace_run(cmd):
    with tempfile.NamedTemporaryFile(suffix=".txt", delete=False) as f:
        path = f.name
    subprocess.run(["strace", "-f", "--seccomp-bpf", "-T", "-o", path,
                    "-e", "trace=" + ",".join(CALLS.values())] + cmd,
                   cwd=REPO, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    totals = {}
    launched = False
    with open(path) as f:
        for line in f:
            m = re.search(r"\b([a-z0-9_]+)\(.*<(\d+\.\d+)>$", line.strip())
            if m and m.group(1) == "execve" and not launched:
                launched = True
                continue
            if m and m.group(1) in CALLS.values():
                count, ms = totals.get(m.group(1), (0, 0.0))
                totals[m.group(1)] = (count + 1, ms + float(m.group(2)) * 1e3)
    os.unlink(path)
    return totals


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("command", nargs="*")
    args = ap.parse_args()
    cmd = args.command or ["go", "build", "-o", "/dev/null", "./fixtures/hello"]
    for tool in ("bpftrace", "strace", "go"):
        if not shutil.which(tool):
            sys.exit(f"bench/fidelity needs {tool} (apt-get install bpftrace strace)")
    if not os.path.exists(GOLAT):
        subprocess.run(["cargo", "build", "--release"], cwd=REPO, check=True)
    if not os.path.exists("/sys/kernel/tracing/events"):
        # Tracepoints need tracefs; containers often come without it mounted.
        subprocess.run(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"], check=True)
    subprocess.run(cmd, cwd=REPO, check=True)  # warm caches: every round is the same no-op
    kern, gol, st = {}, {}, {}
    for _ in range(args.rounds):
        for name, (n, ms) in kernel_run(cmd).items():
            kern.setdefault(name, []).append((n, ms))
        for name, (n, ms, incl) in golat_run(cmd).items():
            gol.setdefault(name, []).append((n, ms, incl))
        for name, (n, ms) in strace_run(cmd).items():
            st.setdefault(name, []).append((n, ms))
    med = lambda rows, i: statistics.median(r[i] for r in rows)
    print(f"command: {' '.join(cmd)}   rounds: {args.rounds}   (medians; ms summed per syscall)")
    print(f"{'syscall':<12} {'count':>7} {'kernel ms':>10} {'golat ms':>9} {'ratio':>7} "
          f"{'inclusive':>10} {'ratio':>7} {'strace -T':>10} {'ratio':>7}")
    worst = worst_all = 0.0
    for name in sorted(kern, key=lambda n: -med(kern[n], 1)):
        k = med(kern[name], 1)
        if name not in gol or k <= 0:
            continue
        g, gi = med(gol[name], 1), med(gol[name], 2)
        s = med(st[name], 1) if name in st else float("nan")
        worst_all = max(worst_all, abs(g / k - 1))
        if med(kern[name], 0) >= 10:
            worst = max(worst, abs(g / k - 1))
        print(f"{name:<12} {med(kern[name], 0):>7.0f} {k:>10.2f} {g:>9.2f} {g / k:>6.2f}x "
              f"{gi:>10.2f} {gi / k:>6.2f}x {s:>10.2f} {s / k:>6.2f}x")
    # A call made once or twice costs what the caches hold at that moment (the first
    # lookup of a new /proc/PID entry, say): its total is a sample of one, not a rate.
    print(f"largest deviation of golat's corrected totals from the kernel's, calls made 10+ "
          f"times: {worst * 100:.0f}% (goal: within 50%); all rows: {worst_all * 100:.0f}%")


if __name__ == "__main__":
    main()
