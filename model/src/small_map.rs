//! [`SmallMap`]: a map kept as a sorted vector whose first entry lives inline. A GTID set
//! is copied into every transaction boundary the binlog reader passes (tens of thousands
//! per second on a busy upstream); with one server in the set — the usual case — copying it
//! allocates nothing.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, SerializeMap, Serializer};
use smallvec::SmallVec;

/// A map ordered by key, as a sorted vector (the first entry inline). Lookups are binary
/// searches; meant for the few keys of a GTID set. Serializes as a map, like a `BTreeMap`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SmallMap<K, V>(SmallVec<[(K, V); 1]>);

impl<K, V> Default for SmallMap<K, V> {
    fn default() -> Self {
        Self(SmallVec::new())
    }
}

impl<K: Ord, V> SmallMap<K, V> {
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True without entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn find<Q>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.0.binary_search_by(|(k, _)| k.borrow().cmp(key))
    }

    /// The value of `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(key).ok().map(|i| &self.0[i].1)
    }

    /// The value of `key`, made by `make_key` and `V::default()` when absent (the key is
    /// only built then).
    pub fn get_or_insert_with<Q>(&mut self, key: &Q, make_key: impl FnOnce() -> K) -> &mut V
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
        V: Default,
    {
        let i = match self.find(key) {
            Ok(i) => i,
            Err(i) => {
                self.0.insert(i, (make_key(), V::default()));
                i
            }
        };
        &mut self.0[i].1
    }

    /// Sets `key` to `value`; the value it replaces, if any.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    /// The entries in key order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&K, &V)> {
        self.into_iter()
    }
}

impl<'a, K, V> IntoIterator for &'a SmallMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (K, V)>, fn(&'a (K, V)) -> (&'a K, &'a V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for SmallMap<K, V> {
    /// Later entries of a key replace earlier ones (as collecting into a `BTreeMap`).
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut m = Self::default();
        for (k, v) in iter {
            m.insert(k, v);
        }
        m
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for SmallMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self).finish()
    }
}

impl<K: Serialize, V: Serialize> Serialize for SmallMap<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de, K, V> Deserialize<'de> for SmallMap<K, V>
where
    K: Deserialize<'de> + Ord,
    V: Deserialize<'de>,
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Through a BTreeMap: any key order in, sorted and unique out.
        Ok(BTreeMap::<K, V>::deserialize(d)?.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_stay_sorted_and_unique() {
        let mut m: SmallMap<u32, &str> = SmallMap::default();
        assert!(m.is_empty());
        assert_eq!(m.insert(5, "e"), None);
        assert_eq!(m.insert(1, "a"), None);
        assert_eq!(m.insert(3, "c"), None);
        assert_eq!(m.insert(3, "C"), Some("c"));
        assert_eq!(m.iter().map(|(k, _)| *k).collect::<Vec<_>>(), [1, 3, 5]);
        assert_eq!(m.get(&3), Some(&"C"));
        assert_eq!(m.get(&4), None);
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn get_or_insert_with_builds_the_key_only_when_absent() {
        let mut m: SmallMap<String, Vec<u8>> = SmallMap::default();
        m.get_or_insert_with("b", || "b".to_string()).push(1);
        m.get_or_insert_with("b", || unreachable!("present"))
            .push(2);
        m.get_or_insert_with("a", || "a".to_string()).push(3);
        assert_eq!(
            format!("{m:?}"),
            r#"{"a": [3], "b": [1, 2]}"#,
            "sorted, values kept"
        );
        assert_eq!(m.get("b"), Some(&vec![1, 2]));
    }

    #[test]
    fn serializes_as_the_btree_map_it_replaces() {
        let m: SmallMap<u32, (u32, u64)> = [(7, (1, 2)), (0, (3, 4))].into_iter().collect();
        let b: BTreeMap<u32, (u32, u64)> = [(7, (1, 2)), (0, (3, 4))].into_iter().collect();
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, serde_json::to_string(&b).unwrap());
        let back: SmallMap<u32, (u32, u64)> =
            serde_json::from_str(r#"{"7":[1,2],"0":[3,4]}"#).unwrap();
        assert_eq!(back, m, "any key order reads back sorted");
    }

    #[test]
    fn one_entry_clones_without_a_heap_copy() {
        let m: SmallMap<u32, u64> = [(1, 2)].into_iter().collect();
        assert!(!m.0.spilled());
        let two: SmallMap<u32, u64> = [(1, 2), (3, 4)].into_iter().collect();
        assert!(two.0.spilled());
        assert_eq!(two.clone(), two);
    }
}
