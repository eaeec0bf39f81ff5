//! [`BinlogSource`] over the `mysql-binlog-connector-rust` crate: the `connector` backend,
//! selectable per source (`binlog-backend: connector`), producing the same [`SourceEvent`]s
//! as the default [`MysqlAsyncSource`](super::MysqlAsyncSource) for the same binlog.
//!
//! # Runtime
//!
//! The crate is async-std based. Its connection lives on an OS thread of its own, which runs
//! the crate's futures with a small executor, decodes each event there (CPU work that stays
//! off the tokio workers) and hands the normalized events to tokio through a bounded channel
//! of [`CHANNEL_EVENTS`] events. Dropping (or [`ConnectorSource::close`]) the source closes
//! the channel, and the thread stops at once, closing the connection.
//!
//! # What the crate is used for, and what is done here
//!
//! The crate connects and authenticates (`mysql_native_password`, `caching_sha2_password`),
//! sends the dump command, frames the packets, and decodes format description, rotate, XID,
//! table map, MySQL GTID events and every column value of a row image. Where it loses or
//! garbles information, this module corrects it or fails clearly:
//!
//! | the crate | here |
//! |---|---|
//! | integers are always decoded signed (`BIGINT UNSIGNED` max is `-1`) | re-signed with the table map's signedness metadata (`binlog_row_metadata=FULL`), as the default backend does; without that metadata both backends give signed values |
//! | its per-column signedness is unusable: `is_signed` holds the bit whose 1 means UNSIGNED, and the bits are dealt to a list of numeric types lacking YEAR and DECIMAL, so every numeric column after one of those gets its neighbour's bit | the signedness field is read from the table map bytes ([`table_unsigned`]) |
//! | rows events: the NULL bitmap is read with one bit per table column instead of one per column present, which misreads `binlog_row_image=MINIMAL`/`NOBLOB` images; flags dropped; panics without a table map | the rows event header and bitmaps are read here and each image is decoded by the crate's `RowEvent::parse` against the table map reduced to the columns present; `STMT_END` from the flags; NULL and "not in the image" told apart ([`RowValue::Absent`]) |
//! | `BIT` as a `u64` | big-endian bytes of the column's width (table map metadata) |
//! | DATE/TIME/DATETIME as text, TIMESTAMP as microseconds, YEAR 0 as 1900 | parsed back into [`RowValue`]s |
//! | JSON as MySQL's binary bytes | decoded with the crate's `JsonBinary` into `serde_json`, carried as its compact text ([`JsonText`](super::JsonText)); values of other SQL types stored inside JSON (opaque: DECIMAL, temporal) are an error (the default backend decodes them, DECIMALs with every digit) |
//! | query status variables dropped, non-UTF-8 statement text rejected | query events read from the event bytes (text converted lossily, as the default backend does) |
//! | CRC32 skipped, never verified | verified from the event bytes ([`ReaderError::Checksum`]) |
//! | MariaDB GTID and `HEARTBEAT_LOG_EVENT_V2` not decoded; MariaDB GTID events replaced by dummy queries (capability not announced) | `@mariadb_slave_capability=4` is set and both are decoded here |
//! | `PARTIAL_UPDATE_ROWS` (partial JSON updates) silently dropped | [`ReaderError::Decode`] naming `binlog_row_value_options` |
//! | tagged GTID events (MySQL 8.4+) dropped | [`ReaderError::Decode`] |
//! | compressed transactions: an inner parse error silently truncates the transaction | decompressed and decoded event by event here; any failure is a [`ReaderError::Decode`] |
//! | other panics on malformed input (length underflow, UTF-8 `unwrap`) | caught: [`ReaderError::Decode`] |
//! | VECTOR columns, unknown table-map metadata | [`ReaderError::Decode`] naming the table |
//! | server errors reduced to their text | the error packet is read here: same [`ReaderError::Stream`] (and classification) as the default backend |
//!
//! Refused at start with [`ReaderError::Unsupported`]: TLS (`from.security`), starting from a
//! MariaDB GTID set (`enable-gtid` on MariaDB), an empty password (the crate always sends a
//! password scramble, which the server rejects), file offsets past 4 GiB (the crate's dump
//! command has a 32-bit offset), and GTID sets with tags.

use std::collections::{HashMap, VecDeque};
use std::io::{Cursor, Read};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;

use bytes::Bytes;
use ferry_model::{BinlogPosition, GtidSet};
use futures::future::{select, Either};
use futures::FutureExt;
use mysql_binlog_connector_rust::binlog_error::BinlogError;
use mysql_binlog_connector_rust::binlog_parser::BinlogParser;
use mysql_binlog_connector_rust::binlog_stream::BinlogStream;
use mysql_binlog_connector_rust::column::column_type::ColumnType as CrateType;
use mysql_binlog_connector_rust::column::column_value::ColumnValue;
use mysql_binlog_connector_rust::column::json::json_binary::JsonBinary;
use mysql_binlog_connector_rust::column::json::json_formatter::JsonFormatter;
use mysql_binlog_connector_rust::command::authenticator::Authenticator;
use mysql_binlog_connector_rust::command::command_util::CommandUtil;
use mysql_binlog_connector_rust::command::dump_binlog_command::DumpBinlogCommand;
use mysql_binlog_connector_rust::command::dump_binlog_gtid_command::DumpBinlogGtidCommand;
use mysql_binlog_connector_rust::command::gtid_set::{GtidSet as CrateGtidSet, Interval, UuidSet};
use mysql_binlog_connector_rust::event::checksum_type::ChecksumType;
use mysql_binlog_connector_rust::event::event_data::EventData;
use mysql_binlog_connector_rust::event::row_event::RowEvent;
use mysql_binlog_connector_rust::event::table_map_event::TableMapEvent;
use tokio::sync::{mpsc, oneshot};

use super::decode::{crc32, decode_mariadb_gtid};
use super::{
    BinlogSource, Date, DateTime, EventBody, ReaderError, ReaderOptions, RowChange, RowValue,
    RowsKind, SourceEvent, StartFrom, Time,
};
use crate::db::{Endpoint, Flavor, ServerInfo};
use crate::error::TaskError;

/// The backend's name, as `binlog-backend` spells it.
const BACKEND: &str = "connector";
/// Events decoded ahead of the consumer (the bound of the thread-to-tokio channel).
pub const CHANNEL_EVENTS: usize = 64;
/// Largest decompressed transaction payload accepted (MySQL's `max_allowed_packet` limit).
const MAX_PAYLOAD: u64 = 1 << 30;

const HEADER_LEN: usize = 19;
const QUERY_EVENT: u8 = 2;
const ROTATE_EVENT: u8 = 4;
const FORMAT_DESCRIPTION_EVENT: u8 = 15;
const TABLE_MAP_EVENT: u8 = 19;
const HEARTBEAT_EVENT: u8 = 27;
const PARTIAL_UPDATE_ROWS_EVENT: u8 = 39;
const TRANSACTION_PAYLOAD_EVENT: u8 = 40;
const HEARTBEAT_V2: u8 = 41;
const GTID_TAGGED_EVENT: u8 = 42;
const MARIADB_GTID_EVENT: u8 = 162;
const LOG_EVENT_ARTIFICIAL_F: u16 = 0x20;
const STMT_END_F: u16 = 0x0001;
/// MySQL column type codes used here.
const TYPE_INT24: u8 = 9;
const TYPE_VECTOR: u8 = 242;

/// What the thread sends: an event, the end of the stream, or the error that stopped it.
type Item = Result<Option<SourceEvent>, ReaderError>;

/// Binlog events of one upstream through `mysql-binlog-connector-rust`.
pub struct ConnectorSource {
    rx: mpsc::Receiver<Item>,
    /// Resolves (with an error) when the thread has finished.
    done: oneshot::Receiver<()>,
    addr: String,
    info: ServerInfo,
    opts: ReaderOptions,
    /// Position after the last event returned.
    pos: BinlogPosition,
    /// The stream ended or failed: later calls return `Ok(None)`.
    ended: bool,
}

