//! Source commands: `operate-source create|stop|show`, and the relay logs of the sources
//! with `enable-relay` (`purge-relay`).

use std::sync::Arc;

use actix::{Actor, Addr};
use ferry_actors::relay_service::{RelayConfig, RelayService};
use ferry_actors::source::{PurgeRelay, RelayCommandError, SourceActor, StopSource};
use ferry_actors::subtask;
use ferry_config::SourceConfig;
use ferry_relay::{CheckpointStore, SourceRecord};
use serde_json::{json, Value};
use tracing::info;

use super::{ApiError, Registry, SourceEntry};
use crate::wire::FileUpload;

impl Registry {
    /// Registers `cfg` with a new supervisor owning `relay`.
    pub(super) fn add_source(&self, cfg: SourceConfig, relay: Option<RelayService>) {
        let id = cfg.source_id.clone();
        let actor = SourceActor::new(id.clone(), relay);
        let addr = SourceActor::start_in_arbiter(&self.arbiter, move |_| actor);
        self.sources
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, SourceEntry { config: cfg, addr });
    }

    /// The supervisor of source `id`.
    pub(super) fn source_addr(&self, id: &str) -> Result<Addr<SourceActor>, ApiError> {
        self.sources
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .map(|s| s.addr.clone())
            .ok_or_else(|| ApiError::no_source(id))
    }

    /// The stored configuration of source `id`.
    pub(super) fn stored_source(&self, id: &str) -> Result<SourceConfig, ApiError> {
        self.sources
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .map(|s| s.config.clone())
            .ok_or_else(|| ApiError::no_source(id))
    }

    /// Starts the relay log of a source with `enable-relay`.
    pub(super) async fn start_relay(&self, cfg: &SourceConfig) -> Result<RelayService, ApiError> {
        let id = cfg.source_id.clone();
        let ep = subtask::endpoint(ferry_actors::error::Side::Upstream, &cfg.from)
            .map_err(|e| ApiError::bad(format!("source `{id}`: {e}")))?;
        // A stable replica id per source, away from the tasks' ids (those have bit 30 set).
        let server_id = cfg.fixed_server_id().unwrap_or_else(|| {
            let mut h: u32 = 0x811c_9dc5;
            for b in id.bytes() {
                h ^= u32::from(b);
                h = h.wrapping_mul(0x0100_0193);
            }
            0x2000_0000 | (h & 0x1fff_ffff)
        });
        let needed = self.needed.clone();
        let source = id.clone();
        let needed_fn: ferry_actors::relay_service::NeededFn =
            Arc::new(move || needed.min_for(&source));
        let relay = RelayService::start(
            &id,
            ep,
            RelayConfig::from_source(cfg, server_id),
            self.store.clone(),
            needed_fn,
        )
        .await
        .map_err(|e| ApiError::bad(format!("source `{id}`: relay log: {e}")))?;
        info!(source = %id, "relay log started");
        Ok(relay)
    }

    /// `purge-relay -s SOURCE -f FILE`: deletes the relay log before `file` (never what a task
    /// still needs).
    pub async fn purge_relay(&self, id: &str, file: &str) -> Result<Value, ApiError> {
        let addr = self.source_addr(id)?;
        let done = addr
            .send(PurgeRelay {
                file: file.to_string(),
            })
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?
            .map_err(|e| match e {
                RelayCommandError::NoRelay(_) => ApiError::not_found(e.to_string()),
                RelayCommandError::Relay(_) => ApiError::bad(e.to_string()),
            })?;
        Ok(json!({"result": true, "msg": "", "source": id,
            "purgedEvents": done.report.count, "purgedBytes": done.report.bytes,
            "keptFrom": done.needed.map(|p| p.to_string()),
            "relayStartsAfter": done.floor.map(|p| p.to_string())}))
    }

    /// `operate-source create`.
    pub async fn create_source(&self, up: &FileUpload) -> Result<Value, ApiError> {
        let env = Self::env_lookup(up);
        let loaded = ferry_config::parse_source_str(&up.text, &up.file, &env, self.key.as_ref())
            .map_err(Self::config_error)?;
        loaded.log_warnings();
        let cfg = loaded.config;
        let id = cfg.source_id.clone();
        let _changes = self.changes.lock().await;
        if self
            .sources
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&id)
        {
            return Err(ApiError::bad(format!(
                "[code=38032:class=dm-master:scope=internal:level=medium] source `{id}` already exists; stop it first with `operate-source stop`"
            )));
        }
        // Connectivity is checked now, so that a typo is reported by `operate-source create`.
        let ep = subtask::endpoint(ferry_actors::error::Side::Upstream, &cfg.from)
            .map_err(|e| ApiError::bad(format!("source `{id}`: {e}")))?;
        async {
            let mut c = ep.connect(Vec::new()).await?;
            ferry_actors::db::ServerInfo::detect(&mut c, &ep).await
        }
        .await
        .map_err(|e| {
            ApiError::bad(format!(
                "[code=32001:class=dump-unit:scope=upstream:level=high] source `{id}`: {e}"
            ))
        })?;
        let spec = cfg
            .to_stored_json(self.key.as_ref())
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let relay = if cfg.enable_relay {
            Some(self.start_relay(&cfg).await?)
        } else {
            None
        };
        self.store
            .put_source(&SourceRecord {
                id: id.clone(),
                spec,
            })
            .map_err(|e| ApiError::internal(e.to_string()))?;
        self.add_source(cfg, relay);
        info!(source = %id, "source created");
        Ok(
            json!({"result": true, "msg": "", "sources": [{"result": true, "msg": "", "source": id, "worker": "ferryd"}]}),
        )
    }

    /// `operate-source stop`.
    pub async fn stop_source(&self, id: &str) -> Result<Value, ApiError> {
        let _changes = self.changes.lock().await;
        let user = self
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(_, t)| t.config.mysql_instances.iter().any(|i| i.source_id == id))
            .map(|(name, _)| name.clone());
        if let Some(name) = user {
            return Err(ApiError::bad(format!(
                "source `{id}` is used by task `{name}`; stop the task first"
            )));
        }
        let removed = self
            .sources
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        let Some(entry) = removed else {
            return Err(ApiError::no_source(id));
        };
        // The supervisor stops the relay log (and waits for it) before it ends.
        entry
            .addr
            .send(StopSource)
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?;
        self.store
            .delete_source(id)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        Ok(
            json!({"result": true, "msg": "", "sources": [{"result": true, "msg": "", "source": id, "worker": "ferryd"}]}),
        )
    }

    /// `operate-source show`.
    pub fn show_sources(&self) -> Value {
        let sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        let list: Vec<Value> = sources
            .iter()
            .map(|(id, entry)| {
                let s = &entry.config;
                json!({"result": true, "msg": "", "source": id, "worker": "ferryd",
                       "host": s.from.host, "port": s.from.port, "user": s.from.user,
                       "enable-relay": s.enable_relay, "enable-gtid": s.enable_gtid})
            })
            .collect();
        json!({"result": true, "msg": "", "sources": list})
    }
}
