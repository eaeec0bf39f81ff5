//! Whole-schema comparison for the tests where the schema moves: the same tables on both
//! sides, each with the same columns, indexes and rows.

use mysql_async::prelude::Queryable;

use crate::server::TestServer;
use crate::{compare_tables, list_tables, CompareOptions};

/// Compares the schema `db` on both sides: the same tables, each with the same columns in
/// the same order (type, length, nullability), the same indexes and the same rows. Returns
/// every difference (labelled with `what`), not only the first, and the rows compared.
pub async fn compare_schema(
    up: &TestServer,
    down: &TestServer,
    db: &str,
    what: &str,
) -> (Vec<String>, usize) {
    let (mut u, mut d) = (up.conn().await, down.conn().await);
    let ut = list_tables(&mut u, db).await;
    let dt = list_tables(&mut d, db).await;
    let mut problems = Vec::new();
    if ut != dt {
        problems.push(format!(
            "{what}: tables differ: only upstream {:?}; only downstream {:?}",
            ut.iter().filter(|t| !dt.contains(t)).collect::<Vec<_>>(),
            dt.iter().filter(|t| !ut.contains(t)).collect::<Vec<_>>()
        ));
    }
    let opts = CompareOptions {
        max_reported: 10,
        ..CompareOptions::default()
    };
    let mut rows = 0;
    for t in ut.iter().filter(|t| dt.contains(t)) {
        let (us, ds) = (
            structure(&mut u, db, t).await,
            structure(&mut d, db, t).await,
        );
        if us != ds {
            problems.push(format!(
                "{what}: structure of {t} differs:\n  upstream   {us:?}\n  downstream {ds:?}"
            ));
        }
        match compare_tables(&mut u, &mut d, (db, t), (db, t), &opts).await {
            Ok(n) => rows += n,
            Err(diff) => problems.push(format!("{what}: {diff}")),
        }
    }
    (problems, rows)
}

/// Columns (name, type, length, nullable) in order, and indexes (name, columns).
pub async fn structure(c: &mut mysql_async::Conn, db: &str, t: &str) -> (Vec<String>, Vec<String>) {
    let cols: Vec<(String, String, Option<u64>, String)> = c
        .exec(
            "SELECT COLUMN_NAME, LOWER(DATA_TYPE), CHARACTER_MAXIMUM_LENGTH, IS_NULLABLE \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
             ORDER BY ORDINAL_POSITION",
            (db, t),
        )
        .await
        .unwrap_or_else(|e| panic!("columns of {db}.{t}: {e}"));
    let idx: Vec<(String, String)> = c
        .exec(
            "SELECT INDEX_NAME, GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX) \
             FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
             GROUP BY INDEX_NAME ORDER BY INDEX_NAME",
            (db, t),
        )
        .await
        .unwrap_or_else(|e| panic!("indexes of {db}.{t}: {e}"));
    (
        cols.into_iter()
            .map(|(n, ty, len, null)| match len {
                Some(l) => format!("{n} {ty}({l}) {null}"),
                None => format!("{n} {ty} {null}"),
            })
            .collect(),
        idx.into_iter().map(|(n, c)| format!("{n}({c})")).collect(),
    )
}
