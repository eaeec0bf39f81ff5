//! Restarts of the relay's writer and of the upstream: no duplicate, no gap.

use ferry_actors::reader::TxnTracker;
use ferry_relay::{NewRelayEvent, ReadFrom, ReadLimit, RelayPosition, TxnBoundary};

use super::*;

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
    let mut files: Vec<String> = all.iter().map(|e| e.end.name.to_string()).collect();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writer_restart_mysql() {
    writer_restart(DbKind::Mysql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writer_restart_mariadb() {
    writer_restart(DbKind::Mariadb).await;
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
