//! The daemon's registry: registered sources and tasks, their persistence in the state store,
//! and the task actors.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use actix::{Actor, Addr, ArbiterHandle};
use ferry_actors::check;
use ferry_actors::pipeline::{self, Subtask};
use ferry_actors::relay_service::{RelayConfig, RelayService};
use ferry_actors::sync::NeededPositions;
use ferry_actors::task::{
    Backoff, Pause, QueryStatus, Resume, SetBinlogOp, StageSink, Stop, TaskActor,
};
use ferry_config::{ConfigErrors, SecretKey, SourceConfig, TaskConfig};
use ferry_model::Stage;
use ferry_relay::{CheckpointStore, SourceRecord, Store, TaskRecord};
use serde_json::{json, Value};
use tracing::{info, warn};

use crate::wire::FileUpload;

/// An API failure: HTTP status and DM-style message.
#[derive(Debug)]
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
    fn internal(msg: impl Into<String>) -> Self {
        Self {
            status: 500,
            msg: msg.into(),
        }
    }
}

struct TaskEntry {
    config: TaskConfig,
    addr: Addr<TaskActor>,
}

/// Everything the daemon manages.
pub struct Registry {
    store: Arc<Store>,
    key: Option<SecretKey>,
    rt: tokio::runtime::Handle,
    arbiter: ArbiterHandle,
    sources: Mutex<BTreeMap<String, SourceConfig>>,
    tasks: Mutex<BTreeMap<String, TaskEntry>>,
    /// Relay logs of the sources with `enable-relay`.
    relays: Mutex<BTreeMap<String, Arc<RelayService>>>,
    /// What each task still needs of each source's binlog (relay purges keep it).
    needed: Arc<NeededPositions>,
}

