//! End-to-end test of the binlog reader groundwork (`ferry_actors::reader`): stream a known
//! transaction from real MySQL 9.7 (GTID mode on) and MariaDB 10.11 upstreams and check the
//! normalized events, their positions and decoded row values; start from a GTID set; resume
//! across an upstream restart.

use std::time::{Duration, Instant};

use ferry_actors::db::{read_position, Endpoint, ServerInfo};
use ferry_actors::error::Side;
use ferry_actors::reader::{
    Backoff, BinlogSource, Date, DateTime, EventBody, MysqlAsyncSource, ReaderOptions,
    ReconnectingSource, RowChange, RowValue, RowsKind, SourceEvent, StartFrom,
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

fn reader_opts() -> ReaderOptions {
    ReaderOptions {
        server_id: 4_000_000_000,
        heartbeat: Duration::from_secs(1),
        read_timeout: Duration::from_secs(10),
        verify_checksum: true,
    }
}

/// Reads events into `events` until the XID that follows a rows event.
async fn read_transaction<S: BinlogSource>(src: &mut S, events: &mut Vec<SourceEvent>) {
    let deadline = Instant::now() + DEADLINE;
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
            return;
        }
    }
}

/// The row changes of the rows events among `events`.
fn changes(events: &[SourceEvent]) -> Vec<(RowsKind, RowChange)> {
    events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Rows { kind, changes, .. } => Some((*kind, changes.clone())),
            _ => None,
        })
        .flat_map(|(k, c)| c.into_iter().map(move |c| (k, c)))
        .collect()
}

const COLUMNS: &str =
    "id INT PRIMARY KEY, u BIGINT UNSIGNED, s VARCHAR(20) CHARACTER SET utf8mb4, \
                       d DECIMAL(10,3), dt DATETIME(6), j JSON, n INT NULL";
const ROWS: &str = "(1, 18446744073709551615, 'a😀', 12.345, '2024-01-02 03:04:05.123456', \
                    '{\"k\":[1,\"x\"]}', NULL), \
                    (2, 0, '', -0.5, '1000-01-01 00:00:00', '[]', 7), \
                    (3, 42, 'c', 0, '9999-12-31 23:59:59.999999', 'null', NULL)";

fn datetime(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8, us: u32) -> RowValue {
    RowValue::DateTime(DateTime {
        date: Date {
            year: y,
            month: mo,
            day: d,
        },
        hour: h,
        minute: mi,
        second: s,
        micros: us,
    })
}

