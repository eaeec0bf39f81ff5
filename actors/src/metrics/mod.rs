//! The Prometheus series of ferryd: DM's worker-side series (`dm_worker_*`, `dm_syncer_*`,
//! `dm_relay_*`, `dm_loader_*`, `dm_dumpling_*`) with DM's names, labels and meaning, so that
//! DM's Grafana dashboards and alert rules work on ferryd's `/metrics`, and Ferry's own
//! (`ferry_*`) where DM has none. `docs/monitoring.md` lists every series and how it maps to
//! DM's.
//!
//! - [`worker`]: subtask state and the exit-with-error counters of the units;
//! - [`syncer`]: the Sync unit (positions, lag, jobs, transactions, queues);
//! - [`stages`]: DM's per-event stage timings (transform, dispatch, skip) and ideal QPS,
//!   kept per message or batch;
//! - [`relay`]: the relay log of a source;
//! - [`loader`]: the full phase (chunks);
//! - [`mailbox`]: depth and capacity of the mailboxes between stages;
//! - [`process`]: CPU and memory of ferryd;
//! - [`probe`]: values kept by the code and published as gauges when `/metrics` is scraped
//!   ([`publish`]), so a gauge's value is current at each scrape and the gauges of a stage
//!   that ended stop being refreshed (the recorder drops them after its idle timeout).
//!
//! Nothing here allocates per row: hot paths hold handles built once per stage
//! ([`::metrics::Counter`], [`::metrics::Histogram`]) and record once per message, share or
//! batch. [`describe`] gives every series its help text; [`histogram_buckets`] gives the
//! recorder DM's bucket layouts (without them it would render summaries, and DM's dashboards
//! use `histogram_quantile` over `_bucket`).

pub mod loader;
pub mod mailbox;
pub mod probe;
pub mod process;
pub mod relay;
pub mod stages;
pub mod syncer;
pub mod worker;

pub use probe::Level;
pub use worker::{file_index, stage_code, WORKER};

/// `count` buckets from `start`, each `factor` times the previous (Prometheus'
/// `ExponentialBuckets`).
pub fn exponential(start: f64, factor: f64, count: usize) -> Vec<f64> {
    std::iter::successors(Some(start), |b| Some(b * factor))
        .take(count)
        .collect()
}

/// `count` buckets from `start`, `width` apart (Prometheus' `LinearBuckets`).
pub fn linear(start: f64, width: f64, count: usize) -> Vec<f64> {
    (0..count).map(|i| start + width * i as f64).collect()
}

/// The bucket layout of every histogram ferryd records (DM's where DM has the series).
pub fn histogram_buckets() -> Vec<(&'static str, Vec<f64>)> {
    let mut all = syncer::buckets();
    all.extend(stages::buckets());
    all.extend(relay::buckets());
    all
}

/// Sets the gauges read at scrape time (call before rendering `/metrics`).
pub fn publish() {
    probe::publish();
    process::publish();
}

/// Registers the help text of every series.
pub fn describe() {
    process::describe();
    worker::describe();
    syncer::describe();
    stages::describe();
    relay::describe();
    loader::describe();
    mailbox::describe();
}

/// Labels as the `metrics` macros take them.
pub(crate) type Labels = Vec<(&'static str, String)>;

/// `task` and `source_id`.
pub(crate) fn task_labels(task: &str, source: &str) -> Labels {
    vec![
        ("task", task.to_string()),
        ("source_id", source.to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_layouts_are_prometheus_ones() {
        let e = exponential(0.000005, 2.0, 25);
        assert_eq!(e.len(), 25);
        assert_eq!(e[0], 0.000005);
        assert!((e[24] - 0.000005 * f64::powi(2.0, 24)).abs() < 1e-9);
        assert_eq!(linear(1.0, 50.0, 21).last(), Some(&1001.0));
        assert_eq!(exponential(0.5, 2.0, 12).last(), Some(&1024.0));
    }

    #[test]
    fn every_histogram_has_sorted_buckets_and_a_name_of_its_family() {
        for (name, b) in histogram_buckets() {
            assert!(
                name.starts_with("dm_") || name.starts_with("ferry_"),
                "{name}"
            );
            assert!(!b.is_empty(), "{name}");
            assert!(b.windows(2).all(|w| w[0] < w[1]), "{name}: {b:?}");
        }
    }
}
