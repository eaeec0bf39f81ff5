//! The schema history (DESIGN.md §4 rule 5): the upstream schema of the tracked tables as
//! of each binlog position.
//!
//! - [`model`]: the pure schema model, advanced by applying each replicated DDL statement.

pub(crate) mod dialect;
pub mod model;
mod parse;
#[cfg(test)]
mod tests;
