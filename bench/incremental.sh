#!/usr/bin/env bash
# bench/incremental.sh - one-command benchmark of incremental (binlog) replication.
#
# For a MariaDB 10.11 and a MySQL 9.7 upstream, each replicated into one MariaDB 10.11
# downstream, with Ferry's relay log off and on:
#   catchup  a backlog written while Ferry is not running (insert-only: ROWS rows in
#            TXN_ROWS-row transactions; mixed: ROWS/2 inserts interleaved with ROWS/4
#            single-row UPDATEs and ROWS/8 single-row DELETEs), then timed:
#              ceiling  the same binlog range decoded and applied directly:
#                       mariadb-binlog | mariadb  (MariaDB upstream)
#                       mysqlbinlog | sed | mariadb  (MySQL upstream; sed drops what
#                       MariaDB rejects)
#              ferry    ferryd incremental task from `meta` = the backlog's start, until
#                       query-status shows the backlog's end applied
#   steady   sysbench oltp_insert / oltp_write_only for SECONDS on the upstream while
#            Ferry (task-mode all) replicates; heartbeat lag and secondsBehindMaster.
# Every result is checked against the upstream (row counts and checksums).
# CEILING=0 skips the (slow) serial-replay ceiling runs of the catch-up part; PERF=1
# records ferryd with `perf record` during each timed Ferry catch-up (perf.data and
# perf.top.txt, a `perf report --no-children` top list, in that run's log directory);
# BINS=label=dir[:preload],... compares several builds on the same backlogs.
# Prints markdown tables and writes them to $WORKDIR/results.md.
# Run as root.  See bench/README.md for the knobs and the columns.
ENV_SECONDS=$SECONDS   # bash's SECONDS: the value from the environment, if any, +0 s
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(dirname "$HERE")
DBS=${DBS_DIR:-$(cd "$HERE/../../shared/dbs" 2>/dev/null && pwd -P || echo "$HERE/../../shared/dbs")}

ONLY=${ONLY:-catchup,steady}
UPSTREAMS=${UPSTREAMS:-mariadb,mysql}
RELAY=${RELAY:-0,1}
BACKLOGS=${BACKLOGS:-insert,mixed}
TABLES=${TABLES:-4}
ROWS=${ROWS:-2000000}
TXN_ROWS=${TXN_ROWS:-100}
MIX_INSERTS=${MIX_INSERTS:-$((ROWS / 2))}
MIX_UPDATES=${MIX_UPDATES:-$((ROWS / 4))}
MIX_DELETES=${MIX_DELETES:-$((ROWS / 8))}
RUNS=${RUNS:-1}
SB_TESTS=${SB_TESTS:-oltp_insert,oltp_write_only}
# SECONDS (a bash special variable: read once above) or RUN_SECONDS: sysbench run time
if [ -n "${RUN_SECONDS:-}" ]; then SECONDS_RUN=$RUN_SECONDS
elif [ "$ENV_SECONDS" -gt 0 ] 2>/dev/null; then SECONDS_RUN=$ENV_SECONDS
else SECONDS_RUN=60; fi
THREADS=${THREADS:-8}
SB_TABLE_SIZE=${SB_TABLE_SIZE:-100000}
SB_RATE=${SB_RATE:-0}   # list: 0 = unthrottled, N = N txn/s, N% = N % of the unthrottled rate measured in this run
WORKERS=${WORKERS:-16}              # syncers worker-count; a list runs each
STEADY_WORKERS=${STEADY_WORKERS:-$WORKERS}
BATCH=${BATCH:-100}
POLL=${POLL:-1}   # seconds between query-status polls while timing Ferry (each poll costs CPU on the same cores)
BASE_PORT=${BASE_PORT:-25306}
WORKDIR=${WORKDIR:-/var/tmp/ferry-bench-inc}
DEFAULT_BIN_DIR=${CARGO_TARGET_DIR:-$REPO/target}/release
FERRY_BIN_DIR=${FERRY_BIN_DIR:-$DEFAULT_BIN_DIR}
NO_BUILD=${NO_BUILD:-0}
FERRY_TIMEOUT=${FERRY_TIMEOUT:-3600}
CEILING=${CEILING:-1}            # 0 = skip the catch-up ceiling (serial replay) runs
PERF=${PERF:-0}                  # 1 = perf record ferryd during each timed catch-up
PERF_CALLGRAPH=${PERF_CALLGRAPH:-dwarf,8192}   # perf record --call-graph (fp needs frame pointers)
PERF_FREQ=${PERF_FREQ:-499}      # perf record -F (samples per second per CPU)
PERF_EVENT=${PERF_EVENT:-}       # instead of CPU samples, every such event (e.g. context-switches: where ferryd parks)
PERF_INLINE=${PERF_INLINE:-0}    # 1 = also charge samples to stages with inlined frames (perf.stages.txt; minutes)
export DB_BUFFER_POOL=${DB_BUFFER_POOL:-1G}
DB_REDO=${DB_REDO:-512M}

PORT_MD_UP=$BASE_PORT
PORT_DOWN=$((BASE_PORT + 1))
PORT_MY_UP=$((BASE_PORT + 2))
PORT_FERRY=$((BASE_PORT + 3))
SRV=$WORKDIR/srv
DIR_MD_UP=$SRV/md-up
DIR_DOWN=$SRV/md-down
DIR_MY_UP=$SRV/my-up
LOGS=$WORKDIR/logs
RES=$WORKDIR/runs
MYSQL_CLIENT=${MYSQL_PREFIX:-/opt/mysql-sid}/bin/mysql
MYSQLBINLOG=${MYSQL_PREFIX:-/opt/mysql-sid}/bin/mysqlbinlog
PY=/usr/bin/python3
LOAD=$HERE/inc_load.py
CLK_TCK=$(getconf CLK_TCK)

