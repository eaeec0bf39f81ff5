//! The Sync unit (incremental replication) of one subtask:
//!
//! ```text
//! upstream ─binlog─▶ reader task (source + Cursor) ─items─▶ coordinator ─shares─▶ writers ×N
//!                         bounded channel                   filter, route,      one downstream
//!                                                           batch, split        txn per share
//! ```
//!
//! * Every channel is bounded: a slow downstream stops the coordinator, which stops the
//!   reader; memory stays flat.
//! * Changes are gathered into numbered batches (many upstream transactions, or part of a
//!   huge one); a batch is split between the writers by causality ([`assign`]) and each
//!   writer commits its share with its progress row ([`progress`]). Batch `k + 1` is
//!   dispatched only when `k` is committed everywhere (it is gathered meanwhile), so after a
//!   crash exactly the missing shares of the last batch are applied again: no row is applied
//!   twice or skipped, with or without keys (DESIGN.md §4.4).
//! * DDL is a barrier: the writers drain, the statement is applied, progress is recorded.

mod assign;
mod cursor;
mod ddl_apply;
mod point;
mod progress;
mod status;
mod target;
mod writer;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_model::{BinlogPosition, GtidSet, Location, TableName};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

pub use cursor::{Cursor, CursorError, Item};
pub use ddl_apply::{BinlogOp, BinlogOperators};
pub use point::SyncPoint;
pub use progress::progress_table;
pub use status::SyncStatus;
pub use writer::RowOp;

use crate::causality::CausalityKey;
use crate::db::{read_position, Endpoint, Flavor, ServerInfo};
use crate::error::TaskError;
use crate::reader::{
    Backoff as ReaderBackoff, BinlogSource, ReaderOptions, ReconnectingSource, RowsKind, StartFrom,
};
use crate::relay_service::RelayService;
use crate::rules::{BlockAllowList, EventFilter, Router};
use crate::rules::{Decision, EventType};
use progress::{BatchMark, Resume};
use target::TargetCache;

/// The writers' `sql_mode` (as set by [`WRITER_INIT`]).
pub const WRITER_SQL_MODE: &str = "NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION";

/// Session of the writers: UTC (the DML layer writes TIMESTAMPs in UTC), no value
/// substitution, no foreign-key checks (rows arrive in upstream order per key, not per table).
pub const WRITER_INIT: &[&str] = &[
    "SET SESSION time_zone = '+00:00'",
    "SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION'",
    "SET SESSION foreign_key_checks = 0",
    "SET SESSION wait_timeout = 28800",
];

/// Everything the Sync unit of one subtask needs.
#[derive(Debug, Clone)]
pub struct SyncSpec {
    /// Task name.
    pub task: String,
    /// Source id.
    pub source_id: String,
    /// Upstream.
    pub upstream: Endpoint,
    /// Downstream.
    pub downstream: Endpoint,
    /// Which tables.
    pub balist: BlockAllowList,
    /// Renames.
    pub router: Router,
    /// Binlog event filters.
    pub filter: EventFilter,
    /// Writers.
    pub worker_count: usize,
    /// Statements (rows) per writer transaction, as DM's `batch`.
    pub batch: usize,
    /// Downstream schema of the progress rows.
    pub meta_schema: String,
    /// Replica server id to use (`None`: one is derived from the task and source names).
    pub server_id: Option<u32>,
    /// Binlog client (source setting `binlog-backend`).
    pub backend: crate::reader::Backend,
    /// Always safe mode.
    pub safe_mode: bool,
    /// Safe mode for this long after each start (an explicit `safe-mode-duration`).
    pub safe_mode_for: Option<Duration>,
    /// Merge consecutive changes into multi-row statements (`multiple-rows`, default on).
    pub multiple_rows: bool,
    /// `meta` of the instance (incremental mode without checkpoint).
    pub meta_position: Option<BinlogPosition>,
    /// `meta.binlog-gtid`.
    pub meta_gtid: Option<GtidSet>,
    /// Operator decisions for blocked statements (`binlog skip|replace`), shared with the
    /// task actor.
    pub operators: Arc<BinlogOperators>,
    /// The source's relay log (`enable-relay`): read from it instead of the upstream.
    pub relay: Option<Arc<RelayService>>,
    /// Where each task still needs the binlog of each source (what relay purges keep).
    pub needed: Arc<NeededPositions>,
}

