//! The stages of the bulk-load group of one copy round (wired by
//! [`crate::pipeline::run_copy_round`]):
//!
//! * the **planner** owns the round's chunk queue and answers each dumper's request for its
//!   next chunk (the chunk of the table with the fewest chunks in flight);
//! * a **dumper** (× `threads`) reads a chunk from its snapshot and streams it, encoded, to a
//!   loader through the chunk's own block channel (at most [`BLOCKS_IN_FLIGHT`] blocks);
//! * a **loader** (× `pool-size`) loads one chunk at a time into the downstream, in one
//!   transaction together with the chunk's ledger row.

use std::sync::Arc;

use ferry_model::{Chunk, TableName};
use ferry_relay::{CheckpointStore, ChunkDone};
use mysql_async::{Conn, Pool};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info_span, warn, Instrument};

use super::copy::{dump_chunk, load_chunk, Block, CopyCtx};
use super::queue::ChunkQueue;
use super::tables::{is_definition_changed, is_no_such_table, Selected};
use super::{BulkProgress, BLOCKS_IN_FLIGHT};
use crate::error::TaskError;
use crate::mailbox::{Inbox, Outbox, SharedInbox, Weigh};

/// A dumper's request to the planner: its next chunk, after reporting the one it finished.
pub(crate) struct NextChunk {
    /// The table of the chunk the dumper finished, and whether the table's remaining chunks
    /// are dropped (gone upstream, or changed under the snapshot: a later round copies it).
    finished: Option<(TableName, bool)>,
    reply: oneshot::Sender<Option<Chunk>>,
}

impl Weigh for NextChunk {
    fn weight(&self) -> usize {
        std::mem::size_of::<Self>()
    }
}

/// A chunk for a loader: its rows arrive as encoded blocks; its counts once the dump ended
/// cleanly (a dump that fails drops them, and the load rolls back).
pub(crate) struct Load {
    sel: Arc<Selected>,
    chunk: Chunk,
    blocks: mpsc::Receiver<Block>,
    counts: oneshot::Receiver<(u64, u64)>,
    reply: oneshot::Sender<Result<(), TaskError>>,
}

impl Weigh for Load {
    fn weight(&self) -> usize {
        std::mem::size_of::<Self>()
    }
}

/// The planner stage: hands out the chunks of `queue`.
pub(crate) async fn run_planner(mut queue: ChunkQueue, mut requests: Inbox<NextChunk>) {
    while let Some(NextChunk { finished, reply }) = requests.recv().await {
        if let Some((table, drop_rest)) = finished {
            queue.release(&table);
            if drop_rest {
                queue.drop_table(&table);
            }
        }
        let _ = reply.send(queue.take());
    }
}

/// A loader stage: loads the chunks it receives through connections of `pool`.
pub(crate) async fn run_loader(ctx: Arc<CopyCtx>, pool: Pool, loads: SharedInbox<Load>) {
    while let Some(load) = loads.recv().await {
        let Load {
            sel,
            chunk,
            blocks,
            counts,
            reply,
        } = load;
        let what = format!(
            "chunk {} of {} → {}",
            chunk.id.ordinal, chunk.id.table, sel.target
        );
        let span = info_span!("chunk", table = %chunk.id.table, ordinal = chunk.id.ordinal);
        let loaded = load_chunk(&ctx, &pool, &sel, &chunk, blocks, counts, &what)
            .instrument(span)
            .await;
        let _ = reply.send(loaded);
    }
}

/// What a dumper needs.
pub(crate) struct Dumper {
    /// Dumper number (for logs).
    pub worker: usize,
    /// Its upstream connection, inside the round's snapshot.
    pub conn: Conn,
    pub ctx: Arc<CopyCtx>,
    pub store: Arc<dyn CheckpointStore>,
    pub progress: Arc<BulkProgress>,
    /// The planner's mailbox.
    pub planner: Outbox<NextChunk>,
    /// The loaders' mailbox.
    pub loaders: Outbox<Load>,
}

/// A dumper stage: copies chunks until the planner has none left; reports how it ended on
/// `result`.
pub(crate) async fn run_dumper(d: Dumper, result: mpsc::Sender<Result<(), TaskError>>) {
    let worker = d.worker;
    let r = dumper(d).await;
    if let Err(e) = &r {
        debug!(worker, error = %e, "dumper failed");
    }
    let _ = result.send(r).await;
}

