//! The Sync unit's coordinator: gathers row changes into batches, dispatches each batch's
//! shares to the writers (one downstream transaction each, with its progress row), applies
//! DDL as a barrier, and records progress over filtered traffic.

mod rows;
mod statement;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_model::{BinlogPosition, Location, TableName};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::debug;

use super::progress::{self, BatchMark};
use super::target::TargetCache;
use super::{assign, schema_track, writer, Item, RowOp, SyncPoint, SyncSpec, SyncStatus};
use crate::causality::CausalityKey;
use crate::db::Endpoint;
use crate::error::TaskError;

/// A share of a batch for one writer.
pub(super) struct Job {
    ops: Vec<RowOp>,
    safe: bool,
    merge: bool,
    progress: String,
    what: String,
    reply: oneshot::Sender<Result<(), TaskError>>,
}

pub(super) async fn run_writer(
    worker: usize,
    mut conn: Conn,
    ep: Endpoint,
    mut jobs: mpsc::Receiver<Job>,
) {
    while let Some(job) = jobs.recv().await {
        let result = match writer::statements(&job.ops, job.safe, job.merge) {
            Ok(stmts) => writer::apply(&mut conn, &ep, &stmts, &job.progress, &job.what).await,
            Err(e) => Err(TaskError::Blocked(format!("{}: {e}", job.what))),
        };
        if let Err(e) = &result {
            debug!(worker, error = %e, "writer failed");
        }
        let _ = job.reply.send(result);
    }
}

/// The batch being gathered.
pub(super) struct Batch {
    ops: Vec<RowOp>,
    keys: Vec<Vec<CausalityKey>>,
    start: SyncPoint,
    end: SyncPoint,
    first_ts: Option<u32>,
}

impl Batch {
    pub(super) fn new(start: SyncPoint) -> Self {
        Self {
            ops: Vec::new(),
            keys: Vec::new(),
            end: start.clone(),
            start,
            first_ts: None,
        }
    }
}

struct InFlight {
    handle: JoinHandle<Result<(), TaskError>>,
    mark: BatchMark,
    rows: u64,
    first_ts: Option<u32>,
}

/// Where a table's changes go: `None` when filtered out.
type Decided = Option<TableName>;

pub(super) struct Coordinator<'a> {
    spec: &'a SyncSpec,
    status: Arc<SyncStatus>,
    /// Downstream connection for schema reads, DDL and progress of empty batches.
    ctl: Conn,
    json_convert: bool,
    table: TableName,
    targets: TargetCache,
    /// Per table: the decision for inserts, updates and deletes, once made.
    decisions: HashMap<TableName, [Option<Decided>; 3]>,
    workers: Vec<mpsc::Sender<Job>>,
    batch_no: u64,
    batch: Batch,
    /// Re-reading a partly applied batch: it must end exactly at the mark; `done` writers
    /// skip their share.
    recovery: Option<(BatchMark, BTreeSet<usize>)>,
    in_flight: Option<InFlight>,
    /// Last point recorded downstream.
    written: SyncPoint,
    written_at: Instant,
    safe_until: Option<Location>,
    /// The first DDL after a (re)start may have been applied before the crash.
    tolerant_ddl: bool,
    /// The last item left the stream at a transaction boundary.
    at_boundary: bool,
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
}

/// What a coordinator starts from.
pub(super) struct Start<'a> {
    pub spec: &'a SyncSpec,
    pub status: Arc<SyncStatus>,
    /// Downstream connection for schema reads, DDL and progress of empty batches.
    pub ctl: Conn,
    pub json_convert: bool,
    /// The progress table.
    pub table: TableName,
    pub workers: Vec<mpsc::Sender<Job>>,
    /// Number of the first batch.
    pub batch_no: u64,
    /// Where replication resumes.
    pub start: SyncPoint,
    /// A partly applied batch to complete first.
    pub recovery: Option<(BatchMark, BTreeSet<usize>)>,
    /// Safe mode (and the catch-up rules) until past this position.
    pub safe_until: Option<Location>,
    /// The schema history as of `start`.
    pub history: super::history::SchemaHistory<'a>,
    /// Where replication takes over each table from the copy.
    pub copies: crate::bulk::CopyPositions,
}

impl<'a> Coordinator<'a> {
    /// A coordinator at `s.start`.
    pub(super) fn new(s: Start<'a>) -> Self {
        Self {
            spec: s.spec,
            status: s.status,
            ctl: s.ctl,
            json_convert: s.json_convert,
            table: s.table,
            targets: TargetCache::default(),
            decisions: HashMap::new(),
            workers: s.workers,
            batch_no: s.batch_no,
            batch: Batch::new(s.start.clone()),
            recovery: s.recovery,
            in_flight: None,
            written: s.start,
            written_at: Instant::now(),
            safe_until: s.safe_until,
            tolerant_ddl: true,
            at_boundary: true,
            started: Instant::now(),
            skipped_missing: HashSet::new(),
            schemas: schema_track::SchemaTracker::new(s.history),
            dialects: None,
            copies: s.copies,
            reached: HashSet::new(),
        }
    }
}

