#!/usr/bin/env bash
# Installs what building and testing Ferry needs on Debian 12 (bookworm):
# the -dev packages of the C libraries we link (RocksDB, snappy, jemalloc, OpenSSL, libclang
# for bindgen) and the MySQL 9.7 / MariaDB 10.11 servers the end-to-end tests start
# (through ../shared/dbs/install.sh, resolved from this script's location).
#
# Idempotent: packages already installed are not touched, and `apt-get update` runs
# only when something is missing. Needs root (or passwordless sudo); reads no stdin.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$here/.." && pwd -P)
shared_dbs="$repo/../shared/dbs"

export DEBIAN_FRONTEND=noninteractive
SUDO=()
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: run as root (no sudo found)" >&2; exit 1; }
    SUDO=(sudo -n env DEBIAN_FRONTEND=noninteractive)
fi

PACKAGES=(libclang-dev libjemalloc-dev librocksdb-dev libsnappy-dev libssl-dev pkg-config systemd)

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}" >&2
    "${SUDO[@]}" apt-get update -q </dev/null
    "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
else
    echo "install-deps: system packages present" >&2
fi

# promtool (`promtool check metrics` / `check rules` in the metrics tests): taken from Debian's
# `prometheus` package, unpacked without installing it (the package would also install and
# start a Prometheus server and pull in its web assets).
if ! command -v promtool >/dev/null; then
    echo "install-deps: installing promtool (from Debian's prometheus package)" >&2
    if ! apt-cache show prometheus >/dev/null 2>&1; then
        "${SUDO[@]}" apt-get update -q </dev/null
    fi
    work=$(mktemp -d)
    (cd "$work" && apt-get download prometheus </dev/null)
    "${SUDO[@]}" mkdir -p /usr/local/lib/ferry-promtool
    "${SUDO[@]}" dpkg-deb -x "$work"/prometheus_*.deb /usr/local/lib/ferry-promtool
    "${SUDO[@]}" ln -sf /usr/local/lib/ferry-promtool/usr/bin/promtool /usr/local/bin/promtool
    rm -rf "$work"
    promtool --version >/dev/null
else
    echo "install-deps: promtool present" >&2
fi

[ -f "$shared_dbs/install.sh" ] || { echo "install-deps: $shared_dbs/install.sh not found" >&2; exit 1; }
"${SUDO[@]}" bash "$shared_dbs/install.sh" all </dev/null
