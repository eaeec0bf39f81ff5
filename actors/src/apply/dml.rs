//! SQL generation for row changes (pure, no I/O).
//!
//! Values are written byte-exact and injection-proof: strings and binary data as hex literals
//! (the column's character set gives them meaning, as in the full phase), numbers as validated
//! digits, temporal values as quoted digit strings, JSON as hex text (through
//! `CONVERT(… USING utf8mb4)` on targets whose JSON type rejects binary strings).
//!
//! `TIMESTAMP` values are written in UTC: the Writer's session must use `time_zone='+00:00'`.
//!
//! Statements follow DM's syncer:
//! - WHERE by the primary key, else a NOT NULL unique key, else all non-generated columns
//!   compared NULL-safely (`<=>`) with `LIMIT 1`;
//! - safe mode: `INSERT` → `REPLACE`, `UPDATE` → `DELETE` of the old key + `REPLACE` of the
//!   new row, `DELETE` unchanged;
//! - merging (`multiple-rows`): multi-value `INSERT`/`REPLACE`, `DELETE … WHERE (k) IN (…)`,
//!   and key-preserving updates as `INSERT … ON DUPLICATE KEY UPDATE`, split to stay under a
//!   byte limit.
//!
//! The pieces: `target_table` describes a target table ([`TargetTable`]) and builds its
//! single-row statements, `merge` its merged multi-row statements, and `literal` writes
//! values as SQL literals ([`push_literal`]).

pub use super::literal::push_literal;
pub use super::target_table::{TargetColumn, TargetTable};

/// A statement could not be generated for a row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{table}: {what}")]
pub struct DmlError {
    /// Target table (quoted).
    pub table: String,
    /// What is wrong (names the column when there is one).
    pub what: String,
}
