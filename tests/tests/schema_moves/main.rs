//! End-to-end tests of a schema that moves under a migration: a DDL storm racing an `all`
//! task's start, copy, hand-off and replication, with and without `kill -9` of `ferryd` at
//! random points; upstreams whose statements are written under non-default `sql_mode`s.
//! Every scenario ends by comparing each table of the schema with the upstream (the same
//! set of tables, each row equal).
//!
//! The storms run once each by default; `FERRY_STORM_ITERATIONS=N` runs each N times, from
//! N seeds (scripts/storm.sh); `FERRY_STORM_SEED` fixes the seed. Every iteration prints
//! its seed; a failing one prints every difference and keeps the daemon's data dir under
//! /var/tmp/ferry-tests, with the statements the storm ran (and where the kills fell) in
//! `storm.sql`.

use std::time::Duration;

use ferry_tests::ferry::{path_str, subtasks};
use ferry_tests::workload::wait_caught_up;
use ferry_tests::*;
use rand::Rng;

mod ddl_storm;
mod sql_modes;
mod storm;

const CATCH_UP: Duration = Duration::from_secs(240);

/// An `all` task on tables of `db`, copied in many small chunks by two dumpers.
fn all_task(name: &str, down: &TestServer, src: &str, db: &str) -> String {
    format!(
        "name: \"{name}\"\ntask-mode: all\n\
         target-database:\n  host: \"127.0.0.1\"\n  port: {}\n  user: \"root\"\n  password: \"\"\n\
         block-allow-list:\n  bal:\n    do-dbs: [\"{db}\"]\n\
         mydumpers:\n  d:\n    threads: 2\n    rows: 500\n    extra-args: \"--consistency none\"\n\
         mysql-instances:\n  - source-id: \"{src}\"\n    block-allow-list: \"bal\"\n    mydumper-config-name: \"d\"\n",
        down.port()
    )
}

async fn unit_of(ferry: &Ferry, task: &str) -> String {
    unit_and_error(ferry, task).await.0
}

/// The unit of the first subtask of `task`, and the error that paused it, if any (empty
/// and `None` while the daemon does not answer).
async fn unit_and_error(ferry: &Ferry, task: &str) -> (String, Option<String>) {
    let Some(st) = ferry.query_status(task).await else {
        return (String::new(), None);
    };
    let Some(s) = subtasks(&st).into_iter().next() else {
        return (String::new(), None);
    };
    let unit = s["unit"].as_str().unwrap_or_default().to_string();
    let error = (s["stage"] == "Paused" && !s["result"].is_null()).then(|| {
        s["result"]["errors"][0]["Message"]
            .as_str()
            .map_or_else(|| s["result"].to_string(), str::to_string)
    });
    (unit, error)
}
