//! The connector backend's refusals, clear decode errors, heartbeats and reconnects.

use ferry_actors::db::TlsFiles;
use ferry_actors::reader::{Backoff, JsonPatchOp, ReconnectingSource, Time};

use super::*;

/// The connector cannot start from a MariaDB GTID set nor use TLS: `start` says so, naming
/// the source setting, while the default backend serves the same start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connector_refuses_mariadb_gtid_and_tls() {
    let up = TestServer::start(DbKind::Mariadb, Role::Upstream);
    let ep = endpoint(&up).await;
    up.exec("CREATE DATABASE refusals").await;
    let loc = location(&ep).await;
    let gtid = loc.gtid.clone().expect("MariaDB GTID position");

    let err = AnySource::start(
        Backend::Connector,
        &ep,
        StartFrom::Gtid(gtid.clone()),
        reader_opts(),
    )
    .await
    .expect_err("the connector must refuse a MariaDB GTID start");
    assert!(matches!(err, ReaderError::Unsupported { .. }), "{err:?}");
    assert!(!err.is_transient(), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("binlog backend `connector` does not support MariaDB GTID (`enable-gtid`)"),
        "{text}"
    );
    assert!(
        text.contains("use the default backend (binlog-backend: mysql_async)"),
        "{text}"
    );

    // The default backend serves it.
    let src = AnySource::start(
        Backend::MysqlAsync,
        &ep,
        StartFrom::Gtid(gtid),
        reader_opts(),
    )
    .await
    .expect("the default backend starts from a MariaDB GTID set");
    src.close().await;

    // TLS (a `from.security` block) is refused before connecting.
    let tls = Endpoint {
        tls: Some(TlsFiles::default()),
        ..ep.clone()
    };
    let err = ConnectorSource::start(&tls, loc.binlog.clone(), reader_opts())
        .await
        .expect_err("the connector must refuse TLS");
    let text = err.to_string();
    assert!(
        text.contains("binlog backend `connector` does not support TLS (`from.security`)"),
        "{text}"
    );

    // A position start on MariaDB is served by the connector.
    let src = ConnectorSource::start(&ep, loc.binlog, reader_opts())
        .await
        .expect("position start on MariaDB");
    src.close().await;
}

/// What the connector crate would drop silently is a clear error instead: partial JSON
/// updates and tagged GTIDs (the default backend decodes both). And a value the default
/// backend's decoder cannot take, which the connector decodes: a negative `TIME(2)` with a
/// fraction. Idle, the connector passes heartbeats on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connector_edge_cases_mysql() {
    let up = TestServer::start(DbKind::Mysql, Role::Upstream);
    let ep = endpoint(&up).await;
    up.exec(
        "CREATE DATABASE pj; CREATE TABLE pj.t (id INT PRIMARY KEY, j JSON); \
         INSERT INTO pj.t VALUES (1, '{\"a\": 1, \"b\": [1, 2]}')",
    )
    .await;

    let before = location(&ep).await.binlog;
    up.exec(
        "SET SESSION binlog_row_value_options = 'PARTIAL_JSON'; \
         SET SESSION binlog_row_image = 'MINIMAL'; \
         UPDATE pj.t SET j = JSON_SET(j, '$.a', 2) WHERE id = 1",
    )
    .await;
    let end = location(&ep).await.binlog;
    let events = stream(Backend::MysqlAsync, &ep, before.clone().into(), &end).await;
    let partial = events.iter().any(|e| match &e.body {
        EventBody::Rows { changes, .. } => changes.iter().flat_map(|c| c.after.iter().flatten()).any(
            |v| matches!(v, RowValue::PartialJson(p) if p.iter().any(|op| op.op == JsonPatchOp::Replace)),
        ),
        _ => false,
    });
    assert!(
        partial,
        "the default backend decodes the partial update: {events:#?}"
    );
    let err = connector_error(&ep, &before).await;
    assert!(
        matches!(err, ReaderError::Decode { type_code: 39, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("binlog_row_value_options"),
        "{err}"
    );

    let before = location(&ep).await.binlog;
    up.exec(
        "SET gtid_next = 'AUTOMATIC:ferrytag'; INSERT INTO pj.t VALUES (2, '[]'); \
         SET gtid_next = 'AUTOMATIC'",
    )
    .await;
    let end = location(&ep).await.binlog;
    let events = stream(Backend::MysqlAsync, &ep, before.clone().into(), &end).await;
    assert!(
        events
            .iter()
            .any(|e| !e.artificial && matches!(e.body, EventBody::MysqlGtid { .. })),
        "{events:#?}"
    );
    let err = connector_error(&ep, &before).await;
    assert!(
        matches!(err, ReaderError::Decode { type_code: 42, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("tagged GTIDs"), "{err}");

    let before = location(&ep).await.binlog;
    up.exec(
        "CREATE TABLE pj.tm (id INT PRIMARY KEY, t TIME(2)); \
         INSERT INTO pj.tm VALUES (1, '-00:00:00.01'), (2, '-838:59:58.99')",
    )
    .await;
    let end = location(&ep).await.binlog;
    let events = stream(Backend::Connector, &ep, before.into(), &end).await;
    let times: Vec<RowValue> = events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Rows { changes, .. } => Some(changes),
            _ => None,
        })
        .flatten()
        .filter_map(|c| c.after.as_ref().map(|a| a[1].clone()))
        .collect();
    let time = |hours, minute, second, micros| {
        RowValue::Time(Time {
            negative: true,
            hours,
            minute,
            second,
            micros,
        })
    };
    assert_eq!(
        times,
        vec![time(0, 0, 0, 10_000), time(838, 59, 58, 990_000)]
    );

    // Idle at the end of the binlog, the connector passes on the server's heartbeats.
    let mut src = ConnectorSource::start(&ep, end.clone(), reader_opts())
        .await
        .expect("start at the end");
    let deadline = Instant::now() + Duration::from_secs(30);
    let heartbeat = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ev = tokio::time::timeout(left, src.next_event())
            .await
            .expect("a heartbeat before the deadline")
            .expect("read")
            .expect("event");
        if matches!(ev.body, EventBody::Heartbeat) {
            break ev;
        }
    };
    assert!(heartbeat.artificial, "{heartbeat:?}");
    assert_eq!(heartbeat.pos, end);
    src.close().await;
}

