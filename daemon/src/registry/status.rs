//! `query-status`: the status of one task (per source, with its relay log) or of all.

use actix::Addr;
use ferry_actors::task::{QueryStatus, TaskActor};
use ferry_model::Stage;
use serde_json::{json, Value};

use super::{ApiError, Registry};

impl Registry {
    /// `query-status <task>`.
    pub async fn task_status(&self, name: &str) -> Result<Value, ApiError> {
        let addr = self.addr(name)?;
        let st = addr
            .send(QueryStatus)
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let relays = self.relays.lock().unwrap_or_else(|e| e.into_inner());
        let sources: Vec<Value> = st
            .subtasks
            .into_iter()
            .map(|(source, sub)| {
                let relay = relays.get(&source).map(|r| r.status());
                json!({"result": true, "msg": "",
                       "sourceStatus": {"source": source, "worker": "ferryd", "result": null, "relayStatus": relay},
                       "subTaskStatus": [sub]})
            })
            .collect();
        Ok(json!({"result": true, "msg": "", "sources": sources}))
    }

    /// `query-status` without a task.
    pub async fn all_status(&self) -> Value {
        let entries: Vec<(String, Addr<TaskActor>, Vec<String>)> = self
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(n, t)| {
                (
                    n.clone(),
                    t.addr.clone(),
                    t.config
                        .mysql_instances
                        .iter()
                        .map(|i| i.source_id.clone())
                        .collect(),
                )
            })
            .collect();
        let mut tasks: Vec<Value> = Vec::with_capacity(entries.len());
        for (name, addr, sources) in entries {
            let status = match addr.send(QueryStatus).await {
                Ok(st) => match (st.stage, st.error) {
                    (Stage::Paused, Some(_)) => {
                        "Error - Some error occurred in subtask".to_string()
                    }
                    (s, _) => s.to_string(),
                },
                Err(e) => format!("Error - {e}"),
            };
            tasks.push(json!({"taskName": name, "taskStatus": status, "sources": sources}));
        }
        json!({"result": true, "msg": "", "tasks": tasks})
    }
}
