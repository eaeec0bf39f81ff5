//! The `--start-time` lookup against a real upstream: `SHOW BINARY LOGS`, the first event of
//! the probed files, and the scan of the chosen file, each through a binlog dump stream.

use std::collections::HashMap;
use std::time::Duration;

use ferry_model::BinlogPosition;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};
use tracing::{info, warn};

use super::{too_late, BoundaryScan, FileSearch, ScanEvent, StartTime};
use crate::db::Endpoint;
use crate::reader::{EventBody, MysqlAsyncSource, ReaderOptions, SourceEvent};

/// ANONYMOUS_GTID_LOG_EVENT (MySQL ≥ 5.7 without GTIDs): starts a transaction like a GTID.
const ANONYMOUS_GTID: u8 = 34;

/// Where `--start-time` puts replication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The position before the first transaction at or after the time.
    pub position: BinlogPosition,
    /// The time precedes the oldest binlog the upstream has: `position` is its first event
    /// (DM starts there too, with a warning).
    pub before_first: bool,
    /// The time, in seconds since the epoch.
    pub unix: i64,
}

/// The upstream session's offset from UTC in seconds (DM reads the upstream's time zone the
/// same way: `NOW()` against `UTC_TIMESTAMP()`, both the statement's start).
pub async fn upstream_utc_offset(conn: &mut Conn, ep: &Endpoint) -> Result<i32, String> {
    let q = "SELECT TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), NOW())";
    let v: Option<i64> = conn
        .query_first(q)
        .await
        .map_err(|e| format!("{}: `{q}` failed: {e}", ep.addr()))?;
    v.and_then(|v| i32::try_from(v).ok())
        .ok_or_else(|| format!("{}: `{q}` returned no offset", ep.addr()))
}

/// A replica server id for the short lookup streams, away from the ids tasks derive
/// (`0x4000_0000..`) and from small configured ones.
pub(crate) fn lookup_server_id() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    0x2000_0000 | ((nanos ^ std::process::id().rotate_left(16)) & 0x0fff_ffff)
}

fn options() -> ReaderOptions {
    ReaderOptions {
        server_id: lookup_server_id(),
        heartbeat: Duration::from_secs(5),
        read_timeout: Duration::from_secs(30),
        verify_checksum: true,
    }
}

async fn binary_logs(conn: &mut Conn, ep: &Endpoint) -> Result<Vec<(String, u64)>, String> {
    let rows: Vec<Row> = conn.query("SHOW BINARY LOGS").await.map_err(|e| {
        format!(
            "{}: `SHOW BINARY LOGS` failed: {e} (--start-time needs the binary log and \
             REPLICATION CLIENT, or BINLOG MONITOR on MariaDB)",
            ep.addr()
        )
    })?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            Some((
                r.get_opt::<String, _>(0)?.ok()?,
                r.get_opt::<u64, _>(1)?.ok()?,
            ))
        })
        .collect())
}

async fn open(ep: &Endpoint, file: &str) -> Result<MysqlAsyncSource, String> {
    let at = BinlogPosition {
        name: file.into(),
        pos: 4,
    };
    let mut s = MysqlAsyncSource::start(ep, at, options())
        .await
        .map_err(|e| format!("reading binlog file {file} of {}: {e}", ep.addr()))?;
    s.set_decode_rows(false);
    Ok(s)
}

async fn next(s: &mut MysqlAsyncSource, ep: &Endpoint, file: &str) -> Result<SourceEvent, String> {
    match s.next_raw().await {
        Ok(Some(r)) => Ok(r.event),
        Ok(None) => Err(format!(
            "{} ended the binlog stream of {file} early",
            ep.addr()
        )),
        Err(e) => Err(format!("reading binlog file {file} of {}: {e}", ep.addr())),
    }
}

