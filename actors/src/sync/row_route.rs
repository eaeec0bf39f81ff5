//! The router stage: names the downstream table of each row change by the task's `routes`
//! (table routing, shard merges). The target's columns are then matched by the coordinator
//! through the schema history, since the history moves with the DDL the coordinator applies.

use std::collections::HashMap;
use std::sync::Arc;

use ferry_model::TableName;

use super::{Item, ItemBatch};
use crate::error::TaskError;
use crate::fx_hash::FxBuild;
use crate::mailbox::{Inbox, Outbox};
use crate::rules::Router;

/// The row router of one subtask: its rules and the targets named so far.
#[derive(Debug)]
pub(crate) struct RowRouter {
    router: Router,
    targets: HashMap<TableName, Arc<TableName>, FxBuild>,
}

impl RowRouter {
    /// A router with the task's routing rules.
    pub(crate) fn new(router: Router) -> Self {
        Self {
            router,
            targets: HashMap::default(),
        }
    }

    /// The downstream table of `table`.
    pub(crate) fn target(&mut self, table: &TableName) -> Result<Arc<TableName>, TaskError> {
        if let Some(t) = self.targets.get(table) {
            return Ok(t.clone());
        }
        let t = Arc::new(
            self.router
                .route(table)
                .map_err(|e| TaskError::Config(format!("routing {table}: {e}")))?,
        );
        self.targets.insert(table.clone(), t.clone());
        Ok(t)
    }

    /// Names the target of every row change of `items`, in place.
    pub(crate) fn mark(&mut self, items: &mut [Item]) -> Result<(), TaskError> {
        // The rows of one table map share their table: route each run once.
        let mut last: Option<(Arc<TableName>, Arc<TableName>)> = None;
        for item in items.iter_mut() {
            let Item::Row { table, target, .. } = item else {
                continue;
            };
            let routed = match &last {
                Some((from, to)) if Arc::ptr_eq(from, table) => to.clone(),
                _ => {
                    let to = self.target(table)?;
                    last = Some((table.clone(), to.clone()));
                    to
                }
            };
            *target = Some(routed);
        }
        Ok(())
    }
}

/// The router stage: routes each batch of items from the filter and passes it on, with the
/// time it took (part of the changes' transform cost, recorded by the coordinator). A routing
/// error ends the run (nothing after the last checkpoint is lost: it is read again).
pub(crate) async fn run_router(
    mut router: RowRouter,
    mut rx: Inbox<ItemBatch>,
    tx: Outbox<ItemBatch>,
) {
    while let Some(msg) = rx.recv().await {
        let msg = msg.and_then(|mut items| {
            let began = std::time::Instant::now();
            router.mark(&mut items.items)?;
            items.routed += began.elapsed();
            Ok(items)
        });
        let failed = msg.is_err();
        if tx.send(msg).await.is_err() || failed {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::{RowChange, RowsKind};
    use crate::rules::RouteSpec;

    fn row(table: &Arc<TableName>) -> Item {
        Item::Row {
            table: table.clone(),
            columns: 1,
            names: None,
            kind: RowsKind::Insert,
            change: RowChange {
                before: None,
                after: Some(Vec::new()),
            },
            rows: 1,
            timestamp: 1,
            target: None,
        }
    }

    fn target(item: &Item) -> &TableName {
        match item {
            Item::Row {
                target: Some(t), ..
            } => t,
            other => panic!("not routed: {other:?}"),
        }
    }

    #[test]
    fn shards_merge_into_one_target_and_other_tables_keep_their_names() {
        let rules = Router::new(
            &[RouteSpec {
                name: "merge",
                schema_pattern: "shard_*",
                table_pattern: "orders_*",
                target_schema: "shop",
                target_table: "orders",
            }],
            false,
        )
        .unwrap();
        let mut r = RowRouter::new(rules);
        let a = Arc::new(TableName::new("shard_1", "orders_01"));
        let b = Arc::new(TableName::new("shard_2", "orders_02"));
        let c = Arc::new(TableName::new("shard_1", "users"));
        let mut items = vec![row(&a), row(&a), Item::Heartbeat, row(&b), row(&c), row(&a)];
        r.mark(&mut items).unwrap();
        let merged = TableName::new("shop", "orders");
        for i in [0, 1, 3, 5] {
            assert_eq!(target(&items[i]), &merged);
        }
        assert_eq!(target(&items[4]), &TableName::new("shard_1", "users"));
        assert_eq!(r.targets.len(), 3);
    }
}
