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

pub mod encode;
pub mod plan;
pub mod progress;
pub mod queue;
pub mod sql;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use ferry_model::{Chunk, ChunkBound, ChunkId, KeyValue, Location, TableName};
use ferry_relay::{CheckpointStore, ChunkDone};
use futures::{StreamExt, TryStreamExt};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Pool, Row, Value};
use std::sync::atomic::Ordering::Relaxed;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, info_span, warn, Instrument};

use crate::db::{read_position, Endpoint, Flavor, ServerInfo};
use crate::error::TaskError;
use crate::rules::{BlockAllowList, Router};
use crate::schema::{self, TableMeta, TargetCaps};
use encode::LoadFormat;
pub use progress::BulkProgress;
pub use sql::OnDuplicate;

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

/// A selected table: its metadata, its definition and its downstream name.
struct Selected {
    meta: TableMeta,
    target: TableName,
    /// `SHOW CREATE TABLE` of the upstream table.
    create_sql: String,
}

/// How many times the full phase re-reads the table list and definitions when a DDL changed
/// them while it took its start position.
const START_ATTEMPTS: u32 = 20;

/// True when `e` says that a table does not exist (dropped or renamed upstream).
fn is_no_such_table(e: &TaskError) -> bool {
    matches!(e, TaskError::Sql { side: crate::error::Side::Upstream, source: mysql_async::Error::Server(s), .. } if s.code == 1146)
}

/// What the full phase compares to tell whether a DDL ran while it took its start position:
/// every selected table's name and definition (without the moving `AUTO_INCREMENT=` counter).
fn shapes(tables: &[Selected]) -> Vec<(&TableName, String)> {
    let counter = regex::Regex::new(r" AUTO_INCREMENT=\d+").expect("static regex");
    tables
        .iter()
        .map(|t| {
            (
                &t.meta.name,
                counter.replace(&t.create_sql, "").into_owned(),
            )
        })
        .collect()
}

/// Upstream sessions of the full phase: UTC, long timeouts, and the default `sql_mode`, so
/// that `SHOW CREATE TABLE` quotes names with backquotes whatever the upstream's global
/// `sql_mode` (`ANSI_QUOTES` would print `"id"`, which the downstream reads as a string).
const UPSTREAM_INIT: &[&str] = &[
    "SET SESSION time_zone = '+00:00'",
    "SET SESSION sql_mode = ''",
    "SET SESSION net_write_timeout = 3600",
    "SET SESSION net_read_timeout = 3600",
    "SET SESSION wait_timeout = 28800",
];

const DOWNSTREAM_INIT: &[&str] = &[
    "SET SESSION time_zone = '+00:00'",
    "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION'",
    "SET SESSION foreign_key_checks = 0",
    "SET SESSION net_read_timeout = 3600",
    "SET SESSION wait_timeout = 28800",
];

