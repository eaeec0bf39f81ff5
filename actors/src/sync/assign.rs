//! Splits a batch of row changes between writers (pure).
//!
//! Changes that share a causality key (same primary/unique key value of the same table, old
//! or new image; or the table itself for tables without keys) must be applied in binlog order
//! by one writer. The batch is split into connected components of "shares a key" and each
//! component goes to the writer chosen by the smallest key hash in it. The result depends only
//! on the batch and the number of writers, so a batch re-read after a crash is split exactly as
//! before: that is what lets each writer skip precisely its own committed share.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use crate::causality::CausalityKey;
use crate::fx_hash::FxBuild;

/// The writer of each change (same order as `keys`), for `workers` writers. `keys[i]` lists
/// the causality keys of change `i` (never empty: use a table-wide key for keyless tables).
/// Each writer then applies its changes in batch order, hence in binlog order.
pub fn assign<K: AsRef<[CausalityKey]>>(keys: &[K], workers: usize) -> Vec<usize> {
    let workers = workers.max(1);
    let n = keys.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    let mut first: HashMap<&CausalityKey, usize, FxBuild> =
        HashMap::with_capacity_and_hasher(n * 2, FxBuild::default());
    for (i, ks) in keys.iter().enumerate() {
        for k in ks.as_ref() {
            match first.entry(k) {
                Entry::Occupied(e) => {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, *e.get()));
                    if a != b {
                        parent[a.max(b)] = a.min(b);
                    }
                }
                Entry::Vacant(e) => {
                    e.insert(i);
                }
            }
        }
    }
    // Per component root, the smallest stable hash of its keys.
    let mut min_hash: Vec<u64> = vec![u64::MAX; n];
    let mut roots: Vec<usize> = Vec::with_capacity(n);
    for (i, ks) in keys.iter().enumerate() {
        let root = find(&mut parent, i);
        roots.push(root);
        let h = ks
            .as_ref()
            .iter()
            .map(|k| k.stable_hash())
            .min()
            .unwrap_or(0);
        min_hash[root] = min_hash[root].min(h);
    }
    roots
        .into_iter()
        .map(|root| (min_hash[root] % workers as u64) as usize)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::{TargetColumn, TargetTable};
    use crate::causality::{KeyIndex, TableKeys};
    use crate::reader::{RowChange, RowValue};
    use crate::sync::target::TargetInfo;
    use ferry_model::TableName;

    fn key(t: &str, v: i64) -> CausalityKey {
        CausalityKey::new(&TableName::new("db", t), "PRIMARY", &[&RowValue::Int(v)]).unwrap()
    }

    /// `db.t(id, u, x)`, with `id` the primary key and `u` a unique key when `keyed`, else
    /// without keys.
    fn target(keyed: bool) -> TargetInfo {
        let name = TableName::new("db", "t");
        let indexes = if keyed {
            vec![
                KeyIndex::new("PRIMARY", vec![0]),
                KeyIndex::new("u", vec![1]),
            ]
        } else {
            vec![]
        };
        TargetInfo {
            table: TargetTable::new(
                name.clone(),
                ["id", "u", "x"].map(TargetColumn::new).to_vec(),
                if keyed { vec![0] } else { vec![] },
                false,
            )
            .unwrap(),
            keys: TableKeys::new(name.clone(), indexes),
            wide_key: CausalityKey::new(&name, "", &[]).unwrap(),
            row_keys: if keyed { vec![vec![0]] } else { vec![] },
        }
    }

    fn row(id: i64, u: Option<i64>) -> Vec<RowValue> {
        vec![
            RowValue::Int(id),
            u.map_or(RowValue::Null, RowValue::Int),
            RowValue::Int(0),
        ]
    }

    fn change(before: Option<Vec<RowValue>>, after: Option<Vec<RowValue>>) -> RowChange {
        RowChange { before, after }
    }

    /// The writers of `changes` to `t`, keyed as the coordinator keys them.
    fn writers(t: &TargetInfo, changes: &[RowChange], workers: usize) -> Vec<usize> {
        let keys: Vec<_> = changes.iter().map(|c| t.keys_of(c)).collect();
        assign(&keys, workers)
    }

    #[test]
    fn changes_sharing_a_key_go_to_one_writer_and_the_split_is_deterministic() {
        // Row 1 updated to key 2 links keys 1 and 2; key 2 then deleted; key 3 independent.
        let keys = vec![
            vec![key("t", 1)],
            vec![key("t", 1), key("t", 2)],
            vec![key("t", 2)],
            vec![key("t", 3)],
            vec![key("u", 1)],
        ];
        for workers in [1, 2, 3, 16] {
            let a = assign(&keys, workers);
            assert_eq!(a[0], a[1]);
            assert_eq!(a[1], a[2]);
            assert!(a.iter().all(|&w| w < workers));
            assert_eq!(a, assign(&keys, workers), "deterministic");
        }
    }

    #[test]
    fn rows_sharing_a_key_go_to_one_writer_whatever_lies_between() {
        let t = target(true);
        // Row 1 (u = 10) has its unique value changed, is deleted and inserted again; row 2
        // takes u = 10 back, moves to id 3 and is deleted. Unrelated rows lie in between.
        let story = [
            change(None, Some(row(1, Some(10)))),
            change(Some(row(1, Some(10))), Some(row(1, Some(11)))),
            change(Some(row(1, Some(11))), None),
            change(None, Some(row(1, None))),
            change(None, Some(row(2, Some(10)))),
            change(Some(row(2, Some(10))), Some(row(3, Some(10)))),
            change(Some(row(3, Some(10))), None),
        ];
        let mut changes = Vec::new();
        let mut related = Vec::new();
        for (i, c) in (0..).zip(story) {
            related.push(changes.len());
            changes.push(c);
            changes.extend((0..30).map(|j| change(None, Some(row(1000 + 30 * i + j, None)))));
        }
        for workers in [2, 3, 4, 8] {
            let w = writers(&t, &changes, workers);
            assert_eq!(w.len(), changes.len());
            assert!(related.iter().all(|&i| w[i] == w[related[0]]), "{w:?}");
            // An unrelated row goes where it would go alone: the story does not drag it along.
            for (i, c) in changes.iter().enumerate() {
                if !related.contains(&i) {
                    assert_eq!(w[i], writers(&t, std::slice::from_ref(c), workers)[0]);
                }
            }
        }
    }

    #[test]
    fn independent_keys_spread_over_writers() {
        let keys: Vec<_> = (0..1000).map(|i| vec![key("t", i)]).collect();
        let a = assign(&keys, 8);
        let mut count = [0usize; 8];
        for w in a {
            count[w] += 1;
        }
        assert!(count.iter().all(|&c| c > 60), "{count:?}");
    }

    #[test]
    fn a_table_without_keys_goes_to_one_writer() {
        let t = target(false);
        // Duplicate rows, updates and deletes: every change holds the table-wide key only.
        let changes: Vec<_> = (0..60)
            .map(|i| match i % 3 {
                0 => change(None, Some(row(i % 5, None))),
                1 => change(Some(row(i % 5, None)), Some(row(i, Some(i)))),
                _ => change(Some(row(i - 1, Some(i - 1))), None),
            })
            .collect();
        assert!(changes
            .iter()
            .all(|c| t.keys_of(c).as_slice() == [t.wide_key.clone()]));
        for workers in [1, 2, 4, 8] {
            let w = writers(&t, &changes, workers);
            assert!(w.iter().all(|&x| x == w[0]), "{w:?}");
        }
    }
}
