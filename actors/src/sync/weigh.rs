//! What the Sync unit's messages weigh in their mailboxes: an estimate of the heap memory a
//! row change holds (its values' bytes plus a fixed cost per value), cheap to compute.

use super::{Item, RowOp};
use crate::mailbox::Weigh;
use crate::reader::{RowChange, RowValue};

/// Estimated bytes of one JSON value of a partial JSON update.
const JSON_VALUE: usize = 64;

/// Fixed cost of one value (the enum itself).
const VALUE: usize = std::mem::size_of::<RowValue>();

fn value_bytes(v: &RowValue) -> usize {
    VALUE
        + match v {
            RowValue::Decimal(s) => s.len(),
            RowValue::Bytes(b) | RowValue::Bit(b) => b.len(),
            RowValue::Json(j) => j.as_str().len(),
            // An estimate without rendering the values (weighing is on the hot path).
            RowValue::PartialJson(p) => p.iter().map(|op| op.path.len() + JSON_VALUE).sum(),
            _ => 0,
        }
}

fn image_bytes(image: &Option<Vec<RowValue>>) -> usize {
    image
        .as_ref()
        .map_or(0, |vs| vs.iter().map(value_bytes).sum())
}

/// Estimated bytes of a row change.
pub(super) fn change_bytes(c: &RowChange) -> usize {
    std::mem::size_of::<RowChange>() + image_bytes(&c.before) + image_bytes(&c.after)
}

impl Weigh for Item {
    fn weight(&self) -> usize {
        std::mem::size_of::<Item>()
            + match self {
                Item::Row { change, .. } => change_bytes(change),
                Item::Statement { schema, sql, .. } => schema.len() + sql.len(),
                Item::Refused { rule, .. } => rule.len(),
                Item::Skipped { .. }
                | Item::Commit { .. }
                | Item::Advance { .. }
                | Item::Heartbeat => 0,
            }
    }
}

impl Weigh for RowOp {
    fn weight(&self) -> usize {
        std::mem::size_of::<RowOp>() + change_bytes(&self.change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_weighs_its_values() {
        let small = RowChange {
            before: None,
            after: Some(vec![RowValue::Int(1), RowValue::Null]),
        };
        let big = RowChange {
            before: Some(vec![RowValue::Int(1), RowValue::Bytes(vec![0; 10_000])]),
            after: Some(vec![RowValue::Int(1), RowValue::Bytes(vec![0; 20_000])]),
        };
        assert!(change_bytes(&small) < 200, "{}", change_bytes(&small));
        assert!(change_bytes(&big) >= 30_000);
        assert!(change_bytes(&big) < 30_500);
        let heartbeat = Item::Heartbeat.weight();
        let point = crate::sync::SyncPoint {
            pos: ferry_model::BinlogPosition::new("binlog.000001", 4).unwrap(),
            gtid: None,
            skip_rows: 0,
        };
        let statement = Item::Statement {
            schema: "db".into(),
            sql: "x".repeat(5000),
            sql_mode: 0,
            before: Box::new(point.clone()),
            point: Box::new(point),
            timestamp: 0,
        };
        assert!(statement.weight() >= heartbeat + 5000);
        let items: Vec<Item> = vec![Item::Heartbeat, Item::Heartbeat];
        assert!(items.weight() >= 2 * heartbeat);
    }
}
