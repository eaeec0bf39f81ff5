//! A row change from the binlog: skipped when a copy round holds it, filtered, routed,
//! mapped to its target's columns by name, and added to the batch.

use std::sync::Arc;

use ferry_model::TableName;
use tracing::warn;

use super::super::writer::RowOp;
use super::{Coordinator, Decided};
use crate::error::TaskError;
use crate::reader::{RowChange, RowsKind};
use crate::rules::{Decision, EventType};

/// A row change met in the binlog.
pub(super) struct Met {
    /// Upstream table.
    pub table: Arc<TableName>,
    /// Columns in the table map.
    pub columns: u64,
    /// Column names in the table map (`binlog_row_metadata=FULL`).
    pub names: Option<Arc<[String]>>,
    /// Insert, update or delete.
    pub kind: RowsKind,
    /// The images.
    pub change: RowChange,
    /// Changes of its transaction up to and including this one.
    pub rows: u64,
    /// Event timestamp.
    pub timestamp: u32,
}

impl Coordinator<'_> {
    /// Adds the row change `m` to the batch.
    pub(super) async fn row(&mut self, m: Met) -> Result<(), TaskError> {
        let Met {
            table,
            columns,
            names,
            kind,
            change,
            rows,
            timestamp,
        } = m;
        self.ledger.row(rows, timestamp);
        if !self.copies.is_empty() {
            let pos = self.ledger.end().pos.clone();
            if self.copies.in_copy(&table, &pos) {
                self.check_recovery_end().await?;
                return Ok(());
            }
            self.reach_copy(&table, &pos)?;
        }
        if let Some(target) = self.decide(&table, kind)? {
            let found = self
                .targets
                .get(
                    self.ctl.conn(),
                    &self.spec.downstream,
                    &target,
                    self.json_convert,
                )
                .await?;
            let info = match found {
                Some(info) => info,
                None if self.catching_up() => {
                    // The table was dropped or renamed upstream before the full phase
                    // read it: the copy holds what became of it, and the binlog's DROP
                    // or RENAME follows.
                    if self.skipped_missing.insert((*table).clone()) {
                        warn!(table = %table, target = %target, at = %self.ledger.end(),
                            "catching up after the full phase: the target table does not exist (the upstream table was dropped or renamed before it was copied); its changes are skipped");
                    }
                    self.check_recovery_end().await?;
                    return Ok(());
                }
                None => {
                    return Err(TaskError::Blocked(format!(
                        "replicating {table} at {}: the target table {target} does \
                         not exist in the downstream (create it, or exclude the table with \
                         block-allow-list / filters, then resume-task)",
                        self.ledger.end()
                    )))
                }
            };
            let (info, map) = self
                .schemas
                .map_row(
                    self.spec,
                    &table,
                    info,
                    (columns, names.as_deref()),
                    self.ledger.end(),
                )
                .await?;
            let change = map.apply(change);
            let keys = info.keys_of(&change);
            self.ledger.push(
                RowOp {
                    target: info,
                    change,
                },
                keys,
            );
        }
        self.check_recovery_end().await?;
        if self.ledger.full(self.max_rows()) {
            // A huge transaction: cut here (memory stays bounded).
            self.dispatch().await?;
        }
        Ok(())
    }

    /// The target of `table`'s `kind` changes, or `None` when they are filtered out.
    fn decide(&mut self, table: &TableName, kind: RowsKind) -> Result<Decided, TaskError> {
        let slot = match kind {
            RowsKind::Insert => 0,
            RowsKind::Update => 1,
            RowsKind::Delete => 2,
        };
        if let Some(Some(d)) = self.decisions.get(table).map(|k| &k[slot]) {
            return Ok(d.clone());
        }
        let d = if !self.spec.balist.allows_table(&table.schema, &table.table) {
            None
        } else {
            let ev = match kind {
                RowsKind::Insert => EventType::Insert,
                RowsKind::Update => EventType::Update,
                RowsKind::Delete => EventType::Delete,
            };
            match self
                .spec
                .filter
                .decide(&table.schema, &table.table, ev, None)
            {
                Decision::Ignore => None,
                Decision::Error(rule) => {
                    return Err(TaskError::Blocked(format!(
                        "binlog event filter rule `{rule}` (action: Error) refuses the {} rows of \
                         {table} at {}",
                        ev.as_str(),
                        self.ledger.end()
                    )))
                }
                Decision::Do => Some(
                    self.spec
                        .router
                        .route(table)
                        .map_err(|e| TaskError::Config(format!("routing {table}: {e}")))?,
                ),
            }
        };
        self.decisions.entry(table.clone()).or_default()[slot] = Some(d.clone());
        Ok(d)
    }
}
