#!/usr/bin/env python3
"""inc_load.py - upstream workloads and lag measurement for bench/incremental.sh.

Needs PyMySQL (Debian: python3-pymysql).  Subcommands:

  backlog PORT KIND TABLES ROWS [--txn-rows 100] [--updates N] [--deletes N] [--seed S]
      Writes a binlog backlog into sbtest.sbtest1..TABLES (which must exist, empty) on the
      server at 127.0.0.1:PORT (user root, no password).
      KIND insert: ROWS rows in TXN_ROWS-row INSERT transactions, tables round-robin.
      KIND mixed:  ROWS rows inserted the same way, interleaved with N single-row UPDATE
                   transactions (half `k = k + 1`, half a new `c`) and N single-row DELETE
                   transactions, all on rows that exist at that moment, spread evenly.
      Every statement is its own (autocommit) transaction; statements are sent in
      multi-statement packets to keep the client out of the way.  Prints
      "inserts=.. updates=.. deletes=.. changes=.." on stdout.

  heartbeat UP_PORT DOWN_PORT OUT_JSON [--interval 0.1] [--poll 0.01] [--status-url URL]
            [--sample 0.5]
      Until SIGTERM/SIGINT (or --seconds): inserts (seq, now in microseconds) into
      ferry_ops.heartbeat on the upstream every INTERVAL seconds and polls the
      downstream's copy every POLL seconds; the lag of a heartbeat is the time at which the
      downstream first shows it minus its upstream timestamp.  With --status-url, also
      samples ferryd's query-status every SAMPLE seconds (secondsBehindMaster, totalRows).
      After the stop signal it waits (up to --drain seconds) for the outstanding
      heartbeats, then writes the samples and percentiles to OUT_JSON.
"""
import argparse
import json
import math
import os
import random
import signal
import sys
import threading
import time
import urllib.request

import pymysql
from pymysql.constants import CLIENT

C_GROUPS, PAD_GROUPS = 10, 5
DIGITS = bytes(48 + (b % 10) for b in range(256))


def connect(port, db=None):
    return pymysql.connect(host="127.0.0.1", port=port, user="root", password="", database=db,
                           autocommit=True, client_flag=CLIENT.MULTI_STATEMENTS, charset="utf8mb4")


def groups(raw, n):
    """n groups of 11 digits joined by '-' from 11*n random bytes."""
    d = raw.translate(DIGITS)
    return b"-".join(d[i * 11:(i + 1) * 11] for i in range(n)).decode()


class Rand:
    def __init__(self, seed):
        self.r = random.Random(seed)

    def c(self):
        return groups(self.r.randbytes(11 * C_GROUPS), C_GROUPS)

    def pad(self):
        return groups(self.r.randbytes(11 * PAD_GROUPS), PAD_GROUPS)


class Sender:
    """Packs autocommit statements into multi-statement packets."""

    def __init__(self, conn, max_bytes=1 << 20, max_stmts=500):
        self.cur = conn.cursor()
        self.buf, self.size = [], 0
        self.max_bytes, self.max_stmts = max_bytes, max_stmts

    def add(self, stmt):
        self.buf.append(stmt)
        self.size += len(stmt)
        if self.size >= self.max_bytes or len(self.buf) >= self.max_stmts:
            self.flush()

    def flush(self):
        if not self.buf:
            return
        self.cur.execute(";".join(self.buf))
        while self.cur.nextset():
            pass
        self.buf, self.size = [], 0


def backlog(a):
    rnd = Rand(a.seed)
    conn = connect(a.port)
    send = Sender(conn)
    tables = a.tables
    next_id = [1] * (tables + 1)
    live = [[] for _ in range(tables + 1)]  # live ids per table (mixed only)
    inserts = updates = deletes = 0
    txns = (a.rows + a.txn_rows - 1) // a.txn_rows
    mixed = a.kind == "mixed"
    # updates/deletes due after each insert transaction (spread evenly)
    upd_total, del_total = (a.updates, a.deletes) if mixed else (0, 0)
    r = rnd.r
    for t in range(txns):
        tbl = t % tables + 1
        n = min(a.txn_rows, a.rows - inserts)
        vals = []
        for _ in range(n):
            i = next_id[tbl]
            next_id[tbl] += 1
            vals.append("(%d,%d,'%s','%s')" % (i, r.randint(1, max(a.rows, 2)), rnd.c(), rnd.pad()))
            if mixed:
                live[tbl].append(i)
        send.add("INSERT INTO sbtest.sbtest%d (id,k,c,pad) VALUES %s" % (tbl, ",".join(vals)))
        inserts += n
        if not mixed:
            continue
        want_u = upd_total * (t + 1) // txns
        want_d = del_total * (t + 1) // txns
        while updates < want_u or deletes < want_d:
            # interleave: pick the kind that is furthest behind its share
            do_del = deletes < want_d and (updates >= want_u or deletes * upd_total <= updates * del_total)
            tb = r.randint(1, tables)
            if not live[tb]:
                tb = max(range(1, tables + 1), key=lambda x: len(live[x]))
            ids = live[tb]
            j = r.randrange(len(ids))
            if do_del:
                ids[j], ids[-1] = ids[-1], ids[j]
                send.add("DELETE FROM sbtest.sbtest%d WHERE id=%d" % (tb, ids.pop()))
                deletes += 1
            else:
                if updates % 2 == 0:
                    send.add("UPDATE sbtest.sbtest%d SET k=k+1 WHERE id=%d" % (tb, ids[j]))
                else:
                    send.add("UPDATE sbtest.sbtest%d SET c='%s' WHERE id=%d" % (tb, rnd.c(), ids[j]))
                updates += 1
    send.flush()
    conn.close()
    print("inserts=%d updates=%d deletes=%d changes=%d" % (inserts, updates, deletes,
                                                           inserts + updates + deletes))


