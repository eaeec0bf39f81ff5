//! The filter stage: drops the row changes of tables the block-allow-list excludes and those
//! a binlog event filter ignores, and marks the ones an `Error` rule refuses. A dropped change
//! keeps its place in its transaction ([`Item::Skipped`]) so positions inside a transaction
//! still count every change.
//!
//! Statements pass through: whether a DDL applies is decided at the coordinator's DDL barrier,
//! after the operator's `binlog skip|replace` and after the statement is split per table.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use ferry_model::TableName;

use super::{Item, ItemBatch};
use crate::fx_hash::FxBuild;
use crate::mailbox::{Inbox, Outbox};
use crate::metrics::syncer::SyncerMetrics;
use crate::reader::RowsKind;
use crate::rules::{BlockAllowList, Decision, EventFilter, EventType};

/// What becomes of one table's changes of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Replicated.
    Keep,
    /// Dropped (block-allow-list or an `Ignore` rule).
    Drop,
    /// Refused by the named `Error` rule.
    Refuse(String),
}

/// The row filter of one subtask: its rules and the verdicts made so far.
#[derive(Debug)]
pub(crate) struct RowFilter {
    balist: BlockAllowList,
    filter: EventFilter,
    /// Per table: the verdict for inserts, updates and deletes, once made.
    verdicts: HashMap<TableName, [Option<Verdict>; 3], FxBuild>,
}

fn slot(kind: RowsKind) -> (usize, EventType) {
    match kind {
        RowsKind::Insert => (0, EventType::Insert),
        RowsKind::Update => (1, EventType::Update),
        RowsKind::Delete => (2, EventType::Delete),
    }
}

impl RowFilter {
    /// A filter with the task's block-allow-list and binlog event filters.
    pub(crate) fn new(balist: BlockAllowList, filter: EventFilter) -> Self {
        Self {
            balist,
            filter,
            verdicts: HashMap::default(),
        }
    }

    /// The verdict for `table`'s `kind` changes.
    pub(crate) fn verdict(&mut self, table: &TableName, kind: RowsKind) -> Verdict {
        let (i, event) = slot(kind);
        if let Some(v) = self.verdicts.get(table).and_then(|e| e[i].as_ref()) {
            return v.clone();
        }
        let v = if !self.balist.allows_table(&table.schema, &table.table) {
            Verdict::Drop
        } else {
            match self.filter.decide(&table.schema, &table.table, event, None) {
                Decision::Do => Verdict::Keep,
                Decision::Ignore => Verdict::Drop,
                Decision::Error(rule) => Verdict::Refuse(rule),
            }
        };
        self.verdicts.entry(table.clone()).or_default()[i] = Some(v.clone());
        v
    }

    /// Applies the verdicts to the row changes of `items`, in place. Returns (row changes,
    /// changes dropped).
    pub(crate) fn mark(&mut self, items: &mut [Item]) -> (usize, usize) {
        // The rows of one table map share their table: look each run up once.
        let mut last: Option<(Arc<TableName>, RowsKind, Verdict)> = None;
        let (mut seen, mut dropped) = (0, 0);
        for item in items.iter_mut() {
            let Item::Row {
                table,
                kind,
                rows,
                timestamp,
                ..
            } = item
            else {
                continue;
            };
            seen += 1;
            let verdict = match &last {
                Some((t, k, v)) if Arc::ptr_eq(t, table) && k == kind => v,
                _ => {
                    let v = self.verdict(table, *kind);
                    &last.insert((table.clone(), *kind, v)).2
                }
            };
            match verdict {
                Verdict::Keep => {}
                Verdict::Drop => {
                    dropped += 1;
                    *item = Item::Skipped {
                        table: table.clone(),
                        rows: *rows,
                        timestamp: *timestamp,
                    }
                }
                Verdict::Refuse(rule) => {
                    *item = Item::Refused {
                        table: table.clone(),
                        event: slot(*kind).1,
                        rule: rule.clone(),
                        rows: *rows,
                        timestamp: *timestamp,
                    }
                }
            }
        }
        (seen, dropped)
    }
}

