//! End-to-end tests of a schema that moves under a migration: DDL racing an `all` task's
//! start, copy and hand-off; upstreams whose statements are written under non-default
//! `sql_mode`s. Every scenario ends by comparing each table of the schema with the upstream
//! (the same set of tables, each row equal).

use std::time::Duration;

use ferry_tests::data::{exec, seq};
use ferry_tests::ferry::{path_str, subtasks};
use ferry_tests::workload::wait_caught_up;
use ferry_tests::*;
use mysql_async::prelude::Queryable;
use rand::{Rng, SeedableRng};

const CATCH_UP: Duration = Duration::from_secs(240);

/// An `all` task on tables of `db`, copied in many small chunks by two dumpers.
fn all_task(name: &str, down: &TestServer, src: &str, db: &str) -> String {
    format!(
        "name: \"{name}\"\ntask-mode: all\n\
         target-database:\n  host: \"127.0.0.1\"\n  port: {}\n  user: \"root\"\n  password: \"\"\n\
         block-allow-list:\n  bal:\n    do-dbs: [\"{db}\"]\n\
         mydumpers:\n  d:\n    threads: 2\n    rows: 500\n    extra-args: \"--consistency none\"\n\
         mysql-instances:\n  - source-id: \"{src}\"\n    block-allow-list: \"bal\"\n    mydumper-config-name: \"d\"\n",
        down.port()
    )
}

async fn unit_of(ferry: &Ferry, task: &str) -> String {
    match ferry.query_status(task).await {
        Some(st) => subtasks(&st)
            .first()
            .and_then(|s| s["unit"].as_str().map(str::to_string))
            .unwrap_or_default(),
        None => String::new(),
    }
}

/// One step of a DDL storm on `db`: creates, fills, renames and drops tables while a task
/// copies and replicates them; with `replicating`, also swaps tables and adds columns.
/// `live` holds the tables that exist.
async fn ddl_step(
    c: &mut mysql_async::Conn,
    db: &str,
    step: usize,
    live: &mut Vec<String>,
    rng: &mut rand::rngs::StdRng,
    replicating: bool,
) {
    let q = quote_ident(db);
    let pick = |live: &Vec<String>, rng: &mut rand::rngs::StdRng| {
        live[rng.gen_range(0..live.len())].clone()
    };
    match rng.gen_range(0..if replicating { 7 } else { 6 }) {
        0 => {
            let t = format!("new_{step}");
            exec(
                c,
                &format!("CREATE TABLE {q}.{t} (id INT PRIMARY KEY, a INT, b VARCHAR(40))"),
            )
            .await;
            exec(
                c,
                &format!(
                    "INSERT INTO {q}.{t} SELECT n, n % 13, CONCAT('n', n) FROM {}",
                    seq(200)
                ),
            )
            .await;
            live.push(t);
        }
        1 if live.len() > 2 => {
            let from = pick(live, rng);
            let to = format!("ren_{step}");
            exec(c, &format!("RENAME TABLE {q}.{from} TO {q}.{to}")).await;
            live.retain(|t| *t != from);
            live.push(to);
        }
        2 if live.len() > 3 => {
            let t = pick(live, rng);
            exec(c, &format!("DROP TABLE {q}.{t}")).await;
            live.retain(|x| *x != t);
        }
        3 if replicating && live.len() > 2 => {
            // The swap online-schema-change tools do at cut-over.
            let a = pick(live, rng);
            let b = pick(live, rng);
            if a != b {
                exec(
                    c,
                    &format!("RENAME TABLE {q}.{a} TO {q}.swap_tmp, {q}.{b} TO {q}.{a}, {q}.swap_tmp TO {q}.{b}"),
                )
                .await;
            }
        }
        6 => {
            let t = pick(live, rng);
            exec(
                c,
                &format!("ALTER TABLE {q}.{t} ADD COLUMN c{step} INT NOT NULL DEFAULT {step}"),
            )
            .await;
        }
        _ => {
            let t = pick(live, rng);
            let id: u32 = rng.gen_range(1..100_000);
            exec(
                c,
                &format!(
                    "INSERT INTO {q}.{t} (id, a, b) VALUES ({id}, {step}, 'w{step}') \
                     ON DUPLICATE KEY UPDATE a = a + 1, b = CONCAT(b, '+')"
                ),
            )
            .await;
            exec(
                c,
                &format!("UPDATE {q}.{t} SET a = a + 1 WHERE id % 17 = {}", step % 17),
            )
            .await;
        }
    }
}

