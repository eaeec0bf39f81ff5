//! [`BinlogSource`] over `mysql_async`'s binlog stream (the default backend).
//!
//! What is added on top of the driver:
//! - MariaDB: `@mariadb_slave_capability=4`, so GTID events are sent as such (not rewritten
//!   into `BEGIN` queries);
//! - a heartbeat period and a read deadline derived from it;
//! - events go back to their raw bytes and through [`EventDecoder`] (CRC32 verification,
//!   64-bit positions, MariaDB GTIDs, compressed transactions), the path relay-log readers
//!   take too; [`MysqlAsyncSource::next_raw`] hands the raw bytes out (the relay writer
//!   stores them).

use std::time::Duration;

use bytes::Bytes;
use ferry_model::{BinlogPosition, GtidSet};
use futures::StreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStream, BinlogStreamRequest, Sid};

use super::decode::raw_bytes;
use super::{BinlogSource, EventDecoder, ReaderError, SourceEvent, StartFrom};
use crate::db::{Endpoint, Flavor, ServerInfo};

/// An event with the raw bytes it was decoded from.
#[derive(Debug, Clone)]
pub struct RawEvent {
    /// The decoded event.
    pub event: SourceEvent,
    /// The event as the server sent it, header included; `None` for the inner events of a
    /// transaction payload (decoded from the bytes of the payload event, returned before).
    pub raw: Option<Bytes>,
}

/// How to open the stream.
#[derive(Debug, Clone)]
pub struct ReaderOptions {
    /// Server id announced to the upstream; must differ from every other replica's.
    pub server_id: u32,
    /// Heartbeat period asked of the upstream (it sends a heartbeat when idle that long).
    pub heartbeat: Duration,
    /// `next_event` fails (transient) when nothing arrives for this long; zero disables it.
    /// Should be a few heartbeat periods.
    pub read_timeout: Duration,
    /// Verify CRC32 checksums when the upstream writes them.
    pub verify_checksum: bool,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        Self {
            server_id: 429_496_729,
            heartbeat: Duration::from_secs(30),
            read_timeout: Duration::from_secs(90),
            verify_checksum: true,
        }
    }
}

/// Binlog events of one upstream through `mysql_async`.
pub struct MysqlAsyncSource {
    stream: BinlogStream,
    addr: String,
    info: ServerInfo,
    opts: ReaderOptions,
    /// Raw events to [`SourceEvent`]s; knows the position after the last event.
    decoder: EventDecoder,
}

impl std::fmt::Debug for MysqlAsyncSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MysqlAsyncSource")
            .field("addr", &self.addr)
            .field("pos", self.decoder.position())
            .finish_non_exhaustive()
    }
}

impl MysqlAsyncSource {
    /// Connects to `ep` and starts streaming at `start`: a file and an event boundary in it,
    /// or the first transaction missing from a GTID set (then [`Self::position`] has an empty
    /// file name until the first rotate).
    pub async fn start(
        ep: &Endpoint,
        start: impl Into<StartFrom>,
        opts: ReaderOptions,
    ) -> Result<Self, ReaderError> {
        let start = start.into();
        let mut conn = ep.connect(vec![]).await?;
        let info = ServerInfo::detect(&mut conn, ep).await?;
        let period_ns = u64::try_from(opts.heartbeat.as_nanos()).unwrap_or(u64::MAX);
        let mut setup = vec![
            // MySQL ≥ 8.0.26 reads `source_*`, older ones and MariaDB read `master_*`.
            format!("SET @master_heartbeat_period = {period_ns}"),
            format!("SET @source_heartbeat_period = {period_ns}"),
        ];
        if info.flavor == Flavor::Mariadb {
            // 4 = MARIA_SLAVE_CAPABILITY_GTID: GTID events are sent as they are.
            setup.push("SET @mariadb_slave_capability = 4".to_string());
        }
        let file = match &start {
            StartFrom::Position(p) => p.name.clone(),
            StartFrom::Gtid(_) => String::new(),
        };
        let mut req = BinlogStreamRequest::new(opts.server_id);
        let start = match start {
            StartFrom::Position(p) => {
                req = req.with_filename(file.as_bytes()).with_pos(p.pos);
                p
            }
            StartFrom::Gtid(gtid) => {
                let bad = |reason: String| ReaderError::Decode {
                    addr: ep.addr(),
                    pos: unknown_position(),
                    type_code: 0,
                    reason: format!("cannot start from GTID set {gtid}: {reason}"),
                };
                match (&gtid, info.flavor) {
                    (GtidSet::Mariadb(_), Flavor::Mariadb) => {
                        setup.push(format!("SET @slave_connect_state = '{gtid}'"));
                        setup.push("SET @slave_gtid_strict_mode = 1".to_string());
                        req = req.with_pos(4);
                    }
                    (GtidSet::Mysql(m), Flavor::Mysql) => {
                        req = req
                            .with_gtid()
                            .with_gtid_set(mysql_sids(m).map_err(bad)?)
                            .with_pos(4);
                    }
                    _ => return Err(bad(format!("not a {:?} GTID set", info.flavor))),
                }
                unknown_position()
            }
        };
        for stmt in &setup {
            conn.query_drop(stmt.as_str())
                .await
                .map_err(ep.sql_err(stmt.clone()))?;
        }
        let stream = conn
            .get_binlog_stream(req)
            .await
            .map_err(|source| ReaderError::Stream {
                addr: ep.addr(),
                pos: start.clone(),
                source: Box::new(source),
            })?;
        let decoder = EventDecoder::new(ep.addr(), start, opts.verify_checksum);
        Ok(Self {
            stream,
            addr: ep.addr(),
            info,
            opts,
            decoder,
        })
    }

