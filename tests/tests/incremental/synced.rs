//! `query-status`'s `synced`: true only when everything up to the upstream's position read at
//! query time is applied, so a script that waits for it can act on the downstream at once.

use super::*;
use ferry_tests::data::count_rows;
use ferry_tests::ferry::subtasks;

/// While an insert waits behind a lock on the downstream table, `synced` is false (it never
/// answers from a position read before the query); once it is true, the downstream has the
/// insert.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synced_covers_every_change_made_before_the_query() {
    let up = shared(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let db = unique_db_name("synced");
    let q = quote_ident(&db);
    let mut c = up.conn().await;
    create_database(&mut c, &db).await;
    exec(&mut c, &format!("CREATE TABLE {q}.t (id INT PRIMARY KEY)")).await;
    let ferry = Ferry::start_temp("synced");
    ferry.add_source("up", up).await;
    let task = format!("synced_{}", &db[db.len() - 4..]);
    let f = ferry.write_file("task.yaml", &task_file(&task, "all", down, "up", &db, ""));
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;
    wait_caught_up(&ferry, &task, up, CATCH_UP).await;
    let mut d = down.conn().await;
    let synced = |st: &serde_json::Value| {
        let subs = subtasks(st);
        !subs.is_empty()
            && subs
                .iter()
                .all(|s| s["sync"]["synced"] == serde_json::json!(true))
    };
    for i in 1..=5u64 {
        // The downstream table is locked: the insert cannot be applied yet.
        exec(&mut d, &format!("LOCK TABLES {q}.t WRITE")).await;
        exec(&mut c, &format!("INSERT INTO {q}.t VALUES ({i})")).await;
        for _ in 0..3 {
            let st = ferry.query_status(&task).await.expect("query-status");
            assert!(
                !synced(&st),
                "synced while insert {i} waits behind a lock: {st:#}"
            );
        }
        exec(&mut d, "UNLOCK TABLES").await;
        wait_until(
            Duration::from_secs(60),
            format!("{task} synced after insert {i}"),
            || async {
                ferry
                    .query_status(&task)
                    .await
                    .is_some_and(|st| synced(&st))
            },
        )
        .await;
        assert_eq!(
            count_rows(&mut d, &db, "t").await,
            i,
            "synced was true before insert {i} was applied"
        );
    }
}
