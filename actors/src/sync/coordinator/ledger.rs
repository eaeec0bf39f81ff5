//! The batch ledger: every decision of the exactly-once protocol (DESIGN.md §4.4), as a pure
//! state machine.
//!
//! The ledger holds the batch being gathered (its changes and causality keys, where it starts
//! and ends), numbers the batches, knows the batch in flight and the last point written, and
//! keeps the partly applied batch being read again after a crash. It decides when a recovered
//! batch is complete, how a batch is split between the writers, which shares are sent and
//! what each progress row says. The coordinator does the I/O around it (writer tasks, the
//! progress of empty batches); the unit tests drive it with an in-memory sink that fails and
//! crashes at every step.
//!
//! The protocol: batch `k` is split by causality ([`assign`]) between `workers` writers; each
//! writer commits its share with its progress row `(k, start, end, workers)` in one
//! transaction; batch `k + 1` is sent only when every share of `k` is committed. A batch
//! without rows (after a DDL, over filtered traffic) is recorded for every writer at once.

use std::collections::BTreeSet;

use super::super::assign;
use super::super::point::SyncPoint;
use super::super::progress::{BatchMark, Resume};
use crate::causality::ChangeKeys;

/// Where a run of the Sync unit starts, decided from the progress rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::sync) struct Origin {
    /// Where reading starts.
    pub start: SyncPoint,
    /// Number of the first batch.
    pub batch_no: u64,
    /// A partly applied batch to complete first.
    pub recovery: Option<Recovery>,
}

impl Origin {
    /// A run without progress rows, from `start`.
    pub fn fresh(start: SyncPoint) -> Self {
        Self {
            start,
            batch_no: 1,
            recovery: None,
        }
    }

    /// The origin the progress rows say (`None` for [`Resume::Fresh`]): after the last batch
    /// when it is complete, else at its start, to read it again.
    pub fn resumed(resume: Resume) -> Option<Self> {
        match resume {
            Resume::Fresh => None,
            Resume::After { mark } => Some(Self {
                start: mark.end.clone(),
                batch_no: mark.batch + 1,
                recovery: None,
            }),
            Resume::Partial { mark, done } => Some(Self {
                start: mark.start.clone(),
                batch_no: mark.batch,
                recovery: Some(Recovery { mark, done }),
            }),
        }
    }
}

/// A partly applied batch being read again: it must end exactly at `mark.end`, and the
/// writers in `done` have committed their share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::sync) struct Recovery {
    /// The batch as its progress rows recorded it.
    pub mark: BatchMark,
    /// Writers whose share is committed.
    pub done: BTreeSet<usize>,
}

/// What the ledger refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(in crate::sync) enum LedgerError {
    /// The recovered batch's end was passed without being met.
    #[error(
        "re-reading batch {} ({} to {}): passed {} without meeting its end; the binlog \
         differs from when the batch was written",
        .0.mark.batch, .0.mark.start, .0.mark.end, .0.at
    )]
    PassedEnd(Box<Passed>),
    /// A statement came before the recovered batch's end.
    #[error(
        "re-reading the last batch: met a statement at {0} before the batch end; the binlog \
         differs from when the batch was written"
    )]
    StatementInRecovery(Box<SyncPoint>),
    /// A call out of protocol order (a bug of the caller).
    #[error("batch ledger: {0}")]
    OutOfOrder(&'static str),
}

/// Where the stream passed a recovered batch's end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::sync) struct Passed {
    /// The recovered batch.
    pub mark: BatchMark,
    /// Where the stream is.
    pub at: SyncPoint,
}

/// One writer's share of a dispatched batch.
#[derive(Debug)]
pub(in crate::sync) struct Share<O> {
    /// The writer the share belongs to (the progress row it is recorded in).
    pub worker: usize,
    /// The writer that applies it: `worker % writers` (a recovered batch may have been split
    /// between more writers than there are now).
    pub writer: usize,
    /// The changes, in batch order.
    pub ops: Vec<O>,
}

/// A batch to send to the writers.
#[derive(Debug)]
pub(in crate::sync) struct Dispatch<O> {
    /// What each share's progress row records.
    pub mark: BatchMark,
    /// Safe mode for every share.
    pub safe: bool,
    /// The shares to apply: non-empty, not yet committed, by writer.
    pub shares: Vec<Share<O>>,
}

/// A batch without rows to record for every writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::sync) struct EmptyMark {
    /// What the progress rows record.
    pub mark: BatchMark,
    /// The writers whose rows record it: all of them.
    pub workers: Vec<usize>,
}

/// The batch in flight.
#[derive(Debug)]
struct Flight {
    mark: BatchMark,
    rows: u64,
    first_ts: Option<u32>,
}

