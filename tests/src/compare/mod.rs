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

mod canon;
mod checksum;
mod columns;
mod tables;

pub use canon::{canonical_json, show_value};
pub use checksum::{table_checksum, TableChecksum};
pub use columns::{list_tables, prepare_session, primary_key, table_columns};
pub use tables::{assert_schemas_equal, assert_tables_equal, assert_tables_match, compare_tables};

use std::fmt;

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
