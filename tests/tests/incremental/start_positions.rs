//! Where replication starts: `all` hand-off, seed task2's `meta`, GTID-only `meta`.

use super::*;

/// `all`: the full phase copies while the upstream keeps changing, then replication from the
/// full phase's start position (in safe mode until past its end) converges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_mode_converges_while_the_upstream_changes() {
    let up = shared(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let db = unique_db_name("all");
    let seed: u64 = rand::thread_rng().gen();
    eprintln!("workload seed {seed}");
    let mut c = up.conn().await;
    create_database(&mut c, &db).await;
    create_tables(&mut c, &db).await;
    let mut w = Workload::new(&db, seed);
    w.run(&mut c, 400).await;

    let ferry = Ferry::start_temp("all");
    ferry.add_source("up", up).await;
    let task = format!("all_{}", &db[db.len() - 4..]);
    let f = ferry.write_file("task.yaml", &task_file(&task, "all", down, "up", &db, ""));
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;
    // Keep writing during the copy and the hand-off.
    w.run(&mut c, 600).await;
    let st = wait_caught_up(&ferry, &task, up, CATCH_UP).await;
    assert_eq!(ferry_tests::ferry::subtasks(&st)[0]["unit"], "Sync");
    assert_eq!(
        ferry_tests::ferry::subtasks(&st)[0]["sync"]["binlogType"],
        "remote",
        "no relay log: read from the upstream"
    );
    compare_all(up, down, &db).await;
}

