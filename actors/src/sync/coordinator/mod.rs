//! The Sync unit's coordinator: gathers row changes into batches, dispatches each batch's
//! shares to the writers (one downstream transaction each, with its progress row), applies
//! DDL as a barrier, and records progress over filtered traffic. Every decision of the
//! exactly-once protocol is the batch [`ledger`]'s; the coordinator does the I/O around it.

#[cfg(test)]
mod exactly_once;
pub(super) mod ledger;
#[cfg(test)]
mod ledger_tests;
#[cfg(test)]
mod replay;
mod rows;
mod statement;
#[cfg(test)]
mod stream;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_model::{BinlogPosition, Location, TableName};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::debug;

use super::applier::{Applier, MySqlApplier};
use super::progress::BatchMark;
use super::target::TargetCache;
use super::{schema_track, Item, RowOp, SyncSpec, SyncStatus};
use crate::error::TaskError;
use crate::mailbox::{Inbox, Outbox};
use crate::metrics::stages::Kinds;
use crate::metrics::syncer::SyncerMetrics;
use crate::reader::RowsKind;
use ledger::{Ledger, LedgerError, Origin};

/// A share of a batch for one writer (the message of a writer's mailbox).
pub(crate) struct Job {
    /// The writer whose progress row records the share.
    worker: usize,
    mark: BatchMark,
    ops: Vec<RowOp>,
    safe: bool,
    reply: oneshot::Sender<Result<(), TaskError>>,
}

impl crate::mailbox::Weigh for Job {
    fn weight(&self) -> usize {
        self.ops
            .iter()
            .map(crate::mailbox::Weigh::weight)
            .sum::<usize>()
            + std::mem::size_of::<Job>()
    }
}

/// A writer task: applies the shares it receives, each with its progress row, through
/// `applier` (writer number `worker`).
pub(crate) async fn run_writer<A: Applier>(
    worker: usize,
    mut applier: A,
    mut jobs: Inbox<Job>,
    metrics: Arc<SyncerMetrics>,
) {
    while let Some(job) = jobs.recv().await {
        let result = applier
            .apply_share(job.worker, &job.mark, &job.ops, job.safe)
            .await;
        metrics.job_done(worker, job.ops.len());
        if let Err(e) = &result {
            debug!(worker, error = %e, "writer failed");
        }
        let _ = job.reply.send(result);
    }
}

/// A ledger refusal as a task error (the binlog differs from what was written).
fn refused(e: LedgerError) -> TaskError {
    TaskError::Blocked(e.to_string())
}

/// The Sync unit's coordinator stage (batch, fold, split; DDL barrier).
pub(crate) struct Coordinator<'a> {
    spec: &'a SyncSpec,
    status: Arc<SyncStatus>,
    /// Downstream connection for schema reads, DDL and progress of empty batches.
    ctl: MySqlApplier,
    json_convert: bool,
    targets: TargetCache,
    /// The writers' mailboxes.
    workers: Vec<Outbox<Job>>,
    /// The batches: gathered, in flight, written, recovered.
    ledger: Ledger<RowOp>,
    /// Waits for every share of the batch in flight.
    in_flight: Option<JoinHandle<Result<(), TaskError>>>,
    /// When a point was last recorded downstream.
    written_at: Instant,
    safe_until: Option<Location>,
    /// The first DDL after a (re)start may have been applied before the crash.
    tolerant_ddl: bool,
    /// When this run of the Sync unit started (`safe-mode-duration`).
    started: Instant,
    /// Tables whose changes were skipped while catching up because their target is missing.
    skipped_missing: HashSet<TableName>,
    /// The schema history and the per-table column mappings.
    schemas: schema_track::SchemaTracker<'a>,
    /// Both ends' DDL dialects, detected at the first DDL.
    dialects: Option<crate::ddl::dialect::Dialects>,
    /// Where replication takes over each table from a full phase of several rounds: changes
    /// in a table's copy are skipped.
    copies: crate::bulk::CopyPositions,
    /// Tables copied by a later round whose copy position was reached (their definition was
    /// taken from the history).
    reached: HashSet<TableName>,
    metrics: Arc<SyncerMetrics>,
    /// Upstream transactions gathered (their commits) and not yet dispatched.
    txns_gathered: u64,
    /// Upstream transactions in the batch in flight.
    txns_in_flight: u64,
    /// Time spent dispatching batches and applying statements while taking the current
    /// message (not part of its transform cost).
    waited: Duration,
    /// When the batch in flight was handed to the writers.
    dispatched_at: Option<Instant>,
}

