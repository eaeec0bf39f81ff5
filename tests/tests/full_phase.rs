//! End-to-end tests of the full phase (dump + load) through the real `ferryd` and
//! `ferryctl`, against real MySQL 9.7 / MariaDB 10.11 servers. Every scenario ends by
//! comparing each migrated table row by row with its upstream table.
//!
//! Servers are shared by the whole binary (each test uses its own databases); each test
//! runs its own `ferryd` with its own data dir, and its own task names (the downstream
//! ledger `dm_meta.<task>_load_chunks` is per task).

use std::time::Duration;

use ferry_tests::data::*;
use ferry_tests::ferry::{path_str, subtasks, task_yaml};
use ferry_tests::*;
use serde_json::Value;

const FINISH: Duration = Duration::from_secs(120);

/// A task name unique on the shared downstream (the ledger table is named after it).
fn task_name(prefix: &str) -> String {
    unique_db_name(prefix)
}

/// The `load` status of the only subtask of a finished task.
fn load_status(status: &Value) -> Value {
    let subs = subtasks(status);
    assert_eq!(subs.len(), 1, "one subtask expected: {status:#}");
    subs[0]["load"].clone()
}

// ---------------------------------------------------------------------------------------
// 1. Keys of every kind, several chunks per table, threads 4.
// ---------------------------------------------------------------------------------------

async fn copy_key_tables(up_kind: DbKind, down_kind: DbKind) {
    let up = shared(up_kind, Role::Upstream);
    let down = shared(down_kind, Role::Downstream);
    let db = unique_db_name(&format!("keys_{up_kind}_{down_kind}"));
    let mut u = up.conn().await;
    let tables = create_key_tables(&mut u, &db, 3500).await;

    let ferry = Ferry::start_temp("keys");
    ferry.add_source("up", up).await;
    let task = task_name("keys");
    let yaml = task_yaml(
        &task,
        down,
        &format!(
            r#"block-allow-list:
  ba:
    do-dbs: ["{db}"]
mydumpers:
  d:
    threads: 4
    rows: 1000
    extra-args: "--consistency none"
loaders:
  l:
    pool-size: 4
mysql-instances:
  - source-id: "up"
    block-allow-list: "ba"
    mydumper-config-name: "d"
    loader-config-name: "l"
"#
        ),
    );
    let status = ferry.run_full_task(&task, &yaml, FINISH).await;

    let mut d = down.conn().await;
    let rows = assert_schema_copied(&mut u, &mut d, &db, &db).await;
    assert_eq!(rows, 5 * 3500, "{tables:?}");

    // Several chunks per keyed table; the ledger holds one row per chunk of the plan.
    let load = load_status(&status);
    let total = load["totalChunks"].as_u64().expect("totalChunks");
    assert_eq!(load["finishedChunks"].as_u64(), Some(total), "{load:#}");
    assert_eq!(load["progress"], "100.00 %", "{load:#}");
    let ledger = ledger(&mut d, &task).await;
    assert_eq!(ledger.len() as u64, total, "{ledger:#?}");
    // Chunks follow the estimated row counts (sampled statistics, which can be off by
    // half): at least two chunks per keyed table.
    for t in ["composite", "strpk", "uniq_only", "autoinc"] {
        let chunks = ledger.iter().filter(|r| r.table == t).count();
        assert!(
            chunks >= 2,
            "{t}: {chunks} chunk(s) with rows: 1000 and 3500 rows"
        );
    }
    assert!(total >= 10, "{total} chunks in all");
    let ledger_rows: u64 = ledger.iter().map(|r| r.rows).sum();
    assert_eq!(ledger_rows, 5 * 3500, "{ledger:#?}");
}

#[tokio::test]
async fn keys_mysql_to_mariadb() {
    copy_key_tables(DbKind::Mysql, DbKind::Mariadb).await;
}

#[tokio::test]
async fn keys_mariadb_to_mariadb() {
    copy_key_tables(DbKind::Mariadb, DbKind::Mariadb).await;
}

