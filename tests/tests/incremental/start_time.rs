//! `start-task --start-time` (DM's semantics): an `incremental` task starts at the first
//! transaction at or after the time, read in the upstream's time zone; over an existing
//! checkpoint it starts there too, in safe mode until past the checkpoint; refused for other
//! task modes, for a bad format and for a time after the last transaction.

use super::*;

/// The upstream's clock as `YYYY-MM-DD HH:MM:SS` (its session time zone).
async fn upstream_now(c: &mut mysql_async::Conn) -> String {
    use mysql_async::prelude::Queryable;
    let q = "SELECT DATE_FORMAT(NOW(), '%Y-%m-%d %H:%i:%s')";
    c.query_first::<String, _>(q)
        .await
        .unwrap_or_else(|e| panic!("{q}: {e}"))
        .expect("NOW()")
}

/// Polls the upstream's clock until it shows a later second than now; returns that second.
async fn next_second(c: &mut mysql_async::Conn) -> String {
    let before = upstream_now(c).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let now = upstream_now(c).await;
        if now != before {
            return now;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the upstream's clock stayed at {before} for 10 s"
        );
        tokio::task::yield_now().await;
    }
}

async fn ids(c: &mut mysql_async::Conn, db: &str) -> Vec<i64> {
    use mysql_async::prelude::Queryable;
    let q = format!("SELECT id FROM {}.t ORDER BY id", quote_ident(db));
    c.query(&q).await.unwrap_or_else(|e| panic!("{q}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_time_starts_at_the_first_transaction_after_it() {
    for kind in [DbKind::Mysql, DbKind::Mariadb] {
        let up = shared(kind, Role::Upstream);
        let down = shared(DbKind::Mariadb, Role::Downstream);
        let db = unique_db_name("stime");
        let q = quote_ident(&db);
        let mut c = up.conn().await;
        let mut d = down.conn().await;
        for conn in [&mut c, &mut d] {
            create_database(conn, &db).await;
            exec(
                conn,
                &format!("CREATE TABLE {q}.t (id INT PRIMARY KEY, v INT)"),
            )
            .await;
        }
        exec(&mut c, &format!("INSERT INTO {q}.t VALUES (1, 1), (2, 2)")).await;
        exec(&mut c, &format!("UPDATE {q}.t SET v = 10 WHERE id = 1")).await;
        // Every event so far is at or before the second `before`; `at` is later.
        let at = next_second(&mut c).await;
        exec(&mut c, &format!("INSERT INTO {q}.t VALUES (3, 3)")).await;
        exec(&mut c, &format!("INSERT INTO {q}.t VALUES (4, 4), (5, 5)")).await;
        exec(&mut c, &format!("DELETE FROM {q}.t WHERE id = 5")).await;

        let ferry = Ferry::start_temp("stime");
        ferry.add_source("up", up).await;
        let task = format!("st_{}", &db[db.len() - 4..]);
        let f = ferry.write_file(
            "task.yaml",
            &task_file(&task, "incremental", down, "up", &db, ""),
        );
        let f = path_str(&f);

        // Refusals: a bad format (DM's message), a time after everything, another mode.
        let bad = ferry
            .ctl(&["start-task", "--start-time", "2021/10/21 00:01", f])
            .await;
        assert!(!bad.ok, "{bad}");
        assert!(
            bad.text()
                .contains("error while parse start-time `2021/10/21 00:01`"),
            "{bad}"
        );
        let late = ferry
            .ctl(&["start-task", "--start-time", "2099-01-01 00:00:00", f])
            .await;
        assert!(!late.ok, "{late}");
        assert!(
            late.text().contains(
                "start-time 2099-01-01 00:00:00 is too late, no binlog location matches it"
            ),
            "{late}"
        );
        let all = ferry.write_file("all.yaml", &task_file(&task, "all", down, "up", &db, ""));
        let refused = ferry
            .ctl(&["check-task", "--start-time", &at, path_str(&all)])
            .await;
        assert!(!refused.ok, "{refused}");
        assert!(
            refused.text().contains("task-mode incremental only"),
            "{refused}"
        );
        let checked = ferry.ctl_ok(&["check-task", "--start-time", &at, f]).await;
        assert!(
            !checked["results"]
                .as_array()
                .is_some_and(|r| r.iter().any(|i| i["name"] == "meta_position")),
            "meta is not used with --start-time: {checked}"
        );

        ferry.ctl_ok(&["start-task", "--start-time", &at, f]).await;
        wait_caught_up(&ferry, &task, up, CATCH_UP).await;
        assert_eq!(
            ids(&mut d, &db).await,
            [3, 4],
            "{kind:?}: only the rows written after {at}"
        );

        // Over the checkpoint: the task stopped, more rows written, started again from the
        // same time: the rows from `at` on are replayed (safe mode: no duplicate-key error)
        // and the new ones arrive.
        ferry.ctl_ok(&["stop-task", &task]).await;
        exec(&mut c, &format!("INSERT INTO {q}.t VALUES (6, 6)")).await;
        exec(&mut c, &format!("UPDATE {q}.t SET v = 40 WHERE id = 4")).await;
        ferry.ctl_ok(&["start-task", "--start-time", &at, f]).await;
        wait_caught_up(&ferry, &task, up, CATCH_UP).await;
        assert_eq!(
            ids(&mut d, &db).await,
            [3, 4, 6],
            "{kind:?}: replayed from {at}"
        );
        let v: Vec<(i64, i64)> = {
            use mysql_async::prelude::Queryable;
            d.query(format!("SELECT id, v FROM {q}.t ORDER BY id"))
                .await
                .expect("rows")
        };
        assert_eq!(v, [(3, 3), (4, 40), (6, 6)], "{kind:?}");
        ferry.ctl_ok(&["stop-task", &task]).await;
    }
}
