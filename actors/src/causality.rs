//! Causality: which DML worker may apply a row change (pure logic, no I/O).
//!
//! As in DM's causality ([tiflow `dm/syncer/causality.go`]), each row change yields keys
//! from the values of its target table's primary key and of every unique key, for the before
//! image and the after image (an update that changes a key holds both the old and the new
//! value). The [`Dispatcher`] keeps the rows that share a key on the same worker, in arrival
//! order, so that each worker may apply its queue in parallel with the others.
//!
//! # Keys
//!
//! A [`CausalityKey`] is the target table (after routing: shards merged into one table share
//! keys), the index name and the encoded values of the index columns.
//!
//! - A unique key with a `NULL` column gives no key (`NULL`s never collide in a unique
//!   index); neither does an index with a column missing from the image
//!   (`binlog_row_image=MINIMAL`/`NOBLOB`: the before image may lack the unique-key columns,
//!   which loses the old key; use `FULL` images with parallel workers).
//! - When a table has keys but an image gives none (e.g. its only unique key is `NULL`), the
//!   image gets a table-wide fallback key (index name empty): the keyless rows of that table
//!   stay together, and an update from `NULL` to a value links the value to them.
//! - **A table without any primary or unique key gives no keys**: the dispatcher sends every
//!   such row to worker 0. Their statements match rows by all column values, and duplicate rows
//!   are indistinguishable, so only one fixed queue keeps their order (and that of rows of
//!   several such tables) right.
//! - Text is compared loosely: ASCII case is folded and trailing spaces are trimmed (the
//!   default collations are case-insensitive and `PAD SPACE`). A loose match only puts two
//!   rows on one worker; it never splits rows that collide. Non-ASCII collation equivalences
//!   (accents, `ß`) are not folded and may then escape causality.
//!
//! # Dispatch and flushes
//!
//! [`Dispatcher::assign`] returns [`Assignment::Conflict`] when a row's keys are already held
//! by two different workers: the caller must then flush **all** workers (wait until each has
//! committed its queue), call [`Dispatcher::reset`], and assign the row again. Memory is
//! bounded only by flushes: the key map grows with every keyed row until `reset`, so the
//! caller must flush and reset at least every `batch × worker_count` rows, or earlier on a
//! byte budget ([`Dispatcher::key_count`] helps to measure it).

use std::collections::HashMap;

use ferry_model::TableName;

use crate::reader::{RowChange, RowValue};

/// One unique index of a target table: its name and its columns, as positions in the row
/// images (the upstream table's column order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyIndex {
    /// Index name (`PRIMARY` for the primary key).
    pub name: String,
    /// Positions of the index columns in the row image.
    pub columns: Vec<usize>,
}

/// The keys of one target table: primary key first (if any), then the unique keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableKeys {
    /// Target table (after routing).
    pub table: TableName,
    /// Primary and unique indexes; empty for a table without keys.
    pub indexes: Vec<KeyIndex>,
}

/// A causality key: target table, index name and encoded index values, as opaque bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CausalityKey(Vec<u8>);

impl CausalityKey {
    /// The key of `index` of `table` with `values`, or `None` when a value is `NULL` or
    /// absent from the image.
    pub fn new(table: &TableName, index: &str, values: &[&RowValue]) -> Option<Self> {
        let mut buf = Vec::with_capacity(32);
        put_bytes(&mut buf, table.schema.as_bytes());
        put_bytes(&mut buf, table.table.as_bytes());
        put_bytes(&mut buf, index.as_bytes());
        for v in values {
            encode_value(&mut buf, v)?;
        }
        Some(Self(buf))
    }

    /// The table-wide fallback key of `table` (for images that give no other key).
    fn table_wide(table: &TableName) -> Self {
        let mut buf = Vec::with_capacity(16);
        put_bytes(&mut buf, table.schema.as_bytes());
        put_bytes(&mut buf, table.table.as_bytes());
        put_bytes(&mut buf, b"");
        Self(buf)
    }

