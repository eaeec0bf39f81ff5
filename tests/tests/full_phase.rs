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
    for t in ["composite", "strpk", "uniq_only", "autoinc"] {
        let chunks = ledger.iter().filter(|r| r.table == t).count();
        assert!(
            chunks >= 3,
            "{t}: {chunks} chunk(s) with rows: 1000 and 3500 rows"
        );
    }
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

#[allow(dead_code)]
fn unused(p: &std::path::Path) -> &str {
    path_str(p)
}
