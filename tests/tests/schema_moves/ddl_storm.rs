//! The DDL storms during an `all` task, with and without `kill -9` of `ferryd`.

use ferry_tests::schema_diff::compare_schema;

use super::storm::Storm;
use super::*;

/// How many times each storm runs: `FERRY_STORM_ITERATIONS` (default 1; scripts/storm.sh
/// loops them by the dozen).
fn storm_iterations() -> usize {
    std::env::var("FERRY_STORM_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// Tables created, renamed, dropped and swapped, their columns added, dropped, modified and
/// renamed and their indexes added and dropped, from before the start position until well
/// into replication; with `kills`, `ferryd` is killed
/// (`kill -9`) a few times during the copy and the hand-off and a few times while it
/// replicates, and restarted while the storm goes on. The downstream ends with exactly the
/// upstream's tables, columns, indexes and rows.
///
/// Every kind of change runs at every moment: while the task takes its start position,
/// copies (a table rebuilt, swapped or with a column renamed under the copy is copied again
/// by a later round, see docs/full-phase.md), hands off and replicates.
async fn ddl_storm(up_kind: DbKind, kills: bool, seed: u64) {
    let up = shared(up_kind, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let prefix = format!("storm_{up_kind}");
    let db = unique_db_name(&prefix);
    // Unique among the tasks of this process (their ledgers share the downstream).
    let task = format!("st{}", &db[prefix.len()..]);
    eprintln!("storm {db}: seed {seed}, kill -9: {kills}");
    let mut s = Storm::new(&db, seed);
    let mut c = up.conn().await;
    create_database(&mut c, &db).await;
    let mut ferry = Ferry::start_temp(if kills { "storm-kill" } else { "storm" });
    s.log = Some(
        std::fs::File::create(ferry.data_dir().join("storm.sql"))
            .unwrap_or_else(|e| panic!("storm.sql: {e}")),
    );
    s.note(&format!("-- seed {seed}, db {db}, task {task}"));
    // With kills, enough rows for the copy to take a few seconds (kills land in it).
    let rows = if kills { 25_000 } else { 6000 };
    for i in 0..6 {
        s.create(&mut c, format!("t{i}"), rows).await;
    }
    ferry.add_source("up", up).await;
    let f = ferry.write_file("task.yaml", &all_task(&task, down, "up", &db));
    // DDL from before the start until well into replication.
    for _ in 0..3 {
        s.step(&mut c).await;
    }
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;
    s.note("-- start-task");
    let copy_kills = if kills { s.rng.gen_range(2..=3) } else { 0 };
    // The first kill soon after the start, the next ones a few steps later: in the copy,
    // the hand-off or the catch-up.
    let (mut killed, mut until_kill) = (0, s.rng.gen_range(0..3));
    let mut after_sync = 0;
    while after_sync < 15 || killed < copy_kills {
        if killed < copy_kills && until_kill == 0 {
            s.kill_and_restart(&mut c, &mut ferry, &task, false).await;
            killed += 1;
            until_kill = s.rng.gen_range(1..5);
            continue;
        }
        until_kill -= 1;
        s.step(&mut c).await;
        // A busy application's pace of schema changes, not a synchronisation.
        tokio::time::sleep(Duration::from_millis(150)).await;
        match unit_and_error(&ferry, &task).await {
            (_, Some(error)) => panic!(
                "task {task} paused by an error during the copy:\n{error}\n{}",
                ferry.log_tail(40)
            ),
            (unit, None) if unit == "Sync" => after_sync += 1,
            _ => {}
        }
        assert!(s.step < 1500, "the task never reached the Sync unit");
    }
    eprintln!("{} DDL steps during the copy and the hand-off", s.step);
    wait_caught_up(&ferry, &task, up, CATCH_UP).await;
    s.note("-- caught up (first)");
    // A difference here is reported at the end, with those of the end: the storm goes on
    // (what replication makes of it tells more than stopping here).
    let (mut problems, _) = compare_schema(up, down, &db, "after the copy and the hand-off").await;
    for p in &problems {
        eprintln!("storm {db} (seed {seed}): {p}");
    }
    let steps = if kills { 50 } else { 30 };
    let sync_kills = if kills { s.rng.gen_range(2..=4) } else { 0 };
    let kill_at: std::collections::BTreeSet<usize> =
        (0..sync_kills).map(|_| s.rng.gen_range(0..steps)).collect();
    for i in 0..steps {
        if kill_at.contains(&i) {
            s.kill_and_restart(&mut c, &mut ferry, &task, true).await;
        }
        s.step(&mut c).await;
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    wait_caught_up(&ferry, &task, up, CATCH_UP).await;
    s.note("-- caught up (last)");
    let (end, rows) = compare_schema(up, down, &db, "at the end").await;
    problems.extend(end);
    assert!(
        problems.is_empty(),
        "storm {db} (seed {seed}): the downstream differs from the upstream:\n{}",
        problems.join("\n")
    );
    eprintln!(
        "storm {db} (seed {seed}) ends equal: {} tables, {rows} rows, after {} steps: {:?}",
        s.live.len(),
        s.step,
        s.done
    );
}

/// Runs the storm [`storm_iterations`] times, each from its own seed, and reports which
/// seeds failed (each failure prints its differences and keeps the daemon's data dir, with
/// the statements it ran in `storm.sql`, under /var/tmp/ferry-tests).
async fn storms(up_kind: DbKind, kills: bool) {
    let n = storm_iterations();
    let mut failed = Vec::new();
    for i in 0..n {
        // `FERRY_STORM_SEED` replays a failure's statements (the moments of the kills and of
        // the hand-off still depend on timing).
        let seed: u64 = std::env::var("FERRY_STORM_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| rand::thread_rng().gen());
        eprintln!(
            "storm iteration {}/{n} ({up_kind}, kill -9: {kills}): seed {seed}",
            i + 1
        );
        // A panic fails the iteration, not the loop.
        if tokio::spawn(ddl_storm(up_kind, kills, seed)).await.is_err() {
            eprintln!("storm iteration {}/{n}: FAILED (seed {seed})", i + 1);
            failed.push(seed);
        }
    }
    eprintln!(
        "storms ({up_kind}, kill -9: {kills}): {} passed, {} failed {failed:?}",
        n - failed.len(),
        failed.len()
    );
    assert!(failed.is_empty(), "storm seeds that failed: {failed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ddl_storm_during_all_task_mysql() {
    storms(DbKind::Mysql, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ddl_storm_during_all_task_mariadb() {
    storms(DbKind::Mariadb, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ddl_storm_with_kill9_mysql() {
    storms(DbKind::Mysql, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ddl_storm_with_kill9_mariadb() {
    storms(DbKind::Mariadb, true).await;
}