    /// Stable 64-bit hash of the key (FNV-1a then a 64-bit finalizer): the same in every
    /// process and Rust version, unlike `std`'s `DefaultHasher`.
    pub fn stable_hash(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &b in &self.0 {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // splitmix64 finalizer: FNV's low bits alone spread small keys poorly.
        h ^= h >> 30;
        h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h ^= h >> 27;
        h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^ (h >> 31)
    }
}

/// The causality keys of `change` for a table with `keys`: the keys of the before image, then
/// those of the after image, without duplicates. Empty for a table without keys.
pub fn row_keys(keys: &TableKeys, change: &RowChange) -> Vec<CausalityKey> {
    let mut out: Vec<CausalityKey> = Vec::new();
    if keys.indexes.is_empty() {
        return out;
    }
    for image in [&change.before, &change.after].into_iter().flatten() {
        let mut found = false;
        for index in &keys.indexes {
            let values: Option<Vec<&RowValue>> =
                index.columns.iter().map(|&c| image.get(c)).collect();
            let key = values.and_then(|v| CausalityKey::new(&keys.table, &index.name, &v));
            if let Some(key) = key {
                found = true;
                if !out.contains(&key) {
                    out.push(key);
                }
            }
        }
        if !found {
            let key = CausalityKey::table_wide(&keys.table);
            if !out.contains(&key) {
                out.push(key);
            }
        }
    }
    out
}

/// Where a row change goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignment {
    /// Queue the row on this worker (0-based).
    Worker(usize),
    /// The row's keys are held by different workers: flush all workers, [`Dispatcher::reset`],
    /// then assign the row again.
    Conflict,
}

/// Assigns row changes to `worker_count` queues by their causality keys.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    workers: usize,
    owners: HashMap<CausalityKey, usize>,
}

impl Dispatcher {
    /// A dispatcher over `worker_count` workers (at least 1).
    pub fn new(worker_count: usize) -> Self {
        Self {
            workers: worker_count.max(1),
            owners: HashMap::new(),
        }
    }

    /// Number of workers.
    pub fn worker_count(&self) -> usize {
        self.workers
    }

    /// Number of keys held since the last [`reset`](Self::reset).
    pub fn key_count(&self) -> usize {
        self.owners.len()
    }

    /// The worker for a row with `keys`:
    /// - no keys (table without keys): worker 0, always;
    /// - keys held by one worker: that worker, which now also holds the row's other keys;
    /// - keys held by two or more workers: [`Assignment::Conflict`] (nothing recorded);
    /// - fresh keys: the stable hash of the first key, modulo the worker count.
    pub fn assign(&mut self, keys: &[CausalityKey]) -> Assignment {
        let Some(first) = keys.first() else {
            return Assignment::Worker(0);
        };
        let mut owner = None;
        for key in keys {
            if let Some(&w) = self.owners.get(key) {
                match owner {
                    Some(o) if o != w => return Assignment::Conflict,
                    _ => owner = Some(w),
                }
            }
        }
        let worker = owner.unwrap_or_else(|| self.hash_worker(first));
        for key in keys {
            self.owners.entry(key.clone()).or_insert(worker);
        }
        Assignment::Worker(worker)
    }

    /// Forgets every key: call after all workers have flushed (committed their queues).
    pub fn reset(&mut self) {
        self.owners.clear();
        self.owners.shrink_to(1024);
    }

    fn hash_worker(&self, key: &CausalityKey) -> usize {
        // The modulo is below `workers`, a `usize`: the conversion cannot fail.
        usize::try_from(key.stable_hash() % self.workers as u64).unwrap_or(0)
    }
}

fn put_bytes(buf: &mut Vec<u8>, b: &[u8]) {
    buf.extend_from_slice(&(b.len() as u64).to_le_bytes());
    buf.extend_from_slice(b);
}

