//! End-to-end tests of the dmctl operator commands against real servers: `config` export and
//! import, `pause-task`/`resume-task`/`stop-task -s`, `query-status -s|--more`, `binlog
//! list|revert`, `operate-source show -s`, `start-relay`/`stop-relay`.

use std::time::Duration;

use ferry_tests::data::{count_rows, exec};
use ferry_tests::ferry::path_str;
use ferry_tests::workload::binlog_position;
use ferry_tests::*;
use serde_json::Value;

mod binlog_ops;
mod config;
mod relay;
mod task_ops;

const WAIT: Duration = Duration::from_secs(120);

/// An incremental task from `meta` on: one instance per `(source, db, file, pos)`.
fn task_file(name: &str, down: &TestServer, instances: &[(&str, &str, &str, u64)]) -> String {
    let mut y = format!(
        "name: \"{name}\"\ntask-mode: incremental\n\
         target-database:\n  host: \"127.0.0.1\"\n  port: {}\n  user: \"root\"\n  password: \"\"\n\
         block-allow-list:\n",
        down.port()
    );
    for (i, (_, db, _, _)) in instances.iter().enumerate() {
        y.push_str(&format!("  bal{i}:\n    do-dbs: [\"{db}\"]\n"));
    }
    y.push_str("mysql-instances:\n");
    for (i, (src, _, file, pos)) in instances.iter().enumerate() {
        y.push_str(&format!(
            "  - source-id: \"{src}\"\n    block-allow-list: \"bal{i}\"\n    \
             meta:\n      binlog-name: \"{file}\"\n      binlog-pos: {pos}\n"
        ));
    }
    y
}

/// A fresh database `db` with table `t (id INT PRIMARY KEY)` on `up`, created after the
/// returned binlog position (so a task from there creates it downstream).
async fn fresh_db(up: &TestServer, prefix: &str) -> (String, String, u64) {
    let db = unique_db_name(prefix);
    let (file, pos) = binlog_position(up).await;
    let mut c = up.conn().await;
    create_database(&mut c, &db).await;
    exec(
        &mut c,
        &format!("CREATE TABLE {}.t (id INT PRIMARY KEY)", quote_ident(&db)),
    )
    .await;
    (db, file, pos)
}

async fn insert(up: &TestServer, db: &str, id: u32) {
    exec(
        &mut up.conn().await,
        &format!("INSERT INTO {}.t VALUES ({id})", quote_ident(db)),
    )
    .await;
}

/// Starts task `task` on source `up` from `(file, pos)` for `db` and waits until a first
/// inserted row is downstream. Returns the task file.
async fn start_replicating(
    ferry: &Ferry,
    task: &str,
    (up, down): (&TestServer, &TestServer),
    (db, file, pos): (&str, &str, u64),
) -> std::path::PathBuf {
    let f = ferry.write_file(
        "task.yaml",
        &task_file(task, down, &[("up", db, file, pos)]),
    );
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;
    insert(up, db, 1).await;
    wait_rows(down, db, 1).await;
    f
}

/// Waits until `db.t` downstream has `n` rows.
async fn wait_rows(down: &TestServer, db: &str, n: u64) {
    wait_until(WAIT, format!("{n} row(s) in {db}.t downstream"), || async {
        let mut d = down.conn().await;
        let exists: Option<String> = mysql_async::prelude::Queryable::query_first(
            &mut d,
            format!(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = '{db}' AND table_name = 't'"
            ),
        )
        .await
        .ok()
        .flatten();
        exists.is_some() && count_rows(&mut d, db, "t").await == n
    })
    .await;
}

/// The `(source, stage)` of every subtask of a `query-status` answer.
fn stages(st: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for s in st["sources"].as_array().into_iter().flatten() {
        for sub in s["subTaskStatus"].as_array().into_iter().flatten() {
            out.push((
                s["sourceStatus"]["source"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                sub["stage"].as_str().unwrap_or("").to_string(),
            ));
        }
    }
    out.sort();
    out
}

/// Polls `query-status task` until its subtasks' stages are `want`.
async fn wait_stages(ferry: &Ferry, task: &str, want: &[(&str, &str)]) -> Value {
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    wait_for(WAIT, format!("{task} at {want:?}"), || async {
        let st = ferry.query_status(task).await?;
        (stages(&st) == want).then_some(st)
    })
    .await
}
