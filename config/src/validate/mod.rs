//! Semantic checks after parsing. Every problem of a file is collected (with its key path
//! and position) and reported together; deprecated keys give warnings.
//!
//! The parts: `source`, `task` (with `instance` for its `mysql-instances` entries) and
//! `daemon` check one kind of file each; `rules` (routes, binlog event filters, expression
//! filters, block-allow-lists), `units` (mydumpers, loaders, syncers, validators),
//! `connection` (`from`, `target-database`) and `values` (durations, binlog positions,
//! timezones) are the pieces they share; `report` collects the problems, placed at their
//! keys, and `damage` tells which of them only come from a value already reported.

mod connection;
mod daemon;
mod damage;
mod instance;
mod report;
mod rules;
mod source;
mod task;
mod units;
mod values;

pub(crate) use daemon::daemon;
pub(crate) use damage::caused_by_damage;
pub(crate) use report::Report;
pub(crate) use source::source;
pub(crate) use task::task;