/// Appends a tag and the value; `None` for `NULL` and absent values.
fn encode_value(buf: &mut Vec<u8>, v: &RowValue) -> Option<()> {
    match v {
        RowValue::Absent | RowValue::Null => return None,
        // Signed and unsigned share one encoding: the same column may decode either way.
        RowValue::Int(i) => {
            buf.push(1);
            buf.extend_from_slice(&i128::from(*i).to_le_bytes());
        }
        RowValue::UInt(u) => {
            buf.push(1);
            buf.extend_from_slice(&i128::from(*u).to_le_bytes());
        }
        RowValue::Float(f) => {
            buf.push(2);
            let f = if *f == 0.0 { 0.0 } else { *f };
            buf.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        RowValue::Double(d) => {
            buf.push(3);
            let d = if *d == 0.0 { 0.0 } else { *d };
            buf.extend_from_slice(&d.to_bits().to_le_bytes());
        }
        RowValue::Decimal(s) => {
            buf.push(4);
            put_bytes(buf, s.as_bytes());
        }
        RowValue::Bytes(b) => {
            buf.push(5);
            let mut end = b.len();
            while end > 0 && b[end - 1] == b' ' {
                end -= 1;
            }
            put_bytes(buf, &b[..end].to_ascii_lowercase());
        }
        RowValue::Bit(b) => {
            buf.push(6);
            put_bytes(buf, b);
        }
        RowValue::Enum(e) => {
            buf.push(7);
            buf.extend_from_slice(&e.to_le_bytes());
        }
        RowValue::Set(s) => {
            buf.push(8);
            buf.extend_from_slice(&s.to_le_bytes());
        }
        RowValue::Year(y) => {
            buf.push(9);
            buf.extend_from_slice(&y.to_le_bytes());
        }
        RowValue::Date(d) => {
            buf.push(10);
            buf.extend_from_slice(&d.year.to_le_bytes());
            buf.extend_from_slice(&[d.month, d.day]);
        }
        RowValue::DateTime(t) => {
            buf.push(11);
            buf.extend_from_slice(&t.date.year.to_le_bytes());
            buf.extend_from_slice(&[t.date.month, t.date.day, t.hour, t.minute, t.second]);
            buf.extend_from_slice(&t.micros.to_le_bytes());
        }
        RowValue::Time(t) => {
            buf.push(12);
            buf.push(u8::from(t.negative));
            buf.extend_from_slice(&t.hours.to_le_bytes());
            buf.extend_from_slice(&[t.minute, t.second]);
            buf.extend_from_slice(&t.micros.to_le_bytes());
        }
        RowValue::Timestamp { secs, micros } => {
            buf.push(13);
            buf.extend_from_slice(&secs.to_le_bytes());
            buf.extend_from_slice(&micros.to_le_bytes());
        }
        RowValue::Json(j) => {
            buf.push(14);
            put_bytes(buf, j.to_string().as_bytes());
        }
        RowValue::PartialJson(p) => {
            // Not a valid key column; encoded for completeness.
            buf.push(15);
            put_bytes(buf, format!("{p:?}").as_bytes());
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `t(id PK, u UNIQUE, v UNIQUE, x)`.
    fn keyed() -> TableKeys {
        TableKeys {
            table: TableName::new("db", "t"),
            indexes: vec![
                KeyIndex {
                    name: "PRIMARY".into(),
                    columns: vec![0],
                },
                KeyIndex {
                    name: "u".into(),
                    columns: vec![1],
                },
                KeyIndex {
                    name: "v".into(),
                    columns: vec![2],
                },
            ],
        }
    }

    /// `n(a, b)`: no keys.
    fn keyless(name: &str) -> TableKeys {
        TableKeys {
            table: TableName::new("db", name),
            indexes: vec![],
        }
    }

    fn row(id: i64, u: Option<i64>, v: Option<&str>) -> Vec<RowValue> {
        vec![
            RowValue::Int(id),
            u.map_or(RowValue::Null, RowValue::Int),
            v.map_or(RowValue::Null, |s| RowValue::Bytes(s.as_bytes().to_vec())),
            RowValue::Int(0),
        ]
    }

    fn ins(r: Vec<RowValue>) -> RowChange {
        RowChange {
            before: None,
            after: Some(r),
        }
    }

    fn upd(b: Vec<RowValue>, a: Vec<RowValue>) -> RowChange {
        RowChange {
            before: Some(b),
            after: Some(a),
        }
    }

    fn del(r: Vec<RowValue>) -> RowChange {
        RowChange {
            before: Some(r),
            after: None,
        }
    }

    fn pk(id: i64) -> CausalityKey {
        CausalityKey::new(&TableName::new("db", "t"), "PRIMARY", &[&RowValue::Int(id)]).unwrap()
    }

    fn assign(d: &mut Dispatcher, c: &RowChange) -> Assignment {
        d.assign(&row_keys(&keyed(), c))
    }

    /// The worker of an insert of row `id` (no unique values).
    fn worker_of(d: &mut Dispatcher, id: i64) -> usize {
        match assign(d, &ins(row(id, None, None))) {
            Assignment::Worker(w) => w,
            Assignment::Conflict => panic!("conflict for {id}"),
        }
    }

    #[test]
    fn keys_from_pk_and_each_unique_key() {
        let k = row_keys(&keyed(), &ins(row(1, Some(2), Some("a"))));
        assert_eq!(k.len(), 3);
        assert_eq!(k[0], pk(1));
        // NULL unique values give no key.
        let k = row_keys(&keyed(), &ins(row(1, None, None)));
        assert_eq!(k, vec![pk(1)]);
        // Same value, different index or table: different keys.
        let k = row_keys(&keyed(), &ins(row(7, Some(7), None)));
        assert_ne!(k[0], k[1]);
        let other = CausalityKey::new(&TableName::new("db", "t2"), "PRIMARY", &[&RowValue::Int(7)]);
        assert_ne!(Some(k[0].clone()), other);
        // Signed and unsigned decodings of one value agree; text is compared loosely.
        let t = TableName::new("db", "t");
        assert_eq!(
            CausalityKey::new(&t, "u", &[&RowValue::Int(5)]),
            CausalityKey::new(&t, "u", &[&RowValue::UInt(5)])
        );
        assert_eq!(
            CausalityKey::new(&t, "u", &[&RowValue::Bytes(b"Ab ".to_vec())]),
            CausalityKey::new(&t, "u", &[&RowValue::Bytes(b"aB".to_vec())])
        );
        // Multi-column key: ("a", "bc") and ("ab", "c") differ.
        let ab = [
            &RowValue::Bytes(b"a".to_vec()),
            &RowValue::Bytes(b"bc".to_vec()),
        ];
        let abc = [
            &RowValue::Bytes(b"ab".to_vec()),
            &RowValue::Bytes(b"c".to_vec()),
        ];
        assert_ne!(
            CausalityKey::new(&t, "m", &ab),
            CausalityKey::new(&t, "m", &abc)
        );
        // Absent columns (minimal images) give no key.
        assert_eq!(CausalityKey::new(&t, "u", &[&RowValue::Absent]), None);
    }

    #[test]
    fn same_key_stays_on_one_worker() {
        let mut d = Dispatcher::new(4);
        let w = worker_of(&mut d, 1);
        // Other rows in between do not move it.
        for id in 100..200 {
            worker_of(&mut d, id);
        }
        let r = || row(1, Some(10), None);
        assert_eq!(
            assign(&mut d, &upd(r(), row(1, Some(10), Some("x")))),
            Assignment::Worker(w)
        );
        assert_eq!(
            assign(&mut d, &del(row(1, Some(10), Some("x")))),
            Assignment::Worker(w)
        );
        assert_eq!(assign(&mut d, &ins(r())), Assignment::Worker(w));
        // A new row reusing a unique value of row 1 follows it.
        assert_eq!(
            assign(&mut d, &ins(row(1_000_000, Some(10), None))),
            Assignment::Worker(w)
        );
    }

    #[test]
    fn update_holds_old_and_new_keys() {
        let mut d = Dispatcher::new(4);
        // Find ids 1 and b on different workers.
        let w1 = worker_of(&mut d, 1);
        let (b, wb) = (2..)
            .map(|i| (i, worker_of(&mut d, i)))
            .find(|&(_, w)| w != w1)
            .unwrap();
        d.reset();
        // Update of the PK from 1 to a fresh id: both ids now belong to w1.
        let w = worker_of(&mut d, 1);
        assert_eq!(w, w1);
        let u = upd(row(1, None, None), row(b, None, None));
        let keys = row_keys(&keyed(), &u);
        assert_eq!(keys, vec![pk(1), pk(b)]);
        assert_eq!(d.assign(&keys), Assignment::Worker(w1));
        // Later rows with the new key follow the old one, not their own hash (wb).
        assert_ne!(wb, w1);
        assert_eq!(
            assign(&mut d, &del(row(b, None, None))),
            Assignment::Worker(w1)
        );
    }

    #[test]
    fn keys_on_two_workers_conflict() {
        let mut d = Dispatcher::new(4);
        let a = assign(&mut d, &ins(row(1, Some(1), Some("a"))));
        // A row whose PK hashes elsewhere, holding unique value u=2.
        let (id2, _) = (2..)
            .map(|i| (i, assign(&mut d, &ins(row(i, Some(i + 1000), None)))))
            .find(|&(_, w)| w != a)
            .unwrap();
        // A row joins row 1's worker through u=1, then an update takes row id2's u: conflict.
        let c = ins(row(3_000_000, Some(1), None));
        assert_eq!(assign(&mut d, &c), a);
        let conflicting = upd(
            row(3_000_000, Some(1), None),
            row(3_000_000, Some(id2 + 1000), None),
        );
        assert_eq!(assign(&mut d, &conflicting), Assignment::Conflict);
        // Nothing was recorded for the conflicting row; after a flush and reset it goes through.
        let n = d.key_count();
        assert_eq!(assign(&mut d, &conflicting), Assignment::Conflict);
        assert_eq!(d.key_count(), n);
        d.reset();
        assert!(matches!(
            assign(&mut d, &conflicting),
            Assignment::Worker(_)
        ));
    }

    #[test]
    fn keyless_tables_pinned_to_worker_zero() {
        let mut d = Dispatcher::new(4);
        let r = |a: i64| vec![RowValue::Int(a), RowValue::Null];
        for t in ["n1", "n2"] {
            for i in 0..50 {
                let keys = row_keys(&keyless(t), &ins(r(i)));
                assert!(keys.is_empty());
                assert_eq!(d.assign(&keys), Assignment::Worker(0));
                let keys = row_keys(&keyless(t), &upd(r(i), r(i + 1)));
                assert_eq!(d.assign(&keys), Assignment::Worker(0));
            }
        }
        assert_eq!(d.key_count(), 0);
    }

    #[test]
    fn keyless_image_of_keyed_table_uses_table_key() {
        // t(u UNIQUE, x): rows with u NULL share the table-wide key, and an update from NULL
        // to a value links both.
        let t = TableKeys {
            table: TableName::new("db", "t"),
            indexes: vec![KeyIndex {
                name: "u".into(),
                columns: vec![0],
            }],
        };
        let r = |u: Option<i64>, x: i64| {
            vec![u.map_or(RowValue::Null, RowValue::Int), RowValue::Int(x)]
        };
        let mut d = Dispatcher::new(8);
        let w = d.assign(&row_keys(&t, &ins(r(None, 1))));
        let u = row_keys(&t, &upd(r(None, 1), r(Some(5), 1)));
        assert_eq!(u.len(), 2);
        assert_eq!(d.assign(&u), w);
        assert_eq!(d.assign(&row_keys(&t, &del(r(Some(5), 1)))), w);
    }

    #[test]
    fn reset_forgets_keys() {
        let mut d = Dispatcher::new(4);
        for id in 0..100 {
            worker_of(&mut d, id);
        }
        assert_eq!(d.key_count(), 100);
        d.reset();
        assert_eq!(d.key_count(), 0);
        // After reset, a key goes to its hash worker even if it followed another one before.
        let mut fresh = Dispatcher::new(4);
        let w1 = worker_of(&mut fresh, 1);
        let (b, wb) = (2..)
            .map(|i| (i, worker_of(&mut fresh, i)))
            .find(|&(_, w)| w != w1)
            .unwrap();
        let mut d = Dispatcher::new(4);
        worker_of(&mut d, 1);
        d.assign(&row_keys(
            &keyed(),
            &upd(row(1, None, None), row(b, None, None)),
        ));
        assert_eq!(worker_of(&mut d, b), w1);
        d.reset();
        assert_eq!(worker_of(&mut d, b), wb);
    }

    #[test]
    fn distinct_keys_use_all_workers() {
        let mut d = Dispatcher::new(4);
        let mut counts = [0usize; 4];
        for id in 0..1000 {
            counts[worker_of(&mut d, id)] += 1;
        }
        for c in counts {
            assert!(c > 150, "unbalanced: {counts:?}");
        }
        // Text keys too.
        let mut d = Dispatcher::new(4);
        let mut used = [false; 4];
        for i in 0..1000 {
            let s = format!("user{i}");
            match assign(&mut d, &ins(row(-1 - i, Some(i), Some(&s)))) {
                Assignment::Worker(w) => used[w] = true,
                Assignment::Conflict => panic!("conflict"),
            }
        }
        assert_eq!(used, [true; 4]);
    }

    #[test]
    fn deterministic_and_independent_of_unrelated_rows() {
        let changes: Vec<RowChange> = (0..500)
            .map(|i| match i % 3 {
                0 => ins(row(i, Some(i * 2), None)),
                1 => upd(
                    row(i - 1, Some(i * 2 - 2), None),
                    row(i - 1, Some(i * 7), Some("z")),
                ),
                _ => del(row(i / 2, None, None)),
            })
            .collect();
        let run = || {
            let mut d = Dispatcher::new(5);
            changes
                .iter()
                .map(|c| assign(&mut d, c))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
        // A fresh key lands on the same worker whatever arrived before it.
        let mut a = Dispatcher::new(4);
        let mut b = Dispatcher::new(4);
        for id in 10..60 {
            worker_of(&mut b, id);
        }
        assert_eq!(worker_of(&mut a, 1), worker_of(&mut b, 1));
        // Stable across processes and versions: a pinned value.
        assert_eq!(pk(1).stable_hash(), 14_912_485_034_370_544_326);
        assert_eq!(Dispatcher::new(0).worker_count(), 1);
    }
}
