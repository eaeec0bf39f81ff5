//! The chunk queue of one copy round, owned by the planner stage. It hands out the next chunk of the table that has
//! the fewest chunks in flight (ties: the most chunks left), so that concurrent loads go to
//! different tables: loads into one table contend on its indexes and, on MariaDB/MySQL 5.7's
//! default `innodb_autoinc_lock_mode=1`, serialize on its AUTO-INC lock.

use std::collections::{BTreeMap, VecDeque};

use ferry_model::{Chunk, TableName};

#[derive(Default)]
struct PerTable {
    pending: VecDeque<Chunk>,
    in_flight: usize,
}

/// Pending chunks, grouped by table.
#[derive(Default)]
pub struct ChunkQueue {
    tables: BTreeMap<TableName, PerTable>,
}

impl ChunkQueue {
    /// A queue holding `chunks` (their order within a table is kept).
    pub fn new(chunks: impl IntoIterator<Item = Chunk>) -> Self {
        let mut tables: BTreeMap<TableName, PerTable> = BTreeMap::new();
        for c in chunks {
            tables
                .entry(c.id.table.clone())
                .or_default()
                .pending
                .push_back(c);
        }
        Self { tables }
    }

    /// Takes the next chunk, or `None` when every chunk has been handed out.
    pub fn take(&mut self) -> Option<Chunk> {
        let (_, t) = self
            .tables
            .iter_mut()
            .filter(|(_, t)| !t.pending.is_empty())
            .min_by_key(|(_, t)| (t.in_flight, usize::MAX - t.pending.len()))?;
        t.in_flight += 1;
        t.pending.pop_front()
    }

    /// Forgets the pending chunks of `table` (it no longer exists upstream).
    pub fn drop_table(&mut self, table: &TableName) {
        if let Some(t) = self.tables.get_mut(table) {
            t.pending.clear();
        }
    }

    /// Records that a chunk taken from this queue is finished (committed or failed).
    pub fn release(&mut self, table: &TableName) {
        if let Some(t) = self.tables.get_mut(table) {
            t.in_flight = t.in_flight.saturating_sub(1);
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use ferry_model::ChunkId;

    /// Chunk `n` of table `d.t` (one row estimated).
    pub(in crate::bulk) fn chunk(t: &str, n: u32) -> Chunk {
        Chunk {
            id: ChunkId {
                table: TableName::new("d", t),
                ordinal: n,
            },
            lower: None,
            upper: None,
            estimated_rows: 1,
        }
    }

    #[test]
    fn concurrent_takes_spread_over_tables() {
        let mut q = ChunkQueue::new(
            (0..3)
                .map(|i| chunk("a", i))
                .chain((0..3).map(|i| chunk("b", i)))
                .chain([chunk("c", 0)]),
        );
        let first: Vec<String> = (0..3).map(|_| q.take().unwrap().id.table.table).collect();
        let mut sorted = first.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            vec!["a", "b", "c"],
            "three workers get three tables"
        );
        // c is exhausted; a and b each have one in flight
        q.release(&TableName::new("d", "a"));
        assert_eq!(q.take().unwrap().id, chunk("a", 1).id);
        let mut rest = Vec::new();
        while let Some(c) = q.take() {
            rest.push(c.id);
        }
        assert_eq!(rest.len(), 3, "every chunk is handed out exactly once");
    }
}
