//! End-to-end tests of the relay log (`ferry_actors::relay_service`) against real MySQL 9.7
//! (GTID mode, compressed transactions) and MariaDB 10.11 upstreams:
//!
//! - the relay yields exactly the events of a direct stream from the same start (file start,
//!   mid-file, GTID set), for a mixed workload across a binlog rotation;
//! - after the upstream purged its binlog, a reader still gets every event from the relay,
//!   and a position held by neither fails with an error naming the file;
//! - a writer stopped (or dropped) and started again on the same store resumes without
//!   duplicate or gap;
//! - a reader starting before the relay reads the upstream, then switches to the relay;
//! - purges (`purge-relay`, `remain-space`) never pass what tasks need or readers read.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_actors::db::{read_position, Endpoint, ServerInfo};
use ferry_actors::error::Side;
use ferry_actors::reader::{
    Backoff, BinlogSource, EventBody, MysqlAsyncSource, ReaderError, ReaderOptions, SourceEvent,
    StartFrom,
};
use ferry_actors::relay_service::{NeededFn, RelayConfig, RelayService};
use ferry_config::{PurgeConfig, SourceConfig};
use ferry_model::{BinlogPosition, Location};
use ferry_relay::{RelayLog, Store};
use ferry_tests::*;

mod matches_direct;
mod purge;
mod reader_start;
mod restart;

const DEADLINE: Duration = Duration::from_secs(90);

fn endpoint(server: &TestServer) -> Endpoint {
    Endpoint {
        side: Side::Upstream,
        host: "127.0.0.1".into(),
        port: server.port(),
        user: "root".into(),
        password: String::new(),
        session: vec![],
        tls: None,
    }
}

fn reader_opts(server_id: u32) -> ReaderOptions {
    ReaderOptions {
        server_id,
        heartbeat: Duration::from_secs(1),
        read_timeout: Duration::from_secs(10),
        verify_checksum: true,
    }
}

/// Relay settings for tests: fast heartbeats and status, small batches (transactions span
/// several appends), no automatic purge unless asked.
fn relay_cfg(server_id: u32) -> RelayConfig {
    let source = SourceConfig {
        purge: PurgeConfig {
            interval: 0,
            expires: 0,
            remain_space: 0,
        },
        ..SourceConfig::default()
    };
    let mut cfg = RelayConfig::from_source(&source, server_id);
    cfg.reader = reader_opts(server_id);
    cfg.backoff = Backoff {
        initial: Duration::from_millis(50),
        max: Duration::from_secs(1),
        attempts: 60,
    };
    cfg.status_interval = Duration::from_millis(200);
    cfg.batch_events = 7;
    cfg
}

fn no_need() -> NeededFn {
    Arc::new(|| None)
}

async fn upstream(kind: DbKind) -> TestServer {
    let mut b = TestServer::builder(kind, Role::Upstream);
    if kind == DbKind::Mysql {
        b = b.extra_cnf("binlog_transaction_compression=ON");
    }
    tokio::task::block_in_place(|| b.start())
}

async fn location(ep: &Endpoint) -> Location {
    let mut conn = ep.connect(vec![]).await.expect("connect");
    let info = ServerInfo::detect(&mut conn, ep).await.expect("detect");
    let loc = read_position(&mut conn, &info, ep).await.expect("position");
    let _ = conn.disconnect().await;
    loc
}

/// Insert/update/delete, a large compressed (MySQL) transaction, a rotation, DDL; ends with a
/// DDL statement (so the last event is not inside a payload).
async fn workload(up: &TestServer, db: &str, round: u32) {
    let base = round * 10_000;
    if round == 0 {
        up.exec(&format!("CREATE DATABASE `{db}`")).await;
        up.exec(&format!(
            "CREATE TABLE `{db}`.`t` (id INT PRIMARY KEY, v VARCHAR(100), j JSON NULL)"
        ))
        .await;
    }
    up.exec(&format!(
        "INSERT INTO `{db}`.`t` (id, v, j) VALUES ({}, 'a', '{{\"k\": 1}}'), ({}, 'b', NULL)",
        base + 1,
        base + 2
    ))
    .await;
    let rows: Vec<String> = (0..200)
        .map(|i| format!("({}, 'row {i}', '[{i}]')", base + 100 + i))
        .collect();
    up.exec(&format!(
        "BEGIN; INSERT INTO `{db}`.`t` (id, v, j) VALUES {}; UPDATE `{db}`.`t` SET v = 'u' WHERE id = {}; \
         DELETE FROM `{db}`.`t` WHERE id = {}; COMMIT",
        rows.join(", "),
        base + 1,
        base + 2
    ))
    .await;
    up.exec("FLUSH BINARY LOGS").await;
    up.exec(&format!(
        "UPDATE `{db}`.`t` SET v = CONCAT(v, 'x') WHERE id BETWEEN {} AND {}",
        base + 100,
        base + 150
    ))
    .await;
    up.exec(&format!(
        "DELETE FROM `{db}`.`t` WHERE id BETWEEN {} AND {}",
        base + 250,
        base + 299
    ))
    .await;
    up.exec(&format!(
        "ALTER TABLE `{db}`.`t` ADD COLUMN n{round} INT NULL"
    ))
    .await;
    up.exec(&format!(
        "INSERT INTO `{db}`.`t` (id, v, n{round}) VALUES ({}, 'after ddl', 5)",
        base + 5000
    ))
    .await;
    up.exec(&format!("CREATE TABLE `{db}`.`end{round}` (id INT)"))
        .await;
}

