//! DM's task modes, processing units and subtask stages.

use std::fmt;

use serde::{Deserialize, Serialize};

/// `task-mode` of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskMode {
    /// Dump and load only.
    Full,
    /// Binlog replication only.
    Incremental,
    /// Full, then incremental from the full phase's start position.
    All,
}

impl TaskMode {
    /// True when the mode includes the full phase.
    pub fn has_full(self) -> bool {
        matches!(self, TaskMode::Full | TaskMode::All)
    }

    /// True when the mode includes binlog replication.
    pub fn has_sync(self) -> bool {
        matches!(self, TaskMode::Incremental | TaskMode::All)
    }
}

/// A processing unit, as DM's `unit` field in `query-status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unit {
    /// Precheck.
    Check,
    /// Dump from the upstream.
    Dump,
    /// Load into the downstream.
    Load,
    /// Binlog replication.
    Sync,
}

/// A subtask stage (DM's stage machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// Created, not yet started.
    New,
    /// Working.
    Running,
    /// Stopped by the user or by an error; resumable.
    Paused,
    /// Stopped for good.
    Stopped,
    /// A full-mode task is done.
    Finished,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
