//! The bulk-load group: the full phase of one (task, source).
//!
//! ```text
//! Planner ──chunks──▶ Dumper × threads ──blocks──▶ Loader (≤ pool-size connections) ──▶ downstream
//! ```
//! The start position is read before any snapshot is opened; each chunk streams from its
//! dumper's snapshot straight into a `LOAD DATA LOCAL` (or multi-row `INSERT`) on the
//! downstream, through a channel of at most [`BLOCKS_IN_FLIGHT`] blocks of [`BLOCK_BYTES`]:
//! no staging files, and memory bounded by `threads × BLOCKS_IN_FLIGHT × BLOCK_BYTES`.
//! A chunk commits in one downstream transaction together with its row in the ledger table
//! (`{meta-schema}.{task}_load_chunks`), so after any crash a chunk is either fully there and
//! recorded, or absent: resuming never re-copies a committed chunk nor duplicates rows.

mod chunking;
mod copy;
pub mod encode;
pub mod plan;
pub mod progress;
pub mod queue;
mod snapshot;
pub mod sql;
mod tables;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use ferry_model::{ChunkId, Location, TableName};
use ferry_relay::{CheckpointStore, ChunkDone};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tracing::{info, info_span, warn, Instrument};

use crate::db::{Endpoint, Flavor, ServerInfo};
use crate::error::TaskError;
use crate::rules::{BlockAllowList, Router};
use crate::schema::TargetCaps;
use chunking::plan_table;
use copy::{dumper, CopyCtx};
use encode::LoadFormat;
pub use progress::BulkProgress;
use snapshot::{lock_and_open_snapshots, open_snapshot};
pub use sql::OnDuplicate;
use tables::{
    drop_gone_targets, is_no_such_table, prepare_target, seed_history, select_tables, shapes,
    Selected, START_ATTEMPTS,
};

/// Size of one block of encoded rows sent from a dumper to its loader.
pub const BLOCK_BYTES: usize = 256 * 1024;
/// Blocks buffered between one dumper and its loader.
pub const BLOCKS_IN_FLIGHT: usize = 4;
/// Largest multi-row `INSERT` (bytes) on the INSERT path.
pub const INSERT_STATEMENT_BYTES: usize = 1024 * 1024;

pub use ferry_config::Consistency;

/// Everything the full phase of one (task, source) needs.
pub struct BulkSpec {
    /// Task name.
    pub task: String,
    /// Source id.
    pub source_id: String,
    /// Upstream connection.
    pub upstream: Endpoint,
    /// Downstream connection.
    pub downstream: Endpoint,
    /// Table selection.
    pub balist: BlockAllowList,
    /// Renames.
    pub router: Router,
    /// Dumper workers (`threads`).
    pub threads: usize,
    /// Downstream connections (`pool-size`).
    pub pool_size: usize,
    /// `rows` (rows per chunk), when set.
    pub rows: Option<u64>,
    /// `chunk-filesize` in MiB.
    pub chunk_filesize_mib: u64,
    /// `--consistency`.
    pub consistency: Consistency,
    /// `where` filter applied to every table.
    pub user_where: Option<String>,
    /// Downstream meta schema (`meta-schema`).
    pub meta_schema: String,
    /// `on-duplicate-logical`.
    pub on_duplicate: OnDuplicate,
    /// Where tasks need the binlog (the hand-off position is recorded there).
    pub needed: Arc<crate::sync::NeededPositions>,
}

/// Upstream sessions of the full phase: UTC, long timeouts, and the default `sql_mode`, so
/// that `SHOW CREATE TABLE` quotes names with backquotes whatever the upstream's global
/// `sql_mode` (`ANSI_QUOTES` would print `"id"`, which the downstream reads as a string).
pub(super) const UPSTREAM_INIT: &[&str] = &[
    "SET SESSION time_zone = '+00:00'",
    "SET SESSION sql_mode = ''",
    "SET SESSION net_write_timeout = 3600",
    "SET SESSION net_read_timeout = 3600",
    "SET SESSION wait_timeout = 28800",
];

pub(super) const DOWNSTREAM_INIT: &[&str] = &[
    "SET SESSION time_zone = '+00:00'",
    "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION'",
    "SET SESSION foreign_key_checks = 0",
    "SET SESSION net_read_timeout = 3600",
    "SET SESSION wait_timeout = 28800",
];

