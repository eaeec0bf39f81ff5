//! `query-status`: the status of one task (per source, with its relay log) or of all.

use actix::Addr;
use std::collections::BTreeMap;

use ferry_actors::dm_status::{
    AllTasksResponse, SourceResponse, SourceStatus, SubTaskStatus, TaskListEntry,
    TaskStatusResponse,
};
use ferry_actors::source::QueryRelay;
use ferry_actors::task::{PublishMetrics, QueryStage, QueryStatus, TaskActor};
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
        let mut sources = Vec::with_capacity(st.subtasks.len());
        for (source, sub) in st.subtasks {
            let relay = match self.source_addr(&source) {
                Ok(addr) => addr.send(QueryRelay).await.ok().flatten(),
                Err(_) => None,
            };
            sources.push(SourceResponse::ok(
                SourceStatus::new(source, relay),
                vec![sub],
            ));
        }
        serde_json::to_value(TaskStatusResponse::ok(sources))
            .map_err(|e| ApiError::internal(e.to_string()))
    }

    /// `query-status [-s source ...] [task] --more`: DM's `QueryStatusListResponse`, one
    /// entry per source with the subtasks of `task` (every task when `None`) on it.
    pub async fn query_status(
        &self,
        task: Option<&str>,
        only: &[String],
    ) -> Result<Value, ApiError> {
        let known: Vec<String> = self
            .sources
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect();
        if let Some(src) = only.iter().find(|s| !known.contains(s)) {
            return Err(ApiError::not_found(format!(
                "source `{src}` does not exist"
            )));
        }
        let tasks: Vec<(String, Addr<TaskActor>)> = match task {
            Some(name) => vec![(name.to_string(), self.addr(name)?)],
            None => self
                .tasks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .map(|(n, t)| (n.clone(), t.addr.clone()))
                .collect(),
        };
        let mut per_source: BTreeMap<String, Vec<SubTaskStatus>> = BTreeMap::new();
        if task.is_none() {
            for id in known
                .iter()
                .filter(|id| only.is_empty() || only.contains(id))
            {
                per_source.entry(id.clone()).or_default();
            }
        }
        for (name, addr) in tasks {
            let st = addr
                .send(QueryStatus)
                .await
                .map_err(|e| ApiError::internal(e.to_string()))?;
            if let (Some(_), Some(src)) = (
                task,
                only.iter()
                    .find(|o| !st.subtasks.iter().any(|(s, _)| s == *o)),
            ) {
                return Err(ApiError::bad(format!(
                    "task `{name}` has no subtask on source `{src}`"
                )));
            }
            for (source, sub) in st.subtasks {
                if only.is_empty() || only.contains(&source) {
                    per_source.entry(source).or_default().push(sub);
                }
            }
        }
        let mut sources = Vec::with_capacity(per_source.len());
        for (source, subs) in per_source {
            let relay = match self.source_addr(&source) {
                Ok(addr) => addr.send(QueryRelay).await.ok().flatten(),
                Err(_) => None,
            };
            sources.push(SourceResponse::ok(SourceStatus::new(source, relay), subs));
        }
        serde_json::to_value(TaskStatusResponse::ok(sources))
            .map_err(|e| ApiError::internal(e.to_string()))
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
        let mut tasks = Vec::with_capacity(entries.len());
        for (name, addr, sources) in entries {
            let status = match addr.send(QueryStage).await {
                Ok(st) => match st {
                    (Stage::Paused, Some(_)) => {
                        "Error - Some error occurred in subtask".to_string()
                    }
                    (s, _) => s.to_string(),
                },
                Err(e) => format!("Error - {e}"),
            };
            tasks.push(TaskListEntry {
                task_name: name,
                task_status: status,
                sources,
            });
        }
        serde_json::to_value(AllTasksResponse::ok(tasks))
            .unwrap_or_else(|e| json!({"result": false, "msg": e.to_string()}))
    }

    /// Sets every task's DM gauges from its live state (before `/metrics` is rendered).
    pub async fn publish_metrics(&self) {
        let addrs: Vec<Addr<TaskActor>> = self
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(|t| t.addr.clone())
            .collect();
        for addr in addrs {
            let _ = addr.send(PublishMetrics).await;
        }
    }
}
