//! DM's per-event stage series of the Sync unit, kept by Ferry's stages per message.
//!
//! | series | labels | meaning in ferryd |
//! |---|---|---|
//! | `dm_syncer_binlog_transform_cost` | stage, task, worker, source_id | `gen-write-rows` / `gen-update-rows` / `gen-delete-rows`: time to turn a row change into a change of its target (router stage + coordinator: target, columns, keys, batch), the mean of one message's changes of that kind; `gen-query`: a DDL's handling before it is applied (schema history, split); `dml-exec`: from a batch's hand-off to the writers to its commit; `ddl-exec`: applying a DDL |
//! | `dm_syncer_dispatch_binlog_duration` | type=`insert`\|`update`\|`delete`, task, source_id | time to hand a change to the writers (causality split and the sends of a batch), the mean of one batch's changes of that type |
//! | `dm_syncer_skip_binlog_duration` | type=`rows`, task, source_id | time to decide to drop a row change (filter stage: block-allow-list, event filters), the mean of the changes of a message that dropped some |
//! | `dm_syncer_ideal_qps` | task, worker, source_id | row changes per second the writers commit while a batch is in flight: the last batch's changes over the time from its hand-off to its commit |
//! | `dm_syncer_shard_lock_resolving` | task, source_id | 1 while waiting for a shard DDL lock: always 0 (no shard DDL coordination) |
//!
//! DM observes each binlog event; Ferry's stages work on messages of up to 512 items and
//! batches of thousands, so each stage reads the clock once per message (or batch) and records
//! the mean per change, once per kind present: nothing is done per row but counting kinds.

use std::time::Duration;

use ::metrics::Histogram;

use super::probe::Level;
use super::{exponential, task_labels, Labels, WORKER};
use crate::reader::RowsKind;

pub(super) fn buckets() -> Vec<(&'static str, Vec<f64>)> {
    let duration = exponential(0.000005, 2.0, 25);
    vec![
        ("dm_syncer_binlog_transform_cost", duration.clone()),
        ("dm_syncer_dispatch_binlog_duration", duration),
        // DM: "this should be very fast".
        (
            "dm_syncer_skip_binlog_duration",
            exponential(0.0000005, 2.0, 25),
        ),
    ]
}

/// Row changes of a message or batch by kind (insert, update, delete).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Kinds(pub [u64; 3]);

impl Kinds {
    /// Counts one change of `kind`.
    pub fn add(&mut self, kind: RowsKind) {
        self.0[match kind {
            RowsKind::Insert => 0,
            RowsKind::Update => 1,
            RowsKind::Delete => 2,
        }] += 1;
    }

    /// Changes counted.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

/// Records `took` spread over the changes counted in `kinds`: the mean per change, once into
/// the histogram of each kind present.
fn per_change(hs: &[Histogram; 3], took: Duration, kinds: &Kinds) {
    let n = kinds.total();
    if n == 0 {
        return;
    }
    let mean = took.as_secs_f64() / n as f64;
    for (h, k) in hs.iter().zip(kinds.0) {
        if k > 0 {
            h.record(mean);
        }
    }
}

/// The stage series of one run of a subtask's Sync unit.
#[derive(Debug)]
pub struct StageMetrics {
    /// `binlog_transform_cost{stage=gen-write-rows|gen-update-rows|gen-delete-rows}`.
    gen_rows: [Histogram; 3],
    /// `binlog_transform_cost{stage=gen-query}`.
    pub gen_query: Histogram,
    /// `binlog_transform_cost{stage=dml-exec}`.
    dml_exec: Histogram,
    /// `binlog_transform_cost{stage=ddl-exec}`.
    pub ddl_exec: Histogram,
    /// `dispatch_binlog_duration{type=insert|update|delete}`.
    dispatch: [Histogram; 3],
    /// `skip_binlog_duration{type=rows}`.
    skip_rows: Histogram,
    ideal_qps: Level,
    /// Held so that it is published at each scrape (always 0).
    _shard_lock_resolving: Level,
}

impl StageMetrics {
    /// The series of `task` / `source`.
    pub fn new(task: &str, source: &str) -> Self {
        let ts = task_labels(task, source);
        let with = |k: &'static str, v: &str| {
            let mut l: Labels = vec![(k, v.to_string())];
            l.extend(ts.iter().cloned());
            l
        };
        let cost = |stage: &str| {
            let mut l = with("stage", stage);
            l.push(("worker", WORKER.to_string()));
            ::metrics::histogram!("dm_syncer_binlog_transform_cost", &l)
        };
        let dispatch =
            |t: &str| ::metrics::histogram!("dm_syncer_dispatch_binlog_duration", &with("type", t));
        let ideal = Level::named(
            "dm_syncer_ideal_qps",
            &[
                ("task", task.to_string()),
                ("worker", WORKER.to_string()),
                ("source_id", source.to_string()),
            ],
        );
        ideal.set(0.0);
        let lock = Level::named("dm_syncer_shard_lock_resolving", &ts);
        lock.set(0.0);
        Self {
            gen_rows: [
                cost("gen-write-rows"),
                cost("gen-update-rows"),
                cost("gen-delete-rows"),
            ],
            gen_query: cost("gen-query"),
            dml_exec: cost("dml-exec"),
            ddl_exec: cost("ddl-exec"),
            dispatch: [dispatch("insert"), dispatch("update"), dispatch("delete")],
            skip_rows: ::metrics::histogram!(
                "dm_syncer_skip_binlog_duration",
                &with("type", "rows")
            ),
            ideal_qps: ideal,
            _shard_lock_resolving: lock,
        }
    }

