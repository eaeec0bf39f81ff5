//! End-to-end tests of targets shaped differently from the upstream: pre-created target
//! tables with extra columns, another column order, their own auto-increment key, and a route
//! that merges two upstream tables into one target. Rows are written by column name (the
//! schema history gives the upstream columns at each binlog position). Every test ends by
//! comparing, for each table, the upstream's columns upstream and downstream.

use std::time::Duration;

use ferry_tests::data::exec;
use ferry_tests::ferry::path_str;
use ferry_tests::workload::{binlog_position, wait_caught_up};
use ferry_tests::*;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value};

const CATCH_UP: Duration = Duration::from_secs(180);

/// The rows of `cols` of `schema.table`, sorted (as text, NULL first).
async fn projected(c: &mut Conn, schema: &str, table: &str, cols: &[String]) -> Vec<Vec<Value>> {
    let list: Vec<String> = cols.iter().map(|c| quote_ident(c)).collect();
    let sql = format!(
        "SELECT {} FROM {}.{} ORDER BY {}",
        list.join(", "),
        quote_ident(schema),
        quote_ident(table),
        list.join(", ")
    );
    let rows: Vec<Row> = c.query(&sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.into_iter().map(Row::unwrap).collect()
}

/// Asserts that the upstream tables `ups` (schema, table) hold, together, exactly the rows of
/// the downstream table `down` over the upstream's columns.
async fn assert_projection_equal(
    u: &mut Conn,
    d: &mut Conn,
    ups: &[(&str, &str)],
    down: (&str, &str),
) -> usize {
    let cols: Vec<String> = table_columns(u, ups[0].0, ups[0].1)
        .await
        .into_iter()
        .map(|c| c.name)
        .collect();
    let mut want = Vec::new();
    for (s, t) in ups {
        want.extend(projected(u, s, t, &cols).await);
    }
    want.sort_by_key(|r| format!("{r:?}"));
    let mut got = projected(d, down.0, down.1, &cols).await;
    got.sort_by_key(|r| format!("{r:?}"));
    assert_eq!(
        got.len(),
        want.len(),
        "{}.{}: {} rows downstream, {} upstream",
        down.0,
        down.1,
        got.len(),
        want.len()
    );
    assert!(
        got == want,
        "{}.{} differs from {ups:?} over {cols:?}",
        down.0,
        down.1
    );
    got.len()
}

fn task_file(
    name: &str,
    mode: &str,
    down: &TestServer,
    dbs: &[&str],
    extra: &str,
    meta: &str,
) -> String {
    let list: Vec<String> = dbs.iter().map(|d| format!("\"{d}\"")).collect();
    format!(
        "name: \"{name}\"\ntask-mode: {mode}\n\
         target-database:\n  host: \"127.0.0.1\"\n  port: {}\n  user: \"root\"\n  password: \"\"\n\
         block-allow-list:\n  bal:\n    do-dbs: [{}]\n{extra}\
         mysql-instances:\n  - source-id: \"up\"\n    block-allow-list: \"bal\"\n{meta}",
        down.port(),
        list.join(", ")
    )
}

async fn changes(c: &mut Conn, db: &str, round: u32) {
    let q = quote_ident(db);
    for sql in [
        format!("INSERT INTO {q}.t_order (id, a, b, c) SELECT n + {round}000, n, CONCAT('b', n), n * 2 FROM {}", ferry_tests::data::seq(50)),
        format!("UPDATE {q}.t_order SET b = CONCAT(b, '+') WHERE id % 3 = {}", round % 3),
        format!("DELETE FROM {q}.t_order WHERE id % 11 = {}", round % 11),
        format!("INSERT INTO {q}.t_own_key (id, v) SELECT n + {round}000, CONCAT('v', n) FROM {}", ferry_tests::data::seq(40)),
        format!("UPDATE {q}.t_own_key SET v = CONCAT(v, '*') WHERE id % 4 = {}", round % 4),
        format!("DELETE FROM {q}.t_own_key WHERE id % 9 = {}", round % 9),
        format!("INSERT INTO {q}.k (a, b) SELECT n % 7, CONCAT('k', n + {round}) FROM {}", ferry_tests::data::seq(20)),
        format!("UPDATE {q}.k SET b = CONCAT(b, '#') WHERE a = {} LIMIT 3", round % 7),
        format!("DELETE FROM {q}.k WHERE a = {} LIMIT 2", (round + 3) % 7),
    ] {
        exec(c, &sql).await;
    }
}

/// Pre-created targets: another column order plus a column of the target's own; the
/// target's own auto-increment primary key with the upstream key as a unique key; a keyless
/// upstream table into a target with its own key. Copied, then replicated (DML and an
/// `ADD COLUMN`), compared over the upstream's columns; the target's own columns keep their
/// defaults.
async fn pre_created_targets(up_kind: DbKind, down_kind: DbKind) {
    let up = shared(up_kind, Role::Upstream);
    let down = shared(down_kind, Role::Downstream);
    let db = unique_db_name(&format!("shape_{up_kind}_{down_kind}"));
    let q = quote_ident(&db);
    let (mut u, mut d) = (up.conn().await, down.conn().await);
    create_database(&mut u, &db).await;
    create_database(&mut d, &db).await;
    for sql in [
        format!("CREATE TABLE {q}.t_order (id INT PRIMARY KEY, a INT, b VARCHAR(40), c BIGINT)"),
        format!("CREATE TABLE {q}.t_own_key (id INT NOT NULL PRIMARY KEY, v VARCHAR(40))"),
        format!("CREATE TABLE {q}.k (a INT, b VARCHAR(40))"),
    ] {
        exec(&mut u, &sql).await;
    }
    for sql in [
        format!("CREATE TABLE {q}.t_order (c BIGINT, note VARCHAR(10) NOT NULL DEFAULT 'x', b VARCHAR(40), id INT PRIMARY KEY, a INT)"),
        format!("CREATE TABLE {q}.t_own_key (row_id BIGINT AUTO_INCREMENT PRIMARY KEY, id INT NOT NULL, v VARCHAR(40), UNIQUE KEY (id))"),
        format!("CREATE TABLE {q}.k (row_id BIGINT AUTO_INCREMENT PRIMARY KEY, b VARCHAR(40), a INT)"),
    ] {
        exec(&mut d, &sql).await;
    }
    changes(&mut u, &db, 1).await;

    let ferry = Ferry::start_temp("shape");
    ferry.add_source("up", up).await;
    let task = format!("sh_{}", &db[db.len() - 4..]);
    let f = ferry.write_file("task.yaml", &task_file(&task, "all", down, &[&db], "", ""));
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;
    for round in 2..6 {
        changes(&mut u, &db, round).await;
    }
    wait_caught_up(&ferry, &task, up, CATCH_UP).await;
    // A column added upstream reaches the target (after its own columns) and is written by
    // name from then on.
    exec(
        &mut u,
        &format!("ALTER TABLE {q}.t_order ADD COLUMN e INT NOT NULL DEFAULT 5 AFTER a"),
    )
    .await;
    for round in 6..9 {
        changes(&mut u, &db, round).await;
        exec(
            &mut u,
            &format!(
                "UPDATE {q}.t_order SET e = id % 5 WHERE id % 2 = {}",
                round % 2
            ),
        )
        .await;
    }
    wait_caught_up(&ferry, &task, up, CATCH_UP).await;

    for t in ["t_order", "t_own_key", "k"] {
        let n = assert_projection_equal(&mut u, &mut d, &[(&db, t)], (&db, t)).await;
        assert!(n > 0, "{t} is empty");
    }
    let notes: Vec<String> = d
        .query(format!("SELECT DISTINCT note FROM {q}.t_order"))
        .await
        .unwrap();
    assert_eq!(notes, ["x"], "the target's own column keeps its default");
    let dup: Vec<u64> = d
        .query(format!(
            "SELECT COUNT(*) - COUNT(DISTINCT row_id) FROM {q}.k"
        ))
        .await
        .unwrap();
    assert_eq!(dup, [0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_created_targets_mysql_to_mariadb() {
    pre_created_targets(DbKind::Mysql, DbKind::Mariadb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_created_targets_mariadb_to_mysql() {
    pre_created_targets(DbKind::Mariadb, DbKind::Mysql).await;
}

/// Two upstream tables (shards) routed into one pre-created target that has a column of its
/// own and another column order: the target holds the union of both, through the copy and
/// replication.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_merges_two_upstream_tables_into_one_target() {
    let up = shared(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let base = unique_db_name("merge");
    let (s1, s2, target) = (
        format!("{base}_1"),
        format!("{base}_2"),
        format!("{base}_all"),
    );
    let (mut u, mut d) = (up.conn().await, down.conn().await);
    for (i, s) in [&s1, &s2].into_iter().enumerate() {
        create_database(&mut u, s).await;
        exec(
            &mut u,
            &format!(
                "CREATE TABLE {}.t (id INT PRIMARY KEY, v VARCHAR(20), n INT)",
                quote_ident(s)
            ),
        )
        .await;
        exec(
            &mut u,
            &format!(
                "INSERT INTO {}.t SELECT n + {}, CONCAT('s{i}-', n), n FROM {}",
                quote_ident(s),
                i * 1_000_000,
                ferry_tests::data::seq(300)
            ),
        )
        .await;
    }
    create_database(&mut d, &target).await;
    exec(&mut d, &format!("CREATE TABLE {}.t (n INT, id INT PRIMARY KEY, src VARCHAR(8) NOT NULL DEFAULT 'shard', v VARCHAR(20))", quote_ident(&target))).await;

    let ferry = Ferry::start_temp("merge");
    ferry.add_source("up", up).await;
    let task = format!("mg_{}", &base[base.len() - 4..]);
    let routes = format!(
        "routes:\n  r:\n    schema-pattern: \"{base}_*\"\n    table-pattern: \"t\"\n    target-schema: \"{target}\"\n    target-table: \"t\"\n  rs:\n    schema-pattern: \"{base}_*\"\n    target-schema: \"{target}\"\n"
    );
    let yaml = task_file(
        &task,
        "all",
        down,
        &[&s1, &s2],
        &routes,
        "    route-rules: [\"r\", \"rs\"]\n",
    );
    let f = ferry.write_file("task.yaml", &yaml);
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;
    // The changes below go through replication, not the copy.
    wait_until(Duration::from_secs(120), "the task replicates", || async {
        ferry.query_status(&task).await.is_some_and(|st| {
            ferry_tests::ferry::subtasks(&st)
                .first()
                .is_some_and(|s| s["unit"] == "Sync")
        })
    })
    .await;
    for (i, s) in [&s1, &s2].into_iter().enumerate() {
        let q = quote_ident(s);
        exec(
            &mut u,
            &format!("UPDATE {q}.t SET v = CONCAT(v, '!') WHERE id % 5 = {i}"),
        )
        .await;
        exec(&mut u, &format!("DELETE FROM {q}.t WHERE id % 7 = {i}")).await;
        exec(
            &mut u,
            &format!(
                "INSERT INTO {q}.t VALUES ({}, 'new', 1)",
                500 + i * 1_000_000
            ),
        )
        .await;
    }
    wait_caught_up(&ferry, &task, up, CATCH_UP).await;
    let n =
        assert_projection_equal(&mut u, &mut d, &[(&s1, "t"), (&s2, "t")], (&target, "t")).await;
    assert!(n > 500, "{n} rows");
}

/// An upstream column the target does not have pauses the task with an error naming both
/// tables and the column; once the column is added downstream, resume-task completes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_column_the_target_lacks_pauses_naming_both_tables() {
    let up = shared(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let db = unique_db_name("lacks");
    let q = quote_ident(&db);
    let (mut u, mut d) = (up.conn().await, down.conn().await);
    create_database(&mut u, &db).await;
    create_database(&mut d, &db).await;
    exec(
        &mut u,
        &format!("CREATE TABLE {q}.t (id INT PRIMARY KEY, a INT, extra_up VARCHAR(10))"),
    )
    .await;
    exec(
        &mut d,
        &format!("CREATE TABLE {q}.t (a INT, id INT PRIMARY KEY)"),
    )
    .await;
    let (file, pos) = binlog_position(up).await;
    let ferry = Ferry::start_temp("lacks");
    ferry.add_source("up", up).await;
    let task = format!("lk_{}", &db[db.len() - 4..]);
    let meta = format!("    meta:\n      binlog-name: \"{file}\"\n      binlog-pos: {pos}\n");
    let f = ferry.write_file(
        "task.yaml",
        &task_file(&task, "incremental", down, &[&db], "", &meta),
    );
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;
    exec(
        &mut u,
        &format!("INSERT INTO {q}.t VALUES (1, 10, 'x'), (2, 20, NULL)"),
    )
    .await;
    let err = ferry.wait_paused_error(&task).await;
    for part in ["`extra_up`", &format!("{q}.`t`"), "resume-task"] {
        assert!(err.contains(part), "`{part}` not in: {err}");
    }
    exec(
        &mut d,
        &format!("ALTER TABLE {q}.t ADD COLUMN extra_up VARCHAR(10)"),
    )
    .await;
    ferry.ctl_ok(&["resume-task", &task]).await;
    wait_caught_up(&ferry, &task, up, CATCH_UP).await;
    let n = assert_projection_equal(&mut u, &mut d, &[(&db, "t")], (&db, "t")).await;
    assert_eq!(n, 2);
}

/// An incremental task that starts before an `ADD COLUMN`: the history, read from the
/// upstream as it is now, has the new column, so the first (older) rows do not fit and the
/// task pauses naming `binlog-schema update`. Setting the definition as of the start
/// position with it (and resuming) replicates everything, the `ADD COLUMN` included;
/// `list` shows the definitions and `delete` removes one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binlog_schema_update_repairs_a_history_read_after_the_start() {
    let up = shared(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let db = unique_db_name("bschema");
    let q = quote_ident(&db);
    let (mut u, mut d) = (up.conn().await, down.conn().await);
    create_database(&mut u, &db).await;
    create_database(&mut d, &db).await;
    exec(
        &mut u,
        &format!("CREATE TABLE {q}.t (id INT PRIMARY KEY, a INT)"),
    )
    .await;
    exec(
        &mut d,
        &format!("CREATE TABLE {q}.t (id INT PRIMARY KEY, a INT)"),
    )
    .await;
    let (file, pos) = binlog_position(up).await;
    exec(
        &mut u,
        &format!("INSERT INTO {q}.t VALUES (1, 10), (2, 20)"),
    )
    .await;
    exec(
        &mut u,
        &format!("ALTER TABLE {q}.t ADD COLUMN b VARCHAR(10) DEFAULT 'new'"),
    )
    .await;
    exec(&mut u, &format!("INSERT INTO {q}.t VALUES (3, 30, 'x')")).await;
    exec(&mut u, &format!("UPDATE {q}.t SET a = a + 1 WHERE id = 1")).await;

    let ferry = Ferry::start_temp("bschema");
    ferry.add_source("up", up).await;
    let task = format!("bs_{}", &db[db.len() - 4..]);
    let meta = format!("    meta:\n      binlog-name: \"{file}\"\n      binlog-pos: {pos}\n");
    let f = ferry.write_file(
        "task.yaml",
        &task_file(&task, "incremental", down, &[&db], "", &meta),
    );
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;
    let err = ferry.wait_paused_error(&task).await;
    assert!(
        err.contains("binlog-schema update") && err.contains("2 columns"),
        "{err}"
    );
    let listed = ferry
        .ctl_ok(&["binlog-schema", "list", &task, &db, "t"])
        .await;
    let shown = listed["schema"].as_str().unwrap_or_default().to_string();
    assert!(shown.contains("`b`"), "{listed:#}");
    // Changes need the task paused: it is.
    let def = ferry.write_file(
        "t.sql",
        "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, a INT)",
    );
    let set = ferry
        .ctl_ok(&["binlog-schema", "update", &task, &db, "t", path_str(&def)])
        .await;
    assert!(
        !set["schema"].as_str().unwrap_or_default().contains("`b`"),
        "{set:#}"
    );
    ferry.ctl_ok(&["resume-task", &task]).await;
    wait_caught_up(&ferry, &task, up, CATCH_UP).await;
    assert_schemas_equal(&mut u, &mut d, &db, &db).await;
    // While running, changes are refused; paused, a table can be removed from the history.
    let out = ferry
        .ctl(&["binlog-schema", "delete", &task, &db, "t"])
        .await;
    assert!(
        !out.ok && out.text().contains("pause-task"),
        "{}",
        out.text()
    );
    ferry.ctl_ok(&["pause-task", &task]).await;
    ferry
        .ctl_ok(&["binlog-schema", "delete", &task, &db, "t"])
        .await;
    let listed = ferry
        .ctl_ok(&["binlog-schema", "list", &task, &db, "t"])
        .await;
    assert!(listed["schema"].is_null(), "{listed:#}");
}

/// With `binlog_row_metadata=FULL` the table map carries the column names, and the schema
/// history is checked against them: a history read after a `RENAME COLUMN` (same width,
/// another name) pauses the task naming both lists instead of writing by the wrong names;
/// once `binlog-schema update` sets the definition of the start position, the task replays
/// the rename and ends equal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_row_metadata_cross_checks_the_history() {
    // The test upstreams run with binlog_row_metadata=FULL (../shared/dbs/start.sh).
    let up = shared(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let db = unique_db_name("fullmeta");
    let q = quote_ident(&db);
    let (mut u, mut d) = (up.conn().await, down.conn().await);
    create_database(&mut u, &db).await;
    create_database(&mut d, &db).await;
    exec(
        &mut u,
        &format!("CREATE TABLE {q}.t (id INT PRIMARY KEY, a INT)"),
    )
    .await;
    exec(
        &mut d,
        &format!("CREATE TABLE {q}.t (id INT PRIMARY KEY, a INT)"),
    )
    .await;
    let (file, pos) = binlog_position(up).await;
    exec(
        &mut u,
        &format!("INSERT INTO {q}.t VALUES (1, 10), (2, 20)"),
    )
    .await;
    exec(&mut u, &format!("ALTER TABLE {q}.t RENAME COLUMN a TO a2")).await;
    exec(&mut u, &format!("INSERT INTO {q}.t VALUES (3, 30)")).await;

    let ferry = Ferry::start_temp("fullmeta");
    ferry.add_source("up", up).await;
    let task = format!("fm_{}", &db[db.len() - 4..]);
    let meta = format!("    meta:\n      binlog-name: \"{file}\"\n      binlog-pos: {pos}\n");
    let f = ferry.write_file(
        "task.yaml",
        &task_file(&task, "incremental", down, &[&db], "", &meta),
    );
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;
    let err = ferry.wait_paused_error(&task).await;
    assert!(
        err.contains("table map names the columns (`id`, `a`)") && err.contains("`a2`"),
        "{err}"
    );
    let def = ferry.write_file(
        "t.sql",
        "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, a INT)",
    );
    ferry
        .ctl_ok(&["binlog-schema", "update", &task, &db, "t", path_str(&def)])
        .await;
    ferry.ctl_ok(&["resume-task", &task]).await;
    wait_caught_up(&ferry, &task, up, CATCH_UP).await;
    assert_schemas_equal(&mut u, &mut d, &db, &db).await;
}
