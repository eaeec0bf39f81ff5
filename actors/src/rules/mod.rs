//! Table selection and renaming rules: DM's `block-allow-list` and `routes`.
//!
//! Pure logic, compiled once from the task configuration and unit-tested without any server.

mod balist;
mod pattern;
mod route;

pub use balist::BlockAllowList;
pub use pattern::{Pattern, PatternError};
pub use route::{RouteError, RouteSpec, Router};
