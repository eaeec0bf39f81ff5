//! Reading a table's columns, keys and rows from `information_schema` and the server.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};

use super::canon::value_bytes;
use super::{Cell, ColumnInfo};
use crate::sql::quote_ident;

/// Sets the session up for reading values the same way on every server:
/// `SET NAMES utf8mb4` and `time_zone = '+00:00'`.
pub async fn prepare_session(conn: &mut Conn) {
    for sql in ["SET NAMES utf8mb4", "SET time_zone = '+00:00'"] {
        if let Err(e) = conn.query_drop(sql).await {
            panic!("{sql}: {e}");
        }
    }
}

/// Base tables of `schema`, sorted by name (byte order).
pub async fn list_tables(conn: &mut Conn, schema: &str) -> Vec<String> {
    let sql = "SELECT TABLE_NAME FROM information_schema.TABLES \
               WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'";
    let mut names: Vec<String> = match conn.exec(sql, (schema,)).await {
        Ok(n) => n,
        Err(e) => panic!("listing tables of {schema}: {e}"),
    };
    names.sort();
    names
}

/// The columns of a table in ordinal order; panics if the table does not exist.
pub async fn table_columns(conn: &mut Conn, schema: &str, table: &str) -> Vec<ColumnInfo> {
    let sql = "SELECT COLUMN_NAME, LOWER(DATA_TYPE), LOWER(COLUMN_TYPE), UPPER(EXTRA) \
               FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
               ORDER BY ORDINAL_POSITION";
    let rows: Vec<(String, String, String, Option<String>)> =
        match conn.exec(sql, (schema, table)).await {
            Ok(r) => r,
            Err(e) => panic!("reading the columns of {schema}.{table}: {e}"),
        };
    assert!(
        !rows.is_empty(),
        "table {}.{} not found (no columns in information_schema)",
        quote_ident(schema),
        quote_ident(table)
    );
    let json_checked = mariadb_json_columns(conn, schema, table).await;
    rows.into_iter()
        .map(|(name, data_type, column_type, extra)| {
            let extra = extra.unwrap_or_default();
            let generated = extra.contains("VIRTUAL GENERATED")
                || extra.contains("STORED GENERATED")
                || extra.contains("PERSISTENT GENERATED");
            let json =
                data_type == "json" || (data_type == "longtext" && json_checked.contains(&name));
            ColumnInfo {
                name,
                data_type,
                column_type,
                generated,
                json,
            }
        })
        .collect()
}

/// Columns of a MariaDB table that carry a `json_valid(col)` check (MariaDB's JSON type).
/// Empty on MySQL, whose `CHECK_CONSTRAINTS` has no `TABLE_NAME`.
async fn mariadb_json_columns(conn: &mut Conn, schema: &str, table: &str) -> Vec<String> {
    let version: Option<String> = conn.query_first("SELECT VERSION()").await.unwrap_or(None);
    if !version.unwrap_or_default().contains("MariaDB") {
        return Vec::new();
    }
    let sql = "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
               WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?";
    let clauses: Vec<String> = conn.exec(sql, (schema, table)).await.unwrap_or_default();
    clauses
        .iter()
        .filter_map(|c| {
            let inner = c.trim().strip_prefix("json_valid(`")?.strip_suffix("`)")?;
            Some(inner.replace("``", "`"))
        })
        .collect()
}

/// Primary key columns in key order (empty without a primary key).
pub async fn primary_key(conn: &mut Conn, schema: &str, table: &str) -> Vec<String> {
    let sql = "SELECT COLUMN_NAME FROM information_schema.STATISTICS \
               WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' \
               ORDER BY SEQ_IN_INDEX";
    match conn.exec(sql, (schema, table)).await {
        Ok(r) => r,
        Err(e) => panic!("reading the primary key of {schema}.{table}: {e}"),
    }
}

/// Fetches `columns` of a table (text protocol), FLOAT columns as `CAST(.. AS DOUBLE)`.
pub(super) async fn fetch_rows(
    conn: &mut Conn,
    schema: &str,
    table: &str,
    columns: &[&ColumnInfo],
) -> Vec<Vec<Cell>> {
    let list: Vec<String> = columns
        .iter()
        .map(|c| {
            if c.is_float() {
                format!("CAST({} AS DOUBLE)", quote_ident(&c.name))
            } else {
                quote_ident(&c.name)
            }
        })
        .collect();
    let sql = format!(
        "SELECT {} FROM {}.{}",
        list.join(", "),
        quote_ident(schema),
        quote_ident(table)
    );
    let rows: Vec<Row> = match conn.query(&sql).await {
        Ok(r) => r,
        Err(e) => panic!("{e}\nSQL: {sql}"),
    };
    rows.into_iter()
        .map(|r| r.unwrap().into_iter().map(value_bytes).collect())
        .collect()
}
