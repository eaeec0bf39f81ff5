//! End-to-end tests of incremental replication (task-mode `incremental` and `all`): a
//! randomized workload on real upstreams, DDL mid-stream, and at the end every replicated
//! table compared row by row with the upstream.

use std::time::Duration;

use ferry_tests::data::exec;
use ferry_tests::ferry::path_str;
use ferry_tests::workload::{binlog_position, create_tables, wait_caught_up, Workload, TABLES};
use ferry_tests::*;
use rand::Rng;

const CATCH_UP: Duration = Duration::from_secs(180);

/// A task file: `mode`, one instance on source `src` with `meta` (may be empty), tables of
/// `db` only.
fn task_file(name: &str, mode: &str, down: &TestServer, src: &str, db: &str, meta: &str) -> String {
    format!(
        "name: \"{name}\"\ntask-mode: {mode}\n\
         target-database:\n  host: \"127.0.0.1\"\n  port: {}\n  user: \"root\"\n  password: \"\"\n\
         block-allow-list:\n  bal:\n    do-dbs: [\"{db}\"]\n\
         mysql-instances:\n  - source-id: \"{src}\"\n    block-allow-list: \"bal\"\n{meta}",
        down.port()
    )
}

fn meta_at(file: &str, pos: u64) -> String {
    format!("    meta:\n      binlog-name: \"{file}\"\n      binlog-pos: {pos}\n")
}

async fn compare_all(up: &TestServer, down: &TestServer, db: &str) {
    let (mut u, mut d) = (up.conn().await, down.conn().await);
    assert_schemas_equal(&mut u, &mut d, db, db).await;
}

async fn incremental_with_ddl(up_kind: DbKind, down_kind: DbKind) {
    let up = shared(up_kind, Role::Upstream);
    let down = shared(down_kind, Role::Downstream);
    let db = unique_db_name("inc");
    let seed: u64 = rand::thread_rng().gen();
    eprintln!("workload seed {seed}");
    let (file, pos) = binlog_position(up).await;
    let mut c = up.conn().await;
    // Everything from here on reaches the downstream through the binlog, DDL included.
    create_database(&mut c, &db).await;
    create_tables(&mut c, &db).await;

    let ferry = Ferry::start_temp("inc");
    ferry.add_source("up", up).await;
    let task = format!("inc_{}", &db[db.len() - 4..]);
    let yaml = task_file(&task, "incremental", down, "up", &db, &meta_at(&file, pos));
    let f = ferry.write_file("task.yaml", &yaml);
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;

    let mut w = Workload::new(&db, seed);
    w.run(&mut c, 300).await;
    let q = quote_ident(&db);
    exec(
        &mut c,
        &format!("ALTER TABLE {q}.t_pk ADD COLUMN z INT NOT NULL DEFAULT 7 AFTER a"),
    )
    .await;
    w.run(&mut c, 200).await;
    exec(
        &mut c,
        &format!("ALTER TABLE {q}.t_pk ADD INDEX ia (a), DROP COLUMN e"),
    )
    .await;
    exec(
        &mut c,
        &format!("RENAME TABLE {q}.t_nokey TO {q}.t_nokey_old"),
    )
    .await;
    exec(
        &mut c,
        &format!("CREATE TABLE {q}.t_nokey LIKE {q}.t_nokey_old"),
    )
    .await;
    exec(
        &mut c,
        &format!("ALTER TABLE {q}.t_uk MODIFY v VARCHAR(200) NOT NULL"),
    )
    .await;
    w.run(&mut c, 300).await;
    exec(&mut c, &format!("TRUNCATE TABLE {q}.t_nokey_old")).await;
    w.run(&mut c, 100).await;

    let st = wait_caught_up(&ferry, &task, up, CATCH_UP).await;
    let sub = &ferry_tests::ferry::subtasks(&st)[0];
    assert_eq!(sub["unit"], "Sync", "{sub}");
    compare_all(up, down, &db).await;
    let mut d = down.conn().await;
    let tables = list_tables(&mut d, &db).await;
    for t in TABLES.iter().chain(&["t_nokey_old"]) {
        assert!(
            tables.iter().any(|x| x == t),
            "{t} missing downstream: {tables:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_mysql_to_mariadb_with_ddl() {
    incremental_with_ddl(DbKind::Mysql, DbKind::Mariadb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_mariadb_to_mysql_with_ddl() {
    incremental_with_ddl(DbKind::Mariadb, DbKind::Mysql).await;
}