pub(super) fn init(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Runs (or resumes) the full phase; returns its start position (the hand-off point).
pub async fn run(
    spec: &BulkSpec,
    store: &dyn CheckpointStore,
    progress: &BulkProgress,
) -> Result<Location, TaskError> {
    let up = &spec.upstream;
    let down = &spec.downstream;
    let mut ctl = up.connect(init(UPSTREAM_INIT)).await?;
    let up_info = ServerInfo::detect(&mut ctl, up).await?;
    if up_info.flavor == Flavor::Mysql && up_info.version >= (8, 0, 0) {
        ctl.query_drop("SET SESSION information_schema_stats_expiry = 0")
            .await
            .map_err(up.sql_err("setting information_schema_stats_expiry"))?;
    }
    let mut dctl = down.connect(init(DOWNSTREAM_INIT)).await?;
    let down_info = ServerInfo::detect(&mut dctl, down).await?;
    let caps = TargetCaps::detect(&mut dctl, down, down_info.flavor).await?;
    info!(upstream = %up_info.version_text, downstream = %down_info.version_text, "full phase starting");

    let state = store.full_phase(&spec.task, &spec.source_id)?;
    // The start position comes before the table list and the definitions (a table created
    // after it is copied and its CREATE replayed harmlessly; one created before it is listed).
    // A fresh start reads the list and definitions on both sides of the start position and
    // retries until nothing changed in between, so that they are those at the start position.
    let mut workers = Vec::with_capacity(spec.threads.max(1));
    let (start, tables) = match &state.start {
        Some(start) => {
            info!(position = %start, "resuming the full phase; start position from the checkpoint");
            // Listed before the snapshots open: a table created in between is newer than
            // them (InnoDB refuses to read it), and the binlog from the start holds it.
            let tables = select_tables(spec, &mut ctl).await?;
            for _ in 0..spec.threads.max(1) {
                workers.push(open_snapshot(up).await?);
            }
            (start.clone(), tables)
        }
        None => {
            let mut attempt = 0;
            loop {
                attempt += 1;
                let before = select_tables(spec, &mut ctl).await?;
                workers.clear();
                let start =
                    lock_and_open_snapshots(spec, &mut ctl, &up_info, &before, &mut workers)
                        .await?;
                let after = select_tables(spec, &mut ctl).await?;
                if shapes(&before) == shapes(&after) {
                    seed_history(spec, store, &after, &start)?;
                    store.put_full_start(&spec.task, &spec.source_id, &start)?;
                    info!(position = %start, "full phase start position recorded");
                    break (start, after);
                }
                if attempt >= START_ATTEMPTS {
                    return Err(TaskError::Binlog {
                        message: format!(
                            "the selected tables' definitions kept changing (DDL) while the full \
                             phase took its start position ({attempt} attempts); retrying later"
                        ),
                        transient: true,
                    });
                }
                warn!(attempt, "a DDL changed the selected tables while the start position was taken; reading them again");
                tokio::time::sleep(std::time::Duration::from_millis(100 * u64::from(attempt)))
                    .await;
            }
        }
    };
    prepare_target(spec, &mut dctl, up_info.flavor, &caps, &tables).await?;
    let ledger = sql::ledger_table(&spec.meta_schema, &spec.task);

    // What is already committed: the downstream ledger is authoritative.
    let mut done: HashMap<ChunkId, (u64, u64)> = state
        .done
        .iter()
        .map(|d| (d.id.clone(), (d.rows, d.bytes)))
        .collect();
    let ledger_rows: Vec<(String, String, u32, u64, u64)> = dctl
        .exec(
            format!(
                "SELECT cp_schema, cp_table, chunk, row_count, byte_count FROM {} WHERE source_id = ?",
                ledger.quoted()
            ),
            (&spec.source_id,),
        )
        .await
        .map_err(down.sql_err(format!("reading {ledger}")))?;
    if state.plan.is_none() && !ledger_rows.is_empty() {
        return Err(TaskError::Config(format!(
            "the downstream ledger {ledger} holds {} committed chunk(s) of task `{}` / source `{}` \
             but this daemon has no record of that copy (new data-dir?); start the task with \
             `start-task --remove-meta` (and empty the target tables) to copy again",
            ledger_rows.len(),
            spec.task,
            spec.source_id
        )));
    }
    for (schema, table, ordinal, rows, bytes) in ledger_rows {
        let id = ChunkId {
            table: TableName::new(schema, table),
            ordinal,
        };
        if done.insert(id.clone(), (rows, bytes)).is_none() {
            store.put_chunk_done(&spec.task, &spec.source_id, &ChunkDone { id, rows, bytes })?;
        }
    }
    progress.set_start(start.clone());
    // The relay log (if any) keeps the binlog from here on while the copy runs.
    spec.needed.set(&spec.task, &spec.source_id, &start.binlog);

    let mut plan = state.plan.clone().unwrap_or_default();
    let planned: HashSet<TableName> = plan.iter().map(|c| c.id.table.clone()).collect();
    let mut added = Vec::new();
    let mut vanished = HashSet::new();
    for t in tables.iter().filter(|t| !planned.contains(&t.meta.name)) {
        match plan_table(spec, &mut ctl, &t.meta).await {
            Ok(chunks) => added.extend(chunks),
            Err(e) if is_no_such_table(&e) => {
                info!(table = %t.meta.name, "table dropped or renamed before it was planned; left to the binlog");
                vanished.insert(t.meta.name.clone());
            }
            Err(e) => return Err(e),
        }
    }
    if state.plan.is_none() || !added.is_empty() {
        if state.plan.is_some() {
            info!(
                chunks = added.len(),
                "tables newly selected since the plan was made are added to it"
            );
        }
        plan.extend(added);
        store.put_full_plan(&spec.task, &spec.source_id, &plan)?;
    }
    drop(ctl);

    let format = load_format(&mut dctl, down).await?;
    drop(dctl);

    let by_name: HashMap<TableName, Arc<Selected>> = tables
        .into_iter()
        .filter(|t| !vanished.contains(&t.meta.name))
        .map(|t| (t.meta.name.clone(), Arc::new(t)))
        .collect();
    let mut per_table: HashMap<TableName, (u32, u32)> = HashMap::new();
    let mut pending = Vec::new();
    let mut est_rows = 0;
    let (mut done_rows, mut done_bytes) = (0, 0);
    for c in plan {
        let e = per_table.entry(c.id.table.clone()).or_default();
        e.0 += 1;
        if let Some((r, b)) = done.get(&c.id) {
            e.1 += 1;
            done_rows += r;
            done_bytes += b;
        } else if by_name.contains_key(&c.id.table) {
            est_rows += c.estimated_rows;
            pending.push(c);
        } else {
            // Dropped or renamed upstream since the plan was made (its new name, if selected,
            // is planned as a new table), or no longer selected: the binlog from the start
            // position replays what happened to it.
            warn!(table = %c.id.table, chunk = c.id.ordinal,
                "planned chunk skipped: the table no longer exists upstream or is no longer selected");
            if spec
                .balist
                .allows_table(&c.id.table.schema, &c.id.table.table)
            {
                vanished.insert(c.id.table.clone());
            }
        }
    }
    progress.set_plan(per_table, est_rows, done_rows, done_bytes);
    let pending_count = pending.len();
    info!(
        chunks = pending_count,
        threads = workers.len(),
        pool_size = spec.pool_size,
        ?format,
        "copying"
    );

    let queue = Arc::new(queue::ChunkQueue::new(pending));
    let pool = down.pool(init(DOWNSTREAM_INIT), spec.pool_size.max(1));
    let ctx = Arc::new(CopyCtx {
        task: spec.task.clone(),
        source_id: spec.source_id.clone(),
        downstream: down.clone(),
        upstream: up.clone(),
        flavor: down_info.flavor,
        format,
        on_duplicate: spec.on_duplicate,
        user_where: spec.user_where.clone(),
        ledger,
        tables: by_name,
        cast_double: match up_info.flavor {
            Flavor::Mysql => up_info.version >= (8, 0, 17),
            Flavor::Mariadb => up_info.version >= (10, 4, 5),
            Flavor::Tidb => true,
        },
        gone: Default::default(),
    });
    let jobs = workers.into_iter().enumerate().map(|(i, conn)| {
        let ctx = ctx.clone();
        let queue = queue.clone();
        let pool = pool.clone();
        async move { dumper(i, conn, &ctx, &queue, &pool, store, progress).await }
            .instrument(info_span!("dumper", worker = i))
    });
    let result = futures::future::try_join_all(jobs).await;
    let _ = pool.disconnect().await;
    result?;
    let mut gone = std::mem::take(&mut *ctx.gone.lock().unwrap_or_else(|e| e.into_inner()));
    gone.extend(vanished.iter().cloned());
    if !gone.is_empty() {
        drop_gone_targets(spec, &ctx.tables, &gone).await?;
        // A table renamed during the copy is gone under its old name; its new name must be
        // copied (the binlog only holds the changes after the start position).
        let mut ctl = up.connect(init(UPSTREAM_INIT)).await?;
        let now = select_tables(spec, &mut ctl).await?;
        let planned: HashSet<&TableName> = ctx.tables.keys().collect();
        let new: Vec<String> = now
            .iter()
            .filter(|t| !planned.contains(&t.meta.name))
            .map(|t| t.meta.name.to_string())
            .collect();
        if !new.is_empty() {
            return Err(TaskError::Binlog {
                message: format!(
                    "tables were dropped or renamed upstream during the copy and {} appeared; \
                     the full phase resumes to copy them",
                    new.join(", ")
                ),
                transient: true,
            });
        }
    }
    store.put_full_finished(&spec.task, &spec.source_id)?;
    progress.finish();
    info!(position = %start, "full phase finished");
    Ok(start)
}

/// `LOAD DATA LOCAL` when the downstream allows it, else multi-row INSERT.
async fn load_format(dctl: &mut Conn, down: &Endpoint) -> Result<LoadFormat, TaskError> {
    let v: Option<String> = dctl
        .query_first("SELECT @@GLOBAL.local_infile")
        .await
        .map_err(down.sql_err("SELECT @@GLOBAL.local_infile"))?;
    Ok(match v.as_deref() {
        Some("1") | Some("ON") => LoadFormat::LoadData,
        _ => {
            warn!("downstream has local_infile=OFF: loading with multi-row INSERT (slower); SET GLOBAL local_infile=ON to use LOAD DATA");
            LoadFormat::Insert
        }
    })
}
