//! The incremental Writer's side of replication: turning decoded row changes into the SQL
//! statements the downstream executes.
//!
//! - [`dml`]: pure SQL generation (single-row statements, safe mode, merged multi-row
//!   statements), no I/O.

pub mod dml;

pub use dml::{DmlError, TargetColumn, TargetTable};
