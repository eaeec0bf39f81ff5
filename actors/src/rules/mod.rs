//! Table selection and renaming rules: DM's `block-allow-list` and `routes`.
//!
//! Pure logic, compiled once from the task configuration and unit-tested without any server.

mod balist;
mod event_filter;
mod pattern;
mod route;

pub use balist::BlockAllowList;
pub use event_filter::{
    always_skipped, Decision, EventFilter, EventFilterError, EventType, UnknownEventType,
};
pub use pattern::{Pattern, PatternError};
pub use route::{RouteError, RouteSpec, Router};