/// Reads until the real event ending at `end`; heartbeats are dropped (they depend on time).
async fn read_to<S: BinlogSource>(src: &mut S, end: &BinlogPosition) -> Vec<SourceEvent> {
    let deadline = Instant::now() + DEADLINE;
    let mut out: Vec<SourceEvent> = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ev = tokio::time::timeout(left, src.next_event())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "no event ending at {end} within {DEADLINE:?}; last: {:?}",
                    out.last()
                )
            })
            .unwrap_or_else(|e| panic!("reader error: {e}"))
            .unwrap_or_else(|| panic!("stream ended; last: {:?}", out.last()));
        if matches!(ev.body, EventBody::Heartbeat) {
            continue;
        }
        let done = !ev.artificial && ev.pos == *end;
        assert!(
            ev.artificial || ev.pos <= *end,
            "read past {end}: {:?}",
            ev.pos
        );
        out.push(ev);
        if done {
            return out;
        }
    }
}

async fn direct(
    ep: &Endpoint,
    start: impl Into<StartFrom>,
    end: &BinlogPosition,
) -> Vec<SourceEvent> {
    let mut src = MysqlAsyncSource::start(ep, start, reader_opts(4_100_000_000))
        .await
        .expect("direct stream");
    let evs = read_to(&mut src, end).await;
    src.close().await;
    evs
}

/// Compares two streams, pointing at the first difference.
fn assert_same(what: &str, relay: &[SourceEvent], direct: &[SourceEvent]) {
    let short = |e: &SourceEvent| {
        let b = format!("{:?}", e.body);
        format!(
            "{} art={} ts={} sid={} {}",
            e.pos,
            e.artificial,
            e.timestamp,
            e.server_id,
            &b[..b.len().min(120)]
        )
    };
    if let Some(i) = (0..relay.len().max(direct.len())).find(|&i| relay.get(i) != direct.get(i)) {
        let ctx = |v: &[SourceEvent]| -> Vec<String> {
            v[i.saturating_sub(3)..(i + 3).min(v.len())]
                .iter()
                .map(short)
                .collect()
        };
        panic!(
            "{what}: streams differ at event {i} (relay {} events, direct {})\nrelay:  {:#?}\ndirect: {:#?}",
            relay.len(),
            direct.len(),
            ctx(relay),
            ctx(direct)
        );
    }
}

async fn wait_relay_at(svc: &RelayService, end: &BinlogPosition) {
    let want = end.to_string();
    wait_until(
        DEADLINE,
        format!("relay of {} at {want}", svc.source_id()),
        || {
            let st = svc.status();
            let ok = st["relayBinlog"] == want.as_str();
            async move { ok }
        },
    )
    .await;
}

fn store_in(dir: &tempfile::TempDir) -> Arc<Store> {
    Arc::new(Store::open(dir.path()).expect("open store"))
}

/// The position after the `n`-th (from 0) XID among `events`.
fn nth_commit(events: &[SourceEvent], n: usize) -> BinlogPosition {
    events
        .iter()
        .filter(|e| !e.artificial && matches!(e.body, EventBody::Xid { .. }))
        .nth(n)
        .map(|e| e.pos.clone())
        .expect("enough commits")
}

/// The error a stream fails with (artificial events may come before it).
async fn first_error<S: BinlogSource>(r: &mut S) -> ReaderError {
    loop {
        match tokio::time::timeout(DEADLINE, r.next_event()).await {
            Ok(Err(e)) => return e,
            Ok(Ok(Some(ev))) if ev.artificial => continue,
            other => panic!("expected an error, got {other:?}"),
        }
    }
}

/// Events inside transaction payloads (they share the payload event's position).
fn inner_events(evs: &[SourceEvent]) -> usize {
    let mut n = 0;
    let mut payload_end = None;
    for e in evs.iter().filter(|e| !e.artificial) {
        if matches!(e.body, EventBody::Other { type_code: 40 }) {
            payload_end = Some(e.pos.clone());
        } else if payload_end.as_ref() == Some(&e.pos) {
            n += 1;
        } else {
            payload_end = None;
        }
    }
    n
}
