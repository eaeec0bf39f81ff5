//! Keys of every kind, copied in several chunks per table.

use super::*;

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
