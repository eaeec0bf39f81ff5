//! Randomized upstream workloads for the replication tests, and waiting for a task to catch
//! up with the upstream.

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::ferry::{subtasks, Ferry};
use crate::server::{DbKind, TestServer};
use crate::sql::quote_ident;

/// Tables of [`create_tables`]: one with a primary key, one with only a NOT NULL unique
/// key, one without any key (duplicate rows allowed), one with many column types.
pub const TABLES: &[&str] = &["t_pk", "t_uk", "t_nokey", "t_types"];

/// Creates the workload tables in `db` (which must exist).
pub async fn create_tables(conn: &mut Conn, db: &str) {
    let q = quote_ident(db);
    for sql in [
        format!(
            "CREATE TABLE {q}.t_pk (id BIGINT NOT NULL PRIMARY KEY, a INT, b VARCHAR(64), \
             c DATETIME(6), d DECIMAL(20,6), e DOUBLE) DEFAULT CHARSET=utf8mb4"
        ),
        format!(
            "CREATE TABLE {q}.t_uk (k INT NOT NULL, v VARCHAR(64) NOT NULL, w INT, \
             UNIQUE KEY uk (k)) DEFAULT CHARSET=utf8mb4"
        ),
        format!("CREATE TABLE {q}.t_nokey (x INT, y VARCHAR(32)) DEFAULT CHARSET=utf8mb4"),
        format!(
            "CREATE TABLE {q}.t_types (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, \
             i8 TINYINT, u8 TINYINT UNSIGNED, i64 BIGINT, u64 BIGINT UNSIGNED, \
             f FLOAT, dbl DOUBLE, dec1 DECIMAL(65,30), bits BIT(13), \
             dt DATETIME(3), ts TIMESTAMP(6) NULL, d DATE, tm TIME(6), y YEAR, \
             s VARCHAR(100), l1 VARCHAR(50) CHARACTER SET latin1, bin VARBINARY(40), \
             bl BLOB, tx MEDIUMTEXT, en ENUM('a','b','c'), st SET('x','y','z'), j JSON) \
             DEFAULT CHARSET=utf8mb4"
        ),
    ] {
        conn.query_drop(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

/// A randomized stream of transactions on the [`TABLES`] of one schema.
pub struct Workload {
    db: String,
    rng: StdRng,
    next: i64,
    /// Statements executed.
    pub statements: u64,
}

impl Workload {
    /// A workload on `db` with a fixed seed (printed by the tests that use it).
    pub fn new(db: &str, seed: u64) -> Self {
        Self {
            db: db.to_string(),
            rng: StdRng::seed_from_u64(seed),
            next: 1,
            statements: 0,
        }
    }

    fn statement(&mut self) -> String {
        let q = quote_ident(&self.db);
        let r = &mut self.rng;
        let n = self.next;
        let pick = |r: &mut StdRng| r.gen_range(1..n.max(2));
        let text = |r: &mut StdRng| -> String {
            let len = r.gen_range(0..20);
            (0..len)
                .map(|_| ['a', 'é', 'ß', '😀', ' ', '\'', '\\', 'z'][r.gen_range(0..8)])
                .collect()
        };
        let sql_str = |s: &str| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"));
        match r.gen_range(0..14) {
            0..=3 => {
                self.next += 1;
                let s = sql_str(&text(r));
                format!(
                    "INSERT INTO {q}.t_pk (id, a, b, c, d) VALUES ({n}, {}, {s}, '2020-01-01 00:00:00.123456' + \
                     INTERVAL {} SECOND, {}.{:06})",
                    r.gen_range(-1000..1000),
                    r.gen_range(0..100_000_000),
                    r.gen_range(-99999..99999),
                    r.gen_range(0..999_999),
                )
            }
            4 => format!(
                "UPDATE {q}.t_pk SET a = a + 1, b = {} WHERE id = {}",
                sql_str(&text(r)),
                pick(r)
            ),
            5 => {
                // Key change (moves the row).
                let id = pick(r);
                format!("UPDATE IGNORE {q}.t_pk SET id = id + 1000000000 WHERE id = {id}")
            }
            6 => format!("DELETE FROM {q}.t_pk WHERE id = {}", pick(r)),
            7 => {
                let k = r.gen_range(0..500);
                format!(
                    "INSERT INTO {q}.t_uk (k, v, w) VALUES ({k}, {}, {}) ON DUPLICATE KEY UPDATE w = w + 1",
                    sql_str(&text(r)),
                    r.gen_range(0..10)
                )
            }
            8 => format!(
                "UPDATE IGNORE {q}.t_uk SET k = {} WHERE k = {}",
                r.gen_range(0..500),
                r.gen_range(0..500)
            ),
            9 => format!("DELETE FROM {q}.t_uk WHERE k = {}", r.gen_range(0..500)),
            10 => format!(
                "INSERT INTO {q}.t_nokey (x, y) VALUES ({}, {})",
                r.gen_range(0..50),
                if r.gen_bool(0.2) {
                    "NULL".to_string()
                } else {
                    sql_str(&text(r))
                }
            ),
            11 => format!(
                "UPDATE {q}.t_nokey SET y = CONCAT(IFNULL(y, ''), 'u') WHERE x = {} LIMIT 1",
                r.gen_range(0..50)
            ),
            12 => format!(
                "DELETE FROM {q}.t_nokey WHERE x = {} LIMIT 1",
                r.gen_range(0..50)
            ),
            _ => {
                let neg = if r.gen_bool(0.5) { "-" } else { "" };
                format!(
                    "INSERT INTO {q}.t_types (i8, u8, i64, u64, f, dbl, dec1, bits, dt, ts, d, tm, \
                     y, s, l1, bin, bl, tx, en, st, j) VALUES ({}, {}, {}, {}, {}, {}, \
                     '{neg}{}.{:030}', b'{:013b}', '2001-02-03 04:05:06.789', \
                     '2021-06-07 08:09:10.123456', '1999-12-31', '{neg}{}:05:06.07', {}, {}, \
                     'caf\u{e9}', X'{:02x}00ff', REPEAT('b', {}), {}, '{}', 'x,z', \
                     JSON_OBJECT('k', {}, 'a', JSON_ARRAY(1, 'two', NULL, 3.5)))",
                    r.gen_range(-128..128),
                    r.gen_range(0..256),
                    if r.gen_bool(0.1) { i64::MIN } else { r.gen::<i64>() },
                    if r.gen_bool(0.1) { u64::MAX } else { r.gen::<u64>() },
                    r.gen_range(-1000..1000) as f32 / 8.0,
                    r.gen::<f64>() * 1e10,
                    r.gen_range(0..1_000_000_000u64),
                    r.gen_range(0..1_000_000_000_000u64) * 1000,
                    r.gen_range(0..8192),
                    r.gen_range(0..800),
                    r.gen_range(1901..2155),
                    sql_str(&text(r)),
                    r.gen::<u8>(),
                    r.gen_range(0..3000),
                    sql_str(&text(r).repeat(r.gen_range(1..50))),
                    ["a", "b", "c"][r.gen_range(0..3)],
                    r.gen_range(0..1000),
                )
            }
        }
    }

    /// Runs `txns` transactions of 1–5 statements each.
    pub async fn run(&mut self, conn: &mut Conn, txns: usize) {
        for _ in 0..txns {
            let n = self.rng.gen_range(1..=5);
            let mut sql = String::from("START TRANSACTION;");
            for _ in 0..n {
                sql.push_str(&self.statement());
                sql.push(';');
                self.statements += 1;
            }
            sql.push_str("COMMIT");
            conn.query_drop(&sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    }
}

/// The upstream's current binlog position `(file, offset)`.
pub async fn binlog_position(server: &TestServer) -> (String, u64) {
    let stmt = match server.kind() {
        DbKind::Mysql => "SHOW BINARY LOG STATUS",
        DbKind::Mariadb => "SHOW MASTER STATUS",
    };
    let mut c = server.conn().await;
    let row: mysql_async::Row = c
        .query_first(stmt)
        .await
        .unwrap_or_else(|e| panic!("{stmt}: {e}"))
        .unwrap_or_else(|| panic!("{stmt}: no row"));
    let file: String = row.get(0).expect("file");
    let pos: u64 = row.get(1).expect("position");
    (file, pos)
}

/// Parses `(file, pos)` as `query-status` prints positions.
pub fn parse_position(text: &str) -> Option<(String, u64)> {
    let t = text.trim().strip_prefix('(')?.strip_suffix(')')?;
    let (f, p) = t.split_once(',')?;
    Some((f.trim().to_string(), p.trim().parse().ok()?))
}

fn file_seq(name: &str) -> u64 {
    name.rsplit('.')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Waits until every subtask of `task` has applied the upstream binlog up to its current
/// position (read now). Panics when a subtask is paused by an error, or after `timeout`.
pub async fn wait_caught_up(
    ferry: &Ferry,
    task: &str,
    up: &TestServer,
    timeout: Duration,
) -> Value {
    let (file, pos) = binlog_position(up).await;
    let start = Instant::now();
    let mut last = Value::Null;
    loop {
        if let Some(st) = ferry.query_status(task).await {
            let subs = subtasks(&st);
            if let Some(s) = subs
                .iter()
                .find(|s| s["stage"] == "Paused" && !s["result"].is_null())
            {
                panic!(
                    "task `{task}` paused by an error:\n{}\n{}",
                    serde_json::to_string_pretty(s).unwrap_or_default(),
                    ferry.log_tail(60)
                );
            }
            let done = !subs.is_empty()
                && subs.iter().all(|s| {
                    s["sync"]["syncerBinlog"]
                        .as_str()
                        .and_then(parse_position)
                        .is_some_and(|(f, p)| (file_seq(&f), p) >= (file_seq(&file), pos))
                });
            if done {
                return st;
            }
            last = st;
        }
        if start.elapsed() > timeout {
            panic!(
                "task `{task}` did not reach ({file}, {pos}) in {timeout:?}; last status:\n{}\n{}",
                serde_json::to_string_pretty(&last).unwrap_or_default(),
                ferry.log_tail(60)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
