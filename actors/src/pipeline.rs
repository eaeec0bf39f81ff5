//! The one place that wires a subtask's stages: it creates the mailboxes and spawns the
//! stages, and nothing else. Read top to bottom, it is the data flow of DESIGN.md:
//!
//! ```text
//!  full phase, each copy round (run_copy_round):
//!    planner ◀─[chunk-requests]─▶ dumper ×threads ─[chunk-loads]─▶ loader ×pool-size ─▶ downstream
//!    (chunk queue:                (snapshot read,  + the chunk's     (one transaction per
//!     fewest in flight             encode)           block channel)   chunk, with its ledger
//!     per table first)                                                row)
//!
//!  incremental phase (run_sync):
//!    relay log or upstream
//!      └─▶ reader ─[binlog-items]─▶ filter ─[filtered-items]─▶ router ─[routed-items]─▶ …
//!          (binlog source,          (block-allow-list,          (routes: the
//!           cursor)                  event filters on rows)      target table)
//!
//!      … ─▶ coordinator ──[writer-shares]──▶ writer ×worker-count
//!           (columns from the schema         (one downstream transaction
//!            history; batch, fold, split;     per share, with its progress
//!            DDL barrier)                     row)
//!
//!      poller (upstream position for query-status)
//! ```
//!
//! Every mailbox is bounded by message count and by bytes ([`crate::mailbox`]), so a slow
//! downstream holds the coordinator, which holds the reader: memory stays bounded whatever the
//! backlog. The stages of one run are supervised as a unit ([`Stages`]): a stage that fails or
//! panics ends the run, the others are aborted, and the task actor starts a new run from the
//! checkpoint as the error policy says ([`crate::error::policy`]).

use std::sync::Arc;

use ferry_relay::CheckpointStore;

use crate::bulk::{self, group, BulkProgress, BulkSpec};
use crate::error::TaskError;
use crate::mailbox::{mailbox, Bounds};
use crate::metrics::mailbox::watch;
use crate::metrics::syncer::SyncerMetrics;
use crate::stages::Stages;
use crate::sync::{self, Handoff, RowFilter, RowRouter, SyncSpec, SyncStatus};
use ferry_model::Location;

/// reader → filter → router → coordinator: each message carries the items of the events that
/// were ready to read, up to 512 items or 2 MiB. 8 MiB per mailbox bounds what a burst of
/// large row events holds between two stages.
pub const BINLOG_ITEMS: Bounds = Bounds::new(4, 8 << 20);

/// coordinator → each writer: the writer's share of the next batch, while it applies the
/// current one. A share is at most a batch (`4 × batch × worker-count` changes, at least
/// 1024); one heavier than the byte bound passes alone.
pub const WRITER_SHARES: Bounds = Bounds::new(1, 64 << 20);

/// dumper → planner: a request for the next chunk (one per dumper at a time).
pub const CHUNK_REQUESTS: Bounds = Bounds::new(64, 64 << 10);

/// dumpers → loaders: a chunk to load, whose blocks follow through its own channel of
/// [`bulk::BLOCKS_IN_FLIGHT`] × [`bulk::BLOCK_BYTES`]: the group holds at most
/// `threads × 4 × 256 KiB` of rows.
pub const CHUNK_LOADS: Bounds = Bounds::new(1, 64 << 10);

/// Runs the full phase of a subtask in copy rounds ([`bulk::run`]: the start position, the
/// plan, the rounds; each round's copy is [`run_copy_round`]); returns the position the copy
/// is consistent with.
pub async fn run_full(
    spec: &BulkSpec,
    store: &Arc<dyn CheckpointStore>,
    progress: &Arc<BulkProgress>,
) -> Result<Location, TaskError> {
    bulk::run(spec, store, progress).await
}

