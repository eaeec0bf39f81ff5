//! Self-test of the harness: servers start, restart, crash and are cleaned up; the
//! type-matrix fixture loads on both kinds; the table comparison accepts a faithful
//! MySQL -> MariaDB copy and reports every kind of difference.

use std::path::PathBuf;
use std::time::Duration;

use ferry_tests::*;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Params, Row};

/// Copies a table with the binary protocol (exact FLOAT/DOUBLE values) and parameterised
/// INSERTs: a trivial copier, only used to feed the comparison helper equal tables.
async fn copy_table(src: &mut Conn, dst: &mut Conn, schema: &str, table: &str) {
    prepare_session(src).await;
    prepare_session(dst).await;
    let cols: Vec<String> = table_columns(src, schema, table)
        .await
        .into_iter()
        .filter(|c| !c.generated)
        .map(|c| quote_ident(&c.name))
        .collect();
    let from = format!("{}.{}", quote_ident(schema), quote_ident(table));
    let select = format!("SELECT {} FROM {from}", cols.join(", "));
    let rows: Vec<Row> = src.exec(&select, ()).await.expect("select");
    let marks = vec!["?"; cols.len()].join(", ");
    let insert = format!("INSERT INTO {from} ({}) VALUES ({marks})", cols.join(", "));
    for row in rows {
        dst.exec_drop(&insert, Params::Positional(row.unwrap()))
            .await
            .unwrap_or_else(|e| panic!("{insert}: {e}"));
    }
}

async fn count(conn: &mut Conn, schema: &str, table: &str) -> u64 {
    let sql = format!(
        "SELECT COUNT(*) FROM {}.{}",
        quote_ident(schema),
        quote_ident(table)
    );
    conn.query_first(sql).await.unwrap().unwrap()
}

