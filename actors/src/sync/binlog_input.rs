//! The Sync unit's input stages: the binlog reader (from the relay log or the upstream),
//! turning events into cursor items for the coordinator's mailbox, and the poller of the
//! upstream's position for status.

use std::sync::Arc;
use std::time::Duration;

use mysql_async::Conn;
use tracing::debug;

use super::{Cursor, ItemBatch, SyncPoint, SyncSpec, SyncStatus};
use crate::db::{read_position, Endpoint, ServerInfo};
use crate::error::TaskError;
use crate::mailbox::Outbox;
use crate::reader::{
    Backoff as ReaderBackoff, BinlogSource, ReaderOptions, ReconnectingSource, StartFrom,
};

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

/// The reader stage: binlog events (from the relay log or the upstream) → cursor items, into
/// the coordinator's mailbox. It ends after sending an error (or when the mailbox closes).
pub(crate) async fn read_binlog(spec: SyncSpec, start: SyncPoint, tx: Outbox<ItemBatch>) {
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
    tx: Outbox<ItemBatch>,
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
                // Kept whole: its class decides what the task does (and the fix it shows).
                let _ = tx.send(Err(TaskError::read(e))).await;
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

/// The poller stage: refreshes the upstream's current position for `query-status`.
pub(crate) async fn poll_master(up: Endpoint, status: Arc<SyncStatus>) {
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
