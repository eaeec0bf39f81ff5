//! [`BinlogSource`] of the default backend: `mysql_async` connects and detects the server,
//! then the events come over Ferry's own dump connection ([`super::dump`]), or over the
//! driver's binlog stream when the source needs what that connection does not do (TLS,
//! another authentication plugin).
//!
//! What is added on top of the driver:
//! - MariaDB: `@mariadb_slave_capability=4`, so GTID events are sent as such (not rewritten
//!   into `BEGIN` queries);
//! - a heartbeat period and a read deadline derived from it;
//! - events go through [`EventDecoder`] as raw bytes (CRC32 verification, 64-bit positions,
//!   MariaDB GTIDs, compressed transactions), the path relay-log readers take too;
//!   [`MysqlAsyncSource::next_raw`] hands the raw bytes out (the relay writer stores them).
//!   The driver's stream parses events into its own types first; they are turned back into
//!   their bytes ([`raw_bytes`]).

use std::time::Duration;

use bytes::Bytes;
use ferry_model::{BinlogPosition, GtidSet};
use futures::StreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStream, BinlogStreamRequest, Sid};
use mysql_common::packets::binlog_request::BinlogRequest;
use tracing::debug;

use super::decode::raw_bytes;
use super::dump::{DumpConn, OpenError, ReadError};
use super::{BinlogSource, EventDecoder, ReaderError, SourceEvent, StartFrom};
use crate::db::{Endpoint, Flavor, ServerInfo};
use crate::error::TaskError;

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

/// Where the events come from.
enum Feed {
    /// Ferry's own dump connection: event bytes are slices of its read buffer.
    Own(DumpConn),
    /// The driver's binlog stream (TLS, other authentication plugins).
    Driver(BinlogStream),
}

/// What to ask the upstream for, whichever connection asks.
struct DumpRequest {
    file: Vec<u8>,
    pos: u64,
    /// MySQL: `COM_BINLOG_DUMP_GTID` with this executed set.
    sids: Option<Vec<Sid<'static>>>,
}

impl DumpRequest {
    fn for_driver(&self, server_id: u32) -> BinlogStreamRequest<'_> {
        let mut req = BinlogStreamRequest::new(server_id)
            .with_filename(&self.file)
            .with_pos(self.pos);
        if let Some(sids) = &self.sids {
            req = req.with_gtid().with_gtid_set(sids.iter().cloned());
        }
        req
    }

    fn for_own(&self, server_id: u32) -> BinlogRequest<'_> {
        let req = BinlogRequest::new(server_id)
            .with_filename(&self.file[..])
            .with_pos(self.pos);
        match &self.sids {
            Some(sids) => req.with_use_gtid(true).with_sids(sids.iter().cloned()),
            None => req,
        }
    }
}

