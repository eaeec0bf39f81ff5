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
# --nocapture prints each trial's kill point and the workload seed (to replay a failure).
FERRY_KILL_TRIALS="$TRIALS" cargo test -p ferry-tests --test incremental kill9 -- --nocapture