impl std::fmt::Debug for ConnectorSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorSource")
            .field("addr", &self.addr)
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

/// The dump request, checked and converted for the crate.
enum Request {
    Position(BinlogPosition),
    Gtid(CrateGtidSet),
}

/// Everything the thread needs to connect.
struct Setup {
    url: String,
    side: crate::error::Side,
    addr: String,
    server_id: u32,
    /// The crate's per-read (and connect) timeout.
    timeout_secs: u64,
    /// Session statements before the dump command.
    statements: Vec<String>,
    request: Request,
    decoder: Decoder,
}

impl ConnectorSource {
    /// Connects to `ep` and starts streaming at `start`, like
    /// [`MysqlAsyncSource::start`](super::MysqlAsyncSource::start).
    ///
    /// Refuses, with [`ReaderError::Unsupported`], what the crate cannot serve: TLS, a
    /// MariaDB GTID start, a start offset past 4 GiB, and GTID sets with tags.
    pub async fn start(
        ep: &Endpoint,
        start: impl Into<StartFrom>,
        opts: ReaderOptions,
    ) -> Result<Self, ReaderError> {
        let start = start.into();
        let addr = ep.addr();
        let unsupported = |what: String| ReaderError::Unsupported {
            addr: addr.clone(),
            backend: BACKEND,
            what,
        };
        let mariadb_gtid = || unsupported("MariaDB GTID (`enable-gtid`)".to_string());
        if ep.tls.is_some() {
            return Err(unsupported("TLS (`from.security`)".to_string()));
        }
        if ep.password.is_empty() {
            // The crate always sends a password scramble, which an account without a
            // password rejects ("Access denied ... using password: YES").
            return Err(unsupported(
                "logging in without a password (empty `from.password`)".to_string(),
            ));
        }
        match &start {
            StartFrom::Gtid(GtidSet::Mariadb(_)) => return Err(mariadb_gtid()),
            StartFrom::Position(p) if p.pos > u64::from(u32::MAX) => {
                return Err(unsupported(format!(
                    "starting past 4 GiB in a binlog file ({p})"
                )))
            }
            _ => {}
        }

        let mut conn = ep.connect(vec![]).await?;
        let info = ServerInfo::detect(&mut conn, ep).await?;
        let _ = conn.disconnect().await;

        let (request, pos) = match start {
            StartFrom::Position(p) => (Request::Position(p.clone()), p),
            StartFrom::Gtid(_) if info.flavor == Flavor::Mariadb => return Err(mariadb_gtid()),
            StartFrom::Gtid(GtidSet::Mysql(m)) => {
                let set = crate_gtid_set(&m).map_err(unsupported)?;
                (Request::Gtid(set), unknown_position())
            }
            StartFrom::Gtid(GtidSet::Mariadb(_)) => return Err(mariadb_gtid()),
        };

        let period_ns = u64::try_from(opts.heartbeat.as_nanos()).unwrap_or(u64::MAX);
        let mut statements = vec![
            // MySQL ≥ 8.0.26 reads `source_*`, older ones and MariaDB read `master_*`.
            format!("SET @master_heartbeat_period = {period_ns}"),
            format!("SET @source_heartbeat_period = {period_ns}"),
        ];
        if info.flavor == Flavor::Mariadb {
            // 4 = MARIA_SLAVE_CAPABILITY_GTID: GTID events are sent as they are.
            statements.push("SET @mariadb_slave_capability = 4".to_string());
        }
        // The crate's own read timeout (whole seconds; it also bounds how long a closed
        // connection goes unnoticed). `read_timeout` below fires first when set.
        let timeout_secs = if opts.read_timeout.is_zero() {
            opts.heartbeat.as_secs().saturating_mul(3).max(60)
        } else {
            opts.read_timeout.as_secs().saturating_add(5)
        }
        .min(86_400);
        let setup = Setup {
            url: connection_url(ep),
            side: ep.side,
            addr: addr.clone(),
            server_id: opts.server_id,
            timeout_secs,
            statements,
            request,
            decoder: Decoder::new(addr.clone(), pos.clone(), opts.verify_checksum),
        };

        let (ready_tx, ready_rx) = oneshot::channel();
        let (tx, rx) = mpsc::channel(CHANNEL_EVENTS);
        let (done_tx, done_rx) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("ferry-binlog-connector".to_string())
            .spawn(move || {
                let _done = done_tx;
                // A panic of the crate outside event decoding ends the thread; the consumer
                // sees the channel close and reports it.
                let run = AssertUnwindSafe(run(setup, ready_tx, tx)).catch_unwind();
                let _ = futures::executor::block_on(run);
            })
            .map_err(|e| ReaderError::Decode {
                addr: addr.clone(),
                pos: pos.clone(),
                type_code: 0,
                reason: format!("cannot start the `connector` backend's thread: {e}"),
            })?;
        match ready_rx.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(thread_stopped(&addr, &pos)),
        }
        Ok(Self {
            rx,
            done: done_rx,
            addr,
            info,
            opts,
            pos,
            ended: false,
        })
    }

    /// The upstream as detected when connecting.
    pub fn server(&self) -> &ServerInfo {
        &self.info
    }

    /// Position after the last event returned (the start position before the first).
    pub fn position(&self) -> &BinlogPosition {
        &self.pos
    }

    /// Closes the connection and waits for the backend's thread to finish.
    pub async fn close(self) {
        let Self { rx, done, .. } = self;
        drop(rx);
        let _ = done.await;
    }

    async fn read(&mut self) -> Result<Option<SourceEvent>, ReaderError> {
        if self.ended {
            return Ok(None);
        }
        let next = if self.opts.read_timeout.is_zero() {
            self.rx.recv().await
        } else {
            match tokio::time::timeout(self.opts.read_timeout, self.rx.recv()).await {
                Ok(n) => n,
                Err(_) => {
                    return Err(ReaderError::Timeout {
                        addr: self.addr.clone(),
                        pos: self.pos.clone(),
                        secs: self.opts.read_timeout.as_secs(),
                    })
                }
            }
        };
        match next {
            Some(Ok(Some(ev))) => {
                self.pos = ev.pos.clone();
                Ok(Some(ev))
            }
            Some(Ok(None)) => {
                self.ended = true;
                Ok(None)
            }
            Some(Err(e)) => {
                self.ended = true;
                Err(e)
            }
            None => {
                self.ended = true;
                Err(thread_stopped(&self.addr, &self.pos))
            }
        }
    }
}

impl BinlogSource for ConnectorSource {
    fn next_event(
        &mut self,
    ) -> impl std::future::Future<Output = Result<Option<SourceEvent>, ReaderError>> + Send {
        self.read()
    }
}

fn thread_stopped(addr: &str, pos: &BinlogPosition) -> ReaderError {
    ReaderError::Decode {
        addr: addr.to_string(),
        pos: pos.clone(),
        type_code: 0,
        reason: "the `connector` backend stopped unexpectedly (the crate panicked)".to_string(),
    }
}

/// The position before the first rotate of a stream started from a GTID set.
fn unknown_position() -> BinlogPosition {
    BinlogPosition {
        name: String::new(),
        pos: 4,
    }
}

/// `mysql://user:password@host:port`, percent-encoded, as the crate takes it.
fn connection_url(ep: &Endpoint) -> String {
    let host = if ep.host.contains(':') && !ep.host.starts_with('[') {
        format!("[{}]", ep.host)
    } else {
        ep.host.clone()
    };
    format!(
        "mysql://{}:{}@{host}:{}",
        percent_encode(&ep.user),
        percent_encode(&ep.password),
        ep.port
    )
}

