//! A generated upstream binlog for the exactly-once tests: transactions of inserts, updates
//! (some changing the key) and deletes on a few keys of two tables, changes of a filtered-out
//! table, transactions without rows, advance points and statements; read from any point as
//! the cursor reads it (a point inside a transaction skips its first changes).

use std::collections::BTreeMap;
use std::sync::Arc;

use ferry_model::{BinlogPosition, TableName};

use super::super::applier::mem::{row_key, RowKey};
use super::super::point::SyncPoint;
use super::super::target::TargetInfo;
use super::super::writer::RowOp;
use crate::apply::{TargetColumn, TargetTable};
use crate::causality::{CausalityKey, KeyIndex, TableKeys};
use crate::reader::{RowChange, RowValue};

/// Keys per replicated table.
const KEYS: i64 = 4;

/// One row change of the stream.
#[derive(Debug)]
pub struct Change {
    /// The change.
    pub op: RowOp,
    /// Its table is filtered out: the coordinator meets it but does not apply it.
    pub filtered: bool,
}

/// One binlog event group: entry `i` lies between boundaries `i` and `i + 1`.
#[derive(Debug)]
pub enum Entry {
    /// A transaction (no change: a transaction without rows).
    Txn(Vec<Change>),
    /// The stream moves to the next boundary without a transaction.
    Advance,
    /// A statement outside any transaction (a DDL barrier).
    Ddl,
}

/// What the cursor reports.
#[derive(Debug)]
pub enum Item<'s> {
    /// A row change.
    Row {
        /// Changes of its transaction up to and including this one.
        rows: u64,
        /// Event timestamp.
        ts: u32,
        /// The change.
        change: &'s Change,
    },
    /// A transaction ended.
    Commit {
        /// The boundary after it.
        point: SyncPoint,
        /// Event timestamp.
        ts: u32,
    },
    /// The stream moved to a new boundary.
    Advance {
        /// The new boundary.
        point: SyncPoint,
    },
    /// A statement between two boundaries.
    Statement {
        /// The boundary before it.
        before: SyncPoint,
        /// The boundary after it.
        point: SyncPoint,
    },
}

/// A generated stream.
#[derive(Debug)]
pub struct Stream {
    entries: Vec<Entry>,
    /// The table after applying every replicated change once, as the generator tracked it.
    expected: BTreeMap<RowKey, Vec<RowValue>>,
}

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Target table `d.{name}(id, v)` keyed by `id`.
fn table(name: &str) -> Arc<TargetInfo> {
    let name = TableName::new("d", name);
    Arc::new(TargetInfo {
        table: TargetTable::new(
            name.clone(),
            ["id", "v"].map(TargetColumn::new).to_vec(),
            vec![0],
            false,
        )
        .unwrap(),
        keys: TableKeys::new(name.clone(), vec![KeyIndex::new("PRIMARY", vec![0])]),
        wide_key: CausalityKey::new(&name, "", &[]).unwrap(),
        row_keys: vec![vec![0]],
    })
}

fn image(id: i64, v: i64) -> Vec<RowValue> {
    vec![RowValue::Int(id), RowValue::Int(v)]
}

