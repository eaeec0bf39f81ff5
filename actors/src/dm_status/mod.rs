//! DM's `query-status` JSON shapes, as typed structs.
//!
//! Each struct serializes to exactly the object DM's dmctl/OpenAPI shows (key names, value
//! types, nesting): `query-status <task>` is a [`TaskStatusResponse`] (per source a
//! [`SourceResponse`]: [`SourceStatus`] with the [`RelayStatus`], and the
//! [`SubTaskStatus`] with its [`DumpStatus`], [`LoadStatus`] and [`SyncStatusView`]);
//! `query-status` without a task is an [`AllTasksResponse`]. An error is shown as a
//! [`ProcessResult`] (DM's `ProcessResult` / `ProcessError`).
//!
//! DM shows some counters as strings (`totalRows`, `secondsBehindMaster`, ...): the fields
//! are `String` there, as in DM's protobuf.

use ferry_model::{Stage, Unit};
use serde::Serialize;

use crate::error::{Component, Policy};

/// The `worker` of a `sourceStatus`: Ferry runs every source in one daemon.
pub const WORKER: &str = "ferryd";

/// DM's `ProcessResult`: the `result` of a subtask or of a relay that met an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessResult {
    /// `isCanceled` (always false).
    pub is_canceled: bool,
    /// `errors`.
    pub errors: Vec<ProcessError>,
    /// `detail` (always null).
    pub detail: Option<String>,
}

/// DM's `ProcessError` (PascalCase keys, as DM's terror shows them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProcessError {
    /// `ErrCode`.
    pub err_code: u32,
    /// `ErrClass` (`database`, `sync-unit`, `relay-unit`, ...).
    pub err_class: String,
    /// `ErrScope`.
    pub err_scope: ErrScope,
    /// `ErrLevel`.
    pub err_level: ErrLevel,
    /// `Message`.
    pub message: String,
    /// `RawCause` (empty: the cause is in `Message`).
    pub raw_cause: String,
    /// `Workaround`.
    pub workaround: String,
}

/// `ErrScope`: where the error comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrScope {
    /// `internal`: a task's units (full phase, Sync unit).
    Internal,
    /// `upstream`: the relay log writer, reading the upstream.
    Upstream,
}

impl ErrScope {
    /// The scope of errors met at `at`.
    pub const fn of(at: Component) -> Self {
        match at {
            Component::Load | Component::Sync => ErrScope::Internal,
            Component::Relay => ErrScope::Upstream,
        }
    }
}

/// `ErrLevel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrLevel {
    /// `high`: every error Ferry shows stops or retries a unit.
    High,
}

impl ProcessResult {
    /// The `result` of a component (`at`) that met the error `message`, handled by `policy`:
    /// one error with the policy's code and workaround, scoped by [`ErrScope::of`].
    pub fn error(message: impl Into<String>, policy: &Policy, at: Component) -> Self {
        let code = policy.code(at);
        Self {
            is_canceled: false,
            errors: vec![ProcessError {
                err_code: code.code,
                err_class: code.class.to_string(),
                err_scope: ErrScope::of(at),
                err_level: ErrLevel::High,
                message: message.into(),
                raw_cause: String::new(),
                workaround: policy.workaround.to_string(),
            }],
            detail: None,
        }
    }
}

/// DM's `dump` object of a subtask.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DumpStatus {
    /// `totalTables`.
    pub total_tables: u64,
    /// `completedTables`.
    pub completed_tables: u64,
    /// `finishedBytes`.
    pub finished_bytes: u64,
    /// `finishedRows`.
    pub finished_rows: u64,
    /// `estimateTotalRows`.
    pub estimate_total_rows: u64,
    /// `bps`.
    pub bps: u64,
    /// `progress`, e.g. `"30.52 %"`.
    pub progress: String,
}

/// DM's `load` object of a subtask.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadStatus {
    /// `finishedBytes`.
    pub finished_bytes: u64,
    /// `totalBytes`.
    pub total_bytes: u64,
    /// `finishedRows`.
    pub finished_rows: u64,
    /// `totalChunks`.
    pub total_chunks: u64,
    /// `finishedChunks`.
    pub finished_chunks: u64,
    /// `progress`, e.g. `"30.52 %"`.
    pub progress: String,
    /// `metaBinlog`: the full phase's start position (empty: not known yet).
    pub meta_binlog: String,
    /// `metaBinlogGTID`.
    #[serde(rename = "metaBinlogGTID")]
    pub meta_binlog_gtid: String,
    /// `bps`.
    pub bps: u64,
    /// `rps`.
    pub rps: u64,
}

