//! Crash tests of the full phase: `ferryd` is killed with SIGKILL at several points of
//! the load (and stopped in other ways), started again on the same data dir, and the
//! task must resume by itself and end with the downstream equal to the upstream: no row
//! lost, none duplicated (a keyless table included), and the chunks committed before a
//! crash not copied again (their ledger rows are unchanged).
//!
//! The upstream data (a 300k-row table and a 50k-row keyless table with duplicate rows)
//! is created once per upstream kind and shared by the tests, which route it to their
//! own downstream schemas.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ferry_tests::data::*;
use ferry_tests::ferry::{path_str, subtasks, task_yaml};
use ferry_tests::*;
use mysql_async::prelude::Queryable;
use serde_json::Value;
use tokio::sync::OnceCell;

const BIG_ROWS: u64 = 300_000;
const KEYLESS_ROWS: u64 = 50_000;
const ROWS_PER_CHUNK: u64 = 5_000;
const FINISH: Duration = Duration::from_secs(240);

/// Ferry plans chunks from `information_schema.TABLES.TABLE_ROWS`. InnoDB reports 1
/// there while a table's persisted statistics say 0 rows (e.g. they were computed when
/// the table was empty and the table was then reopened, as after the FLUSH TABLES WITH
/// READ LOCK of another task), and Ferry then copies the whole table as one chunk (a bug
/// with its own test in `full_phase.rs`). The crash tests need a stable plan: accurate
/// persisted statistics (ANALYZE TABLE) and no automatic recalculation.
const NO_RECALC: &str = "STATS_PERSISTENT=1 STATS_AUTO_RECALC=0";

/// The plan splits `big` after its estimated row count: about 300k / 5000 chunks, and
/// the keyless table as one stream. Estimates are estimates: at least this many.
const MIN_CHUNKS: u64 = 20;

/// `load.totalChunks` of a running task, once its plan is known.
async fn total_chunks(ferry: &Ferry, task: &str) -> usize {
    wait_for(FINISH, format!("the plan of {task}"), || async {
        let st = ferry.query_status(task).await?;
        let total = subtasks(&st).first()?["load"]["totalChunks"].as_u64()?;
        (total > 0).then_some(total as usize)
    })
    .await
}

/// The upstream schema with `a_keyless` (listed first, so that its single chunk is
/// likely in flight at the first kill) and `big`.
async fn create_crash_source(server: &TestServer) -> String {
    let db = unique_db_name("crash_src");
    let mut c = server.conn().await;
    create_database(&mut c, &db).await;
    let q = quote_ident(&db);
    for sql in [
        format!(
            "CREATE TABLE {q}.big (id BIGINT NOT NULL PRIMARY KEY, a INT NOT NULL, \
             b VARCHAR(64), c DOUBLE, d DATETIME) DEFAULT CHARSET=utf8mb4 {NO_RECALC}"
        ),
        format!(
            "INSERT INTO {q}.big SELECT n * 3 + 7, n % 1000, CONCAT('row ', n, CHAR(9 USING utf8mb4), 'é'), \
             n / 7.0, TIMESTAMP('2001-02-03 04:05:06') + INTERVAL n MINUTE FROM {}",
            seq(BIG_ROWS)
        ),
        format!(
            "CREATE TABLE {q}.a_keyless (x INT, y VARCHAR(32)) DEFAULT CHARSET=utf8mb4 {NO_RECALC}"
        ),
        // Every row twice, some entirely NULL.
        format!(
            "INSERT INTO {q}.a_keyless SELECT CASE WHEN n % 17 = 0 THEN NULL ELSE n DIV 2 END, \
             CASE WHEN n % 17 = 0 THEN NULL ELSE CONCAT('k', n DIV 2) END FROM {}",
            seq(KEYLESS_ROWS)
        ),
        // Persist accurate statistics (they are reloaded when tables are flushed, e.g.
        // by FLUSH TABLES WITH READ LOCK of --consistency flush/auto).
        format!("ANALYZE TABLE {q}.big, {q}.a_keyless"),
    ] {
        exec(&mut c, &sql).await;
    }
    let _ = c.disconnect().await;
    db
}

/// The shared upstream schema of a kind (created on first use).
async fn crash_source(kind: DbKind) -> &'static str {
    static MYSQL: OnceCell<String> = OnceCell::const_new();
    static MARIADB: OnceCell<String> = OnceCell::const_new();
    let cell = match kind {
        DbKind::Mysql => &MYSQL,
        DbKind::Mariadb => &MARIADB,
    };
    cell.get_or_init(|| create_crash_source(shared(kind, Role::Upstream)))
        .await
        .as_str()
}

