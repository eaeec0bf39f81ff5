//! Routes of the operator commands `config task|source|export`, `start-relay`,
//! `stop-relay`, `operate-source show -s` and `query-status -s|--more` (the rest is in
//! [`crate::api`]).

use axum::http::Method;
use serde_json::Value;

use crate::api::body_json;
use crate::registry::{ApiError, Registry};
use crate::wire::QueryStatusRequest;

/// Serves `method parts` (decoded path segments), or answers 404.
pub(crate) async fn route(
    method: &Method,
    parts: &[&str],
    body: &[u8],
    reg: &Registry,
) -> Result<Value, ApiError> {
    match (method, parts) {
        (&Method::GET, ["api", "v1", "sources", id]) => reg.show_source(id),
        (&Method::GET, ["api", "v1", "sources", id, "config"]) => reg.source_config_yaml(id),
        (&Method::POST, ["api", "v1", "sources", id, "relay", "start"]) => {
            reg.switch_relay(id, true).await
        }
        (&Method::POST, ["api", "v1", "sources", id, "relay", "stop"]) => {
            reg.switch_relay(id, false).await
        }
        (&Method::GET, ["api", "v1", "tasks", name, "config"]) => reg.task_config(name),
        (&Method::GET, ["api", "v1", "config", "export"]) => reg.export_configs(),
        (&Method::POST, ["api", "v1", "query-status"]) => {
            let r: QueryStatusRequest = body_json(body, "query-status")?;
            let task = r.task.as_deref().filter(|t| !t.is_empty());
            reg.query_status(task, &r.sources).await
        }
        _ => Err(ApiError {
            status: 404,
            msg: format!("no such API: {method} /{}", parts.join("/")),
        }),
    }
}
