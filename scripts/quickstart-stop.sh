#!/usr/bin/env bash
# scripts/quickstart-stop.sh [--remove] — stops what scripts/quickstart.sh started:
# ferryd (by the PID in $QS_DIR/ferry/ferryd.pid: SIGTERM, SIGKILL after 30 s) and the two
# database servers (../shared/dbs/stop.sh, which uses their pid files). Only processes
# whose command line names the quickstart's own folders are signalled, so a stale pid file
# never hits an unrelated process. --remove also deletes $QS_DIR.
#
# Environment: QS_DIR (default /var/tmp/ferry-quickstart), DBS_DIR (default
# <repo>/../shared/dbs), FERRY_STOP_TIMEOUT (default 30 s).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$here/.." && pwd -P)
DBS_DIR=${DBS_DIR:-$repo/../shared/dbs}
QS_DIR=${QS_DIR:-/var/tmp/ferry-quickstart}
FERRY_STOP_TIMEOUT=${FERRY_STOP_TIMEOUT:-30}
remove=0
case "${1:-}" in
    --remove) remove=1 ;;
    "") ;;
    *) echo "usage: $0 [--remove]" >&2; exit 2 ;;
esac

say() { echo "[quickstart-stop] $*"; }

if [ ! -d "$QS_DIR" ]; then
    say "$QS_DIR does not exist: nothing to stop"
    exit 0
fi
QS_DIR=$(cd "$QS_DIR" && pwd -P)

# ferryd: only a process that is ferryd and was given our data dir.
pidfile=$QS_DIR/ferry/ferryd.pid
ours() {
    kill -0 "$1" 2>/dev/null || return 1
    local cmd
    cmd=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
    [[ "$cmd" == *ferryd* && "$cmd" == *"$QS_DIR/ferry"* ]]
}
if [ -s "$pidfile" ]; then
    pid=$(cat "$pidfile")
    if ours "$pid"; then
        kill -TERM "$pid"
        deadline=$(( $(date +%s) + FERRY_STOP_TIMEOUT ))
        while ours "$pid" && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.1; done
        if ours "$pid"; then
            say "ferryd pid $pid still running after ${FERRY_STOP_TIMEOUT}s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        say "stopped ferryd (pid $pid)"
    else
        say "ferryd pid $pid is not running (stale pid file)"
    fi
    rm -f "$pidfile"
else
    say "no ferryd pid file"
fi

# Database servers: stop.sh checks that the pid belongs to the data dir.
for d in mysql-up mariadb-down; do
    if [ -d "$QS_DIR/$d" ]; then
        [ -x "$DBS_DIR/stop.sh" ] || { say "$DBS_DIR/stop.sh not found (set DBS_DIR)"; exit 1; }
        "$DBS_DIR/stop.sh" "$QS_DIR/$d"
    fi
done

if [ "$remove" = 1 ]; then
    if [ -e "$QS_DIR/.ferry-quickstart" ]; then
        rm -rf "$QS_DIR"
        say "removed $QS_DIR"
    else
        say "not removing $QS_DIR: it has no .ferry-quickstart marker (not made by quickstart.sh?)"
    fi
fi
