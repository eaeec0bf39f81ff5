//! `meta_position`: DM's `MetaPositionChecker` — the binlog position (or GTID set) of an
//! `incremental` task's `meta` can be streamed from the upstream: the file exists and is not
//! purged, the offset is inside it and at an event boundary.

use std::time::{Duration, Instant};

use ferry_model::{BinlogPosition, GtidSet};

use super::CheckItem;
use crate::db::Endpoint;
use crate::reader::{EventBody, MysqlAsyncSource, ReaderError, ReaderOptions, StartFrom};

/// DM's description.
const DESC: &str = "check whether meta position is valid for db";

/// How long to wait for an event after the position (DM: 15 s; no event then means the
/// position is the end of the binlog, which is valid).
const WAIT: Duration = Duration::from_secs(5);

/// What the stream said about the position.
async fn probe(ep: &Endpoint, from: StartFrom) -> Result<(), ReaderError> {
    let opts = ReaderOptions {
        server_id: crate::start_time::lookup_server_id(),
        heartbeat: Duration::from_secs(1),
        read_timeout: WAIT,
        verify_checksum: true,
    };
    let mut s = MysqlAsyncSource::start(ep, from, opts).await?;
    s.set_decode_rows(false);
    let deadline = Instant::now() + WAIT;
    let result = loop {
        if Instant::now() >= deadline {
            break Ok(());
        }
        match s.next_raw().await {
            // A heartbeat: the server is at the end of its binlog, past the position.
            Ok(Some(r)) if matches!(r.event.body, EventBody::Heartbeat) => break Ok(()),
            Ok(Some(r)) if r.event.artificial => continue,
            // The first event at the position decoded (checksum included): a boundary.
            Ok(Some(_)) => break Ok(()),
            Ok(None) => break Ok(()),
            Err(ReaderError::Timeout { .. }) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    s.close().await;
    result
}

/// The check for the `meta` of `source`: where replication starts from it (the file position
/// when `binlog-name` is set, else the GTID set), as the reader will.
pub async fn check(
    ep: &Endpoint,
    source: &str,
    position: Option<&BinlogPosition>,
    gtid: Option<&GtidSet>,
) -> Option<CheckItem> {
    let (from, what) = match (position, gtid) {
        (Some(p), _) => (
            StartFrom::Position(p.clone()),
            format!("binlog-name {} binlog-pos {}", p.name, p.pos),
        ),
        (None, Some(g)) => (StartFrom::Gtid(g.clone()), format!("binlog-gtid {g}")),
        (None, None) => return None,
    };
    let item = CheckItem::new("meta_position", format!("{DESC} (source `{source}`)"))
        .with_extra(format!("address of db instance - {}", ep.addr()));
    Some(match probe(ep, from).await {
        Ok(()) => item,
        Err(e) => item.fail(
            format!("mysql-instances meta of source `{source}` ({what}) cannot be read from the upstream: {e}"),
            "set meta to a position the upstream still has (SHOW BINARY LOGS lists the files; \
             SHOW BINLOG EVENTS IN 'file' the event boundaries), or enable the relay log earlier",
        ),
    })
}
