//! Splits a batch of row changes between writers (pure).
//!
//! Changes that share a causality key (same primary/unique key value of the same table, old
//! or new image; or the table itself for tables without keys) must be applied in binlog order
//! by one writer. The batch is split into connected components of "shares a key" and each
//! component goes to the writer chosen by the smallest key hash in it. The result depends only
//! on the batch and the number of writers, so a batch re-read after a crash is split exactly as
//! before: that is what lets each writer skip precisely its own committed share.

use std::collections::HashMap;

use crate::causality::CausalityKey;

/// The writer of each change (same order as `keys`), for `workers` writers. `keys[i]` lists
/// the causality keys of change `i` (never empty: use a table-wide key for keyless tables).
pub fn assign(keys: &[Vec<CausalityKey>], workers: usize) -> Vec<usize> {
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
    let mut first: HashMap<&CausalityKey, usize> = HashMap::with_capacity(n * 2);
    for (i, ks) in keys.iter().enumerate() {
        for k in ks {
            match first.get(k) {
                Some(&j) => {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                    if a != b {
                        parent[a.max(b)] = a.min(b);
                    }
                }
                None => {
                    first.insert(k, i);
                }
            }
        }
    }
    let mut min_hash: HashMap<usize, u64> = HashMap::new();
    for (i, ks) in keys.iter().enumerate() {
        let root = find(&mut parent, i);
        let h = ks.iter().map(|k| k.stable_hash()).min().unwrap_or(0);
        let e = min_hash.entry(root).or_insert(u64::MAX);
        *e = (*e).min(h);
    }
    (0..n)
        .map(|i| {
            let root = find(&mut parent, i);
            (min_hash[&root] % workers as u64) as usize
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::RowValue;
    use ferry_model::TableName;

    fn key(t: &str, v: i64) -> CausalityKey {
        CausalityKey::new(&TableName::new("db", t), "PRIMARY", &[&RowValue::Int(v)]).unwrap()
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
    fn a_table_wide_key_keeps_a_keyless_table_on_one_writer() {
        let wide = CausalityKey::new(&TableName::new("db", "nokey"), "", &[]).unwrap();
        let keys: Vec<_> = (0..50).map(|_| vec![wide.clone()]).collect();
        let a = assign(&keys, 4);
        assert!(a.iter().all(|&w| w == a[0]));
    }
}
