//! DM's worker-side Prometheus series, with DM's names, labels and meaning, so that DM's
//! Grafana dashboards and alert rules work on ferryd's `/metrics`:
//!
//! | series | labels | meaning |
//! |---|---|---|
//! | `dm_worker_task_state` | task, source_id, worker | 1 New, 2 Running, 3 Paused, 4 Stopped, 5 Finished |
//! | `dm_syncer_binlog_file` | node (`master`, `syncer`), task, source_id | binlog file index (`mysql-bin.000042` → 42) |
//! | `dm_syncer_binlog_pos` | node, task, source_id | position in that file |
//! | `dm_syncer_replication_lag_gauge` | task, source_id, worker | seconds behind the upstream (`secondsBehindMaster`) |
//! | `dm_syncer_exit_with_error_count`, `dm_loader_exit_with_error_count` | task, source_id, resumable_err | runs of the Sync / Load unit that ended with an error (`true`: retried) |
//!
//! The gauges are set from each task's live state when `/metrics` is scraped
//! ([`publish_subtask`]); the counters when a run ends ([`exit_with_error`]).

use ferry_model::{BinlogPosition, Stage, Unit};

use crate::sync::SyncStatus;

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

fn position(node: &'static str, task: &str, source: &str, pos: &BinlogPosition) {
    let labels = [
        ("node", node.to_string()),
        ("task", task.to_string()),
        ("source_id", source.to_string()),
    ];
    metrics::gauge!("dm_syncer_binlog_file", &labels).set(file_index(&pos.name));
    metrics::gauge!("dm_syncer_binlog_pos", &labels).set(pos.pos as f64);
}

/// Sets the gauges of one subtask from its live state.
pub fn publish_subtask(task: &str, source: &str, stage: Stage, unit: Unit, sync: &SyncStatus) {
    let labels = [
        ("task", task.to_string()),
        ("source_id", source.to_string()),
        ("worker", WORKER.to_string()),
    ];
    metrics::gauge!("dm_worker_task_state", &labels).set(stage_code(stage));
    if unit != Unit::Sync {
        return;
    }
    let (master, syncer) = sync.positions();
    if let Some(m) = &master {
        position("master", task, source, m);
    }
    if let Some(s) = &syncer {
        position("syncer", task, source, s);
    }
    metrics::gauge!("dm_syncer_replication_lag_gauge", &labels).set(sync.seconds_behind() as f64);
}

/// A run of `unit` of a subtask ended with an error; `resumable` when the error policy
/// retries it.
pub fn exit_with_error(unit: Unit, task: &str, source: &str, resumable: bool) {
    let labels = [
        ("task", task.to_string()),
        ("source_id", source.to_string()),
        ("resumable_err", resumable.to_string()),
    ];
    match unit {
        Unit::Sync => metrics::counter!("dm_syncer_exit_with_error_count", &labels).increment(1),
        _ => metrics::counter!("dm_loader_exit_with_error_count", &labels).increment(1),
    }
}

/// Registers the help text of each series.
pub fn describe() {
    metrics::describe_gauge!(
        "dm_worker_task_state",
        "state of a subtask (1 New, 2 Running, 3 Paused, 4 Stopped, 5 Finished)"
    );
    metrics::describe_gauge!("dm_syncer_binlog_file", "current binlog file index");
    metrics::describe_gauge!("dm_syncer_binlog_pos", "current binlog pos");
    metrics::describe_gauge!(
        "dm_syncer_replication_lag_gauge",
        "replication lag gauge in second between mysql and syncer"
    );
    metrics::describe_counter!(
        "dm_syncer_exit_with_error_count",
        "counter for syncer exits with error"
    );
    metrics::describe_counter!(
        "dm_loader_exit_with_error_count",
        "counter for loader exits with error"
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
}
