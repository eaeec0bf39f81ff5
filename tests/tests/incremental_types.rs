//! End-to-end tests of incremental replication of every column type through the binlog
//! (the type matrix, MySQL ↔ MariaDB), of partial JSON updates (a clear pause), and of the
//! `query-status` Sync fields while idle and while the downstream is blocked.

use std::time::Duration;

use ferry_tests::data::exec;
use ferry_tests::ferry::{path_str, subtasks};
use ferry_tests::workload::{binlog_position, parse_position, wait_caught_up};
use ferry_tests::*;
use mysql_async::prelude::Queryable;
use serde_json::Value;

const CATCH_UP: Duration = Duration::from_secs(120);

/// An `incremental` task: one instance on source `up` starting at `file:pos`, tables of
/// `db` only.
fn incremental_task(name: &str, down: &TestServer, db: &str, file: &str, pos: u64) -> String {
    format!(
        "name: \"{name}\"\ntask-mode: incremental\n\
         target-database:\n  host: \"127.0.0.1\"\n  port: {}\n  user: \"root\"\n  password: \"\"\n\
         block-allow-list:\n  bal:\n    do-dbs: [\"{db}\"]\n\
         syncers:\n  two:\n    worker-count: 2\n\
         mysql-instances:\n  - source-id: \"up\"\n    block-allow-list: \"bal\"\n\
         \x20   syncer-config-name: \"two\"\n\
         \x20   meta:\n      binlog-name: \"{file}\"\n      binlog-pos: {pos}\n",
        down.port()
    )
}

/// A task name unique on the shared downstream (its progress table is named after it).
fn task_name(prefix: &str, db: &str) -> String {
    format!("{prefix}_{}", &db[db.len() - 4..])
}

/// Starts ferryd with source `up` and an incremental task on `db` from `file:pos`.
async fn start_incremental(
    prefix: &str,
    up: &TestServer,
    down: &TestServer,
    db: &str,
    (file, pos): (&str, u64),
) -> (Ferry, String) {
    let ferry = Ferry::start_temp(prefix);
    ferry.add_source("up", up).await;
    let task = task_name(prefix, db);
    let f = ferry.write_file("task.yaml", &incremental_task(&task, down, db, file, pos));
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;
    (ferry, task)
}

// ---------------------------------------------------------------------------------------
// 1. The type matrix through the binlog.
// ---------------------------------------------------------------------------------------

/// Every non-generated column of `type_matrix` with two different non-NULL values (SQL
/// literals valid on MySQL 9.7 and MariaDB 10.11 in strict mode).
const COLUMNS: &[(&str, &str, &str)] = &[
    ("c_tinyint", "12", "-7"),
    ("c_utinyint", "200", "7"),
    ("c_smallint", "-1234", "7"),
    ("c_usmallint", "54321", "7"),
    ("c_mediumint", "-654321", "7"),
    ("c_umediumint", "12345678", "7"),
    ("c_int", "1234567890", "-7"),
    ("c_uint", "3000000000", "7"),
    ("c_bigint", "-1234567890123456789", "7"),
    ("c_ubigint", "12345678901234567890", "9223372036854775808"),
    (
        "c_decimal",
        "-12345678901234567890123456789012345.000000000000000000000000000001",
        "0.123456789012345678901234567891",
    ),
    ("c_decimal0", "-1234567890", "7"),
    ("c_float", "3.25", "-0.5"),
    ("c_double", "-2.5e-100", "1e300"),
    ("c_bit1", "b'1'", "b'0'"),
    (
        "c_bit64",
        "b'1000000000000000000000000000000000000000000000000000000000000001'",
        "X'8000000000000000'",
    ),
    ("c_date", "'2000-02-29'", "'1000-01-02'"),
    ("c_time", "'-12:34:56'", "'00:00:07'"),
    ("c_time6", "'100:00:00.000001'", "'-00:00:07.000007'"),
    (
        "c_datetime6",
        "'2001-02-03 04:05:06.700000'",
        "'9999-12-31 23:59:59.000007'",
    ),
    (
        "c_timestamp6",
        "'2030-05-06 07:08:09.101112'",
        "'1970-01-01 00:00:07.000007'",
    ),
    ("c_year", "1999", "2155"),
    ("c_char", "'änd 😀'", "'b'"),
    ("c_varchar", "'updated ✓ 😀'", "''"),
    ("c_tinytext", "'tt'", "'tiny 😀'"),
    ("c_text", "'line\\nnew'", "'tab\\there'"),
    ("c_mediumtext", "REPEAT('é', 20000)", "''"),
    ("c_longtext", "REPEAT('😀x', 30000)", "'short'"),
    ("c_latin1_char", "'ñü'", "'àé'"),
    ("c_latin1_varchar", "'Grüße'", "''"),
    ("c_latin1_text", "_latin1 X'A9AEB0'", "'Ç'"),
    ("c_binary", "X'0102'", "X'00000000000000FF'"),
    ("c_varbinary", "X'00FF00'", "X''"),
    ("c_tinyblob", "X''", "X'00'"),
    ("c_blob", "REPEAT(X'00', 100)", "X'5C27'"),
    ("c_mediumblob", "REPEAT(X'AB', 20000)", "X''"),
    ("c_longblob", "REPEAT(X'CD', 70000)", "X'00'"),
    ("c_enum", "'c d'", "'é'"),
    ("c_set", "'y,z'", "''"),
    (
        "c_json",
        "'{\"upd\": [1, 2.5, {\"x\": null}], \"s\": \"é\"}'",
        "'\"a string\"'",
    ),
    (
        "c_point",
        "ST_GeomFromText('POINT(10 20)', 0)",
        "ST_GeomFromText('POINT(-1 -1)', 0)",
    ),
    (
        "c_geometry",
        "ST_GeomFromText('MULTIPOINT((1 1),(2 2))', 0)",
        "ST_GeomFromText('POLYGON((0 0,3 0,3 3,0 0))', 0)",
    ),
    (
        "c_polygon",
        "ST_GeomFromText('POLYGON((0 0,3 0,3 3,0 0))', 0)",
        "ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 1,0 0))', 0)",
    ),
];