/// Every byte but RFC 3986's unreserved characters as `%XX`.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Our MySQL GTID set (closed intervals) as the crate's; sets with tags are refused.
fn crate_gtid_set(
    set: &std::collections::BTreeMap<String, Vec<(u64, u64)>>,
) -> Result<CrateGtidSet, String> {
    let mut map = HashMap::with_capacity(set.len());
    for (key, ivs) in set {
        if key.contains(':') {
            return Err(format!("GTID sets with tags (`{key}`)"));
        }
        let intervals = ivs
            .iter()
            .map(|&(a, b)| Interval::new(a, b))
            .collect::<Vec<_>>();
        if ivs.iter().any(|&(_, b)| b == u64::MAX) {
            return Err(format!("GTID interval ending at {} of {key}", u64::MAX));
        }
        map.insert(key.clone(), UuidSet::new(key.clone(), intervals));
    }
    Ok(CrateGtidSet { map })
}

/// The thread's body: connect, report, then stream until the consumer goes away.
async fn run(
    setup: Setup,
    ready: oneshot::Sender<Result<(), ReaderError>>,
    tx: mpsc::Sender<Item>,
) {
    let Setup {
        url,
        side,
        addr,
        server_id,
        timeout_secs,
        statements,
        request,
        mut decoder,
    } = setup;
    let setup_err = |e: BinlogError| -> ReaderError {
        TaskError::Connect {
            side,
            addr: addr.clone(),
            source: driver_error(e),
        }
        .into()
    };
    let connected = async {
        let mut auth = Authenticator::new(&url, timeout_secs, None).map_err(setup_err)?;
        let mut channel = auth.connect().await.map_err(setup_err)?;
        let checksum = CommandUtil::fetch_binlog_checksum(&mut channel)
            .await
            .map_err(setup_err)?;
        CommandUtil::setup_binlog_connection(&mut channel)
            .await
            .map_err(setup_err)?;
        for stmt in &statements {
            CommandUtil::execute_sql(&mut channel, stmt)
                .await
                .map_err(setup_err)?;
        }
        let command = match request {
            Request::Position(p) => DumpBinlogCommand {
                server_id: u64::from(server_id),
                binlog_filename: p.name,
                // Checked at start: fits.
                binlog_position: u32::try_from(p.pos).unwrap_or(u32::MAX),
            }
            .to_bytes(),
            Request::Gtid(gtid_set) => DumpBinlogGtidCommand {
                server_id: u64::from(server_id),
                gtid_set,
            }
            .to_bytes(),
        }
        .map_err(setup_err)?;
        channel.write(&command, 0).await.map_err(setup_err)?;
        Ok::<_, ReaderError>(BinlogStream {
            channel,
            parser: BinlogParser {
                checksum_length: checksum.get_length(),
                table_map_event_by_table_id: HashMap::new(),
            },
        })
    };
    let mut stream = match connected.await {
        Ok(s) => {
            let _ = ready.send(Ok(()));
            s
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    loop {
        let item = {
            let next = pin!(next_item(&mut stream, &mut decoder));
            let closed = pin!(tx.closed());
            match select(next, closed).await {
                Either::Left((item, _)) => item,
                Either::Right(_) => break,
            }
        };
        let last = !matches!(item, Ok(Some(_)));
        if tx.send(item).await.is_err() || last {
            break;
        }
    }
    let _ = stream.close().await;
}

/// The next event: a queued one from a compressed transaction, or the next packet's.
async fn next_item(stream: &mut BinlogStream, decoder: &mut Decoder) -> Item {
    if let Some(ev) = decoder.pending.pop_front() {
        return Ok(Some(ev));
    }
    let packet = stream
        .channel
        .read()
        .await
        .map_err(|e| decoder.stream_err(e))?;
    match packet.first() {
        Some(0x00) => decoder.event(&mut stream.parser, &packet[1..]).map(Some),
        Some(0xFF) => Err(decoder.server_err(&packet)),
        // EOF packet: the server ended the stream.
        Some(0xFE) if packet.len() < 9 => Ok(None),
        other => Err(decoder.decode_err(
            0,
            format!(
                "unexpected packet (first byte {:?}, {} bytes)",
                other,
                packet.len()
            ),
        )),
    }
}

/// A crate error as the driver error that `ReaderError`/`TaskError` classify: I/O errors are
/// transient, anything else definite.
fn driver_error(e: BinlogError) -> mysql_async::Error {
    match e {
        BinlogError::IoError(io) => mysql_async::Error::Io(mysql_async::IoError::Io(io)),
        // The crate's read timeouts and its "too many zero-length reads" (a closed socket).
        BinlogError::UnexpectedData(msg)
            if msg.contains("timeout") || msg.contains("zero-length") =>
        {
            mysql_async::Error::Io(mysql_async::IoError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                msg,
            )))
        }
        other => mysql_async::Error::Other(Box::new(other)),
    }
}

/// Fields of an event header.
#[derive(Debug, Clone, Copy)]
struct Header {
    timestamp: u32,
    type_code: u8,
    server_id: u32,
    size: u32,
    log_pos: u32,
    flags: u16,
}

impl Header {
    fn read(b: &[u8]) -> Option<Self> {
        Some(Self {
            timestamp: le_u32(b, 0)?,
            type_code: *b.get(4)?,
            server_id: le_u32(b, 5)?,
            size: le_u32(b, 9)?,
            log_pos: le_u32(b, 13)?,
            flags: le_u16(b, 17)?,
        })
    }

    fn artificial(&self) -> bool {
        self.log_pos == 0
            || self.flags & LOG_EVENT_ARTIFICIAL_F != 0
            || self.type_code == HEARTBEAT_EVENT
            || self.type_code == HEARTBEAT_V2
    }
}

fn le_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le_u48(b: &[u8], at: usize) -> Option<u64> {
    let mut le = [0u8; 8];
    le[..6].copy_from_slice(b.get(at..at + 6)?);
    Some(u64::from_le_bytes(le))
}

/// A length-encoded integer at `at`: (value, bytes used).
fn packed_int(b: &[u8], at: usize) -> Option<(u64, usize)> {
    let first = *b.get(at)?;
    let wide = |n: usize| {
        let mut le = [0u8; 8];
        le[..n].copy_from_slice(b.get(at + 1..at + 1 + n)?);
        Some((u64::from_le_bytes(le), n + 1))
    };
    match first {
        0..=250 => Some((u64::from(first), 1)),
        252 => wide(2),
        253 => wide(3),
        254 => wide(8),
        _ => None,
    }
}

/// Normalizes raw events into [`SourceEvent`]s (the thread-side state of a stream).
struct Decoder {
    addr: String,
    verify_checksum: bool,
    /// Position after the last event.
    pos: BinlogPosition,
    /// A format description event was seen.
    seen_fde: bool,
    /// Events end with a CRC32 (per the last format description).
    crc32: bool,
    /// Events unpacked from a compressed transaction, not yet returned.
    pending: VecDeque<SourceEvent>,
    /// Per table id, per column: UNSIGNED (from the table map's signedness metadata).
    unsigned: HashMap<u64, Vec<bool>>,
}

impl Decoder {
    fn new(addr: String, pos: BinlogPosition, verify_checksum: bool) -> Self {
        Self {
            addr,
            verify_checksum,
            pos,
            seen_fde: false,
            crc32: false,
            pending: VecDeque::new(),
            unsigned: HashMap::new(),
        }
    }

    fn decode_err(&self, type_code: u8, reason: impl std::fmt::Display) -> ReaderError {
        ReaderError::Decode {
            addr: self.addr.clone(),
            pos: self.pos.clone(),
            type_code,
            reason: reason.to_string(),
        }
    }

    fn stream_err(&self, e: BinlogError) -> ReaderError {
        ReaderError::Stream {
            addr: self.addr.clone(),
            pos: self.pos.clone(),
            source: Box::new(driver_error(e)),
        }
    }

    /// An ERR packet (`0xFF code [#state] message`) as the server error it is.
    fn server_err(&self, packet: &[u8]) -> ReaderError {
        let code = le_u16(packet, 1).unwrap_or(0);
        let (state, message) = match packet.get(3) {
            Some(b'#') => (
                packet.get(4..9).unwrap_or_default(),
                packet.get(9..).unwrap_or_default(),
            ),
            _ => (&[][..], packet.get(3..).unwrap_or_default()),
        };
        ReaderError::Stream {
            addr: self.addr.clone(),
            pos: self.pos.clone(),
            source: Box::new(mysql_async::Error::Server(mysql_async::ServerError {
                code,
                message: String::from_utf8_lossy(message).into_owned(),
                state: String::from_utf8_lossy(state).into_owned(),
            })),
        }
    }

