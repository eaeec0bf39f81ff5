//! Row-by-row comparison of an upstream and a downstream table, and an order-independent
//! table checksum, that work on MySQL 9.7 and MariaDB 10.11 alike.
//!
//! How values are read: every compared column is fetched with the **text protocol**, so
//! each value is the exact bytes the server prints (binary strings byte for byte, latin1
//! converted to utf8mb4 by the server, `TIMESTAMP` in UTC because the helpers set the
//! session `time_zone` to `+00:00` and `SET NAMES utf8mb4` on the connections they are
//! given). Two kinds of columns are read differently:
//!
//! * `FLOAT` columns are read as `CAST(col AS DOUBLE)`: the plain text of a FLOAT has only
//!   6 significant digits (`123456.7` prints as `123457`), so two different stored floats
//!   could print the same; the double text carries all 24 bits. Both servers print it
//!   identically.
//! * Generated columns (`VIRTUAL`/`STORED GENERATED` in `information_schema.COLUMNS.EXTRA`)
//!   are skipped: they are computed by the downstream itself.
//!
//! [`CompareMode`] says how two values are then compared; see there.
//!
//! Rows are fetched whole into memory (fine for test tables up to a few hundred thousand
//! rows), then sorted in Rust by the primary key values and then by all values, so the
//! servers' collations (MySQL's `utf8mb4_0900_ai_ci` vs MariaDB's `utf8mb4_general_ci`)
//! cannot make equal tables come back in different orders. The comparison is a merge
//! join on the key: a row is "upstream only", "downstream only", or has differing
//! columns. Without a primary key the whole row is the key, so the tables are compared
//! as multisets (duplicates count).

use std::cmp::Ordering;
use std::fmt;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value};
use sha2::{Digest, Sha256};

use crate::sql::quote_ident;

/// How values are compared once fetched (see the module docs for how they are fetched).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CompareMode {
    /// For pairs of different kinds (MySQL ↔ MariaDB), the default:
    /// * JSON columns (MySQL `JSON`, or a MariaDB `LONGTEXT` with a `json_valid` check;
    ///   JSON on either side suffices) are compared **semantically**: both texts are
    ///   parsed with serde_json and re-printed canonically (object keys sorted, no
    ///   whitespace, numbers as integers when integral and below 2^53 in magnitude,
    ///   otherwise as the shortest round-trip f64 text). MySQL normalises `{"b":1,"a":2}`
    ///   to `{"a": 2, "b": 1}` and big integers to doubles, MariaDB keeps the original
    ///   text; both compare equal. A text that does not parse is compared as is.
    /// * `FLOAT` / `DOUBLE` columns are compared as **numbers**: the text is parsed as an
    ///   f64 and re-printed (shortest round-trip form; `-0` equals `0`), so `1e-7` and
    ///   `0.0000001` are equal.
    /// * every other column: exact bytes.
    #[default]
    Portable,
    /// Every column byte for byte as the server printed it (JSON text included). For
    /// pairs of the same kind.
    Exact,
}

/// Options of [`compare_tables`].
#[derive(Debug, Clone)]
pub struct CompareOptions {
    pub mode: CompareMode,
    /// Columns not compared (by name, on both sides).
    pub ignore_columns: Vec<String>,
    /// How many differences the report lists (all are counted).
    pub max_reported: usize,
}

impl Default for CompareOptions {
    fn default() -> Self {
        Self {
            mode: CompareMode::Portable,
            ignore_columns: Vec::new(),
            max_reported: 5,
        }
    }
}

/// A column as `information_schema.COLUMNS` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    pub name: String,
    /// `DATA_TYPE`, lower case (`int`, `json`, `longtext`, ...).
    pub data_type: String,
    /// `COLUMN_TYPE` (`int unsigned`, `bit(64)`, ...).
    pub column_type: String,
    /// `VIRTUAL`/`STORED GENERATED` (not `DEFAULT_GENERATED`).
    pub generated: bool,
    /// MySQL `JSON`, or MariaDB's `JSON` alias (`LONGTEXT` + `CHECK (json_valid(col))`).
    pub json: bool,
}

