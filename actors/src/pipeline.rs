//! The one place that wires a subtask's stages: it creates the mailboxes and spawns the
//! stages, and nothing else. Read top to bottom, it is the data flow of DESIGN.md:
//!
//! ```text
//!  full phase (bulk-load group, bulk::run):
//!    planner ─chunks─▶ dumpers ×threads ─blocks─▶ loaders ×pool-size ─▶ downstream
//!
//!  incremental phase (run_sync):
//!    relay log or upstream
//!      └─▶ reader ──[binlog-items]──▶ coordinator ──[writer-shares]──▶ writer ×worker-count
//!          (binlog source,            (filter: block-allow-list,          (one downstream
//!           cursor)                    event filters; route: target        transaction per
//!                                      from the schema history; batch,     share, with its
//!                                      fold, split; DDL barrier)           progress row)
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

use crate::bulk::{self, BulkProgress, BulkSpec};
use crate::error::TaskError;
use crate::mailbox::{mailbox, Bounds};
use crate::stages::Stages;
use crate::sync::{self, Handoff, SyncSpec, SyncStatus};
use ferry_model::Location;

/// reader → coordinator: one message per binlog event that yields items. 64 MiB bounds what
/// a burst of large row events can hold before the coordinator takes them.
pub const BINLOG_ITEMS: Bounds = Bounds::new(64, 64 << 20);

/// coordinator → each writer: the writer's share of the next batch, while it applies the
/// current one. A share is at most a batch (`4 × batch × worker-count` changes, at least
/// 1024); one heavier than the byte bound passes alone.
pub const WRITER_SHARES: Bounds = Bounds::new(1, 64 << 20);

/// Runs the full phase of a subtask (the bulk-load group wires its planner, dumpers and
/// loaders itself: see [`bulk`]); returns the position the copy is consistent with.
pub async fn run_full(
    spec: &BulkSpec,
    store: &dyn CheckpointStore,
    progress: &Arc<BulkProgress>,
) -> Result<Location, TaskError> {
    bulk::run(spec, store, progress).await
}

/// Runs the incremental phase of a subtask until an error (or until the task is cancelled,
/// which drops it and so aborts every stage).
pub async fn run_sync(
    spec: &SyncSpec,
    handoff: Option<Handoff>,
    status: Arc<SyncStatus>,
    store: &dyn CheckpointStore,
) -> Result<(), TaskError> {
    let prepared = sync::prepare(spec, handoff, &status, store).await?;
    let mut stages = Stages::new();

    let (items_out, items_in) = mailbox("binlog-items", BINLOG_ITEMS);
    let start = prepared.start().clone();
    stages.spawn("reader", sync::read_binlog(spec.clone(), start, items_out));
    stages.spawn(
        "poller",
        sync::poll_master(spec.upstream.clone(), status.clone()),
    );

    let mut writers = Vec::with_capacity(spec.worker_count.max(1));
    for w in 0..spec.worker_count.max(1) {
        let applier = sync::connect_writer(spec).await?;
        let (shares_out, shares_in) = mailbox("writer-shares", WRITER_SHARES);
        stages.spawn(
            format!("writer-{w}"),
            sync::run_writer(w, applier, shares_in),
        );
        writers.push(shares_out);
    }

    let mut coordinator = prepared.coordinator(spec, status, writers);
    stages.run(coordinator.run(items_in)).await
}