    /// Verifies the checksum, advances the position and converts one event of the stream.
    fn event(
        &mut self,
        parser: &mut BinlogParser,
        bytes: &[u8],
    ) -> Result<SourceEvent, ReaderError> {
        let h = Header::read(bytes)
            .ok_or_else(|| self.decode_err(0, format!("event of {} bytes", bytes.len())))?;
        let type_code = h.type_code;
        if h.size as usize != bytes.len() || bytes.len() < HEADER_LEN {
            return Err(self.decode_err(
                type_code,
                format!("event of {} bytes says it has {}", bytes.len(), h.size),
            ));
        }
        let crc = if type_code == FORMAT_DESCRIPTION_EVENT {
            fde_checksum_alg(&bytes[HEADER_LEN..]) == Some(1)
        } else {
            self.seen_fde && self.crc32
        };
        if crc {
            if bytes.len() < HEADER_LEN + 4 {
                return Err(self.decode_err(type_code, "event too short for its checksum"));
            }
            let (covered, tail) = bytes.split_at(bytes.len() - 4);
            let stored = u32::from_le_bytes(tail.try_into().unwrap_or_default());
            let computed = crc32(covered);
            if self.verify_checksum && stored != computed {
                return Err(ReaderError::Checksum {
                    addr: self.addr.clone(),
                    pos: advance(&self.pos, h.size, h.log_pos),
                    type_code,
                    stored,
                    computed,
                });
            }
        }
        let body_end = bytes.len() - if crc { 4 } else { 0 };
        let body_bytes = &bytes[HEADER_LEN..body_end];

        let mut inner = Vec::new();
        let body = if type_code == ROTATE_EVENT && !self.seen_fde {
            self.first_rotate(bytes)?
        } else if type_code == TRANSACTION_PAYLOAD_EVENT {
            inner = self.payload(body_bytes)?;
            EventBody::Other { type_code }
        } else {
            let mut unsigned = std::mem::take(&mut self.unsigned);
            let body = self.body(parser, &mut unsigned, &h, bytes, body_bytes);
            self.unsigned = unsigned;
            body?
        };
        if let EventBody::FormatDescription { crc32, .. } = &body {
            self.seen_fde = true;
            self.crc32 = *crc32;
        }
        if let EventBody::Rotate { next } = &body {
            self.pos = next.clone();
        } else if !h.artificial() {
            self.pos = advance(&self.pos, h.size, h.log_pos);
        }
        for mut ev in inner {
            ev.pos = self.pos.clone();
            self.pending.push_back(ev);
        }
        Ok(SourceEvent {
            pos: self.pos.clone(),
            timestamp: h.timestamp,
            server_id: h.server_id,
            artificial: h.artificial(),
            body,
        })
    }

    /// The (fake) rotate the server sends before the format description, decoded here:
    /// `position u64 LE | file name [| crc32]`, the CRC (MariaDB, MySQL with checksums)
    /// recognized by its value.
    fn first_rotate(&self, bytes: &[u8]) -> Result<EventBody, ReaderError> {
        let body = &bytes[HEADER_LEN..];
        let pos = body
            .get(..8)
            .and_then(|p| p.try_into().ok())
            .map(u64::from_le_bytes)
            .ok_or_else(|| self.decode_err(ROTATE_EVENT, "rotate event too short"))?;
        let mut name = &body[8..];
        if name.len() > 4 {
            let (covered, tail) = bytes.split_at(bytes.len() - 4);
            if crc32(covered).to_le_bytes() == tail {
                name = &name[..name.len() - 4];
            }
        }
        let name = String::from_utf8_lossy(name).into_owned();
        let next = BinlogPosition::new(name, pos).map_err(|e| self.decode_err(ROTATE_EVENT, e))?;
        Ok(EventBody::Rotate { next })
    }

    /// The body of one event (of the stream, or unpacked from a compressed transaction):
    /// `bytes` is the whole event, `body` the part between header and checksum.
    fn body(
        &self,
        parser: &mut BinlogParser,
        unsigned: &mut HashMap<u64, Vec<bool>>,
        h: &Header,
        bytes: &[u8],
        body: &[u8],
    ) -> Result<EventBody, ReaderError> {
        let type_code = h.type_code;
        match type_code {
            MARIADB_GTID_EVENT => {
                return decode_mariadb_gtid(body, h.server_id)
                    .ok_or_else(|| self.decode_err(type_code, "MariaDB GTID event too short"))
            }
            HEARTBEAT_V2 => return Ok(EventBody::Heartbeat),
            QUERY_EVENT => {
                return decode_query(body)
                    .ok_or_else(|| self.decode_err(type_code, "query event too short"))
            }
            PARTIAL_UPDATE_ROWS_EVENT => {
                return Err(self.decode_err(
                    type_code,
                    "binlog backend `connector` cannot decode partial JSON updates \
                     (binlog_row_value_options=PARTIAL_JSON on the upstream): set \
                     binlog_row_value_options='' there, or use the default backend",
                ))
            }
            GTID_TAGGED_EVENT => {
                return Err(self.decode_err(
                    type_code,
                    "binlog backend `connector` cannot decode tagged GTIDs (MySQL 8.4+); \
                     use the default backend",
                ))
            }
            // Nested payloads do not exist; never decompress twice.
            TRANSACTION_PAYLOAD_EVENT => return Ok(EventBody::Other { type_code }),
            _ => {}
        }
        if let Some(kind) = rows_kind(type_code) {
            return self.rows(parser, unsigned, type_code, kind, body);
        }
        let parsed = catch_unwind(AssertUnwindSafe(|| {
            parser.next(&mut Cursor::new(bytes)).map(|(_, data)| data)
        }));
        let data = match parsed {
            Ok(Ok(data)) => data,
            Ok(Err(e)) if type_code == TABLE_MAP_EVENT => {
                return Err(self.decode_err(
                    type_code,
                    format!(
                        "table map: {e} (binlog backend `connector` cannot decode VECTOR \
                         columns or newer table-map metadata; use the default backend)"
                    ),
                ))
            }
            Ok(Err(e)) => return Err(self.decode_err(type_code, e)),
            Err(_) => {
                return Err(self.decode_err(
                    type_code,
                    "malformed event (the connector crate panicked decoding it)",
                ))
            }
        };
        Ok(match data {
            EventData::FormatDescription(f) => EventBody::FormatDescription {
                server_version: f.server_version.trim_end_matches('\0').to_string(),
                crc32: matches!(f.checksum_type, ChecksumType::CRC32),
            },
            EventData::Rotate(r) => {
                let next = BinlogPosition::new(r.binlog_filename, r.binlog_position)
                    .map_err(|e| self.decode_err(type_code, e))?;
                EventBody::Rotate { next }
            }
            EventData::Xid(x) => EventBody::Xid { xid: x.xid },
            EventData::TableMap(t) => {
                check_column_types(&t).map_err(|e| self.decode_err(type_code, e))?;
                // The crate assigns the signedness bits to its own list of numeric types,
                // which lacks YEAR and DECIMAL: every later numeric column gets the wrong bit.
                let flags = table_unsigned(body).ok_or_else(|| {
                    self.decode_err(type_code, "table map: malformed optional metadata")
                })?;
                unsigned.insert(t.table_id, flags);
                EventBody::TableMap {
                    table_id: t.table_id,
                    schema: t.database_name,
                    table: t.table_name,
                    columns: t.column_types.len() as u64,
                    names: t.table_metadata.as_ref().and_then(|m| {
                        m.columns
                            .iter()
                            .map(|c| c.column_name.clone())
                            .collect::<Option<Vec<String>>>()
                            .map(std::sync::Arc::from)
                    }),
                }
            }
            EventData::Gtid(g) => {
                let (sid, gno) = parse_gtid(&g.gtid)
                    .ok_or_else(|| self.decode_err(type_code, format!("GTID `{}`", g.gtid)))?;
                EventBody::MysqlGtid {
                    sid,
                    gno,
                    tag: None,
                }
            }
            EventData::HeartBeat => EventBody::Heartbeat,
            _ => EventBody::Other { type_code },
        })
    }