/// DM's `sync` object of a subtask (named so as not to clash with [`crate::sync::SyncStatus`],
/// the live state it is read from).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatusView {
    /// `masterBinlog`.
    pub master_binlog: String,
    /// `masterBinlogGtid`.
    pub master_binlog_gtid: String,
    /// `syncerBinlog`.
    pub syncer_binlog: String,
    /// `syncerBinlogGtid`.
    pub syncer_binlog_gtid: String,
    /// `blockingDDLs`.
    #[serde(rename = "blockingDDLs")]
    pub blocking_ddls: Vec<String>,
    /// `unresolvedGroups` (always empty: Ferry coordinates no shard DDL).
    pub unresolved_groups: Vec<serde_json::Value>,
    /// `synced`.
    pub synced: bool,
    /// `binlogType`: `local` when the task reads the source's relay log, else `remote`.
    pub binlog_type: String,
    /// `secondsBehindMaster` (a number, as a string).
    pub seconds_behind_master: String,
    /// `blockDDLOwner`.
    #[serde(rename = "blockDDLOwner")]
    pub block_ddl_owner: String,
    /// `conflictMsg`.
    pub conflict_msg: String,
    /// `totalRows` (a number, as a string).
    pub total_rows: String,
    /// `totalRps` (a number, as a string).
    pub total_rps: String,
    /// `recentRps` (a number, as a string).
    pub recent_rps: String,
    /// `safeMode`.
    pub safe_mode: bool,
}

/// DM's `relayStatus` of a source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RelayStatus {
    /// `masterBinlog`.
    pub master_binlog: String,
    /// `masterBinlogGtid`.
    pub master_binlog_gtid: String,
    /// `relaySubDir`.
    pub relay_sub_dir: String,
    /// `relayBinlog`.
    pub relay_binlog: String,
    /// `relayBinlogGtid`.
    pub relay_binlog_gtid: String,
    /// `relayCatchUpMaster`.
    pub relay_catch_up_master: bool,
    /// `stage`.
    pub stage: Stage,
    /// `result` (null: no error).
    pub result: Option<ProcessResult>,
}

/// One entry of DM's `subTaskStatus`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubTaskStatus {
    /// `name`: the task.
    pub name: String,
    /// `stage`.
    pub stage: Stage,
    /// `unit`.
    pub unit: Unit,
    /// `result` (null: no error).
    pub result: Option<ProcessResult>,
    /// `unresolvedDDLLockID`.
    #[serde(rename = "unresolvedDDLLockID")]
    pub unresolved_ddl_lock_id: String,
    /// `dump`.
    pub dump: DumpStatus,
    /// `load`.
    pub load: LoadStatus,
    /// `sync`, present only while the Sync unit runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncStatusView>,
}

/// DM's `sourceStatus`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceStatus {
    /// `source`: the source id.
    pub source: String,
    /// `worker` ([`WORKER`]).
    pub worker: String,
    /// `result` (always null).
    pub result: Option<ProcessResult>,
    /// `relayStatus` (null: the source has no relay log).
    pub relay_status: Option<RelayStatus>,
}

impl SourceStatus {
    /// The status of `source`, with its relay's.
    pub fn new(source: impl Into<String>, relay_status: Option<RelayStatus>) -> Self {
        Self {
            source: source.into(),
            worker: WORKER.to_string(),
            result: None,
            relay_status,
        }
    }
}

/// One entry of `sources` in `query-status <task>`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceResponse {
    /// `result`.
    pub result: bool,
    /// `msg`.
    pub msg: String,
    /// `sourceStatus`.
    pub source_status: SourceStatus,
    /// `subTaskStatus`.
    pub sub_task_status: Vec<SubTaskStatus>,
}

impl SourceResponse {
    /// A successful answer for one source.
    pub fn ok(source_status: SourceStatus, sub_task_status: Vec<SubTaskStatus>) -> Self {
        Self {
            result: true,
            msg: String::new(),
            source_status,
            sub_task_status,
        }
    }
}

/// `query-status <task>`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskStatusResponse {
    /// `result`.
    pub result: bool,
    /// `msg`.
    pub msg: String,
    /// `sources`.
    pub sources: Vec<SourceResponse>,
}

impl TaskStatusResponse {
    /// A successful answer.
    pub fn ok(sources: Vec<SourceResponse>) -> Self {
        Self {
            result: true,
            msg: String::new(),
            sources,
        }
    }
}

/// One entry of `tasks` in `query-status` without a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskListEntry {
    /// `taskName`.
    pub task_name: String,
    /// `taskStatus`: the stage, or `Error - ...`.
    pub task_status: String,
    /// `sources`: source ids.
    pub sources: Vec<String>,
}

/// `query-status` without a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AllTasksResponse {
    /// `result`.
    pub result: bool,
    /// `msg`.
    pub msg: String,
    /// `tasks`.
    pub tasks: Vec<TaskListEntry>,
}

impl AllTasksResponse {
    /// A successful answer.
    pub fn ok(tasks: Vec<TaskListEntry>) -> Self {
        Self {
            result: true,
            msg: String::new(),
            tasks,
        }
    }
}

#[cfg(test)]
mod tests;
