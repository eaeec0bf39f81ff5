//! Ferry's own binlog dump connection (`ferry_actors::reader::dump`) against real MySQL 9.7
//! and MariaDB 10.11: logging in with each server's default password plugin (MySQL's
//! `caching_sha2_password` both ways: the full authentication with the server's RSA key over
//! a plain connection, and the cached fast one; MariaDB's `mysql_native_password`), a wrong
//! password refused with the server's 1045, a statement error with the server's code, and
//! the default reader streaming over it with a non-root replication user.

use std::time::{Duration, Instant};

use ferry_actors::db::{read_position, Endpoint, ServerInfo};
use ferry_actors::error::Side;
use ferry_actors::reader::dump::{DumpConn, OpenError};
use ferry_actors::reader::{
    BinlogSource, EventBody, MysqlAsyncSource, ReaderOptions, RowValue, RowsKind,
};
use ferry_tests::data::exec;
use ferry_tests::*;

const DEADLINE: Duration = Duration::from_secs(60);
const PASSWORD: &str = "dump pw'1";

fn endpoint(server: &TestServer, user: &str, password: &str) -> Endpoint {
    Endpoint {
        side: Side::Upstream,
        host: "127.0.0.1".into(),
        port: server.port(),
        user: user.into(),
        password: password.into(),
        session: vec![],
        tls: None,
    }
}

/// A replication user with the server's default password plugin; the server's cache of
/// password hashes is emptied (MySQL: the next login is a full authentication).
async fn replication_user(up: &TestServer, name: &str) -> String {
    let user = format!("{name}_{}", std::process::id());
    up.exec(&format!(
        "CREATE USER '{user}'@'%' IDENTIFIED BY '{}'",
        PASSWORD.replace('\'', "''")
    ))
    .await;
    up.exec(&format!(
        "GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT, RELOAD ON *.* TO '{user}'@'%'"
    ))
    .await;
    up.exec("FLUSH PRIVILEGES").await;
    user
}

async fn logs_in_and_streams(kind: DbKind) {
    let up = TestServer::start(kind, Role::Upstream);
    let user = replication_user(&up, "dumper").await;
    let ep = endpoint(&up, &user, PASSWORD);
    // The plugin this test means to log in with is the one the server gave the user.
    let mut admin = up.conn().await;
    let plugin: Option<String> = mysql_async::prelude::Queryable::query_first(
        &mut admin,
        format!("SELECT plugin FROM mysql.user WHERE user = '{user}'"),
    )
    .await
    .expect("the user's plugin");
    let want = match kind {
        DbKind::Mysql => "caching_sha2_password",
        DbKind::Mariadb => "mysql_native_password",
    };
    assert_eq!(plugin.as_deref(), Some(want));

    // First login after the cache was emptied (MySQL: full authentication), then again.
    for attempt in ["first", "second"] {
        let mut c = DumpConn::open(&ep)
            .await
            .unwrap_or_else(|e| panic!("{attempt} login as {user}: {e:?}"));
        c.execute("SET @master_heartbeat_period = 1000000000")
            .await
            .expect("a session statement");
        // A statement error comes back with the server's code.
        match c.execute("SET @@no_such_variable = 1").await {
            Err(mysql_async::Error::Server(e)) => assert_eq!(e.code, 1193, "{e:?}"),
            other => panic!("unknown variable: {other:?}"),
        }
    }

    // A wrong password: the server's refusal, as the driver reports it.
    match DumpConn::open(&endpoint(&up, &user, "wrong")).await {
        Err(OpenError::Driver(mysql_async::Error::Server(e))) => {
            assert_eq!(e.code, 1045, "{e:?}");
            assert!(e.message.contains("Access denied"), "{e:?}");
        }
        other => panic!("wrong password: {other:?}"),
    }

    // The default reader streams over this connection with this user.
    let mut conn = ep.connect(vec![]).await.expect("connect");
    let info = ServerInfo::detect(&mut conn, &ep).await.expect("detect");
    let db = unique_db_name("dump");
    up.exec(&format!("CREATE DATABASE `{db}`")).await;
    up.exec(&format!(
        "CREATE TABLE `{db}`.`t` (id INT PRIMARY KEY, s LONGTEXT)"
    ))
    .await;
    let start = read_position(&mut conn, &info, &ep)
        .await
        .expect("position")
        .binlog;
    // One row larger than a protocol packet's 16 MiB chunk: the event spans two packets.
    let big = 17 << 20;
    up.exec(&format!("SET GLOBAL max_allowed_packet = {}", 64 << 20))
        .await;
    let mut admin = up.conn().await;
    exec(
        &mut admin,
        &format!("INSERT INTO `{db}`.`t` VALUES (1, 'a'), (2, REPEAT('x', {big}))"),
    )
    .await;
    let opts = ReaderOptions {
        server_id: 4_000_000_123,
        heartbeat: Duration::from_secs(1),
        read_timeout: Duration::from_secs(10),
        verify_checksum: true,
    };
    let mut src = MysqlAsyncSource::start(&ep, start, opts)
        .await
        .expect("start reader");
    assert!(
        src.reads_own_connection(),
        "a plain connection is Ferry's own"
    );
    // The server writes the two rows into rows events of their own (the long one alone).
    let deadline = Instant::now() + DEADLINE;
    let mut rows = Vec::new();
    while rows.len() < 2 {
        let left = deadline.saturating_duration_since(Instant::now());
        let ev = tokio::time::timeout(left, src.next_event())
            .await
            .expect("deadline")
            .expect("reader error")
            .expect("stream ended");
        if let EventBody::Rows {
            kind: RowsKind::Insert,
            changes,
            ..
        } = ev.body
        {
            rows.extend(changes);
        }
    }
    src.close().await;
    let after: Vec<_> = rows
        .iter()
        .map(|c| c.after.clone().expect("image"))
        .collect();
    assert_eq!(after.len(), 2);
    assert_eq!(
        after[0],
        vec![RowValue::Int(1), RowValue::Bytes(b"a".to_vec())]
    );
    assert_eq!(after[1][0], RowValue::Int(2));
    match &after[1][1] {
        RowValue::Bytes(b) => {
            assert_eq!(b.len(), big);
            assert!(b.iter().all(|&x| x == b'x'));
        }
        other => panic!("the long value: {:?}", std::mem::discriminant(other)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_logs_in_with_caching_sha2_and_streams() {
    logs_in_and_streams(DbKind::Mysql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_logs_in_with_native_password_and_streams() {
    logs_in_and_streams(DbKind::Mariadb).await;
}
