//! DM's `dm_syncer_*` series: the Sync unit of a subtask.
//!
//! Handles are built once per run of the Sync unit ([`SyncerMetrics`], held by its stages) and
//! per writer ([`WriterMetrics`], with a small cache of the per-table job counters), so the
//! apply path records once per reader message, share or batch and never builds labels per
//! row. Positions, lag and remaining time are set from the subtask's live state when
//! `/metrics` is scraped ([`publish`]). `docs/monitoring.md` maps each series to DM's.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ::metrics::{Counter, Histogram};
use ferry_model::{BinlogPosition, Stage, TableName, Unit};

use super::probe::Level;
use super::{exponential, linear, task_labels, Labels, WORKER};
use crate::bulk::BulkProgress;
use crate::fx_hash::FxBuild;
use crate::sync::{RowOp, SyncStatus};

/// DM's buckets of a duration in seconds: 5 µs × 2^0..24.
fn duration_buckets() -> Vec<f64> {
    exponential(0.000005, 2.0, 25)
}

pub(super) fn buckets() -> Vec<(&'static str, Vec<f64>)> {
    vec![
        ("dm_syncer_read_binlog_duration", duration_buckets()),
        ("dm_syncer_binlog_event_size", exponential(16.0, 2.0, 20)),
        ("dm_syncer_binlog_event_row", linear(0.0, 100.0, 101)),
        ("dm_syncer_conflict_detect_duration", duration_buckets()),
        ("dm_syncer_add_job_duration", duration_buckets()),
        ("dm_syncer_txn_duration_time", duration_buckets()),
        ("dm_syncer_query_duration_time", duration_buckets()),
        ("dm_syncer_stmt_duration_time", duration_buckets()),
        ("dm_syncer_replication_lag", exponential(0.5, 2.0, 12)),
        (
            "dm_syncer_replication_transaction_batch",
            linear(1.0, 50.0, 21),
        ),
        (
            "dm_syncer_flush_checkpoints_time_interval",
            linear(1.0, 50.0, 21),
        ),
    ]
}

/// `task`, `worker`, `source_id`.
fn worker_labels(task: &str, source: &str) -> Labels {
    vec![
        ("task", task.to_string()),
        ("worker", WORKER.to_string()),
        ("source_id", source.to_string()),
    ]
}

/// The handles of one run of a subtask's Sync unit, shared by its stages.
#[derive(Debug)]
pub struct SyncerMetrics {
    task: String,
    source: String,
    /// Read time of a binlog event (the mean of a reader message's events).
    pub read_binlog_duration: Histogram,
    /// Size of a binlog event (the mean of a reader message's events).
    pub binlog_event_size: Histogram,
    /// Rows of a row event (the mean of a reader message's row events).
    pub binlog_event_row: Histogram,
    /// Time to split a batch between the writers by causality.
    pub conflict_detect_duration: Histogram,
    /// Time to hand a share to a writer's mailbox, per writer.
    add_job_duration: Vec<Histogram>,
    /// Replication lag when a batch is committed.
    pub replication_lag: Histogram,
    /// Upstream transactions committed downstream.
    pub finished_transaction_total: Counter,
    /// Time to apply a DDL downstream.
    pub query_duration_time: Histogram,
    /// Time between two progress records.
    pub flush_checkpoints_time_interval: Histogram,
    /// Row changes handed to each writer and not yet committed (DM's DML queues).
    queue_size: Vec<Level>,
    /// Row changes committed downstream (Ferry's `ferry_sync_rows_total`).
    pub rows_total: Counter,
    /// Table versions stored in the schema history.
    pub schema_history_versions: Level,
    /// Tables defined in the schema history.
    pub schema_history_tables: Level,
    /// DM's per-event stage timings and ideal QPS.
    pub stages: super::stages::StageMetrics,
}

