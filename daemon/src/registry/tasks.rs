//! Task lifecycle: `check-task`, `start-task [--remove-meta]`, `pause-task`, `resume-task`,
//! `stop-task`, and the task actors behind them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix::{Actor, Addr};
use ferry_actors::check;
use ferry_actors::source::{RelayHandle, SourceActor};
use ferry_actors::subtask::{self, Subtask};
use ferry_actors::task::{Backoff, Pause, Resume, StageSink, Stop, TaskActor};
use ferry_config::{SourceConfig, TaskConfig};
use ferry_model::Stage;
use ferry_relay::{CheckpointStore, TaskRecord};
use serde_json::{json, Value};
use tracing::{info, warn};

use super::{ApiError, Registry, TaskEntry};
use crate::wire::FileUpload;

impl Registry {
    /// The subtasks of `cfg`, each with its source's relay log (asked of the source's
    /// supervisor) and the shared record of what tasks still need.
    pub(super) async fn subtasks(&self, cfg: &TaskConfig) -> Result<Vec<Subtask>, ApiError> {
        let (sources, supervisors): (
            HashMap<String, SourceConfig>,
            HashMap<String, Addr<SourceActor>>,
        ) = {
            let map = self.sources.lock().unwrap_or_else(|e| e.into_inner());
            (
                map.iter()
                    .map(|(k, v)| (k.clone(), v.config.clone()))
                    .collect(),
                map.iter()
                    .map(|(k, v)| (k.clone(), v.addr.clone()))
                    .collect(),
            )
        };
        let mut subs =
            subtask::build_subtasks(cfg, &sources).map_err(|e| ApiError::bad(e.to_string()))?;
        for sub in &mut subs {
            sub.sync.relay = match supervisors.get(&sub.source_id) {
                Some(addr) => addr
                    .send(RelayHandle)
                    .await
                    .map_err(|e| ApiError::internal(e.to_string()))?,
                None => None,
            };
            sub.sync.needed = self.needed.clone();
            sub.bulk.needed = self.needed.clone();
        }
        Ok(subs)
    }

    fn parse_task(&self, up: &FileUpload) -> Result<TaskConfig, ApiError> {
        let env = Self::env_lookup(up);
        let loaded = ferry_config::parse_task_str(&up.text, &up.file, &env, self.key.as_ref())
            .map_err(Self::config_error)?;
        loaded.log_warnings();
        Ok(loaded.config)
    }

    /// `check-task`.
    pub async fn check_task(&self, up: &FileUpload) -> Result<Value, ApiError> {
        let cfg = self.parse_task(up)?;
        let mode = ferry_actors::subtask::task_mode(&cfg);
        let subtasks = self.subtasks(&cfg).await?;
        let items = check::check_subtasks(&subtasks, mode, &cfg.ignore_checking_items).await;
        Ok(check::report(&items))
    }