/// A full task copying `src` to `dst` (a route renames the schema), `rows: 5000`,
/// threads 2.
fn crash_task(name: &str, down: &TestServer, src: &str, dst: &str, consistency: &str) -> String {
    task_yaml(
        name,
        down,
        &format!(
            r#"routes:
  rename:
    schema-pattern: "{src}"
    target-schema: "{dst}"
block-allow-list:
  ba:
    do-dbs: ["{src}"]
mydumpers:
  d:
    threads: 2
    rows: {ROWS_PER_CHUNK}
    extra-args: "--consistency {consistency}"
loaders:
  l:
    pool-size: 2
mysql-instances:
  - source-id: "up"
    block-allow-list: "ba"
    route-rules: ["rename"]
    mydumper-config-name: "d"
    loader-config-name: "l"
"#
        ),
    )
}

/// Polls the ledger (every 20 ms) until it holds at least `min` chunks; returns how many.
async fn wait_ledger(down: &TestServer, task: &str, min: usize, ferry: &Ferry) -> usize {
    let mut d = down.conn().await;
    let start = Instant::now();
    loop {
        let n = ledger(&mut d, task).await.len();
        if n >= min {
            return n;
        }
        if start.elapsed() > FINISH {
            panic!(
                "timed out waiting for {min} committed chunks of {task} (have {n})\n{}",
                ferry.log_tail(60)
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn load_of(status: &Value) -> Value {
    let subs = subtasks(status);
    assert_eq!(subs.len(), 1, "{status:#}");
    subs[0]["load"].clone()
}

/// What the ledger held at each crash, to check after the end that none of these
/// chunks was copied again.
#[derive(Default)]
struct Committed(BTreeMap<(String, String, u32), LedgerRow>);

impl Committed {
    async fn record(&mut self, down: &TestServer, task: &str) -> usize {
        let mut d = down.conn().await;
        let rows = ledger(&mut d, task).await;
        for r in &rows {
            let key = (r.schema.clone(), r.table.clone(), r.chunk);
            if let Some(prev) = self.0.get(&key) {
                assert_eq!(prev, r, "a committed chunk's ledger row changed");
            }
            self.0.insert(key, r.clone());
        }
        rows.len()
    }
}

/// Checks the end state: Finished with every chunk done, the ledger complete and
/// unchanged for the chunks committed before the crashes, the tables equal.
async fn assert_final(
    up: &TestServer,
    down: &TestServer,
    ferry: &Ferry,
    task: &str,
    src: &str,
    dst: &str,
    committed: &Committed,
) {
    let status = ferry.wait_stage(task, "Finished", FINISH).await;
    let load = load_of(&status);
    let total = load["totalChunks"].as_u64().expect("totalChunks");
    assert_eq!(load["finishedChunks"].as_u64(), Some(total), "{load:#}");
    assert!(total >= MIN_CHUNKS, "{load:#}");

    let mut d = down.conn().await;
    let final_ledger = ledger(&mut d, task).await;
    assert_eq!(
        final_ledger.len() as u64,
        total,
        "one ledger row per chunk of the plan"
    );
    let ledger_rows: u64 = final_ledger.iter().map(|r| r.rows).sum();
    assert_eq!(
        ledger_rows,
        BIG_ROWS + KEYLESS_ROWS,
        "rows recorded in the ledger"
    );
    for (key, before) in &committed.0 {
        let after = final_ledger
            .iter()
            .find(|r| (r.schema.as_str(), r.table.as_str(), r.chunk) == (&key.0, &key.1, key.2))
            .unwrap_or_else(|| panic!("ledger row {key:?} committed before a crash is gone"));
        assert_eq!(
            after, before,
            "chunk {key:?} was copied again after a crash"
        );
    }

    let mut u = up.conn().await;
    assert_eq!(count_rows(&mut d, dst, "big").await, BIG_ROWS);
    assert_eq!(count_rows(&mut d, dst, "a_keyless").await, KEYLESS_ROWS);
    let rows = assert_schema_copied(&mut u, &mut d, src, dst).await;
    assert_eq!(rows as u64, BIG_ROWS + KEYLESS_ROWS);
}

/// Kill points: after 3 chunks (the keyless table still in flight), then after about
/// half of the chunks. MySQL → MariaDB (LOAD DATA LOCAL path).
#[tokio::test]
async fn kill9_twice_during_load_mysql_to_mariadb() {
    let up = shared(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let src = crash_source(DbKind::Mysql).await;
    let dst = unique_db_name("crash_dst");
    let task = unique_db_name("k2");
    let mut ferry = Ferry::start_temp("kill9");
    ferry.add_source("up", up).await;
    let file = ferry.write_file("task.yaml", &crash_task(&task, down, src, &dst, "auto"));
    ferry.ctl_ok(&["start-task", path_str(&file)]).await;

    let mut committed = Committed::default();
    let total = total_chunks(&ferry, &task).await;
    assert!(total as u64 >= MIN_CHUNKS, "{total} chunks planned");
    for threshold in [3, total / 2] {
        wait_ledger(down, &task, threshold, &ferry).await;
        ferry.kill9();
        let n = committed.record(down, &task).await;
        assert!(
            n < total,
            "the copy was already complete ({n} chunks) at the kill point {threshold}"
        );
        ferry.restart();
        // The task is restored and resumes by itself.
        let status = ferry.ctl_ok(&["query-status", &task]).await;
        let stage = &subtasks(&status)[0]["stage"];
        assert!(stage == "Running" || stage == "Finished", "{status:#}");
    }
    assert_final(up, down, &ferry, &task, src, &dst, &committed).await;
}

/// Kill points: right after `start-task` returns (nothing committed yet: planning or the
/// first chunks), then after 3 chunks. MariaDB → MySQL (INSERT path: MySQL 9.7 has
/// local_infile=OFF).
#[tokio::test]
async fn kill9_at_start_and_early_mariadb_to_mysql() {
    let up = shared(DbKind::Mariadb, Role::Upstream);
    let down = shared(DbKind::Mysql, Role::Downstream);
    let src = crash_source(DbKind::Mariadb).await;
    let dst = unique_db_name("crash_dst");
    let task = unique_db_name("k0");
    let mut ferry = Ferry::start_temp("kill9");
    ferry.add_source("up", up).await;
    let file = ferry.write_file("task.yaml", &crash_task(&task, down, src, &dst, "none"));
    ferry.ctl_ok(&["start-task", path_str(&file)]).await;

    let mut committed = Committed::default();
    ferry.kill9();
    committed.record(down, &task).await;
    ferry.restart();
    let total = total_chunks(&ferry, &task).await;

    wait_ledger(down, &task, committed.0.len() + 3, &ferry).await;
    ferry.kill9();
    let n = committed.record(down, &task).await;
    assert!(n < total, "copy already complete");
    ferry.restart();
    assert_final(up, down, &ferry, &task, src, &dst, &committed).await;
}

/// Other interruptions of the same copy: a graceful stop of the daemon (SIGTERM) and
/// a restart, `pause-task` / `resume-task`, `stop-task` then `start-task` (resumes from
/// the checkpoint), and at the end `start-task --remove-meta` after dropping the target
/// tables, which copies everything again. `query-status` shows the progress meanwhile.
#[tokio::test]
async fn stop_pause_restart_and_remove_meta_mysql_to_mariadb() {
    let up = shared(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let src = crash_source(DbKind::Mysql).await;
    let dst = unique_db_name("crash_dst");
    let task = unique_db_name("ks");
    let mut ferry = Ferry::start_temp("stop");
    ferry.add_source("up", up).await;
    let file = ferry.write_file("task.yaml", &crash_task(&task, down, src, &dst, "flush"));
    let f = path_str(&file).to_string();
    ferry.ctl_ok(&["start-task", &f]).await;
    let mut committed = Committed::default();

    // query-status while running: stage Running, unit Load, progress fields.
    wait_ledger(down, &task, 2, &ferry).await;
    // The status counts a chunk just after the ledger holds it.
    let status = wait_for(
        Duration::from_secs(60),
        "two chunks in query-status",
        || async {
            let st = ferry.ctl_ok(&["query-status", &task]).await;
            let sub = &subtasks(&st)[0];
            (sub["stage"] != "Running" || sub["load"]["finishedChunks"].as_u64() >= Some(2))
                .then_some(st)
        },
    )
    .await;
    let sub = &subtasks(&status)[0];
    if sub["stage"] == "Running" {
        assert_eq!(sub["unit"], "Load", "{sub:#}");
        assert!(sub["result"].is_null(), "{sub:#}");
        let load = &sub["load"];
        let total = load["totalChunks"].as_u64().expect("load.totalChunks");
        let done = load["finishedChunks"]
            .as_u64()
            .expect("load.finishedChunks");
        assert!(
            total >= MIN_CHUNKS && done >= 2 && done <= total,
            "{load:#}"
        );
        assert!(load["finishedRows"].as_u64().is_some(), "{load:#}");
        assert!(
            load["progress"].as_str().is_some_and(|p| p.ends_with('%')),
            "{load:#}"
        );
        let dump = &sub["dump"];
        assert_eq!(dump["totalTables"], 2, "{dump:#}");
        assert!(
            dump["estimateTotalRows"].as_u64().is_some_and(|n| n > 0),
            "{dump:#}"
        );
        assert!(dump["finishedRows"].as_u64().is_some(), "{dump:#}");
        // The task list shows it too.
        let all = ferry.ctl_ok(&["query-status"]).await;
        let listed = all["tasks"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["taskName"] == task.as_str()).cloned())
            .unwrap_or_else(|| panic!("task missing from query-status: {all:#}"));
        assert_eq!(listed["taskStatus"], "Running", "{all:#}");
    } else {
        panic!("the copy finished before it could be observed running: {sub:#}");
    }

    // Graceful daemon stop mid-load, and restart: the task goes on.
    ferry.stop();
    committed.record(down, &task).await;
    ferry.restart();
    wait_ledger(down, &task, committed.0.len() + 3, &ferry).await;

    // pause-task / resume-task.
    ferry.ctl_ok(&["pause-task", &task]).await;
    ferry
        .wait_stage(&task, "Paused", Duration::from_secs(30))
        .await;
    committed.record(down, &task).await;
    ferry.ctl_ok(&["resume-task", &task]).await;
    wait_ledger(down, &task, committed.0.len() + 3, &ferry).await;

    // stop-task, then start-task again: resumes from the checkpoint.
    let total = total_chunks(&ferry, &task).await;
    ferry.ctl_ok(&["stop-task", &task]).await;
    let gone = ferry.ctl(&["query-status", &task]).await;
    assert!(!gone.ok, "a stopped task is gone: {gone}");
    let n = committed.record(down, &task).await;
    assert!(n < total, "copy already complete");
    ferry.ctl_ok(&["start-task", &f]).await;
    assert_final(up, down, &ferry, &task, src, &dst, &committed).await;

    // A second start-task of the finished task copies nothing again.
    ferry.ctl_ok(&["stop-task", &task]).await;
    ferry.ctl_ok(&["start-task", &f]).await;
    ferry.wait_stage(&task, "Finished", FINISH).await;
    let mut u = up.conn().await;
    let mut d = down.conn().await;
    assert_schema_copied(&mut u, &mut d, src, &dst).await;

    // --remove-meta after dropping the target tables: copied again from scratch.
    ferry.ctl_ok(&["stop-task", &task]).await;
    for t in ["big", "a_keyless"] {
        d.query_drop(format!(
            "DROP TABLE {}.{}",
            quote_ident(&dst),
            quote_ident(t)
        ))
        .await
        .expect("drop target table");
    }
    ferry.ctl_ok(&["start-task", "--remove-meta", &f]).await;
    let status = ferry.wait_stage(&task, "Finished", FINISH).await;
    let load = load_of(&status);
    assert_eq!(load["finishedChunks"], load["totalChunks"], "{load:#}");
    let fresh = ledger(&mut d, &task).await;
    assert_eq!(Some(fresh.len() as u64), load["totalChunks"].as_u64());
    let rows = assert_schema_copied(&mut u, &mut d, src, &dst).await;
    assert_eq!(rows as u64, BIG_ROWS + KEYLESS_ROWS);
}

/// DM shows the dump's start position (`load.metaBinlog`, `metaBinlogGTID`) in
/// `query-status` while the load runs; the position is known (and checkpointed) before
/// the first chunk is copied.
#[tokio::test]
async fn query_status_shows_the_start_position_while_loading() {
    let up = shared(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let src = crash_source(DbKind::Mysql).await;
    let dst = unique_db_name("crash_dst");
    let task = unique_db_name("kp");
    let ferry = Ferry::start_temp("pos");
    ferry.add_source("up", up).await;
    let file = ferry.write_file("task.yaml", &crash_task(&task, down, src, &dst, "none"));
    ferry.ctl_ok(&["start-task", path_str(&file)]).await;
    wait_ledger(down, &task, 1, &ferry).await;
    let status = ferry.ctl_ok(&["query-status", &task]).await;
    ferry.ctl_ok(&["stop-task", &task]).await;
    let sub = &subtasks(&status)[0];
    assert_eq!(sub["stage"], "Running", "{sub:#}");
    let binlog = sub["load"]["metaBinlog"].as_str().unwrap_or("");
    let gtid = sub["load"]["metaBinlogGTID"].as_str().unwrap_or("");
    assert!(
        binlog.contains("binlog.") && !gtid.is_empty(),
        "query-status of a running load must show its start position: {sub:#}"
    );
}
