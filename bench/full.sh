#!/usr/bin/env bash
# bench/full.sh - one-command benchmark of the full (dump + load) phase.
#
# Generates TABLES x ROWS sysbench-style rows, loads them into a MariaDB 10.11
# upstream (and a MySQL 9.7 upstream), and measures, side by side in the same
# run against one MariaDB 10.11 downstream:
#   loaddata     4 parallel LOAD DATA INFILE sessions from local TSV files
#                (the downstream's ingest ceiling)
#   mydumper     mydumper 0.10 + myloader (Debian's package), staging on disk
#   dump         mariadb-dump --single-transaction | mariadb
#   ferry        ferryd full task, MariaDB -> MariaDB
#   ferry-mysql  ferryd full task, MySQL 9.7 -> MariaDB
# Prints a markdown table and writes it to $WORKDIR/results.md.
# Run as root.  See bench/README.md for the knobs and the columns.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(dirname "$HERE")
DBS=${DBS_DIR:-$(cd "$HERE/../../shared/dbs" 2>/dev/null && pwd -P || echo "$HERE/../../shared/dbs")}

TABLES=${TABLES:-4}
ROWS=${ROWS:-1000000}
RUNS=${RUNS:-1}
THREADS=${THREADS:-4}
BASE_PORT=${BASE_PORT:-23306}
WORKDIR=${WORKDIR:-/var/tmp/ferry-bench}
FERRY_BIN_DIR=${FERRY_BIN_DIR:-$REPO/target/release}
SKIP_MYSQL=${SKIP_MYSQL:-0}
NO_BUILD=${NO_BUILD:-0}
ONLY=${ONLY:-loaddata,mydumper,dump,ferry,ferry-mysql}
MYDUMPER_ROWS=${MYDUMPER_ROWS:-100000}
FERRY_TIMEOUT=${FERRY_TIMEOUT:-3600}
KEEP_UPSTREAM=${KEEP_UPSTREAM:-1}
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
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
CLK_TCK=$(getconf CLK_TCK)

log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }
die() { echo "[bench] ERROR: $*" >&2; exit 1; }
now_ns() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
# utime+stime of a process in seconds (0 if it is gone)
cpu_s() {
    local s
    s=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
    awk -v t="$CLK_TCK" '{ printf "%.2f", ($12 + $13) / t }' <<<"$s"
}
fsub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

[ "$(id -u)" = 0 ] || die "run as root (installs packages, starts servers)"
[[ "$TABLES" =~ ^[1-9][0-9]*$ && "$ROWS" =~ ^[1-9][0-9]*$ && "$RUNS" =~ ^[1-9][0-9]*$ ]] \
    || die "TABLES, ROWS and RUNS must be positive integers"

# --- which tools -------------------------------------------------------------
declare -A WANT=()
IFS=, read -r -a _only <<<"$ONLY"
for t in "${_only[@]}"; do
    t=${t// /}
    case "$t" in
        loaddata|mydumper|dump|ferry|ferry-mysql) WANT[$t]=1 ;;
        "") ;;
        *) die "unknown tool '$t' in ONLY (known: loaddata,mydumper,dump,ferry,ferry-mysql)" ;;
    esac
