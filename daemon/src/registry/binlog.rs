//! Binlog commands on a task: `binlog skip|replace` and `binlog-schema list|update|delete`.

use ferry_actors::sync::{BinlogOp, PendingOp};
use ferry_actors::task::{ListBinlogOps, RevertBinlogOp, SetBinlogOp};
use ferry_model::BinlogPosition;
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
        let cfg = self.stored_task(name)?;
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

    /// `binlog skip|replace|list|revert <task> [-b file:pos] [-s source] [sql...]`.
    pub async fn binlog_op(
        &self,
        name: &str,
        req: &crate::wire::BinlogRequest,
    ) -> Result<Value, ApiError> {
        let addr = self.addr(name)?;
        let at = parse_pos(req.binlog_pos.as_deref())?;
        let source = req.source.clone().filter(|s| !s.is_empty());
        let mailbox = |e: actix::MailboxError| ApiError::internal(e.to_string());
        match req.op.as_str() {
            "list" => {
                let lists = addr
                    .send(ListBinlogOps { source, from: at })
                    .await
                    .map_err(mailbox)?
                    .map_err(ApiError::bad)?;
                let sources: Vec<Value> = lists
                    .into_iter()
                    .map(|(src, ops)| {
                        let ops: Vec<Value> = ops.iter().map(pending_json).collect();
                        json!({"result": true, "msg": "", "source": src, "worker": "ferryd",
                               "operators": ops})
                    })
                    .collect();
                return Ok(
                    json!({"result": true, "msg": "", "op": "list", "task": name,
                                 "sources": sources}),
                );
            }
            "revert" => {
                let done = addr
                    .send(RevertBinlogOp {
                        source,
                        at: at.clone(),
                    })
                    .await
                    .map_err(mailbox)?
                    .map_err(ApiError::bad)?;
                if done.iter().all(|(_, gone)| gone.is_none()) {
                    let at = at.map_or("the next statement".to_string(), |p| p.to_string());
                    return Err(ApiError::bad(format!(
                        "task `{name}` has no pending binlog operation for {at}                          (`binlog list {name}` shows them)"
                    )));
                }
                let sources: Vec<Value> = done
                    .into_iter()
                    .filter_map(|(src, gone)| {
                        gone.map(|g| {
                            json!({"result": true, "msg": "", "source": src, "worker": "ferryd",
                                   "operators": [pending_json(&g)]})
                        })
                    })
                    .collect();
                return Ok(
                    json!({"result": true, "msg": "", "op": "revert", "task": name,
                                 "sources": sources}),
                );
            }
            _ => {}
        }
        let op = match req.op.as_str() {
            "skip" => BinlogOp::Skip,
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
                BinlogOp::Replace(stmts)
            }
            other => {
                return Err(ApiError::bad(format!(
                    "unknown binlog operation `{other}` (skip, replace, list, revert)"
                )))
            }
        };
        let n = addr
            .send(SetBinlogOp { source, at, op })
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?
            .map_err(ApiError::bad)?;
        Ok(json!({"result": true, "msg": "", "op": req.op, "task": name, "subtasks": n}))
    }
}

/// `-b file:pos` (empty: none).
fn parse_pos(text: Option<&str>) -> Result<Option<BinlogPosition>, ApiError> {
    let Some(text) = text.filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let (file, pos) = text
        .rsplit_once(':')
        .ok_or_else(|| ApiError::bad(format!("--binlog-pos `{text}`: expected file:pos")))?;
    let pos: u64 = pos
        .parse()
        .map_err(|_| ApiError::bad(format!("--binlog-pos `{text}`: `{pos}` is not a number")))?;
    BinlogPosition::new(file, pos)
        .map(Some)
        .map_err(|e| ApiError::bad(format!("--binlog-pos `{text}`: {e}")))
}

/// A pending decision as `binlog list` shows it.
fn pending_json(p: &PendingOp) -> Value {
    let sqls = match &p.op {
        BinlogOp::Skip => Vec::new(),
        BinlogOp::Replace(s) => s.clone(),
    };
    json!({
        "binlogPos": p.at.as_ref().map(|a| format!("{}:{}", a.name, a.pos)),
        "op": p.op.name(),
        "sqls": sqls,
    })
}