log() { echo "[inc $(date +%H:%M:%S)] $*" >&2; }
die() { echo "[inc] ERROR: $*" >&2; exit 1; }
now_ns() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
fsub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
# utime+stime of a process in seconds (0 if it is gone)
cpu_s() {
    local s
    s=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
    awk -v t="$CLK_TCK" '{ printf "%.2f", ($12 + $13) / t }' <<<"$s"
}
# per-thread utime+stime of a process: "tid cpu_s" lines
thread_cpu() {
    local f
    for f in /proc/"$1"/task/*/stat; do
        sed 's/^\([0-9]*\) .*) /\1 /' "$f" 2>/dev/null
    done | awk -v t="$CLK_TCK" '{ printf "%s %.2f\n", $1, ($13 + $14) / t }'
}
# the largest per-thread CPU delta between two thread_cpu snapshots (files)
max_thread_delta() {
    awk 'NR == FNR { a[$1] = $2; next } { d = $2 - a[$1]; if (d > m) m = d } END { printf "%.2f", m + 0 }' "$1" "$2"
}
# machine CPU: "busy_s steal_s total_s" (all CPUs) from /proc/stat; busy = user + nice +
# system + irq + softirq (guest time is inside user)
machine_cpu() {
    awk -v t="$CLK_TCK" '/^cpu / { b = $2 + $3 + $4 + $7 + $8;
        printf "%.2f %.2f %.2f\n", b / t, $9 / t, (b + $5 + $6 + $9) / t }' /proc/stat
}

[ "$(id -u)" = 0 ] || die "run as root (installs packages, starts servers)"
for v in TABLES ROWS TXN_ROWS RUNS SECONDS_RUN THREADS SB_TABLE_SIZE BATCH; do
    [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (is '${!v}')"
done
[[ "$MIX_INSERTS" =~ ^[1-9][0-9]*$ && "$MIX_UPDATES" =~ ^[0-9]+$ && "$MIX_DELETES" =~ ^[0-9]+$ ]] \
    || die "MIX_INSERTS must be positive, MIX_UPDATES and MIX_DELETES non-negative integers"
[[ "$CEILING" =~ ^[01]$ && "$PERF" =~ ^[01]$ && "$PERF_INLINE" =~ ^[01]$ ]] || die "CEILING, PERF and PERF_INLINE must be 0 or 1"
[[ "$PERF_FREQ" =~ ^[1-9][0-9]*$ ]] || die "PERF_FREQ must be a positive integer"
[ "$MIX_DELETES" -le "$MIX_INSERTS" ] || die "MIX_DELETES ($MIX_DELETES) > MIX_INSERTS ($MIX_INSERTS)"

# --- what to run -------------------------------------------------------------------
list() { # name value allowed... -> words
    local name=$1 value=$2; shift 2
    local out=() w a ok
    IFS=, read -r -a _w <<<"$value"
    for w in "${_w[@]}"; do
        w=${w// /}; [ -n "$w" ] || continue
        ok=0; for a in "$@"; do [ "$w" = "$a" ] && ok=1; done
        [ "$ok" = 1 ] || die "unknown '$w' in $name (known: $*)"
        out+=("$w")
    done
    echo "${out[*]}"
}
IFS=, read -r -a WKS <<<"${WORKERS// /}"
IFS=, read -r -a SWKS <<<"${STEADY_WORKERS// /}"
for w in "${WKS[@]}" "${SWKS[@]}"; do [[ "$w" =~ ^[1-9][0-9]*$ ]] || die "WORKERS and STEADY_WORKERS must be comma-separated lists of positive integers"; done
IFS=, read -r -a SB_RATES <<<"${SB_RATE// /}"
for r in "${SB_RATES[@]}"; do [[ "$r" =~ ^[0-9]+%?$ ]] || die "SB_RATE must be a comma-separated list of N or N% (is '$SB_RATE')"; done
read -r -a PARTS <<<"$(list ONLY "$ONLY" catchup steady)"
read -r -a UPS <<<"$(list UPSTREAMS "$UPSTREAMS" mariadb mysql)"
read -r -a RELAYS <<<"$(list RELAY "$RELAY" 0 1)"
read -r -a BLS <<<"$(list BACKLOGS "$BACKLOGS" insert mixed)"
read -r -a SBS <<<"$(list SB_TESTS "$SB_TESTS" oltp_insert oltp_write_only oltp_read_write oltp_update_index oltp_update_non_index oltp_delete)"
[ ${#PARTS[@]} -gt 0 ] && [ ${#UPS[@]} -gt 0 ] && [ ${#RELAYS[@]} -gt 0 ] || die "nothing to run"
want_part() { local p; for p in "${PARTS[@]}"; do [ "$p" = "$1" ] && return 0; done; return 1; }
NEED_MYSQL=0; for u in "${UPS[@]}"; do [ "$u" = mysql ] && NEED_MYSQL=1; done
log "parts: ${PARTS[*]}; upstreams: ${UPS[*]}; relay: ${RELAYS[*]}; backlogs: ${BLS[*]} (ROWS=$ROWS, mixed $MIX_INSERTS/$MIX_UPDATES/$MIX_DELETES);" \
    "sysbench: ${SBS[*]} ${SECONDS_RUN}s x $THREADS threads; runs=$RUNS; workdir=$WORKDIR"

# --- install -------------------------------------------------------------------------
need_pkgs=()
command -v sysbench >/dev/null || need_pkgs+=(sysbench)
[ -x /usr/bin/time ] || need_pkgs+=(time)
command -v jq >/dev/null || need_pkgs+=(jq)
command -v curl >/dev/null || need_pkgs+=(curl)
[ "$PERF" = 1 ] && ! command -v perf >/dev/null && need_pkgs+=(linux-perf)
"$PY" -c 'import pymysql' 2>/dev/null || need_pkgs+=(python3-pymysql)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    log "installing ${need_pkgs[*]} (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends "${need_pkgs[@]}" >&2 \
        || { apt-get update >&2 && apt-get install -y --no-install-recommends "${need_pkgs[@]}" >&2; } \
        || die "apt-get install ${need_pkgs[*]} failed"
fi
[ -x "$DBS/install.sh" ] || die "$DBS/install.sh not found (set DBS_DIR)"
"$DBS/install.sh" mariadb >&2 || die "installing MariaDB failed"
[ "$NEED_MYSQL" = 1 ] && { "$DBS/install.sh" mysql >&2 || die "installing MySQL failed"; }

FERRYD=$FERRY_BIN_DIR/ferryd
FERRYCTL=$FERRY_BIN_DIR/ferryctl
# BINS: A/B runs of several builds on the same backlogs, interleaved: a comma-separated list
# of label=dir[:preload-library] (e.g. base=/tmp/a,new=/tmp/b,new-jemalloc=/tmp/b:/usr/lib/
# x86_64-linux-gnu/libjemalloc.so.2); each dir holds ferryd and ferryctl.  Default: one
# build, FERRY_BIN_DIR, without a label.
BIN_LABELS=() BIN_DIRS=() BIN_PRELOADS=()
if [ -n "${BINS:-}" ]; then
    IFS=, read -r -a _bins <<<"$BINS"
    for b in "${_bins[@]}"; do
        [[ "$b" =~ ^([A-Za-z0-9_]+)=([^:]+)(:(.+))?$ ]] || die "BINS entry '$b' is not label=dir[:preload] (label: letters, digits, _)"
        BIN_LABELS+=("${BASH_REMATCH[1]}"); BIN_DIRS+=("${BASH_REMATCH[2]}"); BIN_PRELOADS+=("${BASH_REMATCH[4]}")
        [ -x "${BASH_REMATCH[2]}/ferryd" ] && [ -x "${BASH_REMATCH[2]}/ferryctl" ] || die "BINS: no ferryd/ferryctl in ${BASH_REMATCH[2]}"
        [ -z "${BASH_REMATCH[4]}" ] || [ -r "${BASH_REMATCH[4]}" ] || die "BINS: cannot read ${BASH_REMATCH[4]}"
    done
    NO_BUILD=1
else
    BIN_LABELS=("") BIN_DIRS=("$FERRY_BIN_DIR") BIN_PRELOADS=("")
fi
FERRYD_PRELOAD=
use_bin() { # index: sets FERRYD, FERRYCTL, FERRYD_PRELOAD
    FERRYD=${BIN_DIRS[$1]}/ferryd; FERRYCTL=${BIN_DIRS[$1]}/ferryctl; FERRYD_PRELOAD=${BIN_PRELOADS[$1]}
}
[ -z "${BINS:-}" ] || FERRYD=${BIN_DIRS[0]}/ferryd FERRYCTL=${BIN_DIRS[0]}/ferryctl
if [ "$NO_BUILD" != 1 ] && [ "$FERRY_BIN_DIR" = "$DEFAULT_BIN_DIR" ]; then
    log "building Ferry: cargo build --release -p ferry-daemon"
    command -v cargo >/dev/null || export PATH=$HOME/.cargo/bin:$PATH
    (cd "$REPO" && cargo build --release -p ferry-daemon >&2) || die "cargo build --release -p ferry-daemon failed"
fi
[ -x "$FERRYD" ] && [ -x "$FERRYCTL" ] || die "Ferry binaries missing: $FERRYD and/or $FERRYCTL (build them or set FERRY_BIN_DIR)"
use_bin 0

mkdir -p "$WORKDIR" "$SRV" "$LOGS"
rm -rf "$RES" "$LOGS"; mkdir -p "$RES" "$LOGS"

# --- servers ---------------------------------------------------------------------------
md() { local p=$1; shift; mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$p" -uroot "$@"; }
my() { local p=$1; shift; "$MYSQL_CLIENT" --no-defaults --protocol=tcp -h127.0.0.1 -P"$p" -uroot "$@"; }
mdq() { md "$1" -N -B -e "$2"; }
myq() { my "$1" -N -B -e "$2"; }
# the upstream of a kind: port, datadir, client
up_port() { if [ "$1" = mysql ]; then echo "$PORT_MY_UP"; else echo "$PORT_MD_UP"; fi; }
up_dir() { if [ "$1" = mysql ]; then echo "$DIR_MY_UP"; else echo "$DIR_MD_UP"; fi; }
upq() { if [ "$1" = mysql ]; then myq "$PORT_MY_UP" "$2"; else mdq "$PORT_MD_UP" "$2"; fi; }
upx() { local k=$1; shift; if [ "$k" = mysql ]; then my "$PORT_MY_UP" "$@"; else md "$PORT_MD_UP" "$@"; fi; }
# "file pos" of an upstream's binlog end
binlog_pos() {
    local st="SHOW MASTER STATUS"; [ "$1" = mysql ] && st="SHOW BINARY LOG STATUS"
    upq "$1" "$st" | awk 'NR == 1 { print $1, $2 }'
}
# pos_ge f1 p1 f2 p2: (f1, p1) >= (f2, p2) (same upstream; file names binlog.NNNNNN)
pos_ge() { awk -v a="${1##*.}" -v b="$2" -v c="${3##*.}" -v d="$4" 'BEGIN { exit !((a + 0 > c + 0) || (a + 0 == c + 0 && b + 0 >= d + 0)) }'; }

FERRYD_PIDFILE=$WORKDIR/ferryd.pid
HB_PIDFILE=$WORKDIR/heartbeat.pid
STARTED=()
cleanup() {
    local rc=$?
    set +e
    if [ -s "$HB_PIDFILE" ]; then kill -TERM "$(cat "$HB_PIDFILE")" 2>/dev/null; rm -f "$HB_PIDFILE"; fi
    if [ -s "$WORKDIR/perf.pid" ]; then
        local pp; pp=$(cat "$WORKDIR/perf.pid")
        tr '\0' ' ' <"/proc/$pp/cmdline" 2>/dev/null | grep -q '^perf record' && kill -INT "$pp" 2>/dev/null
        rm -f "$WORKDIR/perf.pid"
    fi
    if [ -s "$FERRYD_PIDFILE" ]; then
        local fp fbin; read -r fp fbin <"$FERRYD_PIDFILE"
        if kill -0 "$fp" 2>/dev/null && tr '\0' ' ' <"/proc/$fp/cmdline" 2>/dev/null | grep -qF "${fbin:-$FERRYD}"; then
            log "stopping ferryd pid $fp"
            kill -TERM "$fp"; for _ in $(seq 100); do kill -0 "$fp" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$fp" 2>/dev/null
        fi
        rm -f "$FERRYD_PIDFILE"
    fi
    for d in "${STARTED[@]}"; do "$DBS/stop.sh" "$d" --remove >&2; done
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_srv() { # kind port dir role -> prints pid
    local extra
    if [ "$1" = mysql ]; then extra="innodb_redo_log_capacity=$DB_REDO"; else extra="innodb_log_file_size=$DB_REDO"; fi
    [ -z "${DB_EXTRA_CNF:-}" ] || extra+=$'\n'"$DB_EXTRA_CNF"
    DB_EXTRA_CNF=$extra "$DBS/start.sh" "$1" "$2" "$3" "$4"
}

# leftovers of an interrupted run (stop.sh only signals a server of that datadir)
for d in "$DIR_MD_UP" "$DIR_DOWN" "$DIR_MY_UP"; do [ -d "$d" ] && "$DBS/stop.sh" "$d" --remove >&2; done
if [ -s "$FERRYD_PIDFILE" ]; then
    read -r fp fbin <"$FERRYD_PIDFILE"
    if kill -0 "$fp" 2>/dev/null && tr '\0' ' ' <"/proc/$fp/cmdline" 2>/dev/null | grep -qF "${fbin:-$FERRYD}"; then
        log "stopping ferryd pid $fp left by an interrupted run"; kill -TERM "$fp"; sleep 2; kill -KILL "$fp" 2>/dev/null || true
    fi
    rm -f "$FERRYD_PIDFILE"
fi

PID_MD_UP= PID_MY_UP=
for u in "${UPS[@]}"; do
    if [ "$u" = mysql ]; then
        STARTED+=("$DIR_MY_UP"); PID_MY_UP=$(start_srv mysql "$PORT_MY_UP" "$DIR_MY_UP" upstream) || die "starting the MySQL upstream failed"
    else
        STARTED+=("$DIR_MD_UP"); PID_MD_UP=$(start_srv mariadb "$PORT_MD_UP" "$DIR_MD_UP" upstream) || die "starting the MariaDB upstream failed"
    fi
done
STARTED+=("$DIR_DOWN")
PID_DOWN=$(start_srv mariadb "$PORT_DOWN" "$DIR_DOWN" downstream) || die "starting the downstream failed"
up_pid() { if [ "$1" = mysql ]; then echo "$PID_MY_UP"; else echo "$PID_MD_UP"; fi; }

sbtest_ddl() {
    local i
    echo "CREATE DATABASE sbtest;"
    for i in $(seq 1 "$TABLES"); do
        echo "CREATE TABLE sbtest.sbtest$i (id INT NOT NULL AUTO_INCREMENT, k INT NOT NULL DEFAULT 0,
          c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '',
          PRIMARY KEY (id), KEY k_1 (k)) ENGINE=InnoDB;"
    done
}

# Flush the dirty pages of a server (see bench/full.sh): each measurement starts on a
# quiet server and does not pay for the previous one's background writes.
quiesce() { # client-q-func port
    local q=$1 port=$2 pct cap capmax dirty i
    read -r pct cap capmax < <($q "$port" "SELECT @@GLOBAL.innodb_max_dirty_pages_pct, @@GLOBAL.innodb_io_capacity, @@GLOBAL.innodb_io_capacity_max")
    $q "$port" "SET GLOBAL innodb_io_capacity_max=100000; SET GLOBAL innodb_io_capacity=50000; SET GLOBAL innodb_max_dirty_pages_pct=0"
    for i in $(seq 1 1500); do
        dirty=$($q "$port" "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'" | awk '{print $2}')
        [ "${dirty:-0}" -le 64 ] && break
        sleep 0.2
    done
    [ "${dirty:-0}" -le 64 ] || log "port $port: still $dirty dirty pages after 300 s; going on"
    $q "$port" "SET GLOBAL innodb_max_dirty_pages_pct=$pct; SET GLOBAL innodb_io_capacity=$cap; SET GLOBAL innodb_io_capacity_max=$capmax"
    sync
}
quiesce_up() { if [ "$1" = mysql ]; then quiesce myq "$PORT_MY_UP"; else quiesce mdq "$PORT_MD_UP"; fi; }

reset_downstream() { # sql to run after dropping every non-system database
    local dbs d
    dbs=$(mdq "$PORT_DOWN" "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA
        WHERE SCHEMA_NAME NOT IN ('mysql','information_schema','performance_schema','sys')")
    for d in $dbs; do mdq "$PORT_DOWN" "DROP DATABASE \`$d\`"; done
    [ -z "$1" ] || md "$PORT_DOWN" -e "$1"
    quiesce mdq "$PORT_DOWN"
}

# Reference values: per table "count crc" where crc is a CRC32 aggregate over all
# columns (comparable between MySQL and MariaDB).
crc_sql() { # db table columns
    echo "SELECT COUNT(*), COALESCE(SUM(CRC32(CONCAT_WS('#',$3))),0) FROM \`$1\`.\`$2\`"
}
SB_COLS="id,k,c,pad"
HB_COLS="seq,ts_us"
snapshot() { # q-func port -> lines "db.table count crc" for sbtest.* (and ferry_ops.heartbeat if it exists)
    local q=$1 port=$2 t
    for t in $($q "$port" "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA='sbtest' ORDER BY TABLE_NAME"); do
        echo "sbtest.$t $($q "$port" "$(crc_sql sbtest "$t" "$SB_COLS")" | tr '\t' ' ')"
    done
    if [ -n "$($q "$port" "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA='ferry_ops' AND TABLE_NAME='heartbeat'")" ]; then
        echo "ferry_ops.heartbeat $($q "$port" "$(crc_sql ferry_ops heartbeat "$HB_COLS")" | tr '\t' ' ')"
    fi
}
up_snapshot() { if [ "$1" = mysql ]; then snapshot myq "$PORT_MY_UP"; else snapshot mdq "$PORT_MD_UP"; fi; }
# compares the downstream with a reference snapshot file; prints the difference
verify() { # reference file
    local got
    got=$(snapshot mdq "$PORT_DOWN")
    if [ "$got" != "$(cat "$1")" ]; then
        diff <(cat "$1") <(echo "$got") | grep '^[<>]' | head -n 6 | tr '\n' ' '
        return 1
    fi
}

ferryctl() { "$FERRYCTL" --master-addr "127.0.0.1:$PORT_FERRY" "$@"; }
ferry_ok() { # rc, output: fails on rc != 0 or a JSON "result": false
    [ "$1" = 0 ] && [ "$(jq -r 'if type == "object" and has("result") then .result else true end' <<<"$2" 2>/dev/null || echo true)" != false ]
}

stop_ferryd() {
    local fp=$1
    kill -TERM "$fp" 2>/dev/null || return 0
    for _ in $(seq 300); do kill -0 "$fp" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$fp" 2>/dev/null && { log "ferryd did not exit 30 s after SIGTERM; SIGKILL"; kill -KILL "$fp"; }
    wait "$fp" 2>/dev/null || true
    rm -f "$FERRYD_PIDFILE"
}

# starts a fresh ferryd in $W; sets FP; returns 1 with reason= in $OUT on failure
start_ferryd() {
    local dd=$W/ferry-data deadline
    rm -rf "$dd"; mkdir -p "$dd"
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT_FERRY") 2>/dev/null; then
        echo "reason=port $PORT_FERRY already in use" >>"$OUT"; return 1
    fi
    # env execs ferryd: $! is ferryd's PID
    env ${FERRYD_PRELOAD:+LD_PRELOAD="$FERRYD_PRELOAD"} "$FERRYD" --master-addr "127.0.0.1:$PORT_FERRY" --data-dir "$dd" \
        --log-level "${FERRY_LOG_LEVEL:-info}" >"$W/ferryd.log" 2>&1 &
    FP=$!
    echo "$FP $FERRYD" >"$FERRYD_PIDFILE"
    deadline=$(( $(date +%s) + 30 ))
    until (exec 3<>"/dev/tcp/127.0.0.1/$PORT_FERRY") 2>/dev/null; do
        kill -0 "$FP" 2>/dev/null || { echo "reason=ferryd exited at start: $(tail -n 3 "$W/ferryd.log" | tr '\n' ' ')" >>"$OUT"; return 1; }
        [ "$(date +%s)" -lt "$deadline" ] || { echo "reason=ferryd did not listen on $PORT_FERRY within 30 s" >>"$OUT"; return 1; }
        sleep 0.1
    done
}

write_source() { # kind relay [relay-binlog-name]
    local port; port=$(up_port "$1")
    {
        echo 'source-id: "bench-up"'
        if [ "$2" = 1 ]; then
            echo "enable-relay: true"
            [ -z "${3:-}" ] || echo "relay-binlog-name: \"$3\""
        fi
        echo "from:"
        echo '  host: "127.0.0.1"'
        echo "  port: $port"
        echo '  user: "root"'
        echo '  password: ""'
    } >"$W/source.yaml"
}

write_task() { # mode dbs-json [meta-file meta-pos]
    {
        echo 'name: "bench"'
        echo "task-mode: \"$1\""
        echo "target-database:"
        echo '  host: "127.0.0.1"'
        echo "  port: $PORT_DOWN"
        echo '  user: "root"'
        echo '  password: ""'
        echo "block-allow-list:"
        echo "  bal:"
        echo "    do-dbs: $2"
        echo "mysql-instances:"
        echo '  - source-id: "bench-up"'
        echo '    block-allow-list: "bal"'
        echo '    syncer-config-name: "sync"'
        if [ "$1" = all ]; then echo '    mydumper-config-name: "dump"'; fi
        if [ -n "${3:-}" ]; then
            echo "    meta:"
            echo "      binlog-name: \"$3\""
            echo "      binlog-pos: $4"
        fi
        echo "syncers:"
        echo "  sync:"
        echo "    worker-count: $WK"
        echo "    batch: $BATCH"
        if [ "$1" = all ]; then
            echo "mydumpers:"
            echo "  dump:"
            echo "    threads: 4"
            echo '    extra-args: "--consistency none"'
        fi
    } >"$W/task.yaml"
}

# operate-source create + start-task; returns 1 with reason= on failure.  With relay on, a
# refused source is "relay: not yet available".
create_source_and_task() { # relay
    local out st
    set +e; out=$(ferryctl operate-source create "$W/source.yaml" 2>&1); st=$?; set -e
    if ! ferry_ok "$st" "$out"; then
        if [ "$1" = 1 ]; then
            echo "reason=relay: not yet available (operate-source create with enable-relay: true failed: $(tr '\n' ' ' <<<"$out" | cut -c1-300))" >>"$OUT"
            echo "na=1" >>"$OUT"
        else
            echo "reason=operate-source create failed: $(tr '\n' ' ' <<<"$out" | cut -c1-400)" >>"$OUT"
        fi
        return 1
    fi
    set +e; out=$(ferryctl start-task "$W/task.yaml" 2>&1); st=$?; set -e
    ferry_ok "$st" "$out" || { echo "reason=start-task failed: $(tr '\n' ' ' <<<"$out" | cut -c1-400)" >>"$OUT"; return 1; }
}

# Polls query-status until the syncer has applied up to (file, pos).  Sets ST (last
# status) and RELAY_SEEN (1 when relayStatus was non-null).  Returns 1 with reason=.
# With RELAY_EXPECT=1, a relayStatus that is still null after RELAY_GRACE seconds means
# the relay log is not available: reason= and na=1.
RELAY_GRACE=${RELAY_GRACE:-10}
wait_synced_to() { # file pos timeout-s
    local f=$1 p=$2 deadline out st stage sp sf spos rs t_relay
    deadline=$(( $(date +%s) + $3 ))
    t_relay=$(( $(date +%s) + RELAY_GRACE ))
    while :; do
        set +e; out=$(ferryctl query-status bench 2>&1); st=$?; set -e
        stage=$(jq -r '.sources[0].subTaskStatus[0].stage // empty' <<<"$out" 2>/dev/null || true)
        rs=$(jq -r '.sources[0].sourceStatus.relayStatus // empty | tostring' <<<"$out" 2>/dev/null || true)
        [ -n "$rs" ] && RELAY_SEEN=1
        if [ "${RELAY_EXPECT:-0}" = 1 ] && [ "$RELAY_SEEN" = 0 ] && [ "$(date +%s)" -ge "$t_relay" ]; then
            echo "reason=relay: not yet available (enable-relay: true accepted, but query-status showed no relayStatus within ${RELAY_GRACE} s)" >>"$OUT"
            echo "na=1" >>"$OUT"
            return 1
        fi
        if [ "$stage" = Paused ] || [ "$stage" = Stopped ]; then
            echo "reason=task $stage: $(jq -c '.sources[0].subTaskStatus[0].result' <<<"$out" | cut -c1-600)" >>"$OUT"
            echo "$out" >"$W/status.paused.json"
            return 1
        fi
        sp=$(jq -r '.sources[0].subTaskStatus[0].sync.syncerBinlog // empty' <<<"$out" 2>/dev/null || true)
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(now_ns)" "$stage" "$sp" \
            "$(jq -r '.sources[0].subTaskStatus[0].sync | "\(.totalRows)\t\(.secondsBehindMaster)"' <<<"$out" 2>/dev/null || true)" \
            "$(cpu_s "$FP")" "$(cpu_s "$PID_DOWN")" >>"$W/timeline.tsv"
        if [[ "$sp" =~ ^\(([^,]+),\ *([0-9]+)\)$ ]]; then
            sf=${BASH_REMATCH[1]}; spos=${BASH_REMATCH[2]}
            if pos_ge "$sf" "$spos" "$f" "$p"; then ST=$out; return 0; fi
        fi
        kill -0 "$FP" 2>/dev/null || { echo "reason=ferryd died: $(tail -n 3 "$W/ferryd.log" | tr '\n' ' ')" >>"$OUT"; return 1; }
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "reason=not caught up with ($f, $p) after ${3}s (stage '$stage', syncer '$sp')" >>"$OUT"
            echo "$out" >"$W/status.timeout.json"
            return 1
        fi
        sleep "$POLL"
    done
}

# after a successful wait with relay on: relayStatus must have been seen
relay_check() { # relay
    if [ "$1" = 1 ] && [ "$RELAY_SEEN" = 0 ]; then
        echo "reason=relay: not yet available (enable-relay: true accepted, but query-status never showed a relayStatus)" >>"$OUT"
        echo "na=1" >>"$OUT"
        return 1
    fi
}

# downstream InnoDB lock counters: "row_lock_waits row_lock_time_ms deadlocks"
down_locks() {
    mdq "$PORT_DOWN" "SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_row_lock_waits','Innodb_row_lock_time','Innodb_deadlocks')" \
        | awk '{ v[$1] = $2 } END { printf "%d %d %d\n", v["Innodb_row_lock_waits"], v["Innodb_row_lock_time"], v["Innodb_deadlocks"] }'
}
locks_report() { # before after -> key=value lines
    read -r a1 a2 a3 <<<"$1"; read -r b1 b2 b3 <<<"$2"
    echo "lock_waits=$((b1 - a1))"; echo "lock_ms=$((b2 - a2))"; echo "deadlocks=$((b3 - a3))"
}

# CPU snapshot of everything involved: sets C_<name> variables with suffix $1
cpu_mark() { # suffix up-pid
    local s=$1
    printf -v "LK_$s" '%s' "$(down_locks)"
    printf -v "CF_$s" '%s' "$(cpu_s "$FP")"
    printf -v "CD_$s" '%s' "$(cpu_s "$PID_DOWN")"
    printf -v "CU_$s" '%s' "$(cpu_s "$2")"
    printf -v "CM_$s" '%s' "$(machine_cpu)"
    printf -v "T_$s" '%s' "$(now_ns)"
    thread_cpu "$FP" >"$W/threads.ferryd.$s"
    thread_cpu "$PID_DOWN" >"$W/threads.down.$s"
}
cpu_report() { # from-suffix to-suffix tool-cpu-s  -> key=value lines
    local a=$1 b=$2 tool=${3:-0} ma mb cf cd cu
    local va vb
    va="CM_$a"; vb="CM_$b"; read -r ma_b ma_s ma_t <<<"${!va}"; read -r mb_b mb_s mb_t <<<"${!vb}"
    va="CF_$a"; vb="CF_$b"; cf=$(fsub "${!va}" "${!vb}")
    va="CD_$a"; vb="CD_$b"; cd=$(fsub "${!va}" "${!vb}")
    va="CU_$a"; vb="CU_$b"; cu=$(fsub "${!va}" "${!vb}")
    echo "ferry_cpu=$cf"
    echo "down_cpu=$cd"
    echo "up_cpu=$cu"
    echo "machine_busy=$(fsub "$ma_b" "$mb_b")"
    echo "machine_total=$(fsub "$ma_t" "$mb_t")"
    echo "machine_steal=$(fsub "$ma_s" "$mb_s")"
    echo "other_cpu=$(awk -v b="$(fsub "$ma_b" "$mb_b")" -v f="$cf" -v d="$cd" -v u="$cu" -v t="$tool" 'BEGIN { printf "%.2f", b - f - d - u - t }')"
    [ -s "$W/threads.ferryd.$a" ] && [ -s "$W/threads.ferryd.$b" ] && echo "ferry_max_thread=$(max_thread_delta "$W/threads.ferryd.$a" "$W/threads.ferryd.$b")"
    echo "down_max_thread=$(max_thread_delta "$W/threads.down.$a" "$W/threads.down.$b")"
    va="LK_$a"; vb="LK_$b"; locks_report "${!va}" "${!vb}"
}

# --- catch-up ----------------------------------------------------------------------------
# Builds a backlog on an upstream; writes $BL/<name>.{range,ref,changes}
make_backlog() { # kind backlog
    local kind=$1 bl=$2 port t0 f0 p0 f1 p1 res
    port=$(up_port "$kind")
    log "$kind: building the $bl backlog"
    upx "$kind" -e "DROP DATABASE IF EXISTS sbtest; DROP DATABASE IF EXISTS ferry_ops; $(sbtest_ddl) FLUSH BINARY LOGS;" \
        || die "$kind: creating the schema failed"
    read -r f0 p0 < <(binlog_pos "$kind")
    upq "$kind" "PURGE BINARY LOGS TO '$f0'"   # earlier backlogs are done with: free the disk
    t0=$(now_ns)
    if [ "$bl" = insert ]; then
        res=$("$PY" "$LOAD" backlog "$port" insert "$TABLES" "$ROWS" --txn-rows "$TXN_ROWS") || die "$kind: backlog failed"
    else
        res=$("$PY" "$LOAD" backlog "$port" mixed "$TABLES" "$MIX_INSERTS" --txn-rows "$TXN_ROWS" \
            --updates "$MIX_UPDATES" --deletes "$MIX_DELETES") || die "$kind: backlog failed"
    fi
    read -r f1 p1 < <(binlog_pos "$kind")
    log "$kind: $bl backlog written in $(secs "$t0" "$(now_ns)") s: $res; binlog ($f0, $p0) .. ($f1, $p1)"
    echo "$f0 $p0 $f1 $p1" >"$BL/$kind.$bl.range"
    sed -n 's/.*changes=\([0-9]*\).*/\1/p' <<<"$res" >"$BL/$kind.$bl.changes"
    echo "$res" >"$BL/$kind.$bl.counts"
    up_snapshot "$kind" >"$BL/$kind.$bl.ref"
    # binlog files of the range, and bytes of binlog in it
    upq "$kind" "SHOW BINARY LOGS" | awk -v a="${f0##*.}" -v b="${f1##*.}" '{ n = $1; sub(/.*\./, "", n); if (n + 0 >= a + 0 && n + 0 <= b + 0) print $1, $2 }' \
        >"$BL/$kind.$bl.files"
    awk -v p0="$p0" -v p1="$p1" -v f0="$f0" -v f1="$f1" '{ s = ($1 == f0) ? p0 : 4; e = ($1 == f1) ? p1 : $2; t += e - s } END { printf "%.1f\n", t / 1048576 }' \
        "$BL/$kind.$bl.files" >"$BL/$kind.$bl.mib"
    quiesce_up "$kind"
}

