//! The daemon's registry: registered sources and tasks, their persistence in the state store,
//! and the task actors.
//!
//! The commands are split by subject: `sources` (sources and their relay logs), `relay_ops`
//! (`start-relay`, `stop-relay`, `operate-source show -s`), `tasks` (task lifecycle, also per
//! source), `status` (`query-status`), `binlog` (`binlog` and `binlog-schema`) and `configs`
//! (`config`, `get-config`, `config export`).

mod binlog;
mod configs;
mod reconcile;
mod relay_ops;
mod sources;
mod start_time;
mod status;
mod tasks;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use actix::{Addr, ArbiterHandle};
use ferry_actors::dm_metrics::Operation;
use ferry_actors::source::{SourceActor, StopSource};
use ferry_actors::sync::NeededPositions;
use ferry_actors::task::TaskActor;
use ferry_config::{ConfigErrors, SecretKey, SourceConfig, TaskConfig};
use ferry_relay::{CheckpointStore, Store};
use serde_json::{json, Value};
use tracing::{info, warn};

pub use reconcile::Folders;

use crate::wire::FileUpload;

/// `result`, counting its error in DM's `dm_worker_operate_error{type}` as a failure of the
/// worker to carry out `op` (requests refused before reaching a task or relay log, such as an
/// unknown task, are the master's refusals in DM and not counted).
fn counted<T>(op: Operation, result: Result<T, ApiError>) -> Result<T, ApiError> {
    result.inspect_err(|_| ferry_actors::dm_metrics::operate_error(op))
}

/// An API failure: HTTP status and DM-style message.
#[derive(Debug, thiserror::Error)]
#[error("{msg} (HTTP {status})")]
pub struct ApiError {
    /// HTTP status code.
    pub status: u16,
    /// Message (DM style: `[code=...] ...` where DM has a code).
    pub msg: String,
}

impl ApiError {
    fn bad(msg: impl Into<String>) -> Self {
        Self {
            status: 400,
            msg: msg.into(),
        }
    }
    fn not_found(msg: impl Into<String>) -> Self {
        Self {
            status: 404,
            msg: msg.into(),
        }
    }
    /// DM's "task does not exist" (code 38032).
    fn no_task(name: &str) -> Self {
        Self::not_found(format!(
            "[code=38032:class=dm-master:scope=internal:level=medium] task `{name}` does not exist"
        ))
    }
    fn no_source(id: &str) -> Self {
        Self::not_found(format!("source `{id}` does not exist"))
    }
    fn internal(msg: impl Into<String>) -> Self {
        Self {
            status: 500,
            msg: msg.into(),
        }
    }
}

/// A registered source: its configuration and its supervisor (which owns its relay log).
struct SourceEntry {
    config: SourceConfig,
    addr: Addr<SourceActor>,
}

struct TaskEntry {
    config: TaskConfig,
    addr: Addr<TaskActor>,
}

/// Everything the daemon manages.
pub struct Registry {
    store: Arc<Store>,
    key: Option<SecretKey>,
    /// The daemon's runtime: the task actors spawn their stages on it.
    rt: tokio::runtime::Handle,
    /// Where the task actors (supervisors) live.
    arbiter: ArbiterHandle,
    /// Serialises the commands that change what is registered (create/stop a source, start/stop
    /// a task), which await the databases between their check and their change.
    changes: tokio::sync::Mutex<()>,
    sources: Mutex<BTreeMap<String, SourceEntry>>,
    tasks: Mutex<BTreeMap<String, TaskEntry>>,
    /// What each task still needs of each source's binlog (relay purges keep it).
    needed: Arc<NeededPositions>,
    /// The outcome of the last application of `source-dir` / `task-dir`.
    folders_status: Mutex<Value>,
}

impl Registry {
    /// Opens the registry and restores what the store holds: sources, then tasks (running
    /// tasks resume from their checkpoints).
    pub async fn restore(
        store: Arc<Store>,
        key: Option<SecretKey>,
        rt: tokio::runtime::Handle,
        arbiter: ArbiterHandle,
    ) -> Result<Arc<Self>, String> {
        // Loaded before any relay log starts, so that no purge runs without them.
        let needed = NeededPositions::persistent(store.clone())
            .map_err(|e| format!("reading the needed binlog positions: {e}"))?;
        let reg = Arc::new(Self {
            store,
            key,
            rt,
            arbiter,
            changes: tokio::sync::Mutex::new(()),
            sources: Mutex::new(BTreeMap::new()),
            tasks: Mutex::new(BTreeMap::new()),
            needed: Arc::new(needed),
            folders_status: Mutex::new(Value::Null),
        });
        for rec in reg.store.sources().map_err(|e| e.to_string())? {
            match SourceConfig::from_stored_json(rec.spec, reg.key.as_ref()) {
                Ok(cfg) => {
                    let relay = if cfg.enable_relay {
                        match reg.start_relay(&cfg).await {
                            Ok(r) => Some(r),
                            Err(e) => {
                                warn!(source = %rec.id, error = %e.msg, "relay log not started");
                                None
                            }
                        }
                    } else {
                        None
                    };
                    reg.add_source(cfg, relay);
                }
                Err(e) => {
                    warn!(source = %rec.id, error = %e, "stored source cannot be read; skipped")
                }
            }
        }
        for rec in reg.store.tasks().map_err(|e| e.to_string())? {
            let cfg = match TaskConfig::from_stored_json(rec.spec.clone(), reg.key.as_ref()) {
                Ok(c) => c,
                Err(e) => {
                    warn!(task = %rec.name, error = %e, "stored task cannot be read; skipped");
                    continue;
                }
            };
            match reg
                .spawn_task(
                    cfg,
                    rec.stage,
                    rec.error.clone(),
                    rec.paused_sources.clone(),
                )
                .await
            {
                Ok(()) => info!(task = %rec.name, stage = %rec.stage, "task restored"),
                Err(e) => {
                    warn!(task = %rec.name, error = %e.msg, "stored task cannot be restarted")
                }
            }
        }
        Ok(reg)
    }

    fn env_lookup(upload: &FileUpload) -> impl Fn(&str) -> Option<String> + '_ {
        move |name| {
            upload
                .env
                .get(name)
                .cloned()
                .or_else(|| std::env::var(name).ok())
        }
    }

    fn config_error(e: ConfigErrors) -> ApiError {
        ApiError::bad(format!(
            "[code=20005:class=config:scope=internal:level=medium] {e}"
        ))
    }

    /// `encrypt`.
    pub fn encrypt(&self, plaintext: &str) -> Result<Value, ApiError> {
        let key = self.key.as_ref().ok_or_else(|| {
            ApiError::bad("ferryd has no secret-key-path configured: set it in the daemon config to use encrypt")
        })?;
        let c =
            ferry_config::encrypt(key, plaintext).map_err(|e| ApiError::internal(e.to_string()))?;
        Ok(json!({"result": true, "msg": "", "ciphertext": c}))
    }

    /// Stops every task actor (graceful shutdown keeps their stage, so they resume on start),
    /// then every source supervisor (their relay logs stop and are awaited).
    pub async fn shutdown(&self) {
        let _changes = self.changes.lock().await;
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for (_, t) in tasks {
            let _ = t.addr.send(ferry_actors::task::Shutdown).await;
        }
        let sources = std::mem::take(&mut *self.sources.lock().unwrap_or_else(|e| e.into_inner()));
        for (_, s) in sources {
            let _ = s.addr.send(StopSource).await;
        }
    }
}