impl SyncerMetrics {
    /// The handles of `task` / `source` with `writers` writers.
    pub fn new(task: &str, source: &str, writers: usize) -> Arc<Self> {
        let ts = task_labels(task, source);
        let tws = worker_labels(task, source);
        let queue = |w: usize| {
            let mut l = ts.clone();
            l.push(("queue_id", w.to_string()));
            let level = Level::named("dm_syncer_queue_size", &l);
            level.set(0.0);
            level
        };
        let add_job = |w: usize| {
            let mut l = ts.clone();
            l.push(("type", "dml".to_string()));
            l.push(("queueNo", w.to_string()));
            ::metrics::histogram!("dm_syncer_add_job_duration", &l)
        };
        let writers = writers.max(1);
        Arc::new(Self {
            task: task.to_string(),
            source: source.to_string(),
            read_binlog_duration: ::metrics::histogram!("dm_syncer_read_binlog_duration", &ts),
            binlog_event_size: ::metrics::histogram!("dm_syncer_binlog_event_size", &tws),
            binlog_event_row: ::metrics::histogram!("dm_syncer_binlog_event_row", &tws),
            conflict_detect_duration: ::metrics::histogram!(
                "dm_syncer_conflict_detect_duration",
                &ts
            ),
            add_job_duration: (0..writers).map(add_job).collect(),
            replication_lag: ::metrics::histogram!("dm_syncer_replication_lag", &tws),
            finished_transaction_total: ::metrics::counter!(
                "dm_syncer_finished_transaction_total",
                &tws
            ),
            query_duration_time: ::metrics::histogram!("dm_syncer_query_duration_time", &tws),
            flush_checkpoints_time_interval: ::metrics::histogram!(
                "dm_syncer_flush_checkpoints_time_interval",
                &tws
            ),
            queue_size: (0..writers).map(queue).collect(),
            rows_total: ::metrics::counter!(
                "ferry_sync_rows_total",
                "task" => task.to_string(),
                "source" => source.to_string()
            ),
            schema_history_versions: Level::named("ferry_schema_history_versions", &ts),
            schema_history_tables: Level::named("ferry_schema_history_tables", &ts),
            stages: super::stages::StageMetrics::new(task, source),
        })
    }

    /// Handles that record nowhere (unit tests).
    pub fn noop() -> Arc<Self> {
        Arc::new(Self {
            task: String::new(),
            source: String::new(),
            read_binlog_duration: Histogram::noop(),
            binlog_event_size: Histogram::noop(),
            binlog_event_row: Histogram::noop(),
            conflict_detect_duration: Histogram::noop(),
            add_job_duration: Vec::new(),
            replication_lag: Histogram::noop(),
            finished_transaction_total: Counter::noop(),
            query_duration_time: Histogram::noop(),
            flush_checkpoints_time_interval: Histogram::noop(),
            queue_size: Vec::new(),
            rows_total: Counter::noop(),
            schema_history_versions: Level::new(::metrics::Gauge::noop()),
            schema_history_tables: Level::new(::metrics::Gauge::noop()),
            stages: super::stages::StageMetrics::noop(),
        })
    }

    /// A share of `rows` changes was handed to writer `w` in `took`.
    pub fn job_added(&self, w: usize, rows: usize, took: Duration) {
        if let Some(h) = self.add_job_duration.get(w) {
            h.record(took.as_secs_f64());
        }
        if let Some(q) = self.queue_size.get(w) {
            q.add(rows as f64);
        }
    }

    /// Writer `w` committed (or gave up) a share of `rows` changes.
    pub fn job_done(&self, w: usize, rows: usize) {
        if let Some(q) = self.queue_size.get(w) {
            q.add(-(rows as f64));
        }
    }

    /// The handles of writer `w`.
    pub fn writer(&self, w: usize) -> WriterMetrics {
        WriterMetrics::new(&self.task, &self.source, w)
    }
}

/// DM's job type of a row change (`type` label of the job counters).
fn job_type(op: &RowOp) -> &'static str {
    match (&op.change.before, &op.change.after) {
        (None, _) => "insert",
        (Some(_), None) => "delete",
        (Some(_), Some(_)) => "update",
    }
}