#[derive(Clone, Copy)]
enum Values {
    A,
    B,
    Null,
}

/// `col = value, ...` for every non-generated column.
fn assignments(v: Values) -> String {
    COLUMNS
        .iter()
        .map(|(c, a, b)| {
            let val = match v {
                Values::A => a,
                Values::B => b,
                Values::Null => "NULL",
            };
            format!("{c} = {val}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `INSERT INTO type_matrix (id, every column) VALUES (id, values A)`.
fn insert_a(id: u32) -> String {
    let cols: Vec<&str> = COLUMNS.iter().map(|c| c.0).collect();
    let vals: Vec<&str> = COLUMNS.iter().map(|c| c.1).collect();
    format!(
        "INSERT INTO type_matrix (id, {}) VALUES ({id}, {})",
        cols.join(", "),
        vals.join(", ")
    )
}

/// Runs `stmts` as one upstream transaction.
async fn transaction(c: &mut mysql_async::Conn, stmts: &[String]) {
    let sql = format!("START TRANSACTION; {}; COMMIT", stmts.join("; "));
    exec(c, &sql).await;
}

/// Rows expected after [`type_matrix_changes`].
const EXPECTED_ROWS: &[(&str, usize)] = &[("type_matrix", 128), ("we`ird-name", 64)];

/// Doubles both tables four times with `INSERT … SELECT` (8 + 16 + 32 + 64 and 4 + 8 + 16 +
/// 32 rows in single statements): long runs of inserts of every column type, which the
/// writers merge into multi-row statements.
async fn bulk_copies(c: &mut mysql_async::Conn) {
    let cols: Vec<String> = COLUMNS.iter().map(|(n, _, _)| n.to_string()).collect();
    let cols = cols.join(", ");
    for _ in 0..4 {
        exec(
            c,
            &format!("INSERT INTO type_matrix ({cols}) SELECT {cols} FROM type_matrix"),
        )
        .await;
        exec(c, "INSERT INTO `we``ird-name` SELECT * FROM `we``ird-name`").await;
    }
}

/// The changes after the fixture: every non-generated column of rows 1, 2, 3 and 5
/// changed (values → other values, NULL → values, values → NULL → values), a new row, a
/// primary key change, deletes, and the key-less table updated and deleted from; in
/// several transactions.
async fn type_matrix_changes(c: &mut mysql_async::Conn) {
    let t = "type_matrix";
    let w = "`we``ird-name`";
    transaction(
        c,
        &[
            format!("UPDATE {t} SET {} WHERE id = 1", assignments(Values::A)),
            // Row 5 is NULL in every nullable column.
            format!("UPDATE {t} SET {} WHERE id = 5", assignments(Values::B)),
            insert_a(50),
        ],
    )
    .await;
    transaction(
        c,
        &[
            format!("UPDATE {t} SET {} WHERE id = 3", assignments(Values::Null)),
            // The primary key changes (and other columns with it).
            format!(
                "UPDATE {t} SET id = 104, c_varchar = 'moved', c_bit64 = NULL, \
                 c_json = JSON_ARRAY_APPEND(c_json, '$', 'x') WHERE id = 4"
            ),
            format!("DELETE FROM {t} WHERE id = 6"),
            format!(
                "UPDATE {w} SET `select` = 'one;of two', `sp ace.dot` = X'FF00' \
                 WHERE `col``tick` = 1 LIMIT 1"
            ),
        ],
    )
    .await;
    transaction(
        c,
        &[
            // Back from NULL.
            format!("UPDATE {t} SET {} WHERE id = 3", assignments(Values::B)),
            format!("UPDATE {t} SET {} WHERE id = 2", assignments(Values::B)),
            format!("UPDATE {t} SET {} WHERE id = 5", assignments(Values::A)),
            format!("DELETE FROM {t} WHERE id = 8"),
            format!("DELETE FROM {w} WHERE `col``tick` = 2"),
            format!("UPDATE {w} SET `col``tick` = NULL, `select` = NULL WHERE `select` = '`'"),
        ],
    )
    .await;
    // Autocommit statements: several rows at once, and NULL then back on row 1.
    for sql in [
        format!(
            "UPDATE {t} SET c_int = c_int * 2, c_float = c_float / 3, \
             c_json = JSON_SET(COALESCE(c_json, '{{}}'), '$.k', id) WHERE id IN (7, 9)"
        ),
        format!("UPDATE {t} SET c_datetime6 = NULL, c_decimal = NULL WHERE id = 1"),
        format!(
            "UPDATE {t} SET c_datetime6 = '2001-02-03 04:05:06.000001', \
             c_decimal = 1.000000000000000000000000000001 WHERE id = 1"
        ),
        format!("INSERT INTO {w} VALUES (3, 'new', X'00')"),
    ] {
        exec(c, &sql).await;
    }
}

/// `id, c_gen_stored, c_gen_virtual` of every row, by id (the compare helpers skip
/// generated columns: the downstream computes them itself).
async fn generated_columns(
    c: &mut mysql_async::Conn,
    db: &str,
) -> Vec<(i64, Option<i64>, Option<String>)> {
    let sql = format!(
        "SELECT id, c_gen_stored, c_gen_virtual FROM {}.type_matrix ORDER BY id",
        quote_ident(db)
    );
    c.query(&sql)
        .await
        .unwrap_or_else(|e| panic!("{e}\nSQL: {sql}"))
}

async fn type_matrix_through_binlog(up_kind: DbKind, down_kind: DbKind) {
    let up = shared(up_kind, Role::Upstream);
    let down = shared(down_kind, Role::Downstream);
    let db = unique_db_name(&format!("inctypes_{up_kind}"));
    let (file, pos) = binlog_position(up).await;
    let (ferry, task) = start_incremental("inctypes", up, down, &db, (&file, pos)).await;

    // Everything from here on reaches the downstream through the binlog, DDL included.
    let mut c = up.conn().await;
    load_type_matrix(&mut c, &db).await;
    type_matrix_changes(&mut c).await;
    bulk_copies(&mut c).await;
    wait_caught_up(&ferry, &task, up, CATCH_UP).await;
    let mut d = down.conn().await;
    assert_tables_match(
        &mut c,
        &mut d,
        &db,
        EXPECTED_ROWS,
        &format!("{up_kind} -> {down_kind}"),
    )
    .await;
    assert_eq!(
        generated_columns(&mut d, &db).await,
        generated_columns(&mut c, &db).await,
        "generated columns downstream vs upstream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn type_matrix_replicates_through_the_binlog_mysql_to_mariadb() {
    type_matrix_through_binlog(DbKind::Mysql, DbKind::Mariadb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn type_matrix_replicates_through_the_binlog_mariadb_to_mysql() {
    type_matrix_through_binlog(DbKind::Mariadb, DbKind::Mysql).await;
}

// ---------------------------------------------------------------------------------------
// 2. Partial JSON updates.
// ---------------------------------------------------------------------------------------

/// MySQL 9.7 with `binlog_row_value_options = PARTIAL_JSON` logs a `JSON_SET` update as a
/// PARTIAL_UPDATE_ROWS event whose after image holds only the diff (even with
/// `binlog_row_image = FULL`, as `mysqlbinlog -vv` shows: `@2=JSON_REPLACE(@2, '$.a', 2)`).
/// Ferry cannot apply it: the task pauses with an error naming the setting, and what came
/// before it is downstream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_json_update_pauses_with_an_error_naming_the_setting() {
    let up = shared(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let db = unique_db_name("pjson");
    let q = quote_ident(&db);
    let (file, pos) = binlog_position(up).await;
    let (ferry, task) = start_incremental("pjson", up, down, &db, (&file, pos)).await;
    let mut c = up.conn().await;
    create_database(&mut c, &db).await;
    exec(
        &mut c,
        &format!("CREATE TABLE {q}.t (id INT PRIMARY KEY, j JSON, v INT)"),
    )
    .await;
    exec(
        &mut c,
        &format!(
            "INSERT INTO {q}.t VALUES (1, '{{\"a\": 1, \"b\": \"{}\"}}', 1), \
             (2, '[1, 2, 3]', 2), (3, NULL, 3)",
            "x".repeat(200)
        ),
    )
    .await;
    wait_caught_up(&ferry, &task, up, CATCH_UP).await;

    exec(
        &mut c,
        "SET SESSION binlog_row_value_options = 'PARTIAL_JSON'",
    )
    .await;
    exec(
        &mut c,
        &format!("UPDATE {q}.t SET j = JSON_SET(j, '$.a', 2), v = 10 WHERE id = 1"),
    )
    .await;
    let msg = ferry.wait_paused_error(&task).await;
    eprintln!("paused: {msg}");
    assert!(
        msg.contains("binlog_row_value_options"),
        "the error names the setting: {msg}"
    );
    let st = ferry.query_status(&task).await.expect("status");
    let sub = &subtasks(&st)[0];
    assert_eq!(sub["stage"], "Paused", "{sub}");
    assert_eq!(sub["unit"], "Sync", "{sub}");

    // The rows before the partial update are downstream, the update is not.
    let mut d = down.conn().await;
    let rows: Vec<(i32, Option<String>, i32)> = d
        .query(format!("SELECT id, j, v FROM {q}.t ORDER BY id"))
        .await
        .expect("downstream rows");
    let ids: Vec<(i32, i32)> = rows.iter().map(|r| (r.0, r.2)).collect();
    assert_eq!(ids, [(1, 1), (2, 2), (3, 3)], "{rows:?}");
    let j: Value = serde_json::from_str(rows[0].1.as_deref().expect("row 1 JSON")).expect("JSON");
    assert_eq!(j["a"], 1, "{j}");
    // The error says which table and column could not be applied.
    assert!(
        msg.contains(&format!("{q}.`t`")) && msg.contains("`j`"),
        "names the table and the column: {msg}"
    );
}

// ---------------------------------------------------------------------------------------
// 3. query-status `sync` while idle and while blocked.
// ---------------------------------------------------------------------------------------

/// `secondsBehindMaster` as a number (DM prints it as a string).
fn seconds_behind(sync: &Value) -> Option<u64> {
    match &sync["secondsBehindMaster"] {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// The upstream's `SHOW BINARY LOG STATUS`: file, position, executed GTID set.
async fn master_status(up: &TestServer) -> (String, u64, String) {
    let mut c = up.conn().await;
    let row: mysql_async::Row = c
        .query_first("SHOW BINARY LOG STATUS")
        .await
        .expect("SHOW BINARY LOG STATUS")
        .expect("a row");
    let file: String = row.get(0).expect("file");
    let pos: u64 = row.get(1).expect("position");
    let gtid: String = row.get(4).expect("Executed_Gtid_Set");
    (file, pos, gtid.replace('\n', ""))
}

/// The `sync` object of the only subtask.
async fn sync_status(ferry: &Ferry, task: &str) -> Option<Value> {
    let st = ferry.query_status(task).await?;
    let subs = subtasks(&st);
    assert!(
        !(subs.len() == 1 && subs[0]["stage"] == "Paused" && !subs[0]["result"].is_null()),
        "task paused by an error: {:#}\n{}",
        subs[0],
        ferry.log_tail(40)
    );
    (subs.len() == 1).then(|| subs[0]["sync"].clone())
}

/// Waits until the task is idle and synced with the upstream: `synced`, no lag,
/// `masterBinlog` and `syncerBinlog` at the upstream's position. Returns the `sync` object.
async fn wait_idle_synced(ferry: &Ferry, task: &str, up: &TestServer) -> Value {
    let (file, pos, gtid) = master_status(up).await;
    let found = wait_for(
        Duration::from_secs(30),
        format!("{task} idle at ({file}, {pos})"),
        || async {
            let s = sync_status(ferry, task).await?;
            let at = |k: &str| s[k].as_str().and_then(parse_position);
            let here = Some((file.clone(), pos));
            (at("masterBinlog") == here
                && at("syncerBinlog") == here
                && s["synced"] == true
                && seconds_behind(&s) == Some(0))
            .then_some(s)
        },
    )
    .await;
    assert_eq!(
        found["masterBinlogGtid"]
            .as_str()
            .map(|g| g.replace('\n', "")),
        Some(gtid.clone()),
        "masterBinlogGtid is the upstream's executed set: {found:#}"
    );
    let syncer_gtid = found["syncerBinlogGtid"].as_str().unwrap_or_default();
    assert!(
        !syncer_gtid.is_empty(),
        "syncerBinlogGtid with gtid_mode=ON upstream: {found:#}"
    );
    found
}

/// `synced`, `secondsBehindMaster`, `masterBinlog(Gtid)` and `syncerBinlog(Gtid)` while
/// idle after catching up; lag growing and `synced` false while a downstream table is
/// locked (the writers wait, they do not fail); back to 0 and `synced` after the unlock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_lag_while_blocked_and_synced_when_idle() {
    // Own upstream: the shared one moves with the other tests' writes, and `masterBinlog`
    // must stay still to be compared.
    let up = TestServer::start(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let db = unique_db_name("lag");
    let q = quote_ident(&db);
    let (file, pos) = binlog_position(&up).await;
    let mut c = up.conn().await;
    create_database(&mut c, &db).await;
    exec(
        &mut c,
        &format!("CREATE TABLE {q}.t (id INT PRIMARY KEY, v VARCHAR(20))"),
    )
    .await;
    exec(
        &mut c,
        &format!("INSERT INTO {q}.t VALUES (1, 'a'), (2, 'b')"),
    )
    .await;
    let (ferry, task) = start_incremental("lag", &up, down, &db, (&file, pos)).await;
    wait_caught_up(&ferry, &task, &up, CATCH_UP).await;
    let idle = wait_idle_synced(&ferry, &task, &up).await;
    eprintln!("idle: {idle:#}");
    assert_eq!(idle["totalRows"], "2", "{idle:#}");

    // Block the writers: the target table is write-locked by another session.
    let mut locker = down.conn().await;
    exec(&mut locker, &format!("LOCK TABLES {q}.t WRITE")).await;
    for i in 3..8 {
        exec(
            &mut c,
            &format!("INSERT INTO {q}.t VALUES ({i}, 'blocked')"),
        )
        .await;
    }
    exec(&mut c, &format!("UPDATE {q}.t SET v = 'upd' WHERE id = 1")).await;
    let (file, pos, _) = master_status(&up).await;
    let blocked = wait_for(
        Duration::from_secs(30),
        "secondsBehindMaster >= 2 and synced false while blocked",
        || async {
            let s = sync_status(&ferry, &task).await?;
            (seconds_behind(&s)? >= 2 && s["synced"] == false).then_some(s)
        },
    )
    .await;
    eprintln!("blocked: {blocked:#}");
    let syncer = blocked["syncerBinlog"].as_str().and_then(parse_position);
    assert_ne!(
        syncer,
        Some((file.clone(), pos)),
        "syncerBinlog cannot be at the end while blocked: {blocked:#}"
    );
    // The lag keeps growing while blocked (a real age, not a flag).
    let first = seconds_behind(&blocked).expect("lag");
    wait_for(
        Duration::from_secs(30),
        format!("secondsBehindMaster above {first} while still blocked"),
        || async {
            let s = sync_status(&ferry, &task).await?;
            (seconds_behind(&s)? > first && s["synced"] == false).then_some(())
        },
    )
    .await;
    // Nothing of the blocked rows is downstream yet (the lock holder sees the table).
    let n: Option<u64> = locker
        .query_first(format!("SELECT COUNT(*) FROM {q}.t"))
        .await
        .expect("count");
    assert_eq!(n, Some(2));

    exec(&mut locker, "UNLOCK TABLES").await;
    drop(locker);
    let after = wait_idle_synced(&ferry, &task, &up).await;
    eprintln!("after the unlock: {after:#}");
    // 2 rows before, 5 inserts and 1 update while blocked.
    assert_eq!(after["totalRows"], "8", "{after:#}");
    let mut d = down.conn().await;
    assert_eq!(
        assert_tables_equal(&mut c, &mut d, (&db, "t"), (&db, "t")).await,
        7
    );
}
