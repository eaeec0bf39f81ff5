//! End-to-end test of the binlog reader groundwork (`ferry_actors::reader`): stream a known
//! transaction from real MySQL 9.7 (GTID mode on) and MariaDB 10.11 upstreams and check the
//! normalized events and their positions.

use std::time::{Duration, Instant};

use ferry_actors::db::{read_position, Endpoint, ServerInfo};
use ferry_actors::error::Side;
use ferry_actors::reader::{
    BinlogSource, EventBody, MysqlAsyncSource, ReaderOptions, RowsKind, SourceEvent,
};
use ferry_tests::*;

const DEADLINE: Duration = Duration::from_secs(60);

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

async fn reads_a_transaction(kind: DbKind) {
    let up = TestServer::start(kind, Role::Upstream);
    let ep = endpoint(&up);
    let db = unique_db_name("reader");

    let mut conn = ep.connect(vec![]).await.expect("connect");
    let info = ServerInfo::detect(&mut conn, &ep).await.expect("detect");
    let start = read_position(&mut conn, &info, &ep)
        .await
        .expect("position")
        .binlog;

    up.exec(&format!("CREATE DATABASE `{db}`")).await;
    let create = format!("CREATE TABLE `{db}`.`t` (id INT PRIMARY KEY, v VARCHAR(20))");
    up.exec(&create).await;
    up.exec(&format!(
        "BEGIN; INSERT INTO `{db}`.`t` VALUES (1, 'a'), (2, 'b'), (3, 'c'); COMMIT"
    ))
    .await;
    let end = read_position(&mut conn, &info, &ep)
        .await
        .expect("position")
        .binlog;
    assert!(end > start, "{end} after {start}");

    let opts = ReaderOptions {
        server_id: 4_000_000_000,
        heartbeat: Duration::from_secs(1),
        read_timeout: Duration::from_secs(10),
        verify_checksum: true,
    };
    let mut src = MysqlAsyncSource::start(&ep, start.clone(), opts)
        .await
        .expect("start reader");

    // Read until the XID that follows our rows event.
    let deadline = Instant::now() + DEADLINE;
    let mut events: Vec<SourceEvent> = Vec::new();
    let mut rows_seen = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ev = tokio::time::timeout(left, src.next_event())
            .await
            .unwrap_or_else(|_| panic!("deadline; events so far: {events:#?}"))
            .expect("reader error")
            .unwrap_or_else(|| panic!("stream ended; events so far: {events:#?}"));
        let done = rows_seen && matches!(ev.body, EventBody::Xid { .. });
        if matches!(&ev.body, EventBody::Rows { .. }) {
            rows_seen = true;
        }
        events.push(ev);
        if done {
            break;
        }
    }
    src.close().await;

    // The stream starts with the start file, and the upstream checksums its events (each one
    // was verified by the reader).
    match &events[0].body {
        EventBody::Rotate { next } => assert_eq!(next, &start),
        other => panic!("expected the first rotate, got {other:?}"),
    }
    assert!(
        events
            .iter()
            .any(|e| matches!(e.body, EventBody::FormatDescription { crc32: true, .. })),
        "{events:#?}"
    );

    // Positions: real events strictly increase, and the stream ends where the server is.
    let mut last = start.clone();
    for ev in events.iter().filter(|e| !e.artificial) {
        assert!(ev.pos > last, "{} not after {last}: {events:#?}", ev.pos);
        last = ev.pos.clone();
    }
    assert_eq!(last, end, "{events:#?}");

    // The expected sequence, in order (other events may come between).
    let real: Vec<&EventBody> = events
        .iter()
        .filter(|e| !e.artificial)
        .map(|e| &e.body)
        .collect();
    let is_gtid = |b: &EventBody| match kind {
        DbKind::Mysql => matches!(b, EventBody::MysqlGtid { gno, .. } if *gno > 0),
        DbKind::Mariadb => matches!(b, EventBody::MariadbGtid { seq, .. } if *seq > 0),
    };
    let ddl = real
        .iter()
        .position(|b| matches!(b, EventBody::Query { sql, .. } if *sql == create))
        .unwrap_or_else(|| panic!("no CREATE TABLE query: {real:#?}"));
    assert!(is_gtid(real[ddl - 1]), "GTID before the DDL: {real:#?}");
    if kind == DbKind::Mariadb {
        assert!(
            matches!(
                real[ddl - 1],
                EventBody::MariadbGtid {
                    standalone: true,
                    ..
                }
            ),
            "DDL group is standalone: {real:#?}"
        );
    }
    let tail = &real[ddl + 1..];
    let gtid = tail
        .iter()
        .position(|b| is_gtid(b))
        .unwrap_or_else(|| panic!("no GTID for the transaction: {real:#?}"));
    if kind == DbKind::Mariadb {
        assert!(
            matches!(
                tail[gtid],
                EventBody::MariadbGtid {
                    standalone: false,
                    ..
                }
            ),
            "{real:#?}"
        );
    }
    let tail = &tail[gtid + 1..];
    let map = tail
        .iter()
        .position(|b| matches!(b, EventBody::TableMap { .. }))
        .unwrap_or_else(|| panic!("no table map: {real:#?}"));
    let EventBody::TableMap {
        table_id,
        schema,
        table,
        columns,
    } = tail[map]
    else {
        unreachable!()
    };
    assert_eq!(
        (schema.as_str(), table.as_str(), *columns),
        (db.as_str(), "t", 2)
    );
    assert!(
        tail[..map].iter().all(|b| !b.ends_transaction()),
        "{real:#?}"
    );
    match tail.get(map + 1) {
        Some(EventBody::Rows {
            kind: RowsKind::Insert,
            table_id: id,
            rows: 3,
            stmt_end: true,
            ..
        }) if id == table_id => {}
        other => panic!("expected a 3-row insert into table {table_id}, got {other:?}"),
    }
    assert!(
        matches!(tail.get(map + 2), Some(EventBody::Xid { .. })),
        "XID after the rows: {real:#?}"
    );
    assert_eq!(map + 3, tail.len(), "{real:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_a_transaction_from_mysql() {
    reads_a_transaction(DbKind::Mysql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_a_transaction_from_mariadb() {
    reads_a_transaction(DbKind::Mariadb).await;
}