def pct(vals, p):
    if not vals:
        return None
    s = sorted(vals)
    k = min(len(s) - 1, max(0, math.ceil(p / 100.0 * len(s)) - 1))
    return s[k]


def heartbeat(a):
    stop = threading.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: stop.set())
    up = connect(a.up_port)
    down = connect(a.down_port)
    sent = {}  # seq -> upstream timestamp (us)
    seen = {}  # seq -> downstream observation time (us)
    status = []  # (t, secondsBehindMaster, totalRows)
    lock = threading.Lock()
    last_sent = [0]
    done_sending = threading.Event()
    errors = []

    def writer():
        cur = up.cursor()
        seq = 0
        t0 = time.time()
        try:
            while not stop.is_set() and (a.seconds is None or time.time() - t0 < a.seconds):
                seq += 1
                ts = int(time.time() * 1e6)
                cur.execute("INSERT INTO ferry_ops.heartbeat (seq, ts_us) VALUES (%d, %d)" % (seq, ts))
                with lock:
                    sent[seq] = ts
                    last_sent[0] = seq
                nxt = t0 + seq * a.interval
                time.sleep(max(0.0, nxt - time.time()))
        except Exception as e:  # noqa: BLE001
            errors.append("heartbeat writer: %s" % e)
        done_sending.set()

    def sampler():
        while not done_sending.is_set():
            try:
                with urllib.request.urlopen(a.status_url, timeout=5) as resp:
                    st = json.load(resp)
                sync = st["sources"][0]["subTaskStatus"][0].get("sync") or {}
                status.append((time.time(), int(sync.get("secondsBehindMaster", "0") or 0),
                               int(sync.get("totalRows", "0") or 0)))
            except Exception as e:  # noqa: BLE001
                status.append((time.time(), None, None))
                if len(errors) < 5:
                    errors.append("status: %s" % e)
            done_sending.wait(a.sample)

    w = threading.Thread(target=writer)
    w.start()
    if a.status_url:
        s = threading.Thread(target=sampler, daemon=True)
        s.start()
    cur = down.cursor()
    # Rows of one batch may become visible out of order (each writer commits its share),
    # so poll from the lowest heartbeat not seen yet, not from the highest seen.
    low = 1
    drain_deadline = None
    while True:
        try:
            cur.execute("SELECT seq FROM ferry_ops.heartbeat WHERE seq >= %d" % low)
            rows = cur.fetchall()
        except pymysql.err.ProgrammingError:
            rows = ()  # table not replicated yet
        now = int(time.time() * 1e6)
        for (seq,) in rows:
            seen.setdefault(seq, now)
        while low in seen:
            low += 1
        if done_sending.is_set():
            if drain_deadline is None:
                drain_deadline = time.time() + a.drain
            with lock:
                ls = last_sent[0]
            if low > ls or time.time() > drain_deadline:
                break
        time.sleep(a.poll)
    w.join()
    lags = [(seen[s] - sent[s]) / 1e6 for s in sorted(sent) if s in seen]
    missing = [s for s in sent if s not in seen]
    sbm = [v for (_, v, _) in status if v is not None]
    out = {
        "heartbeats": len(sent),
        "seen": len(lags),
        "missing": len(missing),
        "lag_p50": pct(lags, 50), "lag_p99": pct(lags, 99), "lag_max": max(lags) if lags else None,
        "sbm_samples": len(sbm),
        "sbm_p50": pct(sbm, 50), "sbm_p99": pct(sbm, 99), "sbm_max": max(sbm) if sbm else None,
        "status": status,
        "lags": lags,
        "errors": errors,
    }
    with open(a.out, "w") as f:
        json.dump(out, f)
    print("heartbeats=%d seen=%d lag_p50=%s lag_p99=%s sbm_p99=%s" % (
        len(sent), len(lags), out["lag_p50"], out["lag_p99"], out["sbm_p99"]))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("backlog")
    b.add_argument("port", type=int)
    b.add_argument("kind", choices=["insert", "mixed"])
    b.add_argument("tables", type=int)
    b.add_argument("rows", type=int)
    b.add_argument("--txn-rows", type=int, default=100)
    b.add_argument("--updates", type=int, default=0)
    b.add_argument("--deletes", type=int, default=0)
    b.add_argument("--seed", type=int, default=1)
    h = sub.add_parser("heartbeat")
    h.add_argument("up_port", type=int)
    h.add_argument("down_port", type=int)
    h.add_argument("out")
    h.add_argument("--interval", type=float, default=0.1)
    h.add_argument("--poll", type=float, default=0.01)
    h.add_argument("--status-url")
    h.add_argument("--sample", type=float, default=0.5)
    h.add_argument("--seconds", type=float)
    h.add_argument("--drain", type=float, default=300)
    a = p.parse_args()
    if a.cmd == "backlog":
        backlog(a)
    else:
        heartbeat(a)


if __name__ == "__main__":
    sys.exit(main())
