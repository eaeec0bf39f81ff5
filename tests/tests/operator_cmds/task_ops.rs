//! `pause-task`/`resume-task`/`stop-task` with `-s` (one source's subtask; every task's
//! subtask of a source without a task name), kept over a restart, and `query-status -s` /
//! `--more`.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_source_pause_resume_stop_and_filtered_status() {
    let up1 = shared(DbKind::Mysql, Role::Upstream);
    let up2 = shared(DbKind::Mariadb, Role::Upstream);
    let down = shared(DbKind::Mysql, Role::Downstream);
    let (db1, f1, p1) = fresh_db(up1, "ops1").await;
    let (db2, f2, p2) = fresh_db(up2, "ops2").await;
    let (db3, f3, p3) = fresh_db(up1, "ops3").await;

    let mut ferry = Ferry::start_temp("taskops");
    ferry.add_source("s1", up1).await;
    ferry.add_source("s2", up2).await;
    let tag = &db1[db1.len() - 4..];
    let (t, t2) = (format!("two_{tag}"), format!("one_{tag}"));
    let y = task_file(&t, down, &[("s1", &db1, &f1, p1), ("s2", &db2, &f2, p2)]);
    let f = ferry.write_file("two.yaml", &y);
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;
    let y = task_file(&t2, down, &[("s1", &db3, &f3, p3)]);
    let f = ferry.write_file("one.yaml", &y);
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;
    insert(up1, &db1, 1).await;
    insert(up2, &db2, 1).await;
    wait_rows(down, &db1, 1).await;
    wait_rows(down, &db2, 1).await;

    // One source's subtask: the other keeps replicating.
    let v = ferry.ctl_ok(&["pause-task", "-s", "s1", &t]).await;
    assert_eq!(v["op"], "Pause", "{v}");
    assert_eq!(v["sources"][0]["source"], "s1", "{v}");
    assert_eq!(v["sources"].as_array().map(Vec::len), Some(1), "{v}");
    wait_stages(&ferry, &t, &[("s1", "Paused"), ("s2", "Running")]).await;
    insert(up2, &db2, 2).await;
    wait_rows(down, &db2, 2).await;
    insert(up1, &db1, 2).await;
    let list = ferry.ctl_ok(&["query-status"]).await;
    let two = list["tasks"]
        .as_array()
        .and_then(|ts| ts.iter().find(|x| x["taskName"] == t.as_str()).cloned())
        .unwrap_or_else(|| panic!("{list}"));
    assert_eq!(
        two["taskStatus"], "Paused",
        "DM: any subtask paused: {list}"
    );

    // query-status -s: only that source; without a task, every task's subtask on it.
    let v = ferry.ctl_ok(&["query-status", "-s", "s2", &t]).await;
    assert_eq!(stages(&v), vec![("s2".to_string(), "Running".to_string())]);
    let v = ferry.ctl_ok(&["query-status", "-s", "s1"]).await;
    let srcs = v["sources"].as_array().cloned().unwrap_or_default();
    assert_eq!(srcs.len(), 1, "{v}");
    let mut names: Vec<&str> = srcs[0]["subTaskStatus"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str())
        .collect();
    names.sort();
    let mut want = vec![t.as_str(), t2.as_str()];
    want.sort();
    assert_eq!(names, want, "{v}");
    let v = ferry.ctl_ok(&["query-status", "--more"]).await;
    assert_eq!(v["sources"].as_array().map(Vec::len), Some(2), "{v}");
    ferry
        .ctl_refused(
            &["query-status", "-s", "nope", &t],
            "source `nope` does not exist",
        )
        .await;

    // The split stays over a restart.
    ferry.restart();
    wait_stages(&ferry, &t, &[("s1", "Paused"), ("s2", "Running")]).await;
    let v = ferry.ctl_ok(&["resume-task", "-s", "s1", &t]).await;
    assert_eq!(v["op"], "Resume", "{v}");
    wait_rows(down, &db1, 2).await;

    // Without a task: every task's subtask of the source (DM's batch answer).
    let v = ferry.ctl_ok(&["pause-task", "-s", "s1"]).await;
    let tasks = v["tasks"].as_array().cloned().unwrap_or_default();
    let mut names: Vec<String> = tasks
        .iter()
        .map(|x| x["task"].as_str().unwrap_or("").to_string())
        .collect();
    names.sort();
    let mut want = vec![t.clone(), t2.clone()];
    want.sort();
    assert_eq!(names, want, "{v}");
    assert!(
        tasks
            .iter()
            .all(|x| x["op"] == "Pause" && x["result"] == true),
        "{v}"
    );
    wait_stages(&ferry, &t2, &[("s1", "Paused")]).await;
    wait_stages(&ferry, &t, &[("s1", "Paused"), ("s2", "Running")]).await;
    ferry.ctl_ok(&["resume-task", "-s", "s1"]).await;
    wait_stages(&ferry, &t2, &[("s1", "Running")]).await;
    wait_stages(&ferry, &t, &[("s1", "Running"), ("s2", "Running")]).await;

    // Bad input names the thing.
    ferry
        .ctl_refused(
            &["pause-task", "-s", "s9", &t],
            "has no subtask on source `s9`",
        )
        .await;
    ferry
        .ctl_refused(&["pause-task", "-s", "s9"], "source `s9` does not exist")
        .await;
    ferry
        .ctl_refused(
            &["resume-task", "no_such_task"],
            "task `no_such_task` does not exist",
        )
        .await;
    ferry
        .ctl_refused(&["stop-task"], "must give one source-name")
        .await;

    // stop-task -s: the task goes on without that source.
    let v = ferry.ctl_ok(&["stop-task", "-s", "s2", &t]).await;
    assert_eq!(v["op"], "Stop", "{v}");
    wait_stages(&ferry, &t, &[("s1", "Running")]).await;
    insert(up1, &db1, 3).await;
    wait_rows(down, &db1, 3).await;
    let v = ferry.ctl_ok(&["config", "task", &t]).await;
    let cfg = v["cfg"].as_str().unwrap_or_default();
    assert!(!cfg.contains("\"s2\"") && !cfg.contains(" s2\n"), "{cfg}");
    ferry.ctl_ok(&["stop-task", &t]).await;
    ferry.ctl_ok(&["stop-task", &t2]).await;
    let out = ferry.ctl(&["query-status", &t]).await;
    assert!(!out.ok, "{out}");
}