/// The batch ledger. `O` is a row change.
#[derive(Debug)]
pub(in crate::sync) struct Ledger<O> {
    ops: Vec<O>,
    keys: Vec<ChangeKeys>,
    start: SyncPoint,
    end: SyncPoint,
    /// Timestamp of the first event of the batch.
    first_ts: Option<u32>,
    /// Number of the batch being gathered.
    batch_no: u64,
    recovery: Option<Recovery>,
    in_flight: Option<Flight>,
    /// Last point recorded downstream.
    written: SyncPoint,
    /// The last item left the stream at a transaction boundary.
    at_boundary: bool,
}

impl<O> Ledger<O> {
    /// A ledger at `origin`.
    pub fn new(origin: Origin) -> Self {
        Self {
            ops: Vec::new(),
            keys: Vec::new(),
            end: origin.start.clone(),
            written: origin.start.clone(),
            start: origin.start,
            first_ts: None,
            batch_no: origin.batch_no,
            recovery: origin.recovery,
            in_flight: None,
            at_boundary: true,
        }
    }

    /// Where the batch being gathered starts.
    pub fn start(&self) -> &SyncPoint {
        &self.start
    }

    /// Where the batch being gathered ends so far: the stream's current point.
    pub fn end(&self) -> &SyncPoint {
        &self.end
    }

    /// The last point recorded downstream.
    pub fn written(&self) -> &SyncPoint {
        &self.written
    }

    /// Number of the batch being gathered.
    #[cfg(test)]
    pub fn batch_no(&self) -> u64 {
        self.batch_no
    }

    /// Changes in the batch being gathered.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when the batch being gathered holds no change.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// True while a partly applied batch is being read again.
    pub fn recovering(&self) -> bool {
        self.recovery.is_some()
    }

    /// The batch in flight (sent, not yet committed everywhere), if any.
    pub fn in_flight(&self) -> Option<&BatchMark> {
        self.in_flight.as_ref().map(|f| &f.mark)
    }

    /// Timestamp of the oldest event not yet written.
    pub fn pending_ts(&self) -> Option<u32> {
        match &self.in_flight {
            Some(f) => f.first_ts.or(self.first_ts),
            None => self.first_ts,
        }
    }

    /// A row change met at `rows` changes into its transaction (filtered or not); its
    /// event's timestamp is `ts`.
    pub fn row(&mut self, rows: u64, ts: u32) {
        self.at_boundary = false;
        self.first_ts.get_or_insert(ts);
        // The batch end already holds the last boundary (every boundary item sets it); a row
        // inside the transaction only counts.
        self.end.skip_rows = rows;
    }

    /// Adds the change `op` with its causality `keys` (never empty) to the batch.
    pub fn push(&mut self, op: O, keys: ChangeKeys) {
        self.ops.push(op);
        self.keys.push(keys);
    }

    /// A transaction boundary (`ts`: a commit's timestamp) or an advance point. True when it
    /// is the recovered batch's end: dispatch it now.
    pub fn boundary(&mut self, point: SyncPoint, ts: Option<u32>) -> Result<bool, LedgerError> {
        self.at_boundary = true;
        if let Some(ts) = ts {
            self.first_ts.get_or_insert(ts);
        }
        self.end = point;
        self.recovery_end()
    }

    /// While reading a recovered batch again: true when the stream is at its end (dispatch
    /// it now); an error when the stream passed its end without meeting it.
    pub fn recovery_end(&mut self) -> Result<bool, LedgerError> {
        let Some(r) = &self.recovery else {
            return Ok(false);
        };
        if self.end.same_place(&r.mark.end) {
            self.at_boundary = true;
            return Ok(true);
        }
        if passed(&self.end, &r.mark.end) {
            return Err(LedgerError::PassedEnd(Box::new(Passed {
                mark: r.mark.clone(),
                at: self.end.clone(),
            })));
        }
        Ok(false)
    }

    /// True when the batch must be cut inside its transaction (`max_rows` changes: memory
    /// stays bounded). Never while reading a recovered batch again.
    pub fn full(&self, max_rows: usize) -> bool {
        self.recovery.is_none() && self.ops.len() >= max_rows
    }

    /// True when the batch can be dispatched: nothing in flight, not recovering, and at a
    /// transaction boundary or full.
    pub fn ready(&self, max_rows: usize) -> bool {
        self.recovery.is_none()
            && self.in_flight.is_none()
            && (self.at_boundary || self.ops.len() >= max_rows)
    }

    /// True when a batch with changes waits and nothing is in flight (dispatch it, even
    /// inside a transaction).
    pub fn waiting(&self) -> bool {
        self.recovery.is_none() && self.in_flight.is_none() && !self.ops.is_empty()
    }

    /// True when nothing is gathered or in flight, at a boundary not yet recorded: the
    /// stream moved over traffic without rows (record it with [`Ledger::take_empty_mark`]).
    pub fn empty_due(&self) -> bool {
        self.recovery.is_none()
            && self.in_flight.is_none()
            && self.ops.is_empty()
            && self.at_boundary
            && !self.end.same_place(&self.written)
    }

