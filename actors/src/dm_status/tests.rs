//! Each shape against the object the former `json!` code built for the same inputs.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use ferry_model::{BinlogPosition, Location, TableName};
use serde_json::{json, Value};

use super::*;
use crate::bulk::BulkProgress;
use crate::error::{policy, Action};
use crate::sync::{SyncPoint, SyncStatus};

fn to_json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap()
}

fn loc(name: &str, pos: u64) -> Location {
    Location {
        binlog: BinlogPosition::new(name, pos).unwrap(),
        gtid: None,
    }
}

fn dump() -> DumpStatus {
    DumpStatus {
        total_tables: 2,
        completed_tables: 1,
        finished_bytes: 300,
        finished_rows: 30,
        estimate_total_rows: 40,
        bps: 7,
        progress: "75.00 %".into(),
    }
}

fn load() -> LoadStatus {
    LoadStatus {
        finished_bytes: 200,
        total_bytes: 400,
        finished_rows: 20,
        total_chunks: 4,
        finished_chunks: 2,
        progress: "50.00 %".into(),
        meta_binlog: "(mysql-bin.000001, 4)".into(),
        meta_binlog_gtid: String::new(),
        bps: 5,
        rps: 3,
    }
}

fn sync_view() -> SyncStatusView {
    SyncStatusView {
        master_binlog: "(mysql-bin.000002, 900)".into(),
        master_binlog_gtid: String::new(),
        syncer_binlog: "(mysql-bin.000002, 400)".into(),
        syncer_binlog_gtid: String::new(),
        blocking_ddls: vec![],
        unresolved_groups: vec![],
        synced: false,
        binlog_type: "remote".into(),
        seconds_behind_master: "3".into(),
        block_ddl_owner: String::new(),
        conflict_msg: String::new(),
        total_rows: "123".into(),
        total_rps: "4".into(),
        recent_rps: "5".into(),
        safe_mode: true,
    }
}

fn relay() -> RelayStatus {
    RelayStatus {
        master_binlog: "(mysql-bin.000002, 900)".into(),
        master_binlog_gtid: "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5".into(),
        relay_sub_dir: "3e11fa47-71ca-11e1-9e33-c80aa9429562.000001".into(),
        relay_binlog: "(mysql-bin.000002, 900)".into(),
        relay_binlog_gtid: "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5".into(),
        relay_catch_up_master: true,
        stage: Stage::Running,
        result: None,
    }
}

fn subtask(sync: bool) -> SubTaskStatus {
    SubTaskStatus {
        name: "t1".into(),
        stage: Stage::Running,
        unit: if sync { Unit::Sync } else { Unit::Load },
        result: None,
        unresolved_ddl_lock_id: String::new(),
        dump: dump(),
        load: load(),
        sync: sync.then(sync_view),
    }
}

fn dump_json() -> Value {
    json!({
        "totalTables": 2,
        "completedTables": 1,
        "finishedBytes": 300,
        "finishedRows": 30,
        "estimateTotalRows": 40,
        "bps": 7,
        "progress": "75.00 %",
    })
}

fn load_json() -> Value {
    json!({
        "finishedBytes": 200,
        "totalBytes": 400,
        "finishedRows": 20,
        "totalChunks": 4,
        "finishedChunks": 2,
        "progress": "50.00 %",
        "metaBinlog": "(mysql-bin.000001, 4)",
        "metaBinlogGTID": "",
        "bps": 5,
        "rps": 3,
    })
}

fn sync_json() -> Value {
    json!({
        "masterBinlog": "(mysql-bin.000002, 900)",
        "masterBinlogGtid": "",
        "syncerBinlog": "(mysql-bin.000002, 400)",
        "syncerBinlogGtid": "",
        "blockingDDLs": [],
        "unresolvedGroups": [],
        "synced": false,
        "binlogType": "remote",
        "secondsBehindMaster": "3",
        "blockDDLOwner": "",
        "conflictMsg": "",
        "totalRows": "123",
        "totalRps": "4",
        "recentRps": "5",
        "safeMode": true,
    })
}

fn relay_json() -> Value {
    json!({
        "masterBinlog": "(mysql-bin.000002, 900)",
        "masterBinlogGtid": "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5",
        "relaySubDir": "3e11fa47-71ca-11e1-9e33-c80aa9429562.000001",
        "relayBinlog": "(mysql-bin.000002, 900)",
        "relayBinlogGtid": "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5",
        "relayCatchUpMaster": true,
        "stage": "Running",
        "result": null,
    })
}

fn subtask_json(sync: bool) -> Value {
    if sync {
        json!({
            "name": "t1",
            "stage": "Running",
            "unit": "Sync",
            "result": null,
            "unresolvedDDLLockID": "",
            "dump": dump_json(),
            "load": load_json(),
            "sync": sync_json(),
        })
    } else {
        json!({
            "name": "t1",
            "stage": "Running",
            "unit": "Load",
            "result": null,
            "unresolvedDDLLockID": "",
            "dump": dump_json(),
            "load": load_json(),
        })
    }
}

