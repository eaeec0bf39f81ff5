//! [`RelaySource`]: a task's binlog stream on a relay-enabled source.

use std::collections::VecDeque;
use std::sync::Arc;

use ferry_model::{BinlogPosition, GtidSet};
use ferry_relay::{ReadFrom, ReadLimit, RelayEvent, RelayLog, StoreError};
use tokio::sync::watch;

use super::header::{fake_rotate, FileHeader};
use super::{upstream_source, Progress, Shared, WriterState};
use crate::error::{Action, ErrorClass};
use crate::reader::event_header;
use crate::reader::{
    BinlogSource, EventBody, EventDecoder, GtidTracker, ReaderError, ReconnectingSource,
    SourceEvent, StartFrom,
};

/// `ROTATE_EVENT`.
/// Most events per relay read.
const READ_EVENTS: usize = 512;
/// Most raw bytes per relay read.
const READ_BYTES: u64 = 8 << 20;

/// A task's binlog stream on a relay-enabled source, from [`super::RelayService::open`].
///
/// It yields the [`SourceEvent`]s [`crate::reader::MysqlAsyncSource`] would yield from the
/// same start, heartbeats aside (while caught up with the relay it passes on the heartbeats
/// the relay writer receives). Events come from the relay log when it holds them; before the
/// relay's first event they come from the upstream, and the stream switches to the relay log
/// at the first event boundary the relay holds, keeping its decoder (no gap, no duplicate, and
/// a transaction cut by the switch decodes on). When the relay log holds nothing new, it
/// waits for the writer (no polling).
pub struct RelaySource {
    shared: Arc<Shared>,
    progress: watch::Receiver<Progress>,
    id: u64,
    mode: Mode,
    /// Synthesized events to return first.
    out: VecDeque<SourceEvent>,
    /// Opened from a GTID set: transactions in it are skipped once reading the relay log.
    skip_set: Option<GtidSet>,
    /// Follows the transactions returned, for `skip_set`.
    gtid: GtidTracker,
    /// Inside a transaction being skipped.
    skipping: bool,
    /// Heartbeats already passed on.
    heartbeats: u64,
}

enum Mode {
    /// Reading the upstream directly (before the relay's first event, or while the relay is
    /// behind).
    Upstream {
        src: Box<ReconnectingSource>,
        /// The start position, when opened from one (for error messages).
        wanted: Option<BinlogPosition>,
        /// A real event was returned.
        started: bool,
        /// The last real event returned is a rotate (the upstream's fake rotate follows: no
        /// switch-over there).
        after_rotate: bool,
    },
    /// Starting in the relay log at this position: the synthesized start events are not out
    /// yet.
    RelayStart(BinlogPosition),
    /// Reading the relay log.
    Relay {
        decoder: Box<EventDecoder>,
        /// Read after this (first: the start position, then the last sequence read).
        from: ReadFrom,
        buf: VecDeque<RelayEvent>,
    },
    /// Failed for good, with the class of the error that ended it.
    Failed(ErrorClass),
}

impl std::fmt::Debug for RelaySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match &self.mode {
            Mode::Upstream { .. } => "upstream",
            Mode::RelayStart(_) => "relay (starting)",
            Mode::Relay { .. } => "relay",
            Mode::Failed(_) => "failed",
        };
        f.debug_struct("RelaySource")
            .field("source", &self.shared.source_id)
            .field("mode", &mode)
            .finish_non_exhaustive()
    }
}

impl Drop for RelaySource {
    fn drop(&mut self) {
        self.shared.unregister_reader(self.id);
    }
}

/// The position below every real one (a purge floor that protects everything).
fn lowest() -> BinlogPosition {
    BinlogPosition {
        name: Default::default(),
        pos: 0,
    }
}

