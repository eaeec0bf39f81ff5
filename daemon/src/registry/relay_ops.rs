//! `start-relay -s SOURCE`, `stop-relay -s SOURCE` (DM's `OperateRelay`) and
//! `operate-source show -s SOURCE`.
//!
//! As in DM, the commands switch the source's `enable-relay` (stored) and start or stop its
//! relay log at once. Tasks read the relay log of their source when they start: a task
//! already running when `start-relay` runs keeps reading the upstream until it starts again,
//! and `stop-relay` is refused while a task of the source exists (its subtasks may read from
//! the relay log, and would lose their binlog).

use ferry_actors::source::StopSource;
use ferry_relay::{CheckpointStore, SourceRecord};
use serde_json::{json, Value};
use tracing::info;

use super::{counted, ApiError, Registry};
use ferry_actors::dm_metrics::Operation;

fn answer(id: &str, msg: &str) -> Value {
    json!({"result": true, "msg": msg,
           "sources": [{"result": true, "msg": msg, "source": id, "worker": "ferryd"}]})
}

impl Registry {
    /// `operate-source show -s SOURCE`: the entry of `show_sources` for one source.
    pub fn show_source(&self, id: &str) -> Result<Value, ApiError> {
        self.stored_source(id)?;
        let all = self.show_sources();
        let one: Vec<Value> = all["sources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["source"] == id)
            .cloned()
            .collect();
        Ok(json!({"result": true, "msg": "", "sources": one}))
    }

    /// `start-relay` (`on`) / `stop-relay`.
    pub async fn switch_relay(&self, id: &str, on: bool) -> Result<Value, ApiError> {
        let _changes = self.changes.lock().await;
        let mut cfg = self.stored_source(id)?;
        if cfg.enable_relay == on {
            let state = if on { "running" } else { "stopped" };
            return Ok(answer(
                id,
                &format!("relay log of source `{id}` is already {state}"),
            ));
        }
        if !on {
            let users: Vec<String> = self
                .tasks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .filter(|(_, t)| t.config.mysql_instances.iter().any(|i| i.source_id == id))
                .map(|(name, _)| name.clone())
                .collect();
            if !users.is_empty() {
                return Err(ApiError::bad(format!(
                    "the relay log of source `{id}` may be read by task(s) {}: stop-task them \
                     first (started again, they read the upstream's binlog)",
                    users
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        cfg.enable_relay = on;
        let relay = if on {
            Some(counted(Operation::Relay, self.start_relay(&cfg).await)?)
        } else {
            None
        };
        let stored = cfg
            .to_stored_json(self.key.as_ref())
            .map_err(|e| e.to_string())
            .and_then(|spec| {
                let rec = SourceRecord {
                    id: id.to_string(),
                    spec,
                };
                self.store.put_source(&rec).map_err(|e| e.to_string())
            });
        counted(Operation::Relay, stored.map_err(ApiError::internal))?;
        // The old supervisor stops its relay log (and waits for it); a new one takes over.
        let old = self
            .sources
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        if let Some(old) = old {
            let stopped = old.addr.send(StopSource).await;
            counted(
                Operation::Relay,
                stopped.map_err(|e| ApiError::internal(e.to_string())),
            )?;
        }
        self.add_source(cfg, relay);
        info!(source = %id, enable_relay = on, "relay log switched");
        Ok(answer(id, ""))
    }
}