/// MySQL 9.7 downstream has `local_infile=OFF`: this exercises the INSERT path.
#[tokio::test]
async fn keys_mysql_to_mysql() {
    copy_key_tables(DbKind::Mysql, DbKind::Mysql).await;
}

/// A one-source task selecting `dbs` (exact names), with optional extra text per block.
fn simple_task(name: &str, down: &TestServer, dbs: &[&str], dumper_extra: &str) -> String {
    let list: Vec<String> = dbs.iter().map(|d| format!("\"{d}\"")).collect();
    task_yaml(
        name,
        down,
        &format!(
            r#"block-allow-list:
  ba:
    do-dbs: [{}]
mydumpers:
  d:
    threads: 2
{dumper_extra}mysql-instances:
  - source-id: "up"
    block-allow-list: "ba"
    mydumper-config-name: "d"
"#,
            list.join(", ")
        ),
    )
}

// ---------------------------------------------------------------------------------------
// 2. The type matrix.
// ---------------------------------------------------------------------------------------

async fn copy_type_matrix(up_kind: DbKind, down_kind: DbKind) {
    let up = shared(up_kind, Role::Upstream);
    let down = shared(down_kind, Role::Downstream);
    let db = unique_db_name(&format!("types_{up_kind}_{down_kind}"));
    let mut u = up.conn().await;
    load_type_matrix(&mut u, &db).await;

    let ferry = Ferry::start_temp("types");
    ferry.add_source("up", up).await;
    let task = task_name("types");
    let yaml = simple_task(
        &task,
        down,
        &[&db],
        "    extra-args: \"--consistency auto\"\n",
    );
    ferry.run_full_task(&task, &yaml, FINISH).await;

    let mut d = down.conn().await;
    assert_tables_match(
        &mut u,
        &mut d,
        &db,
        TYPE_MATRIX_TABLES,
        &format!("{up_kind} -> {down_kind}"),
    )
    .await;
}

#[tokio::test]
async fn type_matrix_mysql_to_mariadb() {
    copy_type_matrix(DbKind::Mysql, DbKind::Mariadb).await;
}

#[tokio::test]
async fn type_matrix_mariadb_to_mariadb() {
    copy_type_matrix(DbKind::Mariadb, DbKind::Mariadb).await;
}

/// INSERT path (MySQL 9.7 downstream has local_infile=OFF).
#[tokio::test]
async fn type_matrix_mysql_to_mysql() {
    copy_type_matrix(DbKind::Mysql, DbKind::Mysql).await;
}

// ---------------------------------------------------------------------------------------
// 3. The seed guide's files, verbatim except the ports.
// ---------------------------------------------------------------------------------------

