#!/usr/bin/env bash
# scripts/quickstart.sh — see Ferry migrate a small database, end to end, on this machine.
#
# As root on Debian 12, non-interactive:
#   1. scripts/install-deps.sh (build libraries, MySQL 9.7 and MariaDB 10.11 servers);
#   2. cargo build --release -p ferry-daemon (ferryd + ferryctl);
#   3. starts a MySQL 9.7 upstream (127.0.0.1:13306) and a MariaDB 10.11 downstream
#      (127.0.0.1:13307) with ../shared/dbs/start.sh, data under /var/tmp/ferry-quickstart/;
#   4. creates a sample `shop` database on the upstream (customers, orders, order_items,
#      audit_log; 23,500 rows with non-ASCII text, JSON, BIT, a generated column, a
#      composite key, a table without a key) and a `ferry` migration user on both servers;
#   5. starts ferryd in the background and writes source1.yaml / task1.yaml (DM format,
#      with ${host} / ${username} / ${password} placeholders, as in DM's guide);
#   6. ferryctl operate-source create, check-task, start-task, then polls query-status
#      until the task is Finished;
#   7. compares row counts and a CRC32 aggregate of every table upstream vs downstream.
#
# Running it again stops whatever the previous run left (scripts/quickstart-stop.sh) and
# starts from scratch. Stop everything with scripts/quickstart-stop.sh.
#
# Environment (all optional):
#   QS_DIR        state directory                    (default /var/tmp/ferry-quickstart)
#   UP_PORT       MySQL upstream port                (default 13306)
#   DOWN_PORT     MariaDB downstream port            (default 13307)
#   FERRY_ADDR    ferryd --master-addr               (default 127.0.0.1:8261)
#   QS_TIMEOUT    seconds to wait for Finished       (default 300)
#   QS_PASSWORD   password of the `ferry` users      (default Ferry-Quickstart-1)
#   DBS_DIR       the server scripts                 (default <repo>/../shared/dbs)
#   NO_DEPS=1     skip scripts/install-deps.sh
#   NO_BUILD=1    skip cargo build (target/release/ferryd and ferryctl must exist)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$here/.." && pwd -P)
DBS_DIR=${DBS_DIR:-$repo/../shared/dbs}
QS_DIR=${QS_DIR:-/var/tmp/ferry-quickstart}
UP_PORT=${UP_PORT:-13306}
DOWN_PORT=${DOWN_PORT:-13307}
FERRY_ADDR=${FERRY_ADDR:-127.0.0.1:8261}
QS_TIMEOUT=${QS_TIMEOUT:-300}
QS_PASSWORD=${QS_PASSWORD:-Ferry-Quickstart-1}
BIN=$repo/target/release
MYSQL=${MYSQL_PREFIX:-/opt/mysql-sid}/bin/mysql
MARIADB=/usr/bin/mariadb

step() { printf '\n==> %s\n' "$*"; }
die() { echo "quickstart: ERROR: $*" >&2; exit 1; }
show() { printf '$ %s\n' "$*"; }   # print a command as the user would type it

