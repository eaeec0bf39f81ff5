//! Differential test of the two binlog backends of `ferry_actors::reader`: the same binlog
//! range of a real upstream (MySQL 9.7, and MariaDB 10.11), streamed through the default
//! backend (`mysql_async`) and the `connector` backend (`mysql-binlog-connector-rust`), must
//! decode to the same events: positions, headers and bodies, every row value included.
//!
//! The workload covers every column type of `tests/fixtures/type_matrix.sql` plus more
//! fractional-second, DECIMAL, BIT, ENUM/SET and string widths, a JSON document over 64 KiB,
//! inserts, updates and deletes (full, minimal and noblob row images), DDL, multi-statement
//! transactions, a non-transactional table, a compressed transaction (MySQL) and a binlog
//! rotation.
//!
//! Also: the connector refuses what it cannot serve (MariaDB GTID start, TLS) and fails
//! clearly on what it cannot decode (partial JSON updates, tagged GTIDs); and the
//! reconnecting reader resumes through it after an upstream restart.

use std::time::{Duration, Instant};

use ferry_actors::db::{read_position, Endpoint, ServerInfo};
use ferry_actors::error::Side;
use ferry_actors::reader::{
    AnySource, Backend, BinlogSource, ConnectorSource, EventBody, ReaderError, ReaderOptions,
    RowValue, SourceEvent, StartFrom,
};
use ferry_model::{BinlogPosition, Location};
use ferry_tests::*;

mod connector;
mod diff;
mod same_events;

use diff::tail;

const DEADLINE: Duration = Duration::from_secs(120);

/// A replication account with a password that needs URL escaping (the connector crate
/// cannot log in without a password; root has none on the test servers).
const USER: &str = "ferry_repl";
const PASSWORD: &str = "p@ss:w/rd %é";

/// Creates [`USER`] and returns its endpoint; both backends read through it.
async fn endpoint(server: &TestServer) -> Endpoint {
    let pw = PASSWORD.replace('\'', "''");
    for host in ["%", "localhost", "127.0.0.1"] {
        server
            .exec(&format!(
                "CREATE USER '{USER}'@'{host}' IDENTIFIED BY '{pw}'; \
                 GRANT ALL ON *.* TO '{USER}'@'{host}'"
            ))
            .await;
    }
    Endpoint {
        side: Side::Upstream,
        host: "127.0.0.1".into(),
        port: server.port(),
        user: USER.into(),
        password: PASSWORD.into(),
        session: vec![],
        tls: None,
    }
}

fn reader_opts() -> ReaderOptions {
    ReaderOptions {
        server_id: 4_000_000_001,
        heartbeat: Duration::from_secs(1),
        read_timeout: Duration::from_secs(20),
        verify_checksum: true,
    }
}

async fn location(ep: &Endpoint) -> Location {
    let mut conn = ep.connect(vec![]).await.expect("connect");
    let info = ServerInfo::detect(&mut conn, ep).await.expect("detect");
    let loc = read_position(&mut conn, &info, ep).await.expect("position");
    let _ = conn.disconnect().await;
    loc
}

/// Streams from `start` through `backend` until the real event that ends at `end`
/// (heartbeats, whose timing differs between runs, are left out).
async fn stream(
    backend: Backend,
    ep: &Endpoint,
    start: StartFrom,
    end: &BinlogPosition,
) -> Vec<SourceEvent> {
    let mut src = AnySource::start(backend, ep, start.clone(), reader_opts())
        .await
        .unwrap_or_else(|e| panic!("{backend}: starting at {start:?}: {e}"));
    assert_eq!(src.backend(), backend);
    let deadline = Instant::now() + DEADLINE;
    let mut out: Vec<SourceEvent> = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ev = match tokio::time::timeout(left, src.next_event()).await {
            Err(_) => panic!(
                "{backend}: nothing before the deadline; last events:\n{}",
                tail(&out)
            ),
            Ok(Err(e)) => panic!("{backend}: {e}\nlast events:\n{}", tail(&out)),
            Ok(Ok(None)) => panic!("{backend}: the stream ended; last events:\n{}", tail(&out)),
            Ok(Ok(Some(ev))) => ev,
        };
        if matches!(ev.body, EventBody::Heartbeat) {
            continue;
        }
        let done = !ev.artificial && ev.pos == *end;
        out.push(ev);
        if done {
            break;
        }
    }
    src.close().await;
    out
}

/// Reads from `start` with the connector until it fails, and returns the error.
async fn connector_error(ep: &Endpoint, start: &BinlogPosition) -> ReaderError {
    let mut src = ConnectorSource::start(ep, start.clone(), reader_opts())
        .await
        .expect("start the connector");
    let deadline = Instant::now() + DEADLINE;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, src.next_event()).await {
            Err(_) => panic!("no error before the deadline; events:\n{}", tail(&seen)),
            Ok(Err(e)) => return e,
            Ok(Ok(None)) => panic!("the stream ended without an error:\n{}", tail(&seen)),
            Ok(Ok(Some(ev))) => seen.push(ev),
        }
    }
}
