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
pub(crate) mod group;
mod identity;
pub mod plan;
pub mod progress;
pub mod queue;
mod rounds;
mod snapshot;
pub mod sql;
mod tables;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use ferry_model::{Chunk, ChunkId, Location, TableName};
use ferry_relay::{CheckpointStore, ChunkDone};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tracing::{debug, info, warn};

use crate::db::{Endpoint, Flavor, ServerInfo};
use crate::error::TaskError;
use crate::rules::{BlockAllowList, Router};
use crate::schema::TargetCaps;
use chunking::plan_table;
pub(crate) use copy::CopyCtx;
use encode::LoadFormat;
pub use progress::BulkProgress;
use rounds::{copied, open_round, records, reset_tables, to_recopy, Listed, Opening, MAX_ROUNDS};
pub use rounds::{copy_positions, CopyPositions};
pub use sql::OnDuplicate;
use tables::{
    drop_gone_targets, existing_targets, is_no_such_table, prepare_target, seed_history, shape_of,
    Selected,
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
    /// `chunk-filesize` in MiB (0: no size limit, chunks by `rows` only).
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
    shared_store: &Arc<dyn CheckpointStore>,
    progress: &Arc<BulkProgress>,
) -> Result<Location, TaskError> {
    let store = shared_store.as_ref();
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
    let mut rounds = state.rounds.clone();
    // A round recorded but not reset before a crash: its tables are copied again.
    let mut forced: HashSet<TableName> = HashSet::new();
    if rounds.last().is_some_and(|r| !r.reset_done) {
        let r = rounds.pop().expect("checked");
        forced.extend(r.tables.into_iter().map(|t| t.table));
    }
    // The position comes before the table list and the definitions are used: they are read
    // on both sides of it until they agree, so they are those at the position.
    let mut opening = open_round(spec, &mut ctl, &up_info).await?;
    // Targets that exist before this run creates any: the user's own, or earlier runs'.
    let listed_first: Vec<&Selected> = opening.tables.iter().collect();
    let existing_first = existing_targets(spec, &mut dctl, &listed_first).await?;
    let created_here: HashSet<TableName> = listed_first
        .iter()
        .map(|t| t.target.clone())
        .filter(|t| !existing_first.contains(t))
        .collect();
    let start = match &state.start {
        Some(start) => {
            info!(position = %start, at = %opening.at, "resuming the full phase; start position from the checkpoint");
            start.clone()
        }
        None => {
            rounds = vec![ferry_relay::CopyRound {
                start: opening.at.clone(),
                tables: listed_first
                    .iter()
                    .map(|t| copied(t, existing_first.contains(&t.target)))
                    .collect(),
                reset_done: true,
            }];
            seed_history(spec, store, &listed_first, &opening.at)?;
            store.put_copy_rounds(&spec.task, &spec.source_id, &rounds)?;
            store.put_full_start(&spec.task, &spec.source_id, &opening.at)?;
            info!(position = %opening.at, "full phase start position recorded");
            opening.at.clone()
        }
    };
    let resumed = state.start.is_some();
    let from_caps = (up_info.flavor, &caps);
    prepare_target(spec, &mut dctl, up_info.flavor, &caps, &listed_first).await?;
    drop(listed_first);
    let ledger = sql::ledger_table(&spec.meta_schema, &spec.task);
    let mut done = committed_chunks(spec, store, &mut dctl, &ledger, &state).await?;
    progress.set_start(start.clone());
    // The relay log (if any) keeps the binlog from here on while the copy runs.
    spec.needed.set(&spec.task, &spec.source_id, &start.binlog);
    let mut plan = state.plan.clone().unwrap_or_default();
    let format = load_format(&mut dctl, down).await?;
    let mut dropped: HashSet<TableName> = HashSet::new();
    let mut round_no = 0u32;
    let mut plan_dirty = false;
    loop {
        if resumed || round_no > 0 {
            let recopy = {
                let planned: HashSet<&TableName> = plan.iter().map(|c| &c.id.table).collect();
                let pending: HashSet<&TableName> = plan
                    .iter()
                    .filter(|c| !done.contains_key(&c.id))
                    .map(|c| &c.id.table)
                    .collect();
                let listed: Vec<Listed> = opening
                    .tables
                    .iter()
                    .map(|t| Listed {
                        name: &t.meta.name,
                        id: t.id,
                        shape: shape_of(t),
                        planned: planned.contains(&t.meta.name),
                        pending: pending.contains(&t.meta.name) || !planned.contains(&t.meta.name),
                    })
                    .collect();
                to_recopy(&rounds, &listed, &forced)
            };
            forced.clear();
            if !recopy.is_empty() {
                let sel: Vec<&Selected> = opening
                    .tables
                    .iter()
                    .filter(|t| recopy.contains(&t.meta.name))
                    .collect();
                let existing = existing_targets(spec, &mut dctl, &sel).await?;
                let recs = records(&rounds);
                let tables = sel
                    .iter()
                    .map(|t| {
                        let pre = recs.get(&t.meta.name).map_or(
                            existing.contains(&t.target) && !created_here.contains(&t.target),
                            |r| r.precreated,
                        );
                        copied(t, pre)
                    })
                    .collect();
                rounds.push(ferry_relay::CopyRound {
                    start: opening.at.clone(),
                    tables,
                    reset_done: false,
                });
                seed_history(spec, store, &sel, &opening.at)?;
                store.put_copy_rounds(&spec.task, &spec.source_id, &rounds)?;
                let copied_before: HashSet<TableName> =
                    done.keys().map(|id| id.table.clone()).collect();
                let round = rounds.last().expect("pushed");
                reset_tables(
                    spec,
                    store,
                    &mut dctl,
                    &ledger,
                    round,
                    &opening.tables,
                    &copied_before,
                    from_caps,
                )
                .await?;
                done.retain(|id, _| !recopy.contains(&id.table));
                plan.retain(|c| !recopy.contains(&c.id.table));
                plan_dirty = true;
                info!(tables = recopy.len(), at = %opening.at, "tables changed by DDL or new since the last round are copied from this position");
            }
            // Planned tables gone since (dropped, or renamed: a new name is copied above).
            let listed: HashSet<&TableName> = opening.tables.iter().map(|t| &t.meta.name).collect();
            let gone: Vec<TableName> = plan
                .iter()
                .map(|c| &c.id.table)
                .chain(
                    rounds
                        .iter()
                        .flat_map(|r| r.tables.iter().map(|t| &t.table)),
                )
                .filter(|t| !listed.contains(t) && !dropped.contains(*t))
                // No longer selected: its target is left alone.
                .filter(|t| spec.balist.allows_table(&t.schema, &t.table))
                .cloned()
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            if !gone.is_empty() {
                let live: HashMap<TableName, &Selected> = opening
                    .tables
                    .iter()
                    .map(|t| (t.meta.name.clone(), t))
                    .collect();
                drop_gone_targets(spec, &live, &gone).await?;
                dropped.extend(gone);
            }
        }

        let (vanished, plan_changed) = plan_new_tables(spec, &mut ctl, &opening, &mut plan).await?;
        if plan_changed || plan_dirty || state.plan.is_none() {
            store.put_full_plan(&spec.task, &spec.source_id, &plan)?;
            plan_dirty = false;
        }
        if let Some(r) = rounds.last_mut().filter(|r| !r.reset_done) {
            r.reset_done = true;
            store.put_copy_rounds(&spec.task, &spec.source_id, &rounds)?;
        }

        let copied = copy_round(
            spec,
            shared_store,
            progress,
            &mut opening,
            &plan,
            &done,
            &vanished,
            (&ledger, format, &up_info, down_info.flavor),
        )
        .await?;
        for (id, rows_bytes) in copied.committed {
            done.insert(id, rows_bytes);
        }
        // Did the copy read what it meant to? Names that another table was renamed onto
        // (or whose table was rebuilt) since the snapshots were opened.
        let read: Vec<&TableName> = copied.read.iter().collect();
        let now = identity::table_ids(&mut ctl, &read)
            .await
            .unwrap_or_default();
        let moved: Vec<&TableName> = opening
            .tables
            .iter()
            .filter(|t| copied.read.contains(&t.meta.name))
            .filter(|t| matches!((t.id, now.get(&t.meta.name)), (Some(a), Some(b)) if a != *b))
            .map(|t| &t.meta.name)
            .collect();
        if copied.gone.is_empty()
            && vanished.is_empty()
            && copied.changed.is_empty()
            && moved.is_empty()
        {
            break;
        }
        round_no += 1;
        if round_no > MAX_ROUNDS {
            let detail = copied
                .changed
                .first()
                .map(|(t, e)| format!(" (last: {t}: {e})"))
                .unwrap_or_default();
            return Err(TaskError::Binlog {
                message: format!(
                    "DDL kept changing the tables under the full phase's copy for {MAX_ROUNDS}                      rounds{detail}; retrying later"
                ),
                transient: true,
            });
        }
        warn!(
            round = round_no,
            gone = copied.gone.len() + vanished.len(),
            changed = copied.changed.len(),
            swapped = moved.len(),
            "DDL changed tables under the copy: opening another round"
        );
        drop(std::mem::take(&mut opening.workers));
        opening = open_round(spec, &mut ctl, &up_info).await?;
    }
    drop(ctl);
    store.put_full_finished(&spec.task, &spec.source_id)?;
    progress.finish();
    info!(position = %start, rounds = round_no + 1, "full phase finished");
    Ok(start)
}