    /// The upstream as detected when connecting.
    pub fn server(&self) -> &ServerInfo {
        &self.info
    }

    /// Position after the last event returned (the start position before the first).
    pub fn position(&self) -> &BinlogPosition {
        self.decoder.position()
    }

    /// Closes the connection.
    pub async fn close(self) {
        let _ = self.stream.close().await;
    }

    /// Returns the decoder (its position, format description and table maps), to continue
    /// the stream from another feed of the same binlog; the connection is closed in the
    /// background (so that this cannot be cancelled half-way).
    pub fn into_decoder(self) -> EventDecoder {
        let stream = self.stream;
        match tokio::runtime::Handle::try_current() {
            Ok(h) => {
                h.spawn(async move {
                    let _ = stream.close().await;
                });
            }
            Err(_) => drop(stream),
        }
        self.decoder
    }

    /// See [`EventDecoder::set_decode_rows`].
    pub fn set_decode_rows(&mut self, on: bool) {
        self.decoder.set_decode_rows(on);
    }

    /// True while inner events of a transaction payload remain to be returned.
    pub fn in_payload(&self) -> bool {
        self.decoder.in_payload()
    }

    /// The next event with the raw bytes it was decoded from.
    pub async fn next_raw(&mut self) -> Result<Option<RawEvent>, ReaderError> {
        if let Some(event) = self.decoder.next_inner()? {
            return Ok(Some(RawEvent { event, raw: None }));
        }
        loop {
            let next = if self.opts.read_timeout.is_zero() {
                self.stream.next().await
            } else {
                match tokio::time::timeout(self.opts.read_timeout, self.stream.next()).await {
                    Ok(n) => n,
                    Err(_) => {
                        return Err(ReaderError::Timeout {
                            addr: self.addr.clone(),
                            pos: self.decoder.position().clone(),
                            secs: self.opts.read_timeout.as_secs(),
                        })
                    }
                }
            };
            let event = match next {
                None => return Ok(None),
                Some(Err(source)) => {
                    return Err(ReaderError::Stream {
                        addr: self.addr.clone(),
                        pos: self.decoder.position().clone(),
                        source: Box::new(source),
                    })
                }
                Some(Ok(e)) => e,
            };
            // The driver expands transaction payloads itself (its inner events have checksums
            // disabled); the decoder expands them from the payload event's bytes instead.
            if !event.footer().get_checksum_enabled() {
                continue;
            }
            let raw = raw_bytes(&event).map_err(|reason| ReaderError::Decode {
                addr: self.addr.clone(),
                pos: self.decoder.position().clone(),
                type_code: event.header().event_type_raw(),
                reason,
            })?;
            let ev = self.decoder.decode(&raw)?;
            return Ok(Some(RawEvent {
                event: ev,
                raw: Some(Bytes::from(raw)),
            }));
        }
    }

    async fn read(&mut self) -> Result<Option<SourceEvent>, ReaderError> {
        Ok(self.next_raw().await?.map(|r| r.event))
    }
}

/// The position before the first rotate of a stream started from a GTID set.
fn unknown_position() -> BinlogPosition {
    BinlogPosition {
        name: String::new(),
        pos: 4,
    }
}

/// A MySQL GTID set as the driver's `Sid`s (our intervals are closed, theirs half-open).
fn mysql_sids(
    set: &std::collections::BTreeMap<String, Vec<(u64, u64)>>,
) -> Result<Vec<Sid<'static>>, String> {
    let mut out = Vec::with_capacity(set.len());
    for (key, ivs) in set {
        let mut text = key.clone();
        for &(a, b) in ivs {
            if b == u64::MAX {
                return Err(format!("interval {a}-{b} of {key} is too large"));
            }
            text.push_str(&format!(":{a}-{b}"));
        }
        out.push(text.parse::<Sid<'static>>().map_err(|e| e.to_string())?);
    }
    Ok(out)
}

impl BinlogSource for MysqlAsyncSource {
    fn next_event(
        &mut self,
    ) -> impl std::future::Future<Output = Result<Option<SourceEvent>, ReaderError>> + Send {
        self.read()
    }
}