impl RelaySource {
    pub(super) async fn open(shared: Arc<Shared>, start: StartFrom) -> Self {
        let floor = match &start {
            StartFrom::Position(p) => p.clone(),
            StartFrom::Gtid(_) => lowest(),
        };
        // Registered, and the relay looked at, between purges: no purge passes the start.
        let purging = shared.purge_lock.lock().await;
        let id = shared.register_reader(floor);
        let progress = shared.progress.subscribe();
        drop(purging);
        let heartbeats = progress.borrow().heartbeats;
        let (mode, skip_set) = match start {
            StartFrom::Position(p) if progress.borrow().holds(&p) => (Mode::RelayStart(p), None),
            StartFrom::Position(p) => (
                Mode::Upstream {
                    src: Box::new(upstream_source(&shared, StartFrom::Position(p.clone()), id)),
                    wanted: Some(p),
                    started: false,
                    after_rotate: false,
                },
                None,
            ),
            StartFrom::Gtid(g) => (
                Mode::Upstream {
                    src: Box::new(upstream_source(&shared, StartFrom::Gtid(g.clone()), id)),
                    wanted: None,
                    started: false,
                    after_rotate: false,
                },
                Some(g),
            ),
        };
        Self {
            shared,
            progress,
            id,
            mode,
            out: VecDeque::new(),
            skip_set,
            gtid: GtidTracker::new(None),
            skipping: false,
            heartbeats,
        }
    }

    /// True while the events come from the relay log (false: from the upstream directly).
    pub fn from_relay(&self) -> bool {
        matches!(self.mode, Mode::Relay { .. } | Mode::RelayStart(_))
    }

    fn relay_err(&self, reason: impl Into<String>, class: ErrorClass) -> ReaderError {
        ReaderError::relay(&self.shared.source_id, reason, class)
    }

    fn store_err(&self, e: StoreError) -> ReaderError {
        self.relay_err(e.to_string(), ErrorClass::Store)
    }

    async fn next(&mut self) -> Result<Option<SourceEvent>, ReaderError> {
        loop {
            let from_relay = self.from_relay();
            let next = self.next_unfiltered().await.inspect_err(|e| {
                if from_relay && e.class() == ErrorClass::BinlogCorrupt {
                    self.shared.metrics.data_corruption.increment(1);
                }
            });
            let Some(ev) = next? else {
                return Ok(None);
            };
            if self.skip(&ev) {
                continue;
            }
            return Ok(Some(ev));
        }
    }

    /// GTID start: once reading the relay log, the transactions the start set contains are
    /// dropped, as the upstream does.
    fn skip(&mut self, ev: &SourceEvent) -> bool {
        let (Some(set), Mode::Relay { .. }) = (&self.skip_set, &self.mode) else {
            return false;
        };
        if ev.artificial {
            return self.skipping;
        }
        let was_in = self.gtid.in_txn();
        let boundary = self.gtid.observe(ev);
        if !was_in && self.gtid.in_txn() {
            self.skipping = self.gtid.pending_in(set);
        }
        let skipped = self.skipping;
        if boundary {
            self.skipping = false;
        }
        skipped
    }

    async fn next_unfiltered(&mut self) -> Result<Option<SourceEvent>, ReaderError> {
        loop {
            if let Some(ev) = self.out.pop_front() {
                return Ok(Some(ev));
            }
            match &mut self.mode {
                Mode::Failed(class) => {
                    let class = *class;
                    return Err(self.relay_err("the stream failed before", class));
                }
                Mode::Upstream { .. } => {
                    if let Some(ev) = self.next_upstream().await? {
                        return Ok(Some(ev));
                    }
                }
                Mode::RelayStart(p) => {
                    let p = p.clone();
                    self.start_relay(p).await?;
                }
                Mode::Relay { .. } => {
                    if let Some(ev) = self.next_relay().await? {
                        return Ok(Some(ev));
                    }
                }
            }
        }
    }

