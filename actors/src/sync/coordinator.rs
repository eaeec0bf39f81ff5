//! The Sync unit's coordinator: gathers row changes into batches, dispatches each batch's
//! shares to the writers (one downstream transaction each, with its progress row), applies
//! DDL as a barrier, and records progress over filtered traffic.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_model::{BinlogPosition, Location, TableName};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use super::progress::{self, BatchMark};
use super::target::TargetCache;
use super::{
    assign, ddl_apply, schema_track, writer, Item, RowOp, SyncPoint, SyncSpec, SyncStatus,
};
use crate::causality::CausalityKey;
use crate::db::Endpoint;
use crate::error::TaskError;
use crate::reader::RowsKind;
use crate::rules::{Decision, EventType};

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
                self.at_boundary = false;
                self.batch.first_ts.get_or_insert(timestamp);
                // The batch end already holds the cursor's last boundary (every boundary
                // item sets it); a row inside the transaction only counts.
                self.batch.end.skip_rows = rows;
                if let Some(target) = self.decide(&table, kind)? {
                    let found = self
                        .targets
                        .get(
                            &mut self.ctl,
                            &self.spec.downstream,
                            &target,
                            self.json_convert,
                        )
                        .await?;
                    let info = match found {
                        Some(info) => info,
                        None if self.catching_up() => {
                            // The table was dropped or renamed upstream before the full phase
                            // read it: the copy holds what became of it, and the binlog's DROP
                            // or RENAME follows.
                            if self.skipped_missing.insert((*table).clone()) {
                                warn!(table = %table, target = %target, at = %self.batch.end,
                                    "catching up after the full phase: the target table does not exist (the upstream table was dropped or renamed before it was copied); its changes are skipped");
                            }
                            self.check_recovery_end().await?;
                            return Ok(());
                        }
                        None => {
                            return Err(TaskError::Blocked(format!(
                                "replicating {table} at {}: the target table {target} does \
                                 not exist in the downstream (create it, or exclude the table with \
                                 block-allow-list / filters, then resume-task)",
                                self.batch.end
                            )))
                        }
                    };
                    let (info, map) = self
                        .schemas
                        .map_row(
                            self.spec,
                            &table,
                            info,
                            (columns, names.as_deref()),
                            &self.batch.end,
                        )
                        .await?;
                    let change = map.apply(change);
                    let keys = info.keys_of(&change);
                    self.batch.ops.push(RowOp {
                        target: info,
                        change,
                    });
                    self.batch.keys.push(keys);
                }
                self.check_recovery_end().await?;
                if self.recovery.is_none() && self.batch.ops.len() >= self.max_rows() {
                    // A huge transaction: cut here (memory stays bounded).
                    self.dispatch().await?;
                }
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
                if self.recovery.is_some() {
                    return Err(TaskError::Blocked(format!(
                        "re-reading the last batch: met a statement at {before} before the batch                          end; the binlog differs from when the batch was written"
                    )));
                }
                self.at_boundary = true;
                self.batch.end = before.clone();
                self.dispatch().await?;
                self.drain().await?;
                self.status.set_pending(Some(timestamp));
                self.status.set_blocking_ddl(Some(sql.clone()));
                let tolerant = self.tolerant_ddl || self.safe();
                let stmt = ddl_apply::Statement {
                    schema: &schema,
                    sql: &sql,
                    sql_mode,
                    at: &before,
                };
                let decided = self.spec.operators.has(&self.spec.source_id, &before.pos);
                self.schemas
                    .apply_ddl(self.spec, &stmt, &point, decided)
                    .await?;
                ddl_apply::apply(
                    self.spec,
                    &mut self.ctl,
                    &mut self.dialects,
                    &stmt,
                    tolerant,
                )
                .await?;
                self.tolerant_ddl = false;
                self.status.set_blocking_ddl(None);
                self.targets.clear();
                self.schemas.clear();
                self.decisions.clear();
                self.batch = Batch::new(before);
                self.batch.end = point;
                self.write_empty().await?;
                self.schemas.prune(&self.written.pos)?;
            }
        }
        Ok(())
    }

    /// The target of `table`'s `kind` changes, or `None` when they are filtered out.
    fn decide(&mut self, table: &TableName, kind: RowsKind) -> Result<Decided, TaskError> {
        let slot = match kind {
            RowsKind::Insert => 0,
            RowsKind::Update => 1,
            RowsKind::Delete => 2,
        };
        if let Some(Some(d)) = self.decisions.get(table).map(|k| &k[slot]) {
            return Ok(d.clone());
        }
        let d = if !self.spec.balist.allows_table(&table.schema, &table.table) {
            None
        } else {
            let ev = match kind {
                RowsKind::Insert => EventType::Insert,
                RowsKind::Update => EventType::Update,
                RowsKind::Delete => EventType::Delete,
            };
            match self
                .spec
                .filter
                .decide(&table.schema, &table.table, ev, None)
            {
                Decision::Ignore => None,
                Decision::Error(rule) => {
                    return Err(TaskError::Blocked(format!(
                        "binlog event filter rule `{rule}` (action: Error) refuses the {} rows of \
                         {table} at {}",
                        ev.as_str(),
                        self.batch.end
                    )))
                }
                Decision::Do => Some(
                    self.spec
                        .router
                        .route(table)
                        .map_err(|e| TaskError::Config(format!("routing {table}: {e}")))?,
                ),
            }
        };
        self.decisions.entry(table.clone()).or_default()[slot] = Some(d.clone());
        Ok(d)
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
