//! End-to-end tests of DDL rendered for the downstream's dialect: MySQL 9.7 → MariaDB 10.11
//! and MariaDB 10.11 → MySQL 9.7 incremental tasks replay a matrix of DDL each target would
//! reject as written (JSON operators, generated columns, collations, `ALGORITHM=`/`LOCK=`,
//! invisible columns and indexes, expression defaults, CHECK constraints, MariaDB's
//! `IF [NOT] EXISTS`, ...) with DML on the tables they change; every table is then compared
//! row by row with the upstream. A DDL that has no rendering (a functional index for MariaDB,
//! an `INET6` column for MySQL) pauses the task with an error naming the statement, its
//! position and `binlog replace`, and `binlog replace` gets past it.

use std::time::Duration;

use ferry_tests::data::exec;
use ferry_tests::ferry::path_str;
use ferry_tests::workload::{binlog_position, wait_caught_up};
use ferry_tests::*;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

const CATCH_UP: Duration = Duration::from_secs(180);

/// An incremental task from source `src` at `file:pos`, tables of `db`.
fn task_file(name: &str, down: &TestServer, src: &str, db: &str, file: &str, pos: u64) -> String {
    format!(
        "name: \"{name}\"\ntask-mode: incremental\n\
         target-database:\n  host: \"127.0.0.1\"\n  port: {}\n  user: \"root\"\n  password: \"\"\n\
         block-allow-list:\n  bal:\n    do-dbs: [\"{db}\"]\n\
         mysql-instances:\n  - source-id: \"{src}\"\n    block-allow-list: \"bal\"\n\
         \x20   meta:\n      binlog-name: \"{file}\"\n      binlog-pos: {pos}\n",
        down.port()
    )
}

/// Runs each statement of `script` (`{db}` stands for the quoted schema).
async fn run(c: &mut Conn, db: &str, script: &[&str]) {
    let q = quote_ident(db);
    for s in script {
        exec(c, &s.replace("{db}", &q)).await;
    }
}

/// `(COLLATION_NAME, EXTRA)` of a column.
async fn column_facts(
    c: &mut Conn,
    db: &str,
    table: &str,
    column: &str,
) -> (Option<String>, String) {
    let row: Option<(Option<String>, String)> = c
        .exec_first(
            "SELECT COLLATION_NAME, UPPER(EXTRA) FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?",
            (db, table, column),
        )
        .await
        .unwrap();
    row.unwrap_or_else(|| panic!("no column {db}.{table}.{column}"))
}