/// What is already committed: the local records and the downstream ledger, which is
/// authoritative (a chunk it holds that the local store lacks is recorded locally).
async fn committed_chunks(
    spec: &BulkSpec,
    store: &dyn CheckpointStore,
    dctl: &mut Conn,
    ledger: &TableName,
    state: &ferry_relay::FullPhaseState,
) -> Result<HashMap<ChunkId, (u64, u64)>, TaskError> {
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
        .map_err(spec.downstream.sql_err(format!("reading {ledger}")))?;
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
    Ok(done)
}

/// Plans the listed tables that have no chunks in `plan` yet; returns the tables found gone
/// while planning and whether the plan changed.
async fn plan_new_tables(
    spec: &BulkSpec,
    ctl: &mut Conn,
    opening: &Opening,
    plan: &mut Vec<Chunk>,
) -> Result<(HashSet<TableName>, bool), TaskError> {
    let planned: HashSet<TableName> = plan.iter().map(|c| c.id.table.clone()).collect();
    let mut added = Vec::new();
    let mut vanished = HashSet::new();
    for t in opening
        .tables
        .iter()
        .filter(|t| !planned.contains(&t.meta.name))
    {
        match plan_table(spec, ctl, &t.meta).await {
            Ok(chunks) => added.extend(chunks),
            Err(e) if is_no_such_table(&e) => {
                info!(table = %t.meta.name, "table dropped or renamed before it was planned");
                vanished.insert(t.meta.name.clone());
            }
            Err(e) => return Err(e),
        }
    }
    let changed = !added.is_empty();
    if changed && !planned.is_empty() {
        info!(
            chunks = added.len(),
            "tables newly selected are added to the plan"
        );
    }
    plan.extend(added);
    Ok((vanished, changed))
}

