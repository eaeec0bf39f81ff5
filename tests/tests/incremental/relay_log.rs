//! The relay log: upstream binlogs purged while tasks are paused.

use super::*;

/// Binlogs purged on the upstream while tasks are paused: the task of a source with
/// `enable-relay: true` completes from the relay log; the task of the same upstream without
/// relay pauses with an error naming the missing binlog file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purged_upstream_binlogs_with_and_without_relay() {
    // Own upstream: PURGE BINARY LOGS must not disturb the other tests.
    let up = TestServer::start(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let db = unique_db_name("purge");
    let q = quote_ident(&db);
    let (file, pos) = binlog_position(&up).await;
    let mut c = up.conn().await;
    create_database(&mut c, &db).await;
    create_tables(&mut c, &db).await;
    let ferry = Ferry::start_temp("purge");
    let relay_src = ferry.write_file(
        "relay.yaml",
        &format!(
            "{}enable-relay: true\n",
            ferry_tests::ferry::source_yaml("with-relay", &up)
        ),
    );
    ferry
        .ctl_ok(&["operate-source", "create", path_str(&relay_src)])
        .await;
    ferry.add_source("no-relay", &up).await;
    // Same upstream tables, two downstream schemas (routes).
    let task = |name: &str, src: &str, target: &str| {
        format!(
            "name: \"{name}\"\ntask-mode: incremental\n\
             target-database:\n  host: \"127.0.0.1\"\n  port: {}\n  user: \"root\"\n  password: \"\"\n\
             block-allow-list:\n  bal:\n    do-dbs: [\"{db}\"]\n\
             routes:\n  r:\n    schema-pattern: \"{db}\"\n    target-schema: \"{target}\"\n\
             mysql-instances:\n  - source-id: \"{src}\"\n    block-allow-list: \"bal\"\n    route-rules: [\"r\"]\n{}",
            down.port(),
            meta_at(&file, pos)
        )
    };
    let (db_r, db_d) = (format!("{db}_r"), format!("{db}_d"));
    for (name, src, target) in [
        ("t_relay", "with-relay", &db_r),
        ("t_direct", "no-relay", &db_d),
    ] {
        let f = ferry.write_file(&format!("{name}.yaml"), &task(name, src, target));
        ferry.ctl_ok(&["start-task", path_str(&f)]).await;
    }
    let mut w = Workload::new(&db, rand::thread_rng().gen());
    w.run(&mut c, 100).await;
    for name in ["t_relay", "t_direct"] {
        wait_caught_up(&ferry, name, &up, CATCH_UP).await;
        ferry.ctl_ok(&["pause-task", name]).await;
    }
    w.run(&mut c, 200).await;
    exec(&mut c, "FLUSH BINARY LOGS").await;
    w.run(&mut c, 50).await;
    let (now_file, now_pos) = binlog_position(&up).await;
    // The relay log has everything before the upstream forgets it.
    wait_for(
        CATCH_UP,
        "the relay log caught up with the upstream",
        || async {
            let st = ferry.query_status("t_relay").await?;
            let relay = st["sources"][0]["sourceStatus"]["relayStatus"]["relayBinlog"].as_str()?;
            let (f, p) = ferry_tests::workload::parse_position(relay)?;
            (f == now_file && p >= now_pos).then_some(())
        },
    )
    .await;
    exec(&mut c, &format!("PURGE BINARY LOGS TO '{now_file}'")).await;
    ferry.ctl_ok(&["resume-task", "t_relay"]).await;
    ferry.ctl_ok(&["resume-task", "t_direct"]).await;
    wait_caught_up(&ferry, "t_relay", &up, CATCH_UP).await;
    let (mut u, mut d) = (up.conn().await, down.conn().await);
    for t in TABLES {
        assert_tables_equal(&mut u, &mut d, (&db, t), (&db_r, t)).await;
    }
    let msg = ferry.wait_paused_error("t_direct").await;
    assert!(
        msg.contains(&file) && msg.contains("relay"),
        "names the file and the fix: {msg}"
    );
    let st = ferry.query_status("t_relay").await.expect("status");
    assert!(
        st["sources"][0]["sourceStatus"]["relayStatus"]["relayCatchUpMaster"].is_boolean(),
        "{st}"
    );
    let _ = q;
}

/// Relay-log purges keep what a task needs while it is paused, also after a daemon restart
/// (the needed positions are recorded durably): `purge-relay` up to the newest file keeps
/// the paused task's files, the upstream purges its own copies, and after `resume-task` the
/// task replicates everything from the relay log alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_purge_keeps_what_a_paused_task_needs_across_a_restart() {
    let up = TestServer::start(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let db = unique_db_name("keep");
    let (file, pos) = binlog_position(&up).await;
    let mut c = up.conn().await;
    create_database(&mut c, &db).await;
    create_tables(&mut c, &db).await;
    let mut ferry = Ferry::start_temp("keep");
    let src = ferry.write_file(
        "relay.yaml",
        &format!(
            "{}enable-relay: true\n",
            ferry_tests::ferry::source_yaml("with-relay", &up)
        ),
    );
    ferry
        .ctl_ok(&["operate-source", "create", path_str(&src)])
        .await;
    let task = format!("keep_{}", &db[db.len() - 4..]);
    let f = ferry.write_file(
        "task.yaml",
        &task_file(
            &task,
            "incremental",
            down,
            "with-relay",
            &db,
            &meta_at(&file, pos),
        ),
    );
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;
    let mut w = Workload::new(&db, rand::thread_rng().gen());
    w.run(&mut c, 100).await;
    wait_caught_up(&ferry, &task, &up, CATCH_UP).await;
    ferry.ctl_ok(&["pause-task", &task]).await;
    let (paused_file, _) = binlog_position(&up).await;
    for _ in 0..3 {
        w.run(&mut c, 100).await;
        exec(&mut c, "FLUSH BINARY LOGS").await;
    }
    w.run(&mut c, 20).await;
    let (now_file, now_pos) = binlog_position(&up).await;
    let relay_has_all = || async {
        let st = ferry.query_status(&task).await?;
        let relay = st["sources"][0]["sourceStatus"]["relayStatus"]["relayBinlog"].as_str()?;
        let (f, p) = ferry_tests::workload::parse_position(relay)?;
        (f == now_file && p >= now_pos).then_some(())
    };
    wait_for(
        CATCH_UP,
        "the relay log caught up with the upstream",
        relay_has_all,
    )
    .await;

    // A restart forgets everything in memory; the paused task is restored paused.
    ferry.restart();
    ferry.wait_stage(&task, "Paused", CATCH_UP).await;
    let out = ferry
        .ctl_ok(&["purge-relay", "-s", "with-relay", "-f", &now_file])
        .await;
    let kept = out["keptFrom"].as_str().unwrap_or_default().to_string();
    assert!(
        kept.contains(&paused_file) || kept.contains(&file),
        "the purge keeps the paused task's files ({file} .. {paused_file}): {out}"
    );
    exec(&mut c, &format!("PURGE BINARY LOGS TO '{now_file}'")).await;
    ferry.ctl_ok(&["resume-task", &task]).await;
    wait_caught_up(&ferry, &task, &up, CATCH_UP).await;
    compare_all(&up, down, &db).await;
}
