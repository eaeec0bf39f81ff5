//! Readers starting before the relay's start (an upstream prefix, an empty relay).

use super::*;

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
    assert!(
        msg.contains(p0.name.as_str()) && msg.contains("relay log"),
        "{msg}"
    );
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
