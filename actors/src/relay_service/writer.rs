//! The relay writer: pulls the upstream binlog and appends it to the relay log.
//!
//! Two tasks per session, joined by a bounded channel (count and bytes): the *puller* reads
//! the upstream ([`ReconnectingSource`]: reconnects with backoff and resumes exactly after the
//! last event it passed on), the *appender* writes batches to the store (one synced write per
//! batch) and wakes the readers. A session that fails is started again from the stored relay
//! position, so no event is lost or stored twice.

use std::sync::Arc;
use std::time::Duration;

use ferry_model::{BinlogPosition, GtidSet, Location, Stage};
use ferry_relay::{NewRelayEvent, RelayLog, RelayPosition, TxnBoundary};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use super::gtid_events::{
    parse_gtid_list, parse_previous_gtids, MARIADB_GTID_LIST, PREVIOUS_GTIDS,
};
use super::header::FileHeader;
use super::{upstream_source, Ctl, Shared, WriterState};
use crate::db::{read_position, ServerInfo};
use crate::error::{Action, Component, ErrorClass, Policy, TaskError};
use crate::reader::{EventBody, GtidTracker, RawEvent, ReaderError, StartFrom};

/// Delay between attempts after an error that retrying is not expected to fix.
const DEFINITE_RETRY: Duration = Duration::from_secs(60);

/// Why a session ended.
enum Outcome {
    Stop,
    Restart(BinlogPosition, tokio::sync::oneshot::Sender<bool>),
    Failed(SessionError),
}