/// Tables created, renamed and dropped from before the start position until after the
/// hand-off, then also swapped and altered while replicating: the downstream ends with
/// exactly the upstream's tables and rows.
async fn ddl_storm_during_all_task(up_kind: DbKind) {
    let up = shared(up_kind, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let db = unique_db_name(&format!("storm_{up_kind}"));
    let seed: u64 = rand::thread_rng().gen();
    eprintln!("storm seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut c = up.conn().await;
    create_database(&mut c, &db).await;
    let q = quote_ident(&db);
    let mut live = Vec::new();
    for i in 0..6 {
        let t = format!("t{i}");
        exec(
            &mut c,
            &format!("CREATE TABLE {q}.{t} (id INT PRIMARY KEY, a INT, b VARCHAR(40))"),
        )
        .await;
        exec(
            &mut c,
            &format!(
                "INSERT INTO {q}.{t} SELECT n, n % 7, CONCAT('r', n) FROM {}",
                seq(6000)
            ),
        )
        .await;
        live.push(t);
    }

    let ferry = Ferry::start_temp("storm");
    ferry.add_source("up", up).await;
    let task = format!("st_{}", &db[db.len() - 4..]);
    let f = ferry.write_file("task.yaml", &all_task(&task, down, "up", &db));
    // DDL from before the start until well into replication.
    let mut step = 0;
    for _ in 0..3 {
        ddl_step(&mut c, &db, step, &mut live, &mut rng, false).await;
        step += 1;
    }
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;
    let mut after_sync = 0;
    while after_sync < 15 {
        ddl_step(&mut c, &db, step, &mut live, &mut rng, false).await;
        step += 1;
        // A busy application's pace of schema changes, not a synchronisation.
        tokio::time::sleep(Duration::from_millis(150)).await;
        if unit_of(&ferry, &task).await == "Sync" {
            after_sync += 1;
        }
        assert!(step < 1500, "the task never reached the Sync unit");
    }
    eprintln!("{step} DDL steps during the copy and the hand-off");
    wait_caught_up(&ferry, &task, up, CATCH_UP).await;
    {
        let (mut u, mut d) = (up.conn().await, down.conn().await);
        assert_schemas_equal(&mut u, &mut d, &db, &db).await;
    }
    for _ in 0..25 {
        ddl_step(&mut c, &db, step, &mut live, &mut rng, true).await;
        step += 1;
    }
    wait_caught_up(&ferry, &task, up, CATCH_UP).await;
    let (mut u, mut d) = (up.conn().await, down.conn().await);
    assert_schemas_equal(&mut u, &mut d, &db, &db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ddl_storm_during_all_task_mysql() {
    ddl_storm_during_all_task(DbKind::Mysql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ddl_storm_during_all_task_mariadb() {
    ddl_storm_during_all_task(DbKind::Mariadb).await;
}

/// An upstream whose global `sql_mode` has `ANSI_QUOTES` (its `SHOW CREATE TABLE` quotes
/// names with `"`), and sessions that write DDL and rows under `ANSI_QUOTES`,
/// `NO_BACKSLASH_ESCAPES`, `PIPES_AS_CONCAT` and `HIGH_NOT_PRECEDENCE`, with quotes and
/// backslashes in names, defaults and comments: each statement means downstream what it
/// meant upstream.
async fn sql_modes(up_kind: DbKind) {
    let up = TestServer::builder(up_kind, Role::Upstream)
        .extra_cnf("sql_mode=ANSI_QUOTES,STRICT_TRANS_TABLES")
        .start();
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let db = unique_db_name(&format!("modes_{up_kind}"));
    let mut c = up.conn().await;
    c.query_drop(format!("CREATE DATABASE \"{db}\""))
        .await
        .unwrap();
    // Copied by the full phase (SHOW CREATE TABLE under the global ANSI_QUOTES).
    c.query_drop(format!(
        r#"CREATE TABLE "{db}"."ful""l" ("id" INT PRIMARY KEY, "we`ird" VARCHAR(20) DEFAULT 'a''b' COMMENT 'it''s "x"')"#
    ))
    .await
    .unwrap();
    c.query_drop(format!(
        r#"INSERT INTO "{db}"."ful""l" VALUES (1, 'x''y'), (2, NULL)"#
    ))
    .await
    .unwrap();

    let ferry = Ferry::start_temp("modes");
    ferry.add_source("up", &up).await;
    let task = format!("md_{}", &db[db.len() - 4..]);
    let f = ferry.write_file("task.yaml", &all_task(&task, down, "up", &db));
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;
    // The statements below must reach the downstream through the binlog.
    wait_until(Duration::from_secs(60), "the task replicates", || async {
        unit_of(&ferry, &task).await == "Sync"
    })
    .await;

    // Replicated statements, each written under its own session sql_mode.
    let cases: &[(&str, &[&str])] = &[
        (
            "ANSI_QUOTES",
            &[
                r#"CREATE TABLE "q""t" ("id" INT PRIMARY KEY, "c" VARCHAR(20) DEFAULT 'd"q' COMMENT 'a "quoted" word')"#,
                r#"ALTER TABLE "q""t" ADD COLUMN "n""x" INT DEFAULT 5"#,
                r#"INSERT INTO "q""t" ("id", "c") VALUES (1, 'one'), (2, DEFAULT)"#,
            ],
        ),
        (
            "NO_BACKSLASH_ESCAPES",
            &[
                r"CREATE TABLE `bs` (`id` INT PRIMARY KEY, `p` VARCHAR(30) DEFAULT 'C:\dir\' COMMENT 'ends in \')",
                r"INSERT INTO `bs` (`id`) VALUES (1)",
                r"INSERT INTO `bs` VALUES (2, 'x\ny')",
            ],
        ),
        (
            "PIPES_AS_CONCAT",
            &[
                r"CREATE TABLE `pc` (`id` INT PRIMARY KEY, `a` VARCHAR(10), `g` VARCHAR(30) AS (`a` || '-' || `id`) STORED)",
                r"INSERT INTO `pc` (`id`, `a`) VALUES (1, 'x'), (2, 'y')",
            ],
        ),
        (
            "HIGH_NOT_PRECEDENCE",
            &[
                r"CREATE TABLE `hn` (`id` INT PRIMARY KEY, `g` INT AS (NOT `id` BETWEEN -5 AND 5) STORED)",
                r"INSERT INTO `hn` (`id`) VALUES (0), (1), (7)",
            ],
        ),
    ];
    for (mode, stmts) in cases {
        let mut s = up.conn().await;
        s.query_drop(format!("SET SESSION sql_mode = '{mode}'"))
            .await
            .unwrap();
        s.query_drop(format!("USE `{db}`")).await.unwrap();
        for stmt in stmts.iter() {
            if let Err(e) = s.query_drop(*stmt).await {
                panic!("{mode}: {stmt}: {e}");
            }
        }
    }
    wait_caught_up(&ferry, &task, &up, CATCH_UP).await;
    let (mut u, mut d) = (up.conn().await, down.conn().await);
    let rows = assert_schemas_equal(&mut u, &mut d, &db, &db).await;
    assert_eq!(rows, 2 + 2 + 2 + 2 + 3, "rows in all tables");
    // The generated columns hold what the mode meant: concatenation, and NOT over BETWEEN.
    let g: Vec<String> = d
        .query(format!("SELECT `g` FROM `{db}`.`pc` ORDER BY `id`"))
        .await
        .unwrap();
    assert_eq!(g, ["x-1", "y-2"]);
    let hn: Vec<i64> = d
        .query(format!("SELECT `g` FROM `{db}`.`hn` ORDER BY `id`"))
        .await
        .unwrap();
    // (NOT id) BETWEEN -5 AND 5: 1 for every row; without the mode it would be 0, 0, 1.
    assert_eq!(hn, [1, 1, 1]);
    let p: Vec<String> = d
        .query(format!("SELECT `p` FROM `{db}`.`bs` ORDER BY `id`"))
        .await
        .unwrap();
    assert_eq!(p, [r"C:\dir\", r"x\ny"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_modes_mysql() {
    sql_modes(DbKind::Mysql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_modes_mariadb() {
    sql_modes(DbKind::Mariadb).await;
}