#[test]
fn subtask_error_result() {
    let p = policy::unclassified(Action::Retry, Component::Sync);
    let r = ProcessResult::error("connection refused", &p, Component::Sync);
    assert_eq!(
        to_json(&r),
        json!({
            "isCanceled": false,
            "errors": [{
                "ErrCode": 10006,
                "ErrClass": "sync-unit",
                "ErrScope": "internal",
                "ErrLevel": "high",
                "Message": "connection refused",
                "RawCause": "",
                "Workaround": "transient error: Ferry is retrying from the checkpoint",
            }],
            "detail": null,
        })
    );
    let p = policy::unclassified(Action::Pause, Component::Load);
    let r = ProcessResult::error("table gone", &p, Component::Load);
    assert_eq!(
        to_json(&r),
        json!({
            "isCanceled": false,
            "errors": [{
                "ErrCode": 34019,
                "ErrClass": "load-unit",
                "ErrScope": "internal",
                "ErrLevel": "high",
                "Message": "table gone",
                "RawCause": "",
                "Workaround": "fix the cause, then `resume-task` (committed chunks are not \
                               copied again)",
            }],
            "detail": null,
        })
    );
}

#[test]
fn relay_error_result() {
    let p = policy::unclassified(Action::Pause, Component::Relay);
    let r = ProcessResult::error("access denied", &p, Component::Relay);
    assert_eq!(
        to_json(&r),
        json!({
            "isCanceled": false,
            "errors": [{
                "ErrCode": 30002,
                "ErrClass": "relay-unit",
                "ErrScope": "upstream",
                "ErrLevel": "high",
                "Message": "access denied",
                "RawCause": "",
                "Workaround": "fix the cause; the relay retries every minute (or restart \
                               the source)",
            }],
            "detail": null,
        })
    );
}

#[test]
fn dump_and_load() {
    assert_eq!(to_json(&dump()), dump_json());
    assert_eq!(to_json(&load()), load_json());
}

#[test]
fn bulk_progress_status() {
    // No run started: rates are 0, so the whole object is known.
    let p = BulkProgress::default();
    p.est_total_rows.store(40, Ordering::Relaxed);
    p.dumped_rows.store(10, Ordering::Relaxed);
    p.dumped_bytes.store(100, Ordering::Relaxed);
    p.total_chunks.store(4, Ordering::Relaxed);
    let t = TableName::new("db", "t");
    p.chunk_committed(&t, 5, 50);
    let (dump, load) = p.status(Some("(mysql-bin.000001, 4)".into()), None);
    assert_eq!(
        to_json(&dump),
        json!({
            "totalTables": 0,
            "completedTables": 0,
            "finishedBytes": 100,
            "finishedRows": 10,
            "estimateTotalRows": 40,
            "bps": 0,
            "progress": "25.00 %",
        })
    );
    assert_eq!(
        to_json(&load),
        json!({
            "finishedBytes": 50,
            "totalBytes": 200,
            "finishedRows": 5,
            "totalChunks": 4,
            "finishedChunks": 1,
            "progress": "25.00 %",
            "metaBinlog": "(mysql-bin.000001, 4)",
            "metaBinlogGTID": "",
            "bps": 0,
            "rps": 0,
        })
    );
    // Tables known, none done: `completedTables` counts finished tables.
    let p = BulkProgress::default();
    p.set_plan(HashMap::from([(t, (2, 2))]), 0, 0, 0);
    let (dump, _) = p.status(None, None);
    assert_eq!(to_json(&dump)["totalTables"], 1);
    assert_eq!(to_json(&dump)["completedTables"], 1);
    assert_eq!(to_json(&dump)["progress"], "100.00 %");
}

#[test]
fn sync_shape() {
    assert_eq!(to_json(&sync_view()), sync_json());
}

#[test]
fn sync_status_view() {
    let s = SyncStatus::default();
    assert_eq!(
        to_json(&s.view()),
        json!({
            "masterBinlog": "",
            "masterBinlogGtid": "",
            "syncerBinlog": "",
            "syncerBinlogGtid": "",
            "blockingDDLs": [],
            "unresolvedGroups": [],
            "synced": false,
            "binlogType": "remote",
            "secondsBehindMaster": "0",
            "blockDDLOwner": "",
            "conflictMsg": "",
            "totalRows": "0",
            "totalRps": "0",
            "recentRps": "0",
            "safeMode": false,
        })
    );
    s.set_master(loc("mysql-bin.000002", 900), std::time::Instant::now());
    s.set_syncer(&SyncPoint::at(loc("mysql-bin.000002", 900)));
    s.set_blocking_ddl(Some("ALTER TABLE t ADD c INT".into()));
    s.set_safe_mode(true);
    assert_eq!(
        to_json(&s.view()),
        json!({
            "masterBinlog": "(mysql-bin.000002, 900)",
            "masterBinlogGtid": "",
            "syncerBinlog": "(mysql-bin.000002, 900)",
            "syncerBinlogGtid": "",
            "blockingDDLs": ["ALTER TABLE t ADD c INT"],
            "unresolvedGroups": [],
            "synced": true,
            "binlogType": "remote",
            "secondsBehindMaster": "0",
            "blockDDLOwner": "",
            "conflictMsg": "",
            "totalRows": "0",
            "totalRps": "0",
            "recentRps": "0",
            "safeMode": true,
        })
    );
}