    /// Decodes a rows event: the header and column bitmaps here, each row image by the
    /// crate's `RowEvent::parse` against the table map *reduced to the columns present in
    /// the image*. (Given the whole table map, the crate reads a NULL bitmap of one bit per
    /// table column instead of one per present column, which misreads images of
    /// `binlog_row_image=MINIMAL`/`NOBLOB`; it also drops the flags and panics without a
    /// table map.)
    fn rows(
        &self,
        parser: &BinlogParser,
        unsigned: &HashMap<u64, Vec<bool>>,
        type_code: u8,
        kind: RowsKind,
        body: &[u8],
    ) -> Result<EventBody, ReaderError> {
        let err = |reason: String| self.decode_err(type_code, reason);
        let short = || err("rows event too short".to_string());
        let table_id = le_u48(body, 0).ok_or_else(short)?;
        let flags = le_u16(body, 6).ok_or_else(short)?;
        let mut at = 8;
        if type_code >= 30 {
            // v2: extra data, its length counting its own two bytes.
            let extra = usize::from(le_u16(body, 8).ok_or_else(short)?);
            if extra < 2 {
                return Err(short());
            }
            at += extra;
        }
        let (n, used) = packed_int(body, at).ok_or_else(short)?;
        at += used;
        let tme = parser
            .table_map_event_by_table_id
            .get(&table_id)
            .ok_or_else(|| err(format!("no table map for id {table_id}")))?;
        let table = format!(
            "`{}`.`{}` (table id {table_id})",
            tme.database_name, tme.table_name
        );
        let columns = tme.column_types.len();
        if usize::try_from(n).ok() != Some(columns) {
            return Err(err(format!(
                "{table}: rows event of {n} columns, table map of {columns}"
            )));
        }
        let bitmap_len = columns.div_ceil(8);
        let mut bitmap = || -> Result<Vec<bool>, ReaderError> {
            let bytes = body.get(at..at + bitmap_len).ok_or_else(short)?;
            at += bitmap_len;
            Ok((0..columns)
                .map(|i| bytes[i / 8] & (1 << (i % 8)) != 0)
                .collect())
        };
        let first = bitmap()?;
        let (before, after) = match kind {
            RowsKind::Insert => (None, Some(first)),
            RowsKind::Delete => (Some(first), None),
            RowsKind::Update => (Some(first), Some(bitmap()?)),
        };
        let flags_of = unsigned
            .get(&table_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let before = before.map(|b| Image::new(tme, b, flags_of));
        let after = after.map(|a| Image::new(tme, a, flags_of));
        let data = body.get(at..).ok_or_else(short)?.to_vec();
        let decoded = catch_unwind(AssertUnwindSafe(|| {
            let mut cursor = Cursor::new(&data);
            let mut changes = Vec::new();
            while (cursor.position() as usize) < data.len() {
                let i = changes.len();
                let mut read = |image: &Option<Image>, which: &str| {
                    image
                        .as_ref()
                        .map(|im| im.read(tme, &mut cursor))
                        .transpose()
                        .map_err(|e| format!("row {i}, {which} image, {e}"))
                };
                let before = read(&before, "before")?;
                let after = read(&after, "after")?;
                changes.push(RowChange { before, after });
            }
            Ok::<_, String>(changes)
        }));
        let changes = match decoded {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return Err(err(format!("{table}: {e}"))),
            Err(_) => return Err(err(format!("{table}: malformed rows event"))),
        };
        Ok(EventBody::Rows {
            kind,
            table_id,
            rows: changes.len(),
            changes,
            stmt_end: flags & STMT_END_F != 0,
            raw: Bytes::copy_from_slice(body),
        })
    }

    /// Decompresses a `TRANSACTION_PAYLOAD` body and decodes its events (which share the
    /// payload's position, carry no checksum and keep their own table maps).
    fn payload(&self, body: &[u8]) -> Result<Vec<SourceEvent>, ReaderError> {
        let code = TRANSACTION_PAYLOAD_EVENT;
        let bad = |what: &str| self.decode_err(code, format!("compressed transaction: {what}"));
        // Header fields `type | length | value`, each length-encoded, until type 0.
        let mut at = 0;
        let mut compression = 0;
        let mut size = None;
        loop {
            let (field, n) = packed_int(body, at).ok_or_else(|| bad("truncated header"))?;
            at += n;
            if field == 0 {
                break;
            }
            let (len, n) = packed_int(body, at).ok_or_else(|| bad("truncated header"))?;
            at += n;
            let len = usize::try_from(len).map_err(|_| bad("field too long"))?;
            let value = body
                .get(at..at.saturating_add(len))
                .ok_or_else(|| bad("truncated header"))?;
            at += len;
            let number = packed_int(value, 0).map(|(v, _)| v);
            match field {
                2 => compression = number.ok_or_else(|| bad("compression type"))?,
                3 => size = Some(number.ok_or_else(|| bad("uncompressed size"))?),
                _ => {}
            }
        }
        let payload = &body[at..];
        let limit = size.unwrap_or(MAX_PAYLOAD).min(MAX_PAYLOAD);
        let data = match compression {
            // ZSTD
            0 => {
                let decoder = zstd::stream::read::Decoder::new(payload)
                    .map_err(|e| bad(&format!("zstd: {e}")))?;
                let mut data = Vec::new();
                decoder
                    .take(limit + 1)
                    .read_to_end(&mut data)
                    .map_err(|e| bad(&format!("zstd: {e}")))?;
                data
            }
            // NONE
            255 => payload.to_vec(),
            other => return Err(bad(&format!("unknown compression type {other}"))),
        };
        if data.len() as u64 > limit || size.is_some_and(|s| s != data.len() as u64) {
            return Err(bad(&format!(
                "{} bytes decompressed, {} announced",
                data.len(),
                size.map_or_else(|| format!("at most {limit}"), |s| s.to_string())
            )));
        }
        let mut parser = BinlogParser {
            checksum_length: 0,
            table_map_event_by_table_id: HashMap::new(),
        };
        let mut unsigned = HashMap::new();
        let mut events = Vec::new();
        let mut at = 0;
        while at < data.len() {
            let h = Header::read(&data[at..]).ok_or_else(|| bad("truncated event"))?;
            let end = at
                .checked_add(h.size as usize)
                .filter(|&e| e <= data.len() && h.size as usize >= HEADER_LEN)
                .ok_or_else(|| bad("truncated event"))?;
            let bytes = &data[at..end];
            let body = self.body(&mut parser, &mut unsigned, &h, bytes, &bytes[HEADER_LEN..])?;
            events.push(SourceEvent {
                pos: self.pos.clone(),
                timestamp: h.timestamp,
                server_id: h.server_id,
                // Inner events of a payload are real binlog content (their zero log_pos only
                // says that the payload event covers them), as in the default backend.
                artificial: false,
                body,
            });
            at = end;
        }
        Ok(events)
    }
}

/// Position after an event of `size` bytes whose header says it ends at `log_pos`
/// (32-bit): `pos + size` when it agrees, else `log_pos` with the high bits of `pos`.
fn advance(cur: &BinlogPosition, size: u32, log_pos: u32) -> BinlogPosition {
    let at = cur.pos;
    let mut next = at + u64::from(size);
    if next as u32 != log_pos {
        next = (at & !0xFFFF_FFFF) | u64::from(log_pos);
        if next < at {
            next += 1 << 32;
        }
    }
    BinlogPosition {
        name: cur.name.clone(),
        pos: next,
    }
}

/// The checksum algorithm byte of a format description body, when it has one.
fn fde_checksum_alg(body: &[u8]) -> Option<u8> {
    // binlog version (2), server version (50), create timestamp (4), header length (1),
    // then one post-header length per event type; the FDE's own says where its fixed part
    // ends, and the algorithm byte (followed by the 4-byte checksum) comes right after.
    let fixed = usize::from(*body.get(57 + usize::from(FORMAT_DESCRIPTION_EVENT) - 1)?);
    if body.len() >= fixed + 5 {
        body.get(fixed).copied()
    } else {
        None
    }
}

fn rows_kind(type_code: u8) -> Option<RowsKind> {
    match type_code {
        23 | 30 => Some(RowsKind::Insert),
        24 | 31 => Some(RowsKind::Update),
        25 | 32 => Some(RowsKind::Delete),
        _ => None,
    }
}

/// A query event body: `thread_id u32 | exec_time u32 | schema_len u8 | error_code u16 |
/// status_vars_len u16 | status vars | schema | NUL | statement`.
fn decode_query(body: &[u8]) -> Option<EventBody> {
    let schema_len = usize::from(*body.get(8)?);
    let error_code = le_u16(body, 9)?;
    let vars_len = usize::from(le_u16(body, 11)?);
    let status_vars = body.get(13..13 + vars_len)?;
    let schema_at = 13 + vars_len;
    let schema = body.get(schema_at..schema_at + schema_len)?;
    let sql = body.get(schema_at + schema_len + 1..)?;
    Some(EventBody::Query {
        schema: String::from_utf8_lossy(schema).into_owned(),
        sql: String::from_utf8_lossy(sql).into_owned(),
        error_code,
        status_vars: Bytes::copy_from_slice(status_vars),
    })
}

/// Per column, UNSIGNED, from the SIGNEDNESS field of a table map body's optional metadata
/// (all false without it): one bit per numeric column, most significant first, numeric as
/// the server counts (YEAR and DECIMAL included). `None` if the body is malformed.
fn table_unsigned(body: &[u8]) -> Option<Vec<bool>> {
    let mut at = 8; // table id, flags
    let schema_len = usize::from(*body.get(at)?);
    at += schema_len + 2;
    let table_len = usize::from(*body.get(at)?);
    at += table_len + 2;
    let (n, used) = packed_int(body, at)?;
    at += used;
    let n = usize::try_from(n).ok()?;
    let types = body.get(at..at.checked_add(n)?)?;
    at += n;
    let (meta_len, used) = packed_int(body, at)?;
    at = at
        .checked_add(used)?
        .checked_add(usize::try_from(meta_len).ok()?)?
        .checked_add(n.div_ceil(8))?;
    let numeric: Vec<usize> = (0..n)
        .filter(|&i| matches!(types[i], 0 | 1 | 2 | 3 | 4 | 5 | 8 | 9 | 13 | 246))
        .collect();
    let mut unsigned = vec![false; n];
    while at < body.len() {
        let field = body[at];
        let (len, used) = packed_int(body, at + 1)?;
        at += 1 + used;
        let value = body.get(at..at.checked_add(usize::try_from(len).ok()?)?)?;
        at += value.len();
        // 1 = SIGNEDNESS
        if field == 1 {
            for (j, &col) in numeric.iter().enumerate() {
                unsigned[col] = value.get(j / 8)? & (0x80 >> (j % 8)) != 0;
            }
        }
    }
    (at == body.len()).then_some(unsigned)
}

/// `uuid:gno` as the crate prints a GTID.
fn parse_gtid(text: &str) -> Option<([u8; 16], u64)> {
    let (uuid, gno) = text.rsplit_once(':')?;
    let hex_text: String = uuid.chars().filter(|&c| c != '-').collect();
    let bytes = hex::decode(hex_text).ok()?;
    Some((bytes.try_into().ok()?, gno.parse().ok()?))
}

/// Column types whose values the crate cannot decode (it would misread the metadata that
/// follows, or fail on the first row).
fn check_column_types(t: &TableMapEvent) -> Result<(), String> {
    for (i, &code) in t.column_types.iter().enumerate() {
        let known = !matches!(CrateType::from_code(code), CrateType::Unknown)
            && !matches!(code, 0 | 6 | 14);
        if !known {
            let name = if code == TYPE_VECTOR {
                "VECTOR".to_string()
            } else {
                format!("type code {code}")
            };
            return Err(format!(
                "`{}`.`{}` column {i} is a {name} column, which binlog backend `connector` \
                 cannot decode; use the default backend",
                t.database_name, t.table_name
            ));
        }
    }
    Ok(())
}

/// The columns present in a row image, and the table map reduced to them.
struct Image {
    present: Vec<bool>,
    /// Per column: UNSIGNED.
    unsigned: Vec<bool>,
    reduced: Option<(TableMapEvent, Vec<bool>)>,
}

impl Image {
    fn new(tme: &TableMapEvent, present: Vec<bool>, unsigned: &[bool]) -> Self {
        let reduced = if present.iter().all(|&p| p) {
            None
        } else {
            let keep = |i: &usize| present.get(*i).copied().unwrap_or(false);
            let mut t = tme.clone();
            t.column_types = (0..tme.column_types.len())
                .filter(keep)
                .map(|i| tme.column_types[i])
                .collect();
            t.column_metas = (0..tme.column_metas.len())
                .filter(keep)
                .map(|i| tme.column_metas[i])
                .collect();
            t.null_bits = Vec::new();
            t.table_metadata = None;
            let all = vec![true; t.column_types.len()];
            Some((t, all))
        };
        Self {
            present,
            unsigned: unsigned.to_vec(),
            reduced,
        }
    }