async fn dumper(mut d: Dumper) -> Result<(), TaskError> {
    let mut finished = None;
    loop {
        let (reply, chunk) = oneshot::channel();
        d.planner
            .send(NextChunk { finished, reply })
            .await
            .map_err(|_| TaskError::Cancelled)?;
        let Some(chunk) = chunk.await.map_err(|_| TaskError::Cancelled)? else {
            return Ok(());
        };
        let table = chunk.id.table.clone();
        let sel = d.ctx.tables[&table].clone();
        let copied = copy_chunk(&mut d, &sel, &chunk)
            .instrument(info_span!("chunk", table = %table, ordinal = chunk.id.ordinal))
            .await;
        let (rows, bytes) = match copied {
            Err(e) if is_no_such_table(&e) => {
                // Dropped or renamed after the start position: the binlog replays the DROP
                // (or the RENAME, whose new name is copied when the plan is made again).
                warn!(table = %table, chunk = chunk.id.ordinal, error = %e,
                    "table gone upstream during the copy; its remaining chunks are skipped");
                lock(&d.ctx.gone).push(table.clone());
                finished = Some((table, true));
                continue;
            }
            Err(e) if is_definition_changed(&e) => {
                // Rebuilt (or a column renamed or dropped) after the snapshot was taken: the
                // table's remaining chunks are copied in a later round, from new snapshots.
                warn!(table = %table, chunk = chunk.id.ordinal, error = %e,
                    "table changed by DDL under its copy; its remaining chunks are copied again from a later position");
                lock(&d.ctx.changed).push((table.clone(), e.to_string()));
                finished = Some((table, true));
                continue;
            }
            other => other?,
        };
        let ctx = &d.ctx;
        d.store.put_chunk_done(
            &ctx.task,
            &ctx.source_id,
            &ChunkDone {
                id: chunk.id.clone(),
                rows,
                bytes,
            },
        )?;
        d.progress.chunk_committed(&table, rows, bytes);
        lock(&ctx.committed).push((chunk.id.clone(), (rows, bytes)));
        crate::metrics::loader::chunk_committed(&ctx.task, &ctx.source_id, rows, bytes);
        debug!(worker = d.worker, table = %table, chunk = chunk.id.ordinal, rows, bytes, "chunk committed");
        finished = Some((table, false));
    }
}

/// Streams one chunk from the dumper's snapshot to a loader; (rows, bytes) once the loader
/// committed it.
async fn copy_chunk(
    d: &mut Dumper,
    sel: &Arc<Selected>,
    chunk: &Chunk,
) -> Result<(u64, u64), TaskError> {
    let (tx, blocks) = mpsc::channel::<Block>(BLOCKS_IN_FLIGHT);
    let (counts_tx, counts) = oneshot::channel();
    let (reply, loaded) = oneshot::channel();
    d.loaders
        .send(Load {
            sel: sel.clone(),
            chunk: chunk.clone(),
            blocks,
            counts,
            reply,
        })
        .await
        .map_err(|_| TaskError::Cancelled)?;
    let dumped = dump_chunk(&mut d.conn, &d.ctx, sel, chunk, tx, &d.progress).await;
    // Dropped unsent when the dump failed: the load then rolls back.
    if let Ok(c) = &dumped {
        let _ = counts_tx.send(*c);
    }
    let loaded = loaded.await.unwrap_or(Err(TaskError::Cancelled));
    match (dumped, loaded) {
        (Ok(counts), Ok(())) => Ok(counts),
        // A dump error is the cause; the load then only saw its stream fail.
        (Err(e), _) => Err(e),
        (Ok(_), Err(e)) => Err(e),
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::super::queue::tests::chunk;
    use super::*;
    use crate::mailbox::{mailbox, Bounds};

    async fn next(
        planner: &Outbox<NextChunk>,
        finished: Option<(TableName, bool)>,
    ) -> Option<Chunk> {
        let (reply, rx) = oneshot::channel();
        assert!(planner.send(NextChunk { finished, reply }).await.is_ok());
        rx.await.unwrap()
    }

    #[tokio::test]
    async fn the_planner_spreads_tables_and_drops_what_a_dumper_reports_changed() {
        let queue = ChunkQueue::new(
            (0..3)
                .map(|i| chunk("a", i))
                .chain((0..2).map(|i| chunk("b", i))),
        );
        let (planner, requests) = mailbox("chunk-requests", Bounds::new(4, 1 << 10));
        let stage = tokio::spawn(run_planner(queue, requests));
        let first = next(&planner, None).await.unwrap();
        let second = next(&planner, None).await.unwrap();
        assert_ne!(
            first.id.table, second.id.table,
            "two dumpers get two tables"
        );
        // Table a changed under its snapshot: its other chunks wait for the next round.
        let a = TableName::new("d", "a");
        let b = TableName::new("d", "b");
        let mut rest = Vec::new();
        let mut finished = Some((a.clone(), true));
        while let Some(c) = next(&planner, finished.take()).await {
            finished = Some((c.id.table.clone(), false));
            rest.push(c.id);
        }
        assert!(rest.iter().all(|id| id.table == b), "{rest:?}");
        assert_eq!(rest.len(), 1, "b's other chunk, once");
        drop(planner);
        stage.await.unwrap();
    }
}
