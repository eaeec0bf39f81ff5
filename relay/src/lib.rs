//! Ferry's durable state, in one RocksDB database under `data-dir`.
//!
//! Two small domain interfaces sit on top of it:
//! - the **checkpoint store** ([`CheckpointStore`]): registered sources and tasks, each task's
//!   stage, the full phase's start position, its chunk plan and the chunks already committed;
//! - the **relay log** (binlog events of a source; filled by the incremental phase).
//!
//! Values are JSON; keys are `/`-separated paths whose variable parts are escaped, so one
//! task's keys form a contiguous range that can be listed or deleted with a prefix.

mod checkpoint;
mod relay_log;
mod store;

pub use checkpoint::{
    CheckpointStore, ChunkDone, CopiedTable, CopyRound, FullPhaseState, NeededRecord,
    SchemaVersion, SourceRecord, TaskRecord,
};
pub use relay_log::{
    NewRelayEvent, PurgeReport, ReadFrom, ReadLimit, RelayEvent, RelayLog, RelayPosition,
    RelayStats, TxnBoundary,
};
pub use store::{Store, StoreError};
