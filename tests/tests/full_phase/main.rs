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

mod keys;
mod routes;
mod seed;
mod sources;
mod stale_stats;
mod type_matrix;

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
