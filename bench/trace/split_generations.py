#!/usr/bin/env python3
"""Split a Go 1.26+ execution trace into one trace file per generation.

    python3 bench/trace/split_generations.py bench/out/trace/busy.trace /tmp/gen

writes /tmp/gen1.trace, /tmp/gen2.trace, ... (each the header plus one generation's batches)
and prints each generation's size. A generation read alone is read as a first generation:
the same events, but those at its start get their context from it alone. Reading each file
on its own thread bounds what reading generations in parallel could gain (docs/benchmarks.md,
"`golat trace` against Go's reader").
"""
import sys


def uvarint(d, p):
    x = s = 0
    while True:
        b = d[p]
        p += 1
        x |= (b & 0x7F) << s
        s += 7
        if b < 0x80:
            return x, p


def main():
    src, prefix = sys.argv[1], sys.argv[2]
    d = open(src, "rb").read()
    header = d[:16]
    if not header.startswith(b"go 1.26 trace"):
        sys.exit(f"{src}: not a Go 1.26+ trace (generations end with an explicit marker there)")
    p = start = 16
    gens = []
    while p < len(d):
        typ = d[p]
        if typ == 52:  # EndOfGeneration
            p += 1
            gens.append((start, p))
            start = p
            continue
        if typ not in (1, 49):  # EventBatch, ExperimentalBatch
            sys.exit(f"{src}: unexpected byte {typ} at {p}")
        q = p + 1
        if typ == 49:
            _, q = uvarint(d, q)  # experiment
        for _ in range(3):  # gen, m, time
            _, q = uvarint(d, q)
        size, q = uvarint(d, q)
        p = q + size
    for i, (a, b) in enumerate(gens, 1):
        with open(f"{prefix}{i}.trace", "wb") as f:
            f.write(header + d[a:b])
        print(f"generation {i}: {b - a} bytes -> {prefix}{i}.trace")


if __name__ == "__main__":
    main()