impl Registry {
    /// Opens the registry and restores what the store holds: sources, then tasks (running
    /// tasks resume from their checkpoints).
    pub fn restore(
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
            sources: Mutex::new(BTreeMap::new()),
            tasks: Mutex::new(BTreeMap::new()),
            relays: Mutex::new(BTreeMap::new()),
            needed: Arc::new(needed),
        });
        for rec in reg.store.sources().map_err(|e| e.to_string())? {
            match SourceConfig::from_stored_json(rec.spec, reg.key.as_ref()) {
                Ok(cfg) => {
                    if cfg.enable_relay {
                        if let Err(e) = reg.start_relay(&cfg) {
                            warn!(source = %rec.id, error = %e.msg, "relay log not started");
                        }
                    }
                    reg.sources
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(rec.id, cfg);
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
            match reg.spawn_task(cfg, rec.stage, rec.error.clone()) {
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

    // ---- sources ----

    /// Starts the relay log of a source with `enable-relay`.
    fn start_relay(&self, cfg: &SourceConfig) -> Result<(), ApiError> {
        let id = cfg.source_id.clone();
        let ep = pipeline::endpoint(ferry_actors::error::Side::Upstream, &cfg.from)
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
        let relay = self
            .rt
            .block_on(RelayService::start(
                &id,
                ep,
                RelayConfig::from_source(cfg, server_id),
                self.store.clone(),
                needed_fn,
            ))
            .map_err(|e| ApiError::bad(format!("source `{id}`: relay log: {e}")))?;
        info!(source = %id, "relay log started");
        self.relays
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, Arc::new(relay));
        Ok(())
    }

    /// `purge-relay -s SOURCE -f FILE`: deletes the relay log before `file` (never what a task
    /// still needs).
    pub fn purge_relay(&self, id: &str, file: &str) -> Result<Value, ApiError> {
        let relay = self
            .relays
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
            .ok_or_else(|| {
                ApiError::not_found(format!("source `{id}` has no relay log (enable-relay)"))
            })?;
        let done = self
            .rt
            .block_on(relay.purge_before_file(file))
            .map_err(|e| ApiError::bad(e.to_string()))?;
        Ok(json!({"result": true, "msg": "", "source": id,
            "purgedEvents": done.report.count, "purgedBytes": done.report.bytes,
            "keptFrom": done.needed.map(|p| p.to_string()),
            "relayStartsAfter": done.floor.map(|p| p.to_string())}))
    }

    /// `operate-source create`.
    pub fn create_source(&self, up: &FileUpload) -> Result<Value, ApiError> {
        let env = Self::env_lookup(up);
        let loaded = ferry_config::parse_source_str(&up.text, &up.file, &env, self.key.as_ref())
            .map_err(Self::config_error)?;
        loaded.log_warnings();
        let cfg = loaded.config;
        let id = cfg.source_id.clone();
        // Connectivity is checked now, so that a typo is reported by `operate-source create`.
        let ep = pipeline::endpoint(ferry_actors::error::Side::Upstream, &cfg.from)
            .map_err(|e| ApiError::bad(format!("source `{id}`: {e}")))?;
        self.rt
            .block_on(async {
                let mut c = ep.connect(Vec::new()).await?;
                ferry_actors::db::ServerInfo::detect(&mut c, &ep).await
            })
            .map_err(|e| {
                ApiError::bad(format!(
                    "[code=32001:class=dump-unit:scope=upstream:level=high] source `{id}`: {e}"
                ))
            })?;
        let spec = cfg
            .to_stored_json(self.key.as_ref())
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let mut sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        if sources.contains_key(&id) {
            return Err(ApiError::bad(format!(
                "[code=38032:class=dm-master:scope=internal:level=medium] source `{id}` already exists; stop it first with `operate-source stop`"
            )));
        }
        if cfg.enable_relay {
            self.start_relay(&cfg)?;
        }
        self.store
            .put_source(&SourceRecord {
                id: id.clone(),
                spec,
            })
            .map_err(|e| ApiError::internal(e.to_string()))?;
        sources.insert(id.clone(), cfg);
        info!(source = %id, "source created");
        Ok(
            json!({"result": true, "msg": "", "sources": [{"result": true, "msg": "", "source": id, "worker": "ferryd"}]}),
        )
    }

    /// `operate-source stop`.
    pub fn stop_source(&self, id: &str) -> Result<Value, ApiError> {
        let tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((name, _)) = tasks
            .iter()
            .find(|(_, t)| t.config.mysql_instances.iter().any(|i| i.source_id == id))
        {
            return Err(ApiError::bad(format!(
                "source `{id}` is used by task `{name}`; stop the task first"
            )));
        }
        drop(tasks);
        let removed = self
            .sources
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        if removed.is_none() {
            return Err(ApiError::not_found(format!("source `{id}` does not exist")));
        }
        let relay = self
            .relays
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        if let Some(relay) = relay {
            self.rt.block_on(relay.stop());
        }
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
            .map(|(id, s)| {
                json!({"result": true, "msg": "", "source": id, "worker": "ferryd",
                       "host": s.from.host, "port": s.from.port, "user": s.from.user,
                       "enable-relay": s.enable_relay, "enable-gtid": s.enable_gtid})
            })
            .collect();
        json!({"result": true, "msg": "", "sources": list})
    }

    // ---- tasks ----

    fn subtasks(&self, cfg: &TaskConfig) -> Result<Vec<Subtask>, ApiError> {
        let sources: HashMap<String, SourceConfig> = self
            .sources
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut subs =
            pipeline::build_subtasks(cfg, &sources).map_err(|e| ApiError::bad(e.to_string()))?;
        let relays = self.relays.lock().unwrap_or_else(|e| e.into_inner());
        for sub in &mut subs {
            sub.sync.relay = relays.get(&sub.source_id).cloned();
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
    pub fn check_task(&self, up: &FileUpload) -> Result<Value, ApiError> {
        let cfg = self.parse_task(up)?;
        let mode = ferry_actors::pipeline::task_mode(&cfg);
        let subtasks = self.subtasks(&cfg)?;
        let items = self.rt.block_on(check::check_subtasks(
            &subtasks,
            mode,
            &cfg.ignore_checking_items,
        ));
        Ok(check::report(&items))
    }

    /// `start-task [--remove-meta]`: precheck, persist, start.
    pub fn start_task(&self, up: &FileUpload) -> Result<Value, ApiError> {
        let cfg = self.parse_task(up)?;
        let name = cfg.name.clone();
        let mode = ferry_actors::pipeline::task_mode(&cfg);
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
        let subtasks = self.subtasks(&cfg)?;
        let items = self.rt.block_on(check::check_subtasks(
            &subtasks,
            mode,
            &cfg.ignore_checking_items,
        ));
        let report = check::report(&items);
        if report["result"] != json!(true) {
            return Ok(json!({"result": false, "msg": report["msg"], "checkResult": report}));
        }
        if up.remove_meta {
            self.remove_meta(&cfg, &subtasks)?;
        }
        self.spawn_task(cfg, Stage::Running, None)?;
        let sources: Vec<Value> = subtasks
            .iter()
            .map(|s| json!({"result": true, "msg": "", "source": s.source_id, "worker": "ferryd"}))
            .collect();
        Ok(json!({"result": true, "msg": "", "sources": sources, "checkResult": report["msg"]}))
    }

    fn remove_meta(&self, cfg: &TaskConfig, subtasks: &[Subtask]) -> Result<(), ApiError> {
        self.store
            .clear_checkpoints(&cfg.name)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        self.needed.remove_task(&cfg.name);
        if let Some(sub) = subtasks.first() {
            let ledger = ferry_actors::bulk::sql::ledger_table(&cfg.meta_schema, &cfg.name);
            let down = sub.bulk.downstream.clone();
            self.rt
                .block_on(async {
                    use mysql_async::prelude::Queryable;
                    let mut c = down.connect(Vec::new()).await?;
                    c.query_drop(format!("DROP TABLE IF EXISTS {}", ledger.quoted()))
                        .await
                        .map_err(down.sql_err(format!("dropping {ledger}")))?;
                    let progress = ferry_actors::sync::progress_table(&cfg.meta_schema, &cfg.name);
                    c.query_drop(format!("DROP TABLE IF EXISTS {}", progress.quoted()))
                        .await
                        .map_err(down.sql_err(format!("dropping {progress}")))
                })
                .map_err(|e| ApiError::bad(e.to_string()))?;
        }
        info!(task = %cfg.name, "checkpoints removed (--remove-meta)");
        Ok(())
    }

    fn spawn_task(
        &self,
        cfg: TaskConfig,
        stage: Stage,
        error: Option<String>,
    ) -> Result<(), ApiError> {
        let name = cfg.name.clone();
        let subtasks = self.subtasks(&cfg)?;
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
            let code = match stage {
                Stage::New => 1.0,
                Stage::Running => 2.0,
                Stage::Paused => 3.0,
                Stage::Stopped => 4.0,
                Stage::Finished => 5.0,
            };
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

    fn addr(&self, name: &str) -> Result<Addr<TaskActor>, ApiError> {
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .map(|t| t.addr.clone())
            .ok_or_else(|| ApiError::not_found(format!("[code=38032:class=dm-master:scope=internal:level=medium] task `{name}` does not exist")))
    }

    /// `query-status <task>`.
    pub fn task_status(&self, name: &str) -> Result<Value, ApiError> {
        let addr = self.addr(name)?;
        let st = self
            .rt
            .block_on(addr.send(QueryStatus))
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
    pub fn all_status(&self) -> Value {
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
        let tasks: Vec<Value> = entries
            .into_iter()
            .map(|(name, addr, sources)| {
                let status = match self.rt.block_on(addr.send(QueryStatus)) {
                    Ok(st) => match (st.stage, st.error) {
                        (Stage::Paused, Some(_)) => {
                            "Error - Some error occurred in subtask".to_string()
                        }
                        (s, _) => s.to_string(),
                    },
                    Err(e) => format!("Error - {e}"),
                };
                json!({"taskName": name, "taskStatus": status, "sources": sources})
            })
            .collect();
        json!({"result": true, "msg": "", "tasks": tasks})
    }

    /// `pause-task`.
    pub fn pause_task(&self, name: &str) -> Result<Value, ApiError> {
        let addr = self.addr(name)?;
        self.rt
            .block_on(addr.send(Pause))
            .map_err(|e| ApiError::internal(e.to_string()))?;
        Ok(json!({"result": true, "msg": "", "op": "Pause", "task": name}))
    }

    /// `resume-task`.
    pub fn resume_task(&self, name: &str) -> Result<Value, ApiError> {
        let addr = self.addr(name)?;
        self.rt
            .block_on(addr.send(Resume))
            .map_err(|e| ApiError::internal(e.to_string()))?;
        Ok(json!({"result": true, "msg": "", "op": "Resume", "task": name}))
    }

    /// `binlog-schema list|update|delete <task> <db> <table> [-s source]`: the definition of
    /// an upstream table in the task's schema history, at the position it resumes from.
    /// Changes need the subtask to be paused (or the task stopped).
    pub fn binlog_schema(
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
        let subs = self.subtasks(&cfg)?;
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
            let status = self.task_status(name)?;
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
        crate::schema_cmd::run(&self.rt, self.store.as_ref(), &sub.sync, req)
    }

    /// `binlog skip|replace <task> [-b file:pos] [-s source] [sql...]`.
    pub fn binlog_op(
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
        let n = self
            .rt
            .block_on(addr.send(SetBinlogOp {
                source: req.source.clone().filter(|s| !s.is_empty()),
                at,
                op,
            }))
            .map_err(|e| ApiError::internal(e.to_string()))?
            .map_err(ApiError::bad)?;
        Ok(json!({"result": true, "msg": "", "op": req.op, "task": name, "subtasks": n}))
    }

    /// `stop-task`: stops the task and forgets it; its checkpoints stay (as DM's do), so a
    /// later `start-task` of the same name resumes, and `--remove-meta` starts afresh.
    pub fn stop_task(&self, name: &str) -> Result<Value, ApiError> {
        let addr = self.addr(name)?;
        self.rt
            .block_on(addr.send(Stop))
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

    /// `encrypt`.
    pub fn encrypt(&self, plaintext: &str) -> Result<Value, ApiError> {
        let key = self.key.as_ref().ok_or_else(|| {
            ApiError::bad("ferryd has no secret-key-path configured: set it in the daemon config to use encrypt")
        })?;
        let c =
            ferry_config::encrypt(key, plaintext).map_err(|e| ApiError::internal(e.to_string()))?;
        Ok(json!({"result": true, "msg": "", "ciphertext": c}))
    }

    /// Stops every task actor (graceful shutdown keeps their stage, so they resume on start).
    pub fn shutdown(&self) {
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for (_, t) in tasks {
            let _ = self.rt.block_on(t.addr.send(ferry_actors::task::Shutdown));
        }
    }
}