/// Timestamp of the first event of `file` (its format description).
async fn first_timestamp(ep: &Endpoint, file: &str) -> Result<u32, String> {
    let mut s = open(ep, file).await?;
    let ts = loop {
        let ev = match next(&mut s, ep, file).await {
            Ok(ev) => ev,
            Err(e) => {
                s.close().await;
                return Err(e);
            }
        };
        let skip = matches!(ev.body, EventBody::Rotate { .. } | EventBody::Heartbeat);
        if !skip && ev.timestamp > 0 {
            break ev.timestamp;
        }
    };
    s.close().await;
    Ok(ts)
}

fn scan_event(body: &EventBody) -> ScanEvent {
    match body {
        EventBody::MysqlGtid { .. } | EventBody::MariadbGtid { .. } => ScanEvent::Gtid,
        EventBody::Other { type_code } if *type_code == ANONYMOUS_GTID => ScanEvent::Gtid,
        b if b.is_begin() => ScanEvent::Begin,
        b if b.ends_transaction() => ScanEvent::Commit,
        EventBody::Query { .. } => ScanEvent::Statement,
        _ => ScanEvent::Other,
    }
}

/// The position before the first transaction of the upstream `ep` that started at or after
/// `when` (`text` is the value as given, for messages). Errors name the upstream and the file;
/// a time after the last transaction is DM's "too late" error.
pub async fn find_position(ep: &Endpoint, text: &str, when: StartTime) -> Result<Found, String> {
    let mut conn = ep.connect(Vec::new()).await.map_err(|e| e.to_string())?;
    let offset = upstream_utc_offset(&mut conn, ep).await?;
    let unix = when.unix(offset);
    let target = u32::try_from(unix)
        .map_err(|_| format!("start-time {text} is outside the binlog's timestamp range"))?;
    let mut files = binary_logs(&mut conn, ep).await?;
    let mut search = FileSearch::new(files.len(), target);
    while let Some(i) = search.probe() {
        let ts = first_timestamp(ep, &files[i].0).await?;
        search.record(ts);
    }
    let choice = search
        .choice()
        .ok_or_else(|| format!("{}: SHOW BINARY LOGS lists no file", ep.addr()))?;
    let file = files[choice.index].0.clone();
    if choice.before_first {
        warn!(start_time = text, file = %file,
            "start-time is before the oldest binlog the upstream has: replicating from its first event");
        let position = BinlogPosition::new(file, 4).map_err(|e| e.to_string())?;
        return Ok(Found {
            position,
            before_first: true,
            unix,
        });
    }
    let mut sizes: HashMap<String, u64> = files.iter().cloned().collect();
    let mut last = files.last().map(|f| f.0.clone()).unwrap_or_default();
    let mut s = open(ep, &file).await?;
    let mut scan = BoundaryScan::new(target);
    let mut before = BinlogPosition {
        name: file.into(),
        pos: 4,
    };
    let found = loop {
        // The end of the newest file as listed: nothing at or after the time yet.
        if before.name == last && sizes.get(&last).is_some_and(|size| before.pos >= *size) {
            break None;
        }
        let ev = match next(&mut s, ep, &before.name).await {
            Ok(ev) => ev,
            Err(e) => {
                s.close().await;
                return Err(e);
            }
        };
        if ev.artificial || matches!(ev.body, EventBody::Heartbeat) {
            continue;
        }
        if scan.is_start(scan_event(&ev.body), ev.timestamp) {
            break Some(before);
        }
        if let EventBody::Rotate { next } = &ev.body {
            if before.name == last {
                // A file was added since the listing: its size is needed to stop there.
                files = binary_logs(&mut conn, ep).await?;
                sizes = files.iter().cloned().collect();
                last = files.last().map(|f| f.0.clone()).unwrap_or_default();
            }
            before = next.clone();
            continue;
        }
        before = ev.pos.clone();
    };
    s.close().await;
    let position = found.ok_or_else(|| too_late(text))?;
    info!(start_time = text, at = %position, "start-time resolved to a binlog position");
    Ok(Found {
        position,
        before_first: false,
        unix,
    })
}
