//! `binlog list` and `binlog revert`: decisions set for statements not reached yet are
//! listed, and one reverted before its statement comes is not applied.

use super::*;

/// The position `binlog -b` names for the statement of `up`'s binlog whose text contains
/// `marker`: the start of its transaction (the event before its Query event).
async fn statement_position(up: &TestServer, file: &str, marker: &str) -> u64 {
    let mut c = up.conn().await;
    let rows: Vec<mysql_async::Row> =
        mysql_async::prelude::Queryable::query(&mut c, format!("SHOW BINLOG EVENTS IN '{file}'"))
            .await
            .unwrap();
    let mut prev_pos = 0u64;
    for r in rows {
        let pos: u64 = r.get(1).unwrap();
        let kind: String = r.get(2).unwrap();
        let info: String = r.get(5).unwrap_or_default();
        if kind == "Query" && info.contains(marker) {
            return prev_pos;
        }
        prev_pos = pos;
    }
    panic!("no statement with {marker} in {file}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binlog_list_and_revert_before_the_statement_is_reached() {
    let up = shared(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let (db, file, pos) = fresh_db(up, "blop").await;
    let ferry = Ferry::start_temp("blop");
    ferry.add_source("up", up).await;
    let task = format!("blop_{}", &db[db.len() - 4..]);
    start_replicating(&ferry, &task, (up, down), (&db, &file, pos)).await;
    ferry.ctl_ok(&["pause-task", &task]).await;
    ferry.wait_stage(&task, "Paused", WAIT).await;

    // MariaDB has no VECTOR type: the downstream rejects this statement.
    let q = quote_ident(&db);
    exec(
        &mut up.conn().await,
        &format!("ALTER TABLE {q}.t ADD COLUMN v VECTOR(2)"),
    )
    .await;
    let (now_file, _) = binlog_position(up).await;
    let at = statement_position(up, &now_file, &format!("{q}.t ADD COLUMN v VECTOR")).await;
    let b = format!("{now_file}:{at}");
    let base = now_file
        .rsplit_once('.')
        .map(|(b, _)| b)
        .unwrap_or("binlog");
    let far = format!("{base}.999999:4");

    let v = ferry.ctl_ok(&["binlog", "skip", &task, "-b", &b]).await;
    assert_eq!(v["subtasks"], 1, "{v}");
    ferry
        .ctl_ok(&["binlog", "replace", &task, "-b", &far, "SELECT 1; SELECT 2"])
        .await;
    // Paused by pause-task, the task stays paused; both decisions wait.
    let st = ferry.wait_stage(&task, "Paused", WAIT).await;
    assert!(
        ferry_tests::ferry::subtasks(&st)[0]["result"].is_null(),
        "{st}"
    );
    let v = ferry.ctl_ok(&["binlog", "list", &task]).await;
    let ops = v["sources"][0]["operators"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(ops.len(), 2, "{v}");
    assert_eq!(
        (ops[0]["binlogPos"].as_str(), ops[0]["op"].as_str()),
        (Some(b.as_str()), Some("skip")),
        "{v}"
    );
    assert_eq!(ops[1]["op"], "replace", "{v}");
    assert_eq!(
        ops[1]["sqls"],
        serde_json::json!(["SELECT 1", "SELECT 2"]),
        "{v}"
    );
    let v = ferry
        .ctl_ok(&["binlog", "list", &task, "-b", &format!("{base}.999999:1")])
        .await;
    assert_eq!(
        v["sources"][0]["operators"].as_array().map(Vec::len),
        Some(1),
        "{v}"
    );

    // Revert the skip: when the task resumes, the statement is not skipped (it is rejected).
    let v = ferry.ctl_ok(&["binlog", "revert", &task, "-b", &b]).await;
    assert_eq!(v["sources"][0]["operators"][0]["op"], "skip", "{v}");
    ferry
        .ctl_refused(
            &["binlog", "revert", &task, "-b", &b],
            "no pending binlog operation",
        )
        .await;
    let v = ferry.ctl_ok(&["binlog", "list", &task]).await;
    assert_eq!(
        v["sources"][0]["operators"].as_array().map(Vec::len),
        Some(1),
        "{v}"
    );
    ferry.ctl_ok(&["resume-task", &task]).await;
    let msg = ferry.wait_paused_error(&task).await;
    assert!(msg.contains("VECTOR"), "{msg}");

    // The decision for the current error resumes the task and is used at once.
    ferry.ctl_ok(&["binlog", "skip", &task]).await;
    ferry.wait_stage(&task, "Running", WAIT).await;
    ferry_tests::workload::wait_caught_up(&ferry, &task, up, WAIT).await;

    ferry
        .ctl_refused(
            &["binlog", "list", &task, "-s", "nope"],
            "no subtask on source `nope`",
        )
        .await;
    ferry
        .ctl_refused(
            &["binlog", "undo", &task],
            "unknown binlog operation `undo`",
        )
        .await;
    ferry.ctl_ok(&["stop-task", &task]).await;
}
