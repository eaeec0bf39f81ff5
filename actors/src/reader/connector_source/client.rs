//! The thread's side of the connection: the crate's client connects, sends the session
//! statements and the dump command, then reads packets and hands the decoded events over.

use std::collections::HashMap;
use std::pin::pin;

use ferry_model::BinlogPosition;
use futures::future::{select, Either};
use mysql_binlog_connector_rust::binlog_error::BinlogError;
use mysql_binlog_connector_rust::binlog_parser::BinlogParser;
use mysql_binlog_connector_rust::binlog_stream::BinlogStream;
use mysql_binlog_connector_rust::command::authenticator::Authenticator;
use mysql_binlog_connector_rust::command::command_util::CommandUtil;
use mysql_binlog_connector_rust::command::dump_binlog_command::DumpBinlogCommand;
use mysql_binlog_connector_rust::command::dump_binlog_gtid_command::DumpBinlogGtidCommand;
use mysql_binlog_connector_rust::command::gtid_set::{GtidSet as CrateGtidSet, Interval, UuidSet};
use tokio::sync::{mpsc, oneshot};

use super::decoder::Decoder;
use super::Item;
use crate::db::Endpoint;
use crate::error::TaskError;
use crate::reader::ReaderError;

/// The dump request, checked and converted for the crate.
pub(super) enum Request {
    Position(BinlogPosition),
    Gtid(CrateGtidSet),
}

/// Everything the thread needs to connect.
pub(super) struct Setup {
    pub(super) url: String,
    pub(super) side: crate::error::Side,
    pub(super) addr: String,
    pub(super) server_id: u32,
    /// The crate's per-read (and connect) timeout.
    pub(super) timeout_secs: u64,
    /// Session statements before the dump command.
    pub(super) statements: Vec<String>,
    pub(super) request: Request,
    pub(super) decoder: Decoder,
}

/// `mysql://user:password@host:port`, percent-encoded, as the crate takes it.
pub(super) fn connection_url(ep: &Endpoint) -> String {
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
pub(super) fn crate_gtid_set(set: &ferry_model::MysqlGtids) -> Result<CrateGtidSet, String> {
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
        map.insert(key.to_string(), UuidSet::new(key.to_string(), intervals));
    }
    Ok(CrateGtidSet { map })
}

/// The thread's body: connect, report, then stream until the consumer goes away.
pub(super) async fn run(
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
                binlog_filename: p.name.to_string(),
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

/// A crate error met while talking to the server (connecting, the setup statements, reading
/// the stream's packets) as the driver error that [`ReaderError`] / [`TaskError`] classify
/// (see [`crate::error::policy`]).
///
/// Typed by variant and by where it comes from, never by its text. In
/// mysql-binlog-connector-rust 0.3.3:
/// - `IoError` is the socket's error: an I/O error, its `io::ErrorKind` kept.
/// - `UnexpectedData` on these paths comes from `PacketChannel` (`network/packet_channel.rs`):
///   its own read timeout (no header or body bytes within `timeout_secs`) and its "too many
///   zero-length reads" (a socket that keeps returning nothing for as long, i.e. closed). Both
///   mean the connection failed: an I/O error of kind `TimedOut`, the crate's error kept as
///   its inner error. (The crate's event parsing also uses `UnexpectedData`, but event bytes
///   are decoded by [`super::decoder`], whose failures are [`ReaderError::Decode`] and never
///   come here. The one other `UnexpectedData` these calls can return is a malformed
///   length-encoded integer in a setup query's result row, `ext/cursor_ext.rs`, which a
///   server does not send; it would be retried a bounded number of times, then paused.)
/// - Anything else is definite (`mysql_async::Error::Other`): `ConnectError` (the server
///   refused the login or a setup statement, an unsupported authentication plugin, a TCP
///   connect timeout: the crate reduces them all to text), parse and URL errors.
pub(super) fn driver_error(e: BinlogError) -> mysql_async::Error {
    let io = match e {
        BinlogError::IoError(io) => io,
        timeout @ BinlogError::UnexpectedData(_) => {
            std::io::Error::new(std::io::ErrorKind::TimedOut, timeout)
        }
        other => return mysql_async::Error::Other(Box::new(other)),
    };
    mysql_async::Error::Io(mysql_async::IoError::Io(io))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Action, ErrorClass, Side};

    /// The driver error of `e` as a stream read failure, classified.
    fn stream_class(e: BinlogError) -> ErrorClass {
        ReaderError::Stream {
            addr: "h:1".into(),
            pos: BinlogPosition {
                name: "b.000001".into(),
                pos: 4,
            },
            source: Box::new(driver_error(e)),
        }
        .class()
    }

    #[test]
    fn the_crates_timeouts_and_closed_sockets_are_network_failures() {
        // The texts of 0.3.3's `PacketChannel` (they are not looked at: the variant and the
        // place it comes from decide).
        for msg in [
            "Read binlog header timeout after 3s while waiting for packet header",
            "Read binlog timeout, expect data length: 40, read so far: 12",
            "Too many zero-length reads. Expected data length: 40, read so far: 12",
        ] {
            let e = driver_error(BinlogError::UnexpectedData(msg.into()));
            match &e {
                mysql_async::Error::Io(mysql_async::IoError::Io(io)) => {
                    assert_eq!(io.kind(), std::io::ErrorKind::TimedOut, "{msg}");
                    assert!(io.to_string().contains(msg), "{io}");
                }
                other => panic!("{msg}: {other:?}"),
            }
            let class = stream_class(BinlogError::UnexpectedData(msg.into()));
            assert_eq!(class, ErrorClass::Network, "{msg}");
            assert_eq!(class.action(), Action::Retry, "{msg}");
        }
    }

    #[test]
    fn socket_errors_keep_their_kind_and_the_rest_is_definite() {
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        match driver_error(BinlogError::IoError(reset)) {
            mysql_async::Error::Io(mysql_async::IoError::Io(io)) => {
                assert_eq!(io.kind(), std::io::ErrorKind::ConnectionReset)
            }
            other => panic!("{other:?}"),
        }
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(
            stream_class(BinlogError::IoError(refused)).action(),
            Action::Retry
        );
        let login = TaskError::Connect {
            side: Side::Upstream,
            addr: "h:1".into(),
            source: driver_error(BinlogError::ConnectError(
                "connect mysql failed: Access denied for user 'u'@'h'".into(),
            )),
        };
        assert_eq!(login.action(), Action::Pause);
        let gtid = BinlogError::InvalidGtid("0-1-14".into());
        assert_eq!(stream_class(gtid).action(), Action::Pause);
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
}
