//! DM's `dm_worker_task_state` and the units' exit-with-error counters.
//!
//! | series | labels | meaning |
//! |---|---|---|
//! | `dm_worker_task_state` | task, source_id, worker | 1 New, 2 Running, 3 Paused, 4 Stopped, 5 Finished |
//! | `dm_syncer_exit_with_error_count` | task, source_id, resumable_err | runs of the Sync unit that ended with an error (`true`: retried) |
//! | `dm_loader_exit_with_error_count` | task, source_id, resumable_err | runs of the full phase that ended with an error of the downstream (or of Ferry) |
//! | `dm_dumpling_exit_with_error_count` | task, source_id, resumable_err | runs of the full phase that ended with an error of the upstream |
//! | `dm_worker_operate_error` | worker, type | operations on subtasks and relay logs the worker failed to carry out ([`operate_error`]) |
//!
//! The state is set from each task's live state at each scrape ([`super::syncer::publish`]);
//! the counters are created at 0 when a subtask starts (as DM does) and counted when a run
//! ends ([`exit_with_error`]).

use ferry_model::{Stage, Unit};

use crate::error::{Side, TaskError};

/// The `worker` label: ferryd is the one worker of its tasks.
pub const WORKER: &str = "ferryd";

/// DM's code of a stage.
pub fn stage_code(stage: Stage) -> f64 {
    match stage {
        Stage::New => 1.0,
        Stage::Running => 2.0,
        Stage::Paused => 3.0,
        Stage::Stopped => 4.0,
        Stage::Finished => 5.0,
    }
}

/// The index of a binlog file (its numeric suffix), as DM's `binlog_file` gauges.
pub fn file_index(name: &str) -> f64 {
    name.rsplit('.')
        .next()
        .and_then(|s| s.parse::<u64>().ok())
        .map_or(0.0, |n| n as f64)
}

/// The unit counters DM has: which one a failed run counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitUnit {
    /// `dm_dumpling_exit_with_error_count`.
    Dump,
    /// `dm_loader_exit_with_error_count`.
    Load,
    /// `dm_syncer_exit_with_error_count`.
    Sync,
}

impl ExitUnit {
    fn series(self) -> &'static str {
        match self {
            ExitUnit::Dump => "dm_dumpling_exit_with_error_count",
            ExitUnit::Load => "dm_loader_exit_with_error_count",
            ExitUnit::Sync => "dm_syncer_exit_with_error_count",
        }
    }

    /// The counter a run of `unit` that failed with `error` counts in: the full phase's
    /// errors of the upstream are the dump's (DM's dumpling), the others the load's.
    pub fn of(unit: Unit, error: &TaskError) -> Self {
        match unit {
            Unit::Sync => ExitUnit::Sync,
            Unit::Dump => ExitUnit::Dump,
            Unit::Check | Unit::Load => match error {
                TaskError::Connect {
                    side: Side::Upstream,
                    ..
                }
                | TaskError::Sql {
                    side: Side::Upstream,
                    ..
                } => ExitUnit::Dump,
                _ => ExitUnit::Load,
            },
        }
    }
}

fn exit_labels(task: &str, source: &str, resumable: bool) -> super::Labels {
    let mut l = super::task_labels(task, source);
    l.push(("resumable_err", resumable.to_string()));
    l
}

/// An operation the worker failed to carry out, as DM's `dm_worker_operate_error{type}` names
/// it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Creating and starting a task's subtasks (`start-task`): DM's `BeforeAnyOp`.
    Start,
    /// `pause-task`: `Pause`.
    Pause,
    /// `resume-task`: `Resume`.
    Resume,
    /// `stop-task` (the subtask is deleted): `Delete`.
    Stop,
    /// `start-relay` / `stop-relay`: `RelaySource`.
    Relay,
}

impl Operation {
    /// DM's `type` label.
    pub fn label(self) -> &'static str {
        match self {
            Operation::Start => "BeforeAnyOp",
            Operation::Pause => "Pause",
            Operation::Resume => "Resume",
            Operation::Stop => "Delete",
            Operation::Relay => "RelaySource",
        }
    }
}

