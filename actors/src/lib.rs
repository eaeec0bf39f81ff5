//! Ferry's actors and the synchronous logic they run.
//!
//! - [`bulk`]: the full phase (planner, dumpers, loaders);
//! - [`rules`]: block-allow-list and routes (pure);
//! - [`schema`]: upstream table metadata and target DDL adaptation;
//! - [`db`]: connections, server identification, binlog positions;
//! - [`ddl`]: DDL statements of the binlog: classification, table names, routed rendering;
//! - [`reader`]: binlog sources; [`relay_service`]: the relay log of a source (writer,
//!   task-side readers, purge);
//! - [`mailbox`]: typed mailboxes between stages, bounded by count and bytes;
//! - [`pipeline`]: the one place that wires a subtask's stages and mailboxes; [`stages`]:
//!   a run's stages supervised as a unit; [`supervisor`]: restart or pause after a failure;
//! - [`error`]: task errors and their transient/definite classification;
//! - [`source`]: the source supervisor (its relay log), by messages;
//! - [`dm_status`]: DM's `query-status` JSON shapes, as typed structs;
//! - [`metrics`]: the Prometheus series (DM's names and Ferry's own).

pub mod apply;
pub mod bulk;
pub mod causality;
pub mod check;
pub mod db;
pub mod ddl;
pub mod dm_status;
pub mod error;
mod fx_hash;
pub mod grants;
pub mod history;
pub mod mailbox;
pub mod metrics;
pub mod pipeline;
pub mod reader;
pub mod relay_service;
pub mod rules;
pub mod schema;
pub mod source;
pub mod stages;
pub mod start_time;
pub mod subtask;
pub mod supervisor;
pub mod sync;
pub mod task;
pub mod tls;

/// The former path of [`metrics::worker`] (DM's task state and stage codes).
pub use self::metrics::worker as dm_metrics;
