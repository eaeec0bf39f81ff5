//! Folding a writer's share of a batch before it is written (`multiple-rows`).
//!
//! A writer commits its share as one downstream transaction, so only the share's net effect
//! on each row has to reach the downstream. For tables whose only unique key is the one rows
//! are identified by (the primary key, or a NOT NULL unique key), rows with different keys
//! are independent, and the share can be rewritten as
//!
//! 1. one multi-row `DELETE ... WHERE (key) IN (...)` per table,
//! 2. one multi-row update (`INSERT ... ON DUPLICATE KEY UPDATE`) per table,
//! 3. one multi-row `INSERT` per table,
//!
//! after folding the changes of each key, in their order, into one net change:
//!
//! | changes of one key | net change |
//! |---|---|
//! | insert, then updates | insert of the last image |
//! | updates | update from the first before image to the last after image |
//! | insert ... delete | nothing (safe mode: a delete, the row may have existed) |
//! | update(s), then delete | delete |
//! | delete, then insert (then updates) | delete, then insert of the last image |
//!
//! Deleting first and inserting last is right because a delete of one key can only remove a
//! conflict for another, and a later insert cannot have depended on a row that was not there.
//! Tables with other unique keys (where an update may free a value another row takes) and
//! shares with changes that cannot be folded (a key changed by an update, an image without
//! all its columns, a table without a key) are written as before: in order, consecutive
//! changes of one table and kind merged.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use super::target::TargetInfo;
use super::writer::RowOp;
use crate::fx_hash::{FxBuild, FxHasher};
use crate::reader::RowValue;

/// One table's folded changes, in the order they are written.
#[derive(Debug)]
pub(super) struct Folded<'a> {
    pub target: &'a Arc<TargetInfo>,
    /// Before images of the rows to delete.
    pub deletes: Vec<&'a [RowValue]>,
    /// (before, after) of the rows to update, keeping their key.
    pub updates: Vec<(&'a [RowValue], &'a [RowValue])>,
    /// After images of the rows to insert.
    pub inserts: Vec<&'a [RowValue]>,
}

/// What one change of a foldable share is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Insert,
    Update,
    Delete,
}

/// The net change of one key: indexes of the changes whose images it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Net {
    Insert { after: usize },
    Update { before: usize, after: usize },
    Delete { before: usize },
    DeleteInsert { before: usize, after: usize },
    Nothing,
}

/// A table whose rows are independent of each other's keys.
fn foldable_table(t: &TargetInfo) -> bool {
    t.table.has_key() && t.keys.indexes().len() == 1
}

/// True when `image` has every (non-generated) column.
fn complete(t: &TargetInfo, image: &[RowValue]) -> bool {
    image.len() == t.table.columns().len()
        && t.table
            .columns()
            .iter()
            .zip(image)
            .all(|(c, v)| c.generated || !matches!(v, RowValue::Absent))
}

fn classify(o: &RowOp) -> Option<Change> {
    let t = &o.target;
    if !foldable_table(t) {
        return None;
    }
    let key_present = |img: &[RowValue]| {
        t.table
            .key()
            .iter()
            .all(|&k| img.get(k).is_some_and(|v| !matches!(v, RowValue::Absent)))
    };
    match (&o.change.before, &o.change.after) {
        (None, Some(a)) if complete(t, a) => Some(Change::Insert),
        (Some(b), Some(a))
            if complete(t, a)
                && b.len() == a.len()
                && key_present(b)
                && t.table.key().iter().all(|&k| b[k] == a[k]) =>
        {
            Some(Change::Update)
        }
        (Some(b), None) if key_present(b) => Some(Change::Delete),
        _ => None,
    }
}

/// The image that names the key of change `o`.
fn key_image(o: &RowOp) -> &[RowValue] {
    match (&o.change.before, &o.change.after) {
        (Some(b), _) => b,
        (None, Some(a)) => a,
        (None, None) => &[],
    }
}

fn hash_value(v: &RowValue, h: &mut impl Hasher) {
    std::mem::discriminant(v).hash(h);
    match v {
        RowValue::Int(n) => n.hash(h),
        RowValue::UInt(n) => n.hash(h),
        RowValue::Decimal(s) => s.hash(h),
        RowValue::Bytes(b) | RowValue::Bit(b) => b.hash(h),
        RowValue::Enum(n) | RowValue::Year(n) => n.hash(h),
        RowValue::Set(n) => n.hash(h),
        RowValue::Timestamp { secs, micros } => (secs, micros).hash(h),
        // Equal values of the other kinds share their kind's hash; equality decides.
        _ => {}
    }
}

