//! The full phase (DM's dump and load units, streamed chunk by chunk in Ferry).
//!
//! DM's load progress comes from Lightning's series (`lightning_chunks{state}`); Ferry has its
//! own: the chunks of the plan and those committed ([`publish`], at each scrape), and the rows,
//! bytes and chunks committed (counted by the loaders as each chunk commits).

use std::sync::atomic::Ordering;

use crate::bulk::BulkProgress;

/// Sets the full-phase gauges of a subtask from its progress.
pub fn publish(task: &str, source: &str, bulk: &BulkProgress) {
    let gauge = |state: &str, v: u64| {
        let l = [
            ("task", task.to_string()),
            ("source_id", source.to_string()),
            ("state", state.to_string()),
        ];
        ::metrics::gauge!("ferry_full_chunks", &l).set(v as f64);
    };
    gauge("planned", bulk.total_chunks.load(Ordering::Relaxed));
    gauge("finished", bulk.done_chunks.load(Ordering::Relaxed));
}

/// A chunk of `rows` rows and `bytes` bytes was committed downstream.
pub fn chunk_committed(task: &str, source: &str, rows: u64, bytes: u64) {
    let labels = super::task_labels(task, source);
    ::metrics::counter!("ferry_load_rows_total", &labels).increment(rows);
    ::metrics::counter!("ferry_load_bytes_total", &labels).increment(bytes);
    ::metrics::counter!("ferry_load_chunks_total", &labels).increment(1);
}

pub(super) fn describe() {
    ::metrics::describe_gauge!(
        "ferry_full_chunks",
        "full-phase chunks of a subtask: state=planned (in the plan of the copy) or finished (committed downstream)"
    );
    ::metrics::describe_counter!(
        "ferry_load_rows_total",
        "rows committed downstream by the full phase"
    );
    ::metrics::describe_counter!(
        "ferry_load_bytes_total",
        "bytes committed downstream by the full phase"
    );
    ::metrics::describe_counter!(
        "ferry_load_chunks_total",
        "full-phase chunks committed downstream"
    );
}
