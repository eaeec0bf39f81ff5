//! The filter and router stages on the binlog: block-allow-list exclusions, event filter rules
//! (`Ignore` and `Error`) and routes merging shard tables, on changes made after the copy.

use super::*;
use ferry_tests::data::count_rows;
use ferry_tests::ferry::task_yaml;
use mysql_async::prelude::Queryable;

async fn table(c: &mut mysql_async::Conn, q: &str, name: &str, first: u32) {
    exec(
        c,
        &format!("CREATE TABLE {q}.{name} (id INT PRIMARY KEY, v VARCHAR(20))"),
    )
    .await;
    exec(
        c,
        &format!(
            "INSERT INTO {q}.{name} VALUES ({first}, 'a'), ({}, 'b'), ({}, 'c')",
            first + 1,
            first + 2
        ),
    )
    .await;
}

async fn value(c: &mut mysql_async::Conn, sql: &str) -> Option<String> {
    c.query_first(sql)
        .await
        .unwrap_or_else(|e| panic!("{e}: {sql}"))
}

/// Changes after the full phase pass the filter and router stages: an excluded table's
/// changes and the deletes an `Ignore` rule names are dropped, shard tables merge into one
/// target, and an update an `Error` rule refuses pauses the task naming the rule, the table
/// and the position.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binlog_rows_are_filtered_and_routed() {
    let up = shared(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let db = unique_db_name("rowf");
    let merged = format!("{db}_m");
    let q = quote_ident(&db);
    let mut c = up.conn().await;
    create_database(&mut c, &db).await;
    for (name, first) in [
        ("orders", 1),
        ("ledger", 1),
        ("audit", 1),
        ("s_1", 1),
        ("s_2", 101),
    ] {
        table(&mut c, &q, name, first).await;
    }

    let ferry = Ferry::start_temp("rowf");
    ferry.add_source("up", up).await;
    let task = format!("rowf_{}", &db[db.len() - 4..]);
    let yaml = task_yaml(
        &task,
        down,
        &format!(
            r#"block-allow-list:
  bal:
    do-dbs: ["{db}"]
    ignore-tables:
    - db-name: "{db}"
      tbl-name: "audit"
routes:
  merge:
    schema-pattern: "{db}"
    table-pattern: "s_*"
    target-schema: "{merged}"
    target-table: "all_s"
filters:
  keep-orders:
    schema-pattern: "{db}"
    table-pattern: "orders"
    events: ["delete"]
    action: Ignore
  guard-ledger:
    schema-pattern: "{db}"
    table-pattern: "ledger"
    events: ["update"]
    action: Error
mysql-instances:
  - source-id: "up"
    block-allow-list: "bal"
    route-rules: ["merge"]
    filter-rules: ["keep-orders", "guard-ledger"]
"#
        ),
    )
    .replace("task-mode: full", "task-mode: all");
    let f = ferry.write_file("task.yaml", &yaml);
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;
    ferry.wait_stage(&task, "Running", CATCH_UP).await;
    wait_caught_up(&ferry, &task, up, CATCH_UP).await;

    for sql in [
        format!("INSERT INTO {q}.orders VALUES (10, 'n'), (11, 'n')"),
        format!("DELETE FROM {q}.orders WHERE id <= 2"),
        format!("UPDATE {q}.orders SET v = 'x' WHERE id = 3"),
        format!("INSERT INTO {q}.audit VALUES (10, 'n')"),
        format!("INSERT INTO {q}.s_1 VALUES (4, 'n')"),
        format!("BEGIN; INSERT INTO {q}.s_2 VALUES (104, 'n'); DELETE FROM {q}.orders WHERE id = 10; UPDATE {q}.s_2 SET v = 'y' WHERE id = 101; COMMIT"),
        format!("INSERT INTO {q}.ledger VALUES (4, 'n')"),
    ] {
        exec(&mut c, &sql).await;
    }
    wait_caught_up(&ferry, &task, up, CATCH_UP).await;

    let mut d = down.conn().await;
    assert_eq!(
        count_rows(&mut d, &db, "orders").await,
        5,
        "deletes of orders are ignored"
    );
    assert_eq!(
        value(&mut d, &format!("SELECT v FROM {q}.orders WHERE id = 3")).await,
        Some("x".into())
    );
    let audit: Option<u64> = d
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'audit'",
            (&db,),
        )
        .await
        .unwrap();
    assert_eq!(
        audit,
        Some(0),
        "the excluded table is neither copied nor replicated"
    );
    assert_eq!(
        count_rows(&mut d, &merged, "all_s").await,
        8,
        "both shards merged"
    );
    assert_eq!(
        value(
            &mut d,
            &format!(
                "SELECT v FROM {}.all_s WHERE id = 101",
                quote_ident(&merged)
            )
        )
        .await,
        Some("y".into())
    );
    assert_eq!(count_rows(&mut d, &db, "ledger").await, 4);

    let (file, _) = binlog_position(up).await;
    exec(
        &mut c,
        &format!("UPDATE {q}.ledger SET v = 'z' WHERE id = 1"),
    )
    .await;
    let msg = ferry.wait_paused_error(&task).await;
    assert!(
        msg.contains("guard-ledger") && msg.contains("ledger") && msg.contains("update"),
        "{msg}"
    );
    assert!(msg.contains(&file), "the error names the position: {msg}");
    assert_eq!(
        value(&mut d, &format!("SELECT v FROM {q}.ledger WHERE id = 1")).await,
        Some("a".into()),
        "the refused update is not applied"
    );
}
