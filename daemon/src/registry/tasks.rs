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

use super::{counted, ApiError, Registry, TaskEntry};
use crate::wire::FileUpload;
use ferry_actors::dm_metrics::Operation;

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
        let when = super::start_time::parse(up, &cfg)?;
        let mode = ferry_actors::subtask::task_mode(&cfg);
        let subtasks = self.subtasks(&cfg).await?;
        let opts = check::CheckOptions {
            start_time: when.is_some(),
        };
        let items =
            check::check_subtasks_with(&subtasks, mode, &cfg.ignore_checking_items, opts).await;
        Ok(check::report(&items))
    }

    /// `start-task [--remove-meta] [--start-time T]`: precheck, persist, start.
    pub async fn start_task(&self, up: &FileUpload) -> Result<Value, ApiError> {
        let mut cfg = self.parse_task(up)?;
        let when = super::start_time::parse(up, &cfg)?;
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
        let opts = check::CheckOptions {
            start_time: when.is_some(),
        };
        let items =
            check::check_subtasks_with(&subtasks, mode, &cfg.ignore_checking_items, opts).await;
        let report = check::report(&items);
        if report["result"] != json!(true) {
            return Ok(json!({"result": false, "msg": report["msg"], "checkResult": report}));
        }
        counted(
            Operation::Start,
            async {
                if up.remove_meta {
                    self.remove_meta(&cfg, &subtasks).await?;
                }
                if let (Some(when), Some(text)) = (when, up.start_time.as_deref()) {
                    self.apply_start_time(&mut cfg, &subtasks, text.trim(), when)
                        .await?;
                }
                self.spawn_task(cfg, Stage::Running, None, Vec::new()).await
            }
            .await,
        )?;
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
        paused: Vec<String>,
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
            paused_sources: paused.clone(),
        };
        self.store
            .put_task(&rec)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let store = self.store.clone();
        let r_sources = subtasks.len();
        let sink_rec = Mutex::new(rec);
        let sink: StageSink = Arc::new(move |stage, error, paused: &[String]| {
            let mut r = sink_rec.lock().unwrap_or_else(|e| e.into_inner());
            let code = ferry_actors::dm_metrics::stage_code(stage);
            metrics::gauge!("ferry_task_stage", "task" => r.name.clone()).set(code);
            r.stage = stage;
            r.error = error;
            r.paused_sources = if paused.len() == r_sources {
                Vec::new()
            } else {
                paused.to_vec()
            };
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
            .with_paused(&paused)
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
            .ok_or_else(|| ApiError::no_task(name))
    }

    /// The stored configuration of task `name`.
    pub(super) fn stored_task(&self, name: &str) -> Result<ferry_config::TaskConfig, ApiError> {
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .map(|t| t.config.clone())
            .ok_or_else(|| ApiError::no_task(name))
    }

    /// `pause-task [-s source ...]`, `resume-task [-s ...]`: DM's `OperateTaskResponse`.
    pub async fn pause_task(&self, name: &str, sources: &[String]) -> Result<Value, ApiError> {
        let addr = self.addr(name)?;
        let msg = Pause {
            sources: sources.to_vec(),
        };
        self.task_op_answer(name, Operation::Pause, sources, addr.send(msg).await)
    }

    /// `resume-task [-s source ...]`.
    pub async fn resume_task(&self, name: &str, sources: &[String]) -> Result<Value, ApiError> {
        let addr = self.addr(name)?;
        let msg = Resume {
            sources: sources.to_vec(),
        };
        self.task_op_answer(name, Operation::Resume, sources, addr.send(msg).await)
    }

    fn task_op_answer(
        &self,
        name: &str,
        op: Operation,
        sources: &[String],
        sent: Result<Result<Vec<String>, String>, actix::MailboxError>,
    ) -> Result<Value, ApiError> {
        let done = sent
            .map_err(|e| ApiError::internal(e.to_string()))
            .and_then(|r| r.map_err(ApiError::bad));
        counted(op, done)?;
        let all = self.task_sources(name)?;
        Ok(op_answer(
            name,
            op.label(),
            if sources.is_empty() { &all } else { sources },
        ))
    }

    /// The sources of task `name`.
    pub(super) fn task_sources(&self, name: &str) -> Result<Vec<String>, ApiError> {
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .map(|t| {
                t.config
                    .mysql_instances
                    .iter()
                    .map(|i| i.source_id.clone())
                    .collect()
            })
            .ok_or_else(|| ApiError::no_task(name))
    }

    /// `stop-task [-s source ...]`: stops the task and forgets it; its checkpoints stay (as
    /// DM's do), so a later `start-task` of the same name resumes, and `--remove-meta` starts
    /// afresh. With `-s` naming some of its sources, only their subtasks go: the task is
    /// started again without them (its other subtasks resume from their checkpoints, paused
    /// ones stay paused).
    pub async fn stop_task(&self, name: &str, sources: &[String]) -> Result<Value, ApiError> {
        let _changes = self.changes.lock().await;
        let all = self.task_sources(name)?;
        if let Some(src) = sources.iter().find(|s| !all.contains(s)) {
            return Err(ApiError::bad(format!(
                "task `{name}` has no subtask on source `{src}`"
            )));
        }
        let addr = self.addr(name)?;
        let keep: Vec<String> = all
            .iter()
            .filter(|s| !sources.contains(s))
            .cloned()
            .collect();
        if sources.is_empty() || keep.is_empty() {
            let stopped = addr.send(Stop).await;
            counted(
                Operation::Stop,
                stopped.map_err(|e| ApiError::internal(e.to_string())),
            )?;
            counted(Operation::Stop, self.forget_task(name))?;
            return Ok(op_answer(name, "Stop", &all));
        }
        let rec = self
            .store
            .tasks()
            .map_err(|e| ApiError::internal(e.to_string()))?
            .into_iter()
            .find(|r| r.name == name);
        let mut cfg = self.stored_task(name)?;
        cfg.mysql_instances.retain(|i| keep.contains(&i.source_id));
        let (stage, error, paused) = match rec {
            Some(r) => (r.stage, r.error, r.paused_sources),
            None => (Stage::Running, None, Vec::new()),
        };
        let split = !paused.is_empty();
        let paused: Vec<String> = paused.into_iter().filter(|s| keep.contains(s)).collect();
        // The paused subtasks stopped, the others were running.
        let (stage, error) = if split && paused.is_empty() {
            (Stage::Running, None)
        } else {
            (stage, error)
        };
        let stopped = addr.send(Stop).await;
        counted(
            Operation::Stop,
            stopped.map_err(|e| ApiError::internal(e.to_string())),
        )?;
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        counted(
            Operation::Stop,
            self.spawn_task(cfg, stage, error, paused).await,
        )?;
        info!(task = %name, sources = ?sources, "subtasks stopped; the task goes on without them");
        Ok(op_answer(name, "Stop", sources))
    }

    fn forget_task(&self, name: &str) -> Result<(), ApiError> {
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        self.store
            .delete_task_record(name)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        self.needed.remove_task(name);
        Ok(())
    }
}

/// DM's `OperateTaskResponse`: one `CommonWorkerResponse` per source acted on.
fn op_answer(name: &str, op: &str, sources: &[String]) -> Value {
    let sources: Vec<Value> = sources
        .iter()
        .map(|s| json!({"result": true, "msg": "", "source": s, "worker": "ferryd"}))
        .collect();
    json!({"result": true, "msg": "", "op": op, "task": name, "sources": sources})
}
