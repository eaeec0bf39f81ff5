//! The task actor: runs a task's subtasks, retries transient failures from the checkpoint,
//! and answers status queries in DM's shape.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::{Actor, Context, Handler, Message};
use ferry_model::{Location, Stage, Unit};
use ferry_relay::CheckpointStore;
use tokio::task::JoinHandle;
use tracing::{info, info_span, Instrument};

use crate::bulk::BulkProgress;
use crate::db::{read_position, ServerInfo};
use crate::dm_status::{ProcessResult, SubTaskStatus};
use crate::error::{policy, Action, Component, ErrorClass, TaskError};
use crate::pipeline;
use crate::subtask::Subtask;
use crate::sync::{Handoff, SyncStatus};

/// Called when the task's overall stage changes, so that the daemon can persist it.
pub type StageSink = Arc<dyn Fn(Stage, Option<String>) + Send + Sync>;

/// Retry policy for transient errors (DM's `checker` backoff).
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// First wait.
    pub min: Duration,
    /// Longest wait.
    pub max: Duration,
    /// Attempts before the task is paused.
    pub max_attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            min: Duration::from_secs(1),
            max: Duration::from_secs(60),
            max_attempts: 10,
        }
    }
}

/// Live state of one subtask.
#[derive(Debug)]
pub struct SubtaskState {
    /// Source id.
    pub source_id: String,
    /// Stage.
    pub stage: Stage,
    /// Current unit.
    pub unit: Unit,
    /// Error that paused it, or the last transient error being retried.
    pub error: Option<String>,
    /// True when `error` paused the subtask (false: being retried).
    pub error_is_fatal: bool,
    /// The class of `error` (`None`: not known, as for a pause restored from the daemon's
    /// state); it picks the `Workaround` and code of `query-status`.
    pub error_class: Option<ErrorClass>,
    /// Full-phase progress.
    pub progress: Arc<BulkProgress>,
    /// Full-phase start position, once known.
    pub start: Option<Location>,
    /// Sync-unit status.
    pub sync: Arc<SyncStatus>,
}

/// A running task.
pub struct TaskActor {
    name: String,
    subtasks: Vec<Arc<Subtask>>,
    states: Vec<Arc<Mutex<SubtaskState>>>,
    store: Arc<dyn CheckpointStore>,
    sink: StageSink,
    backoff: Backoff,
    rt: tokio::runtime::Handle,
    runner: Option<JoinHandle<()>>,
}

impl TaskActor {
    /// Creates the actor; it starts working when started if `initial` is `Running`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: String,
        subtasks: Vec<Subtask>,
        store: Arc<dyn CheckpointStore>,
        sink: StageSink,
        backoff: Backoff,
        initial: Stage,
        initial_error: Option<String>,
        rt: tokio::runtime::Handle,
    ) -> Self {
        let states = subtasks
            .iter()
            .map(|s| {
                let full = store
                    .full_phase(&s.bulk.task, &s.source_id)
                    .unwrap_or_default();
                let unit = if s.mode.has_full() && !full.finished {
                    Unit::Load
                } else if s.mode.has_sync() {
                    Unit::Sync
                } else {
                    Unit::Load
                };
                Arc::new(Mutex::new(SubtaskState {
                    source_id: s.source_id.clone(),
                    stage: initial,
                    unit,
                    sync: Arc::new(SyncStatus::default()),
                    error: initial_error.clone(),
                    error_is_fatal: initial_error.is_some(),
                    error_class: None,
                    progress: Arc::new(BulkProgress::default()),
                    start: full.start,
                }))
            })
            .collect();
        Self {
            name,
            subtasks: subtasks.into_iter().map(Arc::new).collect(),
            states,
            store,
            sink,
            backoff,
            rt,
            runner: None,
        }
    }

    fn start_runner(&mut self) {
        let subtasks = self.subtasks.clone();
        let states = self.states.clone();
        let store = self.store.clone();
        let sink = self.sink.clone();
        let backoff = self.backoff;
        let name = self.name.clone();
        for s in &self.states {
            let mut st = lock(s);
            st.stage = Stage::Running;
            st.error = None;
            st.error_is_fatal = false;
            st.error_class = None;
        }
        (self.sink)(Stage::Running, None);
        self.runner = Some(
            self.rt.spawn(
                async move {
                    let runs = subtasks.iter().zip(&states).map(|(sub, state)| {
                        run_subtask(sub.clone(), state.clone(), store.clone(), backoff)
                    });
                    futures::future::join_all(runs).await;
                    let (stage, err) = overall(&states);
                    info!(stage = %stage, "task ended");
                    sink(stage, err);
                }
                .instrument(info_span!("task", name = %name)),
            ),
        );
    }

    fn stop_runner(&mut self) {
        if let Some(h) = self.runner.take() {
            h.abort();
        }
    }
}