/// The handles of one writer: its transactions, statements and the job counters of the tables
/// it wrote (built at the first share of each table and kind, then reused).
#[derive(Debug)]
pub struct WriterMetrics {
    task: String,
    source: String,
    queue: String,
    txn_duration_time: Histogram,
    stmt: Histogram,
    rollback: Histogram,
    transaction_batch: Histogram,
    jobs: HashMap<(TableName, &'static str), (Counter, Counter), FxBuild>,
}

impl WriterMetrics {
    fn new(task: &str, source: &str, w: usize) -> Self {
        let tws = worker_labels(task, source);
        let stmt = |kind: &str| {
            let l = [("type", kind.to_string()), ("task", task.to_string())];
            ::metrics::histogram!("dm_syncer_stmt_duration_time", &l)
        };
        let mut batch = tws.clone();
        batch.push(("queueNo", w.to_string()));
        batch.push(("type", "dml".to_string()));
        Self {
            task: task.to_string(),
            source: source.to_string(),
            queue: w.to_string(),
            txn_duration_time: ::metrics::histogram!("dm_syncer_txn_duration_time", &tws),
            stmt: stmt("stmt"),
            rollback: stmt("rollback"),
            transaction_batch: ::metrics::histogram!(
                "dm_syncer_replication_transaction_batch",
                &batch
            ),
            jobs: HashMap::default(),
        }
    }

    /// Handles that record nowhere (unit tests).
    pub fn noop() -> Self {
        Self {
            task: String::new(),
            source: String::new(),
            queue: String::new(),
            txn_duration_time: Histogram::noop(),
            stmt: Histogram::noop(),
            rollback: Histogram::noop(),
            transaction_batch: Histogram::noop(),
            jobs: HashMap::default(),
        }
    }

    fn job_counters(&mut self, table: &TableName, kind: &'static str) -> &(Counter, Counter) {
        if !self.jobs.contains_key(&(table.clone(), kind)) {
            let l = [
                ("type", kind.to_string()),
                ("task", self.task.clone()),
                ("queueNo", self.queue.clone()),
                ("source_id", self.source.clone()),
                ("worker", WORKER.to_string()),
                ("target_schema", table.schema.clone()),
                ("target_table", table.table.clone()),
            ];
            let added = ::metrics::counter!("dm_syncer_added_jobs_total", &l);
            let finished = ::metrics::counter!("dm_syncer_finished_jobs_total", &l);
            self.jobs.insert((table.clone(), kind), (added, finished));
        }
        // Inserted just above when missing.
        &self.jobs[&(table.clone(), kind)]
    }

