//! `query-status`, `pause-task`, `resume-task`, `stop-task` (with DM's `-s` forms).

use serde_json::{json, Value};

use crate::ctl::args::TaskOpArgs;
use crate::ctl::client::{enc, Api};
use crate::ctl::files::task_name;

/// `query-status [-s source ...] [task] [--more]`.
pub(super) fn query_status(
    api: &Api,
    task: Option<&str>,
    sources: &[String],
    more: bool,
) -> Result<Value, String> {
    let task = task.map(task_name).transpose()?;
    match (&task, sources.is_empty(), more) {
        (None, true, false) => api.get("/api/v1/tasks/status"),
        (Some(t), true, _) => api.get(&format!("/api/v1/tasks/{}/status", enc(t))),
        _ => api.post(
            "/api/v1/query-status",
            &json!({"task": task, "sources": sources}),
        ),
    }
}

/// DM's name of the operation (`pb.TaskOp`).
fn op_name(op: &str) -> &'static str {
    match op {
        "pause" => "Pause",
        "resume" => "Resume",
        _ => "Stop",
    }
}

/// `pause-task|resume-task|stop-task [-s source ...] [task]`; without a task, every task
/// with a subtask on the one `-s` source (DM's batch form and answer).
pub(super) fn operate(api: &Api, op: &str, a: &TaskOpArgs) -> Result<Value, String> {
    if let Some(t) = &a.task {
        return api.post(
            &format!("/api/v1/tasks/{}/{op}", enc(&task_name(t)?)),
            &json!({"sources": a.sources}),
        );
    }
    let source = match a.sources.as_slice() {
        [one] => one,
        [] => {
            return Err(
                "must give one source-name when task-name/task-conf is not specified".into(),
            )
        }
        _ => {
            return Err(
                "can give only one source-name when task-name/task-conf is not specified".into(),
            )
        }
    };
    let shown = api.get(&format!("/api/v1/sources/{}", enc(source)))?;
    if shown["result"] == json!(false) {
        return Ok(json!({"result": false, "msg": shown["msg"], "tasks": []}));
    }
    let list = api.get("/api/v1/tasks/status")?;
    if list["result"] == json!(false) {
        return Ok(json!({"result": false, "msg": list["msg"], "tasks": []}));
    }
    let mut names: Vec<String> = list["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| {
            t["sources"]
                .as_array()
                .is_some_and(|s| s.iter().any(|x| x == source.as_str()))
        })
        .filter_map(|t| t["taskName"].as_str().map(str::to_string))
        .collect();
    names.sort();
    let mut tasks = Vec::with_capacity(names.len());
    for name in names {
        let v = api.post(
            &format!("/api/v1/tasks/{}/{op}", enc(&name)),
            &json!({"sources": [source]}),
        )?;
        tasks.push(json!({
            "task": name, "op": op_name(op),
            "result": v["result"] != json!(false), "msg": v["msg"],
            "sources": v.get("sources").cloned().unwrap_or(json!([])),
        }));
    }
    Ok(json!({"result": true, "msg": "", "tasks": tasks}))
}
