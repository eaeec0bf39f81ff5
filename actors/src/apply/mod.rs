//! The incremental Writer's side of replication: turning decoded row changes into the SQL
//! statements the downstream executes.
//!
//! - [`dml`]: pure SQL generation (single-row statements, safe mode, merged multi-row
//!   statements), no I/O. Its parts:
//!   - `target_table`: the target-table description and its single-row statements;
//!   - `merge`: merged multi-row statements;
//!   - `literal`: row values as SQL literals.

pub mod dml;
mod literal;
mod merge;
mod target_table;

pub use dml::{DmlError, TargetColumn, TargetTable};
