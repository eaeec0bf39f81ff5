//! The relay log: raw binlog events of a source, kept in the daemon's RocksDB store.
//!
//! # Key layout
//!
//! - `relay/<source>/meta` — JSON [`Meta`](meta::Meta): next sequence number, first held sequence, held
//!   count/bytes, the relay position (end of the last appended event + GTID text) and the
//!   floor (the log holds nothing that ends at or before it: the relay's start or the end of
//!   the last purged event).
//! - `relay/<source>/e/` followed by the event's sequence number as 8 big-endian bytes — one
//!   event. Big-endian keeps RocksDB's byte order equal to numeric order, and `<source>` is
//!   escaped ([`key_part`](crate::store::key_part)) so one source's keys never prefix another's.
//! - `relay/<source>/h/<file>` — an opaque *file header* set by the relay writer for each binlog
//!   file (what a reader needs to start in the middle of that file: its format description).
//!   Purges delete the headers of files that hold no event any more.
//!
//! # Event value (binary, version 1)
//!
//! ```text
//! u8  version = 1
//! u64 end position offset      (big-endian)
//! u32 server event timestamp   (big-endian, Unix seconds from the event header)
//! u16 end position file length (big-endian), then the file name (UTF-8)
//! ... the raw event bytes, to the end of the value
//! ```
//!
//! # Invariants
//!
//! Sequence numbers start at 1, are assigned by [`RelayLog::append`] and never reused; the
//! held events are exactly the contiguous range `[first_seq, next_seq)` because purges only
//! ever delete a prefix. End positions never decrease along the sequence (appends that would
//! break this are refused), so "first event after a position" is a binary search. "Bytes" in
//! counts and limits are raw event bytes (not RocksDB's on-disk size).
//!
//! An event lies *strictly before* a position `p` when its end position is `<= p`: a task whose
//! checkpoint is `p` has applied it and needs only events ending after `p`.
//!
//! Every write is one synced `WriteBatch` (events + meta together), and writes of all sources
//! are serialized by a lock of the [`Store`], so after a crash the relay resumes exactly after
//! the last durable event.

mod codec;
mod headers;
mod keys;
mod meta;
mod purge;
mod reader;
#[cfg(test)]
mod test_support;
mod writer;

use ferry_model::BinlogPosition;
use serde::{Deserialize, Serialize};

use crate::store::{Store, StoreError};
use keys::source_prefix;

/// An event to append: its position after it, its header timestamp and its raw bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRelayEvent {
    /// Binlog position right after the event (the next event's start).
    pub end: BinlogPosition,
    /// The server's event timestamp (Unix seconds).
    pub timestamp: u32,
    /// The raw event, header included.
    pub raw: Vec<u8>,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayEvent {
    /// Sequence number assigned by the store (per source, from 1, increasing).
    pub seq: u64,
    /// Binlog position right after the event.
    pub end: BinlogPosition,
    /// The server's event timestamp (Unix seconds).
    pub timestamp: u32,
    /// The raw event.
    pub raw: Vec<u8>,
}

/// The relay's own position: where to resume pulling binlog from the upstream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayPosition {
    /// End of the last appended event (or the start set by [`RelayLog::reset`]).
    pub binlog: BinlogPosition,
    /// Executed GTID set at `txn_end` (or at `binlog` when `txn_end` is unset), as text, when
    /// the upstream has GTIDs.
    pub gtid: Option<String>,
    /// End of the last complete transaction held (`<= binlog`; equal unless the last append
    /// stopped inside a transaction). A resumed pull restarts there, so that the table maps of
    /// a transaction cut in the middle are read again.
    #[serde(default)]
    pub txn_end: Option<BinlogPosition>,
}

/// The last transaction boundary reached by an append: where it is and the GTID set executed
/// there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnBoundary {
    /// End of the transaction (an event end among the appended events).
    pub end: BinlogPosition,
    /// Executed GTID set there, as text, when known.
    pub gtid: Option<String>,
}

