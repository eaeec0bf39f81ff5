//! The Sync unit (incremental replication) of one subtask:
//!
//! ```text
//! upstream ─binlog─▶ reader ─items─▶ filter ─items─▶ router ─items─▶ coordinator ─shares─▶ writers ×N
//!                  (source +        (balist,         (routes)         batch, fold,          one downstream
//!                   Cursor)          event filters)                   split; DDL            txn per share
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

mod applier;
mod assign;
mod binlog_input;
mod column_map;
mod coordinator;
mod cursor;
mod ddl_apply;
mod fold;
pub mod history;
mod needed;
mod operators;
mod point;
mod progress;
pub mod rename;
mod row_filter;
mod row_route;
mod schema_ops;
mod schema_track;
mod status;
mod target;
mod weigh;
mod writer;

use std::sync::Arc;
use std::time::Duration;

use ferry_model::{BinlogPosition, GtidSet, Location};
use ferry_relay::CheckpointStore;
use mysql_async::prelude::Queryable;
use tracing::info;

pub use cursor::{Cursor, CursorError, Item};
pub use needed::NeededPositions;
pub use operators::{BinlogOp, BinlogOperators, PendingOp};
pub use point::SyncPoint;
pub use progress::progress_table;
pub use schema_ops::{delete_table_schema, set_table_schema, table_schema};
pub use status::SyncStatus;
pub use writer::RowOp;

use crate::db::{read_position, Endpoint, Flavor, ServerInfo};
use crate::error::TaskError;
use crate::relay_service::RelayService;
use crate::rules::{BlockAllowList, EventFilter, Router};
use applier::{Applier, MySqlApplier};
pub(crate) use binlog_input::{poll_master, read_binlog};
use coordinator::ledger::Origin;
pub(crate) use coordinator::{run_writer, Coordinator, Job};
use progress::Resume;
pub(crate) use row_filter::{run_filter, RowFilter};
pub(crate) use row_route::{run_router, RowRouter};

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

/// Where the incremental phase of an `all` task starts, and until where it replays in safe
/// mode.
#[derive(Debug, Clone)]
pub struct Handoff {
    /// Position taken before the full phase's first snapshot.
    pub start: Location,
    /// Position read after the full phase; safe mode until the syncer passes it.
    pub safe_until: Option<Location>,
}

/// A message between the Sync unit's stages (reader → filter → router → coordinator): the
/// items of one or more binlog events, or the error that ended a stage before.
pub(crate) type ItemBatch = Result<Items, TaskError>;

/// Items in a message, weighed once as the reader gathered them (the stages after it change
/// rows in place or drop their images, so the weight stays an upper bound).
#[derive(Debug, Default)]
pub(crate) struct Items {
    /// The items, in binlog order.
    pub items: Vec<Item>,
    /// Their estimated bytes ([`crate::mailbox::Weigh`]).
    pub bytes: usize,
    /// Time the router stage took on them (part of their transform cost).
    pub routed: std::time::Duration,
}

impl Items {
    /// No items yet, room for `n`.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            items: Vec::with_capacity(n),
            bytes: 0,
            routed: std::time::Duration::ZERO,
        }
    }

    /// The items gathered so far; `self` starts again with room for `n`.
    pub fn take(&mut self, n: usize) -> Self {
        std::mem::replace(self, Self::with_capacity(n))
    }

    /// Appends `item`, weighing it.
    pub fn push(&mut self, item: Item) {
        self.bytes += crate::mailbox::Weigh::weight(&item);
        self.items.push(item);
    }
}

impl crate::mailbox::Weigh for Items {
    fn weight(&self) -> usize {
        self.bytes + std::mem::size_of::<Self>()
    }
}

/// What the Sync unit starts from, read by [`prepare`]: the downstream control connection,
/// where to resume, and the schema history there. [`crate::pipeline::run_sync`] wires the
/// stages around it.
pub(crate) struct Prepared<'a> {
    /// The downstream through the control connection.
    ctl: MySqlApplier,
    /// The downstream takes JSON values (not MariaDB).
    json_convert: bool,
    /// Where replication resumes, the first batch number and the batch to complete first.
    origin: Origin,
    /// Safe mode (and the catch-up rules) until past this position.
    safe_until: Option<Location>,
    /// The schema history as of `origin.start`.
    history: history::SchemaHistory<'a>,
    /// Where replication takes over each table from the copy.
    copies: crate::bulk::CopyPositions,
}

impl<'a> Prepared<'a> {
    /// Where replication resumes.
    pub(crate) fn start(&self) -> &SyncPoint {
        &self.origin.start
    }

    /// The coordinator stage over this start, sending shares to `workers`.
    pub(crate) fn coordinator(
        self,
        spec: &'a SyncSpec,
        status: Arc<SyncStatus>,
        workers: Vec<crate::mailbox::Outbox<Job>>,
        metrics: Arc<crate::metrics::syncer::SyncerMetrics>,
    ) -> Coordinator<'a> {
        Coordinator::new(coordinator::Start {
            spec,
            status,
            metrics,
            ctl: self.ctl,
            json_convert: self.json_convert,
            workers,
            origin: self.origin,
            safe_until: self.safe_until,
            history: self.history,
            copies: self.copies,
        })
    }
}

