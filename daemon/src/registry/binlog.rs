//! Binlog commands on a task: `binlog skip|replace` and `binlog-schema list|update|delete`.

use ferry_actors::task::SetBinlogOp;
use serde_json::{json, Value};

use super::{ApiError, Registry};

impl Registry {
    /// `binlog-schema list|update|delete <task> <db> <table> [-s source]`: the definition of
    /// an upstream table in the task's schema history, at the position it resumes from.
    /// Changes need the subtask to be paused (or the task stopped).
    pub async fn binlog_schema(
        &self,
        name: &str,
        req: &crate::wire::BinlogSchemaRequest,
    ) -> Result<Value, ApiError> {
        let cfg = self
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .map(|t| t.config.clone())
            .ok_or_else(|| ApiError::not_found(format!("task `{name}` does not exist")))?;
        let subs = self.subtasks(&cfg).await?;
        let sub = match req.source.as_deref().filter(|s| !s.is_empty()) {
            Some(src) => subs
                .iter()
                .find(|s| s.source_id == src)
                .ok_or_else(|| ApiError::bad(format!("task `{name}` has no source `{src}`")))?,
            None if subs.len() == 1 => &subs[0],
            None => {
                return Err(ApiError::bad(format!(
                    "task `{name}` has several sources: name one with -s"
                )))
            }
        };
        if req.op != "list" {
            let status = self.task_status(name).await?;
            let running = status["sources"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|s| s["sourceStatus"]["source"] == sub.source_id.as_str())
                .any(|s| s["subTaskStatus"][0]["stage"] == "Running");
            if running {
                return Err(ApiError::bad(format!(
                    "task `{name}` is running on source `{}`: pause-task it first",
                    sub.source_id
                )));
            }
        }
        crate::schema_cmd::run(self.store.as_ref(), &sub.sync, req).await
    }

    /// `binlog skip|replace <task> [-b file:pos] [-s source] [sql...]`.
    pub async fn binlog_op(
        &self,
        name: &str,
        req: &crate::wire::BinlogRequest,
    ) -> Result<Value, ApiError> {
        let addr = self.addr(name)?;
        let at = match req.binlog_pos.as_deref().filter(|p| !p.is_empty()) {
            None => None,
            Some(text) => {
                let (file, pos) = text.rsplit_once(':').ok_or_else(|| {
                    ApiError::bad(format!("--binlog-pos `{text}`: expected file:pos"))
                })?;
                let pos: u64 = pos.parse().map_err(|_| {
                    ApiError::bad(format!("--binlog-pos `{text}`: `{pos}` is not a number"))
                })?;
                Some(
                    ferry_model::BinlogPosition::new(file, pos)
                        .map_err(|e| ApiError::bad(format!("--binlog-pos `{text}`: {e}")))?,
                )
            }
        };
        let op = match req.op.as_str() {
            "skip" => ferry_actors::sync::BinlogOp::Skip,
            "replace" => {
                let stmts: Vec<String> = req
                    .sqls
                    .iter()
                    .flat_map(|s| s.split(';'))
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
                if stmts.is_empty() {
                    return Err(ApiError::bad(
                        "binlog replace needs the statement(s) to run instead".to_string(),
                    ));
                }
                ferry_actors::sync::BinlogOp::Replace(stmts)
            }
            other => {
                return Err(ApiError::bad(format!(
                    "unknown binlog operation `{other}` (skip, replace)"
                )))
            }
        };
        let n = addr
            .send(SetBinlogOp {
                source: req.source.clone().filter(|s| !s.is_empty()),
                at,
                op,
            })
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?
            .map_err(ApiError::bad)?;
        Ok(json!({"result": true, "msg": "", "op": req.op, "task": name, "subtasks": n}))
    }
}
