//! `check-task` items against real servers: `conn_number` (a downstream with a low
//! `max_connections`), `meta_position` (a `meta` the upstream does not have, or not at an
//! event boundary), and the privileges of a MariaDB 10.11 user granted with the 10.5+ names.

use ferry_tests::data::exec;
use ferry_tests::ferry::path_str;
use ferry_tests::workload::binlog_position;
use ferry_tests::*;
use serde_json::Value;

/// A task file: `mode`, one instance on source `up`, tables of `db`; `extra` is appended
/// (meta of the instance, then top-level keys).
fn task(name: &str, mode: &str, down: &TestServer, db: &str, meta: &str, extra: &str) -> String {
    ferry_tests::task_file::one_db_task(name, mode, down, "up", db, &format!("{meta}{extra}"))
}

/// The items named `name` of a check-task answer.
fn items<'a>(report: &'a Value, name: &str) -> Vec<&'a Value> {
    report["results"]
        .as_array()
        .map(|r| r.iter().filter(|i| i["name"] == name).collect())
        .unwrap_or_default()
}

fn errors(item: &Value) -> String {
    item["errors"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter_map(|x| x["short_error"].as_str())
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .unwrap_or_default()
}

async fn table(up: &TestServer, db: &str) {
    let mut c = up.conn().await;
    create_database(&mut c, db).await;
    exec(
        &mut c,
        &format!("CREATE TABLE {}.t (id INT PRIMARY KEY)", quote_ident(db)),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conn_number_fails_over_max_connections_and_warns_when_they_are_in_use() {
    let up = shared(DbKind::Mysql, Role::Upstream);
    // A private downstream: its max_connections is changed.
    let down = TestServer::builder(DbKind::Mariadb, Role::Downstream)
        .extra_cnf("max_connections=10")
        .start();
    let db = unique_db_name("conn");
    table(up, &db).await;
    let ferry = Ferry::start_temp("conn");
    ferry.add_source("up", up).await;

    // worker-count 16 (default): 16 writers + 2 > 10.
    let f = ferry.write_file("t1.yaml", &task("c1", "incremental", &down, &db, "", ""));
    let out = ferry.ctl(&["check-task", path_str(&f)]).await;
    assert!(!out.ok, "{out}");
    let conn = items(&out.json, "conn_number");
    assert_eq!(conn.len(), 1, "{}", out.json);
    assert_eq!(conn[0]["state"], "fail", "{}", conn[0]);
    assert_eq!(
        errors(conn[0]),
        "checked database's max_connections: 10 is less than the number the task (loader/syncer) needs: 18",
    );
    assert_eq!(
        conn[0]["extra"],
        format!("address of db instance - 127.0.0.1:{}", down.port())
    );
    assert_eq!(out.json["summary"]["passed"], false);

    // worker-count 4: 6 connections fit in 10, but not while 5 others are open.
    let small = "syncers:\n  global:\n    worker-count: 4\n";
    let uses = "    syncer-config-name: \"global\"\n";
    let f = ferry.write_file(
        "t2.yaml",
        &task("c2", "incremental", &down, &db, uses, small),
    );
    let ok = ferry.ctl_ok(&["check-task", path_str(&f)]).await;
    assert_eq!(items(&ok, "conn_number")[0]["state"], "success", "{ok}");
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(down.conn().await);
    }
    let warned = ferry.ctl_ok(&["check-task", path_str(&f)]).await;
    let conn = items(&warned, "conn_number");
    assert_eq!(conn[0]["state"], "warn", "{warned}");
    let e = errors(conn[0]);
    assert!(
        e.starts_with("database's max_connections: 10, used_connections: "),
        "{e}"
    );
    assert!(
        e.ends_with("is less than the task (loader/syncer) needs: 6"),
        "{e}"
    );
    drop(held);
    down.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meta_position_fails_for_a_missing_file_or_a_position_inside_an_event() {
    for kind in [DbKind::Mysql, DbKind::Mariadb] {
        let up = shared(kind, Role::Upstream);
        let down = shared(DbKind::Mariadb, Role::Downstream);
        let db = unique_db_name("meta");
        table(up, &db).await;
        let ferry = Ferry::start_temp("meta");
        ferry.add_source("up", up).await;
        let (file, pos) = binlog_position(up).await;
        let (base, seq) = file.rsplit_once('.').expect("base.seq");
        let missing = format!(
            "{base}.{:0width$}",
            seq.parse::<u64>().unwrap() + 1000,
            width = seq.len()
        );
        let meta = |f: &str, p: u64| {
            format!("    meta:\n      binlog-name: \"{f}\"\n      binlog-pos: {p}\n")
        };

        let ok = ferry.write_file(
            "ok.yaml",
            &task("m0", "incremental", down, &db, &meta(&file, pos), ""),
        );
        let report = ferry.ctl_ok(&["check-task", path_str(&ok)]).await;
        let item = items(&report, "meta_position");
        assert_eq!(item.len(), 1, "{report}");
        assert_eq!(item[0]["state"], "success", "{kind:?}: {report}");
        assert!(item[0]["desc"]
            .as_str()
            .unwrap_or("")
            .starts_with("check whether meta position is valid for db"));

        let gone = ferry.write_file(
            "gone.yaml",
            &task("m1", "incremental", down, &db, &meta(&missing, 4), ""),
        );
        let out = ferry.ctl(&["check-task", path_str(&gone)]).await;
        assert!(!out.ok, "{out}");
        let item = items(&out.json, "meta_position");
        assert_eq!(item[0]["state"], "fail", "{kind:?}: {}", out.json);
        let e = errors(item[0]);
        assert!(
            e.contains(&format!("binlog-name {missing} binlog-pos 4")),
            "{e}"
        );
        // start-task runs the same precheck and starts nothing.
        let start = ferry.ctl(&["start-task", path_str(&gone)]).await;
        assert_eq!(start.json["result"], false, "{start}");
        assert!(ferry
            .query_status("m1")
            .await
            .is_none_or(|s| s["result"] == false));

        // One byte into the first event after the file header: not an event boundary.
        let inside = ferry.write_file(
            "inside.yaml",
            &task("m2", "incremental", down, &db, &meta(&file, 5), ""),
        );
        let out = ferry.ctl(&["check-task", path_str(&inside)]).await;
        let item = items(&out.json, "meta_position");
        assert_eq!(item[0]["state"], "fail", "{kind:?}: {}", out.json);
        assert!(
            errors(item[0]).contains(&format!("binlog-name {file} binlog-pos 5")),
            "{}",
            out.json
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_10_11_privilege_names_pass_the_dump_and_replication_checks() {
    let up = shared(DbKind::Mariadb, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let db = unique_db_name("priv");
    table(up, &db).await;
    let user = format!("f{}", &db[db.len() - 6..]);
    let q = quote_ident(&db);
    let mut c = up.conn().await;
    for sql in [
        format!("CREATE USER '{user}'@'%' IDENTIFIED BY 'pw-{user}'"),
        format!("GRANT SELECT, LOCK TABLES ON {q}.* TO '{user}'@'%'"),
        // MariaDB ≥ 10.5 names; REPLICATION CLIENT would be printed as BINLOG MONITOR too.
        format!(
            "GRANT RELOAD, BINLOG MONITOR, REPLICATION SLAVE, SLAVE MONITOR ON *.* TO '{user}'@'%'"
        ),
        format!("CREATE USER '{user}n'@'%' IDENTIFIED BY 'pw-{user}'"),
        format!("GRANT SELECT ON {q}.* TO '{user}n'@'%'"),
        format!("GRANT RELOAD, REPLICATION SLAVE ADMIN, BINLOG ADMIN ON *.* TO '{user}n'@'%'"),
    ] {
        exec(&mut c, &sql).await;
    }
    let shown: Vec<String> = up
        .query_rows(&format!("SHOW GRANTS FOR '{user}'@'%'"))
        .await;
    assert!(
        shown
            .iter()
            .any(|l| l.contains("BINLOG MONITOR") && !l.contains("REPLICATION CLIENT")),
        "MariaDB 10.11 prints the new name: {shown:?}"
    );

    let ferry = Ferry::start_temp("priv");
    for (id, u) in [("up", user.clone()), ("upn", format!("{user}n"))] {
        let src = ferry.write_file(
            &format!("{id}.yaml"),
            &format!(
                "source-id: \"{id}\"\nfrom:\n  host: \"127.0.0.1\"\n  port: {}\n  user: \"{u}\"\n  password: \"pw-{user}\"\n",
                up.port()
            ),
        );
        ferry
            .ctl_ok(&["operate-source", "create", path_str(&src)])
            .await;
    }
    let f = ferry.write_file("all.yaml", &task("p1", "all", down, &db, "", ""));
    let report = ferry.ctl_ok(&["check-task", path_str(&f)]).await;
    for name in ["dump_privilege", "replication_privilege", "binlog_position"] {
        let item = items(&report, name);
        assert_eq!(item.len(), 1, "{name}: {report}");
        assert_eq!(item[0]["state"], "success", "{name}: {report}");
    }

    // The admin privileges alone do not replicate: BINLOG MONITOR and REPLICATION SLAVE lack.
    let text = std::fs::read_to_string(&f)
        .expect("task file")
        .replace("source-id: \"up\"", "source-id: \"upn\"");
    let f = ferry.write_file("alln.yaml", &text);
    let out = ferry.ctl(&["check-task", path_str(&f)]).await;
    assert!(!out.ok, "{out}");
    let item = items(&out.json, "replication_privilege");
    assert_eq!(item[0]["state"], "fail", "{}", out.json);
    assert_eq!(
        errors(item[0]),
        "lack of REPLICATION SLAVE privilege; lack of REPLICATION CLIENT privilege;"
    );
    for u in [user.clone(), format!("{user}n")] {
        exec(&mut c, &format!("DROP USER '{u}'@'%'")).await;
    }
}