    /// Reads one image at `cursor`: one value per table column, [`RowValue::Absent`] for
    /// the columns not in it.
    fn read(
        &self,
        tme: &TableMapEvent,
        cursor: &mut Cursor<&Vec<u8>>,
    ) -> Result<Vec<RowValue>, String> {
        let row = match &self.reduced {
            None => RowEvent::parse(cursor, tme, &self.present),
            Some((t, all)) => RowEvent::parse(cursor, t, all),
        }
        .map_err(|e| e.to_string())?;
        let mut values = row.column_values.into_iter();
        let mut out = Vec::with_capacity(self.present.len());
        for (i, &present) in self.present.iter().enumerate() {
            if !present {
                out.push(RowValue::Absent);
                continue;
            }
            let v = values
                .next()
                .ok_or_else(|| format!("column {i}: missing from the row image"))?;
            let unsigned = self.unsigned.get(i).copied().unwrap_or(false);
            out.push(convert_value(tme, i, v, unsigned).map_err(|e| format!("column {i}: {e}"))?);
        }
        Ok(out)
    }
}

/// Converts the crate's value of column `i`.
/// `unsigned` comes from the table map's signedness metadata (see [`table_unsigned`]).
fn convert_value(
    tme: &TableMapEvent,
    i: usize,
    v: ColumnValue,
    unsigned: bool,
) -> Result<RowValue, String> {
    let meta = tme.column_metas.get(i).copied().unwrap_or(0);
    Ok(match v {
        ColumnValue::None => RowValue::Null,
        ColumnValue::Tiny(x) if unsigned => RowValue::UInt(u64::from(x as u8)),
        ColumnValue::Short(x) if unsigned => RowValue::UInt(u64::from(x as u16)),
        ColumnValue::Long(x) if unsigned => {
            let u = x as u32;
            let int24 = tme.column_types.get(i) == Some(&TYPE_INT24);
            RowValue::UInt(u64::from(if int24 { u & 0x00FF_FFFF } else { u }))
        }
        ColumnValue::LongLong(x) if unsigned => RowValue::UInt(x as u64),
        ColumnValue::Tiny(x) => RowValue::Int(i64::from(x)),
        ColumnValue::Short(x) => RowValue::Int(i64::from(x)),
        ColumnValue::Long(x) => RowValue::Int(i64::from(x)),
        ColumnValue::LongLong(x) => RowValue::Int(x),
        ColumnValue::Float(f) => RowValue::Float(f),
        ColumnValue::Double(d) => RowValue::Double(d),
        ColumnValue::Decimal(s) => RowValue::Decimal(s),
        ColumnValue::Time(s) => RowValue::Time(parse_time(&s).ok_or(format!("TIME `{s}`"))?),
        ColumnValue::Date(s) => RowValue::Date(parse_date(&s).ok_or(format!("DATE `{s}`"))?),
        ColumnValue::DateTime(s) => {
            RowValue::DateTime(parse_datetime(&s).ok_or(format!("DATETIME `{s}`"))?)
        }
        ColumnValue::Timestamp(us) => {
            let us = u64::try_from(us).map_err(|_| format!("TIMESTAMP {us} µs"))?;
            RowValue::Timestamp {
                secs: us / 1_000_000,
                micros: (us % 1_000_000) as u32,
            }
        }
        // The crate adds 1900 to the stored byte, whose 0 means `0000`.
        ColumnValue::Year(y) => RowValue::Year(if y == 1900 { 0 } else { y }),
        ColumnValue::String(b) | ColumnValue::Blob(b) => RowValue::Bytes(b),
        ColumnValue::Bit(u) => {
            let bits = usize::from(meta >> 8) * 8 + usize::from(meta & 0xFF);
            let len = bits.div_ceil(8).min(8);
            RowValue::Bit(u.to_be_bytes()[8 - len..].to_vec())
        }
        ColumnValue::Set(s) => RowValue::Set(s),
        ColumnValue::Enum(e) => {
            RowValue::Enum(u16::try_from(e).map_err(|_| format!("ENUM index {e}"))?)
        }
        ColumnValue::Json(b) => RowValue::Json(decode_json(&b)?.into()),
    })
}

/// `[-]H:MM:SS[.ffffff]`.
fn parse_time(s: &str) -> Option<Time> {
    let (negative, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (hms, micros) = split_fraction(rest)?;
    let mut it = hms.split(':');
    let hours = it.next()?.parse().ok()?;
    let minute = it.next()?.parse().ok()?;
    let second = it.next()?.parse().ok()?;
    if it.next().is_some() {
        return None;
    }
    Some(Time {
        negative,
        hours,
        minute,
        second,
        micros,
    })
}

/// `Y-MM-DD`.
fn parse_date(s: &str) -> Option<Date> {
    let mut it = s.split('-');
    let date = Date {
        year: it.next()?.parse().ok()?,
        month: it.next()?.parse().ok()?,
        day: it.next()?.parse().ok()?,
    };
    it.next().is_none().then_some(date)
}

/// `Y-MM-DD HH:MM:SS[.ffffff]`.
fn parse_datetime(s: &str) -> Option<DateTime> {
    let (d, t) = s.split_once(' ')?;
    let time = parse_time(t).filter(|t| !t.negative && t.hours < 24)?;
    Some(DateTime {
        date: parse_date(d)?,
        hour: time.hours as u8,
        minute: time.minute,
        second: time.second,
        micros: time.micros,
    })
}

/// Splits `text[.ffffff]` into the text and the microseconds (six digits, as the crate
/// prints them).
fn split_fraction(s: &str) -> Option<(&str, u32)> {
    match s.split_once('.') {
        None => Some((s, 0)),
        Some((a, f)) if f.len() == 6 && f.bytes().all(|b| b.is_ascii_digit()) => {
            Some((a, f.parse().ok()?))
        }
        Some(_) => None,
    }
}

/// MySQL binary JSON as a `serde_json` value, decoded by the crate's `JsonBinary` into
/// [`JsonBuilder`]. Empty bytes are `null` (as MySQL treats them).
fn decode_json(bytes: &[u8]) -> Result<serde_json::Value, String> {
    if bytes.is_empty() {
        return Ok(serde_json::Value::Null);
    }
    let mut builder = JsonBuilder::default();
    let parsed = catch_unwind(AssertUnwindSafe(|| JsonBinary::parse(bytes, &mut builder)));
    match parsed {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(format!("JSON: {e}")),
        Err(_) => return Err("JSON: malformed value".to_string()),
    }
    builder.finish()
}

/// A [`JsonFormatter`] that builds a `serde_json::Value`, with the same conversions as the
/// default backend (numbers as integers or `f64`, non-finite doubles as `null`).
#[derive(Default)]
struct JsonBuilder {
    stack: Vec<(Container, Option<String>)>,
    result: Option<serde_json::Value>,
    error: Option<String>,
}

enum Container {
    Array(Vec<serde_json::Value>),
    Object(serde_json::Map<String, serde_json::Value>),
}

impl JsonBuilder {
    fn push(&mut self, v: serde_json::Value) {
        match self.stack.last_mut() {
            None => self.result = Some(v),
            Some((Container::Array(a), _)) => a.push(v),
            Some((Container::Object(m), key)) => {
                m.insert(key.take().unwrap_or_default(), v);
            }
        }
    }

    fn close(&mut self) {
        match self.stack.pop() {
            Some((Container::Array(a), _)) => self.push(serde_json::Value::Array(a)),
            Some((Container::Object(m), _)) => self.push(serde_json::Value::Object(m)),
            None => self.fail("unbalanced container"),
        }
    }

    fn fail(&mut self, what: &str) {
        if self.error.is_none() {
            self.error = Some(what.to_string());
        }
    }

    /// A value of another SQL type stored inside the JSON document: not representable, as
    /// with the default backend.
    fn opaque(&mut self) {
        self.fail("JSON: the document contains an opaque value (a DECIMAL, temporal or binary value stored in JSON)");
    }

    fn finish(self) -> Result<serde_json::Value, String> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if !self.stack.is_empty() {
            return Err("JSON: unterminated container".to_string());
        }
        self.result
            .ok_or_else(|| "JSON: empty document".to_string())
    }
}

impl JsonFormatter for JsonBuilder {
    fn begin_object(&mut self, num_elements: u32) {
        let cap = (num_elements as usize).min(1024);
        self.stack
            .push((Container::Object(serde_json::Map::with_capacity(cap)), None));
    }

