//! Faults while replicating: `kill -9`, server restarts, an outage, a duplicate key.

use super::*;

/// kill -9 of ferryd at random points while replicating (and during an `all` task's copy
/// and hand-off): after each restart the task resumes by itself, and at the end the
/// downstream equals the upstream, keyless table included: nothing lost, nothing twice.
async fn kill9_trials(mode: &str, trials: usize) {
    // scripts/soak.sh raises the count (hundreds of trials).
    let trials = std::env::var("FERRY_KILL_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(trials);
    let up = shared(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let db = unique_db_name(&format!("kill_{mode}"));
    let seed: u64 = rand::thread_rng().gen();
    eprintln!("workload seed {seed}");
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
    let (file, pos) = binlog_position(up).await;
    let mut c = up.conn().await;
    create_database(&mut c, &db).await;
    create_tables(&mut c, &db).await;
    let mut w = Workload::new(&db, seed);
    let q = quote_ident(&db);
    if mode == "all" {
        // Enough rows for the copy to take a while.
        exec(
            &mut c,
            &format!(
            "INSERT INTO {q}.t_pk (id, a, b) SELECT 3000000000 + n, n % 97, CONCAT('r', n) FROM {}",
            ferry_tests::data::seq(60_000)
        ),
        )
        .await;
        w.run(&mut c, 300).await;
    }
    let mut ferry = Ferry::start_temp(&format!("kill-{mode}"));
    ferry.add_source("up", up).await;
    let task = format!("k{mode}_{}", &db[db.len() - 4..]);
    let meta = if mode == "all" {
        String::new()
    } else {
        meta_at(&file, pos)
    };
    let f = ferry.write_file(
        "task.yaml",
        &format!(
            "{}    syncer-config-name: \"small\"\nsyncers:\n  small:\n    worker-count: 4\n    batch: 20\n",
            task_file(&task, mode, down, "up", &db, &meta)
        ),
    );
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;
    for trial in 0..trials {
        let writes = async {
            w.run(&mut c, 40).await;
        };
        let delay = Duration::from_millis(rng.gen_range(0..1500));
        tokio::join!(writes, tokio::time::sleep(delay));
        eprintln!("trial {trial}: kill -9 after {delay:?}");
        ferry.kill9();
        // DDL while replicating (not during the copy: like DM, the full phase needs a stable
        // schema).
        if mode == "incremental" && rng.gen_bool(0.3) {
            exec(
                &mut c,
                &format!("ALTER TABLE {q}.t_uk ADD COLUMN c{trial} INT DEFAULT {trial}"),
            )
            .await;
        }
        ferry.restart();
    }
    w.run(&mut c, 100).await;
    wait_caught_up(&ferry, &task, up, CATCH_UP).await;
    if mode == "all" {
        // A full phase resumed after a crash copies from new snapshots, later than the
        // hand-off position; replaying from there is idempotent for keyed tables (safe
        // mode) but not for a keyless one, whose rows written during the copy may then be
        // applied twice (a documented limit, as in DM). Keyed tables must be exact.
        let (mut u, mut d) = (up.conn().await, down.conn().await);
        for t in ["t_pk", "t_uk", "t_types"] {
            assert_tables_equal(&mut u, &mut d, (&db, t), (&db, t)).await;
        }
    } else {
        compare_all(up, down, &db).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_during_incremental_loses_and_duplicates_nothing() {
    kill9_trials("incremental", 14).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_during_full_handoff_and_sync_loses_and_duplicates_nothing() {
    kill9_trials("all", 8).await;
}

/// Upstream restart, downstream restart, and the downstream unavailable for a while, during
/// replication of a continuous workload: the task recovers by itself (reader reconnects,
/// pipeline restarts from its progress rows with backoff) and nothing is lost or duplicated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_and_downstream_restarts_and_outage() {
    let up = TestServer::start(DbKind::Mysql, Role::Upstream);
    let down = TestServer::start(DbKind::Mariadb, Role::Downstream);
    let db = unique_db_name("faults");
    let seed: u64 = rand::thread_rng().gen();
    eprintln!("workload seed {seed}");
    let (file, pos) = binlog_position(&up).await;
    let mut c = up.conn().await;
    create_database(&mut c, &db).await;
    create_tables(&mut c, &db).await;
    let ferry = Ferry::start_temp("faults");
    ferry.add_source("up", &up).await;
    let task = "faults";
    let f = ferry.write_file(
        "task.yaml",
        &task_file(task, "incremental", &down, "up", &db, &meta_at(&file, pos)),
    );
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;
    let mut w = Workload::new(&db, seed);
    w.run(&mut c, 150).await;

    // Upstream restart (the reader reconnects and resumes after the last transaction).
    drop(c);
    up.restart();
    let mut c = up.conn().await;
    w.run(&mut c, 150).await;
    wait_caught_up(&ferry, task, &up, CATCH_UP).await;

    // Downstream restart while changes keep coming.
    w.run(&mut c, 50).await;
    down.restart();
    w.run(&mut c, 150).await;
    wait_caught_up(&ferry, task, &up, CATCH_UP).await;

    // Downstream down for a while (the writers fail, the subtask retries with backoff).
    down.stop();
    w.run(&mut c, 200).await;
    tokio::time::sleep(Duration::from_secs(4)).await; // the outage itself
    down.restart();
    w.run(&mut c, 50).await;
    let st = wait_caught_up(&ferry, task, &up, CATCH_UP).await;
    let sub = &ferry_tests::ferry::subtasks(&st)[0];
    assert_eq!(sub["stage"], "Running", "{sub}");
    compare_all(&up, &down, &db).await;
    // Caught up and idle: no lag.
    wait_for(
        Duration::from_secs(10),
        "secondsBehindMaster back to 0",
        || async {
            let st = ferry.query_status(task).await?;
            (ferry_tests::ferry::subtasks(&st)[0]["sync"]["secondsBehindMaster"] == "0")
                .then_some(())
        },
    )
    .await;
}

/// A run of inserts that meets a row the downstream already has (the schemas diverged) is
/// not applied silently around it: the task pauses with the duplicate-key error, nothing of
/// the writer's share is applied; once the conflict is removed, `resume-task` completes it
/// exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_key_pauses_the_task_and_applies_nothing_of_the_share() {
    let up = shared(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let db = unique_db_name("dupload");
    let q = quote_ident(&db);
    let (file, pos) = binlog_position(up).await;
    let mut c = up.conn().await;
    create_database(&mut c, &db).await;
    exec(
        &mut c,
        &format!("CREATE TABLE {q}.t (id INT PRIMARY KEY, v VARCHAR(40), d DATETIME(6), b BIT(5), e ENUM('x','y'))"),
    )
    .await;

    let ferry = Ferry::start_temp("dupload");
    ferry.add_source("up", up).await;
    let task = format!("dupload_{}", &db[db.len() - 4..]);
    let yaml = task_file(&task, "incremental", down, "up", &db, &meta_at(&file, pos))
        + "syncers:\n  one:\n    worker-count: 1\n";
    let yaml = yaml.replace(
        "    block-allow-list: \"bal\"\n",
        "    block-allow-list: \"bal\"\n    syncer-config-name: \"one\"\n",
    );
    let f = ferry.write_file("task.yaml", &yaml);
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;
    wait_caught_up(&ferry, &task, up, CATCH_UP).await;

    // The downstream already has row 57, with other values.
    let mut d = down.conn().await;
    exec(
        &mut d,
        &format!("INSERT INTO {q}.t (id, v) VALUES (57, 'downstream only')"),
    )
    .await;
    exec(
        &mut c,
        &format!(
            "INSERT INTO {q}.t SELECT n, CONCAT('row\\t', n), '2024-02-29 12:34:56.789', \
             n % 32, 1 + n % 2 FROM {}",
            ferry_tests::data::seq(200)
        ),
    )
    .await;
    let msg = ferry.wait_paused_error(&task).await;
    assert!(
        msg.contains("Duplicate") && msg.contains("57"),
        "the error names the duplicate key: {msg}"
    );
    assert_eq!(
        ferry_tests::data::count_rows(&mut d, &db, "t").await,
        1,
        "nothing of the failed share is applied"
    );

    exec(&mut d, &format!("DELETE FROM {q}.t WHERE id = 57")).await;
    ferry.ctl_ok(&["resume-task", &task]).await;
    wait_caught_up(&ferry, &task, up, CATCH_UP).await;
    compare_all(up, down, &db).await;
}
