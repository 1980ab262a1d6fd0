#!/usr/bin/env python3
"""bench/whatif: is `--slow DIR=DURATION` the cost of a filesystem that slow, and what does a
whatif cost to run?

1. --slow against a real slow mount, for each delay in --delays (ms). A warm build of a
   module that uses fixtures/modproxy's golat.test/slowdep, with GOMODCACHE on a local disk
   and with GOMODCACHE on a passthrough FUSE mount of the same directory (fixtures/delayfs,
   mounted at the cache's root, every lookup delayed, no caching), alternated --rounds
   times (which goes first alternates too): the mount's cost is the median of the paired
   differences. Then `golat whatif --slow GOMODCACHE=<delay> --only none --rounds N` on the
   local cache: its cost is minus its saving. Printed: both costs and their ratio (and the
   ratio to the mount's cost scaled by nominal / slept delay, since the server sleeps
   longer than asked), the
   lookups the server saw per build and what it really slept per lookup, and what golat
   held (calls, nominal ms) in one `golat profile --slow` of the same build.

2. What a whatif costs: its wall time against the time of the runs it makes (rounds x 2
   per trial, plus warm-up, the traced run and the last run, each at its median), i.e.
   golat's own orchestration.

  python3 bench/whatif/run.py [--rounds N] [--delays 1,2,5]

Needs go, /dev/fuse and root or fusermount3.
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOLAT = os.environ.get("GOLAT") or os.path.join(REPO, "target", "release", "golat")
med = statistics.median


def go_build(src, out):
    subprocess.run(["go", "build", "-o", out, "."], cwd=os.path.join(REPO, src), check=True,
                   env=dict(os.environ, GOTOOLCHAIN="local", GOFLAGS="-mod=mod -buildvcs=false"))


def control(sock, command):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(sock)
    s.sendall((command + "\n").encode())
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    s.close()
    return json.loads(data)


def timed(cmd, **kw):
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    return (time.perf_counter() - start) * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--delays", default="1,2,5")
    args = ap.parse_args()
    out = os.path.join(REPO, "bench", "out", "whatif")
    os.makedirs(out, exist_ok=True)
    delayfs, modproxy = os.path.join(out, "delayfs"), os.path.join(out, "modproxy")
    go_build("fixtures/delayfs", delayfs)
    go_build("fixtures/modproxy", modproxy)
    subprocess.run(["cargo", "build", "--release", "-q"], cwd=REPO, check=True)

    work = tempfile.mkdtemp(prefix="golat-bench-whatif-")
    try:
        app, mc, mnt = (os.path.join(work, d) for d in ("app", "modcache", "mnt"))
        os.makedirs(app)
        os.makedirs(mnt)
        subprocess.run([modproxy, "-out", os.path.join(work, "proxy")], check=True)
        with open(os.path.join(app, "go.mod"), "w") as f:
            f.write("module golat.test/app\n\ngo 1.22\n\nrequire golat.test/slowdep v1.0.0\n")
        with open(os.path.join(app, "main.go"), "w") as f:
            f.write('package main\n\nimport (\n\t"fmt"\n\n' +
                    "".join(f'\t"golat.test/slowdep/p{i}"\n' for i in range(4)) +
                    ")\n\nfunc main() { fmt.Println(p0.F0() + p1.F1() + p2.F2() + p3.F3()) }\n")
        base = dict(os.environ, GOTOOLCHAIN="local", GOFLAGS="-mod=mod -buildvcs=false",
                    GOSUMDB="off", GOPROXY="file://" + os.path.join(work, "proxy"),
                    GOCACHE=os.path.join(work, "gocache"), GOENV=os.path.join(work, "goenv"))
        env_at = lambda m: dict(base, GOMODCACHE=m)
        cmd = ["go", "build", "-o", os.path.join(work, "app.bin"), "."]
        subprocess.run(cmd, cwd=app, env=env_at(mc), check=True, stderr=subprocess.DEVNULL)

        print(f"command: {' '.join(cmd)} (warm; golat.test/slowdep, 4 packages)   "
              f"rounds: {args.rounds}   (medians, ms)")
        print(f"{'delay':>6} {'local':>7} {'on FUSE':>8} {'FUSE cost':>10} {'--slow cost':>12} "
              f"{'ratio':>6} {'scaled':>7} {'lookups/build':>14} {'slept/lookup':>13} {'held calls':>11} "
              f"{'held ms':>8}")
        for delay in [float(d) for d in args.delays.split(",")]:
            sock = os.path.join(work, "control.sock")
            server = subprocess.Popen([delayfs, "-lookup", f"{delay}ms", "-control", sock, mc, mnt],
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            if server.stdout.readline().strip() != b"ready":
                sys.exit("delayfs did not mount (needs /dev/fuse and root or fusermount3)")
            try:
                timed(cmd, cwd=app, env=env_at(mnt))
                timed(cmd, cwd=app, env=env_at(mc))
                control(sock, "reset")
                local, fuse, diff = [], [], []
                for r in range(args.rounds):
                    if r % 2 == 0:
                        a = timed(cmd, cwd=app, env=env_at(mc))
                        b = timed(cmd, cwd=app, env=env_at(mnt))
                    else:
                        b = timed(cmd, cwd=app, env=env_at(mnt))
                        a = timed(cmd, cwd=app, env=env_at(mc))
                    local.append(a)
                    fuse.append(b)
                    diff.append(b - a)
                st = control(sock, "stats")["ops"]["lookup"]
            finally:
                server.terminate()
                server.wait(timeout=10)
            spec = f"GOMODCACHE={delay:g}ms"
            report = os.path.join(work, "whatif.json")
            subprocess.run([GOLAT, "whatif", "-q", "--json", report, "--slow", spec, "--only", "none",
                            "--rounds", str(args.rounds), "--"] + cmd,
                           cwd=app, env=env_at(mc), check=True)
            with open(report) as f:
                trial = json.load(f)["trials"][0]
            prof = os.path.join(work, "profile.json")
            subprocess.run([GOLAT, "profile", "-q", "--json", prof, "--slow", spec, "--"] + cmd,
                           cwd=app, env=env_at(mc), check=True)
            with open(prof) as f:
                held = json.load(f)["timing"]["slow"]
            fuse_cost, slow_cost = med(diff), -trial["saving_ms"]
            # The server sleeps longer than asked (Go's timers): the mount's cost scaled to
            # the nominal delay is what --slow, which holds exactly that, should match.
            slept = st["injected_ns"] / 1e6 / max(st["count"], 1)
            scaled = fuse_cost * delay / slept
            print(f"{delay:>5g}ms {med(local):>7.0f} {med(fuse):>8.0f} {fuse_cost:>10.0f} "
                  f"{slow_cost:>12.0f} {slow_cost / fuse_cost:>6.2f} {slow_cost / scaled:>7.2f} "
                  f"{st['count'] / args.rounds:>14.0f} "
                  f"{st['injected_ns'] / 1e6 / max(st['count'], 1):>12.2f}ms "
                  f"{held['calls']:>11} {held['injected_ms']:>8.0f}")

        # What whatif itself costs: its wall against the runs it made.
        report = os.path.join(work, "whatif.json")
        start = time.perf_counter()
        subprocess.run([GOLAT, "whatif", "-q", "--json", report, "--rounds", str(args.rounds),
                        "--try", "GOMAXPROCS=1", "--try", "GOGC=off", "--"] + cmd,
                       cwd=app, env=env_at(mc), check=True)
        wall = (time.perf_counter() - start) * 1e3
        with open(report) as f:
            w = json.load(f)
        # The traced run (its wall under golat) and every timed run, as whatif summed them.
        runs = w["traced"]["wall_ms"] + w["runs_ms"]
        own = w["elapsed_ms"] - runs
        print(f"\nwhatif with {len(w['trials'])} trials x {w['rounds']} rounds: {wall:.0f} ms wall "
              f"({w['elapsed_ms']:.0f} ms by its own clock); the command's runs took {runs:.0f} ms; "
              f"golat's own share {own:.0f} ms ({own / w['elapsed_ms'] * 100:.1f}%: the traced "
              f"run's analysis, the trials' private copies, spawning and reaping)")
    finally:
        # The module cache's directories are read-only: go removes it.
        subprocess.run(["go", "clean", "-modcache"], env=dict(os.environ, GOMODCACHE=os.path.join(work, "modcache")),
                       stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