/// What a coordinator starts from.
pub(in crate::sync) struct Start<'a> {
    pub spec: &'a SyncSpec,
    pub status: Arc<SyncStatus>,
    /// The downstream through the control connection: schema reads, DDL, progress of empty
    /// batches.
    pub ctl: MySqlApplier,
    pub json_convert: bool,
    /// The writers' mailboxes.
    pub workers: Vec<Outbox<Job>>,
    /// Where replication resumes, the first batch number and the batch to complete first.
    pub origin: Origin,
    /// Safe mode (and the catch-up rules) until past this position.
    pub safe_until: Option<Location>,
    /// The schema history as of `origin.start`.
    pub history: super::history::SchemaHistory<'a>,
    /// Where replication takes over each table from the copy.
    pub copies: crate::bulk::CopyPositions,
    /// The Sync unit's series.
    pub metrics: Arc<SyncerMetrics>,
}

impl<'a> Coordinator<'a> {
    /// A coordinator at `s.origin`.
    pub(in crate::sync) fn new(s: Start<'a>) -> Self {
        Self {
            spec: s.spec,
            status: s.status,
            ctl: s.ctl,
            json_convert: s.json_convert,
            targets: TargetCache::default(),
            workers: s.workers,
            ledger: Ledger::new(s.origin),
            in_flight: None,
            written_at: Instant::now(),
            safe_until: s.safe_until,
            tolerant_ddl: true,
            started: Instant::now(),
            skipped_missing: HashSet::new(),
            schemas: schema_track::SchemaTracker::new(s.history),
            dialects: None,
            copies: s.copies,
            reached: HashSet::new(),
            metrics: s.metrics,
            txns_gathered: 0,
            txns_in_flight: 0,
            waited: Duration::ZERO,
            dispatched_at: None,
        }
    }
}