/// Copies the chunks of one round with the bulk-load group: a planner handing out the chunks
/// of `queue`, one dumper per snapshot connection of `workers`, `pool-size` loaders.
/// Returns when every dumper has finished (or at the first error).
pub(crate) async fn run_copy_round(
    ctx: Arc<bulk::CopyCtx>,
    queue: bulk::queue::ChunkQueue,
    workers: Vec<mysql_async::Conn>,
    (pool, pool_size): (&mysql_async::Pool, usize),
    store: &Arc<dyn CheckpointStore>,
    progress: &Arc<BulkProgress>,
) -> Result<(), TaskError> {
    let mut stages = Stages::new();

    let (ask_out, ask_in) = mailbox("chunk-requests", CHUNK_REQUESTS);
    stages.spawn("planner", group::run_planner(queue, ask_in));

    let (load_out, load_in) = mailbox("chunk-loads", CHUNK_LOADS);
    watch(&ctx.task, &ctx.source_id, &[&ask_out]);
    watch(&ctx.task, &ctx.source_id, &[&load_out]);
    let load_in = load_in.shared();
    for l in 0..pool_size {
        let loader = group::run_loader(ctx.clone(), pool.clone(), load_in.clone());
        stages.spawn(format!("loader-{l}"), loader);
    }
    drop(load_in);

    let dumpers = workers.len();
    let (result_out, mut result_in) = tokio::sync::mpsc::channel(dumpers.max(1));
    for (worker, conn) in workers.into_iter().enumerate() {
        let dumper = group::Dumper {
            worker,
            conn,
            ctx: ctx.clone(),
            store: store.clone(),
            progress: progress.clone(),
            planner: ask_out.clone(),
            loaders: load_out.clone(),
        };
        stages.spawn(
            format!("dumper-{worker}"),
            group::run_dumper(dumper, result_out.clone()),
        );
    }
    drop(result_out);

    stages
        .run(async {
            for _ in 0..dumpers {
                result_in.recv().await.ok_or(TaskError::Cancelled)??;
            }
            Ok(())
        })
        .await
}

/// Runs the incremental phase of a subtask until an error (or until the task is cancelled,
/// which drops it and so aborts every stage).
pub async fn run_sync(
    spec: &SyncSpec,
    handoff: Option<Handoff>,
    status: Arc<SyncStatus>,
    store: &dyn CheckpointStore,
) -> Result<(), TaskError> {
    let writers = spec.worker_count.max(1);
    let metrics = SyncerMetrics::new(&spec.task, &spec.source_id, writers);
    let prepared = sync::prepare(spec, handoff, &status, store).await?;
    let mut stages = Stages::new();
    let (task, source) = (spec.task.as_str(), spec.source_id.as_str());

    let (read_out, read_in) = mailbox("binlog-items", BINLOG_ITEMS);
    watch(task, source, &[&read_out]);
    let start = prepared.start().clone();
    let reader = sync::read_binlog(spec.clone(), start, read_out, metrics.clone());
    stages.spawn("reader", reader);

    let (kept_out, kept_in) = mailbox("filtered-items", BINLOG_ITEMS);
    watch(task, source, &[&kept_out]);
    let filter = RowFilter::new(spec.balist.clone(), spec.filter.clone());
    stages.spawn(
        "filter",
        sync::run_filter(filter, read_in, kept_out, metrics.clone()),
    );

    let (routed_out, routed_in) = mailbox("routed-items", BINLOG_ITEMS);
    watch(task, source, &[&routed_out]);
    let router = RowRouter::new(spec.router.clone());
    stages.spawn("router", sync::run_router(router, kept_in, routed_out));
    stages.spawn(
        "poller",
        sync::poll_master(spec.upstream.clone(), status.clone()),
    );

    let mut shares = Vec::with_capacity(writers);
    for w in 0..writers {
        let applier = sync::connect_writer(spec)
            .await?
            .with_metrics(metrics.writer(w));
        let (shares_out, shares_in) = mailbox("writer-shares", WRITER_SHARES);
        stages.spawn(
            format!("writer-{w}"),
            sync::run_writer(w, applier, shares_in, metrics.clone()),
        );
        shares.push(shares_out);
    }
    watch(task, source, &shares.iter().collect::<Vec<_>>());

    let mut coordinator = prepared.coordinator(spec, status, shares, metrics);
    stages.run(coordinator.run(routed_in)).await
}
