//! The incremental Writer's side of replication: turning decoded row changes into the SQL
//! statements the downstream executes.
//!
//! - [`dml`]: pure SQL generation (single-row statements, safe mode, merged multi-row
//!   statements), no I/O;
//! - [`load`]: the `LOAD DATA LOCAL` form of a run of inserts (pure).

pub mod dml;
pub mod load;

pub use dml::{DmlError, TargetColumn, TargetTable};
pub use load::{load_rows, LoadAs, LoadRows};