/// The decoded values of [`ROWS`]: JSON is a real type on MySQL, text on MariaDB.
fn expected_rows(kind: DbKind) -> Vec<Vec<RowValue>> {
    let json = |text: &str| match kind {
        DbKind::Mysql => RowValue::Json(serde_json::from_str(text).expect("json")),
        DbKind::Mariadb => RowValue::Bytes(text.as_bytes().to_vec()),
    };
    let text = |t: &str| RowValue::Bytes(t.as_bytes().to_vec());
    vec![
        vec![
            RowValue::Int(1),
            RowValue::UInt(u64::MAX),
            text("a😀"),
            RowValue::Decimal("12.345".into()),
            datetime(2024, 1, 2, 3, 4, 5, 123_456),
            json(r#"{"k":[1,"x"]}"#),
            RowValue::Null,
        ],
        vec![
            RowValue::Int(2),
            RowValue::UInt(0),
            text(""),
            RowValue::Decimal("-0.500".into()),
            datetime(1000, 1, 1, 0, 0, 0, 0),
            json("[]"),
            RowValue::Int(7),
        ],
        vec![
            RowValue::Int(3),
            RowValue::UInt(42),
            text("c"),
            RowValue::Decimal("0.000".into()),
            datetime(9999, 12, 31, 23, 59, 59, 999_999),
            json("null"),
            RowValue::Null,
        ],
    ]
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
    let create = format!("CREATE TABLE `{db}`.`t` ({COLUMNS})");
    up.exec(&create).await;
    let before_txn = read_position(&mut conn, &info, &ep)
        .await
        .expect("position")
        .gtid
        .expect("GTID set");
    up.exec(&format!(
        "BEGIN; INSERT INTO `{db}`.`t` VALUES {ROWS}; COMMIT"
    ))
    .await;
    let end = read_position(&mut conn, &info, &ep)
        .await
        .expect("position")
        .binlog;
    assert!(end > start, "{end} after {start}");

    let mut src = MysqlAsyncSource::start(&ep, start.clone(), reader_opts())
        .await
        .expect("start reader");

    // Read until the XID that follows our rows event.
    let mut events: Vec<SourceEvent> = Vec::new();
    read_transaction(&mut src, &mut events).await;

    // Decoded values.
    let expected = expected_rows(kind);
    let inserted = changes(&events);
    let want: Vec<(RowsKind, RowChange)> = expected
        .iter()
        .map(|r| {
            (
                RowsKind::Insert,
                RowChange {
                    before: None,
                    after: Some(r.clone()),
                },
            )
        })
        .collect();
    assert_eq!(inserted, want);

    // An update gives both images.
    up.exec(&format!(
        "UPDATE `{db}`.`t` SET s = 'b😀', n = NULL WHERE id = 2"
    ))
    .await;
    let mut update = Vec::new();
    read_transaction(&mut src, &mut update).await;
    src.close().await;
    let mut after = expected[1].clone();
    after[2] = RowValue::Bytes("b😀".as_bytes().to_vec());
    after[6] = RowValue::Null;
    assert_eq!(
        changes(&update),
        vec![(
            RowsKind::Update,
            RowChange {
                before: Some(expected[1].clone()),
                after: Some(after),
            }
        )]
    );

    // Starting from the GTID set read before the transaction gives that transaction first.
    let mut src = MysqlAsyncSource::start(&ep, StartFrom::Gtid(before_txn.clone()), reader_opts())
        .await
        .expect("start reader from GTID set");
    let mut from_gtid = Vec::new();
    read_transaction(&mut src, &mut from_gtid).await;
    src.close().await;
    assert_eq!(
        changes(&from_gtid),
        want,
        "from {before_txn}: {from_gtid:#?}"
    );
    let gtid_of = |evs: &[SourceEvent]| {
        evs.iter()
            .rev()
            .find(|e| {
                matches!(
                    e.body,
                    EventBody::MysqlGtid { .. } | EventBody::MariadbGtid { .. }
                )
            })
            .map(|e| (e.body.clone(), e.pos.clone()))
    };
    assert_eq!(gtid_of(&from_gtid), gtid_of(&events));
    assert_eq!(from_gtid.last().map(|e| &e.pos), Some(&end));

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
        table,
        columns,
        ..
    } = tail[map]
    else {
        unreachable!()
    };
    assert_eq!(
        (table.schema.as_str(), table.table.as_str(), *columns),
        (db.as_str(), "t", 7)
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

/// Restarting the upstream mid-stream: the reconnecting source delivers the next transaction
/// exactly once.
async fn resumes_after_restart(kind: DbKind) {
    let up = TestServer::start(kind, Role::Upstream);
    let ep = endpoint(&up);
    let db = unique_db_name("reconnect");
    up.exec(&format!("CREATE DATABASE `{db}`")).await;
    up.exec(&format!(
        "CREATE TABLE `{db}`.`t` (id INT PRIMARY KEY, v VARCHAR(20))"
    ))
    .await;
    let mut conn = ep.connect(vec![]).await.expect("connect");
    let info = ServerInfo::detect(&mut conn, &ep).await.expect("detect");
    let start = read_position(&mut conn, &info, &ep)
        .await
        .expect("position")
        .binlog;
    drop(conn);

    let backoff = Backoff {
        initial: Duration::from_millis(50),
        max: Duration::from_secs(1),
        attempts: 60,
    };
    let mut src = ReconnectingSource::new(ep.clone(), start.clone(), reader_opts(), backoff);
    up.exec(&format!("INSERT INTO `{db}`.`t` VALUES (1, 'a')"))
        .await;
    let mut events = Vec::new();
    read_transaction(&mut src, &mut events).await;
    let cut = events.len();

    tokio::task::block_in_place(|| up.restart());
    up.exec(&format!("INSERT INTO `{db}`.`t` VALUES (2, 'b')"))
        .await;
    read_transaction(&mut src, &mut events).await;
    assert!(src.reconnects() >= 1, "{events:#?}");
    src.close().await;

    let ids = |evs: &[SourceEvent]| -> Vec<RowValue> {
        changes(evs)
            .into_iter()
            .filter_map(|(_, c)| c.after.map(|a| a[0].clone()))
            .collect()
    };
    assert_eq!(ids(&events[..cut]), vec![RowValue::Int(1)], "{events:#?}");
    assert_eq!(ids(&events[cut..]), vec![RowValue::Int(2)], "{events:#?}");
    // No real event twice, none out of order.
    let mut last = start;
    for ev in events.iter().filter(|e| !e.artificial) {
        assert!(ev.pos > last, "{} not after {last}: {events:#?}", ev.pos);
        last = ev.pos.clone();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_after_restart_mysql() {
    resumes_after_restart(DbKind::Mysql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_after_restart_mariadb() {
    resumes_after_restart(DbKind::Mariadb).await;
}