    /// `start-task [--remove-meta]`: precheck, persist, start.
    pub async fn start_task(&self, up: &FileUpload) -> Result<Value, ApiError> {
        let cfg = self.parse_task(up)?;
        let _changes = self.changes.lock().await;
        let name = cfg.name.clone();
        let mode = ferry_actors::subtask::task_mode(&cfg);
        if self
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&name)
        {
            return Err(ApiError::bad(format!(
                "[code=38032:class=dm-master:scope=internal:level=medium] task `{name}` already exists; \
                 stop it with `stop-task {name}` first"
            )));
        }
        let subtasks = self.subtasks(&cfg).await?;
        let items = check::check_subtasks(&subtasks, mode, &cfg.ignore_checking_items).await;
        let report = check::report(&items);
        if report["result"] != json!(true) {
            return Ok(json!({"result": false, "msg": report["msg"], "checkResult": report}));
        }
        if up.remove_meta {
            self.remove_meta(&cfg, &subtasks).await?;
        }
        self.spawn_task(cfg, Stage::Running, None).await?;
        let sources: Vec<Value> = subtasks
            .iter()
            .map(|s| json!({"result": true, "msg": "", "source": s.source_id, "worker": "ferryd"}))
            .collect();
        Ok(json!({"result": true, "msg": "", "sources": sources, "checkResult": report["msg"]}))
    }

    async fn remove_meta(&self, cfg: &TaskConfig, subtasks: &[Subtask]) -> Result<(), ApiError> {
        self.store
            .clear_checkpoints(&cfg.name)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        self.needed.remove_task(&cfg.name);
        if let Some(sub) = subtasks.first() {
            let ledger = ferry_actors::bulk::sql::ledger_table(&cfg.meta_schema, &cfg.name);
            let down = sub.bulk.downstream.clone();
            async {
                use mysql_async::prelude::Queryable;
                let mut c = down.connect(Vec::new()).await?;
                c.query_drop(format!("DROP TABLE IF EXISTS {}", ledger.quoted()))
                    .await
                    .map_err(down.sql_err(format!("dropping {ledger}")))?;
                let progress = ferry_actors::sync::progress_table(&cfg.meta_schema, &cfg.name);
                c.query_drop(format!("DROP TABLE IF EXISTS {}", progress.quoted()))
                    .await
                    .map_err(down.sql_err(format!("dropping {progress}")))?;
                for s in subtasks {
                    ferry_actors::sync::rename::drop_markers(
                        &mut c,
                        &down,
                        &cfg.meta_schema,
                        &cfg.name,
                        &s.bulk.source_id,
                    )
                    .await?;
                }
                Ok::<(), ferry_actors::error::TaskError>(())
            }
            .await
            .map_err(|e| ApiError::bad(e.to_string()))?;
        }
        info!(task = %cfg.name, "checkpoints removed (--remove-meta)");
        Ok(())
    }

    pub(super) async fn spawn_task(
        &self,
        cfg: TaskConfig,
        stage: Stage,
        error: Option<String>,
    ) -> Result<(), ApiError> {
        let name = cfg.name.clone();
        let subtasks = self.subtasks(&cfg).await?;
        let spec = cfg
            .to_stored_json(self.key.as_ref())
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let rec = TaskRecord {
            name: name.clone(),
            spec,
            stage,
            error: error.clone(),
        };
        self.store
            .put_task(&rec)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let store = self.store.clone();
        let sink_rec = Mutex::new(rec);
        let sink: StageSink = Arc::new(move |stage, error| {
            let mut r = sink_rec.lock().unwrap_or_else(|e| e.into_inner());
            let code = ferry_actors::dm_metrics::stage_code(stage);
            metrics::gauge!("ferry_task_stage", "task" => r.name.clone()).set(code);
            r.stage = stage;
            r.error = error;
            if let Err(e) = store.put_task(&r) {
                warn!(task = %r.name, error = %e, "cannot persist the task stage");
            }
        });
        let store: Arc<dyn CheckpointStore> = self.store.clone();
        let rt = self.rt.clone();
        let actor = move || {
            TaskActor::new(
                name.clone(),
                subtasks,
                store,
                sink,
                Backoff::default(),
                stage,
                error,
                rt,
            )
        };
        let addr = TaskActor::start_in_arbiter(&self.arbiter, move |_| actor());
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(cfg.name.clone(), TaskEntry { config: cfg, addr });
        Ok(())
    }

    pub(super) fn addr(&self, name: &str) -> Result<Addr<TaskActor>, ApiError> {
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .map(|t| t.addr.clone())
            .ok_or_else(|| ApiError::not_found(format!("[code=38032:class=dm-master:scope=internal:level=medium] task `{name}` does not exist")))
    }

    /// `pause-task`.
    pub async fn pause_task(&self, name: &str) -> Result<Value, ApiError> {
        let addr = self.addr(name)?;
        addr.send(Pause)
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?;
        Ok(json!({"result": true, "msg": "", "op": "Pause", "task": name}))
    }

    /// `resume-task`.
    pub async fn resume_task(&self, name: &str) -> Result<Value, ApiError> {
        let addr = self.addr(name)?;
        addr.send(Resume)
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?;
        Ok(json!({"result": true, "msg": "", "op": "Resume", "task": name}))
    }

    /// `stop-task`: stops the task and forgets it; its checkpoints stay (as DM's do), so a
    /// later `start-task` of the same name resumes, and `--remove-meta` starts afresh.
    pub async fn stop_task(&self, name: &str) -> Result<Value, ApiError> {
        let _changes = self.changes.lock().await;
        let addr = self.addr(name)?;
        addr.send(Stop)
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?;
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        self.store
            .delete_task_record(name)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        self.needed.remove_task(name);
        Ok(json!({"result": true, "msg": "", "op": "Stop", "task": name}))
    }
}
