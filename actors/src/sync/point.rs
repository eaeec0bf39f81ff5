//! Where replication stands: [`SyncPoint`], a resumable place in the upstream binlog.

use std::fmt;

use ferry_model::{BinlogPosition, GtidSet, Location};
use serde::{Deserialize, Serialize};

/// A resumable place in the binlog: the start of a transaction (`pos`, a transaction
/// boundary, with the executed GTID set there) plus how many row changes of the transaction
/// that starts there are already applied.
///
/// `skip_rows == 0` is a plain transaction boundary. A non-zero count lets a batch end inside
/// a very large transaction (memory stays bounded); resuming reads the transaction again from
/// its start and skips that many changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncPoint {
    /// A transaction boundary.
    pub pos: BinlogPosition,
    /// Executed GTID set at `pos`, when known.
    pub gtid: Option<GtidSet>,
    /// Row changes of the transaction starting at `pos` already applied.
    pub skip_rows: u64,
}

impl SyncPoint {
    /// The boundary `loc`.
    pub fn at(loc: Location) -> Self {
        Self {
            pos: loc.binlog,
            gtid: loc.gtid,
            skip_rows: 0,
        }
    }

    /// As a location (the boundary, GTID set included).
    pub fn location(&self) -> Location {
        Location {
            binlog: self.pos.clone(),
            gtid: self.gtid.clone(),
        }
    }

    /// Same place (GTID sets are not compared: they follow from the position).
    pub fn same_place(&self, other: &SyncPoint) -> bool {
        self.pos == other.pos && self.skip_rows == other.skip_rows
    }
}

impl fmt::Display for SyncPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.pos)?;
        if self.skip_rows > 0 {
            write!(f, " + {} row(s)", self.skip_rows)?;
        }
        if let Some(g) = self.gtid.as_ref().filter(|g| !g.is_empty()) {
            write!(f, " gtid {g}")?;
        }
        Ok(())
    }
}
