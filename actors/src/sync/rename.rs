//! `RENAME TABLE` applied downstream exactly once.
//!
//! A DDL is applied, then its position is recorded; a crash in between applies it again at the
//! restart, which most DDL tolerates (the second run fails with "already exists", "unknown
//! column", ... and the error is accepted). A rename cycle does not: the swap
//! `RENAME TABLE a TO tmp, b TO a, tmp TO b` succeeds a second time and swaps the tables back.
//! So the pairs of a `RENAME TABLE` run as one statement (atomic in MySQL, MariaDB and TiDB,
//! where split pairs could stop half way) together with the rename of a marker table in the
//! meta schema, named after the statement's binlog position: at a restart, a marker already
//! named after the statement means the statement was applied.

use std::hash::{Hash, Hasher};

use ferry_model::{BinlogPosition, TableName};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tracing::info;

use super::SyncSpec;
use crate::error::TaskError;

/// How an atomic rename ended.
#[derive(Debug)]
pub(super) enum Renamed {
    /// Applied now.
    Applied,
    /// Applied before a restart (the marker says so).
    AlreadyApplied,
    /// The downstream refused it (nothing changed).
    Refused(mysql_async::Error),
}

fn hash64(h: impl Hash) -> u64 {
    let mut s = std::collections::hash_map::DefaultHasher::new();
    h.hash(&mut s);
    s.finish()
}

/// The prefix of the marker tables of (task, source).
fn marker_prefix(task: &str, source: &str) -> String {
    format!(
        "ferry_rn_{:012x}_",
        hash64((task, source)) & 0xffff_ffff_ffff
    )
}

/// The marker tables with `prefix` in the meta schema `meta`.
async fn markers(
    conn: &mut Conn,
    down: &crate::db::Endpoint,
    meta: &str,
    prefix: &str,
) -> Result<Vec<String>, TaskError> {
    let like = format!("{}%", prefix.replace('_', "\\_"));
    conn.exec(
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME LIKE ?",
        (meta, &like),
    )
    .await
    .map_err(down.sql_err("looking for the rename marker tables"))
}

/// The marker's name once the rename at `at` is applied.
fn marker_after(prefix: &str, at: &BinlogPosition) -> String {
    format!("{prefix}{:016x}", hash64((&at.name, at.pos)))
}

/// The statement renaming `pairs` and the marker `from` → `to` in `meta`.
fn statement(pairs: &[(TableName, TableName)], meta: &str, from: &str, to: &str) -> String {
    let mut sql = String::from("RENAME TABLE ");
    for (a, b) in pairs {
        sql.push_str(&format!("{} TO {}, ", a.quoted(), b.quoted()));
    }
    sql.push_str(&format!(
        "{} TO {}",
        TableName::new(meta, from).quoted(),
        TableName::new(meta, to).quoted()
    ));
    sql
}

/// Drops the marker tables of (task, source) (`start-task --remove-meta`: a later run may
/// replay the same positions).
pub async fn drop_markers(
    conn: &mut Conn,
    down: &crate::db::Endpoint,
    meta: &str,
    task: &str,
    source: &str,
) -> Result<(), TaskError> {
    for m in markers(conn, down, meta, &marker_prefix(task, source)).await? {
        let t = TableName::new(meta, &m);
        conn.query_drop(format!("DROP TABLE IF EXISTS {}", t.quoted()))
            .await
            .map_err(down.sql_err(format!("dropping {t}")))?;
    }
    Ok(())
}

/// Renames `pairs` (routed names) downstream in one statement, once, for the statement at
/// `at`.
pub(super) async fn apply_atomic(
    spec: &SyncSpec,
    conn: &mut Conn,
    at: &BinlogPosition,
    pairs: &[(TableName, TableName)],
) -> Result<Renamed, TaskError> {
    let down = &spec.downstream;
    let meta = &spec.meta_schema;
    let prefix = marker_prefix(&spec.task, &spec.source_id);
    let after = marker_after(&prefix, at);
    let markers = markers(conn, down, meta, &prefix).await?;
    if markers.contains(&after) {
        info!(at = %at, "RENAME TABLE already applied before the restart (its marker is there)");
        return Ok(Renamed::AlreadyApplied);
    }
    let current = match markers.into_iter().next() {
        Some(m) => m,
        None => {
            let first = format!("{prefix}{:016x}", 0);
            let create = format!(
                "CREATE TABLE IF NOT EXISTS {} (id INT PRIMARY KEY)",
                TableName::new(meta, &first).quoted()
            );
            conn.query_drop(&create)
                .await
                .map_err(down.sql_err("creating the rename marker table"))?;
            first
        }
    };
    let sql = statement(pairs, meta, &current, &after);
    match conn.query_drop(&sql).await {
        Ok(()) => {
            info!(at = %at, sql = %sql, "DDL applied");
            Ok(Renamed::Applied)
        }
        Err(e @ mysql_async::Error::Server(_)) => Ok(Renamed::Refused(e)),
        Err(e) => Err(down.sql_err(format!("applying the DDL at {at}: `{sql}`"))(
            e,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_names_the_statement_and_fits_a_table_name() {
        let p = marker_prefix(
            "a task with a very long name indeed, longer than sixty-four",
            "s",
        );
        let at = BinlogPosition::new("binlog.000002", 1234).unwrap();
        let m = marker_after(&p, &at);
        assert!(m.len() <= 64 && m.starts_with("ferry_rn_"), "{m}");
        assert_eq!(m, marker_after(&p, &at));
        let other = BinlogPosition::new("binlog.000002", 1235).unwrap();
        assert_ne!(m, marker_after(&p, &other));
        assert_ne!(p, marker_prefix("a task", "s2"));
    }

    #[test]
    fn one_statement_renames_the_pairs_and_the_marker() {
        let pairs = [
            (TableName::new("d", "a"), TableName::new("d", "tmp")),
            (TableName::new("d", "b"), TableName::new("d", "a")),
            (TableName::new("d", "tmp"), TableName::new("d", "b")),
        ];
        assert_eq!(
            statement(&pairs, "dm_meta", "m0", "m1"),
            "RENAME TABLE `d`.`a` TO `d`.`tmp`, `d`.`b` TO `d`.`a`, `d`.`tmp` TO `d`.`b`, \
             `dm_meta`.`m0` TO `dm_meta`.`m1`"
        );
    }
}
