//! A row change from the binlog (filtered and routed by the stages before): skipped when a
//! copy round holds it, mapped to its target's columns by name, and added to the batch.

use std::sync::Arc;

use ferry_model::TableName;
use tracing::warn;

use super::super::column_map::ColumnMap;
use super::super::target::TargetInfo;
use super::super::writer::RowOp;
use super::Coordinator;
use crate::error::TaskError;
use crate::reader::RowChange;
use crate::rules::EventType;

/// A row change met in the binlog.
pub(super) struct Met {
    /// Upstream table.
    pub table: Arc<TableName>,
    /// Columns in the table map.
    pub columns: u64,
    /// Column names in the table map (`binlog_row_metadata=FULL`).
    pub names: Option<Arc<[String]>>,
    /// The downstream table (named by the router stage).
    pub target: Arc<TableName>,
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
            target,
            change,
            rows,
            timestamp,
        } = m;
        self.ledger.row(rows, timestamp);
        if self.in_copy(&table)? {
            self.check_recovery_end().await?;
            return Ok(());
        }
        // Both caches are dropped together at every DDL: a table mapped since then has its
        // target known too.
        let (info, map) = match self.schemas.mapped(&table) {
            Some(known) => known,
            None => match self.map_table(&table, columns, names, &target).await? {
                Some(mapped) => mapped,
                None => {
                    self.check_recovery_end().await?;
                    return Ok(());
                }
            },
        };
        let change = map.apply(change);
        let keys = info.keys_of(&change);
        self.ledger.push(
            RowOp {
                target: info,
                change,
            },
            keys,
        );
        self.check_recovery_end().await?;
        if self.ledger.full(self.max_rows()) {
            // A huge transaction: cut here (memory stays bounded).
            self.dispatch().await?;
        }
        Ok(())
    }

    /// The target of `table`'s rows (read from the downstream) and where their columns go;
    /// `None` when the changes are skipped (the target is missing while catching up after
    /// the full phase).
    async fn map_table(
        &mut self,
        table: &TableName,
        columns: u64,
        names: Option<Arc<[String]>>,
        target: &TableName,
    ) -> Result<Option<(Arc<TargetInfo>, ColumnMap)>, TaskError> {
        let found = self
            .targets
            .get(
                self.ctl.conn(),
                &self.spec.downstream,
                target,
                self.json_convert,
            )
            .await?;
        let info = match found {
            Some(info) => info,
            None if self.catching_up() => {
                // The table was dropped or renamed upstream before the full phase
                // read it: the copy holds what became of it, and the binlog's DROP
                // or RENAME follows.
                if self.skipped_missing.insert(table.clone()) {
                    warn!(table = %table, target = %target, at = %self.ledger.end(),
                        "catching up after the full phase: the target table does not exist (the upstream table was dropped or renamed before it was copied); its changes are skipped");
                }
                return Ok(None);
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
        self.schemas
            .map_row(
                self.spec,
                table,
                info,
                (columns, names.as_deref()),
                self.ledger.end(),
            )
            .await
            .map(Some)
    }

    /// True when a copy round holds the change just counted (it is skipped); otherwise, at
    /// a recopied table's first change, takes the definition it was copied with.
    fn in_copy(&mut self, table: &TableName) -> Result<bool, TaskError> {
        if self.copies.is_empty() {
            return Ok(false);
        }
        let pos = self.ledger.end().pos.clone();
        if self.copies.in_copy(table, &pos) {
            return Ok(true);
        }
        self.reach_copy(table, &pos)?;
        Ok(false)
    }

    /// A row change the filter stage dropped: it only counts in its transaction.
    pub(super) async fn skipped(
        &mut self,
        table: &TableName,
        rows: u64,
        timestamp: u32,
    ) -> Result<(), TaskError> {
        self.ledger.row(rows, timestamp);
        self.in_copy(table)?;
        self.check_recovery_end().await
    }

    /// A row change an `Error` rule refuses: the task stops here, unless a copy round holds
    /// the change.
    pub(super) async fn refused(
        &mut self,
        table: &TableName,
        event: EventType,
        rule: &str,
        rows: u64,
        timestamp: u32,
    ) -> Result<(), TaskError> {
        self.ledger.row(rows, timestamp);
        if self.in_copy(table)? {
            return self.check_recovery_end().await;
        }
        Err(TaskError::Blocked(format!(
            "binlog event filter rule `{rule}` (action: Error) refuses the {} rows of {table} \
             at {}",
            event.as_str(),
            self.ledger.end()
        )))
    }
}
