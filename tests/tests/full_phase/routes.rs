//! block-allow-list and routes over two sources.

use super::*;

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