/// What stopped a session.
#[derive(Debug, thiserror::Error)]
enum SessionError {
    /// Reading the upstream failed.
    #[error(transparent)]
    Reader(#[from] ReaderError),
    /// Reading the upstream's position failed.
    #[error(transparent)]
    Task(#[from] TaskError),
    /// The relay store failed.
    #[error(transparent)]
    Store(#[from] ferry_relay::StoreError),
    /// Anything else, with its class.
    #[error("{0}")]
    Other(String, ErrorClass),
}

impl SessionError {
    fn class(&self) -> ErrorClass {
        match self {
            SessionError::Reader(e) => e.class(),
            SessionError::Task(e) => e.class(),
            SessionError::Store(_) => ErrorClass::Store,
            SessionError::Other(_, class) => *class,
        }
    }

    /// What the relay writer does about it.
    fn policy(&self) -> Policy {
        self.class().policy(Component::Relay)
    }
}

/// Moves the start of a relay that never appended anything to `p`; false when it did.
async fn move_start(shared: &Arc<Shared>, p: BinlogPosition) -> bool {
    let Ok(st) = shared.blocking(|s, src| s.stats(src)).await else {
        return false;
    };
    if st.next_seq != 1 {
        return false;
    }
    let rp = RelayPosition {
        binlog: p.clone(),
        gtid: None,
        txn_end: Some(p.clone()),
    };
    if shared
        .blocking(move |s, src| s.reset(src, &rp))
        .await
        .is_err()
    {
        return false;
    }
    shared.set_relay_gtid(None);
    shared.publish(|pr| {
        pr.floor = Some(p.clone());
        pr.relay_pos = Some(p);
    });
    true
}

/// Runs writer sessions until stopped.
pub(super) async fn run(shared: Arc<Shared>, mut ctl: mpsc::Receiver<Ctl>) {
    let mut delay = shared.cfg.backoff.initial;
    // The start before a first reader moved it (moved back if the new one cannot be read).
    let mut moved_from: Option<BinlogPosition> = None;
    loop {
        let began = std::time::Instant::now();
        let outcome = session(&shared, &mut ctl).await;
        if began.elapsed() > shared.cfg.backoff.max {
            delay = shared.cfg.backoff.initial;
        }
        let wait = match outcome {
            Outcome::Stop => break,
            Outcome::Restart(p, ack) => {
                let before = shared.progress.borrow().floor.clone();
                let ok = move_start(&shared, p).await;
                if ok {
                    moved_from = moved_from.or(before);
                }
                let _ = ack.send(ok);
                continue;
            }
            Outcome::Failed(e) => {
                // Retried with backoff, or (paused) tried again every DEFINITE_RETRY.
                let retry = e.policy().action == Action::Retry;
                shared.metrics.exit_with_error(retry);
                if let (false, Some(back)) = (retry, moved_from.take()) {
                    if move_start(&shared, back.clone()).await {
                        tracing::warn!(source = %shared.source_id, start = %back, error = %e,
                            "the reader's start cannot be read; relay start moved back");
                        continue;
                    }
                }
                let msg = e.to_string();
                tracing::warn!(source = %shared.source_id, error = %msg, class = ?e.class(), retry,
                    "relay writer failed");
                shared.set_stage(
                    if retry { Stage::Running } else { Stage::Paused },
                    Some((msg.clone(), retry)),
                );
                shared.publish(|p| {
                    p.writer = if retry {
                        WriterState::Retrying(msg)
                    } else {
                        WriterState::Failed(msg)
                    }
                });
                if retry {
                    let d = delay;
                    delay = (delay * 2).min(shared.cfg.backoff.max);
                    d
                } else {
                    DEFINITE_RETRY
                }
            }
        };
        // Wait before the next session, unless told otherwise.
        tokio::select! {
            c = ctl.recv() => match c {
                None | Some(Ctl::Stop) => break,
                Some(Ctl::Restart(p, ack)) => {
                    let before = shared.progress.borrow().floor.clone();
                    let ok = move_start(&shared, p).await;
                    if ok {
                        moved_from = moved_from.or(before);
                    }
                    let _ = ack.send(ok);
                }
            },
            _ = tokio::time::sleep(wait) => {}
        }
    }
    shared.publish(|p| p.writer = WriterState::Stopped);
}

/// Where a session starts.
struct Start {
    /// Where the upstream stream starts.
    from: StartFrom,
    /// Events ending at or before this are in the relay already (resume after a restart).
    held_until: Option<BinlogPosition>,
    /// Executed GTID set at `from`, when known.
    gtid: Option<GtidSet>,
    /// The relay start is not known yet (GTID start): set it at the first real event.
    floor_pending: bool,
}

async fn resolve_start(shared: &Arc<Shared>) -> Result<Start, SessionError> {
    let stored = shared.blocking(|s, src| s.relay_position(src)).await?;
    if let Some(rp) = &stored {
        let from = rp.txn_end.clone().unwrap_or_else(|| rp.binlog.clone());
        return Ok(Start {
            from: StartFrom::Position(from),
            held_until: Some(rp.binlog.clone()),
            gtid: rp.gtid.as_deref().and_then(|g| GtidSet::parse_any(g).ok()),
            floor_pending: false,
        });
    }
    let cfg = &shared.cfg;
    let (from, gtid) = if cfg.enable_gtid && !cfg.relay_binlog_gtid.trim().is_empty() {
        let g = GtidSet::parse_any(cfg.relay_binlog_gtid.trim()).map_err(|e| {
            SessionError::Other(format!("relay-binlog-gtid: {e}"), ErrorClass::Config)
        })?;
        (StartFrom::Gtid(g.clone()), Some(g))
    } else if !cfg.enable_gtid && !cfg.relay_binlog_name.trim().is_empty() {
        let p = BinlogPosition::new(cfg.relay_binlog_name.trim(), 4).map_err(|e| {
            SessionError::Other(format!("relay-binlog-name: {e}"), ErrorClass::Config)
        })?;
        (StartFrom::Position(p), None)
    } else if let Some(p) = (shared.needed)() {
        (StartFrom::Position(p), None)
    } else {
        let loc = current_position(shared).await?;
        (StartFrom::Position(loc.binlog), loc.gtid)
    };
    let floor_pending = matches!(from, StartFrom::Gtid(_));
    if let StartFrom::Position(p) = &from {
        let rp = RelayPosition {
            binlog: p.clone(),
            gtid: gtid.as_ref().map(|g| g.to_string()),
            txn_end: Some(p.clone()),
        };
        shared.blocking(move |s, src| s.reset(src, &rp)).await?;
        tracing::info!(source = %shared.source_id, start = %p, "relay log starts");
    }
    Ok(Start {
        from,
        held_until: None,
        gtid,
        floor_pending,
    })
}

/// Resolves (and records) where the relay starts, and publishes what the store holds, so
/// that readers opened right after the service started see the relay start.
pub(super) async fn prepare(shared: &Arc<Shared>) -> Result<(), String> {
    resolve_start(shared).await.map_err(|e| e.to_string())?;
    publish_stats(shared).await.map_err(|e| e.to_string())
}

async fn publish_stats(shared: &Arc<Shared>) -> Result<(), SessionError> {
    let st = shared.blocking(|s, src| s.stats(src)).await?;
    if let Some(r) = &st.relay_position {
        shared.metrics.relay_at(&r.binlog);
    }
    shared.publish(|p| {
        p.last_seq = st.next_seq.saturating_sub(1);
        p.relay_pos = st.relay_position.as_ref().map(|r| r.binlog.clone());
        p.floor = st.floor.clone();
    });
    Ok(())
}

/// The upstream's current position.
async fn current_position(shared: &Shared) -> Result<Location, SessionError> {
    let ep = &shared.ep;
    let mut conn = ep.connect(vec![]).await?;
    let info = ServerInfo::detect(&mut conn, ep).await?;
    let loc = read_position(&mut conn, &info, ep).await?;
    let _ = conn.disconnect().await;
    Ok(loc)
}

/// An item from the puller.
enum Pulled {
    Event(RawEvent, Option<OwnedSemaphorePermit>),
    Error(ReaderError),
}

/// One session: resolve the start, pull and append until an error or a command.
async fn session(shared: &Arc<Shared>, ctl: &mut mpsc::Receiver<Ctl>) -> Outcome {
    shared.publish(|p| p.writer = WriterState::Starting);
    let start = match resolve_start(shared).await {
        Ok(s) => s,
        Err(e) => return Outcome::Failed(e),
    };
    if let Err(e) = publish_stats(shared).await {
        return Outcome::Failed(e);
    }
    let mut src = upstream_source(shared, start.from.clone(), 0);
    // The writer stores raw events: it needs positions and boundaries, not row images.
    src.set_decode_rows(false);
    let budget_bytes = shared.cfg.buffer_bytes.clamp(1 << 20, 1 << 30);
    let budget = Arc::new(Semaphore::new(budget_bytes as usize));
    let (tx, mut rx) = mpsc::channel(4096);
    watch_buffer(shared, &tx, &budget, budget_bytes);
    let puller = tokio::spawn(pull(
        src,
        tx,
        Arc::clone(&budget),
        budget_bytes,
        shared.source_id.clone(),
        (
            shared.metrics.read_binlog_duration.clone(),
            shared.metrics.read_error_count.clone(),
        ),
    ));
    let mut app = Appender {
        gtid: GtidTracker::new(start.gtid),
        held_until: start.held_until,
        floor_pending: start.floor_pending,
        start_gtid: match &start.from {
            StartFrom::Gtid(g) => Some(g.to_string()),
            StartFrom::Position(_) => None,
        },
        rotate: (0, 0),
        boundary: None,
    };
    let outcome = loop {
        let first = tokio::select! {
            biased;
            c = ctl.recv() => match c {
                None | Some(Ctl::Stop) => break Outcome::Stop,
                Some(Ctl::Restart(p, ack)) => break Outcome::Restart(p, ack),
            },
            item = rx.recv() => item,
        };
        let Some(first) = first else {
            break Outcome::Failed(SessionError::Other(
                "the binlog puller ended".into(),
                ErrorClass::Interrupted,
            ));
        };
        let mut batch = vec![first];
        let mut bytes = item_bytes(&batch[0]);
        while batch.len() < shared.cfg.batch_events.max(1) && bytes < shared.cfg.batch_bytes {
            match rx.try_recv() {
                Ok(item) => {
                    bytes += item_bytes(&item);
                    batch.push(item);
                }
                Err(_) => break,
            }
        }
        match app.write(shared, batch).await {
            Ok(()) => {
                if shared.progress.borrow().writer != WriterState::Running {
                    shared.set_stage(Stage::Running, None);
                    shared.publish(|p| p.writer = WriterState::Running);
                }
            }
            Err(e) => break Outcome::Failed(e),
        }
    };
    puller.abort();
    let _ = puller.await;
    outcome
}

/// Shows the buffer between the puller and the appender as the mailbox `relay-events`.
fn watch_buffer(
    shared: &Shared,
    tx: &mpsc::Sender<Pulled>,
    budget: &Arc<Semaphore>,
    budget_bytes: u64,
) {
    let (weak_tx, weak_budget) = (tx.downgrade(), Arc::downgrade(budget));
    let permits = usize::try_from(budget_bytes).unwrap_or(usize::MAX);
    let fill = move || {
        let (tx, budget) = (weak_tx.upgrade()?, weak_budget.upgrade()?);
        Some((
            tx.max_capacity().saturating_sub(tx.capacity()),
            permits.saturating_sub(budget.available_permits()),
        ))
    };
    crate::metrics::mailbox::watch_fills(
        "relay-events",
        &[("source_id", shared.source_id.clone())],
        vec![(Box::new(fill), (tx.max_capacity(), permits))],
    );
}

fn item_bytes(item: &Pulled) -> u64 {
    match item {
        Pulled::Event(r, _) => r.raw.as_ref().map_or(0, |b| b.len() as u64),
        Pulled::Error(_) => 0,
    }
}

/// Reads the upstream into `tx` until an error (sent) or the receiver closes.
async fn pull(
    mut src: crate::reader::ReconnectingSource,
    tx: mpsc::Sender<Pulled>,
    budget: Arc<Semaphore>,
    budget_bytes: u64,
    source_id: String,
    (read_duration, read_errors): (::metrics::Histogram, ::metrics::Counter),
) {
    loop {
        let asked = std::time::Instant::now();
        let read = src.next_raw().await;
        match &read {
            Ok(_) => read_duration.record(asked.elapsed().as_secs_f64()),
            Err(_) => read_errors.increment(1),
        }
        let item = match read {
            Ok(Some(raw)) => {
                let n = raw.raw.as_ref().map_or(0, |b| b.len() as u64);
                let permit = if n == 0 {
                    None
                } else {
                    let n = u32::try_from(n.min(budget_bytes)).unwrap_or(u32::MAX);
                    match Arc::clone(&budget).acquire_many_owned(n).await {
                        Ok(p) => Some(p),
                        Err(_) => break,
                    }
                };
                Pulled::Event(raw, permit)
            }
            Ok(None) => Pulled::Error(ReaderError::relay(
                &source_id,
                "the upstream ended the binlog stream",
                ErrorClass::Interrupted,
            )),
            Err(e) => Pulled::Error(e),
        };
        let failed = matches!(item, Pulled::Error(_));
        if tx.send(item).await.is_err() || failed {
            break;
        }
    }
    src.close().await;
}

/// Appender state of a session.
struct Appender {
    gtid: GtidTracker,
    /// Events ending at or before this are held already (dropped, but followed for GTIDs).
    held_until: Option<BinlogPosition>,
    /// GTID start: the relay start is set at the first real event.
    floor_pending: bool,
    /// The GTID set the session started from (GTID start).
    start_gtid: Option<String>,
    /// Timestamp and server id of the upstream's last fake rotate.
    rotate: (u32, u32),
    /// The last transaction boundary not yet written with an append.
    boundary: Option<TxnBoundary>,
}

impl Appender {
    async fn write(
        &mut self,
        shared: &Arc<Shared>,
        batch: Vec<Pulled>,
    ) -> Result<(), SessionError> {
        let transform = std::time::Instant::now();
        let read = batch.len();
        let mut events: Vec<NewRelayEvent> = Vec::new();
        let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
        let mut heartbeat = None;
        let mut failure = None;
        for item in batch {
            let (RawEvent { event: ev, raw }, _permit) = match item {
                Pulled::Event(r, p) => (r, p),
                Pulled::Error(e) => {
                    failure = Some(e);
                    break;
                }
            };
            if matches!(ev.body, EventBody::Heartbeat) {
                heartbeat = Some((ev.timestamp, ev.server_id));
                continue;
            }
            let is_fde = matches!(ev.body, EventBody::FormatDescription { .. });
            if is_fde {
                if let Some(raw) = &raw {
                    let h = FileHeader {
                        rotate_timestamp: self.rotate.0,
                        rotate_server_id: self.rotate.1,
                        fde: raw.to_vec(),
                    };
                    headers.push((ev.pos.name.to_string(), h.encode()));
                }
            }
            if ev.artificial {
                if matches!(ev.body, EventBody::Rotate { .. }) {
                    self.rotate = (ev.timestamp, ev.server_id);
                }
                continue;
            }
            if let Some(raw) = &raw {
                self.seed_gtid(raw);
            }
            let at_boundary = self.gtid.observe(&ev);
            if self.held_until.as_ref().is_some_and(|h| ev.pos <= *h) {
                continue;
            }
            self.held_until = None;
            if let Some(raw) = raw {
                if self.floor_pending {
                    self.floor_pending = false;
                    let start = BinlogPosition {
                        name: ev.pos.name.clone(),
                        pos: ev.pos.pos.saturating_sub(raw.len() as u64),
                    };
                    let rp = RelayPosition {
                        binlog: start.clone(),
                        gtid: self.start_gtid.clone(),
                        txn_end: Some(start.clone()),
                    };
                    shared.blocking(move |s, src| s.reset(src, &rp)).await?;
                    shared.publish(|p| {
                        p.floor = Some(start.clone());
                        p.relay_pos = Some(start.clone());
                    });
                    tracing::info!(source = %shared.source_id, start = %start, "relay log starts");
                }
                events.push(NewRelayEvent {
                    end: ev.pos.clone(),
                    timestamp: ev.timestamp,
                    raw: Vec::from(raw),
                });
            }
            if at_boundary {
                self.boundary = Some(TxnBoundary {
                    end: ev.pos.clone(),
                    gtid: self.gtid.set().map(|g| g.to_string()),
                });
            }
        }
        // DM's transform of a read event before it is written: the mean of this write's.
        if read > 0 {
            let mean = transform.elapsed().as_secs_f64() / read as f64;
            shared.metrics.read_transform_duration.record(mean);
        }
        if !headers.is_empty() {
            shared
                .blocking(move |s, src| {
                    for (file, h) in &headers {
                        if s.file_header(src, file)?.as_deref() != Some(h.as_slice()) {
                            s.put_file_header(src, file, h)?;
                        }
                    }
                    Ok(())
                })
                .await?;
        }
        if !events.is_empty() {
            let boundary = self.boundary.take();
            let gtid = boundary.as_ref().and_then(|b| b.gtid.clone());
            let last = events.last().map(|e| e.end.clone());
            let b2 = boundary.clone();
            let bytes: usize = events.iter().map(|e| e.raw.len()).sum();
            let began = std::time::Instant::now();
            let seqs = shared
                .blocking(move |s, src| s.append(src, &events, b2.as_ref()))
                .await
                .inspect_err(|_| shared.metrics.write_error_count.increment(1))?;
            shared
                .metrics
                .write_duration
                .record(began.elapsed().as_secs_f64());
            shared.metrics.write_size.record(bytes as f64);
            if let Some(p) = &last {
                shared.metrics.relay_at(p);
            }
            if boundary.is_some() {
                shared.set_relay_gtid(gtid);
            }
            if let Some((_, last_seq)) = seqs {
                shared.publish(|p| {
                    p.last_seq = last_seq;
                    p.relay_pos = last;
                    if let Some(h) = heartbeat {
                        p.heartbeats += 1;
                        p.heartbeat = h;
                    }
                });
                heartbeat = None;
            }
        }
        if let Some(h) = heartbeat {
            shared.publish(|p| {
                p.heartbeats += 1;
                p.heartbeat = h;
            });
        }
        match failure {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    /// The GTID set at the start of a file, from its previous-GTIDs (MySQL) or GTID list
    /// (MariaDB) event, when the tracker does not know it yet.
    fn seed_gtid(&mut self, raw: &[u8]) {
        if self.gtid.set().is_some() || self.gtid.in_txn() {
            return;
        }
        let (Some(&code), Some(body)) = (raw.get(4), raw.get(19..)) else {
            return;
        };
        let set = match code {
            PREVIOUS_GTIDS => parse_previous_gtids(body),
            MARIADB_GTID_LIST => parse_gtid_list(body),
            _ => return,
        };
        if let Some(set) = set {
            self.gtid = GtidTracker::new(Some(set));
        }
    }
}