/// Where a read starts (exclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadFrom {
    /// After this sequence number (`AfterSeq(0)`: from the first event ever appended).
    AfterSeq(u64),
    /// After this binlog position: the first event returned is the first whose end is past it.
    AfterPosition(BinlogPosition),
}

/// Bounds of one read. At least one event is returned when one is available, even if it alone
/// is larger than `max_bytes` (a single big event must not stall the reader).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimit {
    /// Maximum number of events.
    pub max_events: usize,
    /// Maximum total raw bytes.
    pub max_bytes: u64,
}

/// What a purge freed (or, for [`RelayLog::purgeable`], would free).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Events deleted.
    pub count: u64,
    /// Raw bytes deleted.
    pub bytes: u64,
    /// End position of the last deleted event.
    pub purged_to: Option<BinlogPosition>,
}

/// What the relay log of a source holds (for `query-status` and purge decisions).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelayStats {
    /// Events held.
    pub count: u64,
    /// Raw bytes held.
    pub bytes: u64,
    /// Sequence number of the first held event (`== next_seq` when empty).
    pub first_seq: u64,
    /// Sequence number the next appended event will get.
    pub next_seq: u64,
    /// End position of the first held event.
    pub first: Option<BinlogPosition>,
    /// End position of the last held event.
    pub last: Option<BinlogPosition>,
    /// The log holds nothing ending at or before this (start or last purge).
    pub floor: Option<BinlogPosition>,
    /// The relay position (where the relay resumes).
    pub relay_position: Option<RelayPosition>,
}

/// Durable relay-log operations, per source. Every write is synced before it returns.
pub trait RelayLog: Send + Sync {
    /// Appends `events` (in order) atomically. The relay position becomes the end of the last
    /// one; `boundary`, when the batch reached a transaction boundary, replaces the position's
    /// `txn_end` and `gtid` (else they are kept). Returns the sequence numbers assigned (`None`
    /// for an empty batch, which writes nothing). Refuses an event that does not end after the
    /// previous one (or after the relay position).
    fn append(
        &self,
        source: &str,
        events: &[NewRelayEvent],
        boundary: Option<&TxnBoundary>,
    ) -> Result<Option<(u64, u64)>, StoreError>;
    /// Stores the header of binlog `file` (opaque bytes, durably), replacing any previous one.
    fn put_file_header(&self, source: &str, file: &str, header: &[u8]) -> Result<(), StoreError>;
    /// The header stored for binlog `file`, if any.
    fn file_header(&self, source: &str, file: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Deletes every held event and file header and makes `start` the relay position and the
    /// floor (the relay starts or restarts there). Sequence numbers keep increasing.
    fn reset(&self, source: &str, start: &RelayPosition) -> Result<PurgeReport, StoreError>;
    /// The relay position, if anything was ever appended or a start was set.
    fn relay_position(&self, source: &str) -> Result<Option<RelayPosition>, StoreError>;
    /// Reads events in order after `from`, bounded by `limit`. Fails with
    /// [`StoreError::RelayPurged`] when the events right after `from` are not held any more.
    fn read(
        &self,
        source: &str,
        from: &ReadFrom,
        limit: ReadLimit,
    ) -> Result<Vec<RelayEvent>, StoreError>;
    /// Deletes every event strictly before `before`, but none after `needed` (the minimum
    /// position tasks still need).
    fn purge_before(
        &self,
        source: &str,
        before: &BinlogPosition,
        needed: Option<&BinlogPosition>,
    ) -> Result<PurgeReport, StoreError>;
    /// DM's `purge-relay --filename`: deletes every event before the start of `file`, but none
    /// after `needed`.
    fn purge_before_file(
        &self,
        source: &str,
        file: &str,
        needed: Option<&BinlogPosition>,
    ) -> Result<PurgeReport, StoreError> {
        let before = BinlogPosition {
            name: file.into(),
            pos: 0,
        };
        self.purge_before(source, &before, needed)
    }
    /// Purge by `expires`: deletes the oldest events while their timestamp is more than
    /// `expires_hours` before `now` (Unix seconds), stopping at the first younger event and never
    /// past `needed`. `expires_hours == 0` means never expire.
    fn purge_expired(
        &self,
        source: &str,
        now: u64,
        expires_hours: u64,
        needed: Option<&BinlogPosition>,
    ) -> Result<PurgeReport, StoreError>;
    /// Purge by `remain-space`: deletes the oldest events until at least `bytes` raw bytes are
    /// freed, never past `needed`.
    fn purge_bytes(
        &self,
        source: &str,
        bytes: u64,
        needed: Option<&BinlogPosition>,
    ) -> Result<PurgeReport, StoreError>;
    /// What [`RelayLog::purge_before`]`(needed, Some(needed))` would free, without deleting.
    fn purgeable(&self, source: &str, needed: &BinlogPosition) -> Result<PurgeReport, StoreError>;
    /// Counts, bytes, first/last positions and the relay position.
    fn stats(&self, source: &str) -> Result<RelayStats, StoreError>;
    /// Forgets the relay log of a source entirely (events, position, sequence numbers).
    fn remove_source(&self, source: &str) -> Result<(), StoreError>;
}

impl Store {
    /// The error for a relay-log value at `key` that cannot be used.
    fn corrupt(&self, key: &[u8], reason: String) -> StoreError {
        StoreError::Corrupt {
            path: self.path().to_path_buf(),
            key: key.escape_ascii().to_string(),
            reason,
        }
    }
}

// The larger operations live in the submodules by concern (writer, reader, headers, purge).
impl RelayLog for Store {
    fn append(
        &self,
        source: &str,
        events: &[NewRelayEvent],
        boundary: Option<&TxnBoundary>,
    ) -> Result<Option<(u64, u64)>, StoreError> {
        self.relay_append(source, events, boundary)
    }

