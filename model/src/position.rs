//! Binlog file/offset positions with 64-bit offsets.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

pub use crate::file_name::FileName;
use crate::gtid::GtidSet;

/// Errors raised while parsing a position given by a user or a server.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PositionError {
    /// The binlog file name is not of DM's `base.seq` form.
    #[error("binlog file name `{0}` is not of the form `base.NNNNNN`")]
    BadFileName(String),
    /// A `(file, pos)` text could not be parsed.
    #[error("binlog position `{0}` is not of the form `(file, pos)` or `file:pos`")]
    BadPosition(String),
}

/// A position in an upstream binlog: file name and byte offset (64-bit: files may pass 4 GiB).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BinlogPosition {
    /// File name, e.g. `binlog.000003` or Aurora's `mysql-bin-changelog.000003` (shared:
    /// cloning a position does not copy it).
    pub name: FileName,
    /// Byte offset inside the file.
    pub pos: u64,
}

impl BinlogPosition {
    /// Builds a position; the file name must be of the form `base.seq`.
    pub fn new(name: impl Into<FileName>, pos: u64) -> Result<Self, PositionError> {
        let name = name.into();
        split_file_name(&name)?;
        Ok(Self { name, pos })
    }

    /// The numeric suffix of the file name (`binlog.000003` → 3).
    pub fn seq(&self) -> u64 {
        split_file_name(&self.name).map(|(_, s)| s).unwrap_or(0)
    }

    /// Parses `(file, pos)` (DM's display form) or `file:pos`.
    pub fn parse(text: &str) -> Result<Self, PositionError> {
        let t = text.trim();
        let inner = t
            .strip_prefix('(')
            .and_then(|s| s.strip_suffix(')'))
            .unwrap_or(t);
        let (name, pos) = inner
            .split_once(',')
            .or_else(|| inner.rsplit_once(':'))
            .ok_or_else(|| PositionError::BadPosition(text.to_string()))?;
        let pos: u64 = pos
            .trim()
            .parse()
            .map_err(|_| PositionError::BadPosition(text.to_string()))?;
        Self::new(name.trim(), pos)
    }
}

/// Splits `base.seq` into its parts; the sequence must be a positive decimal number.
pub fn split_file_name(name: &str) -> Result<(&str, u64), PositionError> {
    let bad = || PositionError::BadFileName(name.to_string());
    let (base, seq) = name.rsplit_once('.').ok_or_else(bad)?;
    if base.is_empty() || seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u64 = seq.parse().map_err(|_| bad())?;
    if n == 0 {
        return Err(bad());
    }
    Ok((base, n))
}

impl Ord for BinlogPosition {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.seq(), self.pos, &self.name).cmp(&(other.seq(), other.pos, &other.name))
    }
}

impl PartialOrd for BinlogPosition {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for BinlogPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.name, self.pos)
    }
}

/// A replication location: a file position plus, when the server has them, the GTID set
/// executed up to that position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// File and offset.
    pub binlog: BinlogPosition,
    /// Executed GTID set at that point, if known.
    pub gtid: Option<GtidSet>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.gtid {
            Some(g) if !g.is_empty() => write!(f, "{} gtid {}", self.binlog, g),
            _ => write!(f, "{}", self.binlog),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_aurora_names_and_orders_by_sequence() {
        let a = BinlogPosition::new("mysql-bin-changelog.000003", 23910021).unwrap();
        assert_eq!(a.seq(), 3);
        let b = BinlogPosition::new("mysql-bin-changelog.000010", 4).unwrap();
        assert!(a < b);
        let c = BinlogPosition::new("mysql-bin-changelog.000003", 5_000_000_000).unwrap();
        assert!(a < c, "64-bit offsets compare numerically");
    }

    #[test]
    fn rejects_names_without_sequence() {
        assert!(BinlogPosition::new("binlog", 4).is_err());
        assert!(BinlogPosition::new("binlog.", 4).is_err());
        assert!(BinlogPosition::new("binlog.00a1", 4).is_err());
        assert!(BinlogPosition::new("binlog.000000", 4).is_err());
    }

    #[test]
    fn display_and_parse_round_trip() {
        let p = BinlogPosition::new("binlog.000005", 916).unwrap();
        assert_eq!(p.to_string(), "(binlog.000005, 916)");
        assert_eq!(BinlogPosition::parse(&p.to_string()).unwrap(), p);
        assert_eq!(BinlogPosition::parse("binlog.000005:916").unwrap(), p);
        assert!(BinlogPosition::parse("(binlog.000005 916)").is_err());
    }
}