    /// Upstream mode: the next event, or `None` after switching to the relay log.
    async fn next_upstream(&mut self) -> Result<Option<SourceEvent>, ReaderError> {
        let Mode::Upstream {
            src,
            wanted,
            started,
            after_rotate,
        } = &mut self.mode
        else {
            return Ok(None);
        };
        // Switch at an event boundary the relay holds, once any payload is drained.
        if *started && !*after_rotate && !src.in_payload() {
            if let Some(at) = src.position().cloned() {
                if self.progress.borrow().holds(&at) {
                    let Mode::Upstream { src, .. } =
                        std::mem::replace(&mut self.mode, Mode::Failed(ErrorClass::Other))
                    else {
                        return Ok(None);
                    };
                    let Some(mut decoder) = src.into_decoder() else {
                        self.mode = Mode::RelayStart(at);
                        return Ok(None);
                    };
                    decoder.set_label(format!("relay log of source `{}`", self.shared.source_id));
                    tracing::info!(source = %self.shared.source_id, at = %at,
                        "reader switches from the upstream to the relay log");
                    self.mode = Mode::Relay {
                        decoder: Box::new(decoder),
                        from: ReadFrom::AfterPosition(at),
                        buf: VecDeque::new(),
                    };
                    return Ok(None);
                }
            }
        }
        match src.next_event().await {
            Ok(Some(ev)) => {
                if !ev.artificial {
                    *started = true;
                    *after_rotate = matches!(ev.body, EventBody::Rotate { .. });
                    self.shared.reader_at(self.id, &ev.pos);
                }
                Ok(Some(ev))
            }
            Ok(None) => Err(self.relay_err(
                "the upstream ended the binlog stream",
                ErrorClass::Interrupted,
            )),
            // The upstream cannot serve the start (and the relay does not hold it): give up
            // unless the policy retries what the upstream answered.
            Err(e) if !*started && e.action() != Action::Retry => {
                let Some(wanted) = wanted.clone() else {
                    return Err(e);
                };
                let relay = self.progress.borrow().describe();
                self.mode = Mode::Failed(e.class());
                Err(ReaderError::Unavailable {
                    source_id: self.shared.source_id.clone(),
                    file: wanted.name.to_string(),
                    wanted,
                    relay,
                    upstream: Box::new(e),
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Starts reading the relay log at `p`: the fake rotate and (past offset 4) the format
    /// description the upstream would send first.
    async fn start_relay(&mut self, p: BinlogPosition) -> Result<(), ReaderError> {
        loop {
            let name = p.name.clone();
            let header = self
                .shared
                .blocking(move |s, src| s.file_header(src, &name))
                .await
                .map_err(|e| self.store_err(e))?;
            let Some(header) = header else {
                // The writer stores a file's header before its events: wait for it when the
                // relay has nothing after `p` yet.
                let at_end = self
                    .progress
                    .borrow()
                    .relay_pos
                    .as_ref()
                    .is_none_or(|r| *r <= p);
                if at_end {
                    self.wait().await?;
                    continue;
                }
                return Err(self.relay_err(
                    format!("no format description stored for binlog file {}", p.name),
                    ErrorClass::BinlogCorrupt,
                ));
            };
            let header = FileHeader::decode(&header).map_err(|r| {
                self.relay_err(format!("file {}: {r}", p.name), ErrorClass::BinlogCorrupt)
            })?;
            let mut decoder = EventDecoder::new(
                format!("relay log of source `{}`", self.shared.source_id),
                p.clone(),
                self.shared.cfg.reader.verify_checksum,
            );
            self.out.push_back(decoder.decode(&header.fake_rotate(&p))?);
            if p.pos > 4 {
                self.out
                    .push_back(decoder.decode(&header.artificial_fde())?);
            }
            self.mode = Mode::Relay {
                decoder: Box::new(decoder),
                from: ReadFrom::AfterPosition(p),
                buf: VecDeque::new(),
            };
            return Ok(());
        }
    }

    /// Relay mode: the next event, or `None` when the caller should loop (a heartbeat was
    /// queued, or the mode changed).
    async fn next_relay(&mut self) -> Result<Option<SourceEvent>, ReaderError> {
        let Mode::Relay { decoder, from, buf } = &mut self.mode else {
            return Ok(None);
        };
        if let Some(ev) = decoder.next_inner()? {
            return Ok(Some(ev));
        }
        if let Some(stored) = buf.pop_front() {
            let cur = decoder.position();
            // (A rotate event ends in the file it names: no new file before it.)
            let is_rotate =
                event_header::type_code(&stored.raw) == Some(event_header::ROTATE_EVENT);
            if stored.end.name != cur.name && !cur.name.is_empty() && !is_rotate {
                // A new file without a rotate event before it (the previous one ended with the
                // stop event of a server restart): the upstream sends a fake rotate first.
                let next = BinlogPosition {
                    name: stored.end.name.clone(),
                    pos: 4,
                };
                let crc = decoder.checksums();
                buf.push_front(stored);
                let name = next.name.clone();
                let header = self
                    .shared
                    .blocking(move |s, src| s.file_header(src, &name))
                    .await
                    .map_err(|e| self.store_err(e))?
                    .and_then(|h| FileHeader::decode(&h).ok())
                    .ok_or_else(|| {
                        self.relay_err(
                            format!("no format description stored for binlog file {}", next.name),
                            ErrorClass::BinlogCorrupt,
                        )
                    })?;
                let fake =
                    fake_rotate(&next, header.rotate_timestamp, header.rotate_server_id, crc);
                if let Mode::Relay { decoder, .. } = &mut self.mode {
                    self.out.push_back(decoder.decode(&fake)?);
                }
                return Ok(None);
            }
            let ev = decoder.decode(&stored.raw)?;
            if ev.pos != stored.end {
                return Err(ReaderError::relay(
                    &self.shared.source_id,
                    format!(
                        "stored event {} ends at {} but decodes to end at {}",
                        stored.seq, stored.end, ev.pos
                    ),
                    ErrorClass::BinlogCorrupt,
                ));
            }
            // After a real rotate, the upstream sends a fake rotate to the new file.
            if let (EventBody::Rotate { next }, false) = (&ev.body, ev.artificial) {
                let fake = fake_rotate(next, 0, ev.server_id, decoder.checksums());
                self.out.push_back(decoder.decode(&fake)?);
            }
            return Ok(Some(ev));
        }
        // Refill.
        let read_from = from.clone();
        let got = self
            .shared
            .blocking(move |s, src| {
                s.read(
                    src,
                    &read_from,
                    ReadLimit {
                        max_events: READ_EVENTS,
                        max_bytes: READ_BYTES,
                    },
                )
            })
            .await;
        let got = got.map_err(|e| {
            ReaderError::relay(&self.shared.source_id, e.to_string(), ErrorClass::Store)
        })?;
        if let Some(last) = got.last() {
            *from = ReadFrom::AfterSeq(last.seq);
            let at = decoder.position().clone();
            buf.extend(got);
            self.shared.reader_at(self.id, &at);
            return Ok(None);
        }
        self.wait_or_heartbeat().await
    }

    /// Waits for news from the writer; passes on a heartbeat when one arrived meanwhile.
    async fn wait_or_heartbeat(&mut self) -> Result<Option<SourceEvent>, ReaderError> {
        self.wait().await?;
        let (n, (ts, server_id)) = {
            let p = self.progress.borrow();
            (p.heartbeats, p.heartbeat)
        };
        if n != self.heartbeats {
            self.heartbeats = n;
            if let Mode::Relay { decoder, .. } = &self.mode {
                return Ok(Some(SourceEvent {
                    pos: decoder.position().clone(),
                    timestamp: ts,
                    server_id,
                    artificial: true,
                    body: EventBody::Heartbeat,
                }));
            }
        }
        Ok(None)
    }

    /// Waits until the writer publishes something; fails when it stopped or failed.
    async fn wait(&mut self) -> Result<(), ReaderError> {
        let state = self.progress.borrow().writer.clone();
        match state {
            WriterState::Stopped => {
                return Err(self.relay_err("the relay is stopped", ErrorClass::Interrupted));
            }
            WriterState::Failed(e) => {
                // The writer keeps only its error's text: the class is not known here.
                return Err(
                    self.relay_err(format!("the relay writer failed: {e}"), ErrorClass::Other)
                );
            }
            _ => {}
        }
        if self.progress.changed().await.is_err() {
            return Err(self.relay_err("the relay is stopped", ErrorClass::Interrupted));
        }
        Ok(())
    }
}

impl BinlogSource for RelaySource {
    async fn next_event(&mut self) -> Result<Option<SourceEvent>, ReaderError> {
        self.next().await
    }
}