pub(crate) fn lock(s: &Mutex<SubtaskState>) -> std::sync::MutexGuard<'_, SubtaskState> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// The task's stage from its subtasks' (DM: Finished/Paused/... when all agree, else Running).
fn overall(states: &[Arc<Mutex<SubtaskState>>]) -> (Stage, Option<String>) {
    let stages: Vec<(Stage, Option<String>)> = states
        .iter()
        .map(|s| {
            let st = lock(s);
            (st.stage, st.error.clone())
        })
        .collect();
    if let Some((_, e)) = stages
        .iter()
        .find(|(s, e)| *s == Stage::Paused && e.is_some())
    {
        return (Stage::Paused, e.clone());
    }
    let first = stages.first().map(|s| s.0).unwrap_or(Stage::New);
    if stages.iter().all(|(s, _)| *s == first) {
        (first, None)
    } else {
        (Stage::Running, None)
    }
}

async fn run_subtask(
    sub: Arc<Subtask>,
    state: Arc<Mutex<SubtaskState>>,
    store: Arc<dyn CheckpointStore>,
    backoff: Backoff,
) {
    let span = info_span!("subtask", source = %sub.source_id);
    crate::supervisor::supervise(&state, backoff, || async {
        let result = run_once(&sub, &state, &store).await;
        if let Err(e) = &result {
            let unit = lock(&state).unit;
            let resumable = e.class().action() == Action::Retry;
            crate::dm_metrics::exit_with_error(unit, &sub.bulk.task, &sub.source_id, resumable);
        }
        result
    })
    .instrument(span)
    .await
}

/// One attempt at a subtask: the full phase (unless finished), then the Sync unit, which
/// returns only with an error.
async fn run_once(
    sub: &Subtask,
    state: &Mutex<SubtaskState>,
    store: &Arc<dyn CheckpointStore>,
) -> Result<(), TaskError> {
    let task = &sub.bulk.task;
    let mut handoff = None;
    if sub.mode.has_full() {
        let full = store.full_phase(task, &sub.source_id)?;
        let start = match (full.finished, full.start) {
            (true, Some(start)) => start,
            _ => {
                let progress = Arc::new(BulkProgress::default());
                {
                    let mut st = lock(state);
                    st.progress = progress.clone();
                    st.unit = Unit::Load;
                }
                pipeline::run_full(&sub.bulk, store, &progress).await?
            }
        };
        lock(state).start = Some(start.clone());
        if !sub.mode.has_sync() {
            return Ok(());
        }
        let end = match store.full_phase(task, &sub.source_id)?.end {
            Some(end) => end,
            None => {
                let up = &sub.bulk.upstream;
                let mut conn = up.connect(Vec::new()).await?;
                let info = ServerInfo::detect(&mut conn, up).await?;
                let end = read_position(&mut conn, &info, up).await?;
                store.put_full_end(task, &sub.source_id, &end)?;
                end
            }
        };
        info!(start = %start, safe_until = %end, "full phase done; replicating from its start");
        handoff = Some(Handoff {
            start,
            safe_until: Some(end),
        });
    }
    let status = {
        let mut st = lock(state);
        st.unit = Unit::Sync;
        st.sync.clone()
    };
    pipeline::run_sync(&sub.sync, handoff, status, store.as_ref()).await
}