impl ColumnInfo {
    fn is_float(&self) -> bool {
        self.data_type == "float"
    }
    fn is_floating(&self) -> bool {
        matches!(self.data_type.as_str(), "float" | "double" | "real")
    }
}

/// How a column's values are canonicalised before comparing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Canon {
    Bytes,
    Json,
    Number,
}

/// A fetched value: `None` is SQL NULL.
type Cell = Option<Vec<u8>>;

/// The differences found by [`compare_tables`]; its `Display` is the assertion message.
#[derive(Debug, Clone)]
pub struct TableDiff {
    pub upstream: String,
    pub downstream: String,
    pub upstream_rows: usize,
    pub downstream_rows: usize,
    /// Set when the compared column sets differ (then no rows were compared).
    pub column_mismatch: Option<String>,
    /// Rows that differ: changed, upstream only or downstream only.
    pub differing_rows: usize,
    /// Descriptions of the first `max_reported` differences, in key order.
    pub reported: Vec<String>,
}

impl fmt::Display for TableDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "tables differ: upstream {} ({} rows) vs downstream {} ({} rows)",
            self.upstream, self.upstream_rows, self.downstream, self.downstream_rows
        )?;
        if let Some(c) = &self.column_mismatch {
            writeln!(f, "  columns differ: {c}")?;
        }
        if self.differing_rows > 0 {
            writeln!(f, "  {} differing row(s); first:", self.differing_rows)?;
        }
        for r in &self.reported {
            writeln!(f, "  - {r}")?;
        }
        Ok(())
    }
}

impl std::error::Error for TableDiff {}

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
async fn fetch_rows(
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

fn value_bytes(v: Value) -> Cell {
    match v {
        Value::NULL => None,
        Value::Bytes(b) => Some(b),
        // The text protocol only yields bytes; keep anything else printable anyway.
        other => Some(other.as_sql(true).into_bytes()),
    }
}

fn canonicalize(canon: Canon, cell: Cell) -> Cell {
    let bytes = cell?;
    Some(match canon {
        Canon::Bytes => bytes,
        Canon::Json => match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(v) => {
                let mut out = String::new();
                canonical_json(&v, &mut out);
                out.into_bytes()
            }
            Err(_) => bytes,
        },
        Canon::Number => match std::str::from_utf8(&bytes)
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
        {
            Some(x) => canonical_f64(x).into_bytes(),
            None => bytes,
        },
    })
}

/// Shortest round-trip text of `x`, integral values below 2^53 as integers, `-0` as `0`.
fn canonical_f64(x: f64) -> String {
    if x == 0.0 {
        "0".to_string()
    } else if x.fract() == 0.0 && x.abs() < 9_007_199_254_740_992.0 {
        format!("{}", x as i64)
    } else {
        format!("{x:e}")
    }
}

/// Prints a JSON value canonically: object keys sorted, no whitespace, numbers via
/// [`canonical_f64`] unless they are exact 64-bit integers.
pub fn canonical_json(v: &serde_json::Value, out: &mut String) {
    use serde_json::Value as J;
    match v {
        J::Null => out.push_str("null"),
        J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        J::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.push_str(&i.to_string());
            } else if let Some(u) = n.as_u64() {
                out.push_str(&u.to_string());
            } else {
                out.push_str(&canonical_f64(n.as_f64().unwrap_or(f64::NAN)));
            }
        }
        J::String(s) => out.push_str(&serde_json::to_string(s).expect("string serializes")),
        J::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(x, out);
            }
            out.push(']');
        }
        J::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).expect("string serializes"));
                out.push(':');
                canonical_json(&o[k], out);
            }
            out.push('}');
        }
    }
}

fn cmp_by(a: &[Cell], b: &[Cell], idx: &[usize]) -> Ordering {
    for &i in idx {
        match a[i].cmp(&b[i]) {
            Ordering::Equal => {}
            o => return o,
        }
    }
    Ordering::Equal
}