fn init(list: &[&str]) -> Vec<String> {
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
            for _ in 0..spec.threads.max(1) {
                workers.push(open_snapshot(up).await?);
            }
            (start.clone(), select_tables(spec, &mut ctl).await?)
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

/// Lists upstream tables, applies the block-allow-list and routes, and reads each table's
/// definition. A table dropped or renamed while it is being read is left out (the binlog from
/// the start position holds its fate).
async fn select_tables(spec: &BulkSpec, ctl: &mut Conn) -> Result<Vec<Selected>, TaskError> {
    let metas =
        schema::selected_tables(ctl, &spec.upstream, |s, t| spec.balist.allows_table(s, t)).await?;
    let mut out = Vec::with_capacity(metas.len());
    for meta in metas {
        let create_sql = match schema::show_create_table(ctl, &spec.upstream, &meta.name).await {
            Ok(sql) => sql,
            Err(e) if is_no_such_table(&e) => {
                info!(table = %meta.name, "table dropped or renamed while the table list was read; left to the binlog");
                continue;
            }
            Err(e) => return Err(e),
        };
        let target = spec
            .router
            .route(&meta.name)
            .map_err(|e| TaskError::Config(e.to_string()))?;
        out.push(Selected {
            meta,
            target,
            create_sql,
        });
    }
    if out.is_empty() {
        return Err(TaskError::Config(format!(
            "no upstream table of source `{}` matches the task's block-allow-list",
            spec.source_id
        )));
    }
    Ok(out)
}

/// Drops the target tables of upstream tables that were dropped or renamed after the start
/// position, before or while they were copied: a partial copy must not stay behind. The
/// binlog replays their fate (a `DROP`, or a `RENAME` whose new name is copied); their rows
/// before it are skipped while catching up, as their target is missing. A target that
/// another selected table also feeds (a merge route) is kept.
async fn drop_gone_targets(
    spec: &BulkSpec,
    live: &HashMap<TableName, Arc<Selected>>,
    gone: &[TableName],
) -> Result<(), TaskError> {
    let down = &spec.downstream;
    let mut dctl = down.connect(init(DOWNSTREAM_INIT)).await?;
    let mut dropped = HashSet::new();
    for t in gone {
        let target = spec
            .router
            .route(t)
            .map_err(|e| TaskError::Config(e.to_string()))?;
        let shared = live
            .iter()
            .any(|(name, sel)| name != t && sel.target == target);
        if shared || !dropped.insert(target.clone()) {
            continue;
        }
        let sql = format!("DROP TABLE IF EXISTS {}", target.quoted());
        dctl.query_drop(&sql).await.map_err(down.sql_err(format!(
            "dropping {target}, whose upstream table {t} is gone"
        )))?;
        warn!(table = %t, target = %target, "upstream table dropped or renamed during the full phase: its partial copy is dropped downstream; the binlog replays what became of it");
    }
    Ok(())
}

/// Creates the meta schema, the ledger, and every target schema and table.
async fn prepare_target(
    spec: &BulkSpec,
    dctl: &mut Conn,
    from: Flavor,
    caps: &TargetCaps,
    tables: &[Selected],
) -> Result<(), TaskError> {
    let down = &spec.downstream;
    let ledger = sql::ledger_table(&spec.meta_schema, &spec.task);
    for stmt in [
        schema::create_database_sql(&spec.meta_schema),
        sql::create_ledger(&ledger),
    ] {
        dctl.query_drop(&stmt)
            .await
            .map_err(down.sql_err(format!("creating {ledger}")))?;
    }
    let mut created_schemas = HashSet::new();
    let mut created_tables = HashSet::new();
    for t in tables {
        if created_schemas.insert(t.target.schema.clone()) {
            dctl.query_drop(schema::create_database_sql(&t.target.schema))
                .await
                .map_err(down.sql_err(format!("creating database `{}`", t.target.schema)))?;
        }
        if !created_tables.insert(t.target.clone()) {
            continue;
        }
        if t.meta.split_key.is_empty() {
            warn!(table = %t.meta.name, "table has no primary key nor NOT NULL unique key: copied as one stream");
        }
        let adapted =
            schema::adapt_create_table(&t.create_sql, &t.target, from, caps).map_err(|e| {
                TaskError::Config(format!(
                    "creating table {} (from upstream {}): {e}",
                    t.target, t.meta.name
                ))
            })?;
        for change in &adapted.changes {
            warn!(table = %t.meta.name, target = %t.target, change = %change, "adapted the table definition for the downstream");
        }
        dctl.query_drop(&adapted.sql)
            .await
            .map_err(down.sql_err(format!(
                "creating table {} (from upstream {}): {}",
                t.target, t.meta.name, adapted.sql
            )))?;
    }
    Ok(())
}

/// Takes the lock the consistency mode asks for, reads the start position, opens one snapshot
/// per worker, and releases the lock.
async fn lock_and_open_snapshots(
    spec: &BulkSpec,
    ctl: &mut Conn,
    info: &ServerInfo,
    tables: &[Selected],
    workers: &mut Vec<Conn>,
) -> Result<Location, TaskError> {
    let up = &spec.upstream;
    let mode = match spec.consistency {
        Consistency::Snapshot if info.flavor != Flavor::Tidb => {
            return Err(TaskError::Config(format!(
                "--consistency snapshot needs a TiDB upstream; {} is {}: use none, flush, lock or auto",
                up.addr(),
                info.version_text
            )))
        }
        Consistency::Snapshot => Consistency::None,
        Consistency::Auto => {
            match ctl.query_drop("FLUSH TABLES WITH READ LOCK").await {
                Ok(()) => Consistency::Flush,
                Err(e) => {
                    warn!(error = %e, "FLUSH TABLES WITH READ LOCK denied; falling back to LOCK TABLES");
                    lock_tables(ctl, up, tables).await?;
                    Consistency::Lock
                }
            }
        }
        Consistency::Flush => {
            ctl.query_drop("FLUSH TABLES WITH READ LOCK").await.map_err(up.sql_err(
                "FLUSH TABLES WITH READ LOCK (--consistency flush needs the RELOAD privilege; \
                 use --consistency none on Aurora/RDS)",
            ))?;
            Consistency::Flush
        }
        Consistency::Lock => {
            lock_tables(ctl, up, tables).await?;
            Consistency::Lock
        }
        Consistency::None => Consistency::None,
    };
    let result = async {
        let start = read_position(ctl, info, up).await?;
        for _ in 0..spec.threads.max(1) {
            workers.push(open_snapshot(up).await?);
        }
        Ok::<_, TaskError>(start)
    }
    .await;
    if mode != Consistency::None {
        ctl.query_drop("UNLOCK TABLES")
            .await
            .map_err(up.sql_err("UNLOCK TABLES"))?;
    }
    result
}

async fn lock_tables(ctl: &mut Conn, up: &Endpoint, tables: &[Selected]) -> Result<(), TaskError> {
    let list: Vec<String> = tables
        .iter()
        .map(|t| format!("{} READ", t.meta.name.quoted()))
        .collect();
    ctl.query_drop(format!("LOCK TABLES {}", list.join(", ")))
        .await
        .map_err(up.sql_err("LOCK TABLES (--consistency lock needs the LOCK TABLES privilege)"))
}

/// A dump connection with a consistent snapshot open.
async fn open_snapshot(up: &Endpoint) -> Result<Conn, TaskError> {
    let mut c = up.connect(init(UPSTREAM_INIT)).await?;
    for stmt in [
        "SET SESSION character_set_results = binary",
        "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
        "START TRANSACTION /*!40108 WITH CONSISTENT SNAPSHOT */",
    ] {
        c.query_drop(stmt).await.map_err(up.sql_err(stmt))?;
    }
    Ok(c)
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

/// Splits a table into chunks.
async fn plan_table(
    spec: &BulkSpec,
    ctl: &mut Conn,
    meta: &TableMeta,
) -> Result<Vec<Chunk>, TaskError> {
    let up = &spec.upstream;
    let rpc = plan::rows_per_chunk(meta, spec.rows, spec.chunk_filesize_mib);
    if meta.split_key.is_empty() {
        return Ok(plan::chunks_from_boundaries(meta, Vec::new()));
    }
    let key: Vec<&schema::Column> = meta.split_key.iter().map(|&i| &meta.columns[i]).collect();
    let order: Vec<String> = key
        .iter()
        .map(|c| ferry_model::table::quote_ident(&c.name))
        .collect();
    let what = format!("planning chunks of {}", meta.name);
    // Statistics can be stale (InnoDB reports 1 row for a table whose saved statistics say 0):
    // when they claim a single chunk, count for real, up to one chunk length.
    let stats_trusted = meta.est_rows > rpc;
    if !stats_trusted {
        let probe: Option<Row> = ctl
            .query_first(format!(
                "SELECT 1 FROM {} ORDER BY {} LIMIT 1 OFFSET {rpc}",
                meta.name.quoted(),
                order.join(", ")
            ))
            .await
            .map_err(up.sql_err(what.clone()))?;
        if probe.is_none() {
            return Ok(plan::chunks_from_boundaries(meta, Vec::new()));
        }
        warn!(table = %meta.name, est_rows = meta.est_rows, "table statistics are stale; walking the key to plan chunks");
    }
    if stats_trusted && key.len() == 1 && key[0].is_integer() {
        let k = &order[0];
        let row: Option<(Option<String>, Option<String>)> = ctl
            .query_first(format!(
                "SELECT MIN({k}), MAX({k}) FROM {}",
                meta.name.quoted()
            ))
            .await
            .map_err(up.sql_err(what))?;
        let Some((Some(min), Some(max))) = row else {
            return Ok(plan::chunks_from_boundaries(meta, Vec::new()));
        };
        let (Ok(min), Ok(max)) = (min.parse::<i128>(), max.parse::<i128>()) else {
            return Ok(plan::chunks_from_boundaries(meta, Vec::new()));
        };
        let bounds = plan::integer_boundaries(min, max, meta.est_rows, rpc)
            .into_iter()
            .map(plan::int_bound)
            .collect();
        return Ok(plan::chunks_from_boundaries(meta, bounds));
    }
    // Any other key, or statistics that cannot be trusted: walk the index, one chunk length
    // at a time (exact boundaries, one pass over the key).
    let cols = sql::key_tuple(&key);
    let mut bounds: Vec<ChunkBound> = Vec::new();
    loop {
        let mut q = format!("SELECT {} FROM {}", order.join(", "), meta.name.quoted());
        if let Some(last) = bounds.last() {
            let vals: Vec<String> = key
                .iter()
                .zip(last)
                .map(|(c, v)| sql::key_literal(c, v))
                .collect();
            let vals = if vals.len() == 1 {
                vals[0].clone()
            } else {
                format!("({})", vals.join(", "))
            };
            q.push_str(&format!(" WHERE {cols} > {vals}"));
        }
        q.push_str(&format!(
            " ORDER BY {} LIMIT 1 OFFSET {}",
            order.join(", "),
            rpc - 1
        ));
        let row: Option<Row> = ctl
            .query_first(&q)
            .await
            .map_err(up.sql_err(what.clone()))?;
        let Some(row) = row else { break };
        let values = row.unwrap_raw();
        let bound: ChunkBound = key
            .iter()
            .zip(values)
            .map(|(c, v)| key_value(c, v))
            .collect();
        bounds.push(bound);
        if bounds.len() > 1_000_000 {
            break;
        }
    }
    let mut chunks = plan::chunks_from_boundaries(meta, bounds);
    if !stats_trusted {
        for c in &mut chunks {
            c.estimated_rows = rpc;
        }
    }
    Ok(chunks)
}

fn key_value(col: &schema::Column, v: Option<Value>) -> KeyValue {
    let bytes = match v {
        Some(Value::Bytes(b)) => b,
        Some(Value::Int(n)) => return KeyValue::Int(n),
        Some(Value::UInt(n)) => return KeyValue::UInt(n),
        Some(other) => other.as_sql(true).into_bytes(),
        None => Vec::new(),
    };
    if col.is_integer() {
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(n) = text.parse::<i64>() {
            return KeyValue::Int(n);
        }
        if let Ok(n) = text.parse::<u64>() {
            return KeyValue::UInt(n);
        }
    }
    KeyValue::Bytes(bytes)
}

/// What every chunk copy shares.
struct CopyCtx {
    task: String,
    source_id: String,
    upstream: Endpoint,
    downstream: Endpoint,
    flavor: Flavor,
    format: LoadFormat,
    on_duplicate: OnDuplicate,
    user_where: Option<String>,
    ledger: TableName,
    tables: HashMap<TableName, Arc<Selected>>,
    /// The upstream has `CAST(... AS DOUBLE)`.
    cast_double: bool,
    /// Tables found gone (dropped or renamed) while their chunks were copied.
    gone: std::sync::Mutex<Vec<TableName>>,
}

/// One dumper worker: takes chunks off the queue until it is empty.
async fn dumper(
    worker: usize,
    mut conn: Conn,
    ctx: &CopyCtx,
    queue: &queue::ChunkQueue,
    pool: &Pool,
    store: &dyn CheckpointStore,
    progress: &BulkProgress,
) -> Result<(), TaskError> {
    while let Some(chunk) = queue.take() {
        let sel = ctx.tables[&chunk.id.table].clone();
        let copied = copy_chunk(&mut conn, ctx, pool, &sel, &chunk, progress)
            .instrument(info_span!("chunk", table = %chunk.id.table, ordinal = chunk.id.ordinal))
            .await;
        queue.release(&chunk.id.table);
        let (rows, bytes) = match copied {
            Err(e) if is_no_such_table(&e) => {
                // Dropped or renamed after the start position: the binlog replays the DROP
                // (or the RENAME, whose new name is copied when the plan is made again).
                warn!(table = %chunk.id.table, chunk = chunk.id.ordinal, error = %e,
                    "table gone upstream during the copy; its remaining chunks are skipped");
                queue.drop_table(&chunk.id.table);
                ctx.gone
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(chunk.id.table.clone());
                continue;
            }
            other => other?,
        };
        store.put_chunk_done(
            &ctx.task,
            &ctx.source_id,
            &ChunkDone {
                id: chunk.id.clone(),
                rows,
                bytes,
            },
        )?;
        progress.chunk_committed(&chunk.id.table, rows, bytes);
        let labels = [
            ("task", ctx.task.clone()),
            ("source_id", ctx.source_id.clone()),
        ];
        metrics::counter!("ferry_load_rows_total", &labels).increment(rows);
        metrics::counter!("ferry_load_bytes_total", &labels).increment(bytes);
        metrics::counter!("ferry_load_chunks_total", &labels).increment(1);
        debug!(worker, table = %chunk.id.table, chunk = chunk.id.ordinal, rows, bytes, "chunk committed");
    }
    Ok(())
}

type Block = std::io::Result<Bytes>;

/// Streams one chunk from the snapshot into one downstream transaction.
async fn copy_chunk(
    up: &mut Conn,
    ctx: &CopyCtx,
    pool: &Pool,
    sel: &Selected,
    chunk: &Chunk,
    progress: &BulkProgress,
) -> Result<(u64, u64), TaskError> {
    let (tx, rx) = mpsc::channel::<Block>(BLOCKS_IN_FLIGHT);
    let (done_tx, done_rx) = oneshot::channel::<(u64, u64)>();
    let what = format!(
        "chunk {} of {} → {}",
        chunk.id.ordinal, chunk.id.table, sel.target
    );
    let dump = async {
        let r = dump_chunk(up, ctx, sel, chunk, tx, progress).await;
        if let Ok(counts) = &r {
            let _ = done_tx.send(*counts);
        }
        r
    };
    let load = load_chunk(ctx, pool, sel, chunk, rx, done_rx, &what);
    let (dumped, loaded) = tokio::join!(dump, load);
    match (dumped, loaded) {
        (Ok(counts), Ok(())) => Ok(counts),
        // A dump error is the cause; the load then only saw its stream fail.
        (Err(e), _) => Err(e),
        (Ok(_), Err(e)) => Err(e),
    }
}

/// Reads a chunk's rows and sends them as encoded blocks; returns (rows, bytes).
async fn dump_chunk(
    up: &mut Conn,
    ctx: &CopyCtx,
    sel: &Selected,
    chunk: &Chunk,
    tx: mpsc::Sender<Block>,
    progress: &BulkProgress,
) -> Result<(u64, u64), TaskError> {
    let meta = &sel.meta;
    let query = sql::select_chunk(
        meta,
        chunk.lower.as_ref(),
        chunk.upper.as_ref(),
        ctx.user_where.as_deref(),
        ctx.cast_double,
    );
    let kinds: Vec<schema::ValueKind> = meta.copied_columns().map(|c| c.kind()).collect();
    let json_convert = ctx.flavor != Flavor::Mariadb;
    let prefix = sql::insert_prefix(meta, &sel.target, ctx.on_duplicate);
    let what = format!("dumping chunk {} of {}", chunk.id.ordinal, meta.name);
    let fail = |e: mysql_async::Error| {
        let err = ctx.upstream.sql_err(what.clone())(e);
        // Make the loader's stream fail so that its transaction rolls back.
        let _ = tx.try_send(Err(std::io::Error::other(err.to_string())));
        err
    };
    let mut result = up.query_iter(&query).await.map_err(fail)?;
    let mut rows_stream = match result.stream::<Row>().await.map_err(fail)? {
        Some(s) => s,
        None => return Ok((0, 0)),
    };
    let mut buf = BytesMut::with_capacity(BLOCK_BYTES + 64 * 1024);
    let (mut rows, mut bytes, mut rows_reported, mut in_stmt) = (0u64, 0u64, 0u64, 0usize);
    let mut loader_gone = false;
    while let Some(row) = rows_stream.try_next().await.map_err(fail)? {
        let values = row.unwrap_raw();
        let refs = values.iter().map(|v| match v {
            Some(Value::Bytes(b)) => Some(b.as_slice()),
            _ => None,
        });
        match ctx.format {
            LoadFormat::LoadData => encode::encode_load_data_row(refs, &mut buf),
            LoadFormat::Insert => {
                buf.extend_from_slice(if in_stmt == 0 {
                    prefix.as_bytes()
                } else {
                    b","
                });
                encode::encode_values_row(refs, &kinds, json_convert, &mut buf);
                in_stmt += 1;
            }
        }
        rows += 1;
        let limit = match ctx.format {
            LoadFormat::LoadData => BLOCK_BYTES,
            LoadFormat::Insert => INSERT_STATEMENT_BYTES,
        };
        if buf.len() >= limit {
            bytes += buf.len() as u64;
            progress.dumped_bytes.fetch_add(buf.len() as u64, Relaxed);
            progress
                .dumped_rows
                .fetch_add(rows - rows_reported, Relaxed);
            rows_reported = rows;
            in_stmt = 0;
            if tx.send(Ok(buf.split().freeze())).await.is_err() {
                loader_gone = true;
                break;
            }
        }
    }
    drop(rows_stream);
    drop(result);
    if !buf.is_empty() && !loader_gone {
        bytes += buf.len() as u64;
        progress.dumped_bytes.fetch_add(buf.len() as u64, Relaxed);
        let _ = tx.send(Ok(buf.split().freeze())).await;
    }
    progress
        .dumped_rows
        .fetch_add(rows - rows_reported, Relaxed);
    Ok((rows, bytes))
}

/// Fails the chunk (rolling it back) when the last statement left warnings: a warning means a
/// value was changed on its way in. With `on-duplicate-logical: ignore`, duplicate-key
/// warnings (1062) are the requested behaviour and are not counted.
async fn check_warnings(conn: &mut Conn, ctx: &CopyCtx, what: &str) -> Result<(), TaskError> {
    let count = conn.get_warnings();
    if count == 0 {
        return Ok(());
    }
    let down = &ctx.downstream;
    let shown: Vec<(String, u32, String)> = conn
        .query("SHOW WARNINGS")
        .await
        .map_err(down.sql_err(format!("SHOW WARNINGS after loading {what}")))?;
    let relevant: Vec<&(String, u32, String)> = shown
        .iter()
        .filter(|(_, code, _)| !(ctx.on_duplicate == OnDuplicate::Ignore && *code == 1062))
        .collect();
    if relevant.is_empty() && ctx.on_duplicate == OnDuplicate::Ignore {
        return Ok(());
    }
    let _ = conn.query_drop("ROLLBACK").await;
    Err(TaskError::LoadWarnings {
        addr: down.addr(),
        what: what.to_string(),
        count,
        detail: relevant
            .iter()
            .take(5)
            .map(|(l, c, m)| format!("{l} {c}: {m}"))
            .collect::<Vec<_>>()
            .join("; "),
    })
}

/// Loads a chunk's stream in one transaction, together with its ledger row.
async fn load_chunk(
    ctx: &CopyCtx,
    pool: &Pool,
    sel: &Selected,
    chunk: &Chunk,
    mut rx: mpsc::Receiver<Block>,
    done_rx: oneshot::Receiver<(u64, u64)>,
    what: &str,
) -> Result<(), TaskError> {
    let down = &ctx.downstream;
    let err = |e| down.sql_err(format!("loading {what}"))(e);
    let mut conn = pool.get_conn().await.map_err(|source| TaskError::Connect {
        side: down.side,
        addr: down.addr(),
        source,
    })?;
    conn.query_drop("BEGIN").await.map_err(err)?;
    match ctx.format {
        LoadFormat::LoadData => {
            let stream = futures::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|item| (item, rx))
            });
            conn.set_infile_handler(async move { Ok(stream.boxed()) });
            let stmt = sql::load_data(&sel.meta, &sel.target, ctx.flavor, ctx.on_duplicate);
            conn.query_drop(&stmt).await.map_err(err)?;
            check_warnings(&mut conn, ctx, what).await?;
        }
        LoadFormat::Insert => {
            while let Some(block) = rx.recv().await {
                let Ok(block) = block else { break };
                conn.query_drop(String::from_utf8_lossy(&block).as_ref())
                    .await
                    .map_err(err)?;
                check_warnings(&mut conn, ctx, what).await?;
            }
        }
    }
    // The dump must have ended cleanly; otherwise nothing of this chunk is committed.
    let Ok((rows, bytes)) = done_rx.await else {
        let _ = conn.query_drop("ROLLBACK").await;
        return Err(TaskError::Cancelled);
    };
    conn.exec_drop(
        format!(
            "INSERT INTO {} (source_id, cp_schema, cp_table, chunk, row_count, byte_count) \
             VALUES (?, ?, ?, ?, ?, ?)",
            ctx.ledger.quoted()
        ),
        (
            &ctx.source_id,
            &chunk.id.table.schema,
            &chunk.id.table.table,
            chunk.id.ordinal,
            rows,
            bytes,
        ),
    )
    .await
    .map_err(err)?;
    conn.query_drop("COMMIT").await.map_err(err)?;
    Ok(())
}
