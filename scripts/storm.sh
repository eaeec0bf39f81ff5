#!/usr/bin/env bash
# DDL storm in a loop: tables created, altered, renamed, swapped and dropped while `all`
# tasks copy, hand off and replicate, with kill -9 of ferryd at random points, on MySQL and
# MariaDB upstreams; every iteration ends by comparing the downstream with the upstream
# (tables, columns, indexes, rows).
#
#   scripts/storm.sh                 # 25 iterations per upstream kind
#   ITERATIONS=100 scripts/storm.sh
#   FILTER=ddl_storm scripts/storm.sh   # also the storms without kills
set -euo pipefail
cd "$(dirname "$0")/.."
ITERATIONS="${ITERATIONS:-25}"
FILTER="${FILTER:-ddl_storm_with_kill9}"
cargo build --workspace --bins
# The test servers keep their temporary tables in $TMPDIR (else /tmp): a private one keeps
# them apart from the other users of /tmp on a shared machine.
export TMPDIR="${TMPDIR:-/var/tmp/ferry-storm-tmp}"
mkdir -p "$TMPDIR"
# --nocapture prints each iteration's seed, where the kills fell and, at the end, the
# pass/fail counts.
FERRY_STORM_ITERATIONS="$ITERATIONS" cargo test -p ferry-tests --test schema_moves "$FILTER" -- --nocapture