    /// Counts changes by target table and type: (table, type, changes), in first-seen order.
    fn tally<'t>(
        changes: impl Iterator<Item = (&'t TableName, &'static str)>,
    ) -> Vec<(&'t TableName, &'static str, u64)> {
        let mut out: Vec<(&TableName, &'static str, u64)> = Vec::new();
        for (t, k) in changes {
            // By address: the ops of one table share its `TargetInfo`, and two entries for one
            // table (were they not to) add to the same counters anyway.
            match out
                .iter_mut()
                .find(|(tt, kk, _)| std::ptr::eq(*tt, t) && std::ptr::eq(*kk, k))
            {
                Some(e) => e.2 += 1,
                None => out.push((t, k, 1)),
            }
        }
        out
    }

    /// A share of `ops` was received (`added`) and then committed downstream or not
    /// (`finished`), with `statements` statements sent in `packets` round trips over `took`.
    pub fn share(&mut self, ops: &[RowOp], statements: usize, took: Duration, committed: bool) {
        let tally = Self::tally(ops.iter().map(|op| (op.target.table.name(), job_type(op))));
        for (t, k, n) in tally {
            let (added, finished) = self.job_counters(t, k);
            added.increment(n);
            if committed {
                finished.increment(n);
            }
        }
        if committed {
            self.txn_duration_time.record(took.as_secs_f64());
            self.transaction_batch.record(statements as f64);
        }
    }

    /// A multi-statement packet of the transaction took `took`.
    pub fn packet(&self, took: Duration) {
        self.stmt.record(took.as_secs_f64());
    }

    /// A rollback took `took`.
    pub fn rolled_back(&self, took: Duration) {
        self.rollback.record(took.as_secs_f64());
    }
}

/// Bytes of binlog from `from` to `to` given the upstream's files and sizes (`SHOW BINARY
/// LOGS`), or `None` when a file is not listed.
pub fn binlog_bytes_between(
    files: &[(String, u64)],
    from: &BinlogPosition,
    to: &BinlogPosition,
) -> Option<u64> {
    if from.name == to.name {
        return Some(to.pos.saturating_sub(from.pos));
    }
    if from > to {
        return Some(0);
    }
    let i = files.iter().position(|(n, _)| *n == from.name)?;
    let j = files.iter().position(|(n, _)| *n == to.name)?;
    let mut total = files[i].1.saturating_sub(from.pos);
    total += files[i + 1..j].iter().map(|(_, s)| s).sum::<u64>();
    Some(total + to.pos)
}

/// The remaining-time estimate of a subtask: the bytes of binlog the syncer is behind, over
/// the rate at which it went through the binlog between two scrapes.
#[derive(Debug, Default)]
pub struct Remaining {
    last: Option<(Instant, BinlogPosition)>,
    /// Bytes per second (moving average).
    rate: f64,
}

impl Remaining {
    /// Seconds to catch up, from the syncer's position `at`, the bytes it is behind and the
    /// upstream's files; `None` while no rate is known and something remains.
    pub fn update(
        &mut self,
        now: Instant,
        at: &BinlogPosition,
        behind: u64,
        files: &[(String, u64)],
    ) -> Option<f64> {
        if let Some((t, p)) = &self.last {
            let secs = now.duration_since(*t).as_secs_f64();
            if secs >= 1.0 {
                if let Some(moved) = binlog_bytes_between(files, p, at) {
                    let r = moved as f64 / secs;
                    self.rate = if self.rate == 0.0 {
                        r
                    } else {
                        0.7 * self.rate + 0.3 * r
                    };
                }
                self.last = Some((now, at.clone()));
            }
        } else {
            self.last = Some((now, at.clone()));
        }
        match (behind, self.rate) {
            (0, _) => Some(0.0),
            (_, r) if r > 0.0 => Some(behind as f64 / r),
            _ => None,
        }
    }
}

fn position(node: &'static str, task: &str, source: &str, pos: &BinlogPosition) {
    let labels = [
        ("node", node.to_string()),
        ("task", task.to_string()),
        ("source_id", source.to_string()),
    ];
    ::metrics::gauge!("dm_syncer_binlog_file", &labels).set(super::file_index(&pos.name));
    ::metrics::gauge!("dm_syncer_binlog_pos", &labels).set(pos.pos as f64);
}

/// Sets the gauges of one subtask from its live state (at each scrape).
pub fn publish(
    task: &str,
    source: &str,
    stage: Stage,
    unit: Unit,
    sync: &SyncStatus,
    bulk: &BulkProgress,
) {
    super::worker::publish_state(task, source, stage);
    super::loader::publish(task, source, bulk);
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
    let tws = worker_labels(task, source);
    ::metrics::gauge!("dm_syncer_replication_lag_gauge", &tws).set(sync.seconds_behind() as f64);
    if let Some(secs) = sync.remaining_seconds() {
        ::metrics::gauge!("dm_syncer_remaining_time", &tws).set(secs);
    }
}

pub(super) fn describe() {
    use ::metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_histogram!(
        "dm_syncer_read_binlog_duration",
        "bucketed histogram of read time (s) for single binlog event from the relay log or master (observed once per reader message: the mean of its events)"
    );
    describe_histogram!(
        "dm_syncer_binlog_event_size",
        "size of a binlog event (observed once per reader message: the mean of its events)"
    );
    describe_histogram!(
        "dm_syncer_binlog_event_row",
        "number of rows in a binlog event (observed once per reader message: the mean of its row events)"
    );
    describe_histogram!(
        "dm_syncer_conflict_detect_duration",
        "bucketed histogram of conflict detect time (s): splitting one batch between the writers by causality keys"
    );
    describe_histogram!(
        "dm_syncer_add_job_duration",
        "bucketed histogram of add a job to the queue time (s): handing a share of a batch to a writer's mailbox"
    );
    describe_counter!(
        "dm_syncer_added_jobs_total",
        "total number of added jobs (row changes handed to a writer)"
    );
    describe_counter!(
        "dm_syncer_finished_jobs_total",
        "total number of finished jobs (row changes committed downstream)"
    );
    describe_gauge!(
        "dm_syncer_queue_size",
        "remain size of the DML queue (row changes handed to the writer and not yet committed)"
    );
    describe_gauge!("dm_syncer_binlog_file", "current binlog file index");
    describe_gauge!("dm_syncer_binlog_pos", "current binlog pos");
    describe_histogram!(
        "dm_syncer_txn_duration_time",
        "Bucketed histogram of processing time (s) of a txn (one writer's share of a batch)."
    );
    describe_histogram!(
        "dm_syncer_query_duration_time",
        "Bucketed histogram of query time (s) (a DDL statement applied downstream)."
    );
    describe_histogram!(
        "dm_syncer_stmt_duration_time",
        "Bucketed histogram of every statement query time (s) (stmt: one multi-statement packet; rollback)."
    );
    describe_gauge!(
        "dm_syncer_replication_lag_gauge",
        "replication lag gauge in second between mysql and syncer"
    );
    describe_histogram!(
        "dm_syncer_replication_lag",
        "replication lag histogram in second between mysql and syncer (observed at each committed batch)"
    );
    describe_gauge!(
        "dm_syncer_remaining_time",
        "the remaining time in second to catch up master"
    );
    describe_counter!(
        "dm_syncer_finished_transaction_total",
        "total number of finished transaction"
    );
    describe_histogram!(
        "dm_syncer_replication_transaction_batch",
        "number of sql's contained in a transaction that executed to downstream"
    );
    describe_histogram!(
        "dm_syncer_flush_checkpoints_time_interval",
        "checkpoint flushed time interval in seconds"
    );
    describe_counter!(
        "ferry_sync_rows_total",
        "row changes committed downstream by the Sync unit"
    );
    describe_gauge!(
        "ferry_schema_history_versions",
        "table definitions (versions) stored in the schema history of a subtask"
    );
    describe_gauge!(
        "ferry_schema_history_tables",
        "tables defined in the schema history of a subtask at the syncer's position"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, pos: u64) -> BinlogPosition {
        BinlogPosition::new(name, pos).unwrap()
    }

    #[test]
    fn bytes_between_positions_span_files() {
        let files = vec![
            ("b.000001".to_string(), 1000),
            ("b.000002".to_string(), 500),
            ("b.000003".to_string(), 300),
        ];
        assert_eq!(
            binlog_bytes_between(&files, &p("b.000001", 100), &p("b.000001", 400)),
            Some(300)
        );
        assert_eq!(
            binlog_bytes_between(&files, &p("b.000001", 900), &p("b.000003", 50)),
            Some(100 + 500 + 50)
        );
        assert_eq!(
            binlog_bytes_between(&files, &p("b.000003", 50), &p("b.000001", 900)),
            Some(0)
        );
        assert_eq!(
            binlog_bytes_between(&[], &p("b.000001", 900), &p("b.000003", 50)),
            None
        );
    }

    #[test]
    fn remaining_time_is_the_backlog_over_the_rate() {
        let files = vec![("b.000001".to_string(), 100_000)];
        let t0 = Instant::now();
        let mut r = Remaining::default();
        assert_eq!(r.update(t0, &p("b.000001", 1000), 0, &files), Some(0.0));
        assert_eq!(r.update(t0, &p("b.000001", 1000), 500, &files), None);
        let t1 = t0 + Duration::from_secs(2);
        // 2000 bytes in 2 s: 1000 B/s; 5000 behind: 5 s.
        assert_eq!(r.update(t1, &p("b.000001", 3000), 5000, &files), Some(5.0));
    }

    #[test]
    fn shares_count_jobs_by_table_and_type() {
        let a = TableName::new("d", "a");
        let b = TableName::new("d", "b");
        // Each kind from one place, as job_type gives them.
        let (ins, upd, del) = ("insert", "update", "delete");
        let changes = [
            (&a, ins),
            (&a, ins),
            (&b, ins),
            (&a, upd),
            (&a, del),
            (&b, ins),
        ];
        let tally = WriterMetrics::tally(changes.into_iter());
        let got: Vec<_> = tally
            .iter()
            .map(|(t, k, n)| (t.table.as_str(), *k, *n))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a", "insert", 2),
                ("b", "insert", 2),
                ("a", "update", 1),
                ("a", "delete", 1)
            ]
        );
    }
}