/// Shows a value in a report: `NULL`, a quoted string when it is printable UTF-8, else
/// `X'..'` hex; long values are cut.
pub fn show_value(cell: &Cell) -> String {
    const MAX: usize = 120;
    match cell {
        None => "NULL".to_string(),
        Some(b) => match std::str::from_utf8(b) {
            Ok(s) if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') => {
                let n = s.chars().count();
                if n > MAX {
                    let cut: String = s.chars().take(MAX).collect();
                    format!("{:?}... ({} chars, {} bytes)", cut, n, b.len())
                } else {
                    format!("{s:?}")
                }
            }
            _ => {
                if b.len() > MAX / 2 {
                    format!(
                        "X'{}'... ({} bytes)",
                        hex::encode_upper(&b[..MAX / 2]),
                        b.len()
                    )
                } else {
                    format!("X'{}'", hex::encode_upper(b))
                }
            }
        },
    }
}

fn show_key(names: &[String], idx: &[usize], row: &[Cell]) -> String {
    let parts: Vec<String> = idx
        .iter()
        .map(|&i| format!("{}={}", quote_ident(&names[i]), show_value(&row[i])))
        .collect();
    format!("({})", parts.join(", "))
}

/// Compares `up_table` (`(schema, table)`) on `up` with `down_table` on `down`, column by
/// column and row by row (see the module docs). Returns the number of rows when they are
/// equal. Sets the sessions up with [`prepare_session`]. Panics on SQL errors (missing
/// table, lost connection).
pub async fn compare_tables(
    up: &mut Conn,
    down: &mut Conn,
    up_table: (&str, &str),
    down_table: (&str, &str),
    opts: &CompareOptions,
) -> Result<usize, TableDiff> {
    prepare_session(up).await;
    prepare_session(down).await;
    let (us, ut) = up_table;
    let (ds, dt) = down_table;
    let up_name = format!("{}.{}", quote_ident(us), quote_ident(ut));
    let down_name = format!("{}.{}", quote_ident(ds), quote_ident(dt));
    let keep = |c: &ColumnInfo| !c.generated && !opts.ignore_columns.contains(&c.name);
    let up_cols: Vec<ColumnInfo> = table_columns(up, us, ut)
        .await
        .into_iter()
        .filter(keep)
        .collect();
    let down_all: Vec<ColumnInfo> = table_columns(down, ds, dt)
        .await
        .into_iter()
        .filter(keep)
        .collect();

    let mut diff = TableDiff {
        upstream: up_name,
        downstream: down_name,
        upstream_rows: 0,
        downstream_rows: 0,
        column_mismatch: None,
        differing_rows: 0,
        reported: Vec::new(),
    };

    // Downstream columns in upstream order, matched by name.
    let mut down_cols: Vec<&ColumnInfo> = Vec::new();
    let mut missing = Vec::new();
    for c in &up_cols {
        match down_all.iter().find(|d| d.name == c.name) {
            Some(d) => down_cols.push(d),
            None => missing.push(quote_ident(&c.name)),
        }
    }
    let extra: Vec<String> = down_all
        .iter()
        .filter(|d| !up_cols.iter().any(|c| c.name == d.name))
        .map(|d| quote_ident(&d.name))
        .collect();
    if !missing.is_empty() || !extra.is_empty() {
        diff.column_mismatch = Some(format!(
            "missing downstream: [{}]; only downstream: [{}]",
            missing.join(", "),
            extra.join(", ")
        ));
        return Err(diff);
    }

    let canons: Vec<Canon> = up_cols
        .iter()
        .zip(&down_cols)
        .map(|(u, d)| match opts.mode {
            CompareMode::Exact => Canon::Bytes,
            CompareMode::Portable if u.json || d.json => Canon::Json,
            CompareMode::Portable if u.is_floating() || d.is_floating() => Canon::Number,
            CompareMode::Portable => Canon::Bytes,
        })
        .collect();
    let names: Vec<String> = up_cols.iter().map(|c| c.name.clone()).collect();

    let mut pk = primary_key(up, us, ut).await;
    if pk.is_empty() {
        pk = primary_key(down, ds, dt).await;
    }
    let mut key_idx: Vec<usize> = pk
        .iter()
        .filter_map(|k| names.iter().position(|n| n == k))
        .collect();
    if key_idx.len() != pk.len() || key_idx.is_empty() {
        key_idx = (0..names.len()).collect();
    }
    let all_idx: Vec<usize> = (0..names.len()).collect();

    let up_refs: Vec<&ColumnInfo> = up_cols.iter().collect();
    let load = |rows: Vec<Vec<Cell>>| -> Vec<Vec<Cell>> {
        let mut rows: Vec<Vec<Cell>> = rows
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .zip(&canons)
                    .map(|(c, k)| canonicalize(*k, c))
                    .collect()
            })
            .collect();
        rows.sort_by(|a, b| cmp_by(a, b, &key_idx).then_with(|| cmp_by(a, b, &all_idx)));
        rows
    };
    let up_rows = load(fetch_rows(up, us, ut, &up_refs).await);
    let down_rows = load(fetch_rows(down, ds, dt, &down_cols).await);
    diff.upstream_rows = up_rows.len();
    diff.downstream_rows = down_rows.len();

    let report = |diff: &mut TableDiff, text: String| {
        diff.differing_rows += 1;
        if diff.reported.len() < opts.max_reported {
            diff.reported.push(text);
        }
    };
    let (mut i, mut j) = (0, 0);
    while i < up_rows.len() || j < down_rows.len() {
        let order = match (up_rows.get(i), down_rows.get(j)) {
            (Some(u), Some(d)) => cmp_by(u, d, &key_idx),
            (Some(_), None) => Ordering::Less,
            (None, _) => Ordering::Greater,
        };
        match order {
            Ordering::Less => {
                let key = show_key(&names, &key_idx, &up_rows[i]);
                report(
                    &mut diff,
                    format!("row {key}: upstream only (missing downstream)"),
                );
                i += 1;
            }
            Ordering::Greater => {
                let key = show_key(&names, &key_idx, &down_rows[j]);
                report(
                    &mut diff,
                    format!("row {key}: downstream only (not upstream)"),
                );
                j += 1;
            }
            Ordering::Equal => {
                let (u, d) = (&up_rows[i], &down_rows[j]);
                if let Some(c) = (0..names.len()).find(|&c| u[c] != d[c]) {
                    let others = (c + 1..names.len()).filter(|&k| u[k] != d[k]).count();
                    let key = show_key(&names, &key_idx, u);
                    let mut text = format!(
                        "row {key}: column {} ({}): upstream {} != downstream {}",
                        quote_ident(&names[c]),
                        up_cols[c].column_type,
                        show_value(&u[c]),
                        show_value(&d[c])
                    );
                    if others > 0 {
                        text.push_str(&format!(" (and {others} more column(s) of this row)"));
                    }
                    report(&mut diff, text);
                }
                i += 1;
                j += 1;
            }
        }
    }
    if diff.differing_rows == 0 {
        Ok(up_rows.len())
    } else {
        Err(diff)
    }
}

