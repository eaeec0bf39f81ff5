//! Pure domain types shared by every Ferry crate.
//!
//! Nothing here does I/O. Positions and GTID sets are parsed at the edge and carried typed;
//! table names are always a `(schema, table)` pair; stages follow DM's subtask stage machine.

pub mod chunk;
mod file_name;
pub mod gtid;
pub mod position;
mod small_map;
pub mod stage;
pub mod table;

pub use chunk::{Chunk, ChunkBound, ChunkId, KeyValue};
pub use gtid::{GtidError, GtidSet, Intervals, MariadbGtids, MysqlGtids};
pub use position::{BinlogPosition, FileName, Location, PositionError};
pub use small_map::SmallMap;
pub use stage::{Stage, TaskMode, Unit};
pub use table::TableName;