done
[ "$SKIP_MYSQL" = 1 ] && unset 'WANT[ferry-mysql]'
ORDER=()
for t in loaddata mydumper dump ferry ferry-mysql; do [ -n "${WANT[$t]:-}" ] && ORDER+=("$t"); done
[ ${#ORDER[@]} -gt 0 ] || die "nothing to run (ONLY=$ONLY SKIP_MYSQL=$SKIP_MYSQL)"
NEED_FERRY=0; { [ -n "${WANT[ferry]:-}" ] || [ -n "${WANT[ferry-mysql]:-}" ]; } && NEED_FERRY=1
NEED_MYSQL=0; [ -n "${WANT[ferry-mysql]:-}" ] && NEED_MYSQL=1
log "tools: ${ORDER[*]}; ${TABLES} tables x ${ROWS} rows, runs=$RUNS, threads=$THREADS, workdir=$WORKDIR"

# --- install -------------------------------------------------------------------
if ! command -v mydumper >/dev/null || ! command -v myloader >/dev/null \
    || ! command -v sysbench >/dev/null || [ ! -x /usr/bin/time ]; then
    log "installing mydumper sysbench time (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends mydumper sysbench time >&2 \
        || { apt-get update >&2 && apt-get install -y --no-install-recommends mydumper sysbench time >&2; } \
        || die "apt-get install mydumper sysbench time failed"
fi
[ -x "$DBS/install.sh" ] || die "$DBS/install.sh not found (set DBS_DIR)"
"$DBS/install.sh" mariadb >&2 || die "installing MariaDB failed"
[ "$NEED_MYSQL" = 1 ] && { "$DBS/install.sh" mysql >&2 || die "installing MySQL failed"; }

FERRYD=$FERRY_BIN_DIR/ferryd
FERRYCTL=$FERRY_BIN_DIR/ferryctl
if [ "$NEED_FERRY" = 1 ]; then
    if [ "$NO_BUILD" != 1 ] && [ "$FERRY_BIN_DIR" = "$REPO/target/release" ]; then
        log "building Ferry: cargo build --release -p ferry-daemon"
        command -v cargo >/dev/null || export PATH=$HOME/.cargo/bin:$PATH
        (cd "$REPO" && cargo build --release -p ferry-daemon >&2) \
            || die "cargo build --release -p ferry-daemon failed (run with ONLY=loaddata,mydumper,dump to bench the others)"
    fi
    [ -x "$FERRYD" ] && [ -x "$FERRYCTL" ] \
        || die "Ferry binaries missing: $FERRYD and/or $FERRYCTL (build them, set FERRY_BIN_DIR, or leave ferry out of ONLY)"
fi

mkdir -p "$WORKDIR" "$SRV" "$LOGS"
rm -rf "$RES"; mkdir -p "$RES"

# --- servers -----------------------------------------------------------------
md() { local p=$1; shift; mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$p" -uroot "$@"; }
my() { local p=$1; shift; "$MYSQL_CLIENT" --no-defaults --protocol=tcp -h127.0.0.1 -P"$p" -uroot "$@"; }
mdq() { md "$1" -N -B -e "$2"; }
myq() { my "$1" -N -B -e "$2"; }

FERRYD_PIDFILE=$WORKDIR/ferryd.pid
STARTED=()
cleanup() {
    local rc=$?
    set +e
    if [ -s "$FERRYD_PIDFILE" ]; then
        local fp; fp=$(cat "$FERRYD_PIDFILE")
        if kill -0 "$fp" 2>/dev/null && tr '\0' ' ' <"/proc/$fp/cmdline" 2>/dev/null | grep -qF "$FERRYD"; then
            log "stopping ferryd pid $fp"
            kill -TERM "$fp"; for _ in $(seq 100); do kill -0 "$fp" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$fp" 2>/dev/null
        fi
        rm -f "$FERRYD_PIDFILE"
    fi
    for d in "${STARTED[@]}"; do
        if [ "$d" = "$DIR_DOWN" ] || [ "$KEEP_UPSTREAM" != 1 ]; then
            "$DBS/stop.sh" "$d" --remove >&2
        else
            "$DBS/stop.sh" "$d" >&2
        fi
    done
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_srv() { # kind port dir role -> prints pid (the caller lists dir in STARTED first)
    local extra
    if [ "$1" = mysql ]; then extra="innodb_redo_log_capacity=$DB_REDO"; else extra="innodb_log_file_size=$DB_REDO"; fi
    [ -z "${DB_EXTRA_CNF:-}" ] || extra+=$'\n'"$DB_EXTRA_CNF"
    DB_EXTRA_CNF=$extra "$DBS/start.sh" "$1" "$2" "$3" "$4"
}

# leftovers of an interrupted run (stop.sh only signals a server of that datadir)
for d in "$DIR_MD_UP" "$DIR_DOWN" "$DIR_MY_UP"; do [ -d "$d" ] && "$DBS/stop.sh" "$d" >&2; done
rm -rf "$DIR_DOWN"

DDL() { # table name
    echo "CREATE TABLE $1 (id INT NOT NULL AUTO_INCREMENT, k INT NOT NULL DEFAULT 0,
      c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '',
      PRIMARY KEY (id), KEY k_1 (k)) ENGINE=InnoDB"
}
create_schema_sql() {
    echo "CREATE DATABASE sbtest;"
    for i in $(seq 1 "$TABLES"); do echo "$(DDL "sbtest.sbtest$i");"; done
}

# identifies the data set an upstream holds (generator + schema)
SCHEMA_SIG=$({ cat "$HERE/gen_sbtest.py"; create_schema_sql; } | md5sum | cut -c1-8)

# --- data files ----------------------------------------------------------------
DATA=$WORKDIR/data/r${ROWS}-$(md5sum <"$HERE/gen_sbtest.py" | cut -c1-8)
mkdir -p "$DATA"
t0=$(now_ns)
todo=()
for i in $(seq 1 "$TABLES"); do [ -s "$DATA/sbtest$i.tsv" ] || todo+=("$i"); done
if [ ${#todo[@]} -gt 0 ]; then
    log "generating ${#todo[@]} TSV file(s) of $ROWS rows into $DATA"
    printf '%s\n' "${todo[@]}" | xargs -P "$(nproc)" -I{} "$PY" "$HERE/gen_sbtest.py" "$DATA/sbtest{}.tsv" "$ROWS" {} \
        || die "data generation failed"
    log "generated in $(secs "$t0" "$(now_ns)") s"
fi
TSV_BYTES=0
for i in $(seq 1 "$TABLES"); do TSV_BYTES=$((TSV_BYTES + $(stat -c %s "$DATA/sbtest$i.tsv"))); done
[ "$TSV_BYTES" -gt 0 ] || die "no data files"
TSV_MIB=$(awk -v b="$TSV_BYTES" 'BEGIN { printf "%.1f", b / 1048576 }')
TOTAL_ROWS=$((TABLES * ROWS))

# parallel LOAD DATA of the TSV files into sbtest.sbtestN on a server
load_files() { # kind port
    local bin=mariadb
    [ "$1" = mysql ] && bin=$MYSQL_CLIENT
    seq 1 "$TABLES" | xargs -P "$THREADS" -I{} "$bin" --no-defaults --protocol=tcp -h127.0.0.1 -P"$2" -uroot \
        -e "LOAD DATA INFILE '$DATA/sbtest{}.tsv' INTO TABLE sbtest.sbtest{}"
}

# upstream: reused across invocations when it holds exactly this data set
prepare_upstream() { # kind port dir pid-variable
    local kind=$1 port=$2 dir=$3 pidvar=$4 marker="$3.loaded" want="$TABLES $ROWS $SCHEMA_SIG" cli=md q=mdq pid
    [ "$kind" = mysql ] && { cli=my; q=myq; }
    if [ -s "$marker" ] && [ "$(cat "$marker")" = "$want" ] && [ -d "$dir" ]; then
        pid=$(start_srv "$kind" "$port" "$dir" upstream) || die "starting $kind upstream failed"
        log "$kind upstream on $port reused (already holds the data set)"
    else
        rm -f "$marker"; rm -rf "$dir"
        pid=$(start_srv "$kind" "$port" "$dir" upstream) || die "starting $kind upstream failed"
        log "loading $TOTAL_ROWS rows into the $kind upstream on $port"
        local t=$(now_ns)
        $cli "$port" -e "$(create_schema_sql)" || die "creating the schema on the $kind upstream failed"
        load_files "$kind" "$port" || die "LOAD DATA into the $kind upstream failed"
        $cli "$port" -e "$(for i in $(seq 1 "$TABLES"); do echo "ANALYZE TABLE sbtest.sbtest$i;"; done)" >/dev/null
        log "$kind upstream loaded in $(secs "$t" "$(now_ns)") s"
        echo "$want" >"$marker"
    fi
    local n
    for i in $(seq 1 "$TABLES"); do
        n=$($q "$port" "SELECT COUNT(*) FROM sbtest.sbtest$i")
        [ "$n" = "$ROWS" ] || { rm -f "$marker"; die "$kind upstream sbtest$i has $n rows, expected $ROWS"; }
    done
    printf -v "$pidvar" '%s' "$pid"
}

# Flush the dirty pages of a server so that each tool starts on a quiet server:
# innodb_max_dirty_pages_pct=0 with a high io_capacity for the duration of the
# flush only (the defaults, 200/2000 IOPS, would take minutes for 1 GB), then
# the previous values are put back.
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

PID_MD_UP= PID_MY_UP=
STARTED+=("$DIR_MD_UP")
prepare_upstream mariadb "$PORT_MD_UP" "$DIR_MD_UP" PID_MD_UP
if [ "$NEED_MYSQL" = 1 ]; then
    STARTED+=("$DIR_MY_UP")
    prepare_upstream mysql "$PORT_MY_UP" "$DIR_MY_UP" PID_MY_UP
fi
STARTED+=("$DIR_DOWN")
PID_DOWN=$(start_srv mariadb "$PORT_DOWN" "$DIR_DOWN" downstream) || die "starting the downstream failed"
quiesce mdq "$PORT_MD_UP"
[ -n "$PID_MY_UP" ] && quiesce myq "$PORT_MY_UP"

# reference values of the upstreams
declare -A UP_CKSUM=() UP_CRC=()
crc_sql() { echo "SELECT COUNT(*), COALESCE(SUM(CRC32(CONCAT_WS('#',id,k,c,pad))),0) FROM sbtest.$1"; }
for i in $(seq 1 "$TABLES"); do
    UP_CKSUM[$i]=$(mdq "$PORT_MD_UP" "CHECKSUM TABLE sbtest.sbtest$i" | awk '{print $2}')
    [ -n "$PID_MY_UP" ] && UP_CRC[$i]=$(myq "$PORT_MY_UP" "$(crc_sql "sbtest$i")")
done
UP_DATA_MIB=$(mdq "$PORT_MD_UP" "SELECT ROUND(SUM(DATA_LENGTH)/1048576,1), ROUND(SUM(INDEX_LENGTH)/1048576,1)
    FROM information_schema.TABLES WHERE TABLE_SCHEMA='sbtest'")

# --- per-tool helpers ----------------------------------------------------------
reset_downstream() { # mode: none | db | tables
    local dbs
    dbs=$(mdq "$PORT_DOWN" "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA
        WHERE SCHEMA_NAME NOT IN ('mysql','information_schema','performance_schema','sys')")
    for d in $dbs; do mdq "$PORT_DOWN" "DROP DATABASE \`$d\`"; done
    case "$1" in
        db) mdq "$PORT_DOWN" "CREATE DATABASE sbtest" ;;
        tables) md "$PORT_DOWN" -e "$(create_schema_sql)" ;;
    esac
    quiesce mdq "$PORT_DOWN"
}

# verify the downstream: row counts, and CHECKSUM TABLE (MariaDB upstream) or a
# CRC32 aggregate (MySQL upstream).  Prints a reason and returns 1 on mismatch.
verify() { # upstream kind
    local i n got
    for i in $(seq 1 "$TABLES"); do
        n=$(mdq "$PORT_DOWN" "SELECT COUNT(*) FROM sbtest.sbtest$i" 2>&1) || { echo "sbtest$i: $n"; return 1; }
        [ "$n" = "$ROWS" ] || { echo "sbtest$i has $n rows, expected $ROWS"; return 1; }
        if [ "$1" = mysql ]; then
            got=$(mdq "$PORT_DOWN" "$(crc_sql "sbtest$i")")
            [ "$got" = "${UP_CRC[$i]}" ] || { echo "sbtest$i CRC32 aggregate differs: up '${UP_CRC[$i]}' down '$got'"; return 1; }
        else
            got=$(mdq "$PORT_DOWN" "CHECKSUM TABLE sbtest.sbtest$i" | awk '{print $2}')
            [ "$got" = "${UP_CKSUM[$i]}" ] || { echo "sbtest$i CHECKSUM TABLE differs: up ${UP_CKSUM[$i]} down $got"; return 1; }
        fi
    done
}

# /usr/bin/time output files -> "sum_rss_kb max_rss_kb cpu_s"
time_sum() { awk '{ s += $1; if ($1 > m) m = $1; c += $2 + $3 } END { printf "%d %d %.2f\n", s, m, c }' "$@"; }
TIMEF='%M %U %S'

# each run_* writes key=value lines to $OUT and returns non-zero on failure
run_loaddata() {
    reset_downstream tables
    local c0 t0 t1 i
    c0=$(cpu_s "$PID_DOWN"); t0=$(now_ns)
    for i in $(seq 1 "$TABLES"); do echo "$i"; done | xargs -P "$THREADS" -I{} \
        /usr/bin/time -f "$TIMEF" -o "$W/time.{}" mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$PORT_DOWN" -uroot \
        -e "LOAD DATA INFILE '$DATA/sbtest{}.tsv' INTO TABLE sbtest.sbtest{}" >"$W/log" 2>&1 \
        || { echo "reason=LOAD DATA failed: $(tail -n 3 "$W/log" | tr '\n' ' ')" >>"$OUT"; return 1; }
    t1=$(now_ns)
    read -r rss _ cpu < <(time_sum "$W"/time.*)
    echo "wall=$(secs "$t0" "$t1") rss_kb=$rss tool_cpu=$cpu down_cpu=$(fsub "$c0" "$(cpu_s "$PID_DOWN")")" | tr ' ' '\n' >>"$OUT"
    echo "up=mariadb" >>"$OUT"
}

run_mydumper() {
    reset_downstream none
    local dir=$W/dump c0 u0 t0 t1 t2 staging
    rm -rf "$dir"
    c0=$(cpu_s "$PID_DOWN"); u0=$(cpu_s "$PID_MD_UP"); t0=$(now_ns)
    /usr/bin/time -f "$TIMEF" -o "$W/time.dump" mydumper -h 127.0.0.1 -P "$PORT_MD_UP" -u root -B sbtest \
        -t "$THREADS" -o "$dir" --rows "$MYDUMPER_ROWS" -v 2 >"$W/mydumper.log" 2>&1 \
        || { echo "reason=mydumper failed: $(tail -n 3 "$W/mydumper.log" | tr '\n' ' ')" >>"$OUT"; return 1; }
    t1=$(now_ns)
    staging=$(du -sb "$dir" | awk '{ printf "%.1f", $1 / 1048576 }')
    /usr/bin/time -f "$TIMEF" -o "$W/time.load" myloader -h 127.0.0.1 -P "$PORT_DOWN" -u root -d "$dir" \
        -t "$THREADS" -v 2 >"$W/myloader.log" 2>&1 \
        || { echo "reason=myloader failed: $(tail -n 3 "$W/myloader.log" | tr '\n' ' ')" >>"$OUT"; return 1; }
    t2=$(now_ns)
    rm -rf "$dir"
    read -r _ rss _ < <(time_sum "$W/time.dump" "$W/time.load")   # sequential: max
    read -r _ _ cpu < <(time_sum "$W/time.dump" "$W/time.load")
    { echo "wall=$(secs "$t0" "$t2")"; echo "dump=$(secs "$t0" "$t1")"; echo "load=$(secs "$t1" "$t2")"
      echo "rss_kb=$rss"; echo "tool_cpu=$cpu"; echo "staging_mib=$staging"
      echo "up_cpu=$(fsub "$u0" "$(cpu_s "$PID_MD_UP")")"; echo "down_cpu=$(fsub "$c0" "$(cpu_s "$PID_DOWN")")"
      echo "up=mariadb"; } >>"$OUT"
}

run_dump() {
    reset_downstream db
    local c0 u0 t0 t1
    c0=$(cpu_s "$PID_DOWN"); u0=$(cpu_s "$PID_MD_UP"); t0=$(now_ns)
    /usr/bin/time -f "$TIMEF" -o "$W/time.dump" mariadb-dump --no-defaults --protocol=tcp -h127.0.0.1 -P"$PORT_MD_UP" -uroot \
        --single-transaction sbtest 2>"$W/dump.err" \
      | /usr/bin/time -f "$TIMEF" -o "$W/time.load" mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$PORT_DOWN" -uroot \
        sbtest >"$W/load.log" 2>&1 \
      || { echo "reason=mariadb-dump | mariadb failed: $(tail -n 2 "$W/dump.err" "$W/load.log" | tr '\n' ' ')" >>"$OUT"; return 1; }
    t1=$(now_ns)
    read -r rss _ cpu < <(time_sum "$W/time.dump" "$W/time.load")   # concurrent: sum
    { echo "wall=$(secs "$t0" "$t1")"; echo "rss_kb=$rss"; echo "tool_cpu=$cpu"
      echo "up_cpu=$(fsub "$u0" "$(cpu_s "$PID_MD_UP")")"; echo "down_cpu=$(fsub "$c0" "$(cpu_s "$PID_DOWN")")"
      echo "up=mariadb"; } >>"$OUT"
}

ferryctl() { "$FERRYCTL" --master-addr "127.0.0.1:$PORT_FERRY" "$@"; }

stop_ferryd() {
    local fp=$1
    kill -TERM "$fp" 2>/dev/null || return 0
    for _ in $(seq 300); do kill -0 "$fp" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$fp" 2>/dev/null && { log "ferryd did not exit 30 s after SIGTERM; SIGKILL"; kill -KILL "$fp"; }
    wait "$fp" 2>/dev/null || true
    rm -f "$FERRYD_PIDFILE"
}

run_ferry_on() { # upstream kind, port, server pid
    local kind=$1 up_port=$2 up_pid=$3
    reset_downstream none
    local dd=$W/ferry-data fp c0 u0 f0 t0 t1 st stage out hwm deadline
    rm -rf "$dd"; mkdir -p "$dd"
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT_FERRY") 2>/dev/null; then
        echo "reason=port $PORT_FERRY already in use" >>"$OUT"; return 1
    fi
    "$FERRYD" --master-addr "127.0.0.1:$PORT_FERRY" --data-dir "$dd" --log-level "${FERRY_LOG_LEVEL:-info}" >"$W/ferryd.log" 2>&1 &
    fp=$!
    echo "$fp" >"$FERRYD_PIDFILE"
    trap 'stop_ferryd '"$fp" EXIT
    deadline=$(( $(date +%s) + 30 ))
    until (exec 3<>"/dev/tcp/127.0.0.1/$PORT_FERRY") 2>/dev/null; do
        kill -0 "$fp" 2>/dev/null || { echo "reason=ferryd exited at start: $(tail -n 3 "$W/ferryd.log" | tr '\n' ' ')" >>"$OUT"; return 1; }
        [ "$(date +%s)" -lt "$deadline" ] || { echo "reason=ferryd did not listen on $PORT_FERRY within 30 s" >>"$OUT"; return 1; }
        sleep 0.1
    done
    cat >"$W/source.yaml" <<EOF
source-id: "bench-up"
from:
  host: "127.0.0.1"
  port: $up_port
  user: "root"
  password: ""
EOF
    cat >"$W/task.yaml" <<EOF
name: "bench"
task-mode: "full"
target-database:
  host: "127.0.0.1"
  port: $PORT_DOWN
  user: "root"
  password: ""
block-allow-list:
  bal:
    do-dbs: ["sbtest"]
mysql-instances:
  - source-id: "bench-up"
    block-allow-list: "bal"
    mydumper-config-name: "dump"
mydumpers:
  dump:
    threads: $THREADS
    chunk-filesize: 64${FERRY_ROWS:+
    rows: $FERRY_ROWS}
    extra-args: "--consistency none"
EOF
    ferry_ok() { # rc, output: fails on rc != 0 or a JSON "result": false
        [ "$1" = 0 ] && [ "$(jq -r 'if type == "object" and has("result") then .result else true end' <<<"$2" 2>/dev/null || echo true)" != false ]
    }
    set +e; out=$(ferryctl operate-source create "$W/source.yaml" 2>&1); st=$?; set -e
    ferry_ok "$st" "$out" || { echo "reason=operate-source create failed: $(tr '\n' ' ' <<<"$out" | cut -c1-400)" >>"$OUT"; return 1; }
    c0=$(cpu_s "$PID_DOWN"); u0=$(cpu_s "$up_pid"); f0=$(cpu_s "$fp"); t0=$(now_ns)
    set +e; out=$(ferryctl start-task "$W/task.yaml" 2>&1); st=$?; set -e
    ferry_ok "$st" "$out" || { echo "reason=start-task failed: $(tr '\n' ' ' <<<"$out" | cut -c1-400)" >>"$OUT"; return 1; }
    deadline=$(( $(date +%s) + FERRY_TIMEOUT ))
    while :; do
        set +e; out=$(ferryctl query-status bench 2>&1); st=$?; set -e
        stage=$(jq -r '.sources[0].subTaskStatus[0].stage // empty' <<<"$out" 2>/dev/null || true)
        [ "$stage" = Finished ] && break
        if [ "$stage" = Paused ]; then
            echo "reason=task Paused: $(jq -c '.sources[0].subTaskStatus[0].result.errors' <<<"$out" | cut -c1-600)" >>"$OUT"
            jq . <<<"$out" >&2 || echo "$out" >&2
            return 1
        fi
        kill -0 "$fp" 2>/dev/null || { echo "reason=ferryd died: $(tail -n 3 "$W/ferryd.log" | tr '\n' ' ')" >>"$OUT"; return 1; }
        [ "$(date +%s)" -lt "$deadline" ] || { echo "reason=not Finished after ${FERRY_TIMEOUT}s (stage '$stage')" >>"$OUT"; return 1; }
        sleep 0.2
    done
    t1=$(now_ns)
    hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$fp/status")
    { echo "wall=$(secs "$t0" "$t1")"; echo "rss_kb=$hwm"; echo "tool_cpu=$(fsub "$f0" "$(cpu_s "$fp")")"
      echo "up_cpu=$(fsub "$u0" "$(cpu_s "$up_pid")")"; echo "down_cpu=$(fsub "$c0" "$(cpu_s "$PID_DOWN")")"
      echo "up=$kind"; } >>"$OUT"
    stop_ferryd "$fp"
    trap - EXIT
    rm -rf "$dd"
}
run_ferry() { run_ferry_on mariadb "$PORT_MD_UP" "$PID_MD_UP"; }
run_ferry-mysql() { run_ferry_on mysql "$PORT_MY_UP" "$PID_MY_UP"; }

# --- runs ----------------------------------------------------------------------
for run in $(seq 1 "$RUNS"); do
    for tool in "${ORDER[@]}"; do
        OUT=$RES/$tool.$run
        W=$LOGS/$tool.$run
        rm -rf "$W"; mkdir -p "$W"
        : >"$OUT"
        log "run $run/$RUNS: $tool"
        set +e
        ( set -e; "run_$tool" ) 2>>"$W/stderr.log"
        rc=$?
        set -e
        if [ "$rc" = 0 ]; then
            up=$(sed -n 's/^up=//p' "$OUT")
            if why=$(verify "$up"); then
                echo "status=ok" >>"$OUT"
                log "  $tool: $(sed -n 's/^wall=//p' "$OUT") s, verified"
            else
                echo "status=FAILED" >>"$OUT"; echo "reason=wrong result: $why" >>"$OUT"
                log "  $tool: FAILED verification: $why"
            fi
        else
            echo "status=FAILED" >>"$OUT"
            grep -q '^reason=' "$OUT" || echo "reason=exit $rc: $(tail -n 3 "$W/stderr.log" | tr '\n' ' ')" >>"$OUT"
            log "  $tool: FAILED: $(sed -n 's/^reason=//p' "$OUT" | head -n1) (logs in $W)"
        fi
    done
done

# --- report --------------------------------------------------------------------
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
mydumper=$(ver mydumper --version)
mariadb_dump=$(ver mariadb-dump --version)
ferryd=$([ "$NEED_FERRY" = 1 ] && { ver "$FERRYD" --version; echo "$FERRYD"; } | paste -sd' ' || echo "not run")
tables=$TABLES
rows=$ROWS
total_rows=$TOTAL_ROWS
tsv_mib=$TSV_MIB
up_data_mib=$(awk '{print $1}' <<<"$UP_DATA_MIB")
up_index_mib=$(awk '{print $2}' <<<"$UP_DATA_MIB")
buffer_pool=$DB_BUFFER_POOL
redo=$DB_REDO
threads=$THREADS
mydumper_rows=$MYDUMPER_ROWS
runs=$RUNS
EOF
)
FACTS="$FACTS" "$PY" - "$RES" "$WORKDIR/results.md" "${ORDER[@]}" <<'PYEOF'
import os, statistics, sys
res, outpath, tools = sys.argv[1], sys.argv[2], sys.argv[3:]
facts = dict(l.split("=", 1) for l in os.environ["FACTS"].splitlines() if "=" in l)
total_rows, tsv_mib = int(facts["total_rows"]), float(facts["tsv_mib"])
names = {
    "loaddata": "LOAD DATA INFILE ×%s (ceiling)" % facts["threads"],
    "mydumper": "mydumper 0.10 + myloader",
    "dump": "mariadb-dump \\| mariadb",
    "ferry": "Ferry (MariaDB → MariaDB)",
    "ferry-mysql": "Ferry (MySQL 9.7 → MariaDB)",
}
def load(tool):
    runs = []
    for f in sorted(os.listdir(res)):
        if f.rsplit(".", 1)[0] == tool:
            d = {}
            for line in open(os.path.join(res, f)):
                if "=" in line:
                    k, v = line.rstrip("\n").split("=", 1)
                    d.setdefault(k, v)
            runs.append(d)
    return runs
def med(runs, key):
    vals = [float(r[key]) for r in runs if r.get(key) not in (None, "")]
    return statistics.median(vals) if vals else None
rows, ceiling = [], None
for t in tools:
    runs = load(t)
    ok = [r for r in runs if r.get("status") == "ok"]
    failed = [r for r in runs if r.get("status") != "ok"]
    if not ok:
        why = failed[0].get("reason", "?") if failed else "not run"
        rows.append((t, None, why.replace("|", "\\|")))
        continue
    m = {k: med(ok, k) for k in ("wall", "dump", "load", "rss_kb", "tool_cpu", "up_cpu", "down_cpu", "staging_mib")}
    if t == "loaddata":
        ceiling = m["wall"]
    note = "" if not failed else "%d of %d runs FAILED: %s" % (len(failed), len(runs), failed[0].get("reason", "?"))
    rows.append((t, m, note))
f = lambda v, fmt="%.1f": "–" if v is None else fmt % v
out = []
out.append("# Ferry full-phase benchmark")
out.append("")
out.append("%s tables × %s rows = %s rows; TSV %s MiB; MariaDB upstream DATA_LENGTH %s MiB + INDEX_LENGTH %s MiB."
           % (facts["tables"], facts["rows"], facts["total_rows"], facts["tsv_mib"], facts["up_data_mib"], facts["up_index_mib"]))
out.append("")
out.append("| tool | wall s | dump s | load s | rows/s | MiB/s | peak RSS MiB | tool CPU s | upstream CPU s | downstream CPU s | staging MiB | × ceiling | status |")
out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for t, m, note in rows:
    if m is None:
        out.append("| %s | – | – | – | – | – | – | – | – | – | – | – | FAILED: %s |" % (names[t], note))
        continue
    w = m["wall"]
    ratio = "–" if not ceiling else "%.2f" % (w / ceiling)
    out.append("| %s | %.2f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | ok%s |" % (
        names[t], w, f(m["dump"], "%.2f"), f(m["load"], "%.2f"),
        "%.0f" % (total_rows / w), "%.1f" % (tsv_mib / w),
        f(None if m["rss_kb"] is None else m["rss_kb"] / 1024), f(m["tool_cpu"]), f(m["up_cpu"]), f(m["down_cpu"]),
        f(m["staging_mib"]), ratio, (" (" + note + ")") if note else ""))
out.append("")
out.append("Machine and setup:")
out.append("")
for k in ("date", "nproc", "cpu", "ram", "kernel", "fs", "mariadb", "mysql", "mydumper", "mariadb_dump", "ferryd",
          "buffer_pool", "redo", "threads", "mydumper_rows", "runs"):
    out.append("- %s: %s" % (k, facts.get(k, "?")))
out.append("")
out.append("rows/s = total rows / wall; MiB/s = TSV bytes / wall; values are medians of the successful runs. "
           "See bench/README.md for what each column measures.")
text = "\n".join(out) + "\n"
open(outpath, "w").write(text)
sys.stdout.write(text)
PYEOF
log "results written to $WORKDIR/results.md (per-run values in $RES, logs in $LOGS)"
if grep -lq '^status=FAILED' "$RES"/*; then
    log "some runs FAILED (see the status column); exit status 2"
    exit 2
fi
