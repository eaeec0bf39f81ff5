#!/usr/bin/env bash
# Crash soak: kill -9 of ferryd at random points, hundreds of times, during incremental
# replication and during an `all` task (copy, hand-off, replication); every run ends by
# comparing the downstream with the upstream row by row.
#
#   scripts/soak.sh            # 300 trials per mode
#   TRIALS=1000 scripts/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
TRIALS="${TRIALS:-300}"
scripts/install-deps.sh
cargo build --workspace --bins
FERRY_KILL_TRIALS="$TRIALS" cargo test -p ferry-tests --test incremental -- --nocapture kill9 2>&1 \
  | grep -E "^trial|^test |test result|panicked|seed" || true
FERRY_KILL_TRIALS="$TRIALS" cargo test -p ferry-tests --test incremental kill9