impl Coordinator<'_> {
    fn max_rows(&self) -> usize {
        (self.workers.len() * self.spec.batch.max(1) * 4).max(1024)
    }

    pub(super) async fn run(
        &mut self,
        mut rx: mpsc::Receiver<Result<Vec<Item>, TaskError>>,
    ) -> Result<(), TaskError> {
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
                    for item in items {
                        self.item(item).await?;
                    }
                    // Keep taking what is already there, up to a full batch.
                    while self.batch.ops.len() < self.max_rows() {
                        match rx.try_recv() {
                            Ok(m) => for item in m? { self.item(item).await?; },
                            Err(_) => break,
                        }
                    }
                    if self.in_flight.is_none() && self.at_boundary && self.recovery.is_none() {
                        self.dispatch().await?;
                    }
                }
                res = async { (&mut self.in_flight.as_mut().expect("guarded").handle).await },
                    if self.in_flight.is_some() => {
                    self.finish_in_flight(res).await?;
                    if self.recovery.is_none() && (self.at_boundary || self.batch.ops.len() >= self.max_rows()) {
                        self.dispatch().await?;
                    }
                }
                _ = tick.tick() => {
                    self.housekeeping().await?;
                }
            }
            self.update_pending();
        }
    }

    fn update_pending(&self) {
        let ts = match &self.in_flight {
            Some(f) => f.first_ts.or(self.batch.first_ts),
            None => self.batch.first_ts,
        };
        self.status.set_pending(ts);
    }

    /// True while replaying the binlog from the full phase's start position up to the
    /// position read after the copy (the hand-off window).
    fn catching_up(&self) -> bool {
        self.safe_until
            .as_ref()
            .is_some_and(|until| !passed(&self.batch.end.pos, &until.binlog))
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
            Some(until) => !passed(&self.batch.start.pos, &until.binlog),
            None => false,
        }
    }

    /// One item from the reader.
    async fn item(&mut self, item: Item) -> Result<(), TaskError> {
        match item {
            Item::Row {
                table,
                columns,
                names,
                kind,
                change,
                rows,
                timestamp,
            } => {
                self.row(rows::Met {
                    table,
                    columns,
                    names,
                    kind,
                    change,
                    rows,
                    timestamp,
                })
                .await?;
            }
            Item::Commit { point, timestamp } => {
                self.at_boundary = true;
                self.batch.first_ts.get_or_insert(timestamp);
                self.batch.end = point;
                self.check_recovery_end().await?;
            }
            Item::Advance { point } => {
                self.at_boundary = true;
                self.batch.end = point;
                self.check_recovery_end().await?;
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
                self.statement(statement::Met {
                    schema,
                    sql,
                    sql_mode,
                    before,
                    point,
                    timestamp,
                })
                .await?;
            }
        }
        Ok(())
    }

    /// While re-reading a partly applied batch: dispatch it when its end is reached.
    async fn check_recovery_end(&mut self) -> Result<(), TaskError> {
        let Some((mark, _)) = &self.recovery else {
            return Ok(());
        };
        if self.batch.end.same_place(&mark.end) {
            self.at_boundary = true;
            self.dispatch().await?;
        } else if passed_point(&self.batch.end, &mark.end) {
            return Err(TaskError::Blocked(format!(
                "re-reading batch {} ({} to {}): passed {} without meeting its end; the binlog                  differs from when the batch was written",
                mark.batch, mark.start, mark.end, self.batch.end
            )));
        }
        Ok(())
    }

    /// Sends the gathered batch to the writers (after the previous one is committed).
    async fn dispatch(&mut self) -> Result<(), TaskError> {
        if self.batch.ops.is_empty() {
            if let Some((mark, _)) = &self.recovery {
                if self.batch.end.same_place(&mark.end) {
                    // Nothing of the batch passes the filters any more: it is complete.
                    self.recovery = None;
                    self.batch = Batch::new(self.batch.end.clone());
                    self.batch_no += 1;
                }
            }
            return Ok(());
        }
        self.drain().await?;
        let (workers, done) = match self.recovery.take() {
            Some((mark, done)) => (mark.workers, done),
            None => (self.workers.len(), BTreeSet::new()),
        };
        // Safe mode is decided by where the batch starts (before the next one replaces it).
        let safe = self.safe();
        let next = Batch::new(self.batch.end.clone());
        let batch = std::mem::replace(&mut self.batch, next);
        let mark = BatchMark {
            batch: self.batch_no,
            workers,
            start: batch.start.clone(),
            end: batch.end.clone(),
        };
        self.batch_no += 1;
        let rows = batch.ops.len() as u64;
        let owner = assign::assign(&batch.keys, workers);
        let mut shares: Vec<Vec<RowOp>> = (0..workers).map(|_| Vec::new()).collect();
        for (op, w) in batch.ops.into_iter().zip(owner) {
            shares[w].push(op);
        }
        self.status.set_safe_mode(safe);
        let mut replies = Vec::new();
        for (w, ops) in shares.into_iter().enumerate() {
            if ops.is_empty() || done.contains(&w) {
                continue;
            }
            // A recovered batch may have been split between more writers than there are now:
            // a share goes to writer `w % n` but is recorded as writer `w`'s.
            let tx = &self.workers[w % self.workers.len()];
            let (rtx, rrx) = oneshot::channel();
            let job = Job {
                ops,
                safe,
                merge: self.spec.multiple_rows,
                progress: progress::upsert_sql(&self.table, &self.spec.source_id, &[w], &mark),
                what: format!(
                    "applying batch {} ({} to {}), writer {w}",
                    mark.batch, mark.start, mark.end
                ),
                reply: rtx,
            };
            tx.send(job).await.map_err(|_| TaskError::Cancelled)?;
            replies.push(rrx);
        }
        let handle = tokio::spawn(async move {
            for r in replies {
                r.await.map_err(|_| TaskError::Cancelled)??;
            }
            Ok(())
        });
        self.in_flight = Some(InFlight {
            handle,
            mark,
            rows,
            first_ts: batch.first_ts,
        });
        Ok(())
    }

    /// Waits for the batch in flight.
    async fn drain(&mut self) -> Result<(), TaskError> {
        if let Some(f) = self.in_flight.as_mut() {
            let res = (&mut f.handle).await;
            self.finish_in_flight(res).await?;
        }
        Ok(())
    }

    async fn finish_in_flight(
        &mut self,
        res: Result<Result<(), TaskError>, tokio::task::JoinError>,
    ) -> Result<(), TaskError> {
        let Some(f) = self.in_flight.take() else {
            return Ok(());
        };
        res.map_err(|_| TaskError::Cancelled)??;
        self.status.applied(&f.mark.end, f.rows);
        self.spec
            .needed
            .set(&self.spec.task, &self.spec.source_id, &f.mark.end.pos);
        metrics::counter!("ferry_sync_rows_total", "task" => self.spec.task.clone(),
            "source" => self.spec.source_id.clone())
        .increment(f.rows);
        self.written = f.mark.end;
        self.written_at = Instant::now();
        Ok(())
    }

    /// Records the current (empty) batch's end for every writer, e.g. after a DDL or after
    /// filtered-out traffic.
    async fn write_empty(&mut self) -> Result<(), TaskError> {
        debug_assert!(self.batch.ops.is_empty());
        self.drain().await?;
        let mark = BatchMark {
            batch: self.batch_no,
            workers: self.workers.len(),
            start: self.batch.start.clone(),
            end: self.batch.end.clone(),
        };
        let all: Vec<usize> = (0..self.workers.len()).collect();
        let sql = progress::upsert_sql(&self.table, &self.spec.source_id, &all, &mark);
        self.ctl.query_drop(sql).await.map_err(
            self.spec
                .downstream
                .sql_err(format!("recording progress at {}", mark.end)),
        )?;
        self.batch_no += 1;
        self.status.applied(&mark.end, 0);
        self.spec
            .needed
            .set(&self.spec.task, &self.spec.source_id, &mark.end.pos);
        self.written = mark.end.clone();
        self.written_at = Instant::now();
        self.batch = Batch::new(mark.end);
        Ok(())
    }

    /// Periodic work: dispatch a batch left waiting, record progress over filtered traffic.
    async fn housekeeping(&mut self) -> Result<(), TaskError> {
        if self.recovery.is_some() {
            return Ok(());
        }
        if self.in_flight.is_none() && !self.batch.ops.is_empty() {
            self.dispatch().await?;
            return Ok(());
        }
        if self.in_flight.is_none()
            && self.batch.ops.is_empty()
            && self.at_boundary
            && !self.batch.end.same_place(&self.written)
            && self.written_at.elapsed() >= Duration::from_secs(5)
        {
            self.write_empty().await?;
        }
        if self.in_flight.is_none() && self.batch.ops.is_empty() {
            self.status.set_syncer(&self.batch.end);
        }
        Ok(())
    }
}

/// True when `pos` is at or after `until` (positions of one upstream).
fn passed(pos: &BinlogPosition, until: &BinlogPosition) -> bool {
    pos >= until
}

/// True when `p` is strictly after `q`.
fn passed_point(p: &SyncPoint, q: &SyncPoint) -> bool {
    (p.pos.clone(), p.skip_rows) > (q.pos.clone(), q.skip_rows)
}