/// The worker failed to carry out `op` (counted in `dm_worker_operate_error`).
pub fn operate_error(op: Operation) {
    let l = [
        ("worker", WORKER.to_string()),
        ("type", op.label().to_string()),
    ];
    ::metrics::counter!("dm_worker_operate_error", &l).increment(1);
}

/// A subtask starts: its exit counters exist from now on (at 0), as in DM.
pub fn subtask_started(task: &str, source: &str) {
    for unit in [ExitUnit::Dump, ExitUnit::Load, ExitUnit::Sync] {
        for resumable in [false, true] {
            ::metrics::counter!(unit.series(), &exit_labels(task, source, resumable)).increment(0);
        }
    }
}

/// A run of a subtask ended with an error of `unit`; `resumable` when the error policy
/// retries it.
pub fn exit_with_error(unit: ExitUnit, task: &str, source: &str, resumable: bool) {
    ::metrics::counter!(unit.series(), &exit_labels(task, source, resumable)).increment(1);
}

/// Sets `dm_worker_task_state` of a subtask.
pub fn publish_state(task: &str, source: &str, stage: Stage) {
    let labels = [
        ("task", task.to_string()),
        ("source_id", source.to_string()),
        ("worker", WORKER.to_string()),
    ];
    ::metrics::gauge!("dm_worker_task_state", &labels).set(stage_code(stage));
}

pub(super) fn describe() {
    ::metrics::describe_gauge!(
        "dm_worker_task_state",
        "state of task, 0 - invalidStage, 1 - New, 2 - Running, 3 - Paused, 4 - Stopped, 5 - Finished"
    );
    ::metrics::describe_counter!(
        "dm_worker_operate_error",
        "number of different operate error (operations on subtasks and relay logs that failed)"
    );
    ::metrics::describe_counter!(
        "dm_syncer_exit_with_error_count",
        "counter for syncer exits with error"
    );
    ::metrics::describe_counter!(
        "dm_loader_exit_with_error_count",
        "counter for loader exits with error (full phase: errors of the downstream or of ferryd)"
    );
    ::metrics::describe_counter!(
        "dm_dumpling_exit_with_error_count",
        "counter for dumpling exits with error (full phase: errors of the upstream)"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_indexes_and_stage_codes_are_dms() {
        assert_eq!(file_index("mysql-bin.000042"), 42.0);
        assert_eq!(file_index("mysql-bin-changelog.003001"), 3001.0);
        assert_eq!(file_index("odd"), 0.0);
        assert_eq!(stage_code(Stage::Paused), 3.0);
    }

    #[test]
    fn operations_are_named_as_dm_does() {
        let labels: Vec<&str> = [
            Operation::Start,
            Operation::Pause,
            Operation::Resume,
            Operation::Stop,
            Operation::Relay,
        ]
        .iter()
        .map(|o| o.label())
        .collect();
        assert_eq!(
            labels,
            ["BeforeAnyOp", "Pause", "Resume", "Delete", "RelaySource"]
        );
        operate_error(Operation::Pause);
    }

    #[test]
    fn full_phase_errors_of_the_upstream_are_the_dumps() {
        let up = TaskError::Connect {
            side: Side::Upstream,
            addr: "u:1".into(),
            source: mysql_async::Error::Other("x".into()),
        };
        let down = TaskError::Connect {
            side: Side::Downstream,
            addr: "d:1".into(),
            source: mysql_async::Error::Other("x".into()),
        };
        assert_eq!(ExitUnit::of(Unit::Load, &up), ExitUnit::Dump);
        assert_eq!(ExitUnit::of(Unit::Load, &down), ExitUnit::Load);
        assert_eq!(ExitUnit::of(Unit::Sync, &up), ExitUnit::Sync);
        assert_eq!(
            ExitUnit::of(Unit::Load, &TaskError::Cancelled),
            ExitUnit::Load
        );
    }
}