#[tokio::test]
async fn type_matrix_ddl_applies_on_both_kinds() {
    for server in [
        shared(DbKind::Mysql, Role::Upstream),
        shared(DbKind::Mariadb, Role::Downstream),
    ] {
        let db = unique_db_name("ddl");
        let mut conn = server.conn().await;
        load_type_matrix(&mut conn, &db).await;
        let mut expected: Vec<String> = TYPE_MATRIX_TABLES
            .iter()
            .map(|(t, _)| t.to_string())
            .collect();
        expected.sort();
        assert_eq!(
            list_tables(&mut conn, &db).await,
            expected,
            "{}",
            server.kind()
        );
        for (table, rows) in TYPE_MATRIX_TABLES {
            assert_eq!(
                count(&mut conn, &db, table).await,
                *rows as u64,
                "{table} on {}",
                server.kind()
            );
        }
        let cols = table_columns(&mut conn, &db, "type_matrix").await;
        let generated: Vec<&str> = cols
            .iter()
            .filter(|c| c.generated)
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(
            generated,
            ["c_gen_stored", "c_gen_virtual"],
            "{}",
            server.kind()
        );
        assert!(
            cols.iter().any(|c| c.name == "c_json" && c.json),
            "{}",
            server.kind()
        );
        let gen: Option<(i64, String)> = conn
            .query_first(format!(
                "SELECT c_gen_stored, c_gen_virtual FROM {}.type_matrix WHERE id = 7",
                quote_ident(&db)
            ))
            .await
            .unwrap();
        assert_eq!(gen, Some((8, "v:seven".to_string())), "{}", server.kind());
        // a table compares equal to itself, and its checksum is stable
        for (table, rows) in TYPE_MATRIX_TABLES {
            let mut other = server.conn().await;
            let n = assert_tables_equal(&mut conn, &mut other, (&db, table), (&db, table)).await;
            assert_eq!(n, *rows);
            assert_eq!(
                table_checksum(&mut conn, &db, table).await,
                table_checksum(&mut other, &db, table).await
            );
        }
        conn.query_drop(format!("DROP DATABASE {}", quote_ident(&db)))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn comparison_accepts_a_faithful_copy_and_reports_differences() {
    let up_server = shared(DbKind::Mysql, Role::Upstream);
    let down_server = shared(DbKind::Mariadb, Role::Downstream);
    let db = unique_db_name("cmp");
    let mut up = up_server.conn().await;
    let mut down = down_server.conn().await;
    load_type_matrix(&mut up, &db).await;
    // same DDL downstream, rows copied from upstream
    load_type_matrix(&mut down, &db).await;
    let tm = (db.as_str(), "type_matrix");
    let weird = (db.as_str(), "we`ird-name");

    // The fixture loaded independently on both kinds: equal in Portable mode, while
    // Exact mode sees MySQL's normalised JSON text (rows 2, 3 and 4), and only that.
    assert_eq!(assert_schemas_equal(&mut up, &mut down, &db, &db).await, 13);
    let exact = CompareOptions {
        mode: CompareMode::Exact,
        max_reported: 10,
        ..Default::default()
    };
    let d = compare_tables(&mut up, &mut down, tm, tm, &exact)
        .await
        .unwrap_err();
    assert_eq!(d.differing_rows, 3, "{d}");
    assert!(d.reported.iter().all(|r| r.contains("`c_json`")), "{d}");
    let no_json = CompareOptions {
        ignore_columns: vec!["c_json".into()],
        ..exact.clone()
    };
    compare_tables(&mut up, &mut down, tm, tm, &no_json)
        .await
        .unwrap();
    for (table, _) in TYPE_MATRIX_TABLES {
        assert_eq!(
            table_checksum(&mut up, &db, table).await,
            table_checksum(&mut down, &db, table).await,
            "checksum of {table}"
        );
    }

    // Rows copied from upstream by a trivial copier: equal even in Exact mode.
    for (table, _) in TYPE_MATRIX_TABLES {
        down.query_drop(format!(
            "DELETE FROM {}.{}",
            quote_ident(&db),
            quote_ident(table)
        ))
        .await
        .unwrap();
        copy_table(&mut up, &mut down, &db, table).await;
    }
    assert_eq!(assert_schemas_equal(&mut up, &mut down, &db, &db).await, 13);
    for t in [tm, weird] {
        compare_tables(&mut up, &mut down, t, t, &exact)
            .await
            .unwrap();
    }

    let portable = CompareOptions::default();
    let sql = |s: &str| s.replace("{db}", &quote_ident(&db));

    // one byte of one binary value
    let before = table_checksum(&mut down, &db, "type_matrix").await;
    down.query_drop(sql(
        "UPDATE {db}.type_matrix SET c_binary = X'0009000A005D0000' WHERE id = 3",
    ))
    .await
    .unwrap();
    let d = compare_tables(&mut up, &mut down, tm, tm, &portable)
        .await
        .unwrap_err();
    let msg = d.to_string();
    assert_eq!(d.differing_rows, 1, "{msg}");
    assert!(msg.contains("`id`=\"3\""), "{msg}");
    assert!(msg.contains("`c_binary`"), "{msg}");
    assert!(
        msg.contains("upstream X'0009000A005C0000' != downstream X'0009000A005D0000'"),
        "{msg}"
    );
    assert_ne!(before, table_checksum(&mut down, &db, "type_matrix").await);
    down.query_drop(sql(
        "UPDATE {db}.type_matrix SET c_binary = X'0009000A005C0000' WHERE id = 3",
    ))
    .await
    .unwrap();
    assert_eq!(before, table_checksum(&mut down, &db, "type_matrix").await);

    // a FLOAT one ulp away (both print as 123457 in plain text)
    down.query_drop(sql(
        "UPDATE {db}.type_matrix SET c_float = 123456.7109375 WHERE id = 9",
    ))
    .await
    .unwrap();
    let d = compare_tables(&mut up, &mut down, tm, tm, &portable)
        .await
        .unwrap_err();
    assert!(d.to_string().contains("`c_float`"), "{d}");
    down.query_drop(sql(
        "UPDATE {db}.type_matrix SET c_float = 123456.703125 WHERE id = 9",
    ))
    .await
    .unwrap();

    // a JSON value that differs semantically
    down.query_drop(sql(
        "UPDATE {db}.type_matrix SET c_json = JSON_SET(c_json, '$.neg', 0) WHERE id = 2",
    ))
    .await
    .unwrap();
    let d = compare_tables(&mut up, &mut down, tm, tm, &portable)
        .await
        .unwrap_err();
    assert!(d.to_string().contains("`c_json`"), "{d}");
    assert_eq!(d.differing_rows, 1, "{d}");

    // a missing row and an extra row
    down.query_drop(sql("DELETE FROM {db}.type_matrix WHERE id = 5"))
        .await
        .unwrap();
    down.query_drop(sql("INSERT INTO {db}.type_matrix (id) VALUES (100)"))
        .await
        .unwrap();
    let d = compare_tables(&mut up, &mut down, tm, tm, &portable)
        .await
        .unwrap_err();
    let msg = d.to_string();
    assert_eq!(
        (d.upstream_rows, d.downstream_rows, d.differing_rows),
        (9, 9, 3),
        "{msg}"
    );
    assert!(msg.contains("`id`=\"5\"): upstream only"), "{msg}");
    assert!(msg.contains("`id`=\"100\"): downstream only"), "{msg}");

    // key-less table: one of two duplicate rows missing
    down.query_drop(sql(
        "DELETE FROM {db}.`we``ird-name` WHERE `col``tick` = 1 LIMIT 1",
    ))
    .await
    .unwrap();
    let d = compare_tables(&mut up, &mut down, weird, weird, &portable)
        .await
        .unwrap_err();
    assert_eq!(
        (d.upstream_rows, d.downstream_rows, d.differing_rows),
        (4, 3, 1),
        "{d}"
    );

    // a column only downstream
    down.query_drop(sql("ALTER TABLE {db}.`we``ird-name` ADD COLUMN extra INT"))
        .await
        .unwrap();
    let d = compare_tables(&mut up, &mut down, weird, weird, &portable)
        .await
        .unwrap_err();
    assert!(
        d.column_mismatch
            .as_deref()
            .unwrap_or("")
            .contains("`extra`"),
        "{d}"
    );

    // assert_tables_equal panics with the report
    let (u, dn) = (db.clone(), db.clone());
    let res = tokio::spawn(async move {
        assert_tables_equal(
            &mut up,
            &mut down,
            (&u, "type_matrix"),
            (&dn, "type_matrix"),
        )
        .await
    })
    .await;
    let err = res.expect_err("assert_tables_equal must panic");
    let payload = err.into_panic();
    let text = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(text.contains("tables differ"), "{text}");

    for s in [up_server, down_server] {
        s.exec(&format!("DROP DATABASE {}", quote_ident(&db))).await;
    }
}

/// True when `pid` is gone within a few seconds: `stop.sh` returns once the server's
/// command line is gone from /proc, which can be a moment before the process itself.
async fn gone(pid: u32) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while alive(pid) {
        if std::time::Instant::now() > deadline {
            return false;
        }
        // Polling interval.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    true
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| !r.trim_start().starts_with(['Z', 'X']))
                .unwrap_or(false)
        })
        .unwrap_or(false)
}

