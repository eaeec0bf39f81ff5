//! Full-phase chunks: key ranges of one table, copied and committed as a unit.

use serde::{Deserialize, Serialize};

use crate::table::TableName;

/// Identifies a chunk inside a task: table plus ordinal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ChunkId {
    /// Upstream table.
    pub table: TableName,
    /// Ordinal of the chunk in its table, from 0.
    pub ordinal: u32,
}

/// One value of a split key, as the text the server returned (`None` = SQL NULL is never
/// used for bounds: split keys are NOT NULL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyValue {
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// Any other value, as raw bytes (compared by the server, sent as a hex literal).
    Bytes(Vec<u8>),
}

/// A bound of a chunk: the tuple of split-key values.
pub type ChunkBound = Vec<KeyValue>;

/// A key range `(lower, upper]` of one table; `None` means unbounded on that side.
/// A table without a usable key has a single chunk with both bounds `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// Which chunk.
    pub id: ChunkId,
    /// Exclusive lower bound.
    pub lower: Option<ChunkBound>,
    /// Inclusive upper bound.
    pub upper: Option<ChunkBound>,
    /// Estimated rows, for progress.
    pub estimated_rows: u64,
}
