#!/usr/bin/env python3
"""gen_sbtest.py OUT_FILE ROWS [SEED]

Writes ROWS sysbench-style `sbtest` rows as a tab-separated file that
`LOAD DATA INFILE '<file>' INTO TABLE sbtestN` reads with its defaults
(FIELDS TERMINATED BY '\\t', LINES TERMINATED BY '\\n'):

    id <TAB> k <TAB> c <TAB> pad

like sysbench's oltp prepare: id = 1..ROWS, k = random in [1, ROWS],
c = 10 groups of 11 random digits joined by '-' (119 chars),
pad = 5 groups of 11 random digits joined by '-' (59 chars).

Fast without numpy: random digits come from os.urandom()/random.randbytes
mapped through bytes.translate, the '-' / TAB / newline separators are put
in with strided slice assignments over a whole block of fixed-width records,
so only the variable-width "id<TAB>k<TAB>" prefix is built per row.
About 1 s per 100k rows on one core.
"""
import os
import random
import sys

C_GROUPS, PAD_GROUPS = 10, 5
BODY = C_GROUPS * 12 + PAD_GROUPS * 12  # c (119) + TAB + pad (59) + '\n' = 180
BLOCK = 20000  # rows per block


def main():
    out, rows = sys.argv[1], int(sys.argv[2])
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    rnd = random.Random(seed)
    # byte -> digit ('0'..'9'); the bias of 256 % 10 is irrelevant here
    table = bytes(48 + (b % 10) for b in range(256))
    # separator offsets inside one 180-byte record
    seps = []
    for g in range(1, C_GROUPS):
        seps.append((g * 12 - 1, b"-"))
    seps.append((C_GROUPS * 12 - 1, b"\t"))
    for g in range(1, PAD_GROUPS):
        seps.append((C_GROUPS * 12 + g * 12 - 1, b"-"))
    seps.append((BODY - 1, b"\n"))
    tmp = out + ".tmp"
    with open(tmp, "wb", buffering=8 << 20) as f:
        next_id = 1
        while next_id <= rows:
            n = min(BLOCK, rows - next_id + 1)
            buf = bytearray(rnd.randbytes(n * BODY).translate(table))
            for off, ch in seps:
                buf[off::BODY] = ch * n
            mv = memoryview(buf)
            randint = rnd.randint
            f.write(b"".join(
                b"%d\t%d\t%s" % (next_id + j, randint(1, rows), mv[j * BODY:(j + 1) * BODY])
                for j in range(n)))
            next_id += n
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