run_ceiling() { # kind backlog
    local kind=$1 bl=$2 f0 p0 f1 p1 files=() dir c0 u0 t0 t1 rss cpu
    read -r f0 p0 f1 p1 <"$BL/$kind.$bl.range"
    dir=$(up_dir "$kind")
    while read -r f _; do files+=("$dir/$f"); done <"$BL/$kind.$bl.files"
    reset_downstream "$(sbtest_ddl)"
    local lk0; lk0=$(down_locks)
    c0=$(cpu_s "$PID_DOWN"); u0=$(cpu_s "$(up_pid "$kind")"); read -r m0 _ <<<"$(machine_cpu)"; t0=$(now_ns)
    thread_cpu "$PID_DOWN" >"$W/threads.down.0"
    if [ "$kind" = mariadb ]; then
        /usr/bin/time -f '%M %U %S' -o "$W/time.dec" mariadb-binlog --no-defaults --start-position="$p0" --stop-position="$p1" "${files[@]}" 2>"$W/dec.err" \
          | /usr/bin/time -f '%M %U %S' -o "$W/time.cli" mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$PORT_DOWN" -uroot >"$W/cli.log" 2>&1 \
          || { echo "reason=mariadb-binlog | mariadb failed: $(tail -n 2 "$W/dec.err" "$W/cli.log" | tr '\n' ' ')" >>"$OUT"; return 1; }
    else
        # MySQL 9.7's mysqlbinlog output, minus what MariaDB rejects: 8.0-versioned
        # session settings (/*!80001 ... */ etc.), GTID_NEXT, and MySQL's numeric
        # sql_mode / collation ids.  The BINLOG row events themselves are applied as is.
        /usr/bin/time -f '%M %U %S' -o "$W/time.dec" "$MYSQLBINLOG" --no-defaults --start-position="$p0" --stop-position="$p1" "${files[@]}" 2>"$W/dec.err" \
          | /usr/bin/time -f '%M %U %S' -o "$W/time.sed" sed -E -e '/^\/\*!80[0-9]{3} /d' -e '/^SET @@SESSION\.GTID_NEXT/d' \
                -e 's/^SET @@session\.sql_mode=[0-9]+/SET @@session.sql_mode=DEFAULT/' \
                -e 's/^SET @@session\.character_set_client=[0-9]+,@@session\.collation_connection=[0-9]+,@@session\.collation_server=[0-9]+/SET @@session.character_set_client=utf8mb4,@@session.collation_connection=utf8mb4_general_ci,@@session.collation_server=utf8mb4_general_ci/' \
          | /usr/bin/time -f '%M %U %S' -o "$W/time.cli" mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$PORT_DOWN" -uroot >"$W/cli.log" 2>&1 \
          || { echo "reason=mysqlbinlog | sed | mariadb failed: $(tail -n 2 "$W/dec.err" "$W/cli.log" | tr '\n' ' ')" >>"$OUT"; return 1; }
    fi
    t1=$(now_ns)
    read -r m1 _ <<<"$(machine_cpu)"
    thread_cpu "$PID_DOWN" >"$W/threads.down.1"
    read -r rss cpu < <(awk '{ s += $1; c += $2 + $3 } END { printf "%d %.2f\n", s, c }' "$W"/time.*)
    { echo "wall=$(secs "$t0" "$t1")"; echo "rss_kb=$rss"; echo "tool_cpu=$cpu"
      echo "down_cpu=$(fsub "$c0" "$(cpu_s "$PID_DOWN")")"; echo "up_cpu=$(fsub "$u0" "$(cpu_s "$(up_pid "$kind")")")"
      echo "machine_busy=$(fsub "$m0" "$m1")"
      echo "down_max_thread=$(max_thread_delta "$W/threads.down.0" "$W/threads.down.1")"
      locks_report "$lk0" "$(down_locks)"
      echo "ref=$BL/$kind.$bl.ref"; } >>"$OUT"
}