    /// A statement (DDL barrier) met after `before`: the batch ends there.
    pub fn statement(&mut self, before: &SyncPoint) -> Result<(), LedgerError> {
        if self.recovery.is_some() {
            return Err(LedgerError::StatementInRecovery(Box::new(before.clone())));
        }
        self.at_boundary = true;
        self.end = before.clone();
        Ok(())
    }

    /// After a statement applied between `before` and `point`: the empty batch spans it.
    pub fn after_statement(&mut self, before: SyncPoint, point: SyncPoint) {
        self.reset(before);
        self.end = point;
    }

    /// Takes the gathered batch for dispatch, split between `writers` writers (a recovered
    /// batch keeps its split and skips the shares already committed). `None` when there is
    /// nothing to send; an empty recovered batch at its end is then complete.
    pub fn take_dispatch(
        &mut self,
        writers: usize,
        safe: bool,
    ) -> Result<Option<Dispatch<O>>, LedgerError> {
        let writers = writers.max(1);
        if self.ops.is_empty() {
            if self
                .recovery
                .as_ref()
                .is_some_and(|r| self.end.same_place(&r.mark.end))
            {
                // Nothing of the batch passes the filters any more: it is complete.
                self.recovery = None;
                self.reset(self.end.clone());
                self.batch_no += 1;
            }
            return Ok(None);
        }
        if let Some(r) = &self.recovery {
            if !self.end.same_place(&r.mark.end) {
                return Ok(None);
            }
        }
        if self.in_flight.is_some() {
            return Err(LedgerError::OutOfOrder(
                "dispatch while a batch is in flight",
            ));
        }
        let (workers, done) = match self.recovery.take() {
            Some(r) => (r.mark.workers.max(1), r.done),
            None => (writers, BTreeSet::new()),
        };
        let mark = BatchMark {
            batch: self.batch_no,
            workers,
            start: self.start.clone(),
            end: self.end.clone(),
        };
        let first_ts = self.first_ts;
        let ops = std::mem::take(&mut self.ops);
        let keys = std::mem::take(&mut self.keys);
        self.reset(self.end.clone());
        self.batch_no += 1;
        let rows = ops.len() as u64;
        let owner = assign::assign(&keys, workers);
        let mut split: Vec<Vec<O>> = (0..workers).map(|_| Vec::new()).collect();
        for (op, w) in ops.into_iter().zip(owner) {
            split[w].push(op);
        }
        let shares = split
            .into_iter()
            .enumerate()
            .filter(|(w, ops)| !ops.is_empty() && !done.contains(w))
            .map(|(worker, ops)| Share {
                worker,
                writer: worker % writers,
                ops,
            })
            .collect();
        self.in_flight = Some(Flight {
            mark: mark.clone(),
            rows,
            first_ts,
        });
        Ok(Some(Dispatch { mark, safe, shares }))
    }

    /// Takes the gathered batch, which holds no change, as a mark to record for every one of
    /// `writers` writers; it is in flight until [`Ledger::committed`].
    pub fn take_empty_mark(&mut self, writers: usize) -> Result<EmptyMark, LedgerError> {
        if self.recovery.is_some() {
            return Err(LedgerError::OutOfOrder("empty mark while recovering"));
        }
        if self.in_flight.is_some() {
            return Err(LedgerError::OutOfOrder(
                "empty mark while a batch is in flight",
            ));
        }
        if !self.ops.is_empty() {
            return Err(LedgerError::OutOfOrder(
                "empty mark of a batch with changes",
            ));
        }
        let writers = writers.max(1);
        let mark = BatchMark {
            batch: self.batch_no,
            workers: writers,
            start: self.start.clone(),
            end: self.end.clone(),
        };
        self.batch_no += 1;
        self.reset(self.end.clone());
        self.in_flight = Some(Flight {
            mark: mark.clone(),
            rows: 0,
            first_ts: None,
        });
        Ok(EmptyMark {
            mark,
            workers: (0..writers).collect(),
        })
    }

    /// Every share of the batch in flight is committed: returns its mark and number of
    /// changes (`None` when nothing was in flight).
    pub fn committed(&mut self) -> Option<(BatchMark, u64)> {
        let f = self.in_flight.take()?;
        self.written = f.mark.end.clone();
        Some((f.mark, f.rows))
    }

    /// An empty batch gathered from `start`.
    fn reset(&mut self, start: SyncPoint) {
        self.ops.clear();
        self.keys.clear();
        self.end = start.clone();
        self.start = start;
        self.first_ts = None;
    }
}

/// True when `p` is strictly after `q`.
fn passed(p: &SyncPoint, q: &SyncPoint) -> bool {
    (&p.pos, p.skip_rows) > (&q.pos, q.skip_rows)
}