    fn begin_array(&mut self, num_elements: u32) {
        let cap = (num_elements as usize).min(1024);
        self.stack
            .push((Container::Array(Vec::with_capacity(cap)), None));
    }

    fn end_object(&mut self) {
        self.close();
    }

    fn end_array(&mut self) {
        self.close();
    }

    fn name(&mut self, name: &str) {
        match self.stack.last_mut() {
            Some((Container::Object(_), key)) => *key = Some(name.to_string()),
            _ => self.fail("JSON: key outside an object"),
        }
    }

    fn value_string(&mut self, value: &str) {
        self.push(serde_json::Value::String(value.to_string()));
    }

    fn value_int(&mut self, value: i32) {
        self.push(serde_json::Value::from(value));
    }

    fn value_long(&mut self, value: i64) {
        self.push(serde_json::Value::from(value));
    }

    fn value_double(&mut self, value: f64) {
        self.push(serde_json::Value::from(value));
    }

    fn value_big_int(&mut self, value: i128) {
        match u64::try_from(value) {
            Ok(u) => self.push(serde_json::Value::from(u)),
            Err(_) => match i64::try_from(value) {
                Ok(i) => self.push(serde_json::Value::from(i)),
                Err(_) => self.fail("JSON: integer out of range"),
            },
        }
    }

    fn value_decimal(&mut self, _value: &str) {
        self.opaque();
    }

    fn value_bool(&mut self, value: bool) {
        self.push(serde_json::Value::Bool(value));
    }

    fn value_null(&mut self) {
        self.push(serde_json::Value::Null);
    }

    fn value_year(&mut self, _year: i32) {
        self.opaque();
    }

    fn value_date(&mut self, _year: i32, _month: i32, _day: i32) {
        self.opaque();
    }

    fn value_datetime(
        &mut self,
        _year: i32,
        _month: i32,
        _day: i32,
        _hour: i32,
        _min: i32,
        _sec: i32,
        _micro_seconds: i32,
    ) {
        self.opaque();
    }

    fn value_time(&mut self, _hour: i32, _min: i32, _sec: i32, _micro_seconds: i32) {
        self.opaque();
    }

    fn value_timestamp(&mut self, _seconds_past_epoch: i64, _micro_seconds: i32) {
        self.opaque();
    }