/// The filter stage: marks each batch of items from the reader and passes it on. The time of
/// a message's decisions is DM's `skip_binlog_duration` (per change, when it dropped some).
pub(crate) async fn run_filter(
    mut filter: RowFilter,
    mut rx: Inbox<ItemBatch>,
    tx: Outbox<ItemBatch>,
    metrics: Arc<SyncerMetrics>,
) {
    while let Some(msg) = rx.recv().await {
        let msg = msg.map(|mut items| {
            let began = Instant::now();
            let (rows, dropped) = filter.mark(&mut items.items);
            metrics.stages.filtered(began.elapsed(), rows, dropped);
            items
        });
        if tx.send(msg).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::RowChange;

    fn skipped_table(item: &Item) -> Option<&Arc<TableName>> {
        match item {
            Item::Skipped { table, .. } => Some(table),
            _ => None,
        }
    }
    use ferry_config::enums::FilterAction;
    use ferry_config::BinlogEventRule;

    fn row(schema: &str, table: &str, kind: RowsKind, rows: u64) -> Item {
        Item::Row {
            table: Arc::new(TableName::new(schema, table)),
            columns: 1,
            names: None,
            kind,
            change: RowChange {
                before: None,
                after: Some(Vec::new()),
            },
            rows,
            timestamp: 7,
            target: None,
        }
    }

    fn rule(table: &str, event: &str, action: FilterAction) -> BinlogEventRule {
        BinlogEventRule {
            schema_pattern: "shop".into(),
            table_pattern: table.into(),
            events: vec![event.into()],
            sql_pattern: Vec::new(),
            action: Some(action),
        }
    }

    fn filter() -> RowFilter {
        let balist = BlockAllowList::new(
            &["shop".to_string()],
            &[],
            &[],
            &[("shop".to_string(), "audit".to_string())],
            false,
        )
        .unwrap();
        let ignore = rule("orders", "delete", FilterAction::Ignore);
        let refuse = rule("ledger", "update", FilterAction::Error);
        let filter = EventFilter::new(&[("r0", &ignore), ("r1", &refuse)], false).unwrap();
        RowFilter::new(balist, filter)
    }

    #[test]
    fn excluded_and_ignored_changes_keep_their_place_and_refusals_name_the_rule() {
        let mut f = filter();
        let mut items = vec![
            row("shop", "orders", RowsKind::Insert, 1),
            row("shop", "orders", RowsKind::Delete, 2),
            row("shop", "audit", RowsKind::Insert, 3),
            row("other", "t", RowsKind::Insert, 4),
            row("shop", "ledger", RowsKind::Insert, 5),
            row("shop", "ledger", RowsKind::Update, 6),
        ];
        let (seen, dropped) = f.mark(&mut items);
        assert_eq!(seen, 6);
        assert!(dropped >= 1 && dropped < seen, "{dropped}");
        assert!(matches!(items[0], Item::Row { rows: 1, .. }));
        assert!(matches!(
            items[1],
            Item::Skipped {
                rows: 2,
                timestamp: 7,
                ..
            }
        ));
        assert_eq!(
            **skipped_table(&items[2]).unwrap(),
            TableName::new("shop", "audit")
        );
        assert!(matches!(items[3], Item::Skipped { rows: 4, .. }));
        assert!(matches!(items[4], Item::Row { rows: 5, .. }));
        match &items[5] {
            Item::Refused {
                rule, event, rows, ..
            } => {
                assert_eq!(rule, "r1");
                assert_eq!(*event, EventType::Update);
                assert_eq!(*rows, 6);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn verdicts_are_remembered_per_table_and_kind() {
        let mut f = filter();
        let orders = TableName::new("shop", "orders");
        assert_eq!(f.verdict(&orders, RowsKind::Delete), Verdict::Drop);
        assert_eq!(f.verdict(&orders, RowsKind::Update), Verdict::Keep);
        assert_eq!(f.verdicts.len(), 1);
        assert_eq!(f.verdict(&orders, RowsKind::Delete), Verdict::Drop);
    }
}