/// The seed guide's second half, its files as written (only host/port/credentials through
/// `${...}` and the port lines): source2.yaml (`enable-relay: true`) and task2.yaml
/// (`task-mode: incremental`, `meta` at `mysql-bin-changelog.000003:23910021`). That file does
/// not exist on the test upstream: the `meta_position` precheck refuses the task, naming it. With `meta` at
/// the upstream's real position, test_db.test_table replicates and nothing else does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_task2_incremental_as_written() {
    let up = shared(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let env: &[(&str, &str)] = &[
        ("host", "127.0.0.1"),
        ("username", "root"),
        ("password", ""),
    ];
    let seed = |name: &str, port: u16| -> String {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../config/tests/fixtures")
            .join(name);
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        text.lines()
            .map(|l| match l.trim_start().strip_prefix("port:") {
                Some(_) => format!("{}port: {port}", &l[..l.len() - l.trim_start().len()]),
                None => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let ferry = Ferry::start_temp("seed2");
    let source = ferry.write_file("source2.yaml", &seed("source2.yaml", up.port()));
    let task2 = seed("task2.yaml", down.port());
    let task = ferry.write_file("task2.yaml", &task2);
    let (source, task) = (path_str(&source), path_str(&task));
    let valid = ferry_tests::ferry::ferryctl(&["validate", source, task], env).await;
    assert!(valid.ok, "{valid}");
    let created = ferry
        .ctl_env(&["operate-source", "create", source], env)
        .await;
    assert!(created.ok, "{created}");
    // The `meta_position` precheck refuses it, naming the file and position.
    let started = ferry.ctl_env(&["start-task", task], env).await;
    assert!(!started.ok, "{started}");
    let failed: Vec<&serde_json::Value> = started.json["checkResult"]["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["state"] == "fail")
        .collect();
    assert_eq!(failed.len(), 1, "{started}");
    assert_eq!(failed[0]["name"], "meta_position", "{started}");
    let msg = failed[0]["errors"][0]["short_error"].as_str().unwrap_or("");
    assert!(
        msg.contains("mysql-bin-changelog.000003") && msg.contains("23910021"),
        "names the missing file and position: {msg}"
    );

    let (file, pos) = binlog_position(up).await;
    let fixed = task2
        .replace("mysql-bin-changelog.000003", &file)
        .replace("23910021", &pos.to_string());
    let task = ferry.write_file("task2-here.yaml", &fixed);
    let started = ferry
        .ctl_env(&["start-task", "--remove-meta", path_str(&task)], env)
        .await;
    assert!(started.ok, "{started}");
    let mut c = up.conn().await;
    for sql in [
        "CREATE DATABASE IF NOT EXISTS test_db",
        "CREATE TABLE test_db.test_table (id INT PRIMARY KEY, name VARCHAR(50), amount DECIMAL(12,2))",
        "CREATE TABLE test_db.not_selected (id INT PRIMARY KEY)",
        "INSERT INTO test_db.test_table VALUES (1, 'a', 1.25), (2, 'b', 2.50), (3, 'c', 3.75)",
        "INSERT INTO test_db.not_selected VALUES (1)",
        "UPDATE test_db.test_table SET amount = amount * 2 WHERE id = 2",
        "DELETE FROM test_db.test_table WHERE id = 3",
    ] {
        exec(&mut c, sql).await;
    }
    wait_caught_up(&ferry, "task2", up, CATCH_UP).await;
    let mut d = down.conn().await;
    assert_eq!(list_tables(&mut d, "test_db").await, ["test_table"]);
    let n = assert_tables_equal(
        &mut c,
        &mut d,
        ("test_db", "test_table"),
        ("test_db", "test_table"),
    )
    .await;
    assert_eq!(n, 2);
}

/// `enable-gtid: true` and `meta.binlog-gtid` only (no file): replication starts after the
/// given executed GTID set on MySQL and on MariaDB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gtid_only_meta_starts_after_the_set() {
    for kind in [DbKind::Mysql, DbKind::Mariadb] {
        let up = shared(kind, Role::Upstream);
        let down = shared(DbKind::Mariadb, Role::Downstream);
        let db = unique_db_name("gtid");
        let q = quote_ident(&db);
        let mut c = up.conn().await;
        create_database(&mut c, &db).await;
        exec(
            &mut c,
            &format!("CREATE TABLE {q}.t (id INT PRIMARY KEY, v INT)"),
        )
        .await;
        exec(&mut c, &format!("INSERT INTO {q}.t VALUES (1, 1)")).await;
        let gtid: String = match kind {
            DbKind::Mysql => {
                up.query_rows::<String>("SELECT @@GLOBAL.gtid_executed")
                    .await
            }
            DbKind::Mariadb => {
                up.query_rows::<String>("SELECT @@GLOBAL.gtid_binlog_pos")
                    .await
            }
        }
        .remove(0)
        .replace('\n', "");
        // Downstream has what the GTID set covers; later changes must arrive exactly once.
        let mut d = down.conn().await;
        create_database(&mut d, &db).await;
        exec(
            &mut d,
            &format!("CREATE TABLE {q}.t (id INT PRIMARY KEY, v INT)"),
        )
        .await;
        exec(&mut d, &format!("INSERT INTO {q}.t VALUES (1, 1)")).await;
        let ferry = Ferry::start_temp("gtid");
        let src = ferry.write_file(
            "src.yaml",
            &format!(
                "{}enable-gtid: true\n",
                ferry_tests::ferry::source_yaml("up", up)
            ),
        );
        ferry
            .ctl_ok(&["operate-source", "create", path_str(&src)])
            .await;
        let task = format!("gtid_{}", &db[db.len() - 4..]);
        let meta = format!("    meta:\n      binlog-gtid: \"{gtid}\"\n");
        let f = ferry.write_file(
            "task.yaml",
            &task_file(&task, "incremental", down, "up", &db, &meta),
        );
        ferry.ctl_ok(&["start-task", path_str(&f)]).await;
        exec(&mut c, &format!("INSERT INTO {q}.t VALUES (2, 2), (3, 3)")).await;
        exec(&mut c, &format!("UPDATE {q}.t SET v = v + 10")).await;
        exec(&mut c, &format!("DELETE FROM {q}.t WHERE id = 2")).await;
        wait_caught_up(&ferry, &task, up, CATCH_UP).await;
        assert_tables_equal(&mut c, &mut d, (&db, "t"), (&db, "t")).await;
    }
}