/// Hash of the key values of `img` (`key`: their columns); the table is told apart by
/// equality of its index, not hashed.
fn key_hash(img: &[RowValue], key: &[usize]) -> u64 {
    let mut h = FxHasher::default();
    for &k in key {
        hash_value(&img[k], &mut h);
    }
    h.finish()
}

fn next(net: Net, change: Change, i: usize, safe: bool) -> Option<Net> {
    use Change as C;
    Some(match (net, change) {
        (Net::Nothing, C::Insert) => Net::Insert { after: i },
        (Net::Nothing, C::Update) => Net::Update {
            before: i,
            after: i,
        },
        (Net::Nothing, C::Delete) => Net::Delete { before: i },
        (Net::Insert { .. }, C::Update) => Net::Insert { after: i },
        (Net::Insert { .. }, C::Delete) if safe => Net::Delete { before: i },
        (Net::Insert { .. }, C::Delete) => Net::Nothing,
        (Net::Update { before, .. }, C::Update) => Net::Update { before, after: i },
        (Net::Update { before, .. }, C::Delete) => Net::Delete { before },
        (Net::Delete { before }, C::Insert) => Net::DeleteInsert { before, after: i },
        (Net::DeleteInsert { before, .. }, C::Update) => Net::DeleteInsert { before, after: i },
        (Net::DeleteInsert { before, .. }, C::Delete) => Net::Delete { before },
        // An insert of a present row or a change of an absent one: not a consistent history
        // of one row; written as it came.
        _ => return None,
    })
}

/// No further net change in a hash chain.
const END: usize = usize::MAX;

