//! Causality keys of row changes (pure logic, no I/O).
//!
//! Row changes that touch the same row, or the same unique value, must be applied by one
//! writer in binlog order. As in DM's causality (tiflow `dm/syncer/causality.go`), each row
//! change yields keys ([`row_keys`]) from the values of its target table's primary key and of
//! every unique key, for the before image and the after image (an update that changes a key
//! holds both the old and the new value). The Sync unit splits each batch between its writers
//! by these keys in `sync/assign.rs`: changes that share a key, directly or through other
//! changes, go to one writer, which applies them in batch order.
//!
//! # Keys
//!
//! A [`CausalityKey`] is the target table (after routing: shards merged into one table share
//! keys), the index name and the encoded values of the index columns. Its
//! [`stable_hash`](CausalityKey::stable_hash) is the same in every process, so a batch re-read
//! after a crash is split between the writers exactly as before.
//!
//! - A unique key with a `NULL` column gives no key (`NULL`s never collide in a unique
//!   index); neither does an index with a column missing from the image
//!   (`binlog_row_image=MINIMAL`/`NOBLOB`: the before image may lack the unique-key columns,
//!   which loses the old key; use `FULL` images with parallel writers).
//! - When a table has keys but an image gives none (e.g. its only unique key is `NULL`), the
//!   image gets the table-wide key (index name empty, no values): such images of that table
//!   share it, and an update from `NULL` to a value links the value to them.
//! - **A table without any primary or unique key gives no keys** here: the Sync unit gives
//!   each of its changes the table-wide key instead (`TargetInfo::keys_of`, in
//!   `sync/target.rs`), so they all go to one writer. Their statements match rows by all
//!   column values, and duplicate rows are indistinguishable, so only one writer applying them
//!   in binlog order keeps them right.
//! - Text is compared loosely: ASCII case is folded and trailing spaces are trimmed (the
//!   default collations are case-insensitive and `PAD SPACE`). A loose match only puts two
//!   rows on one writer; it never splits rows that collide. Non-ASCII collation equivalences
//!   (accents, `ß`) are not folded and may then escape causality.

use ferry_model::TableName;
use smallvec::SmallVec;

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

impl KeyIndex {
    /// The index `name` on `columns`.
    pub fn new(name: impl Into<String>, columns: Vec<usize>) -> Self {
        Self {
            name: name.into(),
            columns,
        }
    }
}

/// The keys of one target table: primary key first (if any), then the unique keys, with the
/// encoded start of each index's keys, built once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableKeys {
    table: TableName,
    indexes: Vec<KeyIndex>,
    /// Per index, the start of its keys.
    prefixes: Vec<KeyPrefix>,
}

impl TableKeys {
    /// The keys of `table` (after routing) by its primary and unique `indexes` (empty for a
    /// table without keys).
    pub fn new(table: TableName, indexes: Vec<KeyIndex>) -> Self {
        let prefixes = indexes
            .iter()
            .map(|i| KeyPrefix::new(&table, &i.name, i.columns.len()))
            .collect();
        Self {
            table,
            indexes,
            prefixes,
        }
    }

    /// The target table.
    pub fn table(&self) -> &TableName {
        &self.table
    }

    /// The primary and unique indexes.
    pub fn indexes(&self) -> &[KeyIndex] {
        &self.indexes
    }
}

/// The causality keys of one change: one, or a few (a changed key, unique keys).
pub type ChangeKeys = SmallVec<[CausalityKey; 2]>;

/// The encoded table and index names that start a key, and the stable hash's state after
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KeyPrefix {
    bytes: Vec<u8>,
    fnv: u64,
    /// Room for the values of a key, as estimated.
    values: usize,
}

impl KeyPrefix {
    /// For index `index` of `table`, with room for `values` small values.
    fn new(table: &TableName, index: &str, values: usize) -> Self {
        let mut bytes =
            Vec::with_capacity(24 + table.schema.len() + table.table.len() + index.len());
        put_bytes(&mut bytes, table.schema.as_bytes());
        put_bytes(&mut bytes, table.table.as_bytes());
        put_bytes(&mut bytes, index.as_bytes());
        let fnv = fnv1a(FNV_OFFSET, &bytes);
        Self {
            bytes,
            fnv,
            values: 17 * values,
        }
    }

