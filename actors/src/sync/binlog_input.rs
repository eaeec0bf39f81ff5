//! The Sync unit's input stages: the binlog reader (from the relay log or the upstream),
//! turning events into cursor items for the filter stage's mailbox, and the poller of the
//! upstream's position for status.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use mysql_async::Conn;
use tracing::debug;

use super::{Cursor, ItemBatch, Items, SyncPoint, SyncSpec, SyncStatus};
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
/// the filter stage's mailbox. It ends after sending an error (or when the mailbox closes).
pub(crate) async fn read_binlog(spec: SyncSpec, start: SyncPoint, tx: Outbox<ItemBatch>) {
    let from = match (&start.gtid, start.pos.name.is_empty()) {
        (Some(g), true) => StartFrom::Gtid(g.clone()),
        _ => StartFrom::Position(start.pos.clone()),
    };
    let cursor = Cursor::new(&start);
    if let Some(relay) = &spec.relay {
        match relay.open(from).await {
            Ok(src) => pump(src, cursor, &spec.upstream.addr(), tx).await,
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
    pump(src, cursor, &spec.upstream.addr(), tx).await;
}

/// Most items one reader message carries.
const BATCH_ITEMS: usize = 512;

/// Most bytes of items one reader message carries (a message may pass it by one event).
const BATCH_BYTES: usize = 2 << 20;

/// Polls `fut` once: its output if it is ready now.
async fn ready_now<F: Future + Unpin>(fut: &mut F) -> Option<F::Output> {
    std::future::poll_fn(|cx| match Pin::new(&mut *fut).poll(cx) {
        Poll::Ready(v) => Poll::Ready(Some(v)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}

/// Moves events from `src` through `cursor` into the mailbox until an error or the end.
/// Items are gathered while events are there to read and sent when the source has nothing
/// ready (or the message is full), so a backlog moves in large messages and a trickle
/// without delay.
async fn pump<S: BinlogSource>(
    mut src: S,
    mut cursor: Cursor,
    upstream: &str,
    tx: Outbox<ItemBatch>,
) {
    let mut batch = Items::with_capacity(BATCH_ITEMS);
    let mut scratch = Vec::new();
    loop {
        let next = {
            let mut next = std::pin::pin!(src.next_event());
            let mut now = ready_now(&mut next).await;
            if now.is_none() && !batch.items.is_empty() {
                // Pending may only mean the runtime's budget for this task is spent: let the
                // other tasks run once, then look again.
                tokio::task::yield_now().await;
                now = ready_now(&mut next).await;
            }
            match now {
                Some(r) => r,
                None => {
                    // Nothing more to read now: pass on what is gathered, then wait (the
                    // read in progress is kept, not cancelled).
                    if !batch.items.is_empty()
                        && tx.send(Ok(batch.take(BATCH_ITEMS))).await.is_err()
                    {
                        return;
                    }
                    next.await
                }
            }
        };
        let failure = match next {
            Ok(Some(ev)) => match cursor.feed(ev, &mut scratch) {
                Ok(()) => None,
                Err(e) => Some(TaskError::Binlog {
                    message: e.to_string(),
                    transient: false,
                }),
            },
            Ok(None) => Some(TaskError::Binlog {
                message: format!(
                    "upstream {upstream} ended the binlog stream after {}",
                    cursor.point()
                ),
                transient: true,
            }),
            // Kept whole: its class decides what the task does (and the fix it shows).
            Err(e) => Some(TaskError::read(e)),
        };
        for item in scratch.drain(..) {
            batch.push(item);
        }
        let full = batch.items.len() >= BATCH_ITEMS || batch.bytes >= BATCH_BYTES;
        if (full || failure.is_some())
            && !batch.items.is_empty()
            && tx.send(Ok(batch.take(BATCH_ITEMS))).await.is_err()
        {
            return;
        }
        if let Some(e) = failure {
            let _ = tx.send(Err(e)).await;
            return;
        }
    }
}

/// The poller stage: reads the upstream's current position for `query-status` every second,
/// and at once when a status query asks for it ([`SyncStatus::refresh_master`]).
pub(crate) async fn poll_master(up: Endpoint, status: Arc<SyncStatus>) {
    let mut conn: Option<(Conn, ServerInfo)> = None;
    loop {
        let began = std::time::Instant::now();
        if conn.is_none() {
            if let Ok(mut c) = up.connect(Vec::new()).await {
                if let Ok(info) = ServerInfo::detect(&mut c, &up).await {
                    conn = Some((c, info));
                }
            }
        }
        match conn.as_mut() {
            Some((c, info)) => match read_position(c, info, &up).await {
                Ok(loc) => status.set_master(loc, began),
                Err(e) => {
                    debug!(error = %e, "cannot read the upstream position");
                    conn = None;
                    status.master_unread(began);
                }
            },
            None => status.master_unread(began),
        }
        status.next_master_read(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use ferry_model::BinlogPosition;
    use tokio::sync::mpsc;

    use super::*;
    use crate::mailbox::{mailbox, Bounds};
    use crate::reader::{EventBody, ReaderError, SourceEvent};
    use crate::sync::Item;

    /// Events as a test sends them: ready when sent, pending until then.
    struct Scripted(mpsc::UnboundedReceiver<SourceEvent>);

    impl BinlogSource for Scripted {
        async fn next_event(&mut self) -> Result<Option<SourceEvent>, ReaderError> {
            Ok(self.0.recv().await)
        }
    }

    fn heartbeat() -> SourceEvent {
        SourceEvent {
            pos: BinlogPosition::new("bin.000001", 4).unwrap(),
            timestamp: 0,
            server_id: 1,
            artificial: true,
            body: EventBody::Heartbeat,
        }
    }

    fn start() -> SyncPoint {
        SyncPoint {
            pos: BinlogPosition::new("bin.000001", 4).unwrap(),
            gtid: None,
            skip_rows: 0,
        }
    }

    async fn next(inbox: &mut crate::mailbox::Inbox<ItemBatch>) -> ItemBatch {
        tokio::time::timeout(Duration::from_secs(10), inbox.recv())
            .await
            .expect("a message within 10 s")
            .expect("the mailbox is open")
    }

    #[tokio::test]
    async fn ready_events_travel_together_and_a_pause_sends_what_is_gathered() {
        let (events, rx) = mpsc::unbounded_channel();
        for _ in 0..BATCH_ITEMS + 5 {
            events.send(heartbeat()).unwrap();
        }
        let (out, mut inbox) = mailbox("test", Bounds::new(4, 64 << 20));
        let reader = tokio::spawn(async move {
            pump(Scripted(rx), Cursor::new(&start()), "up:3306", out).await;
        });
        let first = next(&mut inbox).await.unwrap();
        assert_eq!(
            first.items.len(),
            BATCH_ITEMS,
            "a full message is sent at once"
        );
        assert!(first.bytes >= BATCH_ITEMS * std::mem::size_of::<Item>());
        let rest = next(&mut inbox).await.unwrap();
        assert_eq!(
            rest.items.len(),
            5,
            "the rest is sent when nothing more is ready"
        );
        events.send(heartbeat()).unwrap();
        assert_eq!(next(&mut inbox).await.unwrap().items.len(), 1);
        drop(events);
        match next(&mut inbox).await {
            Err(TaskError::Binlog { message, .. }) => {
                assert!(
                    message.contains("up:3306 ended the binlog stream"),
                    "{message}"
                )
            }
            other => panic!("{other:?}"),
        }
        reader.await.unwrap();
    }
}