/// [`compare_tables`] with default options; panics with the report if they differ.
/// Returns the number of rows.
pub async fn assert_tables_equal(
    up: &mut Conn,
    down: &mut Conn,
    up_table: (&str, &str),
    down_table: (&str, &str),
) -> usize {
    match compare_tables(up, down, up_table, down_table, &CompareOptions::default()).await {
        Ok(n) => n,
        Err(d) => panic!("{d}"),
    }
}

/// Asserts that two schemas have the same base tables and that each pair is equal
/// ([`assert_tables_equal`]). Returns the total number of rows.
pub async fn assert_schemas_equal(
    up: &mut Conn,
    down: &mut Conn,
    up_schema: &str,
    down_schema: &str,
) -> usize {
    let up_tables = list_tables(up, up_schema).await;
    let down_tables = list_tables(down, down_schema).await;
    assert_eq!(
        up_tables, down_tables,
        "tables of upstream {up_schema} and downstream {down_schema} differ"
    );
    let mut rows = 0;
    for t in &up_tables {
        rows += assert_tables_equal(up, down, (up_schema, t), (down_schema, t)).await;
    }
    rows
}

/// Asserts that the downstream schema `db` holds exactly the tables of `expected` and that
/// each equals its upstream namesake with the expected number of rows; every difference
/// of every table is reported, not only the first one. `what` labels the failure.
pub async fn assert_tables_match(
    up: &mut Conn,
    down: &mut Conn,
    db: &str,
    expected: &[(&str, usize)],
    what: &str,
) {
    let mut names: Vec<&str> = expected.iter().map(|(t, _)| *t).collect();
    names.sort();
    assert_eq!(
        list_tables(down, db).await,
        names,
        "{what}: downstream tables"
    );
    let opts = CompareOptions {
        max_reported: 50,
        ..CompareOptions::default()
    };
    let mut diffs = Vec::new();
    for (t, rows) in expected {
        match compare_tables(up, down, (db, t), (db, t), &opts).await {
            Ok(n) => assert_eq!(n, *rows, "{what}: rows of {t}"),
            Err(diff) => diffs.push(diff.to_string()),
        }
    }
    assert!(diffs.is_empty(), "{what}:\n{}", diffs.join("\n"));
}