impl Stream {
    /// `len` entries from `seed`. Every change is unique (its `v` is a sequence number).
    pub fn generate(seed: u64, len: usize) -> Self {
        let mut rng = Rng(seed);
        let tables = [table("t1"), table("t2")];
        let skip = table("skip");
        // (table, id) → v, for the replicated tables.
        let mut live: BTreeMap<(usize, i64), i64> = BTreeMap::new();
        let mut seq = 0;
        let mut entries = Vec::with_capacity(len);
        for _ in 0..len {
            let roll = rng.below(100);
            if roll < 10 {
                entries.push(Entry::Advance);
                continue;
            }
            if roll < 16 {
                entries.push(Entry::Ddl);
                continue;
            }
            let mut changes = Vec::new();
            for _ in 0..rng.below(6) {
                seq += 1;
                if rng.below(100) < 15 {
                    let op = RowOp {
                        target: skip.clone(),
                        change: RowChange {
                            before: None,
                            after: Some(image(seq, seq)),
                        },
                    };
                    changes.push(Change { op, filtered: true });
                    continue;
                }
                let t = rng.below(2) as usize;
                let id = 1 + rng.below(KEYS as u64) as i64;
                let free = (1..=KEYS).find(|k| *k != id && !live.contains_key(&(t, *k)));
                let change = match live.get(&(t, id)).copied() {
                    None => {
                        live.insert((t, id), seq);
                        RowChange {
                            before: None,
                            after: Some(image(id, seq)),
                        }
                    }
                    Some(v) => match (rng.below(100), free) {
                        (0..45, _) | (45..65, None) => {
                            live.insert((t, id), seq);
                            RowChange {
                                before: Some(image(id, v)),
                                after: Some(image(id, seq)),
                            }
                        }
                        (45..65, Some(to)) => {
                            live.remove(&(t, id));
                            live.insert((t, to), seq);
                            RowChange {
                                before: Some(image(id, v)),
                                after: Some(image(to, seq)),
                            }
                        }
                        _ => {
                            live.remove(&(t, id));
                            RowChange {
                                before: Some(image(id, v)),
                                after: None,
                            }
                        }
                    },
                };
                let op = RowOp {
                    target: tables[t].clone(),
                    change,
                };
                changes.push(Change {
                    op,
                    filtered: false,
                });
            }
            entries.push(Entry::Txn(changes));
        }
        let expected = live
            .into_iter()
            .map(|((t, id), v)| {
                let key = row_key(tables[t].table.name(), &[&RowValue::Int(id)]);
                (key, image(id, v))
            })
            .collect();
        Self { entries, expected }
    }

    /// Boundary `i`: the start of entry `i`.
    pub fn boundary(i: usize) -> SyncPoint {
        SyncPoint {
            pos: BinlogPosition::new("bin.000001", 1000 + 100 * i as u64).unwrap(),
            gtid: None,
            skip_rows: 0,
        }
    }

    /// Where the stream starts.
    pub fn start(&self) -> SyncPoint {
        Self::boundary(0)
    }

    /// Where it ends.
    pub fn end(&self) -> SyncPoint {
        Self::boundary(self.entries.len())
    }

    /// The entries.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The replicated changes, in order.
    pub fn changes(&self) -> impl Iterator<Item = &RowOp> {
        self.entries
            .iter()
            .filter_map(|e| match e {
                Entry::Txn(c) => Some(c),
                _ => None,
            })
            .flatten()
            .filter(|c| !c.filtered)
            .map(|c| &c.op)
    }

    /// The target tables after every replicated change applied once.
    pub fn expected(&self) -> &BTreeMap<RowKey, Vec<RowValue>> {
        &self.expected
    }

    /// What the cursor reports reading from `from` (a boundary, plus changes of the
    /// transaction starting there already applied).
    pub fn read_from(&self, from: &SyncPoint) -> Vec<Item<'_>> {
        let first = (0..=self.entries.len())
            .find(|&i| Self::boundary(i).pos == from.pos)
            .unwrap_or_else(|| panic!("{from} is no boundary of the stream"));
        let mut out = Vec::new();
        for (i, e) in self.entries.iter().enumerate().skip(first) {
            let ts = i as u32 + 1;
            let point = Self::boundary(i + 1);
            match e {
                Entry::Txn(changes) => {
                    let skip = if i == first { from.skip_rows } else { 0 };
                    for (rows, change) in (1..).zip(changes) {
                        if rows > skip {
                            out.push(Item::Row { rows, ts, change });
                        }
                    }
                    out.push(Item::Commit { point, ts });
                }
                Entry::Advance => out.push(Item::Advance { point }),
                Entry::Ddl => out.push(Item::Statement {
                    before: Self::boundary(i),
                    point,
                }),
            }
        }
        out
    }
}