run_ferry_catchup() { # kind backlog relay
    local kind=$1 bl=$2 relay=$3 f0 p0 f1 p1 upid hwm
    read -r f0 p0 f1 p1 <"$BL/$kind.$bl.range"
    upid=$(up_pid "$kind")
    reset_downstream "$(sbtest_ddl)"
    start_ferryd || return 1
    trap 'stop_ferryd '"$FP" EXIT
    write_source "$kind" "$relay" "$f0"
    write_task incremental '["sbtest"]' "$f0" "$p0"
    RELAY_SEEN=0; RELAY_EXPECT=$relay
    # the clock runs from operate-source create (a relay starts pulling at once)
    cpu_mark 0 "$upid"
    [ "$PERF" = 1 ] && { perf_start || return 1; }
    create_source_and_task "$relay" || return 1
    wait_synced_to "$f1" "$p1" "$FERRY_TIMEOUT" || return 1
    cpu_mark 1 "$upid"
    [ "$PERF" = 1 ] && perf_stop
    relay_check "$relay" || return 1
    hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$FP/status")
    echo "$ST" >"$W/status.final.json"
    # ferryd's own account of the run (messages per reader batch, job counts, ...)
    curl -fsS "http://127.0.0.1:$PORT_FERRY/metrics" >"$W/metrics.final.txt" 2>/dev/null || true
    { echo "wall=$(secs "$T_0" "$T_1")"; echo "rss_kb=$hwm"; cpu_report 0 1
      echo "ref=$BL/$kind.$bl.ref"; } >>"$OUT"
    stop_ferryd "$FP"
    trap - EXIT
    rm -rf "$W/ferry-data"
    [ "$PERF" = 1 ] && perf_report
    return 0
}

