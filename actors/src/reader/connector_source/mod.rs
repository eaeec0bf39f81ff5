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
//! | its per-column signedness is unusable: `is_signed` holds the bit whose 1 means UNSIGNED, and the bits are dealt to a list of numeric types lacking YEAR and DECIMAL, so every numeric column after one of those gets its neighbour's bit | the signedness field is read from the table map bytes ([`table_unsigned`](table_map::table_unsigned)) |
//! | rows events: the NULL bitmap is read with one bit per table column instead of one per column present, which misreads `binlog_row_image=MINIMAL`/`NOBLOB` images; flags dropped; panics without a table map | the rows event header and bitmaps are read here and each image is decoded by the crate's `RowEvent::parse` against the table map reduced to the columns present; `STMT_END` from the flags; NULL and "not in the image" told apart ([`RowValue::Absent`](super::RowValue::Absent)) |
//! | `BIT` as a `u64` | big-endian bytes of the column's width (table map metadata) |
//! | DATE/TIME/DATETIME as text, TIMESTAMP as microseconds, YEAR 0 as 1900 | parsed back into [`RowValue`](super::RowValue)s |
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

mod client;
mod column_value;
mod decoder;
mod json;
mod payload;
mod rows;
mod table_map;
mod wire;

use std::panic::AssertUnwindSafe;

use ferry_model::{BinlogPosition, GtidSet};
use futures::FutureExt;
use tokio::sync::{mpsc, oneshot};

use self::client::{connection_url, crate_gtid_set, run, Request, Setup};
use self::decoder::Decoder;
use super::{BinlogSource, ReaderError, ReaderOptions, SourceEvent, StartFrom};
use crate::db::{Endpoint, Flavor, ServerInfo};

/// The backend's name, as `binlog-backend` spells it.
const BACKEND: &str = "connector";
/// Events decoded ahead of the consumer (the bound of the thread-to-tokio channel).
pub const CHANNEL_EVENTS: usize = 64;

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
        name: Default::default(),
        pos: 4,
    }
}
