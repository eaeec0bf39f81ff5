#!/usr/bin/env python3
"""Summarizes `perf script -F comm,tid,period,ip,sym` output (call stacks, innermost first).

Prints, as percentages of all samples:
  - self:      the innermost frame's symbol (what `perf report --no-children` shows);
  - inclusive: every symbol on the stack, counted once per sample (the `children` view);
  - by owner:  each sample charged to its innermost frame of Ferry's own code
               (`ferry_*`), so allocator, memcpy, formatting and std/core work lands on the
               Ferry function that asked for it; samples without a Ferry frame are charged to
               their innermost frame of another crate (`mysql_async`, `tokio`, ...) or to
               `[kernel]`/`[libc]`.
  - threads:   samples per thread name.

Usage: perf script -i perf.data -F comm,tid,period,ip,sym --no-inline | perf_summary.py [N]
"""
import collections
import re
import sys

TOP = int(sys.argv[1]) if len(sys.argv) > 1 else 40

# Frames that never own work: allocator, libc string functions, Rust's std/core/alloc glue.
GENERIC = re.compile(
    r"^(_?_?(int_)?(malloc|free|realloc|calloc|cfree)|malloc_consolidate|unlink_chunk|"
    r"__memmove|__memcpy|__memset|__memcmp|__strlen|__rustc::|__rust_|_int_|tcache|"
    r"<?core::|<?alloc::|<?std::|<&T as core::|<T as alloc::|<T as core::|"
    r"<alloc::|<core::|<std::|\[unknown\])"
)


def owner(frames):
    """The innermost Ferry frame, else the innermost non-generic frame's crate."""
    for f in frames:
        if "ferry_" in f.split("<")[0] or f.startswith("<ferry_") or "ferry_actors::" in f[:80]:
            return f
    for f in frames:
        if f.startswith("0x") or not f:
            continue
        if GENERIC.match(f):
            continue
        m = re.match(r"^<?([A-Za-z_][A-Za-z0-9_]*)::", f)
        if m:
            return m.group(1) + "::*"
        return "[kernel]" if f.islower() and "::" not in f and not f.startswith("_") else "[libc/other] " + f
    return "[libc/other] " + (frames[0] if frames else "?")


def main():
    selfc = collections.Counter()
    incl = collections.Counter()
    own = collections.Counter()
    threads = collections.Counter()
    total = 0
    comm = None
    weight = 0
    frames = []

    def flush():
        nonlocal total
        if comm is None:
            return
        total += weight
        threads[comm] += weight
        if frames:
            selfc[frames[0]] += weight
            for f in set(frames):
                incl[f] += weight
            own[owner(frames)] += weight

    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line.strip():
            continue
        if not line.startswith(("\t", " ")):
            flush()
            parts = line.split()
            comm = " ".join(parts[:-2]) if len(parts) >= 3 else parts[0]
            try:
                weight = int(parts[-1])
            except ValueError:
                weight = 1
            frames = []
            continue
        parts = line.strip().split(None, 1)
        sym = parts[1] if len(parts) > 1 else parts[0]
        sym = re.sub(r"\+0x[0-9a-f]+$", "", sym)
        frames.append(sym)
    flush()
    if not total:
        print("no samples")
        return

    def show(title, c, n):
        print("## %s" % title)
        for s, w in c.most_common(n):
            print("%6.2f%%  %s" % (100.0 * w / total, s[:160]))
        print()

    show("self (innermost frame)", selfc, TOP)
    show("by owner (innermost Ferry frame; else innermost crate)", own, TOP)
    show("inclusive (ferry_* frames)", collections.Counter({k: v for k, v in incl.items() if "ferry_" in k}), TOP)
    show("threads", threads, 20)


main()