[ "$(id -u)" = 0 ] || die "run as root (it installs packages and starts database servers)"
[ -d "$DBS_DIR" ] || die "$DBS_DIR not found (set DBS_DIR to the folder with start.sh/stop.sh)"
DBS_DIR=$(cd "$DBS_DIR" && pwd -P)
case "$QS_DIR" in /*/*) ;; *) die "QS_DIR must be an absolute path below a folder, got '$QS_DIR'" ;; esac
export QS_DIR UP_PORT DOWN_PORT FERRY_ADDR DBS_DIR

# ---------------------------------------------------------------- 0. previous run
step "stopping what a previous quickstart left running"
"$here/quickstart-stop.sh" --remove

# ---------------------------------------------------------------- 1. dependencies
if [ "${NO_DEPS:-0}" != 1 ]; then
    step "scripts/install-deps.sh"
    "$here/install-deps.sh"
fi

# ---------------------------------------------------------------- 2. build
if [ "${NO_BUILD:-0}" != 1 ]; then
    step "cargo build --release -p ferry-daemon"
    command -v cargo >/dev/null || die "cargo not found: install Rust (https://rustup.rs) first"
    (cd "$repo" && cargo build --release -p ferry-daemon)
fi
[ -x "$BIN/ferryd" ] && [ -x "$BIN/ferryctl" ] || die "$BIN/ferryd or ferryctl missing"

# ---------------------------------------------------------------- 3. servers
for p in "$UP_PORT" "$DOWN_PORT" "${FERRY_ADDR##*:}"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
        die "port $p on 127.0.0.1 is already in use (set UP_PORT / DOWN_PORT / FERRY_ADDR)"
    fi
done
mkdir -p "$QS_DIR"
touch "$QS_DIR/.ferry-quickstart"   # marks the folder as ours for quickstart-stop.sh --remove

step "starting MySQL 9.7 upstream on 127.0.0.1:$UP_PORT"
up_pid=$("$DBS_DIR/start.sh" mysql "$UP_PORT" "$QS_DIR/mysql-up" upstream)
echo "MySQL pid $up_pid, datadir $QS_DIR/mysql-up"
step "starting MariaDB 10.11 downstream on 127.0.0.1:$DOWN_PORT"
down_pid=$("$DBS_DIR/start.sh" mariadb "$DOWN_PORT" "$QS_DIR/mariadb-down" downstream)
echo "MariaDB pid $down_pid, datadir $QS_DIR/mariadb-down"

up_sql() { "$MYSQL" --no-defaults --protocol=tcp -h127.0.0.1 -P"$UP_PORT" -uroot "$@"; }
down_sql() { "$MARIADB" --no-defaults --protocol=tcp -h127.0.0.1 -P"$DOWN_PORT" -uroot "$@"; }

# ---------------------------------------------------------------- 4. sample data + users
step "creating the sample database \`shop\` on the upstream"
up_sql <<SQL
SET SESSION cte_max_recursion_depth = 100000;
CREATE DATABASE shop DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci;
USE shop;

CREATE TABLE customers (
  id         INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name       VARCHAR(100) NOT NULL,
  email      VARCHAR(191) NOT NULL,
  city       VARCHAR(64)  NOT NULL,
  vip        BIT(1)       NOT NULL DEFAULT b'0',
  created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uk_email (email)
);
CREATE TABLE orders (
  id              BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  customer_id     INT UNSIGNED NOT NULL,
  status          ENUM('new','paid','shipped','cancelled') NOT NULL,
  amount          DECIMAL(12,2) NOT NULL,
  amount_with_vat DECIMAL(12,2) GENERATED ALWAYS AS (ROUND(amount * 1.2, 2)) STORED,
  details         JSON,
  note            TEXT,
  placed_at       DATETIME(6) NOT NULL,
  KEY idx_customer (customer_id),
  CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id)
);
CREATE TABLE order_items (
  order_id BIGINT UNSIGNED  NOT NULL,
  line_no  SMALLINT UNSIGNED NOT NULL,
  sku      CHAR(12) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  qty      INT NOT NULL,
  price    DECIMAL(10,2) NOT NULL,
  PRIMARY KEY (order_id, line_no),
  CONSTRAINT fk_items_order FOREIGN KEY (order_id) REFERENCES orders (id)
);
-- no primary key, no unique key: copied as one chunk (check-task warns about it)
CREATE TABLE audit_log (
  at      DATETIME NOT NULL,
  actor   VARCHAR(32) NOT NULL,
  message VARCHAR(255)
);

INSERT INTO customers (name, email, city, vip, created_at)
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 2000)
SELECT CONCAT(ELT(1 + n % 6, 'Zoë', 'José', 'Łukasz', '李雷', 'Søren', 'Ахмед'), ' ',
              ELT(1 + n % 5, 'Müller', 'García', 'Dvořák', '王', 'O''Brien'), ' #', n),
       CONCAT('customer', n, '@example.com'),
       ELT(1 + n % 6, 'München', 'São Paulo', 'Kraków', '東京', 'Zürich', 'Reykjavík'),
       n % 7 = 0,
       TIMESTAMP('2024-01-01 00:00:00') + INTERVAL n * 3607 SECOND
FROM seq;

INSERT INTO orders (id, customer_id, status, amount, details, note, placed_at)
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 6000)
SELECT n * 10,
       1 + n % 2000,
       ELT(1 + n % 4, 'new', 'paid', 'shipped', 'cancelled'),
       ROUND((n * 7919 % 100000) / 7, 2),
       JSON_OBJECT('channel', ELT(1 + n % 3, 'web', 'app', 'store'),
                   'gift', n % 11 = 0,
                   'tags', JSON_ARRAY('früh', CONCAT('t', n % 5))),
       IF(n % 5 = 0, NULL,
          CONCAT('Lieferung an Straße ', n, ' — 🚚 配送', CHAR(9), 'tab', CHAR(10),
                 'second line with a \\\\ backslash and "quotes"')),
       TIMESTAMP('2024-01-01 00:00:00') + INTERVAL n * 617 SECOND + INTERVAL n MICROSECOND
FROM seq;

INSERT INTO order_items (order_id, line_no, sku, qty, price)
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 6000),
     line(l) AS (SELECT 1 UNION ALL SELECT l + 1 FROM line WHERE l < 4)
SELECT seq.n * 10, line.l, CONCAT('SKU-', LPAD((seq.n * 31 + line.l) % 100000, 8, '0')),
       1 + (seq.n + line.l) % 9, ROUND(((seq.n * line.l * 131) % 50000) / 100, 2)
FROM seq JOIN line ON line.l <= 1 + seq.n % 4;

INSERT INTO audit_log (at, actor, message)
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 500)
SELECT TIMESTAMP('2024-06-01 00:00:00') + INTERVAL n MINUTE,
       ELT(1 + n % 3, 'admin', 'batch', 'björn'),
       IF(n % 9 = 0, NULL, CONCAT('event ', n, ' ✓'))
FROM seq;

ANALYZE TABLE customers, orders, order_items, audit_log;

-- the migration user: what a full task with --consistency flush needs on the upstream
CREATE USER 'ferry'@'%' IDENTIFIED BY '$QS_PASSWORD';
GRANT SELECT ON shop.* TO 'ferry'@'%';
GRANT RELOAD, REPLICATION CLIENT ON *.* TO 'ferry'@'%';
SQL
up_sql -N -e "SELECT CONCAT('  ', table_name, ': ', table_rows, ' rows (estimate)') FROM information_schema.tables WHERE table_schema = 'shop' ORDER BY table_name"

step "creating the \`ferry\` user on the downstream"
# The target_privilege precheck wants these privileges globally (as DM's does).
down_sql <<SQL
CREATE USER 'ferry'@'%' IDENTIFIED BY '$QS_PASSWORD';
GRANT CREATE, SELECT, INSERT, UPDATE, DELETE, ALTER, DROP, INDEX ON *.* TO 'ferry'@'%';
SQL
down_sql -N -e "SELECT CONCAT('  local_infile = ', @@GLOBAL.local_infile, ' (ON: chunks stream through LOAD DATA LOCAL; OFF: multi-row INSERT)')"

# ---------------------------------------------------------------- 5. ferryd + YAML files
FERRY_DATA=$QS_DIR/ferry
mkdir -p "$FERRY_DATA"
step "starting ferryd"
show "$BIN/ferryd --master-addr $FERRY_ADDR --data-dir $FERRY_DATA --log-file $FERRY_DATA/ferryd.log &"
setsid "$BIN/ferryd" --master-addr "$FERRY_ADDR" --data-dir "$FERRY_DATA" \
    --log-file "$FERRY_DATA/ferryd.log" </dev/null >>"$FERRY_DATA/ferryd.out" 2>&1 &
ferryd_pid=$!
echo "$ferryd_pid" >"$FERRY_DATA/ferryd.pid"
ctl() { "$BIN/ferryctl" --master-addr "$FERRY_ADDR" "$@"; }
for _ in $(seq 1 100); do
    kill -0 "$ferryd_pid" 2>/dev/null || { cat "$FERRY_DATA/ferryd.out" >&2; die "ferryd exited at start"; }
    ctl query-status >/dev/null 2>&1 && break
    sleep 0.1
done
ctl query-status >/dev/null || die "ferryd does not answer on $FERRY_ADDR (log: $FERRY_DATA/ferryd.log)"
echo "ferryd pid $ferryd_pid listening on $FERRY_ADDR (log $FERRY_DATA/ferryd.log)"

cat >"$QS_DIR/source1.yaml" <<'YAML'
# 唯一命名，不可重复。 (unique source name)
source-id: "mysql-up"

from:
  host: "${host}"
  user: "${username}"
  password: "${password}"   # plaintext is accepted; prefer `ferryctl encrypt` (docs/operations.md)
YAML
echo "  port: $UP_PORT" >>"$QS_DIR/source1.yaml"

cat >"$QS_DIR/task1.yaml" <<YAML
# 任务名，多个同时运行的任务不能重名。 (task name)
name: "task1"
# full: only the full copy (incremental / all: binlog replication, not available yet)
task-mode: "full"
target-database:
  host: "\${host}"
  port: $DOWN_PORT
  user: "\${username}"
  password: "\${password}"

block-allow-list:
  listA:
    do-tables:
    - db-name: "shop"
      tbl-name: "*"

mysql-instances:
  - source-id: "mysql-up"
    block-allow-list: "listA"
    mydumper-config-name: "configA"

mydumpers:
  configA:
    threads: 4
    chunk-filesize: 64
    rows: 1000                          # small chunks, to show the chunking on a small data set
    extra-args: "--consistency flush"   # Aurora/RDS: "--consistency none" (no RELOAD privilege)
YAML
echo "wrote $QS_DIR/source1.yaml and $QS_DIR/task1.yaml"

# ---------------------------------------------------------------- 6. ferryctl
# ${host} ${username} ${password} in the files are filled from ferryctl's environment.
export host=127.0.0.1 username=ferry password=$QS_PASSWORD
cd "$QS_DIR"
step "operate-source create"
show "export host=127.0.0.1 username=ferry password=****"
show "ferryctl --master-addr $FERRY_ADDR operate-source create source1.yaml"
ctl operate-source create source1.yaml || die "operate-source create failed"

step "check-task"
show "ferryctl --master-addr $FERRY_ADDR check-task task1.yaml"
ctl check-task task1.yaml || die "check-task failed"

step "start-task"
show "ferryctl --master-addr $FERRY_ADDR start-task task1.yaml"
ctl start-task task1.yaml || die "start-task failed"

step "query-status task1 (every second, up to ${QS_TIMEOUT}s)"
# Extracts "key": value pairs of the `load` object of the pretty-printed query-status JSON.
summarize() {
    awk '
        /"stage":/ && !stage { stage = $2 }
        /"load": \{/ { inload = 1 }
        inload && /^ *\}/ { inload = 0 }
        inload && /"finishedChunks":/ { done = $2 }
        inload && /"totalChunks":/ { total = $2 }
        inload && /"finishedRows":/ { rows = $2 }
        inload && /"progress":/ { prog = $2 " " $3 }
        END {
            gsub(/[",]/, "", stage); gsub(/,/, "", done); gsub(/,/, "", total)
            gsub(/,/, "", rows); gsub(/[",]/, "", prog)
            printf "%s chunks %s/%s rows %s progress %s\n", stage, done, total, rows, prog
        }'
}
deadline=$(( $(date +%s) + QS_TIMEOUT ))
stage=
while :; do
    status=$(ctl query-status task1 2>&1) || true
    line=$(printf '%s\n' "$status" | summarize)
    stage=${line%% *}
    printf '%s  stage %s\n' "$(date +%T)" "$line"
    case "$stage" in
        Finished) break ;;
        Paused|Stopped)
            printf '%s\n' "$status"
            die "task1 is $stage; see the errors above and $FERRY_DATA/ferryd.log" ;;
    esac
    [ "$(date +%s)" -lt "$deadline" ] || { printf '%s\n' "$status"; die "task1 not Finished after ${QS_TIMEOUT}s"; }
    sleep 1
done
show "ferryctl --master-addr $FERRY_ADDR query-status task1"
printf '%s\n' "$status"

# ---------------------------------------------------------------- 7. verification
step "upstream vs downstream"
crc_sql() { # table -> aggregate over every column
    local cols
    cols=$(up_sql -N -e "SELECT GROUP_CONCAT(CONCAT('IFNULL(\`', column_name, '\`, ''<null>'')') ORDER BY ordinal_position SEPARATOR ', ') FROM information_schema.columns WHERE table_schema = 'shop' AND table_name = '$1'")
    echo "SELECT COUNT(*), COALESCE(SUM(CRC32(CONCAT_WS('|', $cols))), 0) FROM shop.\`$1\`"
}
printf '%-12s %10s %10s %14s %14s  %s\n' table "rows up" "rows down" "crc32 up" "crc32 down" result
bad=0
for t in $(up_sql -N -e "SELECT table_name FROM information_schema.tables WHERE table_schema = 'shop' ORDER BY table_name"); do
    q=$(crc_sql "$t")
    read -r un uc < <(up_sql -N -e "SET time_zone = '+00:00'; $q")
    read -r dn dc < <(down_sql -N -e "SET time_zone = '+00:00'; $q")
    r=same
    if [ "$un" != "$dn" ] || [ "$uc" != "$dc" ]; then r=DIFFERENT; bad=1; fi
    printf '%-12s %10s %10s %14s %14s  %s\n' "$t" "$un" "$dn" "$uc" "$dc" "$r"
done
echo "ledger of committed chunks: $(down_sql -N -e "SELECT COUNT(*) FROM dm_meta.task1_load_chunks") rows in dm_meta.task1_load_chunks"
[ "$bad" = 0 ] || die "the downstream differs from the upstream"

cat <<EOF

Done: the \`shop\` database was copied from MySQL 9.7 (127.0.0.1:$UP_PORT) to MariaDB 10.11
(127.0.0.1:$DOWN_PORT).

  The migrated data:   $MARIADB --no-defaults --default-character-set=utf8mb4 -h127.0.0.1 -P$DOWN_PORT -uroot shop
                       (or -uferry -p'$QS_PASSWORD')
  The source data:     $MYSQL --no-defaults -h127.0.0.1 -P$UP_PORT -uroot shop
  Chunk ledger:        SELECT * FROM dm_meta.task1_load_chunks;   (on the downstream)
  Task status:         $BIN/ferryctl --master-addr $FERRY_ADDR query-status task1
  Metrics:             curl -s http://$FERRY_ADDR/metrics | grep ^ferry_
  ferryd log:          $FERRY_DATA/ferryd.log
  Task files:          $QS_DIR/source1.yaml, $QS_DIR/task1.yaml
                       (export host=127.0.0.1 username=ferry password=... before ferryctl)

  Copy again from scratch (the target tables are overwritten by primary/unique key;
  empty them first when a table has no key, e.g. TRUNCATE shop.audit_log downstream):
      cd $QS_DIR && export host=127.0.0.1 username=ferry password='$QS_PASSWORD'
      $BIN/ferryctl --master-addr $FERRY_ADDR stop-task task1
      $BIN/ferryctl --master-addr $FERRY_ADDR start-task --remove-meta task1.yaml

  Stop everything (ferryd pid $ferryd_pid, MySQL pid $up_pid, MariaDB pid $down_pid):
      $here/quickstart-stop.sh            (add --remove to delete $QS_DIR too)
EOF