    fn reset(&self, source: &str, start: &RelayPosition) -> Result<PurgeReport, StoreError> {
        self.relay_reset(source, start)
    }

    fn put_file_header(&self, source: &str, file: &str, header: &[u8]) -> Result<(), StoreError> {
        self.relay_put_file_header(source, file, header)
    }

    fn file_header(&self, source: &str, file: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.relay_file_header(source, file)
    }

    fn relay_position(&self, source: &str) -> Result<Option<RelayPosition>, StoreError> {
        Ok(self.relay_meta(source)?.position)
    }

    fn read(
        &self,
        source: &str,
        from: &ReadFrom,
        limit: ReadLimit,
    ) -> Result<Vec<RelayEvent>, StoreError> {
        self.relay_read(source, from, limit)
    }

    fn purge_before(
        &self,
        source: &str,
        before: &BinlogPosition,
        needed: Option<&BinlogPosition>,
    ) -> Result<PurgeReport, StoreError> {
        self.purge_prefix(source, needed, false, |end, _, _| end <= before)
    }

    fn purge_expired(
        &self,
        source: &str,
        now: u64,
        expires_hours: u64,
        needed: Option<&BinlogPosition>,
    ) -> Result<PurgeReport, StoreError> {
        if expires_hours == 0 {
            return Ok(PurgeReport::default());
        }
        let cutoff = now.saturating_sub(expires_hours.saturating_mul(3600));
        self.purge_prefix(source, needed, false, |_, ts, _| u64::from(ts) < cutoff)
    }

    fn purge_bytes(
        &self,
        source: &str,
        bytes: u64,
        needed: Option<&BinlogPosition>,
    ) -> Result<PurgeReport, StoreError> {
        self.purge_prefix(source, needed, false, |_, _, freed| freed < bytes)
    }

    fn purgeable(&self, source: &str, needed: &BinlogPosition) -> Result<PurgeReport, StoreError> {
        self.purge_prefix(source, Some(needed), true, |_, _, _| true)
    }

    fn stats(&self, source: &str) -> Result<RelayStats, StoreError> {
        self.relay_stats(source)
    }

    fn remove_source(&self, source: &str) -> Result<(), StoreError> {
        let _guard = self.relay_lock();
        self.delete_prefix(&source_prefix(source))
    }
}