async fn lifecycle(server: TestServer) {
    let pid = server.pid().expect("running");
    assert!(alive(pid));
    let datadir = server.datadir().to_path_buf();
    assert!(datadir.starts_with("/var/tmp/ferry-tests/"));
    server
        .exec("CREATE DATABASE life; CREATE TABLE life.t (id INT PRIMARY KEY); INSERT INTO life.t VALUES (1), (2)")
        .await;

    server.restart();
    let pid2 = server.pid().expect("running");
    assert_ne!(pid, pid2);
    assert!(gone(pid).await, "server process {pid} still running");
    let n: Vec<u64> = server.query_rows("SELECT COUNT(*) FROM life.t").await;
    assert_eq!(n, [2]);

    server.kill();
    assert_eq!(server.pid(), None);
    assert!(gone(pid2).await, "server process {pid2} still running");
    server.restart();
    let n: Vec<u64> = server.query_rows("SELECT COUNT(*) FROM life.t").await;
    assert_eq!(n, [2], "committed rows survive a server crash");

    server.stop();
    assert_eq!(server.pid(), None);
    assert!(datadir.exists(), "stop keeps the data dir");
    server.restart();
    let pid3 = server.pid().expect("running");

    drop(server);
    assert!(gone(pid3).await, "server process {pid3} still running");
    assert!(!datadir.exists(), "drop removes the data dir");
}