/// What one round's copy did.
struct RoundCopy {
    /// Chunks committed.
    committed: Vec<(ChunkId, (u64, u64))>,
    /// Tables whose chunks were read.
    read: HashSet<TableName>,
    /// Tables found gone while copied.
    gone: Vec<TableName>,
    /// Tables whose definition changed under the read, with the error.
    changed: Vec<(TableName, String)>,
}

/// Copies the chunks of `plan` not yet `done` whose tables are listed at the round's
/// position, with the round's snapshots (taken from `opening`).
#[allow(clippy::too_many_arguments)]
async fn copy_round(
    spec: &BulkSpec,
    store: &Arc<dyn CheckpointStore>,
    progress: &Arc<BulkProgress>,
    opening: &mut Opening,
    plan: &[Chunk],
    done: &HashMap<ChunkId, (u64, u64)>,
    vanished: &HashSet<TableName>,
    (ledger, format, up_info, down_flavor): (&TableName, LoadFormat, &ServerInfo, Flavor),
) -> Result<RoundCopy, TaskError> {
    let by_name: HashMap<TableName, Arc<Selected>> = opening
        .tables
        .iter()
        .filter(|t| !vanished.contains(&t.meta.name))
        .map(|t| (t.meta.name.clone(), Arc::new(t.clone())))
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
            pending.push(c.clone());
        } else {
            // Dropped or renamed upstream since the plan was made (its new name, if selected,
            // is planned as a new table), or no longer selected.
            debug!(table = %c.id.table, chunk = c.id.ordinal,
                "planned chunk skipped: the table no longer exists upstream or is no longer selected");
        }
    }
    progress.set_plan(per_table, est_rows, done_rows, done_bytes);
    let read: HashSet<TableName> = pending.iter().map(|c| c.id.table.clone()).collect();
    info!(
        chunks = pending.len(),
        threads = opening.workers.len(),
        pool_size = spec.pool_size,
        ?format,
        "copying"
    );
    let down = &spec.downstream;
    let pool = down.pool(init(DOWNSTREAM_INIT), spec.pool_size.max(1));
    let ctx = Arc::new(CopyCtx {
        task: spec.task.clone(),
        source_id: spec.source_id.clone(),
        downstream: down.clone(),
        upstream: spec.upstream.clone(),
        flavor: down_flavor,
        format,
        on_duplicate: spec.on_duplicate,
        user_where: spec.user_where.clone(),
        ledger: ledger.clone(),
        tables: by_name,
        cast_double: match up_info.flavor {
            Flavor::Mysql => up_info.version >= (8, 0, 17),
            Flavor::Mariadb => up_info.version >= (10, 4, 5),
            Flavor::Tidb => true,
        },
        gone: Default::default(),
        changed: Default::default(),
        committed: Default::default(),
    });
    let workers = std::mem::take(&mut opening.workers);
    let result = crate::pipeline::run_copy_round(
        ctx.clone(),
        queue::ChunkQueue::new(pending),
        workers,
        (&pool, spec.pool_size.max(1)),
        store,
        progress,
    )
    .await;
    let _ = pool.disconnect().await;
    result?;
    fn take<T>(m: &std::sync::Mutex<Vec<T>>) -> Vec<T> {
        std::mem::take(&mut *m.lock().unwrap_or_else(|e| e.into_inner()))
    }
    Ok(RoundCopy {
        committed: take(&ctx.committed),
        read,
        gone: take(&ctx.gone),
        changed: take(&ctx.changed),
    })
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