# perf record of ferryd ($FP) into $W/perf.data while a catch-up is timed (PERF=1).
# perf is started before the clock's first event and stopped (SIGINT, by its PID) right
# after the last one; its own CPU runs on the same cores (the run's figures include it).
perf_start() {
    local what=(-F "$PERF_FREQ")
    [ -n "$PERF_EVENT" ] && what=(-e "$PERF_EVENT" -c 1)
    perf record "${what[@]}" --call-graph "$PERF_CALLGRAPH" -p "$FP" -o "$W/perf.data" \
        >"$W/perf.record.log" 2>&1 &
    PERF_PID=$!
    echo "$PERF_PID" >"$WORKDIR/perf.pid"
    trap 'perf_stop; stop_ferryd '"$FP" EXIT
    sleep 0.5   # let perf attach to every thread
    kill -0 "$PERF_PID" 2>/dev/null || { echo "reason=perf record failed: $(tail -n 3 "$W/perf.record.log" | tr '\n' ' ')" >>"$OUT"; return 1; }
}
perf_stop() {
    [ -n "${PERF_PID:-}" ] || return 0
    kill -INT "$PERF_PID" 2>/dev/null || true
    wait "$PERF_PID" 2>/dev/null || true
    PERF_PID=
    rm -f "$WORKDIR/perf.pid"
}
# flat top list by self time (perf.top.txt) and the same with callers (perf.callers.txt)
perf_report() {
    [ -s "$W/perf.data" ] || return 0
    perf report -i "$W/perf.data" --no-children --stdio -g none --percent-limit 0.3 \
        --sort symbol >"$W/perf.top.txt" 2>"$W/perf.report.log" || true
    perf report -i "$W/perf.data" --no-children --stdio --percent-limit 0.5 \
        -g caller,0.5,callee,function,percent --sort symbol >"$W/perf.callers.txt" 2>>"$W/perf.report.log" || true
    perf report -i "$W/perf.data" --no-children --stdio -g none --sort dso >"$W/perf.dso.txt" 2>>"$W/perf.report.log" || true
    # self / by owning Ferry function / inclusive (bench/perf_summary.py)
    perf script -i "$W/perf.data" -F comm,tid,period,ip,sym --no-inline 2>>"$W/perf.report.log" \
        | "$PY" "$HERE/perf_summary.py" 40 >"$W/perf.summary.txt" 2>>"$W/perf.report.log" || true
    if [ "$PERF_INLINE" = 1 ]; then
        perf script -i "$W/perf.data" -F comm,tid,period,ip,sym 2>>"$W/perf.report.log" \
            | "$PY" "$HERE/perf_stages.py" >"$W/perf.stages.txt" 2>>"$W/perf.report.log" || true
    fi
    log "  perf: $W/perf.top.txt, perf.summary.txt"
}

