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

mod ops;

pub use ops::{ListBinlogOps, Pause, Resume, RevertBinlogOp, SetBinlogOp};

/// Called when the task's overall stage changes, so that the daemon can persist it: the
/// stage, the error that paused it, and the sources whose subtask is paused (restored paused
/// while the others run, see [`TaskActor::with_paused`]).
pub type StageSink = Arc<dyn Fn(Stage, Option<String>, &[String]) + Send + Sync>;

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
    /// Per subtask, its running pipeline.
    runners: Vec<Option<JoinHandle<()>>>,
    /// Serialises the stage reports, so that the last one persisted is the current one.
    reporting: Arc<Mutex<()>>,
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
        let runners = subtasks.iter().map(|_| None).collect();
        Self {
            name,
            subtasks: subtasks.into_iter().map(Arc::new).collect(),
            states,
            store,
            sink,
            backoff,
            rt,
            runners,
            reporting: Arc::new(Mutex::new(())),
        }
    }

    /// Restores a task whose subtasks on `sources` were paused while the others ran: those
    /// start paused, the others running (when `sources` is empty, every subtask keeps the
    /// initial stage).
    pub fn with_paused(self, sources: &[String]) -> Self {
        if sources.is_empty() {
            return self;
        }
        for s in &self.states {
            let mut st = lock(s);
            if sources.contains(&st.source_id) {
                st.stage = Stage::Paused;
            } else if st.stage == Stage::Paused {
                st.stage = Stage::Running;
                st.error = None;
                st.error_is_fatal = false;
            }
        }
        self
    }

    /// True while subtask `i`'s pipeline runs.
    fn is_running(&self, i: usize) -> bool {
        self.runners[i].as_ref().is_some_and(|h| !h.is_finished())
    }

    /// Reports the task's stage to the sink.
    fn report(&self) {
        report(&self.states, &self.sink, &self.reporting);
    }

    /// Starts the pipelines of the subtasks `which` (those not already running).
    fn start_subtasks(&mut self, which: &[usize]) {
        let mut started = false;
        for &i in which {
            if self.is_running(i) {
                continue;
            }
            {
                let mut st = lock(&self.states[i]);
                st.stage = Stage::Running;
                st.error = None;
                st.error_is_fatal = false;
                st.error_class = None;
            }
            let sub = self.subtasks[i].clone();
            let state = self.states[i].clone();
            let states = self.states.clone();
            let store = self.store.clone();
            let sink = self.sink.clone();
            let reporting = self.reporting.clone();
            let backoff = self.backoff;
            let span = info_span!("task", name = %self.name);
            let handle = self.rt.spawn(
                async move {
                    run_subtask(sub, state, store, backoff).await;
                    report(&states, &sink, &reporting);
                }
                .instrument(span),
            );
            self.runners[i] = Some(handle);
            started = true;
        }
        if started {
            self.report();
        }
    }

    /// Every subtask.
    fn all(&self) -> Vec<usize> {
        (0..self.subtasks.len()).collect()
    }

    fn stop_runners(&mut self) {
        for h in self.runners.iter_mut().filter_map(Option::take) {
            h.abort();
        }
    }

    /// The subtasks of `sources` (every subtask when empty); an unknown source is an error.
    fn select(&self, sources: &[String]) -> Result<Vec<usize>, String> {
        if sources.is_empty() {
            return Ok(self.all());
        }
        let mut out = Vec::new();
        for src in sources {
            match self.subtasks.iter().position(|s| s.source_id == *src) {
                Some(i) => out.push(i),
                None => {
                    return Err(format!(
                        "task `{}` has no subtask on source `{src}`",
                        self.name
                    ))
                }
            }
        }
        Ok(out)
    }
}

/// Sends the task's stage and its paused sources to `sink`; logs the end of the task when no
/// subtask runs any more.
fn report(states: &[Arc<Mutex<SubtaskState>>], sink: &StageSink, reporting: &Mutex<()>) {
    let _one_at_a_time = reporting.lock().unwrap_or_else(|e| e.into_inner());
    let (stage, err) = overall(states);
    let mut paused = Vec::new();
    let mut running = false;
    for s in states {
        let st = lock(s);
        running |= st.stage == Stage::Running;
        if st.stage == Stage::Paused {
            paused.push(st.source_id.clone());
        }
    }
    if !running {
        info!(stage = %stage, "task ended");
    }
    sink(stage, err, &paused);
}

pub(crate) fn lock(s: &Mutex<SubtaskState>) -> std::sync::MutexGuard<'_, SubtaskState> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// The task's stage from its subtasks' (DM's rule: paused with an error, else any paused,
/// else the stage they all have, else Running).
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
    if stages.iter().any(|(s, _)| *s == Stage::Paused) {
        return (Stage::Paused, None);
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
    crate::metrics::worker::subtask_started(&sub.bulk.task, &sub.source_id);
    crate::supervisor::supervise(&state, backoff, || async {
        let result = run_once(&sub, &state, &store).await;
        if let Err(e) = &result {
            let unit = lock(&state).unit;
            let resumable = e.class().action() == Action::Retry;
            let unit = crate::metrics::worker::ExitUnit::of(unit, e);
            crate::metrics::worker::exit_with_error(
                unit,
                &sub.bulk.task,
                &sub.source_id,
                resumable,
            );
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
        let running: Vec<usize> = (0..self.states.len())
            .filter(|&i| lock(&self.states[i]).stage == Stage::Running)
            .collect();
        self.start_subtasks(&running);
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        self.stop_runners();
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
            crate::metrics::syncer::publish(
                &self.name,
                &st.source_id,
                st.stage,
                st.unit,
                &st.sync,
                &st.progress,
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

/// Stop the task for good (the actor stops).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Stop;

impl Handler<Stop> for TaskActor {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Self::Context) {
        self.stop_runners();
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
        self.stop_runners();
        actix::ActorContext::stop(ctx);
    }
}
