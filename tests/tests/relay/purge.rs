//! Purges: of the upstream's binlogs, and of the relay (`purge-relay`, `remain-space`).

use std::sync::Mutex;

use super::*;

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
    assert!(msg.contains(p0.name.as_str()), "{msg}");
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
        let mut f: Vec<String> = want.iter().map(|e| e.pos.name.to_string()).collect();
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
