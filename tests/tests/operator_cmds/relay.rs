//! `operate-source show -s`, `start-relay`, `stop-relay`: the relay log switched at run time
//! (and kept over a restart); `stop-relay` refused while a task of the source exists.

use super::*;

fn relay_flag(v: &Value) -> Value {
    v["sources"][0]["enable-relay"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_and_stop_relay_at_run_time() {
    let up = shared(DbKind::Mariadb, Role::Upstream);
    let down = shared(DbKind::Mysql, Role::Downstream);
    let (db, file, pos) = fresh_db(up, "rly").await;
    let mut ferry = Ferry::start_temp("relayops");
    ferry.add_source("up", up).await;

    let v = ferry.ctl_ok(&["operate-source", "show", "-s", "up"]).await;
    assert_eq!(v["sources"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["sources"][0]["source"], "up", "{v}");
    assert_eq!(relay_flag(&v), false, "{v}");
    ferry
        .ctl_refused(
            &["operate-source", "show", "-s", "nope"],
            "source `nope` does not exist",
        )
        .await;
    ferry
        .ctl_refused(
            &["start-relay", "-s", "nope"],
            "source `nope` does not exist",
        )
        .await;

    let v = ferry.ctl_ok(&["start-relay", "-s", "up"]).await;
    assert_eq!(v["sources"][0]["source"], "up", "{v}");
    let v = ferry.ctl_ok(&["operate-source", "show", "-s", "up"]).await;
    assert_eq!(relay_flag(&v), true, "{v}");
    let st = ferry.ctl_ok(&["query-status", "-s", "up"]).await;
    assert!(
        !st["sources"][0]["sourceStatus"]["relayStatus"].is_null(),
        "{st}"
    );

    // A task started now reads from the relay log.
    let task = format!("rly_{}", &db[db.len() - 4..]);
    let f = start_replicating(&ferry, &task, (up, down), (&db, &file, pos)).await;

    let out = ferry.ctl(&["stop-relay", "-s", "up"]).await;
    assert!(!out.ok, "{out}");
    assert!(
        out.text().contains(&format!("`{task}`")) && out.text().contains("stop-task"),
        "{out}"
    );

    // Kept over a restart.
    ferry.restart();
    let v = ferry.ctl_ok(&["operate-source", "show", "-s", "up"]).await;
    assert_eq!(relay_flag(&v), true, "{v}");

    ferry.ctl_ok(&["stop-task", &task]).await;
    ferry.ctl_ok(&["stop-relay", "-s", "up"]).await;
    let v = ferry.ctl_ok(&["operate-source", "show", "-s", "up"]).await;
    assert_eq!(relay_flag(&v), false, "{v}");
    let st = ferry.ctl_ok(&["query-status", "-s", "up"]).await;
    assert!(
        st["sources"][0]["sourceStatus"]["relayStatus"].is_null(),
        "{st}"
    );
    ferry.restart();
    let v = ferry.ctl_ok(&["operate-source", "show", "-s", "up"]).await;
    assert_eq!(relay_flag(&v), false, "{v}");

    // Started again, the task resumes from its checkpoint reading the upstream.
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;
    insert(up, &db, 2).await;
    wait_rows(down, &db, 2).await;
    ferry.ctl_ok(&["stop-task", &task]).await;
}