/// The lowest binlog position each (task, source) still needs: the start of its last batch,
/// or of its full phase. Relay-log purges never delete past the minimum for a source.
///
/// With a store ([`NeededPositions::persistent`]) the positions are also recorded durably
/// (once per binlog file: the first position seen in a file, which is never after the
/// current one), so that a task that is paused, copying, or not yet restored after a daemon
/// restart keeps what it needs.
#[derive(Default)]
pub struct NeededPositions {
    /// Per (task, source): the position needed, and the file last recorded durably.
    inner: std::sync::Mutex<HashMap<(String, String), Needed>>,
    store: Option<Arc<dyn ferry_relay::CheckpointStore>>,
}

#[derive(Debug)]
struct Needed {
    pos: BinlogPosition,
    recorded_file: Option<String>,
}

impl std::fmt::Debug for NeededPositions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NeededPositions")
            .field("inner", &*self.lock())
            .field("persistent", &self.store.is_some())
            .finish()
    }
}

impl NeededPositions {
    /// Positions recorded in `store`, loaded from what it already holds.
    pub fn persistent(
        store: Arc<dyn ferry_relay::CheckpointStore>,
    ) -> Result<Self, ferry_relay::StoreError> {
        let inner = store
            .needed()?
            .into_iter()
            .map(|rec| {
                let needed = Needed {
                    recorded_file: Some(rec.pos.name.clone()),
                    pos: rec.pos,
                };
                ((rec.task, rec.source), needed)
            })
            .collect();
        Ok(Self {
            inner: std::sync::Mutex::new(inner),
            store: Some(store),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Needed>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records what `task` needs of `source` (durably when the file changed).
    pub fn set(&self, task: &str, source: &str, pos: &BinlogPosition) {
        if pos.name.is_empty() {
            return;
        }
        let mut inner = self.lock();
        let entry = inner
            .entry((task.to_string(), source.to_string()))
            .or_insert_with(|| Needed {
                pos: pos.clone(),
                recorded_file: None,
            });
        entry.pos = pos.clone();
        let Some(store) = &self.store else {
            return;
        };
        if entry.recorded_file.as_ref() == Some(&pos.name) {
            return;
        }
        let rec = ferry_relay::NeededRecord {
            task: task.to_string(),
            source: source.to_string(),
            pos: pos.clone(),
        };
        match store.put_needed(&rec) {
            Ok(()) => entry.recorded_file = Some(pos.name.clone()),
            Err(e) => tracing::warn!(task, source, error = %e,
                "cannot record the needed binlog position; relay purges keep it only while this daemon runs"),
        }
    }

    /// Forgets a task (stopped).
    pub fn remove_task(&self, task: &str) {
        self.lock().retain(|(t, _), _| t != task);
        if let Some(store) = &self.store {
            if let Err(e) = store.delete_needed(task) {
                tracing::warn!(task, error = %e, "cannot forget the needed binlog positions");
            }
        }
    }

    /// The lowest position needed of `source`.
    pub fn min_for(&self, source: &str) -> Option<BinlogPosition> {
        self.lock()
            .iter()
            .filter(|((_, s), _)| s == source)
            .map(|(_, n)| n.pos.clone())
            .min()
    }
}

/// Where the incremental phase of an `all` task starts, and until where it replays in safe
/// mode.
#[derive(Debug, Clone)]
pub struct Handoff {
    /// Position taken before the full phase's first snapshot.
    pub start: Location,
    /// Position read after the full phase; safe mode until the syncer passes it.
    pub safe_until: Option<Location>,
}

/// Runs the Sync unit until an error (or until the task is cancelled, which drops it).
pub async fn run(
    spec: &SyncSpec,
    handoff: Option<Handoff>,
    status: Arc<SyncStatus>,
) -> Result<(), TaskError> {
    let down = &spec.downstream;
    let mut ctl = down.connect(init(WRITER_INIT)).await?;
    let down_info = ServerInfo::detect(&mut ctl, down).await?;
    let json_convert = down_info.flavor != Flavor::Mariadb;
    let table = progress_table(&spec.meta_schema, &spec.task);
    ctl.query_drop(crate::schema::create_database_sql(&spec.meta_schema))
        .await
        .map_err(down.sql_err(format!("creating the meta schema `{}`", spec.meta_schema)))?;
    ctl.query_drop(progress::create_sql(&table))
        .await
        .map_err(down.sql_err(format!("creating {table}")))?;
    let rows: Vec<(i64, u64, i64, String, String)> = ctl
        .query(progress::select_sql(&table, &spec.source_id))
        .await
        .map_err(down.sql_err(format!("reading {table}")))?;
    let stored = rows
        .iter()
        .map(|(w, b, n, s, e)| progress::parse_row(*w, *b, *n, s, e))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TaskError::Config(format!("{table} holds an unreadable row: {e}")))?;

    let (start, batch_no, recovery) = match progress::resume(&stored) {
        Resume::After { mark } => (mark.end.clone(), mark.batch + 1, None),
        Resume::Partial { mark, done } => {
            info!(batch = mark.batch, start = %mark.start, end = %mark.end, done = ?done,
                "re-reading the last batch to apply its missing shares");
            (mark.start.clone(), mark.batch, Some((mark, done)))
        }
        Resume::Fresh => (initial_point(spec, handoff.as_ref()).await?, 1, None),
    };
    let safe_until = handoff.and_then(|h| h.safe_until);
    info!(start = %start, safe_until = ?safe_until.as_ref().map(|l| l.to_string()), "sync starting");
    spec.needed.set(&spec.task, &spec.source_id, &start.pos);
    status.set_syncer(&start);

    let (tx, rx) = mpsc::channel::<Result<Vec<Item>, TaskError>>(64);
    let reader = tokio::spawn(read_binlog(spec.clone(), start.clone(), tx));
    let master = tokio::spawn(poll_master(spec.upstream.clone(), status.clone()));
    let _guard = AbortOnDrop(vec![reader, master]);

    let mut workers = Vec::with_capacity(spec.worker_count.max(1));
    let mut handles = Vec::new();
    for w in 0..spec.worker_count.max(1) {
        let conn = down.connect(init(WRITER_INIT)).await?;
        let (jtx, jrx) = mpsc::channel::<Job>(1);
        handles.push(tokio::spawn(run_writer(w, conn, down.clone(), jrx)));
        workers.push(jtx);
    }
    let _writers = AbortOnDrop(handles);

    let mut co = Coordinator {
        spec,
        status,
        ctl,
        json_convert,
        table,
        targets: TargetCache::default(),
        decisions: HashMap::new(),
        workers,
        batch_no,
        batch: Batch::new(start.clone()),
        recovery,
        in_flight: None,
        written: start,
        written_at: Instant::now(),
        safe_until,
        tolerant_ddl: true,
        at_boundary: true,
        started: Instant::now(),
        skipped_missing: HashSet::new(),
    };
    co.run(rx).await
}

fn init(stmts: &[&str]) -> Vec<String> {
    stmts.iter().map(|s| s.to_string()).collect()
}

struct AbortOnDrop(Vec<JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for h in &self.0 {
            h.abort();
        }
    }
}

/// The start without any progress row: the full phase's start, else `meta`, else the
/// upstream's current position.
async fn initial_point(spec: &SyncSpec, handoff: Option<&Handoff>) -> Result<SyncPoint, TaskError> {
    if let Some(h) = handoff {
        return Ok(SyncPoint::at(h.start.clone()));
    }
    if let Some(pos) = &spec.meta_position {
        return Ok(SyncPoint {
            pos: pos.clone(),
            gtid: spec.meta_gtid.clone(),
            skip_rows: 0,
        });
    }
    if let Some(g) = &spec.meta_gtid {
        return Ok(SyncPoint {
            pos: BinlogPosition {
                name: String::new(),
                pos: 4,
            },
            gtid: Some(g.clone()),
            skip_rows: 0,
        });
    }
    let up = &spec.upstream;
    let mut conn = up.connect(Vec::new()).await?;
    let info = ServerInfo::detect(&mut conn, up).await?;
    let loc = read_position(&mut conn, &info, up).await?;
    info!(at = %loc, "no checkpoint and no meta: starting at the upstream's current position");
    Ok(SyncPoint::at(loc))
}

/// Picks the replica server id: the configured one, else one derived from the task and
/// source names (stable across restarts, distinct per subtask, away from small ids).
fn server_id(spec: &SyncSpec) -> u32 {
    if let Some(id) = spec.server_id {
        return id;
    }
    let mut h: u32 = 0x811c_9dc5;
    for b in spec.task.bytes().chain([0]).chain(spec.source_id.bytes()) {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    0x4000_0000 | (h & 0x3fff_ffff)
}

/// The reader task: binlog events (from the relay log or the upstream) → cursor items, into
/// the bounded channel.
async fn read_binlog(
    spec: SyncSpec,
    start: SyncPoint,
    tx: mpsc::Sender<Result<Vec<Item>, TaskError>>,
) {
    let from = match (&start.gtid, start.pos.name.is_empty()) {
        (Some(g), true) => StartFrom::Gtid(g.clone()),
        _ => StartFrom::Position(start.pos.clone()),
    };
    let cursor = Cursor::new(&start);
    if let Some(relay) = &spec.relay {
        match relay.open(from).await {
            Ok(src) => pump(src, cursor, &spec, tx).await,
            Err(e) => {
                let _ = tx
                    .send(Err(TaskError::Binlog {
                        message: format!("opening the relay log at {start}: {e}"),
                        transient: true,
                    }))
                    .await;
            }
        }
        return;
    }
    let opts = ReaderOptions {
        server_id: server_id(&spec),
        ..ReaderOptions::default()
    };
    let src = ReconnectingSource::new(spec.upstream.clone(), from, opts, ReaderBackoff::default())
        .with_backend(spec.backend);
    pump(src, cursor, &spec, tx).await;
}

/// Moves events from `src` through `cursor` into the channel until an error or the end.
async fn pump<S: BinlogSource>(
    mut src: S,
    mut cursor: Cursor,
    spec: &SyncSpec,
    tx: mpsc::Sender<Result<Vec<Item>, TaskError>>,
) {
    loop {
        let ev = match src.next_event().await {
            Ok(Some(ev)) => ev,
            Ok(None) => {
                let _ = tx
                    .send(Err(TaskError::Binlog {
                        message: format!(
                            "upstream {} ended the binlog stream after {}",
                            spec.upstream.addr(),
                            cursor.point()
                        ),
                        transient: true,
                    }))
                    .await;
                return;
            }
            Err(e) => {
                let transient = e.is_transient();
                let _ = tx
                    .send(Err(TaskError::Binlog {
                        message: binlog_error_message(&e),
                        transient,
                    }))
                    .await;
                return;
            }
        };
        let mut items = Vec::new();
        if let Err(e) = cursor.feed(ev, &mut items) {
            let _ = tx
                .send(Err(TaskError::Binlog {
                    message: e.to_string(),
                    transient: false,
                }))
                .await;
            return;
        }
        if !items.is_empty() && tx.send(Ok(items)).await.is_err() {
            return;
        }
    }
}

fn binlog_error_message(e: &crate::reader::ReaderError) -> String {
    let text = e.to_string();
    if text.contains("1236") {
        format!(
            "{text}. The upstream no longer has the binlog file the task needs (purged?): \
             enable the relay log on the source (enable-relay: true) before binlogs expire, \
             or start the task again with --remove-meta and task-mode: all"
        )
    } else {
        text
    }
}

/// Refreshes the upstream's current position for `query-status`.
async fn poll_master(up: Endpoint, status: Arc<SyncStatus>) {
    let mut conn: Option<(Conn, ServerInfo)> = None;
    loop {
        if conn.is_none() {
            if let Ok(mut c) = up.connect(Vec::new()).await {
                if let Ok(info) = ServerInfo::detect(&mut c, &up).await {
                    conn = Some((c, info));
                }
            }
        }
        if let Some((c, info)) = conn.as_mut() {
            match read_position(c, info, &up).await {
                Ok(loc) => status.set_master(loc),
                Err(e) => {
                    debug!(error = %e, "cannot read the upstream position");
                    conn = None;
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// A share of a batch for one writer.
struct Job {
    ops: Vec<RowOp>,
    safe: bool,
    merge: bool,
    progress: String,
    what: String,
    reply: oneshot::Sender<Result<(), TaskError>>,
}

async fn run_writer(worker: usize, mut conn: Conn, ep: Endpoint, mut jobs: mpsc::Receiver<Job>) {
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
struct Batch {
    ops: Vec<RowOp>,
    keys: Vec<Vec<CausalityKey>>,
    start: SyncPoint,
    end: SyncPoint,
    first_ts: Option<u32>,
}

impl Batch {
    fn new(start: SyncPoint) -> Self {
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

struct Coordinator<'a> {
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
}

impl Coordinator<'_> {
    fn max_rows(&self) -> usize {
        (self.workers.len() * self.spec.batch.max(1) * 4).max(1024)
    }

    async fn run(
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
                    if u64::try_from(info.width()).ok() != Some(columns) {
                        return Err(TaskError::Blocked(format!(
                            "replicating {table} at {}: the binlog row has {columns} columns \
                             but the target table {target} has {}; the schemas differ (apply the \
                             missing DDL downstream, then resume-task)",
                            self.batch.end,
                            info.width()
                        )));
                    }
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
                ddl_apply::apply(self.spec, &mut self.ctl, &stmt, tolerant).await?;
                self.tolerant_ddl = false;
                self.status.set_blocking_ddl(None);
                self.targets.clear();
                self.decisions.clear();
                self.batch = Batch::new(before);
                self.batch.end = point;
                self.write_empty().await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_relay::CheckpointStore;

    fn at(file: &str, pos: u64) -> BinlogPosition {
        BinlogPosition::new(file, pos).unwrap()
    }

    #[test]
    fn writer_session_sets_the_writer_sql_mode() {
        let set = format!("SET SESSION sql_mode = '{WRITER_SQL_MODE}'");
        assert!(WRITER_INIT.contains(&set.as_str()));
    }

    #[test]
    fn needed_positions_are_recorded_once_per_file_and_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(ferry_relay::Store::open(dir.path()).unwrap());
        {
            let n = NeededPositions::persistent(store.clone()).unwrap();
            n.set("t", "up", &at("bin.000001", 100));
            n.set("t", "up", &at("bin.000001", 900));
            n.set("t2", "up", &at("bin.000002", 4));
            assert_eq!(n.min_for("up"), Some(at("bin.000001", 900)));
            // The durable record is the first position seen in the file: never after the
            // current one.
            let mut rec = store.needed().unwrap();
            rec.sort_by(|a, b| a.task.cmp(&b.task));
            assert_eq!(rec[0].pos, at("bin.000001", 100));
            n.set("t", "up", &at("bin.000003", 50));
        }
        let n = NeededPositions::persistent(store.clone()).unwrap();
        assert_eq!(n.min_for("up"), Some(at("bin.000002", 4)));
        n.remove_task("t2");
        assert_eq!(n.min_for("up"), Some(at("bin.000003", 50)));
        let again = NeededPositions::persistent(store).unwrap();
        assert_eq!(again.min_for("up"), Some(at("bin.000003", 50)));
        assert_eq!(again.min_for("other"), None);
    }
}
