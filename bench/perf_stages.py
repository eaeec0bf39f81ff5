#!/usr/bin/env python3
"""Charges each sample of `perf script -F comm,tid,period,ip,sym` (inline frames included)
to a stage of ferryd's replication path, by the innermost frame that names one.

Usage: perf script -i perf.data -F comm,tid,period,ip,sym | perf_stages.py
"""
import collections
import re
import sys

# (stage, pattern) in priority order: the innermost frame matching any pattern decides.
STAGES = [
    ("literal (SQL values)", r"ferry_actors::apply::literal::"),
    ("SQL text (merge/target_table)", r"ferry_actors::apply::(merge|target_table)::"),
    ("fold", r"ferry_actors::sync::fold::"),
    ("writer statements", r"ferry_actors::sync::writer::statements"),
    ("writer send (driver)", r"ferry_actors::sync::writer::apply|MySqlApplier"),
    ("assign", r"ferry_actors::sync::assign::"),
    ("causality keys", r"ferry_actors::causality::|TargetInfo::keys_of"),
    ("column map", r"ferry_actors::sync::column_map::"),
    ("row values decode", r"ferry_actors::reader::(rows|value|time2|json_text)::"),
    ("event decode (Ferry)", r"ferry_actors::reader::decode::"),
    ("driver binlog stream", r"mysql_async::conn::binlog_stream|MysqlAsyncSource::next_raw"),
    ("reconnect/track", r"ferry_actors::reader::reconnect::"),
    ("gtid key", r"ferry_actors::reader::txn::gtid_key"),
    ("cursor", r"ferry_actors::sync::cursor::"),
    ("binlog input (channel)", r"ferry_actors::sync::binlog_input::"),
    ("coordinator row", r"ferry_actors::sync::coordinator::rows::|schema_track::"),
    ("ledger", r"ferry_actors::sync::coordinator::ledger::"),
    ("coordinator other", r"ferry_actors::sync::coordinator::"),
    ("sync other", r"ferry_actors::sync::"),
    ("http api", r"axum::|hyper::"),
    ("tokio runtime", r"^tokio::|<tokio::"),
]
COMPILED = [(n, re.compile(p)) for n, p in STAGES]


def stage(frames):
    for f in frames:
        for n, p in COMPILED:
            if p.search(f):
                return n
    if frames and re.match(r"^[a-z_0-9.]+$", frames[0]) and "::" not in frames[0]:
        return "kernel/libc (no Ferry frame)"
    return "other"


def main():
    c = collections.Counter()
    total = 0
    frames, w = None, 0
    def flush():
        nonlocal total
        if frames is not None:
            c[stage(frames)] += w
            total += w
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line.strip():
            continue
        if not line.startswith(("\t", " ")):
            flush()
            frames, w = [], int(line.split()[-1])
            continue
        p = line.strip().split(None, 1)
        frames.append(re.sub(r" \(inlined\)$", "", p[1] if len(p) > 1 else p[0]))
    flush()
    for n, v in c.most_common():
        print("%6.2f%%  %s" % (100.0 * v / total, n))


main()