/// Prepares the Sync unit: the meta schema and progress table, where to resume (the progress
/// rows, else the full phase's start, `meta` or the upstream's position), the schema history
/// there, and the full phase's copy rounds.
pub(crate) async fn prepare<'a>(
    spec: &'a SyncSpec,
    handoff: Option<Handoff>,
    status: &SyncStatus,
    store: &'a dyn CheckpointStore,
) -> Result<Prepared<'a>, TaskError> {
    status.set_reads_relay(spec.relay.is_some());
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
    let mut ctl = MySqlApplier::new(ctl, spec);
    let resume = read_resume(&mut ctl).await?;
    if let Resume::Partial { mark, done } = &resume {
        info!(batch = mark.batch, start = %mark.start, end = %mark.end, done = ?done,
            "re-reading the last batch to apply its missing shares");
    }
    let origin = match Origin::resumed(resume) {
        Some(origin) => origin,
        None => Origin::fresh(initial_point(spec, handoff.as_ref()).await?),
    };
    let start = origin.start.clone();
    let history = history::SchemaHistory::load(store, &spec.task, &spec.source_id, &start.pos)?;
    // Tables the full phase copied again from a later position (DDL changed them under
    // its copy): their changes before it are in the copy.
    let full = store.full_phase(&spec.task, &spec.source_id)?;
    // An `incremental` task has a recorded end only when `start-task --start-time` moved it
    // before its checkpoint: safe mode until past that checkpoint (as DM).
    let safe_until = handoff
        .and_then(|h| h.safe_until)
        .or_else(|| full.end.clone());
    let copies = match &full.start {
        Some(s) => crate::bulk::copy_positions(s, &full.rounds),
        None => Default::default(),
    };
    if let Some(until) = &copies.until {
        info!(until = %until, "the full phase ran several rounds: until its last one, changes already in a table's copy are skipped");
    }
    info!(start = %start, safe_until = ?safe_until.as_ref().map(|l| l.to_string()), "sync starting");
    spec.needed.set(&spec.task, &spec.source_id, &start.pos);
    status.set_syncer(&start);
    Ok(Prepared {
        ctl,
        json_convert,
        origin,
        safe_until,
        history,
        copies,
    })
}

/// A writer's downstream connection (its own session, [`WRITER_INIT`]).
pub(crate) async fn connect_writer(spec: &SyncSpec) -> Result<MySqlApplier, TaskError> {
    let conn = spec.downstream.connect(init(WRITER_INIT)).await?;
    Ok(MySqlApplier::new(conn, spec))
}

/// How the Sync unit resumes, from its progress rows in the downstream (the progress table
/// must exist).
async fn read_resume(applier: &mut impl Applier) -> Result<Resume, TaskError> {
    Ok(progress::resume(&applier.stored().await?))
}

/// Where the Sync unit of `spec` resumes (`None`: it has not replicated anything yet).
pub async fn resume_point(spec: &SyncSpec) -> Result<Option<SyncPoint>, TaskError> {
    Ok(match stored_resume(spec).await? {
        Resume::Fresh => None,
        Resume::After { mark } => Some(mark.end),
        Resume::Partial { mark, .. } => Some(mark.start),
    })
}

/// The end of what the Sync unit of `spec` has applied (`None`: nothing yet): the end of its
/// last batch, committed whole or in part (`start-task --start-time` replays in safe mode
/// until there).
pub async fn applied_until(spec: &SyncSpec) -> Result<Option<SyncPoint>, TaskError> {
    Ok(match stored_resume(spec).await? {
        Resume::Fresh => None,
        Resume::After { mark } | Resume::Partial { mark, .. } => Some(mark.end),
    })
}

/// The progress rows of `spec`'s subtask, read ([`Resume::Fresh`] without a progress table).
async fn stored_resume(spec: &SyncSpec) -> Result<Resume, TaskError> {
    let mut ctl = spec.downstream.connect(init(WRITER_INIT)).await?;
    let table = progress_table(&spec.meta_schema, &spec.task);
    let exists: Option<String> = ctl
        .exec_first(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (&table.schema, &table.table),
        )
        .await
        .map_err(spec.downstream.sql_err(format!("looking for {table}")))?;
    if exists.is_none() {
        return Ok(Resume::Fresh);
    }
    read_resume(&mut MySqlApplier::new(ctl, spec)).await
}

fn init(stmts: &[&str]) -> Vec<String> {
    stmts.iter().map(|s| s.to_string()).collect()
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
                name: Default::default(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_session_sets_the_writer_sql_mode() {
        let set = format!("SET SESSION sql_mode = '{WRITER_SQL_MODE}'");
        assert!(WRITER_INIT.contains(&set.as_str()));
    }
}