/// Starts the task, waits for the pause the unsupported statement causes, checks the
/// message, replaces the statement and waits until the task has caught up; then compares
/// every table.
#[allow(clippy::too_many_arguments)]
async fn replay(
    up: &TestServer,
    down: &TestServer,
    db: &str,
    prefix: &str,
    file: &str,
    pos: u64,
    unsupported: (&str, &str),
    replacement: &str,
) -> Ferry {
    let ferry = Ferry::start_temp(prefix);
    ferry.add_source("up", up).await;
    let task = format!("{prefix}_{}", &db[db.len() - 4..]);
    let f = ferry.write_file("task.yaml", &task_file(&task, down, "up", db, file, pos));
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;

    let (stmt, lacks) = unsupported;
    let msg = ferry.wait_paused_error(&task).await;
    assert!(msg.contains(lacks), "names what the target lacks: {msg}");
    assert!(msg.contains(stmt), "names the statement: {msg}");
    assert!(msg.contains("binlog replace"), "names the fix: {msg}");
    assert!(msg.contains(file), "names the position: {msg}");

    let q = quote_ident(db);
    ferry
        .ctl_ok(&["binlog", "replace", &task, &replacement.replace("{db}", &q)])
        .await;
    wait_caught_up(&ferry, &task, up, CATCH_UP).await;
    let log = std::fs::read_to_string(ferry.log_path()).unwrap_or_default();
    assert!(
        log.contains("DDL rendered for the downstream"),
        "every rewrite is logged"
    );
    let (mut u, mut d) = (up.conn().await, down.conn().await);
    assert_schemas_equal(&mut u, &mut d, db, db).await;
    ferry
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_ddl_is_rendered_for_mariadb() {
    let up = shared(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let db = unique_db_name("dlmy");
    let (file, pos) = binlog_position(up).await;
    let mut c = up.conn().await;
    create_database(&mut c, &db).await;
    let functional = "ALTER TABLE {db}.j ADD INDEX fx ((id + 1))";
    run(
        &mut c,
        &db,
        &[
            // JSON operators in generated columns, a CHECK and an expression default;
            // a MySQL 8 collation, an invisible column, enforced and unenforced checks.
            "CREATE TABLE {db}.j (id INT PRIMARY KEY, doc JSON, \
             a INT AS (doc->'$.a') VIRTUAL, b VARCHAR(20) AS (doc->>'$.b') STORED, \
             c VARCHAR(10) COLLATE utf8mb4_0900_ai_ci DEFAULT (concat('x', 'y')), \
             h INT INVISIBLE DEFAULT 5, \
             k INT DEFAULT (id * 2), \
             INDEX ib (b), CHECK (id > 0), CONSTRAINT cne CHECK (id < 0) NOT ENFORCED, \
             CONSTRAINT cj CHECK (doc->'$.a' IS NULL OR doc->>'$.a' <> 'bad') ENFORCED) \
             DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci",
            "INSERT INTO {db}.j (id, doc, c, h) VALUES \
             (1, '{\"a\": 1, \"b\": \"one\"}', 'A', 1), (2, '{\"a\": 2, \"b\": \"-> two\"}', 'b', 2), \
             (3, '{\"b\": \"x\"}', DEFAULT, DEFAULT)",
            "INSERT INTO {db}.j (id, doc) VALUES (4, '{\"a\": 4}')",
            // ALGORITHM= and LOCK= clauses.
            "ALTER TABLE {db}.j ADD COLUMN d INT AS (doc->'$.d') STORED, ALGORITHM=COPY",
            "ALTER TABLE {db}.j ADD COLUMN e INT VISIBLE DEFAULT 1, ALGORITHM=INSTANT",
            "ALTER TABLE {db}.j ADD INDEX ia (a) INVISIBLE, ALGORITHM=INPLACE, LOCK=NONE",
            "INSERT INTO {db}.j (id, doc, e) VALUES (5, '{\"a\": 5, \"d\": 50}', 9)",
            "ALTER TABLE {db}.j ALTER INDEX ia VISIBLE, LOCK=SHARED",
            "ALTER TABLE {db}.j DROP CHECK cne",
            "ALTER TABLE {db}.j ADD COLUMN note VARCHAR(30) COMMENT 'doc->''$.a'' ALGORITHM=NOCOPY' \
             DEFAULT '->'",
            "UPDATE {db}.j SET doc = JSON_SET(doc, '$.b', 'upd'), note = 'n->1' WHERE id IN (1, 4)",
            // The downstream cannot hold this one.
            functional,
            "INSERT INTO {db}.j (id, doc) VALUES (6, '{\"a\": 6}')",
            // SRID, a MySQL 8 collation in a column, MySQL's versioned comments.
            "CREATE TABLE {db}.g (id INT PRIMARY KEY, p POINT NOT NULL SRID 0, \
             t CHAR(3) CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_as_cs /*!80023 INVISIBLE */ NULL)",
            "INSERT INTO {db}.g (id, p, t) VALUES (1, ST_GeomFromText('POINT(1 2)'), 'aBc'), \
             (2, ST_GeomFromText('POINT(3 4)'), NULL)",
            "DELETE FROM {db}.j WHERE id = 3",
        ],
    )
    .await;

    replay(
        up,
        down,
        &db,
        "dlmy",
        &file,
        pos,
        (
            "ADD INDEX fx ((id + 1))",
            "MariaDB has no functional key parts",
        ),
        "ALTER TABLE {db}.j ADD INDEX fx (id)",
    )
    .await;

    // What the rewrites mean downstream.
    let mut d = down.conn().await;
    let (coll, _) = column_facts(&mut d, &db, "j", "c").await;
    assert_eq!(coll.as_deref(), Some("utf8mb4_uca1400_ai_ci"));
    let (_, extra) = column_facts(&mut d, &db, "j", "h").await;
    assert!(extra.contains("INVISIBLE"), "{extra}");
    let (coll, extra) = column_facts(&mut d, &db, "g", "t").await;
    assert_eq!(coll.as_deref(), Some("utf8mb4_uca1400_as_cs"));
    assert!(
        extra.contains("INVISIBLE"),
        "the versioned comment ran: {extra}"
    );
    let ignored: Vec<(String, String)> = d
        .exec(
            "SELECT INDEX_NAME, IGNORED FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'j' AND INDEX_NAME IN ('ia', 'fx')",
            (&db,),
        )
        .await
        .unwrap();
    assert!(
        ignored.iter().any(|(i, g)| i == "ia" && g == "NO"),
        "ALTER INDEX ia VISIBLE made it not ignored: {ignored:?}"
    );
    assert!(ignored.iter().any(|(i, _)| i == "fx"), "{ignored:?}");
    let checks: Vec<String> = d
        .exec(
            "SELECT CONSTRAINT_NAME FROM information_schema.CHECK_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = 'j' ORDER BY 1",
            (&db,),
        )
        .await
        .unwrap();
    assert!(checks.contains(&"cj".to_string()), "{checks:?}");
    assert!(!checks.contains(&"cne".to_string()), "{checks:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_ddl_is_rendered_for_mysql() {
    let up = shared(DbKind::Mariadb, Role::Upstream);
    let down = shared(DbKind::Mysql, Role::Downstream);
    let db = unique_db_name("dlmd");
    let (file, pos) = binlog_position(up).await;
    let mut c = up.conn().await;
    create_database(&mut c, &db).await;
    run(
        &mut c,
        &db,
        &[
            // MariaDB's JSON alias, PERSISTENT, a literal TEXT default, UCA 14 collations,
            // an invisible column, a CHECK constraint.
            "CREATE TABLE {db}.m (id INT PRIMARY KEY, doc JSON, \
             a INT AS (id * 2) PERSISTENT, v INT AS (json_extract(doc, '$.a')) VIRTUAL, \
             t TEXT DEFAULT 'dflt', \
             c VARCHAR(10) COLLATE utf8mb4_uca1400_ai_ci, \
             h INT INVISIBLE DEFAULT 5, \
             CONSTRAINT ck CHECK (id < 1000000)) \
             DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_uca1400_as_cs",
            "INSERT INTO {db}.m (id, doc, c, h) VALUES (1, '{\"a\": 1}', 'x', 1), (2, '[1, 2]', 'É', 2)",
            "INSERT INTO {db}.m (id, doc) VALUES (3, NULL)",
            // ALGORITHM=NOCOPY, IF [NOT] EXISTS, IGNORED indexes, LOCK=.
            "ALTER TABLE {db}.m ADD COLUMN IF NOT EXISTS e INT DEFAULT 3, ALGORITHM=NOCOPY",
            "ALTER TABLE {db}.m ADD INDEX IF NOT EXISTS ie (e) IGNORED, ALGORITHM=INPLACE",
            "INSERT INTO {db}.m (id, e, t) VALUES (4, 40, 'four')",
            "ALTER TABLE {db}.m ALTER INDEX ie NOT IGNORED, LOCK=NONE",
            "ALTER TABLE {db}.m ADD COLUMN zz INT",
            "ALTER TABLE {db}.m DROP COLUMN IF EXISTS zz, ALGORITHM=COPY",
            "CREATE INDEX IF NOT EXISTS ic ON {db}.m (c)",
            "UPDATE {db}.m SET t = 'upd', e = e + 1 WHERE id <= 2",
            "DROP INDEX IF EXISTS ic ON {db}.m",
            // The downstream cannot hold this one.
            "ALTER TABLE {db}.m ADD COLUMN ip INET6",
            "INSERT INTO {db}.m (id) VALUES (5)",
            // Text containing the words is left alone.
            "ALTER TABLE {db}.m ADD COLUMN w VARCHAR(40) DEFAULT 'ALGORITHM=NOCOPY IGNORED' \
             COMMENT 'IF NOT EXISTS'",
            "CREATE TABLE {db}.n (id INT PRIMARY KEY, s VARCHAR(5) COLLATE utf8mb4_uca1400_ai_ci)",
            "INSERT INTO {db}.n VALUES (1, 'a'), (2, 'B')",
            "DELETE FROM {db}.m WHERE id = 3",
        ],
    )
    .await;

    replay(
        up,
        down,
        &db,
        "dlmd",
        &file,
        pos,
        ("ADD COLUMN ip INET6", "MySQL has no INET6 type"),
        "ALTER TABLE {db}.m ADD COLUMN ip VARBINARY(16)",
    )
    .await;

    let mut d = down.conn().await;
    let (coll, _) = column_facts(&mut d, &db, "m", "c").await;
    assert_eq!(coll.as_deref(), Some("utf8mb4_0900_ai_ci"));
    let (coll, _) = column_facts(&mut d, &db, "m", "t").await;
    assert_eq!(coll.as_deref(), Some("utf8mb4_0900_as_cs"));
    let (_, extra) = column_facts(&mut d, &db, "m", "h").await;
    assert!(extra.contains("INVISIBLE"), "{extra}");
    let (_, extra) = column_facts(&mut d, &db, "m", "a").await;
    assert!(extra.contains("STORED GENERATED"), "{extra}");
    let visible: Vec<(String, String)> = d
        .exec(
            "SELECT DISTINCT INDEX_NAME, IS_VISIBLE FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'm'",
            (&db,),
        )
        .await
        .unwrap();
    assert!(
        visible.iter().any(|(i, v)| i == "ie" && v == "YES"),
        "{visible:?}"
    );
    assert!(!visible.iter().any(|(i, _)| i == "ic"), "{visible:?}");
}
