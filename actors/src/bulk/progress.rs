//! Live progress of a full phase, shared between its workers and `query-status`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use ferry_model::{Location, TableName};

use crate::dm_status::{DumpStatus, LoadStatus};

/// Counters updated by dumpers and loaders; read by status queries.
#[derive(Debug, Default)]
pub struct BulkProgress {
    /// Rows read from the upstream in this run (including chunks later rolled back).
    pub dumped_rows: AtomicU64,
    /// Bytes produced for the downstream in this run.
    pub dumped_bytes: AtomicU64,
    /// Rows committed downstream (all runs of the task).
    pub loaded_rows: AtomicU64,
    /// Bytes committed downstream (all runs of the task).
    pub loaded_bytes: AtomicU64,
    /// Estimated rows of all selected tables.
    pub est_total_rows: AtomicU64,
    /// Chunks in the plan.
    pub total_chunks: AtomicU64,
    /// Chunks committed.
    pub done_chunks: AtomicU64,
    tables: Mutex<HashMap<TableName, (u32, u32)>>,
    /// When this run started, and the rows/bytes already committed by earlier runs.
    started: Mutex<Option<(Instant, u64, u64)>>,
    finished: Mutex<Option<Instant>>,
    start: Mutex<Option<Location>>,
}

impl BulkProgress {
    /// Records the plan: chunks per table `(total, committed)`, the estimated rows still to
    /// copy, and the rows and bytes committed by earlier runs.
    pub fn set_plan(
        &self,
        per_table: HashMap<TableName, (u32, u32)>,
        est_rows: u64,
        done_rows: u64,
        done_bytes: u64,
    ) {
        self.loaded_rows.store(done_rows, Ordering::Relaxed);
        self.loaded_bytes.store(done_bytes, Ordering::Relaxed);
        let total: u32 = per_table.values().map(|(t, _)| *t).sum();
        let done: u32 = per_table.values().map(|(_, d)| *d).sum();
        self.total_chunks.store(u64::from(total), Ordering::Relaxed);
        self.done_chunks.store(u64::from(done), Ordering::Relaxed);
        self.est_total_rows.store(est_rows, Ordering::Relaxed);
        *self.tables.lock().unwrap_or_else(|e| e.into_inner()) = per_table;
        *self.started.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), done_rows, done_bytes));
    }

    /// Records the full phase's start position as soon as it is known.
    pub fn set_start(&self, at: Location) {
        *self.start.lock().unwrap_or_else(|e| e.into_inner()) = Some(at);
    }

    /// The start position, once known.
    pub fn start(&self) -> Option<Location> {
        self.start.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Freezes the rates at the end of the run.
    pub fn finish(&self) {
        *self.finished.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }

    /// Records a committed chunk.
    pub fn chunk_committed(&self, table: &TableName, rows: u64, bytes: u64) {
        self.loaded_rows.fetch_add(rows, Ordering::Relaxed);
        self.loaded_bytes.fetch_add(bytes, Ordering::Relaxed);
        self.done_chunks.fetch_add(1, Ordering::Relaxed);
        if let Some(e) = self
            .tables
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(table)
        {
            e.1 += 1;
        }
    }

    /// DM-shaped `dump` and `load` status objects.
    pub fn status(
        &self,
        meta_binlog: Option<String>,
        meta_gtid: Option<String>,
    ) -> (DumpStatus, LoadStatus) {
        let tables = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        let total_tables = tables.len();
        let completed = tables.values().filter(|(t, d)| d >= t).count();
        drop(tables);
        let end = *self.finished.lock().unwrap_or_else(|e| e.into_inner());
        let (elapsed, base_rows, base_bytes) = self
            .started
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map(|(t, r, b)| {
                let until = end.unwrap_or_else(Instant::now);
                (until.saturating_duration_since(t).as_secs_f64(), r, b)
            })
            .unwrap_or((0.0, 0, 0));
        let dumped_bytes = self.dumped_bytes.load(Ordering::Relaxed);
        let dumped_rows = self.dumped_rows.load(Ordering::Relaxed);
        let loaded_bytes = self.loaded_bytes.load(Ordering::Relaxed);
        let loaded_rows = self.loaded_rows.load(Ordering::Relaxed);
        let est_rows = self.est_total_rows.load(Ordering::Relaxed);
        let total = self.total_chunks.load(Ordering::Relaxed);
        let done = self.done_chunks.load(Ordering::Relaxed);
        let rate = |b: u64| {
            if elapsed > 0.0 {
                (b as f64 / elapsed) as u64
            } else {
                0
            }
        };
        let pct = if total == 0 {
            0.0
        } else {
            100.0 * done as f64 / total as f64
        };
        // Bytes still to load, extrapolated from the committed chunks.
        let total_bytes = if done == 0 {
            0
        } else {
            (loaded_bytes as f64 * total as f64 / done as f64) as u64
        };
        let rows_rate = if elapsed > 0.0 {
            (loaded_rows.saturating_sub(base_rows) as f64 / elapsed) as u64
        } else {
            0
        };
        let dump_pct = if est_rows == 0 {
            pct
        } else {
            (100.0 * dumped_rows as f64 / est_rows as f64).min(100.0)
        };
        let dump = DumpStatus {
            total_tables: total_tables as u64,
            completed_tables: completed as u64,
            finished_bytes: dumped_bytes,
            finished_rows: dumped_rows,
            estimate_total_rows: est_rows,
            bps: rate(dumped_bytes),
            progress: format!("{dump_pct:.2} %"),
        };
        let load = LoadStatus {
            finished_bytes: loaded_bytes,
            total_bytes: total_bytes.max(loaded_bytes),
            finished_rows: loaded_rows,
            total_chunks: total,
            finished_chunks: done,
            progress: format!("{pct:.2} %"),
            meta_binlog: meta_binlog.unwrap_or_default(),
            meta_binlog_gtid: meta_gtid.unwrap_or_default(),
            bps: rate(loaded_bytes.saturating_sub(base_bytes)),
            rps: rows_rate,
        };
        (dump, load)
    }
}
