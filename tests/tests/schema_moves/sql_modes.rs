//! Upstreams whose statements are written under non-default `sql_mode`s.

use mysql_async::prelude::Queryable;

use super::*;

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