/// `config/tests/fixtures/<name>`.
fn seed_file(name: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../config/tests/fixtures")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Replaces the value of every `port:` line (keeping indentation and comments).
fn with_port(text: &str, port: u16) -> String {
    let mut replaced = 0;
    let out: Vec<String> = text
        .lines()
        .map(|l| {
            let t = l.trim_start();
            if let Some(rest) = t.strip_prefix("port:") {
                replaced += 1;
                let indent = &l[..l.len() - t.len()];
                let comment = rest.find('#').map(|i| &rest[i..]).unwrap_or("");
                format!("{indent}port: {port} {comment}")
                    .trim_end()
                    .to_string()
            } else {
                l.to_string()
            }
        })
        .collect();
    assert_eq!(replaced, 1, "one port line expected in:\n{text}");
    out.join("\n") + "\n"
}

const SEED_ENV: &[(&str, &str)] = &[
    ("host", "127.0.0.1"),
    ("username", "root"),
    ("password", ""),
];

/// source1.yaml + task1.yaml (task-mode full, selects test_db.test_table): check-task,
/// start-task, Finished, and only test_table is copied.
#[tokio::test]
async fn seed_task1_copies_only_test_table() {
    let up = shared(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let mut u = up.conn().await;
    for sql in [
        "CREATE DATABASE IF NOT EXISTS test_db",
        "DROP TABLE IF EXISTS test_db.test_table, test_db.other_table",
        "CREATE TABLE test_db.test_table (id INT PRIMARY KEY, name VARCHAR(50), \
         created DATETIME(6), amount DECIMAL(12,2))",
        "CREATE TABLE test_db.other_table (id INT PRIMARY KEY, v VARCHAR(10))",
        "INSERT INTO test_db.other_table VALUES (1, 'no'), (2, 'never')",
    ] {
        exec(&mut u, sql).await;
    }
    exec(
        &mut u,
        &format!(
            "INSERT INTO test_db.test_table SELECT n, CONCAT('name ', n), \
             TIMESTAMP('2024-01-01 00:00:00.123456') + INTERVAL n HOUR, n * 1.25 FROM {}",
            seed_seq()
        ),
    )
    .await;

    let ferry = Ferry::start_temp("seed1");
    let source = ferry.write_file(
        "source1.yaml",
        &with_port(&seed_file("source1.yaml"), up.port()),
    );
    let task = ferry.write_file(
        "task1.yaml",
        &with_port(&seed_file("task1.yaml"), down.port()),
    );
    let (source, task) = (path_str(&source), path_str(&task));

    let created = ferry
        .ctl_env(&["operate-source", "create", source], SEED_ENV)
        .await;
    assert!(created.ok, "{created}");
    let shown = ferry.ctl_ok(&["operate-source", "show"]).await;
    assert_eq!(shown["sources"][0]["source"], "Aurora-A", "{shown:#}");

    let check = ferry.ctl_env(&["check-task", task], SEED_ENV).await;
    assert!(check.ok, "{check}");
    assert_eq!(check.json["result"], true, "{check}");
    assert_eq!(check.json["summary"]["failed"], 0, "{check}");
    let items = check.json["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!items.is_empty(), "{check}");
    for item in &items {
        assert_ne!(item["state"], "fail", "{item:#}");
    }

    let started = ferry.ctl_env(&["start-task", task], SEED_ENV).await;
    assert!(started.ok, "{started}");
    ferry.wait_stage("task1", "Finished", FINISH).await;

    let mut d = down.conn().await;
    assert_eq!(list_tables(&mut d, "test_db").await, ["test_table"]);
    let rows = assert_tables_equal(
        &mut u,
        &mut d,
        ("test_db", "test_table"),
        ("test_db", "test_table"),
    )
    .await;
    assert_eq!(rows, 1000);
}

fn seed_seq() -> String {
    seq(1000)
}

// ---------------------------------------------------------------------------------------
// 4. block-allow-list and routes.
// ---------------------------------------------------------------------------------------

/// Creates `db.table` (id INT PRIMARY KEY, v VARCHAR) with ids `first..first+count`.
async fn small_table(conn: &mut mysql_async::Conn, db: &str, table: &str, first: u64, count: u64) {
    create_database(conn, db).await;
    let t = format!("{}.{}", quote_ident(db), quote_ident(table));
    exec(
        conn,
        &format!("CREATE TABLE {t} (id INT NOT NULL PRIMARY KEY, v VARCHAR(40))"),
    )
    .await;
    exec(
        conn,
        &format!(
            "INSERT INTO {t} SELECT n + {first}, CONCAT('{table} ', n) FROM {}",
            seq(count)
        ),
    )
    .await;
}

/// Two sources, each with its own block-allow-list:
///
/// * MySQL (`up`): `do-dbs` with a wildcard and a `~` regex, `ignore-tables` with a
///   wildcard and a `~` regex (no `do-tables`, so `ignore-tables` applies);
/// * MariaDB (`up2`): `do-tables` with `~` regexes only.
///
/// Routes: one renames a schema and a table, one merges shard tables of both sources
/// (disjoint keys) into one target table. Note DM's rule: a table matching `do-tables`
/// is kept even if it also matches `ignore-tables`.
#[tokio::test]
async fn block_allow_list_and_routes() {
    let up = shared(DbKind::Mysql, Role::Upstream);
    let up2 = shared(DbKind::Mariadb, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    // A common prefix, unique to this test, so that the patterns match only our schemas.
    let p = unique_db_name("bar");
    let db = |s: &str| format!("{p}_{s}");
    let (app1, app2, shard1, shard2, shard3) = (
        db("app1"),
        db("app2"),
        db("shard_01"),
        db("shard_02"),
        db("shard_03"),
    );
    let mut u = up.conn().await;
    small_table(&mut u, &app1, "users", 0, 300).await;
    small_table(&mut u, &app1, "log_2024", 0, 50).await; // ignore-tables (wildcard)
    small_table(&mut u, &app1, "orders", 0, 200).await;
    small_table(&mut u, &app2, "users", 0, 120).await; // renamed
    small_table(&mut u, &app2, "tmp_x", 0, 10).await; // ignore-tables (regex)
    small_table(&mut u, &db("app10"), "users", 0, 3).await; // `app?`: one character only
    small_table(&mut u, &shard1, "t_1", 0, 400).await; // merged
    small_table(&mut u, &shard2, "t_2", 1000, 350).await; // merged
    small_table(&mut u, &db("shard_1x"), "t_9", 0, 5).await; // not matched by the regex
    small_table(&mut u, &db("other"), "users", 0, 7).await; // not in do-dbs
    let mut u2 = up2.conn().await;
    small_table(&mut u2, &shard3, "t_3", 2000, 250).await; // merged (second source)
    small_table(&mut u2, &shard3, "t_x", 0, 4).await; // not matched by do-tables
    small_table(&mut u2, &shard3, "keep", 0, 5).await; // not matched by do-tables
    small_table(&mut u2, &db("app1"), "users", 5000, 6).await; // not matched by do-tables

    let renamed = db("renamed");
    let merged = db("merged");
    let task = task_name("bar");
    let yaml = task_yaml(
        &task,
        down,
        &format!(
            r#"block-allow-list:
  ba-mysql:
    do-dbs: ["{p}_app?", "~^{p}_shard_0[0-9]$"]
    ignore-tables:
    - db-name: "{app1}"
      tbl-name: "log_*"
    - db-name: "~^{p}_app"
      tbl-name: "~^tmp_"
  ba-mariadb:
    do-tables:
    - db-name: "~^{p}_shard_.*"
      tbl-name: "~^t_[0-9]+$"
routes:
  app2-rename:
    schema-pattern: "{app2}"
    table-pattern: "users"
    target-schema: "{renamed}"
    target-table: "people"
  shard-merge:
    schema-pattern: "{p}_shard_*"
    table-pattern: "t_*"
    target-schema: "{merged}"
    target-table: "t_all"
mydumpers:
  d:
    threads: 2
    rows: 100
    extra-args: "--consistency none"
mysql-instances:
  - source-id: "up"
    block-allow-list: "ba-mysql"
    route-rules: ["app2-rename", "shard-merge"]
    mydumper-config-name: "d"
  - source-id: "up2"
    block-allow-list: "ba-mariadb"
    route-rules: ["shard-merge"]
    mydumper-config-name: "d"
"#
        ),
    );
    let ferry = Ferry::start_temp("bar");
    ferry.add_source("up", up).await;
    ferry.add_source("up2", up2).await;
    let status = ferry.run_full_task(&task, &yaml, FINISH).await;
    assert_eq!(subtasks(&status).len(), 2, "{status:#}");

    let mut d = down.conn().await;
    // Exactly the expected target schemas and tables.
    let mut expected_schemas = vec![app1.clone(), merged.clone(), renamed.clone()];
    expected_schemas.sort();
    assert_eq!(schemas_like(&mut d, &p).await, expected_schemas);
    assert_eq!(list_tables(&mut d, &app1).await, ["orders", "users"]);
    assert_eq!(list_tables(&mut d, &renamed).await, ["people"]);
    assert_eq!(list_tables(&mut d, &merged).await, ["t_all"]);

    for t in ["orders", "users"] {
        assert_tables_equal(&mut u, &mut d, (&app1, t), (&app1, t)).await;
    }
    let n = assert_tables_equal(&mut u, &mut d, (&app2, "users"), (&renamed, "people")).await;
    assert_eq!(n, 120);

    // The merged table holds the union of the three shards (the MariaDB shard is
    // generated again on MySQL to build the expected union there).
    let union = unique_db_name("bar_union");
    small_table(&mut u, &union, "t_3", 2000, 250).await;
    exec(
        &mut u,
        &format!(
            "CREATE TABLE {u}.t_all (id INT NOT NULL PRIMARY KEY, v VARCHAR(40)) \
             SELECT * FROM {s1}.t_1 UNION ALL SELECT * FROM {s2}.t_2 \
             UNION ALL SELECT * FROM {u}.t_3",
            u = quote_ident(&union),
            s1 = quote_ident(&shard1),
            s2 = quote_ident(&shard2)
        ),
    )
    .await;
    let n = assert_tables_equal(&mut u, &mut d, (&union, "t_all"), (&merged, "t_all")).await;
    assert_eq!(n, 400 + 350 + 250);
}

// ---------------------------------------------------------------------------------------
// Chunking when the table statistics are stale.
// ---------------------------------------------------------------------------------------

/// Ferry sizes chunks from `information_schema.TABLES.TABLE_ROWS`. When InnoDB's
/// persisted statistics are stale (here: they say 0 rows, as for a table analysed while
/// empty, loaded, and then reopened, e.g. after FLUSH TABLES WITH READ LOCK), TABLE_ROWS
/// is 1 and Ferry copies a 20 000-row table as ONE chunk despite `rows: 1000`: a crash
/// then restarts the whole table. The planner must not trust a tiny estimate (the
/// integer key's MIN/MAX, or the index walk, give a real split).
#[tokio::test]
async fn stale_statistics_still_split_big_tables() {
    let up = shared(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let db = unique_db_name("stale");
    let mut u = up.conn().await;
    create_database(&mut u, &db).await;
    let t = format!("{}.big", quote_ident(&db));
    for sql in [
        format!(
            "CREATE TABLE {t} (id INT NOT NULL PRIMARY KEY, v VARCHAR(20)) \
             STATS_PERSISTENT=1 STATS_AUTO_RECALC=0"
        ),
        format!(
            "INSERT INTO {t} SELECT n, CONCAT('v', n) FROM {}",
            seq(20_000)
        ),
        format!("ANALYZE TABLE {t}"),
        format!(
            "UPDATE mysql.innodb_table_stats SET n_rows = 0 \
             WHERE database_name = '{db}' AND table_name = 'big'"
        ),
        format!("FLUSH TABLES {t}"),
    ] {
        exec(&mut u, &sql).await;
    }

    let ferry = Ferry::start_temp("stale");
    ferry.add_source("up", up).await;
    let task = task_name("stale");
    let yaml = simple_task(
        &task,
        down,
        &[&db],
        "    rows: 1000\n    extra-args: \"--consistency none\"\n",
    );
    let status = ferry.run_full_task(&task, &yaml, FINISH).await;
    let mut d = down.conn().await;
    assert_schema_copied(&mut u, &mut d, &db, &db).await;
    let total = load_status(&status)["totalChunks"].as_u64().unwrap_or(0);
    assert!(
        total >= 10,
        "20 000 rows with rows: 1000 were planned as {total} chunk(s)"
    );
}

// ---------------------------------------------------------------------------------------
// 6. Sources that cannot be reached, wrong passwords, unregistered sources.
// ---------------------------------------------------------------------------------------

/// `operate-source show` lists no source.
async fn assert_no_source(ferry: &Ferry) {
    let shown = ferry.ctl_ok(&["operate-source", "show"]).await;
    assert_eq!(
        shown["sources"].as_array().map(Vec::len),
        Some(0),
        "no source may be registered: {shown:#}"
    );
}

#[tokio::test]
async fn unreachable_upstream_registers_nothing() {
    let ferry = Ferry::start_temp("unreach");
    // A port nothing listens on (checked free, and kept reserved meanwhile).
    let port = reserve_port().expect("a free port");
    let file = ferry.write_file(
        "source.yaml",
        &format!(
            "source-id: \"gone\"\nfrom:\n  host: \"127.0.0.1\"\n  port: {port}\n  user: \"root\"\n  password: \"\"\n"
        ),
    );
    let out = ferry
        .ctl(&["operate-source", "create", path_str(&file)])
        .await;
    release_port(port);
    assert!(!out.ok, "{out}");
    assert!(
        out.text().contains(&format!("127.0.0.1:{port}")),
        "the error must name host:port: {out}"
    );
    assert_no_source(&ferry).await;
}

#[tokio::test]
async fn wrong_password_registers_nothing() {
    let ferry = Ferry::start_temp("passwd");
    for kind in [DbKind::Mysql, DbKind::Mariadb] {
        let up = shared(kind, Role::Upstream);
        let user = unique_db_name("u");
        let mut u = up.conn().await;
        exec(
            &mut u,
            &format!("CREATE USER '{user}'@'%' IDENTIFIED BY 'pw-{user}'"),
        )
        .await;
        exec(&mut u, &format!("GRANT ALL ON *.* TO '{user}'@'%'")).await;
        let source = |id: &str, password: &str| {
            format!(
                "source-id: \"{id}\"\nfrom:\n  host: \"127.0.0.1\"\n  port: {}\n  user: \"{user}\"\n  password: \"{password}\"\n",
                up.port()
            )
        };
        let bad = ferry.write_file("bad.yaml", &source("bad", "wrong"));
        let out = ferry
            .ctl(&["operate-source", "create", path_str(&bad)])
            .await;
        assert!(!out.ok, "{kind}: {out}");
        let text = out.text();
        assert!(
            text.contains(&format!("127.0.0.1:{}", up.port())),
            "{kind}: the error must name host:port: {out}"
        );
        assert!(
            text.contains("Access denied") && text.contains(&user),
            "{kind}: the error must say why: {out}"
        );
        assert_no_source(&ferry).await;

        // The right password works (MySQL 9.7: caching_sha2_password, first login).
        let good = ferry.write_file("good.yaml", &source("good", &format!("pw-{user}")));
        let out = ferry
            .ctl(&["operate-source", "create", path_str(&good)])
            .await;
        assert!(out.ok, "{kind}: {out}");
        let shown = ferry.ctl_ok(&["operate-source", "show"]).await;
        assert_eq!(shown["sources"][0]["source"], "good", "{shown:#}");
        ferry.ctl_ok(&["operate-source", "stop", "good"]).await;
        assert_no_source(&ferry).await;
    }
}

#[tokio::test]
async fn task_of_an_unregistered_source_is_refused() {
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let ferry = Ferry::start_temp("ghost");
    let task = task_name("ghost");
    let yaml = task_yaml(
        &task,
        down,
        "mysql-instances:\n  - source-id: \"ghost-source\"\n",
    );
    let file = ferry.write_file("task.yaml", &yaml);
    let out = ferry.ctl(&["start-task", path_str(&file)]).await;
    assert!(!out.ok, "{out}");
    let text = out.text();
    assert!(
        text.contains("ghost-source") && text.contains("not a registered source"),
        "the error must name the source and the cause: {out}"
    );
    let status = ferry.ctl(&["query-status", &task]).await;
    assert!(!status.ok, "no task may exist: {status}");
    assert!(status.text().contains("does not exist"), "{status}");
    let all = ferry.ctl_ok(&["query-status"]).await;
    assert_eq!(all["tasks"].as_array().map(Vec::len), Some(0), "{all:#}");
}
