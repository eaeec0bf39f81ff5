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

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferry_actors::db::{read_position, Endpoint, ServerInfo};
use ferry_actors::error::Side;
use ferry_actors::reader::{
    Backoff, BinlogSource, EventBody, MysqlAsyncSource, ReaderError, ReaderOptions, SourceEvent,
    StartFrom, TxnTracker,
};
use ferry_actors::relay_service::{NeededFn, RelayConfig, RelayService};
use ferry_config::{PurgeConfig, SourceConfig};
use ferry_model::{BinlogPosition, Location};
use ferry_relay::{
    NewRelayEvent, ReadFrom, ReadLimit, RelayLog, RelayPosition, Store, TxnBoundary,
};
use ferry_tests::*;

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

async fn relay_matches_direct(kind: DbKind) {
    let up = upstream(kind).await;
    let ep = endpoint(&up);
    let db = unique_db_name("relay");
    // A first transaction, so that the GTID set at the start is not empty.
    up.exec(&format!("CREATE DATABASE `{db}_0`")).await;
    let p0 = location(&ep).await;
    let dir = tempfile::tempdir().unwrap();
    let svc = RelayService::start(
        "src-a",
        ep.clone(),
        relay_cfg(4_000_000_001),
        store_in(&dir),
        no_need(),
    )
    .await
    .expect("relay");
    workload(&up, &db, 0).await;
    let end = location(&ep).await.binlog;
    wait_relay_at(&svc, &end).await;

    // From the relay start.
    let want = direct(&ep, p0.binlog.clone(), &end).await;
    let mut r = svc.open(p0.binlog.clone()).await.expect("open");
    assert!(r.from_relay());
    let got = read_to(&mut r, &end).await;
    assert_same("from the relay start", &got, &want);
    assert!(
        want.iter()
            .any(|e| matches!(e.body, EventBody::Rotate { .. }) && !e.artificial),
        "the workload rotates the binlog"
    );
    if kind == DbKind::Mysql {
        assert!(
            want.iter()
                .any(|e| matches!(e.body, EventBody::Other { type_code: 40 })),
            "a compressed transaction is in the stream"
        );
    }

    // Caught up: the upstream's heartbeats come through, at the reader's position (MariaDB
    // may still write a binlog checkpoint event after the rotation).
    let mut at = end.clone();
    let hb = loop {
        let ev = tokio::time::timeout(DEADLINE, r.next_event())
            .await
            .expect("a heartbeat in time")
            .expect("no error")
            .expect("an event");
        if matches!(ev.body, EventBody::Heartbeat) {
            break ev;
        }
        assert!(matches!(ev.body, EventBody::Other { .. }), "{ev:?}");
        at = ev.pos.clone();
    };
    assert!(hb.artificial && hb.pos == at, "{hb:?}");

    // From mid-file (a commit inside the first file: the format description is synthesized),
    // and from the start of the second file.
    let mid = nth_commit(&want, 1);
    assert!(mid.pos > 4);
    let want_mid = direct(&ep, mid.clone(), &end).await;
    let got_mid = read_to(&mut svc.open(mid.clone()).await.unwrap(), &end).await;
    assert_same("from mid-file", &got_mid, &want_mid);
    let second = want
        .iter()
        .find_map(|e| match &e.body {
            EventBody::Rotate { next } if !e.artificial => Some(next.clone()),
            _ => None,
        })
        .unwrap();
    let want_2 = direct(&ep, second.clone(), &end).await;
    let got_2 = read_to(&mut svc.open(second.clone()).await.unwrap(), &end).await;
    assert_same("from a file start", &got_2, &want_2);

    // From a GTID set: the upstream selects the transactions, then the relay takes over and
    // skips what the set holds.
    let gtid = p0.gtid.clone().expect("GTID set");
    let want_g = direct(&ep, StartFrom::Gtid(gtid.clone()), &end).await;
    let mut rg = svc.open(StartFrom::Gtid(gtid)).await.unwrap();
    let got_g = read_to(&mut rg, &end).await;
    assert_same("from a GTID set", &got_g, &want_g);
    assert!(rg.from_relay(), "switched to the relay");

    // Status: DM's relayStatus shape.
    let end_s = end.to_string();
    let master_gtid = location(&ep).await.gtid.unwrap().to_string();
    wait_until(DEADLINE, "relayCatchUpMaster", || {
        let st = svc.status();
        let ok = st["relayCatchUpMaster"] == true
            && st["masterBinlog"] == end_s.as_str()
            && st["masterBinlogGtid"] == master_gtid.as_str();
        async move { ok }
    })
    .await;
    let st = svc.status();
    assert_eq!(st["stage"], "Running", "{st}");
    assert!(st["result"].is_null(), "{st}");
    assert!(
        st["relaySubDir"].as_str().unwrap().ends_with(".000001"),
        "{st}"
    );
    assert_eq!(st["relayBinlogGtid"], master_gtid.as_str(), "{st}");
    drop(r);
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_matches_direct_mysql() {
    relay_matches_direct(DbKind::Mysql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_matches_direct_mariadb() {
    relay_matches_direct(DbKind::Mariadb).await;
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

/// Binlog files of the upstream.
async fn binlogs(up: &TestServer) -> Vec<String> {
    up.query_rows::<mysql_async::Row>("SHOW BINARY LOGS")
        .await
        .into_iter()
        .map(|r| r.get::<String, _>(0).unwrap())
        .collect()
}

async fn survives_upstream_purge(kind: DbKind) {
    let up = upstream(kind).await;
    let ep = endpoint(&up);
    let db = unique_db_name("purged");
    let p0 = location(&ep).await.binlog;
    let dir = tempfile::tempdir().unwrap();
    let svc = RelayService::start(
        "src-p",
        ep.clone(),
        relay_cfg(4_000_000_002),
        store_in(&dir),
        no_need(),
    )
    .await
    .expect("relay");
    workload(&up, &db, 0).await;
    workload(&up, &db, 1).await;
    let end = location(&ep).await.binlog;
    let want = direct(&ep, p0.clone(), &end).await;
    wait_relay_at(&svc, &end).await;

    up.exec(&format!("PURGE BINARY LOGS TO '{}'", end.name))
        .await;
    assert_eq!(binlogs(&up).await, vec![end.name.clone()]);
    let gone = MysqlAsyncSource::start(&ep, p0.clone(), reader_opts(4_100_000_001)).await;
    let err = match gone {
        Err(e) => e,
        Ok(mut s) => s.next_event().await.expect_err("purged upstream"),
    };
    assert!(!err.is_transient(), "{err}");

    let mut r = svc.open(p0.clone()).await.unwrap();
    let got = read_to(&mut r, &end).await;
    assert_same("after the upstream purge", &got, &want);

    // New events still flow through.
    up.exec(&format!("CREATE TABLE `{db}`.`later` (id INT)"))
        .await;
    let end2 = location(&ep).await.binlog;
    let more = read_to(&mut r, &end2).await;
    assert!(
        more.iter()
            .any(|e| matches!(&e.body, EventBody::Query { sql, .. } if sql.contains("later"))),
        "{more:?}"
    );
    drop(r);
    svc.stop().await;

    // A position before the relay's start, purged upstream: an error naming the file.
    let dir2 = tempfile::tempdir().unwrap();
    let svc2 = RelayService::start(
        "src-q",
        ep.clone(),
        relay_cfg(4_000_000_003),
        store_in(&dir2),
        no_need(),
    )
    .await
    .unwrap();
    let mut r = svc2.open(p0.clone()).await.unwrap();
    let err = first_error(&mut r).await;
    assert!(matches!(err, ReaderError::Unavailable { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains(&p0.name), "{msg}");
    assert!(!err.is_transient());
    drop(r);
    svc2.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_upstream_purge_mysql() {
    survives_upstream_purge(DbKind::Mysql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_upstream_purge_mariadb() {
    survives_upstream_purge(DbKind::Mariadb).await;
}

async fn writer_restart(kind: DbKind) {
    let up = upstream(kind).await;
    let ep = endpoint(&up);
    let db = unique_db_name("restart");
    let p0 = location(&ep).await.binlog;
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    let svc = RelayService::start(
        "src-r",
        ep.clone(),
        relay_cfg(4_000_000_004),
        Arc::clone(&store),
        no_need(),
    )
    .await
    .unwrap();
    workload(&up, &db, 0).await;
    let mid = location(&ep).await.binlog;
    wait_relay_at(&svc, &mid).await;
    svc.stop().await;
    // Written while the relay is stopped.
    workload(&up, &db, 1).await;
    let svc = RelayService::start(
        "src-r",
        ep.clone(),
        relay_cfg(4_000_000_004),
        Arc::clone(&store),
        no_need(),
    )
    .await
    .unwrap();
    // Dropped (not stopped) while a workload runs: the writer is cut wherever it is.
    let up2 = &up;
    let db2 = db.clone();
    let load = async move { workload(up2, &db2, 2).await };
    let cut = async {
        let st = wait_for(DEADLINE, "relay moving", || {
            let s = svc.status();
            let moved = s["relayBinlog"] != mid.to_string().as_str();
            async move { moved.then_some(()) }
        })
        .await;
        drop(svc);
        st
    };
    tokio::join!(load, cut);
    workload(&up, &db, 3).await;
    let end = location(&ep).await.binlog;
    let svc = RelayService::start(
        "src-r",
        ep.clone(),
        relay_cfg(4_000_000_004),
        Arc::clone(&store),
        no_need(),
    )
    .await
    .unwrap();
    wait_relay_at(&svc, &end).await;
    let want = direct(&ep, p0.clone(), &end).await;
    let got = read_to(&mut svc.open(p0.clone()).await.unwrap(), &end).await;
    assert_same("across writer restarts", &got, &want);
    // The relay holds each event once: as many as the real events of the direct stream,
    // less the inner events of transaction payloads (held inside their payload event).
    let real = want.iter().filter(|e| !e.artificial).count();
    let inner = inner_events(&want);
    let stats = store.stats("src-r").unwrap();
    assert_eq!(stats.count as usize, real - inner, "{stats:?}");
    svc.stop().await;

    // A relay cut inside a transaction (its position past the last complete transaction):
    // a copy of the relay up to the middle of the first multi-event transaction. The writer
    // resumes at the transaction's start and stores nothing twice.
    let mut txn = TxnTracker::default();
    let mut boundary = stats.floor.clone().unwrap();
    let mut cut = None;
    for e in want.iter().filter(|e| !e.artificial) {
        let was_in = txn.in_txn();
        let at_boundary = txn.observe(&e.body);
        if was_in && !at_boundary && e.pos > boundary {
            cut = Some(e.pos.clone());
            break;
        }
        if at_boundary {
            boundary = e.pos.clone();
        }
    }
    let cut = cut.expect("a transaction of several events");
    assert!(boundary < cut);
    let dir2 = tempfile::tempdir().unwrap();
    let copy = store_in(&dir2);
    let floor = stats.floor.clone().unwrap();
    copy.reset(
        "src-r",
        &RelayPosition {
            binlog: floor.clone(),
            gtid: None,
            txn_end: Some(floor),
        },
    )
    .unwrap();
    let all = store
        .read(
            "src-r",
            &ReadFrom::AfterSeq(0),
            ReadLimit {
                max_events: usize::MAX,
                max_bytes: u64::MAX,
            },
        )
        .unwrap();
    let mut files: Vec<String> = all.iter().map(|e| e.end.name.clone()).collect();
    files.dedup();
    for f in &files {
        if let Some(h) = store.file_header("src-r", f).unwrap() {
            copy.put_file_header("src-r", f, &h).unwrap();
        }
    }
    let head: Vec<NewRelayEvent> = all
        .iter()
        .filter(|e| e.end <= cut)
        .map(|e| NewRelayEvent {
            end: e.end.clone(),
            timestamp: e.timestamp,
            raw: e.raw.clone(),
        })
        .collect();
    copy.append(
        "src-r",
        &head,
        Some(&TxnBoundary {
            end: boundary.clone(),
            gtid: None,
        }),
    )
    .unwrap();
    let rp = copy.relay_position("src-r").unwrap().unwrap();
    assert_eq!((rp.binlog, rp.txn_end), (cut.clone(), Some(boundary)));
    let svc = RelayService::start(
        "src-r",
        ep.clone(),
        relay_cfg(4_000_000_004),
        Arc::clone(&copy),
        no_need(),
    )
    .await
    .unwrap();
    wait_relay_at(&svc, &end).await;
    let got = read_to(&mut svc.open(p0.clone()).await.unwrap(), &end).await;
    assert_same("resumed inside a transaction", &got, &want);
    assert_eq!(copy.stats("src-r").unwrap().count, stats.count);
    svc.stop().await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writer_restart_mysql() {
    writer_restart(DbKind::Mysql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writer_restart_mariadb() {
    writer_restart(DbKind::Mariadb).await;
}

async fn prefix_then_relay(kind: DbKind) {
    let up = upstream(kind).await;
    let ep = endpoint(&up);
    let db = unique_db_name("prefix");
    let p0 = location(&ep).await.binlog;
    workload(&up, &db, 0).await;
    // The relay starts later (at the current position): P0 is before it.
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    let svc = RelayService::start(
        "src-x",
        ep.clone(),
        relay_cfg(4_000_000_005),
        Arc::clone(&store),
        no_need(),
    )
    .await
    .unwrap();
    let relay_start = store.stats("src-x").unwrap().floor.expect("relay start");
    assert!(relay_start > p0);
    workload(&up, &db, 1).await;
    let end = location(&ep).await.binlog;
    wait_relay_at(&svc, &end).await;

    let want = direct(&ep, p0.clone(), &end).await;
    let mut r = svc.open(p0.clone()).await.unwrap();
    assert!(!r.from_relay());
    let got = read_to(&mut r, &end).await;
    assert_same("upstream prefix then relay", &got, &want);
    assert!(r.from_relay(), "switched to the relay");
    drop(r);

    // Once the upstream purged the prefix, the same start is in neither: a clear error.
    up.exec(&format!("PURGE BINARY LOGS TO '{}'", end.name))
        .await;
    let mut r = svc.open(p0.clone()).await.unwrap();
    let err = first_error(&mut r).await;
    let msg = err.to_string();
    assert!(
        matches!(err, ReaderError::Unavailable { ref file, .. } if *file == p0.name),
        "{msg}"
    );
    assert!(msg.contains(&p0.name) && msg.contains("relay log"), "{msg}");
    drop(r);
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefix_then_relay_mysql() {
    prefix_then_relay(DbKind::Mysql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefix_then_relay_mariadb() {
    prefix_then_relay(DbKind::Mariadb).await;
}

/// `purge-relay` and `remain-space` purges stop at the tasks' needed position and at open
/// readers; what they keep is still readable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purges_keep_what_is_needed() {
    let up = upstream(DbKind::Mysql).await;
    let ep = endpoint(&up);
    let db = unique_db_name("purge");
    let p0 = location(&ep).await.binlog;
    let needed: Arc<Mutex<Option<BinlogPosition>>> = Arc::new(Mutex::new(Some(p0.clone())));
    let n2 = Arc::clone(&needed);
    let need: NeededFn = Arc::new(move || n2.lock().unwrap().clone());
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    let mut cfg = relay_cfg(4_000_000_006);
    // remain-space far above any free space: every pass purges as much as allowed.
    cfg.purge = PurgeConfig {
        interval: 1,
        expires: 0,
        remain_space: 1 << 30,
    };
    let svc = RelayService::start("src-g", ep.clone(), cfg, Arc::clone(&store), need)
        .await
        .unwrap();
    // The relay starts at the tasks' needed position.
    assert_eq!(store.stats("src-g").unwrap().floor, Some(p0.clone()));
    workload(&up, &db, 0).await;
    workload(&up, &db, 1).await;
    let end = location(&ep).await.binlog;
    wait_relay_at(&svc, &end).await;
    let want = direct(&ep, p0.clone(), &end).await;
    let files: Vec<String> = {
        let mut f: Vec<String> = want.iter().map(|e| e.pos.name.clone()).collect();
        f.dedup();
        f
    };
    assert!(files.len() >= 3, "{files:?}");

    // Tasks need P0: nothing goes, whatever is asked.
    let m = svc.purge_before_file(files.last().unwrap()).await.unwrap();
    assert_eq!(m.report.count, 0, "{m:?}");
    assert_eq!(svc.purge_now().await.unwrap().count, 0);

    // A task at a commit in the second file; a reader still in the first file.
    let task_at = want
        .iter()
        .filter(|e| {
            !e.artificial && e.pos.name == files[1] && matches!(e.body, EventBody::Xid { .. })
        })
        .map(|e| e.pos.clone())
        .next()
        .expect("a commit in the second file");
    let reader_at = nth_commit(&want, 0);
    assert_eq!(reader_at.name, files[0]);
    let mut reader = svc.open(reader_at.clone()).await.unwrap();
    *needed.lock().unwrap() = Some(task_at.clone());
    let m = svc.purge_before_file(&files[1]).await.unwrap();
    // (The periodic remain-space pass may have purged first: only the floor is certain.)
    assert_eq!(m.needed.as_ref(), Some(&reader_at), "{m:?}");
    assert_eq!(m.floor.as_ref(), Some(&reader_at), "{m:?}");
    // The reader reads on from where it is.
    let from_reader = direct(&ep, reader_at.clone(), &end).await;
    assert_same(
        "reader across a purge",
        &read_to(&mut reader, &end).await,
        &from_reader,
    );
    drop(reader);

    // purge-relay before the third file: stops at the task's position in the second.
    let m = svc.purge_before_file(&files[2]).await.unwrap();
    assert_eq!(m.floor.as_ref(), Some(&task_at), "{m:?}");
    // remain-space (every second) purges up to the task, no further, as it moves.
    let task2 = nth_commit(&want, 6);
    assert!(task2 > task_at);
    *needed.lock().unwrap() = Some(task2.clone());
    wait_until(DEADLINE, "remain-space purge up to the task", || {
        let floor = store.stats("src-g").unwrap().floor;
        let ok = floor.as_ref() == Some(&task2);
        async move { ok }
    })
    .await;
    // The task reads on from its checkpoint out of the relay.
    let mut r = svc.open(task2.clone()).await.unwrap();
    assert!(r.from_relay());
    let from_task = direct(&ep, task2.clone(), &end).await;
    assert_same(
        "task after purges",
        &read_to(&mut r, &end).await,
        &from_task,
    );
    // A start before the floor is not in the relay any more: read from the upstream.
    let early = svc.open(p0.clone()).await.unwrap();
    assert!(!early.from_relay());
    drop((r, early));

    // No task needs anything: purge-relay empties everything before the last file.
    *needed.lock().unwrap() = None;
    let m = svc.purge_before_file(files.last().unwrap()).await.unwrap();
    let floor = m.floor.expect("floor");
    assert!(
        floor.name != *files.last().unwrap() || floor.pos <= 4,
        "{floor}"
    );
    let stats = store.stats("src-g").unwrap();
    assert!(
        stats
            .first
            .as_ref()
            .is_some_and(|f| f.name == *files.last().unwrap()),
        "{stats:?}"
    );
    svc.stop().await;
}

/// The first open of a relay that never stored anything moves its start to the reader's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_open_moves_an_empty_relay() {
    let up = upstream(DbKind::Mariadb).await;
    let ep = endpoint(&up);
    let db = unique_db_name("first");
    let p0 = location(&ep).await;
    up.exec(&format!("CREATE DATABASE `{db}`")).await;
    up.exec(&format!("CREATE TABLE `{db}`.`t` (id INT)")).await;
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    let svc = RelayService::start(
        "src-f",
        ep.clone(),
        relay_cfg(4_000_000_007),
        Arc::clone(&store),
        no_need(),
    )
    .await
    .unwrap();
    assert!(store.stats("src-f").unwrap().floor.unwrap() > p0.binlog);
    let mut r = svc.open(p0.binlog.clone()).await.unwrap();
    assert_eq!(
        store.stats("src-f").unwrap().floor.as_ref(),
        Some(&p0.binlog)
    );
    assert!(r.from_relay());
    up.exec(&format!("INSERT INTO `{db}`.`t` VALUES (1)")).await;
    let end = location(&ep).await.binlog;
    let want = direct(&ep, p0.binlog.clone(), &end).await;
    assert_same("first open", &read_to(&mut r, &end).await, &want);
    svc.stop().await;
}

/// The upstream restarts under the relay: the writer reconnects, the old file ends with a
/// stop event (no rotate) and the server continues in a new file; readers see what a direct
/// stream shows.
async fn upstream_restart(kind: DbKind) {
    let up = upstream(kind).await;
    let ep = endpoint(&up);
    let db = unique_db_name("uprestart");
    let p0 = location(&ep).await.binlog;
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    let svc = RelayService::start(
        "src-u",
        ep.clone(),
        relay_cfg(4_000_000_008),
        Arc::clone(&store),
        no_need(),
    )
    .await
    .unwrap();
    workload(&up, &db, 0).await;
    let mid = location(&ep).await.binlog;
    wait_relay_at(&svc, &mid).await;
    tokio::task::block_in_place(|| up.restart());
    workload(&up, &db, 1).await;
    let end = location(&ep).await.binlog;
    wait_relay_at(&svc, &end).await;
    let want = direct(&ep, p0.clone(), &end).await;
    assert!(
        want.iter()
            .any(|e| matches!(e.body, EventBody::Other { type_code: 3 })),
        "a stop event ends the file of the restart"
    );
    let got = read_to(&mut svc.open(p0.clone()).await.unwrap(), &end).await;
    assert_same("across an upstream restart", &got, &want);
    let real = want.iter().filter(|e| !e.artificial).count();
    assert_eq!(
        store.stats("src-u").unwrap().count as usize,
        real - inner_events(&want)
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_restart_mysql() {
    upstream_restart(DbKind::Mysql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_restart_mariadb() {
    upstream_restart(DbKind::Mariadb).await;
}