    /// A key with this prefix: `encode` appends the values (`None`: no key).
    fn key(&self, encode: impl FnOnce(&mut Vec<u8>) -> Option<()>) -> Option<CausalityKey> {
        let mut bytes = Vec::with_capacity(self.bytes.len() + self.values);
        bytes.extend_from_slice(&self.bytes);
        encode(&mut bytes)?;
        let hash = finish(fnv1a(self.fnv, &bytes[self.bytes.len()..]));
        Some(CausalityKey { bytes, hash })
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a over `bytes` from state `h`.
fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// splitmix64 finalizer: FNV's low bits alone spread small keys poorly.
fn finish(mut h: u64) -> u64 {
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// A causality key: target table, index name and encoded index values, as opaque bytes,
/// with their stable hash (computed once; it is also the key's hash in hash maps).
#[derive(Debug, Clone)]
pub struct CausalityKey {
    bytes: Vec<u8>,
    hash: u64,
}

impl PartialEq for CausalityKey {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.bytes == other.bytes
    }
}

impl Eq for CausalityKey {}

impl std::hash::Hash for CausalityKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl CausalityKey {
    /// The key of `index` of `table` with `values`, or `None` when a value is `NULL` or
    /// absent from the image.
    pub fn new(table: &TableName, index: &str, values: &[&RowValue]) -> Option<Self> {
        KeyPrefix::new(table, index, values.len()).key(|buf| {
            for v in values {
                encode_value(buf, v)?;
            }
            Some(())
        })
    }

    /// The key of the index on `columns` that `prefix` starts, with the values of `image`
    /// (as [`CausalityKey::new`] with those values): `None` when a value is `NULL`, absent
    /// from the image, or beyond its end.
    fn of_image(prefix: &KeyPrefix, columns: &[usize], image: &[RowValue]) -> Option<Self> {
        prefix.key(|buf| {
            for &c in columns {
                encode_value(buf, image.get(c)?)?;
            }
            Some(())
        })
    }

    /// The table-wide key of `table` (for images that give no other key): the key of an
    /// index with an empty name and no columns.
    fn table_wide(table: &TableName) -> Self {
        let KeyPrefix { bytes, fnv, .. } = KeyPrefix::new(table, "", 0);
        Self {
            bytes,
            hash: finish(fnv),
        }
    }

    /// Stable 64-bit hash of the key (FNV-1a then a 64-bit finalizer): the same in every
    /// process and Rust version, unlike `std`'s `DefaultHasher`.
    pub fn stable_hash(&self) -> u64 {
        self.hash
    }
}

/// The causality keys of `change` for a table with `keys`: the keys of the before image, then
/// those of the after image, without duplicates. Empty for a table without keys (the Sync
/// unit then uses the table-wide key, see the module docs).
pub fn row_keys(keys: &TableKeys, change: &RowChange) -> ChangeKeys {
    let mut out = ChangeKeys::new();
    if keys.indexes.is_empty() {
        return out;
    }
    // The after image of an update that keeps every key's values (the common case) gives
    // the keys of its before image, already there: equal values encode alike.
    let after = match (&change.before, &change.after) {
        (Some(b), Some(a))
            if keys
                .indexes
                .iter()
                .all(|i| i.columns.iter().all(|&c| b.get(c) == a.get(c))) =>
        {
            None
        }
        (_, a) => a.as_ref(),
    };
    for image in [change.before.as_ref(), after].into_iter().flatten() {
        let mut found = false;
        for (index, prefix) in keys.indexes.iter().zip(&keys.prefixes) {
            let key = CausalityKey::of_image(prefix, &index.columns, image);
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
            buf.extend_from_slice(&(end as u64).to_le_bytes());
            buf.extend(b[..end].iter().map(u8::to_ascii_lowercase));
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

    fn ks(keys: Vec<CausalityKey>) -> ChangeKeys {
        ChangeKeys::from_vec(keys)
    }

    /// `t(id PK, u UNIQUE, v UNIQUE, x)`.
    fn keyed() -> TableKeys {
        TableKeys::new(
            TableName::new("db", "t"),
            vec![
                KeyIndex::new("PRIMARY", vec![0]),
                KeyIndex::new("u", vec![1]),
                KeyIndex::new("v", vec![2]),
            ],
        )
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

    /// The key of index `index` of `db.t` with the integer `v`.
    fn key(index: &str, v: i64) -> CausalityKey {
        CausalityKey::new(&TableName::new("db", "t"), index, &[&RowValue::Int(v)]).unwrap()
    }

    fn pk(id: i64) -> CausalityKey {
        key("PRIMARY", id)
    }

    #[test]
    fn keys_from_pk_and_each_unique_key() {
        let k = row_keys(&keyed(), &ins(row(1, Some(2), Some("a"))));
        assert_eq!(k.len(), 3);
        assert_eq!(k[0], pk(1));
        // NULL unique values give no key.
        let k = row_keys(&keyed(), &ins(row(1, None, None)));
        assert_eq!(k, ks(vec![pk(1)]));
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
    fn update_holds_old_and_new_keys() {
        // A primary key change holds both ids.
        let k = row_keys(&keyed(), &upd(row(1, None, None), row(2, None, None)));
        assert_eq!(k, ks(vec![pk(1), pk(2)]));
        // A unique value change holds both values, and the unchanged primary key once.
        let k = row_keys(
            &keyed(),
            &upd(row(1, Some(10), None), row(1, Some(11), None)),
        );
        assert_eq!(k, ks(vec![pk(1), key("u", 10), key("u", 11)]));
        // A delete holds the keys of its before image.
        let k = row_keys(&keyed(), &del(row(3, Some(4), None)));
        assert_eq!(k, ks(vec![pk(3), key("u", 4)]));
    }

    #[test]
    fn table_without_keys_gives_no_keys() {
        let n = TableKeys::new(TableName::new("db", "n"), vec![]);
        let r = |a: i64| vec![RowValue::Int(a), RowValue::Null];
        for change in [ins(r(1)), upd(r(1), r(2)), del(r(2))] {
            assert!(row_keys(&n, &change).is_empty());
        }
    }

    #[test]
    fn keyless_image_of_keyed_table_uses_table_wide_key() {
        // t(u UNIQUE, x): rows with u NULL share the table-wide key, and an update from NULL
        // to a value links both.
        let t = TableKeys::new(TableName::new("db", "t"), vec![KeyIndex::new("u", vec![0])]);
        let r = |u: Option<i64>, x: i64| {
            vec![u.map_or(RowValue::Null, RowValue::Int), RowValue::Int(x)]
        };
        let wide = CausalityKey::new(&t.table, "", &[]).unwrap();
        assert_eq!(row_keys(&t, &ins(r(None, 1))), ks(vec![wide.clone()]));
        assert_eq!(row_keys(&t, &ins(r(None, 2))), ks(vec![wide.clone()]));
        assert_eq!(
            row_keys(&t, &upd(r(None, 1), r(Some(5), 1))),
            ks(vec![wide.clone(), key("u", 5)])
        );
        assert_eq!(row_keys(&t, &del(r(Some(5), 1))), ks(vec![key("u", 5)]));
        // A minimal before image without the key column falls back too.
        let minimal = upd(vec![RowValue::Absent, RowValue::Int(1)], r(Some(6), 1));
        assert_eq!(row_keys(&t, &minimal), ks(vec![wide.clone(), key("u", 6)]));
        // Each table has its own table-wide key.
        let other = CausalityKey::new(&TableName::new("db", "t2"), "", &[]);
        assert_ne!(Some(wide), other);
    }

    #[test]
    fn keys_from_an_index_match_keys_built_from_scratch() {
        // Keys built from the table's stored prefixes are the same keys (bytes and stable
        // hash) as ones built from the names, for every row and for every table.
        let keys = keyed();
        for id in [1, 2, 1] {
            let k = row_keys(&keys, &ins(row(id, None, None)));
            assert_eq!(k.as_slice(), [pk(id)]);
            assert_eq!(k[0].stable_hash(), pk(id).stable_hash());
        }
        let other = TableKeys::new(TableName::new("db", "t2"), keys.indexes().to_vec());
        let k = row_keys(&other, &ins(row(1, None, None)));
        assert_ne!(k[0], pk(1));
        let expected = CausalityKey::new(&other.table, "PRIMARY", &[&RowValue::Int(1)]);
        assert_eq!(Some(k[0].clone()), expected);
    }

    #[test]
    fn stable_hash_is_pinned_and_follows_key_equality() {
        // Stable across processes and versions: a pinned value.
        assert_eq!(pk(1).stable_hash(), 14_912_485_034_370_544_326);
        let t = TableName::new("db", "t");
        let text = |s: &[u8]| CausalityKey::new(&t, "v", &[&RowValue::Bytes(s.to_vec())]);
        assert_eq!(
            text(b"User ").unwrap().stable_hash(),
            text(b"user").unwrap().stable_hash()
        );
    }
}