# --- steady state ------------------------------------------------------------------------
sb() { # kind test command [args]
    local kind=$1 test=$2 cmd=$3; shift 3
    sysbench "$test" --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$(up_port "$kind")" --mysql-user=root \
        --mysql-password= --mysql-db=sbtest --tables="$TABLES" --table-size="$SB_TABLE_SIZE" "$@" "$cmd"
}

run_steady() { # kind test relay rate(txn/s, 0 = unthrottled)
    local kind=$1 test=$2 relay=$3 rate=$4 upid f p out st hbpid tr0 tr1 t_end t_caught hwm sbw sbt
    upid=$(up_pid "$kind")
    upx "$kind" -e "DROP DATABASE IF EXISTS sbtest; DROP DATABASE IF EXISTS ferry_ops; CREATE DATABASE sbtest;
        CREATE DATABASE ferry_ops; CREATE TABLE ferry_ops.heartbeat (seq BIGINT NOT NULL PRIMARY KEY, ts_us BIGINT NOT NULL) ENGINE=InnoDB;
        FLUSH BINARY LOGS;" || { echo "reason=creating the schema upstream failed" >>"$OUT"; return 1; }
    upq "$kind" "PURGE BINARY LOGS TO '$(binlog_pos "$kind" | cut -d' ' -f1)'"
    sb "$kind" "$test" prepare --threads="$TABLES" >"$W/sysbench.prepare.log" 2>&1 \
        || { echo "reason=sysbench prepare failed: $(tail -n 3 "$W/sysbench.prepare.log" | tr '\n' ' ')" >>"$OUT"; return 1; }
    reset_downstream ""
    quiesce_up "$kind"
    read -r f p < <(binlog_pos "$kind")
    start_ferryd || return 1
    trap 'stop_ferryd '"$FP" EXIT
    write_source "$kind" "$relay" "$f"
    write_task all '["sbtest", "ferry_ops"]'
    RELAY_SEEN=0; RELAY_EXPECT=$relay
    create_source_and_task "$relay" || return 1
    wait_synced_to "$f" "$p" "$FERRY_TIMEOUT" || return 1
    relay_check "$relay" || return 1
    log "  $kind: full phase done, syncing; running sysbench $test for ${SECONDS_RUN}s x $THREADS threads"
    quiesce mdq "$PORT_DOWN"
    tr0=$(jq -r '.sources[0].subTaskStatus[0].sync.totalRows' <<<"$ST")
    cpu_mark 0 "$upid"
    "$PY" "$LOAD" heartbeat "$(up_port "$kind")" "$PORT_DOWN" "$W/heartbeat.json" \
        --status-url "http://127.0.0.1:$PORT_FERRY/api/v1/tasks/bench/status" --drain "$FERRY_TIMEOUT" \
        >"$W/heartbeat.log" 2>&1 &
    hbpid=$!
    echo "$hbpid" >"$HB_PIDFILE"
    /usr/bin/time -f '%M %U %S' -o "$W/time.sysbench" \
        sysbench "$test" --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$(up_port "$kind")" --mysql-user=root \
        --mysql-password= --mysql-db=sbtest --tables="$TABLES" --table-size="$SB_TABLE_SIZE" \
        --threads="$THREADS" --time="$SECONDS_RUN" --rate="$rate" --report-interval=10 run >"$W/sysbench.run.log" 2>&1 \
        || { echo "reason=sysbench run failed: $(tail -n 3 "$W/sysbench.run.log" | tr '\n' ' ')" >>"$OUT"; kill -TERM "$hbpid"; return 1; }
    t_end=$(now_ns)
    kill -TERM "$hbpid" 2>/dev/null || true
    read -r f p < <(binlog_pos "$kind")
    wait_synced_to "$f" "$p" "$FERRY_TIMEOUT" || { kill -TERM "$hbpid" 2>/dev/null; return 1; }
    t_caught=$(now_ns)
    cpu_mark 1 "$upid"
    hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$FP/status")
    tr1=$(jq -r '.sources[0].subTaskStatus[0].sync.totalRows' <<<"$ST")
    wait "$hbpid" || { echo "reason=heartbeat failed: $(tail -n 3 "$W/heartbeat.log" | tr '\n' ' ')" >>"$OUT"; return 1; }
    rm -f "$HB_PIDFILE"
    sbw=$(awk '/^ *write:/ { print $2 }' "$W/sysbench.run.log")
    sbt=$(sed -n 's/^ *transactions: *\([0-9]*\).*/\1/p' "$W/sysbench.run.log")
    local tool; tool=$(awk '{ printf "%.2f", $2 + $3 }' "$W/time.sysbench")
    { echo "wall=$(secs "$T_0" "$t_end")"; echo "drain=$(secs "$t_end" "$t_caught")"
      echo "window=$(secs "$T_0" "$t_caught")"
      echo "sb_writes=$sbw"; echo "sb_txns=$sbt"; echo "sb_rate=$rate"; echo "applied_rows=$((tr1 - tr0))"
      echo "rss_kb=$hwm"; cpu_report 0 1 "$tool"; echo "tool_cpu=$tool"
      jq -r '"hb_n=\(.heartbeats)\nhb_seen=\(.seen)\nlag_p50=\(.lag_p50)\nlag_p99=\(.lag_p99)\nlag_max=\(.lag_max)\nsbm_n=\(.sbm_samples)\nsbm_p50=\(.sbm_p50)\nsbm_p99=\(.sbm_p99)\nsbm_max=\(.sbm_max)"' "$W/heartbeat.json"
    } >>"$OUT"
    up_snapshot "$kind" >"$W/ref"
    echo "ref=$W/ref" >>"$OUT"
    stop_ferryd "$FP"
    trap - EXIT
    rm -rf "$W/ferry-data"
}

