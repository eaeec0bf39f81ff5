//! `--consistency` modes and their privileges, and the start position requirement.
//!
//! - `none` works for a user without RELOAD/LOCK TABLES/SUPER (as on Aurora), and records the
//!   start position (the user has REPLICATION CLIENT, as DM requires);
//! - `flush` is refused by the precheck for that user, naming RELOAD, and works for root;
//! - `lock` works with the LOCK TABLES privilege;
//! - an upstream whose binlog position cannot be read (binary log off) is refused before
//!   anything is copied, by `check-task` and by `start-task`.

use std::time::Duration;

use ferry_tests::data::*;
use ferry_tests::ferry::{path_str, subtasks, task_yaml};
use ferry_tests::*;

const FINISH: Duration = Duration::from_secs(120);

fn task(name: &str, down: &TestServer, db: &str, consistency: &str) -> String {
    task_yaml(
        name,
        down,
        &format!(
            r#"block-allow-list:
  ba:
    do-dbs: ["{db}"]
mydumpers:
  d:
    threads: 2
    rows: 1000
    extra-args: "--consistency {consistency}"
mysql-instances:
  - source-id: "up"
    block-allow-list: "ba"
    mydumper-config-name: "d"
"#
        ),
    )
}

/// Creates `db` with two tables and a user with SELECT + REPLICATION CLIENT (+ `extra`).
async fn setup(up: &TestServer, db: &str, user: &str, extra: &str) {
    let mut u = up.conn().await;
    create_key_tables(&mut u, db, 2500).await;
    exec(
        &mut u,
        &format!("CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'"),
    )
    .await;
    exec(
        &mut u,
        &format!("GRANT SELECT, REPLICATION CLIENT{extra} ON *.* TO '{user}'@'%'"),
    )
    .await;
}

fn source_as(user: &str, up: &TestServer) -> String {
    format!(
        "source-id: \"up\"\nfrom:\n  host: \"127.0.0.1\"\n  port: {}\n  user: \"{user}\"\n  password: \"pw\"\n",
        up.port()
    )
}

async fn restricted_user_modes(kind: DbKind) {
    let up = shared(kind, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let db = unique_db_name("cons");
    let user = unique_db_name("aurora");
    setup(up, &db, &user, "").await;

    let ferry = Ferry::start_temp("cons");
    let src = ferry.write_file("source.yaml", &source_as(&user, up));
    ferry
        .ctl_ok(&["operate-source", "create", path_str(&src)])
        .await;

    // flush needs RELOAD: the precheck fails and names it; nothing is started.
    let flush_name = unique_db_name("flush");
    let flush = ferry.write_file("flush.yaml", &task(&flush_name, down, &db, "flush"));
    let out = ferry.ctl(&["check-task", path_str(&flush)]).await;
    assert!(!out.ok, "{out}");
    let failed: Vec<&serde_json::Value> = out.json["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["state"] == "fail")
        .collect();
    assert!(
        failed
            .iter()
            .any(|r| r["name"] == "dump_privilege" && r.to_string().contains("RELOAD")),
        "{out}"
    );
    let out = ferry.ctl(&["start-task", path_str(&flush)]).await;
    assert!(!out.ok, "{out}");
    assert!(ferry.query_status(&flush_name).await.is_none());

    // none works without RELOAD/LOCK TABLES/SUPER and records the start position.
    let name = unique_db_name("none");
    let status = ferry
        .run_full_task(&name, &task(&name, down, &db, "none"), FINISH)
        .await;
    let load = &subtasks(&status)[0]["load"];
    assert!(
        load["metaBinlog"]
            .as_str()
            .is_some_and(|p| p.starts_with('(')),
        "{load:#}"
    );
    let mut u = up.conn().await;
    let mut d = down.conn().await;
    assert_schema_copied(&mut u, &mut d, &db, &db).await;
}

#[tokio::test]
async fn consistency_none_works_without_reload_mysql() {
    restricted_user_modes(DbKind::Mysql).await;
}

#[tokio::test]
async fn consistency_none_works_without_reload_mariadb() {
    restricted_user_modes(DbKind::Mariadb).await;
}

/// flush (root) and lock (LOCK TABLES privilege) both copy the data.
#[tokio::test]
async fn consistency_flush_and_lock() {
    let up = shared(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    for mode in ["flush", "lock", "auto"] {
        let db = unique_db_name(mode);
        let user = unique_db_name("locker");
        setup(up, &db, &user, ", LOCK TABLES").await;
        let ferry = Ferry::start_temp(mode);
        if mode == "lock" {
            let src = ferry.write_file("source.yaml", &source_as(&user, up));
            ferry
                .ctl_ok(&["operate-source", "create", path_str(&src)])
                .await;
        } else {
            ferry.add_source("up", up).await;
        }
        let name = unique_db_name(mode);
        ferry
            .run_full_task(&name, &task(&name, down, &db, mode), FINISH)
            .await;
        let mut u = up.conn().await;
        let mut d = down.conn().await;
        assert_schema_copied(&mut u, &mut d, &db, &db).await;
    }
}

/// A server without a binary log has no position to hand off: refused before any copy.
#[tokio::test]
async fn unreadable_start_position_is_refused_before_copying() {
    // A "downstream" server runs with the binary log off.
    let up = TestServer::start(DbKind::Mysql, Role::Downstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let db = unique_db_name("nobinlog");
    let mut u = up.conn().await;
    create_key_tables(&mut u, &db, 100).await;
    let ferry = Ferry::start_temp("nobinlog");
    ferry.add_source("up", &up).await;
    let name = unique_db_name("nobinlog");
    let file = ferry.write_file("task.yaml", &task(&name, down, &db, "none"));
    let out = ferry.ctl(&["check-task", path_str(&file)]).await;
    assert!(!out.ok, "{out}");
    assert!(
        out.text().contains("binlog_position") && out.text().contains("log_bin"),
        "the precheck must say the position cannot be read and why: {out}"
    );
    let out = ferry.ctl(&["start-task", path_str(&file)]).await;
    assert!(!out.ok, "{out}");
    let mut d = down.conn().await;
    let copied = schemas_like(&mut d, &db).await;
    assert!(
        copied.is_empty(),
        "nothing may be created downstream: {copied:?}"
    );
}