/// Binlog events of one upstream (the default backend).
pub struct MysqlAsyncSource {
    feed: Feed,
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
        let (request, start) = match start {
            StartFrom::Position(p) => (
                DumpRequest {
                    file: p.name.as_bytes().to_vec(),
                    pos: p.pos,
                    sids: None,
                },
                p,
            ),
            StartFrom::Gtid(gtid) => {
                let bad = |reason: String| ReaderError::Decode {
                    addr: ep.addr(),
                    pos: unknown_position(),
                    type_code: 0,
                    reason: format!("cannot start from GTID set {gtid}: {reason}"),
                };
                let sids = match (&gtid, info.flavor) {
                    (GtidSet::Mariadb(_), Flavor::Mariadb) => {
                        setup.push(format!("SET @slave_connect_state = '{gtid}'"));
                        setup.push("SET @slave_gtid_strict_mode = 1".to_string());
                        None
                    }
                    (GtidSet::Mysql(m), Flavor::Mysql) => Some(mysql_sids(m).map_err(bad)?),
                    _ => return Err(bad(format!("not a {:?} GTID set", info.flavor))),
                };
                let request = DumpRequest {
                    file: Vec::new(),
                    pos: 4,
                    sids,
                };
                (request, unknown_position())
            }
        };
        let (own, conn) = match ep.tls {
            // Known before connecting: TLS is the driver's.
            Some(_) => (Err("TLS".to_string()), Some(conn)),
            None => {
                // The driver's connection served to detect the server: one connection at a
                // time, as the upstream's connection limits count them.
                let _ = conn.disconnect().await;
                let own = Self::open_own(ep, &setup, &request, &start, opts.server_id).await?;
                (own, None)
            }
        };
        let feed = match own {
            Ok(own) => Feed::Own(own),
            Err(what) => {
                debug!(upstream = %ep.addr(), %what, "reading the binlog through the driver's stream");
                let mut conn = match conn {
                    Some(c) => c,
                    None => ep.connect(vec![]).await?,
                };
                for stmt in &setup {
                    conn.query_drop(stmt.as_str())
                        .await
                        .map_err(ep.sql_err(stmt.clone()))?;
                }
                let stream = conn
                    .get_binlog_stream(request.for_driver(opts.server_id))
                    .await
                    .map_err(|source| stream_error(ep, &start, source))?;
                Feed::Driver(stream)
            }
        };
        let decoder = EventDecoder::new(ep.addr(), start, opts.verify_checksum);
        Ok(Self {
            feed,
            addr: ep.addr(),
            info,
            opts,
            decoder,
        })
    }

    /// Ferry's own dump connection to `ep`, set up and streaming `request`; `Ok(Err(what))`
    /// when the upstream asks for something it does not do (the driver's stream then serves).
    async fn open_own(
        ep: &Endpoint,
        setup: &[String],
        request: &DumpRequest,
        start: &BinlogPosition,
        server_id: u32,
    ) -> Result<Result<DumpConn, String>, ReaderError> {
        let mut own = match DumpConn::open(ep).await {
            Ok(own) => own,
            Err(OpenError::Unsupported(what)) => return Ok(Err(what)),
            Err(OpenError::Driver(source)) => {
                return Err(ReaderError::Setup(Box::new(TaskError::Connect {
                    side: ep.side,
                    addr: ep.addr(),
                    source,
                })))
            }
        };
        // The driver asks for checksums when it registers; so does this connection.
        let statements = ep
            .session_statements()
            .chain(std::iter::once(
                "SET @master_binlog_checksum = 'ALL'".to_string(),
            ))
            .chain(setup.iter().cloned());
        for stmt in statements {
            own.execute(&stmt).await.map_err(ep.sql_err(stmt.clone()))?;
        }
        let stream_err = |source| stream_error(ep, start, source);
        own.register_replica(server_id).await.map_err(stream_err)?;
        own.request_binlog(&request.for_own(server_id))
            .await
            .map_err(stream_err)?;
        Ok(Ok(own))
    }

    /// True when the events come over Ferry's own dump connection, false when over the
    /// driver's binlog stream (TLS, another authentication plugin).
    pub fn reads_own_connection(&self) -> bool {
        matches!(self.feed, Feed::Own(_))
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
        match self.feed {
            Feed::Own(own) => drop(own),
            Feed::Driver(stream) => {
                let _ = stream.close().await;
            }
        }
    }

    /// Returns the decoder (its position, format description and table maps), to continue
    /// the stream from another feed of the same binlog; the connection is closed in the
    /// background (so that this cannot be cancelled half-way).
    pub fn into_decoder(self) -> EventDecoder {
        let stream = match self.feed {
            Feed::Own(own) => {
                drop(own);
                return self.decoder;
            }
            Feed::Driver(stream) => stream,
        };
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
        let stream = match &mut self.feed {
            Feed::Own(own) => {
                return match own.next_event(self.opts.read_timeout).await {
                    Ok(Some(raw)) => Ok(Some(RawEvent {
                        event: self.decoder.decode_shared(&raw)?,
                        raw: Some(raw),
                    })),
                    Ok(None) => Ok(None),
                    Err(ReadError::Idle) => Err(self.idle_error()),
                    Err(ReadError::Driver(source)) => Err(self.stream_error(source)),
                }
            }
            Feed::Driver(stream) => stream,
        };
        loop {
            let next = if self.opts.read_timeout.is_zero() {
                stream.next().await
            } else {
                match tokio::time::timeout(self.opts.read_timeout, stream.next()).await {
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
            let raw = Bytes::from(raw);
            return Ok(Some(RawEvent {
                event: self.decoder.decode_shared(&raw)?,
                raw: Some(raw),
            }));
        }
    }

    /// Nothing arrived within the read timeout.
    fn idle_error(&self) -> ReaderError {
        ReaderError::Timeout {
            addr: self.addr.clone(),
            pos: self.decoder.position().clone(),
            secs: self.opts.read_timeout.as_secs(),
        }
    }

    /// The stream failed after the last event read.
    fn stream_error(&self, source: mysql_async::Error) -> ReaderError {
        ReaderError::Stream {
            addr: self.addr.clone(),
            pos: self.decoder.position().clone(),
            source: Box::new(source),
        }
    }

    async fn read(&mut self) -> Result<Option<SourceEvent>, ReaderError> {
        Ok(self.next_raw().await?.map(|r| r.event))
    }
}

/// Opening the stream at `pos` failed.
fn stream_error(ep: &Endpoint, pos: &BinlogPosition, source: mysql_async::Error) -> ReaderError {
    ReaderError::Stream {
        addr: ep.addr(),
        pos: pos.clone(),
        source: Box::new(source),
    }
}

/// The position before the first rotate of a stream started from a GTID set.
fn unknown_position() -> BinlogPosition {
    BinlogPosition {
        name: Default::default(),
        pos: 4,
    }
}

/// A MySQL GTID set as the driver's `Sid`s (our intervals are closed, theirs half-open).
fn mysql_sids(set: &ferry_model::MysqlGtids) -> Result<Vec<Sid<'static>>, String> {
    let mut out = Vec::with_capacity(set.len());
    for (key, ivs) in set {
        let mut text = key.to_string();
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