# --- runs ----------------------------------------------------------------------------------
BL=$WORKDIR/backlog
mkdir -p "$BL"
EXIT_FAILED=0
run_one() { # id function args...
    local id=$1; shift
    OUT=$RES/$id
    W=$LOGS/$id
    rm -rf "$W"; mkdir -p "$W"
    : >"$OUT"
    log "$id"
    set +e
    ( set -eE; trap 'echo "failed at line $LINENO (exit $?): $BASH_COMMAND" >&2' ERR; "$@" ) 2>>"$W/stderr.log"
    local rc=$?
    set -e
    if [ "$rc" = 0 ]; then
        local ref why
        ref=$(sed -n 's/^ref=//p' "$OUT")
        if why=$(verify "$ref"); then
            echo "status=ok" >>"$OUT"
            log "  $id: $(sed -n 's/^wall=//p' "$OUT") s, verified"
        else
            echo "status=FAILED" >>"$OUT"; echo "reason=wrong result: $why" >>"$OUT"; EXIT_FAILED=1
            log "  $id: FAILED verification: $why"
        fi
    elif grep -q '^na=1' "$OUT"; then
        echo "status=n/a" >>"$OUT"
        log "  $id: $(sed -n 's/^reason=//p' "$OUT" | head -n1)"
    else
        echo "status=FAILED" >>"$OUT"; EXIT_FAILED=1
        grep -q '^reason=' "$OUT" || echo "reason=exit $rc: $(tail -n 3 "$W/stderr.log" | tr '\n' ' ')" >>"$OUT"
        log "  $id: FAILED: $(sed -n 's/^reason=//p' "$OUT" | head -n1) (logs in $W)"
    fi
}

RELAY_NA=0   # set when relay is not available: later relay runs are skipped
for kind in "${UPS[@]}"; do
    if want_part catchup; then
        for bl in "${BLS[@]}"; do
            make_backlog "$kind" "$bl"
            for run in $(seq 1 "$RUNS"); do
                [ "$CEILING" = 1 ] && run_one "catchup.$kind.$bl.ceiling.$run" run_ceiling "$kind" "$bl"
                for relay in "${RELAYS[@]}"; do
                  for WK in "${WKS[@]}"; do
                   for bi in "${!BIN_DIRS[@]}"; do
                    use_bin "$bi"
                    id="catchup.$kind.$bl.ferry-r$relay-w$WK${BIN_LABELS[$bi]:+-${BIN_LABELS[$bi]}}.$run"
                    if [ "$relay" = 1 ] && [ "$RELAY_NA" = 1 ]; then
                        continue   # reported once, by the first relay run
                    fi
                    run_one "$id" run_ferry_catchup "$kind" "$bl" "$relay"
                    [ "$relay" = 1 ] && grep -q '^status=n/a' "$RES/$id" && RELAY_NA=1
                   done
                  done
                done
            done
        done
    fi
    if want_part steady; then
        for test in "${SBS[@]}"; do
          for rate in "${SB_RATES[@]}"; do
            rl=$rate; tps=$rate
            if [[ "$rate" == *% ]]; then
                # N % of the unthrottled txn/s measured in this invocation for this upstream and test
                rl=${rate%\%}pct
                base=$(cat "$RES"/steady."$kind"."$test".r*-w*-q0.* 2>/dev/null \
                    | awk -F= '$1 == "sb_txns" { n = $2 } $1 == "wall" { w = $2 } $1 == "status" && $2 == "ok" && w > 0 { s += n / w; c++ } END { if (c) printf "%d", s / c }')
                [ -n "$base" ] || die "SB_RATE=$rate needs an unthrottled (0) run before it for $kind $test; put 0 first in SB_RATE"
                tps=$(( base * ${rate%\%} / 100 )); [ "$tps" -gt 0 ] || tps=1
            fi
            for run in $(seq 1 "$RUNS"); do
                for relay in "${RELAYS[@]}"; do
                  for WK in "${SWKS[@]}"; do
                    use_bin 0
                    id="steady.$kind.$test.r$relay-w$WK-q$rl.$run"
                    if [ "$relay" = 1 ] && [ "$RELAY_NA" = 1 ]; then
                        continue   # reported once, by the first relay run
                    fi
                    run_one "$id" run_steady "$kind" "$test" "$relay" "$tps"
                    [ "$relay" = 1 ] && grep -q '^status=n/a' "$RES/$id" && RELAY_NA=1
                  done
                done
            done
          done
        done
    fi
done

# --- report --------------------------------------------------------------------------------
ver() { timeout 10 "$@" </dev/null 2>/dev/null | head -n1 || echo "?"; }
FACTS=$(cat <<EOF
date=$(date -u '+%Y-%m-%d %H:%M UTC')
nproc=$(nproc)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
ram=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
kernel=$(uname -r)
fs=$(df -T "$WORKDIR" | awk 'NR==2 { print $2 " (" $1 ")" }')
mariadb=$(mdq "$PORT_DOWN" "SELECT VERSION()")
mysql=$([ -n "$PID_MY_UP" ] && myq "$PORT_MY_UP" "SELECT VERSION()" || echo "not run")
sysbench=$(ver sysbench --version)
ferryd=$({ ver "$FERRYD" --version; echo "$FERRYD"; git -C "$REPO" rev-parse --short HEAD 2>/dev/null; } | paste -sd' ')
loadavg=$(cut -d' ' -f1-3 /proc/loadavg)
tables=$TABLES
rows=$ROWS
txn_rows=$TXN_ROWS
mix=$MIX_INSERTS/$MIX_UPDATES/$MIX_DELETES
workers=$WORKERS (catch-up), $STEADY_WORKERS (steady)
batch=$BATCH
threads=$THREADS
seconds=$SECONDS_RUN
sb_table_size=$SB_TABLE_SIZE
sb_rate=$SB_RATE
buffer_pool=$DB_BUFFER_POOL
redo=$DB_REDO
runs=$RUNS
bins=$(IFS=,; echo "${BIN_LABELS[*]}")
bin_dirs=$(for i in "${!BIN_DIRS[@]}"; do printf '%s%s; ' "${BIN_LABELS[$i]:+${BIN_LABELS[$i]}=}" "${BIN_DIRS[$i]}${BIN_PRELOADS[$i]:+ (LD_PRELOAD ${BIN_PRELOADS[$i]})}"; done)
EOF
)
FACTS="$FACTS" "$PY" - "$RES" "$BL" "$WORKDIR/results.md" <<'PYEOF'
import os, statistics, sys
res, bl, outpath = sys.argv[1], sys.argv[2], sys.argv[3]
facts = dict(l.split("=", 1) for l in os.environ["FACTS"].splitlines() if "=" in l)

def load(f):
    d = {}
    for line in open(os.path.join(res, f)):
        if "=" in line:
            k, v = line.rstrip("\n").split("=", 1)
            d.setdefault(k, v)
    return d

groups = {}
for f in sorted(os.listdir(res)):
    key, run = f.rsplit(".", 1)
    groups.setdefault(key, []).append(load(f))

def med(runs, key):
    vals = []
    for r in runs:
        try:
            vals.append(float(r[key]))
        except (KeyError, ValueError):
            pass
    return statistics.median(vals) if vals else None

def fmt(v, f="%.1f"):
    return "–" if v is None else f % v

def status(runs):
    ok = [r for r in runs if r.get("status") == "ok"]
    bad = [r for r in runs if r.get("status") != "ok"]
    if not ok:
        r = bad[0] if bad else {}
        return ok, "%s: %s" % (r.get("status", "?"), r.get("reason", "?").replace("|", "\\|"))
    note = "ok"
    if bad:
        note += " (%d of %d runs %s: %s)" % (len(bad), len(runs), bad[0].get("status"), bad[0].get("reason", "?").replace("|", "\\|"))
    return ok, note

up_name = {"mariadb": "MariaDB 10.11", "mysql": "MySQL 9.7"}
bins = [b for b in facts.get("bins", "").split(",") if b]
out = ["# Ferry incremental-replication benchmark", ""]
targets = []