    /// Handles that record nowhere (unit tests).
    pub fn noop() -> Self {
        let level = || Level::new(::metrics::Gauge::noop());
        Self {
            gen_rows: std::array::from_fn(|_| Histogram::noop()),
            gen_query: Histogram::noop(),
            dml_exec: Histogram::noop(),
            ddl_exec: Histogram::noop(),
            dispatch: std::array::from_fn(|_| Histogram::noop()),
            skip_rows: Histogram::noop(),
            ideal_qps: level(),
            _shard_lock_resolving: level(),
        }
    }

    /// The changes of `kinds` took `took` to transform (router and coordinator).
    pub fn transformed(&self, took: Duration, kinds: &Kinds) {
        per_change(&self.gen_rows, took, kinds);
    }

    /// A batch of the changes of `kinds` was handed to the writers in `took`.
    pub fn dispatched(&self, took: Duration, kinds: &Kinds) {
        per_change(&self.dispatch, took, kinds);
    }

    /// The filter stage decided on `rows` row changes in `took` and dropped `dropped` of them.
    pub fn filtered(&self, took: Duration, rows: usize, dropped: usize) {
        if dropped > 0 && rows > 0 {
            self.skip_rows.record(took.as_secs_f64() / rows as f64);
        }
    }

    /// A batch of `rows` changes was committed `took` after its hand-off to the writers.
    pub fn batch_committed(&self, rows: u64, took: Duration) {
        self.dml_exec.record(took.as_secs_f64());
        if let Some(qps) = ideal_qps(rows, took) {
            self.ideal_qps.set(qps);
        }
    }
}

/// Changes per second of a batch of `rows` committed in `took` (`None` for an empty batch).
pub fn ideal_qps(rows: u64, took: Duration) -> Option<f64> {
    let secs = took.as_secs_f64();
    (rows > 0 && secs > 0.0).then(|| rows as f64 / secs)
}

pub(super) fn describe() {
    use ::metrics::{describe_gauge, describe_histogram};
    describe_histogram!(
        "dm_syncer_binlog_transform_cost",
        "cost of binlog event transform (gen-*-rows: per row change, the mean of one message's changes; dml-exec: a batch from hand-off to commit; gen-query / ddl-exec: a DDL)"
    );
    describe_histogram!(
        "dm_syncer_dispatch_binlog_duration",
        "bucketed histogram of dispatch a binlog event time (s) (per row change, the mean of one batch's changes)"
    );
    describe_histogram!(
        "dm_syncer_skip_binlog_duration",
        "bucketed histogram of skip a binlog event time (s) (per row change, the mean of a filter message that dropped changes)"
    );
    describe_gauge!(
        "dm_syncer_ideal_qps",
        "the highest QPS that can be achieved ideally (row changes of the last batch over its time from hand-off to commit)"
    );
    describe_gauge!(
        "dm_syncer_shard_lock_resolving",
        "waiting shard DDL lock to be resolved (always 0: ferryd has no shard DDL coordination)"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_count_changes_and_qps_is_changes_over_time() {
        let mut k = Kinds::default();
        k.add(RowsKind::Insert);
        k.add(RowsKind::Insert);
        k.add(RowsKind::Delete);
        assert_eq!(k, Kinds([2, 0, 1]));
        assert_eq!(k.total(), 3);
        assert_eq!(ideal_qps(500, Duration::from_millis(250)), Some(2000.0));
        assert_eq!(ideal_qps(0, Duration::from_millis(250)), None);
        assert_eq!(ideal_qps(5, Duration::ZERO), None);
    }

    #[test]
    fn noop_handles_take_records() {
        let m = StageMetrics::noop();
        m.transformed(Duration::from_millis(1), &Kinds([1, 2, 0]));
        m.transformed(Duration::from_millis(1), &Kinds::default());
        m.dispatched(Duration::from_millis(1), &Kinds([0, 0, 4]));
        m.filtered(Duration::from_millis(1), 0, 0);
        m.batch_committed(10, Duration::from_millis(5));
    }
}
