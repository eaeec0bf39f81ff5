//! A sequential stand-in for the coordinator, for the exactly-once tests: one run of the Sync
//! unit over a generated [`Stream`], deciding everything with the [`Ledger`] and writing
//! through an [`Applier`] as the coordinator does.
//!
//! It starts as `sync::run` does (the stored progress rows give the [`Origin`]), reads the
//! stream in chunks as the reader hands them over, and lets the batch in flight complete
//! while the next chunk is gathered (a batch cut inside a transaction first waits for it). A
//! batch's shares are all attempted (they are sent to the writers together); the first error
//! ends the run, as it ends the coordinator.

use super::super::applier::Applier;
use super::super::progress;
use super::super::writer::RowOp;
use super::ledger::{Dispatch, Ledger, Origin};
use super::refused;
use super::stream::{Item, Stream};
use crate::error::TaskError;

/// How a run is set up.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    /// Writers.
    pub writers: usize,
    /// Changes at which a batch is cut inside a transaction.
    pub max_rows: usize,
    /// Items handed over at once by the reader.
    pub chunk: usize,
    /// The coordinator's periodic housekeeping runs after every chunk (as if its timers had
    /// fired): a batch left waiting is sent even inside a transaction, progress over traffic
    /// without rows is recorded.
    pub tick: bool,
}

/// One run of the Sync unit.
pub struct Replay<'s, A> {
    stream: &'s Stream,
    applier: &'s mut A,
    setup: Setup,
    origin: Origin,
    ledger: Ledger<RowOp>,
    /// The batch in flight: sent, not yet applied.
    sent: Option<Dispatch<RowOp>>,
}

impl<'s, A: Applier> Replay<'s, A> {
    /// Starts from the progress rows stored in `applier`, as `sync::run` does.
    pub async fn start(
        stream: &'s Stream,
        applier: &'s mut A,
        setup: Setup,
    ) -> Result<Self, TaskError> {
        let rows = applier.stored().await?;
        let origin = Origin::resumed(progress::resume(&rows))
            .unwrap_or_else(|| Origin::fresh(stream.start()));
        Ok(Self {
            stream,
            applier,
            setup,
            ledger: Ledger::new(origin.clone()),
            origin,
            sent: None,
        })
    }

    /// Where the run started.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The ledger.
    pub fn ledger(&self) -> &Ledger<RowOp> {
        &self.ledger
    }

    /// Reads the stream from the origin to its end, then does the housekeeping until there
    /// is nothing left to write.
    pub async fn run(&mut self) -> Result<(), TaskError> {
        let items = self.stream.read_from(&self.origin.start);
        for chunk in items.chunks(self.setup.chunk.max(1)) {
            for item in chunk {
                self.item(item).await?;
            }
            // The batch in flight completes (the writers' branch of the coordinator's loop).
            self.drain().await?;
            if self.ledger.ready(self.setup.max_rows) {
                self.dispatch().await?;
            }
            if self.setup.tick {
                self.housekeeping().await?;
            }
        }
        loop {
            self.drain().await?;
            if !self.housekeeping().await? {
                return Ok(());
            }
        }
    }

    /// The coordinator's housekeeping; true when it sent or recorded something.
    async fn housekeeping(&mut self) -> Result<bool, TaskError> {
        if self.ledger.recovering() {
            return Ok(false);
        }
        if self.ledger.waiting() {
            self.dispatch().await?;
            return Ok(true);
        }
        if self.ledger.empty_due() {
            self.write_empty().await?;
            return Ok(true);
        }
        Ok(false)
    }

    async fn item(&mut self, item: &Item<'_>) -> Result<(), TaskError> {
        match item {
            Item::Row { rows, ts, change } => {
                self.ledger.row(*rows, *ts);
                if !change.filtered {
                    let keys = change.op.target.keys_of(&change.op.change);
                    self.ledger.push(change.op.clone(), keys);
                }
                if self.ledger.recovery_end().map_err(refused)? {
                    self.dispatch().await?;
                }
                if self.ledger.full(self.setup.max_rows) {
                    self.dispatch().await?;
                }
            }
            Item::Commit { point, ts } => {
                if self
                    .ledger
                    .boundary(point.clone(), Some(*ts))
                    .map_err(refused)?
                {
                    self.dispatch().await?;
                }
            }
            Item::Advance { point } => {
                if self.ledger.boundary(point.clone(), None).map_err(refused)? {
                    self.dispatch().await?;
                }
            }
            Item::Statement { before, point } => {
                self.ledger.statement(before).map_err(refused)?;
                self.dispatch().await?;
                self.drain().await?;
                // (The statement is applied downstream here.)
                self.ledger.after_statement(before.clone(), point.clone());
                self.write_empty().await?;
            }
        }
        Ok(())
    }

    async fn dispatch(&mut self) -> Result<(), TaskError> {
        if !self.ledger.is_empty() {
            self.drain().await?;
        }
        let sent = self
            .ledger
            .take_dispatch(self.setup.writers, false)
            .map_err(refused)?;
        if sent.is_some() {
            self.sent = sent;
        }
        Ok(())
    }

    /// Applies the batch in flight: every share, then the first error if any.
    async fn drain(&mut self) -> Result<(), TaskError> {
        let Some(d) = self.sent.take() else {
            return Ok(());
        };
        let mut failed = None;
        for share in &d.shares {
            let r = self
                .applier
                .apply_share(share.worker, &d.mark, &share.ops, d.safe)
                .await;
            if let Err(e) = r {
                failed.get_or_insert(e);
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        self.ledger.committed();
        Ok(())
    }

    async fn write_empty(&mut self) -> Result<(), TaskError> {
        self.drain().await?;
        let empty = self
            .ledger
            .take_empty_mark(self.setup.writers)
            .map_err(refused)?;
        self.applier
            .record_empty(&empty.workers, &empty.mark)
            .await?;
        self.ledger.committed();
        Ok(())
    }
}
