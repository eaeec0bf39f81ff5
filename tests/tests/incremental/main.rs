//! End-to-end tests of incremental replication (task-mode `incremental` and `all`): a
//! randomized workload on real upstreams, DDL mid-stream, and at the end every replicated
//! table compared row by row with the upstream.

use std::time::Duration;

use ferry_tests::data::exec;
use ferry_tests::ferry::path_str;
use ferry_tests::workload::{binlog_position, create_tables, wait_caught_up, Workload, TABLES};
use ferry_tests::*;
use rand::Rng;

mod ddl;
mod faults;
mod filters;
mod memory;
mod metrics;
mod monitoring;
mod relay_log;
mod secrets;
mod start_positions;
mod start_time;
mod synced;
mod tls;

const CATCH_UP: Duration = Duration::from_secs(180);

/// A task file: `mode`, one instance on source `src` with `meta` (may be empty), tables of
/// `db` only.
fn task_file(name: &str, mode: &str, down: &TestServer, src: &str, db: &str, meta: &str) -> String {
    ferry_tests::task_file::one_db_task(name, mode, down, src, db, meta)
}

fn meta_at(file: &str, pos: u64) -> String {
    format!("    meta:\n      binlog-name: \"{file}\"\n      binlog-pos: {pos}\n")
}

async fn compare_all(up: &TestServer, down: &TestServer, db: &str) {
    let (mut u, mut d) = (up.conn().await, down.conn().await);
    assert_schemas_equal(&mut u, &mut d, db, db).await;
}