#[test]
fn relay_status() {
    assert_eq!(to_json(&relay()), relay_json());
    let p = policy::unclassified(Action::Retry, Component::Relay);
    let r = RelayStatus {
        stage: Stage::Paused,
        relay_catch_up_master: false,
        result: Some(ProcessResult::error("gone", &p, Component::Relay)),
        ..relay()
    };
    let mut want = relay_json();
    want["stage"] = json!("Paused");
    want["relayCatchUpMaster"] = json!(false);
    want["result"] = json!({
        "isCanceled": false,
        "errors": [{
            "ErrCode": 30001,
            "ErrClass": "relay-unit",
            "ErrScope": "upstream",
            "ErrLevel": "high",
            "Message": "gone",
            "RawCause": "",
            "Workaround": "transient error: the relay is reconnecting to the upstream",
        }],
        "detail": null,
    });
    assert_eq!(to_json(&r), want);
}

#[test]
fn subtask_status() {
    // Sync unit: `sync` is present.
    assert_eq!(to_json(&subtask(true)), subtask_json(true));
    assert_eq!(to_json(&subtask(false)), subtask_json(false));
    // Full phase, paused by an error: no `sync` key at all.
    let p = policy::unclassified(Action::Pause, Component::Load);
    let s = SubTaskStatus {
        stage: Stage::Paused,
        result: Some(ProcessResult::error("boom", &p, Component::Load)),
        ..subtask(false)
    };
    let v = to_json(&s);
    assert_eq!(
        v,
        json!({
            "name": "t1",
            "stage": "Paused",
            "unit": "Load",
            "result": {
                "isCanceled": false,
                "errors": [{
                    "ErrCode": 34019,
                    "ErrClass": "load-unit",
                    "ErrScope": "internal",
                    "ErrLevel": "high",
                    "Message": "boom",
                    "RawCause": "",
                    "Workaround": "fix the cause, then `resume-task` (committed chunks are \
                                   not copied again)",
                }],
                "detail": null,
            },
            "unresolvedDDLLockID": "",
            "dump": dump_json(),
            "load": load_json(),
        })
    );
    assert!(v.get("sync").is_none());
}

#[test]
fn task_status_response() {
    let with_relay = SourceResponse::ok(
        SourceStatus::new("mysql-01", Some(relay())),
        vec![subtask(true)],
    );
    let without = SourceResponse::ok(SourceStatus::new("mysql-02", None), vec![subtask(false)]);
    assert_eq!(
        to_json(&TaskStatusResponse::ok(vec![with_relay, without])),
        json!({
            "result": true,
            "msg": "",
            "sources": [
                {
                    "result": true,
                    "msg": "",
                    "sourceStatus": {
                        "source": "mysql-01",
                        "worker": "ferryd",
                        "result": null,
                        "relayStatus": relay_json(),
                    },
                    "subTaskStatus": [subtask_json(true)],
                },
                {
                    "result": true,
                    "msg": "",
                    "sourceStatus": {
                        "source": "mysql-02",
                        "worker": "ferryd",
                        "result": null,
                        "relayStatus": null,
                    },
                    "subTaskStatus": [subtask_json(false)],
                },
            ],
        })
    );
    assert_eq!(
        to_json(&TaskStatusResponse::ok(vec![])),
        json!({"result": true, "msg": "", "sources": []})
    );
}

#[test]
fn all_tasks_response() {
    let r = AllTasksResponse::ok(vec![
        TaskListEntry {
            task_name: "t1".into(),
            task_status: "Running".into(),
            sources: vec!["mysql-01".into(), "mysql-02".into()],
        },
        TaskListEntry {
            task_name: "t2".into(),
            task_status: "Error - Some error occurred in subtask".into(),
            sources: vec![],
        },
    ]);
    assert_eq!(
        to_json(&r),
        json!({
            "result": true,
            "msg": "",
            "tasks": [
                {"taskName": "t1", "taskStatus": "Running", "sources": ["mysql-01", "mysql-02"]},
                {
                    "taskName": "t2",
                    "taskStatus": "Error - Some error occurred in subtask",
                    "sources": [],
                },
            ],
        })
    );
    assert_eq!(
        to_json(&AllTasksResponse::ok(vec![])),
        json!({"result": true, "msg": "", "tasks": []})
    );
}
