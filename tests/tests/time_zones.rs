//! TIMESTAMP values cross servers whose time zones differ, over many chunks.
//!
//! The loaders use pooled downstream connections; a pooled connection is reset when it goes
//! back to the pool, which clears session variables. Every chunk must still run with the
//! session time zone Ferry sets (UTC on both sides), or TIMESTAMP values would shift by the
//! downstream's offset from the second chunk on. The servers here run at +05:00 (upstream)
//! and -03:00 (downstream), so any chunk loaded in a server time zone is caught.

use std::time::Duration;

use ferry_tests::data::*;
use ferry_tests::ferry::task_yaml;
use ferry_tests::*;

async fn copy_timestamps(up_kind: DbKind, down_kind: DbKind) {
    let up = TestServer::builder(up_kind, Role::Upstream)
        .extra_cnf("default_time_zone='+05:00'")
        .start();
    let down = TestServer::builder(down_kind, Role::Downstream)
        .extra_cnf("default_time_zone='-03:00'")
        .start();
    let db = unique_db_name("tz");
    let mut u = up.conn().await;
    exec(&mut u, &format!("CREATE DATABASE `{db}`")).await;
    exec(
        &mut u,
        &format!(
            "CREATE TABLE `{db}`.`ts` (id INT PRIMARY KEY, t TIMESTAMP(6) NULL, d DATETIME(6) NULL)"
        ),
    )
    .await;
    // 4000 rows: with `rows: 500` that is 8 chunks through one pooled loader connection,
    // which is reset between chunks.
    exec(
        &mut u,
        &format!(
            "INSERT INTO `{db}`.`ts` SELECT n, FROM_UNIXTIME(1700000000.123456 + n * 3607), \
             '2024-02-29 23:59:59.999999' FROM {}",
            seq(4000)
        ),
    )
    .await;

    let ferry = Ferry::start_temp("tz");
    ferry.add_source("up", &up).await;
    let task = unique_db_name("tz");
    let yaml = task_yaml(
        &task,
        &down,
        &format!(
            r#"block-allow-list:
  ba:
    do-dbs: ["{db}"]
mydumpers:
  d:
    threads: 1
    rows: 500
    extra-args: "--consistency none"
loaders:
  l:
    pool-size: 1
mysql-instances:
  - source-id: "up"
    block-allow-list: "ba"
    mydumper-config-name: "d"
    loader-config-name: "l"
"#
        ),
    );
    let status = ferry
        .run_full_task(&task, &yaml, Duration::from_secs(120))
        .await;
    let subs = ferry_tests::ferry::subtasks(&status);
    assert!(
        subs[0]["load"]["totalChunks"].as_u64().unwrap_or(0) >= 4,
        "several chunks expected: {status:#}"
    );
    // The comparison reads both sides in UTC: a shifted TIMESTAMP shows as a difference.
    let mut d = down.conn().await;
    let rows = assert_schema_copied(&mut u, &mut d, &db, &db).await;
    assert_eq!(rows, 4000);
}

#[tokio::test]
async fn timestamps_mysql_to_mariadb_across_time_zones() {
    copy_timestamps(DbKind::Mysql, DbKind::Mariadb).await;
}

/// MySQL downstream: the INSERT path.
#[tokio::test]
async fn timestamps_mariadb_to_mysql_across_time_zones() {
    copy_timestamps(DbKind::Mariadb, DbKind::Mysql).await;
}
