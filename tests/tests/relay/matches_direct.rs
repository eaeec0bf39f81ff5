//! The relay yields exactly the events of a direct stream from the same start.

use super::*;

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