/// An order-independent digest of a table's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableChecksum {
    pub rows: u64,
    /// SHA-256 (hex) over the column names and the sorted, canonicalised rows.
    pub sha256: String,
}

/// A digest of a table that is equal for equal content on MySQL and MariaDB: the
/// non-generated columns in ordinal order are fetched as [`compare_tables`] does,
/// canonicalised as in [`CompareMode::Portable`], sorted (by all values) and hashed with
/// SHA-256, each value length-prefixed (NULL distinct from every string). Column names
/// and their order are part of the digest. Prefer [`assert_tables_equal`] in tests: it
/// says *what* differs.
pub async fn table_checksum(conn: &mut Conn, schema: &str, table: &str) -> TableChecksum {
    prepare_session(conn).await;
    let cols: Vec<ColumnInfo> = table_columns(conn, schema, table)
        .await
        .into_iter()
        .filter(|c| !c.generated)
        .collect();
    let canons: Vec<Canon> = cols
        .iter()
        .map(|c| {
            if c.json {
                Canon::Json
            } else if c.is_floating() {
                Canon::Number
            } else {
                Canon::Bytes
            }
        })
        .collect();
    let refs: Vec<&ColumnInfo> = cols.iter().collect();
    let mut rows: Vec<Vec<Cell>> = fetch_rows(conn, schema, table, &refs)
        .await
        .into_iter()
        .map(|r| {
            r.into_iter()
                .zip(&canons)
                .map(|(c, k)| canonicalize(*k, c))
                .collect()
        })
        .collect();
    rows.sort();
    let mut h = Sha256::new();
    for c in &cols {
        h.update((c.name.len() as u64).to_le_bytes());
        h.update(c.name.as_bytes());
    }
    for row in &rows {
        for cell in row {
            match cell {
                None => h.update([0u8]),
                Some(b) => {
                    h.update([1u8]);
                    h.update((b.len() as u64).to_le_bytes());
                    h.update(b);
                }
            }
        }
    }
    TableChecksum {
        rows: rows.len() as u64,
        sha256: hex::encode(h.finalize()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon_json(s: &str) -> String {
        let mut out = String::new();
        canonical_json(&serde_json::from_str(s).unwrap(), &mut out);
        out
    }

    #[test]
    fn json_canonical_form_ignores_formatting_and_key_order() {
        assert_eq!(
            canon_json(r#"{"b": 1, "a": [1.0, 1e-7, "é"]}"#),
            canon_json(r#"{"a":[1,0.0000001,"\u00e9"],"b":1}"#)
        );
        assert_eq!(
            canon_json("123456789012345678901234567890"),
            canon_json("1.2345678901234568e29")
        );
        assert_eq!(canon_json("18446744073709551615"), "18446744073709551615");
        assert_ne!(canon_json(r#"{"a": 1}"#), canon_json(r#"{"a": 2}"#));
    }

    #[test]
    fn numbers_compare_by_value() {
        let n = |s: &str| canonicalize(Canon::Number, Some(s.as_bytes().to_vec()));
        assert_eq!(n("1e-7"), n("0.0000001"));
        assert_eq!(n("-0"), n("0"));
        assert_ne!(n("123456.703125"), n("123456.7109375"));
        assert_eq!(canonicalize(Canon::Number, None), None);
    }

    #[test]
    fn values_are_shown_readably() {
        assert_eq!(show_value(&None), "NULL");
        assert_eq!(show_value(&Some(b"ab".to_vec())), "\"ab\"");
        assert_eq!(show_value(&Some(vec![0, 0x5c])), "X'005C'");
    }
}