impl Actor for TaskActor {
    type Context = Context<Self>;

    fn started(&mut self, _ctx: &mut Self::Context) {
        let running = self.states.iter().any(|s| lock(s).stage == Stage::Running);
        if running {
            self.start_runner();
        }
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        self.stop_runner();
    }
}

/// Ask for the task's status (DM's per-source `subTaskStatus`).
#[derive(Message)]
#[rtype(result = "TaskStatus")]
pub struct QueryStatus;

/// A task's status.
#[derive(Debug, Clone)]
pub struct TaskStatus {
    /// Overall stage.
    pub stage: Stage,
    /// Overall error, if paused by one.
    pub error: Option<String>,
    /// Per source: `(source-id, subTaskStatus entry)`.
    pub subtasks: Vec<(String, SubTaskStatus)>,
}

/// Ask for the task's overall stage and error only (`query-status` without a task name).
#[derive(Message)]
#[rtype(result = "(Stage, Option<String>)")]
pub struct QueryStage;

impl Handler<QueryStage> for TaskActor {
    type Result = actix::MessageResult<QueryStage>;

    fn handle(&mut self, _: QueryStage, _: &mut Self::Context) -> Self::Result {
        actix::MessageResult(overall(&self.states))
    }
}

/// Set the task's DM gauges from its live state (before `/metrics` is rendered).
#[derive(Message)]
#[rtype(result = "()")]
pub struct PublishMetrics;

impl Handler<PublishMetrics> for TaskActor {
    type Result = ();

    fn handle(&mut self, _: PublishMetrics, _: &mut Self::Context) {
        for s in &self.states {
            let st = lock(s);
            crate::dm_metrics::publish_subtask(
                &self.name,
                &st.source_id,
                st.stage,
                st.unit,
                &st.sync,
            );
        }
    }
}

/// How long a status query waits for the upstream's position read at query time.
const MASTER_READ_WAIT: Duration = Duration::from_secs(3);

impl Handler<QueryStatus> for TaskActor {
    type Result = actix::ResponseFuture<TaskStatus>;

    /// The upstream's position is read first (by each replicating subtask's poller), so
    /// `synced` means "applied up to where the upstream was when the query came".
    fn handle(&mut self, _: QueryStatus, _: &mut Self::Context) -> Self::Result {
        let states = self.states.clone();
        let name = self.name.clone();
        Box::pin(async move {
            let syncs: Vec<Arc<SyncStatus>> = states
                .iter()
                .filter_map(|s| {
                    let st = lock(s);
                    (st.unit == Unit::Sync && st.stage == Stage::Running).then(|| st.sync.clone())
                })
                .collect();
            futures::future::join_all(syncs.iter().map(|s| s.refresh_master(MASTER_READ_WAIT)))
                .await;
            let (stage, error) = overall(&states);
            let subtasks = states
                .iter()
                .map(|s| {
                    let st = lock(s);
                    (st.source_id.clone(), subtask_status(&name, &st))
                })
                .collect();
            TaskStatus {
                stage,
                error,
                subtasks,
            }
        })
    }
}

