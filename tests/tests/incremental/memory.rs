//! ferryd's memory stays bounded: a 1,000,000-row transaction, a stalled downstream.

use super::*;

/// Peak resident memory of a process (kB), from /proc.
fn peak_rss_kb(pid: u32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn rss_kb(pid: u32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// One upstream transaction of 1,000,000 rows (and compressed transactions on MySQL with
/// `binlog_transaction_compression=ON`) replicate exactly, with ferryd's memory bounded:
/// the big transaction is applied in bounded batches, not held whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn million_row_transaction_and_compressed_transactions() {
    let up = shared(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let db = unique_db_name("big");
    let q = quote_ident(&db);
    let (file, pos) = binlog_position(up).await;
    let mut c = up.conn().await;
    create_database(&mut c, &db).await;
    exec(
        &mut c,
        &format!("CREATE TABLE {q}.big (id INT PRIMARY KEY, a INT, b VARCHAR(40))"),
    )
    .await;
    create_tables(&mut c, &db).await;
    let ferry = Ferry::start_temp("big");
    ferry.add_source("up", up).await;
    let task = format!("big_{}", &db[db.len() - 4..]);
    let f = ferry.write_file(
        "task.yaml",
        &task_file(&task, "incremental", down, "up", &db, &meta_at(&file, pos)),
    );
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;
    exec(
        &mut c,
        &format!(
            "INSERT INTO {q}.big SELECT n, n % 1000, CONCAT('row number ', n) FROM {}",
            ferry_tests::data::seq(1_000_000)
        ),
    )
    .await;
    exec(&mut c, "SET SESSION binlog_transaction_compression = ON").await;
    let seed: u64 = rand::thread_rng().gen();
    eprintln!("workload seed {seed}");
    Workload::new(&db, seed).run(&mut c, 200).await;
    exec(
        &mut c,
        &format!("UPDATE {q}.big SET a = a + 1 WHERE id % 10 = 0"),
    )
    .await;
    exec(&mut c, "SET SESSION binlog_transaction_compression = OFF").await;
    wait_caught_up(&ferry, &task, up, Duration::from_secs(600)).await;
    compare_all(up, down, &db).await;
    let peak = peak_rss_kb(ferry.pid().expect("running"));
    eprintln!("ferryd peak RSS {} MiB", peak / 1024);
    assert!(
        peak < 400 * 1024,
        "ferryd peak RSS {peak} kB for a 1M-row transaction"
    );
}

/// A stalled downstream (a table locked) stops the pipeline: the reader stops reading, and
/// ferryd's memory stays flat while the upstream binlog keeps growing; once the lock goes,
/// everything arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_downstream_keeps_memory_flat() {
    let up = shared(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let db = unique_db_name("stall");
    let q = quote_ident(&db);
    let (file, pos) = binlog_position(up).await;
    let mut c = up.conn().await;
    create_database(&mut c, &db).await;
    exec(
        &mut c,
        &format!("CREATE TABLE {q}.t (id INT PRIMARY KEY, pad VARCHAR(200))"),
    )
    .await;
    let ferry = Ferry::start_temp("stall");
    ferry.add_source("up", up).await;
    let task = format!("stall_{}", &db[db.len() - 4..]);
    let f = ferry.write_file(
        "task.yaml",
        &task_file(&task, "incremental", down, "up", &db, &meta_at(&file, pos)),
    );
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;
    wait_caught_up(&ferry, &task, up, CATCH_UP).await;
    let pid = ferry.pid().expect("running");
    let mut locker = down.conn().await;
    exec(&mut locker, &format!("LOCK TABLES {q}.t WRITE")).await;
    let base = rss_kb(pid);
    // ~150 MB of binlog while the downstream cannot take any of it.
    for chunk in 0..10u64 {
        exec(
            &mut c,
            &format!(
                "INSERT INTO {q}.t SELECT {} + n, REPEAT('x', 200) FROM {}",
                chunk * 60_000,
                ferry_tests::data::seq(60_000)
            ),
        )
        .await;
    }
    // The pipeline fills up and stops: the syncer does not move and memory stops growing.
    let mut samples = Vec::new();
    for _ in 0..20 {
        samples.push(rss_kb(pid));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let max = samples.iter().copied().max().unwrap_or(0);
    eprintln!("RSS before {base} kB, while stalled {samples:?}");
    assert!(
        max < base + 200 * 1024,
        "memory grew by {} kB while the downstream was stalled",
        max.saturating_sub(base)
    );
    exec(&mut locker, "UNLOCK TABLES").await;
    drop(locker);
    wait_caught_up(&ferry, &task, up, Duration::from_secs(600)).await;
    compare_all(up, down, &db).await;
}