if any(k.startswith("catchup.") for k in groups):
    out += ["## Catch-up (backlog written while Ferry is stopped)", "",
            "| upstream | backlog | row changes | binlog MiB | applier | relay | workers | wall s | rows/s | speed × ceiling | applier CPU s | peak RSS MiB | downstream CPU s (busiest thread) | downstream row-lock waits (s) | upstream CPU s | machine busy CPU s (other) | status |",
            "|---|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    pairs = []
    for k in groups:
        if k.startswith("catchup."):
            _, kind, b, _ = k.split(".", 3)
            if (kind, b) not in pairs:
                pairs.append((kind, b))
    order = {"mariadb": 0, "mysql": 1, "insert": 0, "mixed": 1}
    pairs.sort(key=lambda p: (order[p[0]], order[p[1]]))
    for kind, b in pairs:
        changes = int(open(os.path.join(bl, "%s.%s.changes" % (kind, b))).read().strip() or 0)
        mib = open(os.path.join(bl, "%s.%s.mib" % (kind, b))).read().strip()
        ceil_ok, _ = status(groups.get("catchup.%s.%s.ceiling" % (kind, b), []))
        ceil = med(ceil_ok, "wall")
        def app_key(a):
            if a == "ceiling":
                return (0, 0, 0, 0)
            p = a.split("-")
            label = "-".join(p[3:])
            return (1, int(p[1][1:]), -int(p[2][1:]), bins.index(label) if label in bins else 99)
        apps = sorted({k.split(".")[3] for k in groups if k.startswith("catchup.%s.%s." % (kind, b))}, key=app_key)
        for app in apps:
            runs = groups["catchup.%s.%s.%s" % (kind, b, app)]
            ok, note = status(runs)
            relay = "–" if app == "ceiling" else ("on" if app.split("-")[1] == "r1" else "off")
            wk = "1 (serial)" if app == "ceiling" else app.split("-")[2][1:]
            if app == "ceiling":
                name = "`mariadb-binlog \\| mariadb`" if kind == "mariadb" else "`mysqlbinlog \\| sed \\| mariadb`"
            else:
                name = "**Ferry**" + (" `%s`" % "-".join(app.split("-")[3:]) if len(app.split("-")) > 3 else "")
            if not ok:
                out.append("| %s | %s | %d | %s | %s | %s | %s | – | – | – | – | – | – | – | – | – | %s |" % (
                    up_name[kind], b, changes, mib, name, relay, wk, note))
                if app != "ceiling":
                    targets.append("catch-up %s %s relay %s, %s workers: %s" % (up_name[kind], b, relay, wk, note))
                continue
            w = med(ok, "wall")
            speed = (ceil / w) if (ceil and w) else None
            cpu = med(ok, "tool_cpu") if app == "ceiling" else med(ok, "ferry_cpu")
            other = None
            if med(ok, "machine_busy") is not None:
                other = med(ok, "machine_busy") - sum(x or 0 for x in (cpu, med(ok, "down_cpu"), med(ok, "up_cpu")))
            lw = med(ok, "lock_waits")
            lws = "–" if lw is None else "%d (%.1f)" % (lw, (med(ok, "lock_ms") or 0) / 1000.0)
            out.append("| %s | %s | %d | %s | %s | %s | %s | %.2f | %.0f | %s | %s | %s | %s (%s) | %s | %s | %s (%s) | %s |" % (
                up_name[kind], b, changes, mib, name, relay, wk, w, changes / w,
                fmt(speed, "%.2f×") if app != "ceiling" else "1.00×",
                fmt(cpu), fmt(None if med(ok, "rss_kb") is None else med(ok, "rss_kb") / 1024),
                fmt(med(ok, "down_cpu")), fmt(med(ok, "down_max_thread")), lws, fmt(med(ok, "up_cpu")),
                fmt(med(ok, "machine_busy")), fmt(other), note))
            if app != "ceiling":
                goal = 1.5 if b == "insert" else 2.0
                rss = med(ok, "rss_kb") / 1024
                vs = ("no ceiling run (CEILING=0)" if speed is None else
                      "%.2f× the direct replay (target ≥ %.1f×: %s)" % (speed, goal, "met" if speed >= goal else "MISSED"))
                targets.append("catch-up %s %s relay %s, %s workers%s: %s; ferryd %.1f µs per row change; peak RSS %.0f MiB (target < 512 MB: %s)" % (
                    up_name[kind], b, relay, wk,
                    " (%s)" % "-".join(app.split("-")[3:]) if len(app.split("-")) > 3 else "",
                    vs, 1e6 * (cpu or 0) / changes if changes else 0,
                    rss, "met" if rss * 1048576 < 512e6 else "MISSED"))
    out += ["", "applier CPU s: for the ceiling the decoder (+ sed) and the client; for Ferry `ferryd`. "
            "Ferry's clock runs from `operate-source create` until `query-status` shows the backlog's end applied. "
            "machine busy = all CPU time used on the machine during the run (2 cores: at most 2 × wall); other = busy − applier − downstream − upstream (other processes on the host).", ""]

sk = [k for k in groups if k.startswith("steady.")]
if sk:
    out += ["## Steady state (sysbench on the upstream while Ferry replicates)", "",
            "| upstream | sysbench test | rate limit | relay | workers | upstream txn/s | upstream rows/s | applied rows/s | lag p50 / p99 / max s (heartbeat) | secondsBehindMaster p50 / p99 / max | drain s | ferryd CPU % | downstream CPU % | upstream CPU % | machine busy % | downstream row-lock waits (s) | peak RSS MiB | status |",
            "|---|---|---|---|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    keys = []
    for k in groups:
        if k.startswith("steady."):
            _, kind, test, rw = k.split(".", 3)
            r, w, q = rw.split("-")
            keys.append((kind, test, int(r[1:]), int(w[1:]), q[1:], k))
    order = {"mariadb": 0, "mysql": 1}
    def qkey(q):
        return (0, 0) if q == "0" else ((1, int(q[:-3])) if q.endswith("pct") else (2, int(q)))
    keys.sort(key=lambda x: (order[x[0]], x[1], qkey(x[4]), x[2], -x[3]))
    for kind, test, relay, wk, q, k in keys:
        ok, note = status(groups[k])
        rl = "on" if relay == 1 else "off"
        rate = "none" if q == "0" else ("%s %%" % q[:-3] if q.endswith("pct") else "%s txn/s" % q)
        if ok and q != "0":
            rate += " (%s txn/s)" % ok[0].get("sb_rate", "?")
        if not ok:
            out.append("| %s | %s | %s | %s | %d | – | – | – | – | – | – | – | – | – | – | – | – | %s |" % (up_name[kind], test, rate, rl, wk, note))
            targets.append("steady %s %s (rate limit %s) relay %s, %d workers: %s" % (up_name[kind], test, rate, rl, wk, note))
            continue
        wall, win = med(ok, "wall"), med(ok, "window")
        pc = lambda key: None if med(ok, key) is None else 100.0 * med(ok, key) / win
        lp99 = med(ok, "lag_p99")
        rss = med(ok, "rss_kb") / 1024
        lw = med(ok, "lock_waits")
        lws = "–" if lw is None else "%d (%.1f)" % (lw, (med(ok, "lock_ms") or 0) / 1000.0)
        out.append("| %s | %s | %s | %s | %d | %.0f | %.0f | %.0f | %s / %s / %s | %s / %s / %s | %.1f | %s | %s | %s | %s | %s | %s | %s |" % (
            up_name[kind], test, rate, rl, wk, med(ok, "sb_txns") / wall, med(ok, "sb_writes") / wall,
            med(ok, "applied_rows") / win,
            fmt(med(ok, "lag_p50"), "%.3f"), fmt(lp99, "%.3f"), fmt(med(ok, "lag_max"), "%.3f"),
            fmt(med(ok, "sbm_p50"), "%.0f"), fmt(med(ok, "sbm_p99"), "%.0f"), fmt(med(ok, "sbm_max"), "%.0f"),
            med(ok, "drain"), fmt(pc("ferry_cpu"), "%.0f"), fmt(pc("down_cpu"), "%.0f"), fmt(pc("up_cpu"), "%.0f"),
            fmt(pc("machine_busy"), "%.0f"), lws, fmt(rss), note))
        targets.append("steady %s %s (rate limit %s) relay %s, %d workers: lag p99 %.3f s (target < 1 s: %s); peak RSS %.0f MiB (target < 512 MB: %s)" % (
            up_name[kind], test, rate, rl, wk, lp99 if lp99 is not None else float("nan"),
            "met" if lp99 is not None and lp99 < 1 else "MISSED", rss, "met" if rss * 1048576 < 512e6 else "MISSED"))
    out += ["", "upstream rows/s = sysbench's write statements / run time; applied rows/s = Ferry's totalRows delta / (run + drain); "
            "drain = time from the end of sysbench until Ferry had applied the upstream's last position; "
            "CPU %% = CPU seconds / (run + drain) × 100 (one core = 100 %%, the machine has %s cores)." % facts["nproc"], ""]

out += ["## Against the targets", ""] + ["- " + t for t in targets] + [""]
out += ["Machine and setup:", ""]
for k in ("date", "nproc", "cpu", "ram", "kernel", "fs", "loadavg", "mariadb", "mysql", "sysbench", "ferryd",
          "tables", "rows", "txn_rows", "mix", "workers", "batch", "threads", "seconds", "sb_table_size", "sb_rate",
          "buffer_pool", "redo", "runs", "bin_dirs"):
    out.append("- %s: %s" % (k, facts.get(k, "?")))
out.append("")
text = "\n".join(out) + "\n"
open(outpath, "w").write(text)
sys.stdout.write(text)
PYEOF
log "results written to $WORKDIR/results.md (per-run values in $RES, logs in $LOGS)"
if [ "$EXIT_FAILED" = 1 ]; then
    log "some runs FAILED (see the status column); exit status 2"
    exit 2
fi