/// Folds `ops` (see the module docs); `None` when the share must be written as it came.
pub(super) fn fold(ops: &[RowOp], safe: bool) -> Option<Vec<Folded<'_>>> {
    let changes: Vec<Change> = ops.iter().map(classify).collect::<Option<_>>()?;
    // One target description per table name (a name reached through two column mappings
    // is written as it came). Looked up by the description's address; names are compared
    // only when a new description shows up.
    let mut tables: Vec<&Arc<TargetInfo>> = Vec::new();
    let mut table_of: HashMap<*const TargetInfo, usize, FxBuild> = HashMap::default();
    // Per key: (table, the change naming the key, net, next net of the same hash).
    let mut nets: Vec<(usize, usize, Net, usize)> = Vec::with_capacity(ops.len());
    // Key hash -> the last net of that hash (its chain goes on through `nets[n].3`).
    let mut by_hash: HashMap<u64, usize, FxBuild> =
        HashMap::with_capacity_and_hasher(ops.len(), FxBuild::default());
    for (i, (o, &c)) in ops.iter().zip(&changes).enumerate() {
        let t = match table_of.get(&Arc::as_ptr(&o.target)) {
            Some(&t) => t,
            None => {
                let name = o.target.table.name();
                if tables.iter().any(|t| t.table.name() == name) {
                    return None;
                }
                tables.push(&o.target);
                table_of.insert(Arc::as_ptr(&o.target), tables.len() - 1);
                tables.len() - 1
            }
        };
        let key = o.target.table.key();
        let img = key_image(o);
        let h = key_hash(img, key);
        let head = by_hash.get(&h).copied().unwrap_or(END);
        let mut found = None;
        let mut n = head;
        while n != END {
            let (nt, first, _, next) = nets[n];
            let other = key_image(&ops[first]);
            if nt == t && key.iter().all(|&k| other[k] == img[k]) {
                found = Some(n);
                break;
            }
            n = next;
        }
        match found {
            Some(n) => nets[n].2 = next(nets[n].2, c, i, safe)?,
            None => {
                by_hash.insert(h, nets.len());
                nets.push((t, i, next(Net::Nothing, c, i, safe)?, head));
            }
        }
    }
    let mut out: Vec<Folded> = tables
        .iter()
        .map(|&target| Folded {
            target,
            deletes: Vec::new(),
            updates: Vec::new(),
            inserts: Vec::new(),
        })
        .collect();
    let before = |i: usize| ops[i].change.before.as_deref().unwrap_or_default();
    let after = |i: usize| ops[i].change.after.as_deref().unwrap_or_default();
    for (t, _, net, _) in nets {
        let f = &mut out[t];
        match net {
            Net::Insert { after: a } => f.inserts.push(after(a)),
            Net::Update {
                before: b,
                after: a,
            } => f.updates.push((before(b), after(a))),
            Net::Delete { before: b } => f.deletes.push(before(b)),
            Net::DeleteInsert {
                before: b,
                after: a,
            } => {
                f.deletes.push(before(b));
                f.inserts.push(after(a));
            }
            Net::Nothing => {}
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::{TargetColumn, TargetTable};
    use crate::causality::{CausalityKey, KeyIndex, TableKeys};
    use crate::reader::RowChange;
    use ferry_model::TableName;

    fn target(unique_keys: usize) -> Arc<TargetInfo> {
        let name = TableName::new("d", "t");
        let mut indexes = vec![KeyIndex::new("PRIMARY", vec![0])];
        for n in 1..unique_keys {
            indexes.push(KeyIndex::new(format!("u{n}"), vec![1]));
        }
        Arc::new(TargetInfo {
            table: TargetTable::new(
                name.clone(),
                vec![TargetColumn::new("id"), TargetColumn::new("v")],
                vec![0],
                false,
            )
            .unwrap(),
            keys: TableKeys::new(name.clone(), indexes),
            wide_key: CausalityKey::new(&name, "", &[]).unwrap(),
            row_keys: vec![vec![0]],
        })
    }

    fn row(id: i64, v: i64) -> Vec<RowValue> {
        vec![RowValue::Int(id), RowValue::Int(v)]
    }

    fn op(t: &Arc<TargetInfo>, before: Option<(i64, i64)>, after: Option<(i64, i64)>) -> RowOp {
        RowOp {
            target: t.clone(),
            change: RowChange {
                before: before.map(|(i, v)| row(i, v)),
                after: after.map(|(i, v)| row(i, v)),
            },
        }
    }

    fn ids(images: &[&[RowValue]]) -> Vec<(RowValue, RowValue)> {
        images
            .iter()
            .map(|r| (r[0].clone(), r[1].clone()))
            .collect()
    }

    #[test]
    fn each_key_folds_to_its_net_change_and_kinds_are_grouped() {
        let t = target(1);
        let ops = vec![
            op(&t, None, Some((1, 10))),          // insert 1
            op(&t, Some((5, 50)), Some((5, 51))), // update 5
            op(&t, Some((1, 10)), Some((1, 11))), // insert 1, updated: insert (1, 11)
            op(&t, None, Some((2, 20))),          // insert 2 ...
            op(&t, Some((2, 20)), None),          // ... deleted: nothing
            op(&t, Some((5, 51)), Some((5, 52))), // update 5 again: 50 -> 52
            op(&t, Some((6, 60)), None),          // delete 6 ...
            op(&t, None, Some((6, 61))),          // ... and insert it again
            op(&t, Some((7, 70)), Some((7, 71))), // update 7 ...
            op(&t, Some((7, 71)), None),          // ... then delete it: delete (7, 70)
        ];
        let f = fold(&ops, false).expect("foldable");
        assert_eq!(f.len(), 1);
        let f = &f[0];
        assert_eq!(
            ids(&f.deletes),
            [
                (RowValue::Int(6), RowValue::Int(60)),
                (RowValue::Int(7), RowValue::Int(70))
            ]
        );
        assert_eq!(f.updates.len(), 1);
        assert_eq!(f.updates[0].0, row(5, 50).as_slice());
        assert_eq!(f.updates[0].1, row(5, 52).as_slice());
        assert_eq!(
            ids(&f.inserts),
            [
                (RowValue::Int(1), RowValue::Int(11)),
                (RowValue::Int(6), RowValue::Int(61))
            ]
        );
    }

    #[test]
    fn safe_mode_keeps_the_delete_of_an_inserted_row() {
        let t = target(1);
        let ops = vec![op(&t, None, Some((2, 20))), op(&t, Some((2, 20)), None)];
        let f = fold(&ops, true).unwrap();
        assert_eq!(ids(&f[0].deletes), [(RowValue::Int(2), RowValue::Int(20))]);
        assert!(f[0].inserts.is_empty());
        let f = fold(&ops, false).unwrap();
        assert!(f[0].deletes.is_empty() && f[0].inserts.is_empty());
    }

    #[test]
    fn what_cannot_be_folded_is_left_as_it_came() {
        // Another unique key: an update may free a value another row takes.
        let u = target(2);
        assert!(fold(&[op(&u, None, Some((1, 1)))], false).is_none());
        // A key-changing update.
        let t = target(1);
        assert!(fold(&[op(&t, Some((1, 1)), Some((2, 1)))], false).is_none());
        // An image without all its columns.
        let mut partial = op(&t, None, Some((1, 1)));
        partial.change.after.as_mut().unwrap()[1] = RowValue::Absent;
        assert!(fold(&[partial], false).is_none());
        // Not one row's history: an insert of a row inserted just before.
        assert!(fold(
            &[op(&t, None, Some((1, 1))), op(&t, None, Some((1, 2)))],
            false
        )
        .is_none());
        // One table name through two different target descriptions.
        let t2 = target(1);
        assert!(fold(
            &[op(&t, None, Some((1, 1))), op(&t2, None, Some((2, 1)))],
            false
        )
        .is_none());
    }
}
