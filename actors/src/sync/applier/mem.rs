//! An in-memory [`Applier`] for the unit tests: target tables as a key → row map, progress
//! rows, atomic shares, and a failure plan that fails or crashes at chosen calls.
//!
//! The store stands for the downstream database: it outlives the runs of the Sync unit that a
//! test starts one after the other. It is strict: an insert onto an existing key, or an update
//! or delete whose before image is not the stored row, is a violation (a change applied twice,
//! skipped or out of order) and fails the share.

use std::collections::{BTreeMap, HashMap};

use ferry_model::TableName;

use super::Applier;
use crate::error::{Side, TaskError};
use crate::reader::RowValue;
use crate::sync::progress::{BatchMark, StoredRow};
use crate::sync::writer::RowOp;

/// What goes wrong at a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// An error before anything is committed (a transient one: the run stops, the other
    /// writers' shares go on).
    Transient,
    /// The process dies after the commit, before the caller sees it succeed.
    CrashAfterCommit,
    /// The process dies before the commit.
    CrashBeforeCommit,
}

impl Failure {
    /// Every kind.
    pub const ALL: [Failure; 3] = [
        Failure::Transient,
        Failure::CrashAfterCommit,
        Failure::CrashBeforeCommit,
    ];
}

/// A row of a target table: (table, key values).
pub type RowKey = (String, String);

/// The in-memory downstream.
#[derive(Debug, Default)]
pub struct MemApplier {
    rows: BTreeMap<RowKey, Vec<RowValue>>,
    progress: BTreeMap<usize, BatchMark>,
    /// Failures by call number (every call counts, across runs).
    plan: BTreeMap<u64, Failure>,
    calls: u64,
    /// The process died: every call fails until [`MemApplier::restart`].
    crashed: bool,
    /// Committed applications of each change, by [`identity`].
    applied: HashMap<String, usize>,
    violations: Vec<String>,
}

/// What identifies a change in the tests (their streams never repeat one).
pub fn identity(op: &RowOp) -> String {
    format!("{}: {:?}", op.target.table.name(), op.change)
}

/// The key of the row of `table` whose key columns hold `key`.
pub fn row_key(table: &TableName, key: &[&RowValue]) -> RowKey {
    (table.to_string(), format!("{key:?}"))
}

/// The key of a row image of `op`'s table.
fn key_of(op: &RowOp, image: &[RowValue]) -> RowKey {
    let key: Vec<&RowValue> = op.target.table.key().iter().map(|&k| &image[k]).collect();
    row_key(op.target.table.name(), &key)
}

/// Applies `op` to `rows` as the downstream would (`safe`: safe mode).
fn apply_op(
    rows: &mut BTreeMap<RowKey, Vec<RowValue>>,
    op: &RowOp,
    safe: bool,
) -> Result<(), String> {
    let c = &op.change;
    if let Some(before) = &c.before {
        let k = key_of(op, before);
        match rows.remove(&k) {
            Some(stored) if stored == *before => {}
            Some(stored) if !safe => return Err(format!("{k:?} holds {stored:?}, not {before:?}")),
            None if !safe => return Err(format!("{k:?} is missing, expected {before:?}")),
            _ => {}
        }
    }
    if let Some(after) = &c.after {
        let k = key_of(op, after);
        if rows.insert(k.clone(), after.clone()).is_some() && !safe {
            return Err(format!("duplicate entry {k:?}"));
        }
    }
    Ok(())
}

fn error(what: impl Into<String>) -> TaskError {
    TaskError::Sql {
        side: Side::Downstream,
        addr: "memory".into(),
        what: what.into(),
        source: mysql_async::Error::Driver(mysql_async::DriverError::ConnectionClosed),
    }
}

impl MemApplier {
    /// An empty store that fails as `plan` says (call numbers from 0).
    pub fn new(plan: impl IntoIterator<Item = (u64, Failure)>) -> Self {
        Self {
            plan: plan.into_iter().collect(),
            ..Self::default()
        }
    }

    /// A new process starts (after a crash or an error).
    pub fn restart(&mut self) {
        self.crashed = false;
    }

    /// No more failures: the plan is dropped.
    pub fn no_more_failures(&mut self) {
        self.plan.clear();
    }

    /// Calls so far (not counting those refused while the process is dead).
    pub fn calls(&self) -> u64 {
        self.calls
    }

    /// The target tables.
    pub fn rows(&self) -> &BTreeMap<RowKey, Vec<RowValue>> {
        &self.rows
    }

    /// Committed applications of each change.
    pub fn applied(&self) -> &HashMap<String, usize> {
        &self.applied
    }

    /// Changes refused as applied twice, skipped or out of order.
    pub fn violations(&self) -> &[String] {
        &self.violations
    }

    /// The progress rows.
    pub fn progress(&self) -> Vec<StoredRow> {
        self.progress
            .iter()
            .map(|(&worker, mark)| StoredRow {
                worker,
                mark: mark.clone(),
            })
            .collect()
    }

    /// Counts a call: fails when the process is dead or the plan says so before the commit;
    /// else returns what happens after it.
    fn call(&mut self, what: &str) -> Result<Option<Failure>, TaskError> {
        if self.crashed {
            return Err(error(format!("{what}: the process is dead")));
        }
        let n = self.calls;
        self.calls += 1;
        match self.plan.get(&n).copied() {
            Some(Failure::Transient) => Err(error(format!("{what}: injected error"))),
            Some(Failure::CrashBeforeCommit) => {
                self.crashed = true;
                Err(error(format!("{what}: crash before commit")))
            }
            other => Ok(other),
        }
    }

    /// After a commit: crashes if the plan says so.
    fn after_commit(&mut self, failure: Option<Failure>, what: &str) -> Result<(), TaskError> {
        if failure == Some(Failure::CrashAfterCommit) {
            self.crashed = true;
            return Err(error(format!("{what}: crash after commit")));
        }
        Ok(())
    }
}

impl Applier for MemApplier {
    async fn apply_share(
        &mut self,
        worker: usize,
        mark: &BatchMark,
        ops: &[RowOp],
        safe: bool,
    ) -> Result<(), TaskError> {
        let what = format!("batch {} writer {worker}", mark.batch);
        let failure = self.call(&what)?;
        let mut rows = self.rows.clone();
        for op in ops {
            if let Err(v) = apply_op(&mut rows, op, safe) {
                self.violations.push(format!("{what}: {v}"));
                return Err(TaskError::Blocked(format!("{what}: {v}")));
            }
        }
        self.rows = rows;
        self.progress.insert(worker, mark.clone());
        for op in ops {
            *self.applied.entry(identity(op)).or_default() += 1;
        }
        self.after_commit(failure, &what)
    }

    async fn record_empty(&mut self, workers: &[usize], mark: &BatchMark) -> Result<(), TaskError> {
        let what = format!("empty batch {}", mark.batch);
        let failure = self.call(&what)?;
        for &w in workers {
            self.progress.insert(w, mark.clone());
        }
        self.after_commit(failure, &what)
    }

    async fn stored(&mut self) -> Result<Vec<StoredRow>, TaskError> {
        let failure = self.call("reading progress")?;
        let rows = self.progress();
        self.after_commit(failure, "reading progress")?;
        Ok(rows)
    }
}