fn subtask_status(task: &str, st: &SubtaskState) -> SubTaskStatus {
    let start = st.start.clone().or_else(|| st.progress.start());
    let (meta_binlog, meta_gtid) = match &start {
        Some(l) => (
            Some(l.binlog.to_string()),
            l.gtid.as_ref().map(|g| g.to_string()),
        ),
        None => (None, None),
    };
    let (dump, load) = st.progress.status(meta_binlog, meta_gtid);
    let sync_unit = st.unit == Unit::Sync;
    let at = if sync_unit {
        Component::Sync
    } else {
        Component::Load
    };
    let result = st.error.as_ref().map(|e| {
        let policy = match st.error_class {
            Some(class) => class.policy(at),
            None if st.error_is_fatal => policy::unclassified(Action::Pause, at),
            None => policy::unclassified(Action::Retry, at),
        };
        ProcessResult::error(e.clone(), &policy, at)
    });
    SubTaskStatus {
        name: task.to_string(),
        stage: st.stage,
        unit: st.unit,
        result,
        unresolved_ddl_lock_id: String::new(),
        dump,
        load,
        sync: sync_unit.then(|| st.sync.view()),
    }
}

/// Pause the task (stop working, keep checkpoints).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Pause;

impl Handler<Pause> for TaskActor {
    type Result = ();

    fn handle(&mut self, _: Pause, _: &mut Self::Context) {
        if !self.states.iter().any(|s| lock(s).stage == Stage::Running) {
            return;
        }
        self.stop_runner();
        for s in &self.states {
            let mut st = lock(s);
            if st.stage == Stage::Running {
                st.stage = Stage::Paused;
            }
        }
        (self.sink)(Stage::Paused, None);
    }
}

/// Resume a paused task from its checkpoint.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Resume;

impl Handler<Resume> for TaskActor {
    type Result = ();

    fn handle(&mut self, _: Resume, _: &mut Self::Context) {
        let paused = self.states.iter().any(|s| lock(s).stage == Stage::Paused);
        if paused && self.runner.as_ref().is_none_or(|h| h.is_finished()) {
            self.start_runner();
        }
    }
}

/// `binlog skip|replace`: an operator decision for a blocked statement; a task paused by an
/// error resumes so that the decision is used.
#[derive(Message)]
#[rtype(result = "Result<usize, String>")]
pub struct SetBinlogOp {
    /// Only this source's subtask (`None`: every subtask).
    pub source: Option<String>,
    /// Position of the statement (`None`: the statement the subtask is blocked on).
    pub at: Option<ferry_model::BinlogPosition>,
    /// The decision.
    pub op: crate::sync::BinlogOp,
}

impl Handler<SetBinlogOp> for TaskActor {
    type Result = Result<usize, String>;

    fn handle(&mut self, msg: SetBinlogOp, _: &mut Self::Context) -> Self::Result {
        let mut n = 0;
        for sub in &self.subtasks {
            if msg.source.as_ref().is_some_and(|s| *s != sub.source_id) {
                continue;
            }
            if !sub.mode.has_sync() {
                return Err(format!(
                    "task `{}` has no binlog replication (task-mode full)",
                    self.name
                ));
            }
            sub.sync
                .operators
                .set(&sub.source_id, msg.at.clone(), msg.op.clone());
            n += 1;
        }
        if n == 0 {
            return Err(format!(
                "task `{}` has no subtask on source `{}`",
                self.name,
                msg.source.unwrap_or_default()
            ));
        }
        let paused = self.states.iter().any(|s| lock(s).stage == Stage::Paused);
        if paused && self.runner.as_ref().is_none_or(|h| h.is_finished()) {
            self.start_runner();
        }
        Ok(n)
    }
}

/// Stop the task for good (the actor stops).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Stop;

impl Handler<Stop> for TaskActor {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Self::Context) {
        self.stop_runner();
        actix::ActorContext::stop(ctx);
    }
}

/// Daemon shutdown: stop working without changing the recorded stage, so that a running task
/// resumes from its checkpoint when the daemon starts again.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Shutdown;

impl Handler<Shutdown> for TaskActor {
    type Result = ();

    fn handle(&mut self, _: Shutdown, ctx: &mut Self::Context) {
        self.stop_runner();
        actix::ActorContext::stop(ctx);
    }
}
