#!/usr/bin/env bash
# THE test command: installs the dependencies (scripts/install-deps.sh), then checks
# formatting, lints and runs every test of the workspace (including the end-to-end
# tests, which start real MySQL/MariaDB servers). Exits non-zero on any failure.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { echo "==> $*" >&2; }

# A CI run builds from a fresh clone once: incremental compilation state would only take
# disk (gigabytes for this workspace) and time.
if [ "${CI:-}" = "true" ]; then
    export CARGO_INCREMENTAL=0
fi

step "scripts/install-deps.sh"
scripts/install-deps.sh

step "cargo fmt --all -- --check"
cargo fmt --all -- --check

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

# The end-to-end tests (ferry-tests) drive the ferryd and ferryctl binaries.
step "cargo build --workspace --bins"
cargo build --workspace --bins

step "cargo test --workspace"
cargo test --workspace