#[tokio::test]
async fn mysql_server_lifecycle_and_extra_cnf() {
    let server = TestServer::builder(DbKind::Mysql, Role::Upstream)
        .extra_cnf("binlog_transaction_compression=ON")
        .start();
    assert_eq!(server.kind(), DbKind::Mysql);
    let v: Vec<(String, String)> = server
        .query_rows(
            "SELECT @@version, CONCAT(@@binlog_transaction_compression, @@log_bin, @@gtid_mode)",
        )
        .await;
    assert!(v[0].0.starts_with("9."), "{v:?}");
    assert_eq!(v[0].1, "11ON");
    assert_eq!(
        server.url(),
        format!("mysql://root@127.0.0.1:{}", server.port())
    );
    lifecycle(server).await;
}

#[tokio::test]
async fn mariadb_server_lifecycle() {
    let server = TestServer::start(DbKind::Mariadb, Role::Downstream);
    let v: Vec<(String, u8)> = server.query_rows("SELECT @@version, @@log_bin").await;
    assert!(v[0].0.contains("MariaDB"), "{v:?}");
    assert_eq!(v[0].1, 0, "downstream has no binlog");
    let pool = server.pool();
    let mut c = pool.get_conn().await.unwrap();
    let one: Option<u8> = c.query_first("SELECT 1").await.unwrap();
    assert_eq!(one, Some(1));
    drop(c);
    pool.disconnect().await.unwrap();
    lifecycle(server).await;
}

/// Run in a child process by `servers_are_stopped_when_the_test_process_ends`.
#[tokio::test]
#[ignore = "helper: runs in a child process of another test"]
async fn child_process_helper() {
    let Ok(mode) = std::env::var("FERRY_HARNESS_CHILD") else {
        return;
    };
    let server = shared(DbKind::Mariadb, Role::Downstream);
    let own = TestServer::start(DbKind::Mariadb, Role::Downstream);
    println!("DATADIR={}", server.datadir().display());
    println!("DATADIR={}", own.datadir().display());
    use std::io::Write;
    std::io::stdout().flush().unwrap();
    if mode == "hang" {
        // the parent kills this process with SIGKILL: no destructor, no atexit, only
        // the reapers can stop the servers
        std::thread::sleep(Duration::from_secs(600));
    }
    // otherwise `own` is dropped here and the shared server is stopped by the atexit
    // handler
}

/// Runs `child_process_helper` in a child process and returns the data dirs it printed;
/// in mode "hang" the child is killed with SIGKILL once it has printed them.
fn run_child(mode: &str) -> Vec<PathBuf> {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process_helper",
            "--ignored",
            "--nocapture",
        ])
        .env("FERRY_HARNESS_CHILD", mode)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut dirs = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut output = String::new();
    while dirs.len() < 2 {
        let Some(Ok(line)) = lines.next() else {
            break;
        };
        output.push_str(&line);
        output.push('\n');
        if let Some(d) = line.strip_prefix("DATADIR=") {
            dirs.push(PathBuf::from(d));
        }
    }
    assert_eq!(dirs.len(), 2, "child output:\n{output}");
    if mode == "hang" {
        child.kill().unwrap();
        child.wait().unwrap();
    } else {
        for line in lines.map_while(Result::ok) {
            output.push_str(&line);
            output.push('\n');
        }
        let status = child.wait().unwrap();
        assert!(status.success(), "child failed:\n{output}");
    }
    dirs
}

#[tokio::test]
async fn servers_are_stopped_when_the_test_process_ends() {
    // normal exit: Drop and the atexit handler stop both before the process is gone
    for d in run_child("exit") {
        assert!(
            !d.exists(),
            "{} left behind after a normal exit",
            d.display()
        );
    }
    // SIGKILL: the reapers stop them shortly after
    let dirs = run_child("hang");
    wait_until(
        Duration::from_secs(60),
        "the reapers remove the data dirs of a killed test process",
        || {
            let dirs = dirs.clone();
            async move { dirs.iter().all(|d| !d.exists()) }
        },
    )
    .await;
}

#[tokio::test]
#[should_panic(expected = "timed out after")]
async fn wait_until_panics_with_its_description() {
    wait_until(Duration::from_millis(100), "never", || async { false }).await;
}

#[tokio::test]
async fn wait_for_returns_the_value() {
    let mut n = 0;
    let v = wait_for(Duration::from_secs(5), "third poll", || {
        n += 1;
        let k = n;
        async move { (k >= 3).then_some(k) }
    })
    .await;
    assert_eq!(v, 3);
}