impl Coordinator<'_> {
    fn max_rows(&self) -> usize {
        (self.workers.len() * self.spec.batch.max(1) * 4).max(1024)
    }

    /// Runs until an error: takes the binlog items from `rx`.
    pub(crate) async fn run(&mut self, mut rx: Inbox<super::ItemBatch>) -> Result<(), TaskError> {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                msg = rx.recv() => {
                    let items = match msg {
                        Some(m) => m?,
                        None => return Err(TaskError::Binlog {
                            message: "binlog reader stopped".into(),
                            transient: true,
                        }),
                    };
                    self.take(items).await?;
                    // Keep taking what is already there, up to a full batch.
                    while self.ledger.len() < self.max_rows() {
                        match rx.try_recv() {
                            Some(m) => self.take(m?).await?,
                            None => break,
                        }
                    }
                    if self.ledger.ready(self.max_rows()) {
                        self.dispatch().await?;
                    }
                }
                res = async { (&mut *self.in_flight.as_mut().expect("guarded")).await },
                    if self.in_flight.is_some() => {
                    self.finish_in_flight(res).await?;
                    if self.ledger.ready(self.max_rows()) {
                        self.dispatch().await?;
                    }
                }
                _ = tick.tick() => {
                    self.housekeeping().await?;
                }
            }
            self.status.set_pending(self.ledger.pending_ts());
        }
    }

    /// True while replaying the binlog from the full phase's start position up to the
    /// position read after the copy (the hand-off window).
    fn catching_up(&self) -> bool {
        self.safe_until
            .as_ref()
            .is_some_and(|until| !passed(&self.ledger.end().pos, &until.binlog))
    }

    /// At the first change of a table copied again from a later position, at or after it:
    /// the table's definition is the one it was copied with.
    fn reach_copy(&mut self, table: &TableName, pos: &BinlogPosition) -> Result<(), TaskError> {
        if self.copies.recopied_at(table).is_some() && !self.reached.contains(table) {
            self.schemas.reload(table, pos)?;
            self.reached.insert(table.clone());
        }
        Ok(())
    }

    fn safe(&self) -> bool {
        if self.spec.safe_mode
            || self
                .spec
                .safe_mode_for
                .is_some_and(|d| self.started.elapsed() < d)
        {
            return true;
        }
        match &self.safe_until {
            Some(until) => !passed(&self.ledger.start().pos, &until.binlog),
            None => false,
        }
    }

    /// The items of one message. Their transform cost (DM's `binlog_transform_cost`,
    /// `gen-*-rows`) is the router's time on them and the coordinator's, less what it spent
    /// dispatching batches and applying statements meanwhile: one clock read per message.
    async fn take(&mut self, items: super::Items) -> Result<(), TaskError> {
        let began = Instant::now();
        self.waited = Duration::ZERO;
        let routed = items.routed;
        let mut kinds = Kinds::default();
        for item in items.items {
            if let Item::Row { kind, .. } = &item {
                kinds.add(*kind);
            }
            self.item(item).await?;
        }
        let took = (began.elapsed() + routed).saturating_sub(self.waited);
        self.metrics.stages.transformed(took, &kinds);
        Ok(())
    }

    /// One item from the reader.
    async fn item(&mut self, item: Item) -> Result<(), TaskError> {
        match item {
            Item::Row {
                table,
                columns,
                names,
                change,
                rows,
                timestamp,
                target,
                ..
            } => {
                let target = target.ok_or_else(|| {
                    TaskError::Blocked(format!(
                        "a change of {table} reached the coordinator without a route (the \
                         router stage is missing from the pipeline)"
                    ))
                })?;
                self.row(rows::Met {
                    table,
                    columns,
                    names,
                    target,
                    change,
                    rows,
                    timestamp,
                })
                .await?;
            }
            Item::Skipped {
                table,
                rows,
                timestamp,
            } => self.skipped(&table, rows, timestamp).await?,
            Item::Refused {
                table,
                event,
                rule,
                rows,
                timestamp,
            } => self.refused(&table, event, &rule, rows, timestamp).await?,
            Item::Commit { point, timestamp } => {
                self.txns_gathered += 1;
                if self
                    .ledger
                    .boundary(point, Some(timestamp))
                    .map_err(refused)?
                {
                    self.dispatch().await?;
                }
            }
            Item::Advance { point } => {
                if self.ledger.boundary(point, None).map_err(refused)? {
                    self.dispatch().await?;
                }
            }
            Item::Heartbeat => {}
            Item::Statement {
                schema,
                sql,
                sql_mode,
                before,
                point,
                timestamp,
            } => {
                let (began, waited) = (Instant::now(), self.waited);
                self.statement(statement::Met {
                    schema,
                    sql,
                    sql_mode,
                    before: *before,
                    point: *point,
                    timestamp,
                })
                .await?;
                self.waited = waited + began.elapsed();
            }
        }
        Ok(())
    }

    /// While re-reading a partly applied batch: dispatch it when its end is reached.
    async fn check_recovery_end(&mut self) -> Result<(), TaskError> {
        if self.ledger.recovery_end().map_err(refused)? {
            self.dispatch().await?;
        }
        Ok(())
    }

    /// Sends the gathered batch to the writers (after the previous one is committed).
    async fn dispatch(&mut self) -> Result<(), TaskError> {
        let began = Instant::now();
        let done = self.dispatch_batch().await;
        self.waited += began.elapsed();
        done
    }

    async fn dispatch_batch(&mut self) -> Result<(), TaskError> {
        if !self.ledger.is_empty() {
            self.drain().await?;
        }
        // Safe mode is decided by where the batch starts (before the next one replaces it).
        let safe = self.safe();
        let split = Instant::now();
        let Some(d) = self
            .ledger
            .take_dispatch(self.workers.len(), safe)
            .map_err(refused)?
        else {
            return Ok(());
        };
        self.metrics
            .conflict_detect_duration
            .record(split.elapsed().as_secs_f64());
        self.txns_in_flight = std::mem::take(&mut self.txns_gathered);
        self.status.set_safe_mode(d.safe);
        let mut replies = Vec::new();
        let mut kinds = Kinds::default();
        for share in d.shares {
            for op in &share.ops {
                kinds.add(kind_of(op));
            }
            let (rtx, rrx) = oneshot::channel();
            let (writer, rows) = (share.writer, share.ops.len());
            let job = Job {
                worker: share.worker,
                mark: d.mark.clone(),
                ops: share.ops,
                safe: d.safe,
                reply: rtx,
            };
            let tx = self.workers.get(writer).ok_or(TaskError::Cancelled)?;
            let sent = Instant::now();
            tx.send(job).await.map_err(|_| TaskError::Cancelled)?;
            self.metrics.job_added(writer, rows, sent.elapsed());
            replies.push(rrx);
        }
        self.metrics.stages.dispatched(split.elapsed(), &kinds);
        self.dispatched_at = Some(split);
        self.in_flight = Some(tokio::spawn(async move {
            for r in replies {
                r.await.map_err(|_| TaskError::Cancelled)??;
            }
            Ok(())
        }));
        Ok(())
    }

    /// Waits for the batch in flight.
    async fn drain(&mut self) -> Result<(), TaskError> {
        if let Some(handle) = self.in_flight.as_mut() {
            let res = handle.await;
            self.finish_in_flight(res).await?;
        }
        Ok(())
    }

    async fn finish_in_flight(
        &mut self,
        res: Result<Result<(), TaskError>, tokio::task::JoinError>,
    ) -> Result<(), TaskError> {
        if self.in_flight.take().is_none() {
            return Ok(());
        }
        let dispatched = self.dispatched_at.take();
        res.map_err(|_| TaskError::Cancelled)??;
        let Some((mark, rows)) = self.ledger.committed() else {
            return Ok(());
        };
        if let Some(t) = dispatched {
            self.metrics.stages.batch_committed(rows, t.elapsed());
        }
        self.status.applied(&mark.end, rows);
        self.spec
            .needed
            .set(&self.spec.task, &self.spec.source_id, &mark.end.pos);
        self.metrics.rows_total.increment(rows);
        self.status.set_pending(self.ledger.pending_ts());
        let txns = std::mem::take(&mut self.txns_in_flight);
        self.checkpoint_flushed(txns);
        Ok(())
    }

    /// Records the current (empty) batch's end for every writer, e.g. after a DDL or after
    /// filtered-out traffic.
    async fn write_empty(&mut self) -> Result<(), TaskError> {
        self.drain().await?;
        let empty = self
            .ledger
            .take_empty_mark(self.workers.len())
            .map_err(refused)?;
        self.ctl.record_empty(&empty.workers, &empty.mark).await?;
        self.ledger.committed();
        let end = &empty.mark.end;
        self.status.applied(end, 0);
        self.spec
            .needed
            .set(&self.spec.task, &self.spec.source_id, &end.pos);
        let txns = std::mem::take(&mut self.txns_gathered);
        self.checkpoint_flushed(txns);
        Ok(())
    }

    /// A progress record (with a batch, or alone) committed `txns` upstream transactions.
    fn checkpoint_flushed(&mut self, txns: u64) {
        let m = &self.metrics;
        m.finished_transaction_total.increment(txns);
        m.replication_lag
            .record(self.status.seconds_behind() as f64);
        m.flush_checkpoints_time_interval
            .record(self.written_at.elapsed().as_secs_f64());
        self.written_at = Instant::now();
    }

    /// Periodic work: dispatch a batch left waiting, record progress over filtered traffic.
    async fn housekeeping(&mut self) -> Result<(), TaskError> {
        if self.ledger.recovering() {
            return Ok(());
        }
        if self.ledger.waiting() {
            self.dispatch().await?;
            return Ok(());
        }
        if self.ledger.empty_due() && self.written_at.elapsed() >= Duration::from_secs(5) {
            self.write_empty().await?;
        }
        if self.ledger.in_flight().is_none() && self.ledger.is_empty() {
            self.status.set_syncer(self.ledger.end());
        }
        let (tables, versions) = self.schemas.size();
        self.metrics.schema_history_tables.set(tables as f64);
        self.metrics.schema_history_versions.set(versions as f64);
        Ok(())
    }
}

/// The kind of a row change (DM's job type).
fn kind_of(op: &RowOp) -> RowsKind {
    match (&op.change.before, &op.change.after) {
        (None, _) => RowsKind::Insert,
        (Some(_), None) => RowsKind::Delete,
        (Some(_), Some(_)) => RowsKind::Update,
    }
}

/// True when `pos` is at or after `until` (positions of one upstream).
fn passed(pos: &BinlogPosition, until: &BinlogPosition) -> bool {
    pos >= until
}
