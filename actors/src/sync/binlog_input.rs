//! The Sync unit's input stages: the binlog reader (from the relay log or the upstream),
//! turning events into cursor items for the filter stage's mailbox, and the poller of the
//! upstream's position for status.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use mysql_async::Conn;
use tracing::debug;

use super::{Cursor, ItemBatch, Items, SyncPoint, SyncSpec, SyncStatus};
use crate::db::{read_position, Endpoint, ServerInfo};
use crate::error::TaskError;
use crate::mailbox::Outbox;
use crate::metrics::syncer::SyncerMetrics;
use crate::reader::{
    Backoff as ReaderBackoff, BinlogSource, EventBody, ReaderOptions, ReconnectingSource,
    SourceEvent, StartFrom,
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
pub(crate) async fn read_binlog(
    spec: SyncSpec,
    start: SyncPoint,
    tx: Outbox<ItemBatch>,
    metrics: Arc<SyncerMetrics>,
) {
    let from = match (&start.gtid, start.pos.name.is_empty()) {
        (Some(g), true) => StartFrom::Gtid(g.clone()),
        _ => StartFrom::Position(start.pos.clone()),
    };
    let cursor = Cursor::new(&start);
    if let Some(relay) = &spec.relay {
        match relay.open(from).await {
            Ok(src) => pump(src, cursor, &spec.upstream.addr(), tx, &metrics).await,
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
    pump(src, cursor, &spec.upstream.addr(), tx, &metrics).await;
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
    metrics: &SyncerMetrics,
) {
    let mut batch = Items::with_capacity(BATCH_ITEMS);
    let mut scratch = Vec::new();
    let mut stats = ReadStats::default();
    loop {
        stats.reading_from_now_if_idle();
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
                    if !batch.items.is_empty() {
                        stats.record(metrics);
                        if tx.send(Ok(batch.take(BATCH_ITEMS))).await.is_err() {
                            return;
                        }
                        // Waiting for the next stage is not reading.
                        stats.reading_from_now_if_idle();
                    }
                    next.await
                }
            }
        };
        if let Ok(Some(ev)) = &next {
            stats.event(ev);
        }
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
        if (full || failure.is_some()) && !batch.items.is_empty() {
            stats.record(metrics);
            if tx.send(Ok(batch.take(BATCH_ITEMS))).await.is_err() {
                return;
            }
        }
        if let Some(e) = failure {
            let _ = tx.send(Err(e)).await;
            return;
        }
    }
}

/// What the reader read for one message: recorded once per message (the means of its
/// events), so the metrics cost two clock reads per message and nothing per event.
#[derive(Debug, Default)]
struct ReadStats {
    events: u64,
    /// When reading the message's events began (after the previous message was sent).
    began: Option<Instant>,
    /// Bytes of the events whose size is known (end minus the previous end in one file).
    sized: u64,
    bytes: u64,
    row_events: u64,
    rows: u64,
    /// End of the previous event.
    last_end: u64,
}

impl ReadStats {
    /// Starts the clock of a message's reading unless it runs.
    fn reading_from_now_if_idle(&mut self) {
        if self.began.is_none() {
            self.began = Some(Instant::now());
        }
    }

    fn event(&mut self, ev: &SourceEvent) {
        self.events += 1;
        if !ev.artificial {
            if ev.pos.pos > self.last_end && self.last_end > 0 {
                self.sized += 1;
                self.bytes += ev.pos.pos - self.last_end;
            }
            self.last_end = ev.pos.pos;
        }
        if let EventBody::Rows { rows, .. } = &ev.body {
            self.row_events += 1;
            self.rows += *rows as u64;
        }
    }

    /// Records the means of the message's events and starts again.
    fn record(&mut self, m: &SyncerMetrics) {
        if let (true, Some(began)) = (self.events > 0, self.began) {
            // Reading and decoding the message's events, waits for the upstream included.
            m.read_binlog_duration
                .record(began.elapsed().as_secs_f64() / self.events as f64);
        }
        if self.sized > 0 {
            m.binlog_event_size
                .record(self.bytes as f64 / self.sized as f64);
        }
        if self.row_events > 0 {
            m.binlog_event_row
                .record(self.rows as f64 / self.row_events as f64);
        }
        *self = Self {
            last_end: self.last_end,
            ..Self::default()
        };
    }
}

/// The poller stage: reads the upstream's current position for `query-status` every second,
/// and at once when a status query asks for it ([`SyncStatus::refresh_master`]).
pub(crate) async fn poll_master(up: Endpoint, status: Arc<SyncStatus>) {
    let mut conn: Option<(Conn, ServerInfo)> = None;
    let mut files_read: Option<Instant> = None;
    loop {
        let began = std::time::Instant::now();
        // The files' sizes, for the remaining-time estimate, every 10 s.
        if let Some((c, _)) = conn.as_mut() {
            if files_read.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                files_read = Some(began);
                match binlog_files(c).await {
                    Ok(files) => status.set_binlog_files(files),
                    Err(e) => debug!(error = %e, "cannot list the upstream's binlog files"),
                }
            }
        }
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

/// The upstream's binlog files and their sizes (`SHOW BINARY LOGS`).
async fn binlog_files(c: &mut Conn) -> Result<Vec<(String, u64)>, mysql_async::Error> {
    use mysql_async::prelude::Queryable;
    let rows: Vec<mysql_async::Row> = c.query("SHOW BINARY LOGS").await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let name = r.get_opt::<String, _>(0)?.ok()?;
            let size = r.get_opt::<u64, _>(1)?.ok()?;
            Some((name, size))
        })
        .collect())
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
            pump(
                Scripted(rx),
                Cursor::new(&start()),
                "up:3306",
                out,
                &SyncerMetrics::noop(),
            )
            .await;
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