/// The reconnecting reader works through the connector too: after an upstream restart, the
/// next transaction comes exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connector_resumes_after_restart_mysql() {
    let up = TestServer::start(DbKind::Mysql, Role::Upstream);
    let ep = endpoint(&up).await;
    up.exec("CREATE DATABASE rc; CREATE TABLE rc.t (id INT PRIMARY KEY, v VARCHAR(20))")
        .await;
    let start = location(&ep).await.binlog;
    let backoff = Backoff {
        initial: Duration::from_millis(50),
        max: Duration::from_secs(1),
        attempts: 60,
    };
    let mut src = ReconnectingSource::new(ep.clone(), start.clone(), reader_opts(), backoff)
        .with_backend(Backend::Connector);
    let ids_until = |want: i64| {
        move |ev: &SourceEvent| match &ev.body {
            EventBody::Rows { changes, .. } => changes.iter().any(|c| {
                c.after
                    .as_ref()
                    .is_some_and(|a| a[0] == RowValue::Int(want))
            }),
            _ => false,
        }
    };
    let mut events = Vec::new();
    async fn read_txn(
        src: &mut ReconnectingSource,
        events: &mut Vec<SourceEvent>,
        found: impl Fn(&SourceEvent) -> bool,
    ) {
        let deadline = Instant::now() + DEADLINE;
        let mut seen = false;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let ev = tokio::time::timeout(left, src.next_event())
                .await
                .unwrap_or_else(|_| panic!("deadline; events:\n{}", tail(events)))
                .unwrap_or_else(|e| panic!("{e}; events:\n{}", tail(events)))
                .unwrap_or_else(|| panic!("stream ended; events:\n{}", tail(events)));
            let done = seen && matches!(ev.body, EventBody::Xid { .. });
            seen |= found(&ev);
            events.push(ev);
            if done {
                return;
            }
        }
    }
    up.exec("INSERT INTO rc.t VALUES (1, 'a')").await;
    read_txn(&mut src, &mut events, ids_until(1)).await;
    tokio::task::block_in_place(|| up.restart());
    up.exec("INSERT INTO rc.t VALUES (2, 'b')").await;
    read_txn(&mut src, &mut events, ids_until(2)).await;
    assert!(src.reconnects() >= 1, "{}", tail(&events));
    src.close().await;
    let inserted: Vec<RowValue> = events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Rows { changes, .. } => Some(changes),
            _ => None,
        })
        .flatten()
        .filter_map(|c| c.after.as_ref().map(|a| a[0].clone()))
        .collect();
    assert_eq!(inserted, vec![RowValue::Int(1), RowValue::Int(2)]);
    let mut last = start;
    for ev in events.iter().filter(|e| !e.artificial) {
        assert!(ev.pos > last, "{} not after {last}", ev.pos);
        last = ev.pos.clone();
    }
}