    fn value_opaque(&mut self, _column_type: &CrateType, _value: &[u8]) {
        self.opaque();
    }

    fn next_entry(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parser() -> BinlogParser {
        BinlogParser {
            checksum_length: 4,
            table_map_event_by_table_id: HashMap::new(),
        }
    }

    fn decoder() -> Decoder {
        let mut d = Decoder::new(
            "h:1".to_string(),
            BinlogPosition::new("binlog.000001", 100).unwrap(),
            true,
        );
        d.seen_fde = true;
        d.crc32 = true;
        d
    }

    /// An event of `type_code` with `body`, ending at `log_pos`, with a valid CRC32.
    fn event(type_code: u8, body: &[u8], log_pos: u32) -> Vec<u8> {
        let size = (HEADER_LEN + body.len() + 4) as u32;
        let mut e = Vec::new();
        e.extend_from_slice(&7u32.to_le_bytes());
        e.push(type_code);
        e.extend_from_slice(&9u32.to_le_bytes());
        e.extend_from_slice(&size.to_le_bytes());
        e.extend_from_slice(&log_pos.to_le_bytes());
        e.extend_from_slice(&0u16.to_le_bytes());
        e.extend_from_slice(body);
        let crc = crc32(&e);
        e.extend_from_slice(&crc.to_le_bytes());
        e
    }

    #[test]
    fn decodes_an_xid_and_advances_the_position() {
        let mut d = decoder();
        let e = event(16, &42u64.to_le_bytes(), 131);
        let ev = d.event(&mut parser(), &e).unwrap();
        assert_eq!(ev.body, EventBody::Xid { xid: 42 });
        assert_eq!(ev.pos, BinlogPosition::new("binlog.000001", 131).unwrap());
        assert_eq!((ev.timestamp, ev.server_id, ev.artificial), (7, 9, false));
    }

    #[test]
    fn a_corrupt_event_is_a_checksum_error() {
        let mut e = event(16, &42u64.to_le_bytes(), 131);
        e[HEADER_LEN] ^= 1;
        match decoder().event(&mut parser(), &e) {
            Err(ReaderError::Checksum {
                type_code: 16, pos, ..
            }) => assert_eq!(pos.pos, 131),
            other => panic!("{other:?}"),
        }
        // Not verified when disabled.
        let mut d = decoder();
        d.verify_checksum = false;
        assert!(d.event(&mut parser(), &e).is_ok());
    }

    #[test]
    fn partial_json_updates_and_rows_without_table_map_are_clear_errors() {
        let e = event(PARTIAL_UPDATE_ROWS_EVENT, &[0; 12], 200);
        let err = decoder().event(&mut parser(), &e).unwrap_err().to_string();
        assert!(err.contains("binlog_row_value_options"), "{err}");
        let mut body = vec![5, 0, 0, 0, 0, 0, 1, 0, 2, 0, 1, 1, 0];
        body.extend_from_slice(&[0; 4]);
        let e = event(30, &body, 200);
        let err = decoder().event(&mut parser(), &e).unwrap_err().to_string();
        assert!(err.contains("no table map for id 5"), "{err}");
    }

    #[test]
    fn malformed_events_never_panic() {
        // A small deterministic generator: events of every type with random bodies.
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..3000u32 {
            let type_code = (round % 256) as u8;
            let len = (next() % 96) as usize;
            let body: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let mut e = event(type_code, &body, 1000);
            if round % 7 == 0 {
                // Lie about the size.
                e[9] = e[9].wrapping_add(3);
            }
            let mut d = decoder();
            d.seen_fde = round % 3 != 0;
            let _ = d.event(&mut parser(), &e);
            let _ = d.event(&mut parser(), &e[..e.len().min(round as usize % 30)]);
        }
    }

    #[test]
    fn reads_the_signedness_of_numeric_columns() {
        // Columns: YEAR, TINY, VARCHAR, LONGLONG; YEAR counts as numeric.
        let mut body = vec![1, 0, 0, 0, 0, 0, 0, 0];
        body.extend_from_slice(&[1, b'd', 0, 1, b't', 0]);
        body.push(4);
        body.extend_from_slice(&[13, 1, 15, 8]);
        body.extend_from_slice(&[2, 0x10, 0x00]); // metadata: VARCHAR(16)
        body.push(0x0F); // null bitmap
        body.extend_from_slice(&[1, 1, 0b0010_0000]); // SIGNEDNESS: only the 3rd numeric
        assert_eq!(table_unsigned(&body), Some(vec![false, false, false, true]));
        // Without the optional metadata: all signed.
        assert_eq!(
            table_unsigned(&body[..body.len() - 3]),
            Some(vec![false; 4])
        );
        assert_eq!(table_unsigned(&body[..body.len() - 1]), None);
    }

    #[test]
    fn parses_the_crates_temporal_text() {
        assert_eq!(
            parse_time("-838:59:58.990000"),
            Some(Time {
                negative: true,
                hours: 838,
                minute: 59,
                second: 58,
                micros: 990_000
            })
        );
        assert_eq!(parse_time("12:00:01").map(|t| t.micros), Some(0));
        assert_eq!(parse_time("1:2"), None);
        assert_eq!(parse_time("1:2:3.5"), None);
        assert_eq!(
            parse_date("0-00-00"),
            Some(Date {
                year: 0,
                month: 0,
                day: 0
            })
        );
        let dt = parse_datetime("9999-12-31 23:59:59.999999").unwrap();
        assert_eq!((dt.date.year, dt.hour, dt.micros), (9999, 23, 999_999));
        assert_eq!(parse_datetime("2024-01-01 25:00:00"), None);
    }

    #[test]
    fn decodes_binary_json() {
        assert_eq!(decode_json(&[]), Ok(serde_json::Value::Null));
        assert_eq!(decode_json(&[0x04, 0x01]), Ok(serde_json::json!(true)));
        // {"a": 1}: small object, one key, inline int16.
        let doc = [0x00, 1, 0, 12, 0, 11, 0, 1, 0, 0x05, 1, 0, b'a'];
        assert_eq!(decode_json(&doc), Ok(serde_json::json!({"a": 1})));
        // uint64 max and a double.
        let mut big = vec![0x0a];
        big.extend_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(decode_json(&big), Ok(serde_json::json!(u64::MAX)));
        let mut dbl = vec![0x0b];
        dbl.extend_from_slice(&1.5e300f64.to_le_bytes());
        assert_eq!(decode_json(&dbl), Ok(serde_json::json!(1.5e300)));
        // An opaque DECIMAL (1.5 as DECIMAL(2,1)) is an error, as with the default backend.
        let opaque = [0x0f, 246, 4, 2, 1, 0x81, 0x05];
        let err = decode_json(&opaque).unwrap_err();
        assert!(err.contains("opaque"), "{err}");
        assert!(decode_json(&[0x00, 9, 9]).is_err());
    }

    #[test]
    fn builds_a_url_the_crate_reads_back() {
        assert_eq!(percent_encode("a b@c:d/é"), "a%20b%40c%3Ad%2F%C3%A9");
        let ep = Endpoint {
            side: crate::error::Side::Upstream,
            host: "::1".into(),
            port: 3307,
            user: "u:1".into(),
            password: "p@ss".into(),
            session: vec![],
            tls: None,
        };
        assert_eq!(connection_url(&ep), "mysql://u%3A1:p%40ss@[::1]:3307");
    }

    #[test]
    fn reads_length_encoded_integers() {
        assert_eq!(packed_int(&[250], 0), Some((250, 1)));
        assert_eq!(packed_int(&[252, 1, 2], 0), Some((0x201, 3)));
        assert_eq!(packed_int(&[253, 1, 2, 3], 0), Some((0x030201, 4)));
        assert_eq!(
            packed_int(&[254, 1, 0, 0, 0, 0, 0, 0, 1], 0),
            Some((1 << 56 | 1, 9))
        );
        assert_eq!(packed_int(&[251], 0), None);
        assert_eq!(packed_int(&[252, 1], 0), None);
    }
}
