//! The relay log: raw binlog events of a source, kept in the daemon's RocksDB store.
//!
//! # Key layout
//!
//! - `relay/<source>/meta` — JSON [`Meta`]: next sequence number, first held sequence, held
//!   count/bytes, the relay position (end of the last appended event + GTID text) and the
//!   floor (the log holds nothing that ends at or before it: the relay's start or the end of
//!   the last purged event).
//! - `relay/<source>/e/` followed by the event's sequence number as 8 big-endian bytes — one
//!   event. Big-endian keeps RocksDB's byte order equal to numeric order, and `<source>` is
//!   escaped ([`key_part`]) so one source's keys never prefix another's.
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

use ferry_model::BinlogPosition;
use rocksdb::WriteBatch;
use serde::{Deserialize, Serialize};

use crate::store::{key_part, Store, StoreError};

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
            name: file.to_string(),
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

/// Per-source bookkeeping, stored as JSON next to the events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Meta {
    next_seq: u64,
    first_seq: u64,
    count: u64,
    bytes: u64,
    position: Option<RelayPosition>,
    floor: Option<BinlogPosition>,
}

impl Default for Meta {
    fn default() -> Self {
        Self {
            next_seq: 1,
            first_seq: 1,
            count: 0,
            bytes: 0,
            position: None,
            floor: None,
        }
    }
}

const VERSION: u8 = 1;
const HEADER: usize = 1 + 8 + 4 + 2;

fn source_prefix(source: &str) -> String {
    format!("relay/{}/", key_part(source))
}

fn meta_key(source: &str) -> String {
    format!("{}meta", source_prefix(source))
}

fn headers_prefix(source: &str) -> String {
    format!("{}h/", source_prefix(source))
}

fn header_key(source: &str, file: &str) -> String {
    format!("{}{}", headers_prefix(source), key_part(file))
}

fn events_prefix(source: &str) -> Vec<u8> {
    format!("{}e/", source_prefix(source)).into_bytes()
}

fn event_key(source: &str, seq: u64) -> Vec<u8> {
    let mut k = events_prefix(source);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

fn encode(ev: &NewRelayEvent) -> Vec<u8> {
    let name = ev.end.name.as_bytes();
    let len = u16::try_from(name.len()).expect("binlog file names are shorter than 64 KiB");
    let mut v = Vec::with_capacity(HEADER + name.len() + ev.raw.len());
    v.push(VERSION);
    v.extend_from_slice(&ev.end.pos.to_be_bytes());
    v.extend_from_slice(&ev.timestamp.to_be_bytes());
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(name);
    v.extend_from_slice(&ev.raw);
    v
}

/// Decoded header of a stored value: (end, timestamp, offset of the raw bytes).
fn decode_header(v: &[u8]) -> Result<(BinlogPosition, u32, usize), String> {
    if v.len() < HEADER {
        return Err(format!(
            "value of {} bytes is shorter than the header",
            v.len()
        ));
    }
    if v[0] != VERSION {
        return Err(format!("unknown encoding version {}", v[0]));
    }
    let pos = u64::from_be_bytes(v[1..9].try_into().expect("8 bytes"));
    let ts = u32::from_be_bytes(v[9..13].try_into().expect("4 bytes"));
    let len = u16::from_be_bytes(v[13..15].try_into().expect("2 bytes")) as usize;
    let name = v
        .get(HEADER..HEADER + len)
        .ok_or_else(|| "file name runs past the value".to_string())?;
    let name = std::str::from_utf8(name)
        .map_err(|e| format!("file name is not UTF-8: {e}"))?
        .to_string();
    Ok((BinlogPosition { name, pos }, ts, HEADER + len))
}

/// A file header value: `u16` name length (big-endian), the name, then the header bytes.
fn encode_header_value(file: &str, header: &[u8]) -> Vec<u8> {
    let name = file.as_bytes();
    let len = u16::try_from(name.len()).expect("binlog file names are shorter than 64 KiB");
    let mut v = Vec::with_capacity(2 + name.len() + header.len());
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(name);
    v.extend_from_slice(header);
    v
}

fn decode_header_value(v: &[u8]) -> Option<(String, &[u8])> {
    let len = u16::from_be_bytes(v.get(0..2)?.try_into().ok()?) as usize;
    let name = std::str::from_utf8(v.get(2..2 + len)?).ok()?;
    Some((name.to_string(), &v[2 + len..]))
}

fn seq_of(key: &[u8]) -> u64 {
    let tail = &key[key.len() - 8..];
    u64::from_be_bytes(tail.try_into().expect("8 bytes"))
}

impl Store {
    fn corrupt(&self, key: &[u8], reason: String) -> StoreError {
        StoreError::Corrupt {
            path: self.path().to_path_buf(),
            key: key.escape_ascii().to_string(),
            reason,
        }
    }

    fn relay_meta(&self, source: &str) -> Result<Meta, StoreError> {
        Ok(self.get(&meta_key(source))?.unwrap_or_default())
    }

    fn meta_bytes(meta: &Meta) -> Vec<u8> {
        serde_json::to_vec(meta).expect("serializing plain data cannot fail")
    }

    /// End position and raw length of the event `seq`, if held.
    fn event_header(
        &self,
        source: &str,
        seq: u64,
    ) -> Result<Option<(BinlogPosition, u32, usize)>, StoreError> {
        let key = event_key(source, seq);
        match self.get_raw(&key)? {
            None => Ok(None),
            Some(v) => {
                let (end, ts, off) = decode_header(&v).map_err(|r| self.corrupt(&key, r))?;
                Ok(Some((end, ts, v.len() - off)))
            }
        }
    }

    /// Deletes the longest prefix of held events for which `go(end, timestamp, freed_so_far)`
    /// holds and whose end is `<= needed`. With `dry_run`, only reports.
    fn purge_prefix(
        &self,
        source: &str,
        needed: Option<&BinlogPosition>,
        dry_run: bool,
        mut go: impl FnMut(&BinlogPosition, u32, u64) -> bool,
    ) -> Result<PurgeReport, StoreError> {
        let _guard = self.relay_lock();
        let mut meta = self.relay_meta(source)?;
        let prefix = events_prefix(source);
        let mut report = PurgeReport::default();
        let mut last_seq = None;
        for item in self.iter_raw_from(&event_key(source, meta.first_seq)) {
            let (k, v) = item?;
            if !k.starts_with(&prefix) {
                break;
            }
            let (end, ts, off) = decode_header(&v).map_err(|r| self.corrupt(&k, r))?;
            if needed.is_some_and(|n| end > *n) || !go(&end, ts, report.bytes) {
                break;
            }
            report.count += 1;
            report.bytes += (v.len() - off) as u64;
            report.purged_to = Some(end);
            last_seq = Some(seq_of(&k));
        }
        let Some(last_seq) = last_seq else {
            return Ok(report);
        };
        if dry_run {
            return Ok(report);
        }
        let from = event_key(source, meta.first_seq);
        let to = event_key(source, last_seq + 1);
        meta.first_seq = last_seq + 1;
        meta.count -= report.count;
        meta.bytes -= report.bytes;
        meta.floor.clone_from(&report.purged_to);
        let mut batch = WriteBatch::default();
        batch.delete_range(&from, &to);
        batch.put(meta_key(source).as_bytes(), Self::meta_bytes(&meta));
        if let Some(floor) = &meta.floor {
            self.delete_headers_before(source, floor, &mut batch)?;
        }
        self.write_synced(batch)?;
        self.compact_raw(&from, &to);
        tracing::debug!(
            source,
            count = report.count,
            bytes = report.bytes,
            "relay log purged"
        );
        Ok(report)
    }

    /// Adds to `batch` the deletion of the headers of files before the file of `floor` (they
    /// hold no event any more: the log holds nothing ending at or before `floor`).
    fn delete_headers_before(
        &self,
        source: &str,
        floor: &BinlogPosition,
        batch: &mut WriteBatch,
    ) -> Result<(), StoreError> {
        let prefix = headers_prefix(source);
        for item in self.iter_raw_from(prefix.as_bytes()) {
            let (k, v) = item?;
            if !k.starts_with(prefix.as_bytes()) {
                break;
            }
            let Some((file, _)) = decode_header_value(&v) else {
                batch.delete(k);
                continue;
            };
            let start = BinlogPosition { name: file, pos: 0 };
            if start.seq() < floor.seq() {
                batch.delete(k);
            }
        }
        Ok(())
    }

    /// First sequence number whose event ends after `p` (`next_seq` if none).
    fn seq_after_position(
        &self,
        source: &str,
        meta: &Meta,
        p: &BinlogPosition,
    ) -> Result<u64, StoreError> {
        let (mut lo, mut hi) = (meta.first_seq, meta.next_seq);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (end, _, _) = self
                .event_header(source, mid)?
                .ok_or_else(|| self.corrupt(&event_key(source, mid), "event missing".into()))?;
            if end > *p {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        Ok(lo)
    }
}

impl RelayLog for Store {
    fn append(
        &self,
        source: &str,
        events: &[NewRelayEvent],
        boundary: Option<&TxnBoundary>,
    ) -> Result<Option<(u64, u64)>, StoreError> {
        let Some(last) = events.last() else {
            return Ok(None);
        };
        let _guard = self.relay_lock();
        let mut meta = self.relay_meta(source)?;
        let mut prev = meta.position.as_ref().map(|p| p.binlog.clone());
        let first = meta.next_seq;
        let mut batch = WriteBatch::default();
        for ev in events {
            // Strictly after: no two held events end at the same position, so an append that
            // repeats held events (two writers on one source) is refused.
            if let Some(p) = prev.as_ref().filter(|p| ev.end <= **p) {
                return Err(StoreError::RelayOutOfOrder {
                    source_id: source.to_string(),
                    last: p.to_string(),
                    got: ev.end.to_string(),
                });
            }
            batch.put(event_key(source, meta.next_seq), encode(ev));
            meta.next_seq += 1;
            meta.count += 1;
            meta.bytes += ev.raw.len() as u64;
            prev = Some(ev.end.clone());
        }
        let (txn_end, gtid) = match (boundary, &meta.position) {
            (Some(b), _) => (Some(b.end.clone()), b.gtid.clone()),
            (None, Some(p)) => (p.txn_end.clone(), p.gtid.clone()),
            (None, None) => (None, None),
        };
        meta.position = Some(RelayPosition {
            binlog: last.end.clone(),
            gtid,
            txn_end,
        });
        batch.put(meta_key(source).as_bytes(), Self::meta_bytes(&meta));
        self.write_synced(batch)?;
        Ok(Some((first, meta.next_seq - 1)))
    }

    fn reset(&self, source: &str, start: &RelayPosition) -> Result<PurgeReport, StoreError> {
        let report = self.purge_prefix(source, None, false, |_, _, _| true)?;
        let _guard = self.relay_lock();
        let mut meta = self.relay_meta(source)?;
        meta.position = Some(start.clone());
        meta.floor = Some(start.binlog.clone());
        let mut batch = WriteBatch::default();
        // Events appended between the purge and this lock are dropped too.
        let (from, to) = (
            event_key(source, meta.first_seq),
            event_key(source, meta.next_seq),
        );
        batch.delete_range(&from, &to);
        meta.first_seq = meta.next_seq;
        meta.count = 0;
        meta.bytes = 0;
        batch.put(meta_key(source).as_bytes(), Self::meta_bytes(&meta));
        let prefix = headers_prefix(source);
        for item in self.iter_raw_from(prefix.as_bytes()) {
            let (k, _) = item?;
            if !k.starts_with(prefix.as_bytes()) {
                break;
            }
            batch.delete(k);
        }
        self.write_synced(batch)?;
        Ok(report)
    }

    fn put_file_header(&self, source: &str, file: &str, header: &[u8]) -> Result<(), StoreError> {
        let _guard = self.relay_lock();
        let mut batch = WriteBatch::default();
        batch.put(
            header_key(source, file).as_bytes(),
            encode_header_value(file, header),
        );
        self.write_synced(batch)
    }

    fn file_header(&self, source: &str, file: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = header_key(source, file);
        match self.get_raw(key.as_bytes())? {
            None => Ok(None),
            Some(v) => match decode_header_value(&v) {
                Some((name, h)) if name == file => Ok(Some(h.to_vec())),
                _ => Err(self.corrupt(key.as_bytes(), "unreadable file header".into())),
            },
        }
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
        let purged = |wanted: String, floor: String| StoreError::RelayPurged {
            source_id: source.to_string(),
            wanted,
            floor,
        };
        let start = match from {
            ReadFrom::AfterSeq(s) => {
                let meta = self.relay_meta(source)?;
                if s.saturating_add(1) < meta.first_seq {
                    return Err(purged(
                        format!("sequence {s}"),
                        format!("sequence {}", meta.first_seq - 1),
                    ));
                }
                s.saturating_add(1)
            }
            ReadFrom::AfterPosition(p) => {
                // Under the write lock so that no purge runs during the binary search.
                let _guard = self.relay_lock();
                let meta = self.relay_meta(source)?;
                if let Some(f) = meta.floor.as_ref().filter(|f| p < *f) {
                    return Err(purged(p.to_string(), f.to_string()));
                }
                self.seq_after_position(source, &meta, p)?
            }
        };
        let prefix = events_prefix(source);
        let mut out: Vec<RelayEvent> = Vec::new();
        let mut bytes = 0u64;
        for item in self.iter_raw_from(&event_key(source, start)) {
            let (k, v) = item?;
            if !k.starts_with(&prefix) || out.len() >= limit.max_events.max(1) {
                break;
            }
            let seq = seq_of(&k);
            if out.is_empty() && seq != start {
                // Purged between the start computation and this read.
                return Err(purged(
                    format!("sequence {}", start - 1),
                    format!("sequence {}", seq - 1),
                ));
            }
            let (end, timestamp, off) = decode_header(&v).map_err(|r| self.corrupt(&k, r))?;
            let len = (v.len() - off) as u64;
            if !out.is_empty() && bytes + len > limit.max_bytes {
                break;
            }
            bytes += len;
            out.push(RelayEvent {
                seq,
                end,
                timestamp,
                raw: v[off..].to_vec(),
            });
        }
        Ok(out)
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
        let meta = self.relay_meta(source)?;
        let end_of = |seq: u64| -> Result<Option<BinlogPosition>, StoreError> {
            if meta.count == 0 {
                return Ok(None);
            }
            Ok(self.event_header(source, seq)?.map(|(end, _, _)| end))
        };
        Ok(RelayStats {
            count: meta.count,
            bytes: meta.bytes,
            first_seq: meta.first_seq,
            next_seq: meta.next_seq,
            first: end_of(meta.first_seq)?,
            last: end_of(meta.next_seq.saturating_sub(1))?,
            floor: meta.floor.clone(),
            relay_position: meta.position.clone(),
        })
    }

    fn remove_source(&self, source: &str) -> Result<(), StoreError> {
        let _guard = self.relay_lock();
        self.delete_prefix(&source_prefix(source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(file: u64, p: u64) -> BinlogPosition {
        BinlogPosition::new(format!("binlog.{file:06}"), p).unwrap()
    }

    fn ev(file: u64, p: u64, ts: u32, len: usize) -> NewRelayEvent {
        NewRelayEvent {
            end: pos(file, p),
            timestamp: ts,
            raw: vec![(p % 251) as u8; len],
        }
    }

    const ALL: ReadLimit = ReadLimit {
        max_events: usize::MAX,
        max_bytes: u64::MAX,
    };

    fn seqs(evs: &[RelayEvent]) -> Vec<u64> {
        evs.iter().map(|e| e.seq).collect()
    }

    #[test]
    fn appends_read_in_order_and_resume_after_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = Store::open(dir.path()).unwrap();
            let r = s
                .append(
                    "src",
                    &[ev(1, 100, 10, 5), ev(1, 200, 11, 7)],
                    Some(&TxnBoundary {
                        end: pos(1, 200),
                        gtid: Some("u:1-2".into()),
                    }),
                )
                .unwrap();
            assert_eq!(r, Some((1, 2)));
            assert_eq!(s.append("src", &[], None).unwrap(), None);
            let b = TxnBoundary {
                end: pos(2, 50),
                gtid: Some("u:1-3".into()),
            };
            let r = s.append("src", &[ev(2, 50, 12, 3)], Some(&b)).unwrap();
            assert_eq!(r, Some((3, 3)));
            let err = s.append("src", &[ev(1, 300, 13, 1)], None).unwrap_err();
            assert!(matches!(err, StoreError::RelayOutOfOrder { .. }), "{err}");
            let err = s.append("src", &[ev(2, 50, 13, 1)], None).unwrap_err();
            assert!(matches!(err, StoreError::RelayOutOfOrder { .. }), "{err}");
        }
        let s = Store::open(dir.path()).unwrap();
        let rp = s.relay_position("src").unwrap().unwrap();
        assert_eq!(rp.binlog, pos(2, 50));
        assert_eq!(rp.gtid.as_deref(), Some("u:1-3"));
        assert_eq!(
            s.append("src", &[ev(2, 90, 14, 2)], None).unwrap(),
            Some((4, 4))
        );
        // Without a boundary, the last one (and its GTID set) is kept.
        let rp = s.relay_position("src").unwrap().unwrap();
        assert_eq!(
            (rp.binlog, rp.txn_end, rp.gtid.as_deref()),
            (pos(2, 90), Some(pos(2, 50)), Some("u:1-3"))
        );

        let all = s.read("src", &ReadFrom::AfterSeq(0), ALL).unwrap();
        assert_eq!(seqs(&all), vec![1, 2, 3, 4]);
        assert_eq!(all[1].end, pos(1, 200));
        assert_eq!(all[1].timestamp, 11);
        assert_eq!(all[1].raw, vec![200u8; 7]);
        let after = s.read("src", &ReadFrom::AfterSeq(2), ALL).unwrap();
        assert_eq!(seqs(&after), vec![3, 4]);
        let after = s
            .read("src", &ReadFrom::AfterPosition(pos(1, 200)), ALL)
            .unwrap();
        assert_eq!(seqs(&after), vec![3, 4]);
        let after = s
            .read("src", &ReadFrom::AfterPosition(pos(1, 150)), ALL)
            .unwrap();
        assert_eq!(seqs(&after), vec![2, 3, 4]);
        assert!(s
            .read("src", &ReadFrom::AfterPosition(pos(3, 4)), ALL)
            .unwrap()
            .is_empty());

        let st = s.stats("src").unwrap();
        assert_eq!((st.count, st.bytes), (4, 17));
        assert_eq!(st.first, Some(pos(1, 100)));
        assert_eq!(st.last, Some(pos(2, 90)));
        assert_eq!(s.stats("other").unwrap().count, 0);
    }

    #[test]
    fn purges_never_touch_needed_events() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let batch: Vec<_> = (1..=3)
            .flat_map(|f| (1..=4).map(move |i| ev(f, i * 100, (f * 1000 + i) as u32, 10)))
            .collect();
        s.append("src", &batch, None).unwrap();

        // Dry run: what a task needing (1, 300) would let go.
        let p = s.purgeable("src", &pos(1, 300)).unwrap();
        assert_eq!((p.count, p.bytes, p.purged_to), (3, 30, Some(pos(1, 300))));
        assert_eq!(s.stats("src").unwrap().count, 12);

        // purge-relay --filename binlog.000003, but a task still needs (2, 200).
        let p = s
            .purge_before_file("src", "binlog.000003", Some(&pos(2, 200)))
            .unwrap();
        assert_eq!((p.count, p.bytes), (6, 60));
        let st = s.stats("src").unwrap();
        assert_eq!((st.count, st.bytes, st.first_seq), (6, 60, 7));
        assert_eq!(st.first, Some(pos(2, 300)));
        assert_eq!(st.floor, Some(pos(2, 200)));
        // The task resumes after (2, 200) with nothing missing; before it, an error.
        let r = s
            .read("src", &ReadFrom::AfterPosition(pos(2, 200)), ALL)
            .unwrap();
        assert_eq!(r[0].end, pos(2, 300));
        let err = s
            .read("src", &ReadFrom::AfterPosition(pos(2, 100)), ALL)
            .unwrap_err();
        assert!(matches!(err, StoreError::RelayPurged { .. }), "{err}");
        let err = s.read("src", &ReadFrom::AfterSeq(3), ALL).unwrap_err();
        assert!(matches!(err, StoreError::RelayPurged { .. }), "{err}");

        // Expiry at cutoff 3004 (1 h before now): everything up to (3, 300) is older
        // but a task needs (3, 200).
        let p = s
            .purge_expired("src", 3004 + 3600, 1, Some(&pos(3, 200)))
            .unwrap();
        assert_eq!((p.count, p.purged_to), (4, Some(pos(3, 200))));
        assert_eq!(s.purge_expired("src", u64::MAX, 0, None).unwrap().count, 0);

        // Remain-space: free at least 15 bytes -> two events.
        let p = s.purge_bytes("src", 15, None).unwrap();
        assert_eq!((p.count, p.bytes), (2, 20));
        assert_eq!(s.stats("src").unwrap().count, 0);
        assert_eq!(
            s.relay_position("src").unwrap().unwrap().binlog,
            pos(3, 400)
        );

        // Sequence numbers continue after purging everything and reopening.
        drop(s);
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(
            s.append("src", &[ev(4, 4, 1, 1)], None).unwrap(),
            Some((13, 13))
        );
    }

    #[test]
    fn sources_do_not_interfere_and_reset_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        // "a" is a prefix of "a/b" and "ab": escaping keeps their ranges apart.
        for (i, src) in ["a", "a/b", "ab"].into_iter().enumerate() {
            let evs: Vec<_> = (1..=(i as u64 + 2)).map(|p| ev(1, p * 10, 1, 4)).collect();
            s.append(src, &evs, None).unwrap();
        }
        s.purge_before("a/b", &pos(1, 20), None).unwrap();
        assert_eq!(s.read("a", &ReadFrom::AfterSeq(0), ALL).unwrap().len(), 2);
        assert_eq!(
            seqs(&s.read("a/b", &ReadFrom::AfterSeq(2), ALL).unwrap()),
            vec![3]
        );
        assert_eq!(s.read("ab", &ReadFrom::AfterSeq(0), ALL).unwrap().len(), 4);

        let start = RelayPosition {
            binlog: pos(7, 4),
            gtid: Some("u:1-9".into()),
            txn_end: Some(pos(7, 4)),
        };
        assert_eq!(s.reset("ab", &start).unwrap().count, 4);
        assert_eq!(s.relay_position("ab").unwrap(), Some(start));
        assert!(s
            .read("ab", &ReadFrom::AfterPosition(pos(6, 4)), ALL)
            .is_err());
        assert_eq!(
            s.append("ab", &[ev(7, 40, 1, 1)], None).unwrap(),
            Some((5, 5))
        );

        s.remove_source("a").unwrap();
        assert_eq!(
            s.stats("a").unwrap(),
            RelayStats {
                first_seq: 1,
                next_seq: 1,
                ..RelayStats::default()
            }
        );
        assert_eq!(s.stats("a/b").unwrap().count, 1);
    }

    #[test]
    fn file_headers_follow_purges_and_resets() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        for f in 1..=3 {
            let name = format!("binlog.{f:06}");
            s.put_file_header("src", &name, &[f as u8; 3]).unwrap();
            s.append("src", &[ev(f, 100, 1, 1), ev(f, 200, 1, 1)], None)
                .unwrap();
        }
        s.put_file_header("other", "binlog.000001", b"x").unwrap();
        assert_eq!(
            s.file_header("src", "binlog.000002").unwrap(),
            Some(vec![2; 3])
        );
        assert_eq!(s.file_header("src", "binlog.000009").unwrap(), None);
        // Purging into file 2 drops file 1's header only.
        s.purge_before("src", &pos(2, 100), None).unwrap();
        assert_eq!(s.file_header("src", "binlog.000001").unwrap(), None);
        assert!(s.file_header("src", "binlog.000002").unwrap().is_some());
        assert_eq!(
            s.file_header("other", "binlog.000001").unwrap(),
            Some(b"x".to_vec())
        );
        let start = RelayPosition {
            binlog: pos(5, 4),
            gtid: None,
            txn_end: Some(pos(5, 4)),
        };
        s.reset("src", &start).unwrap();
        assert_eq!(s.file_header("src", "binlog.000003").unwrap(), None);
    }

    #[test]
    fn reads_respect_the_byte_and_count_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let big: Vec<_> = (1..=200).map(|i| ev(1, i * 1000, 1, 1000)).collect();
        s.append("src", &big, None).unwrap();
        let lim = ReadLimit {
            max_events: 1000,
            max_bytes: 10_500,
        };
        let mut after = 0;
        let mut batches = 0;
        loop {
            let r = s.read("src", &ReadFrom::AfterSeq(after), lim).unwrap();
            if r.is_empty() {
                break;
            }
            assert!(r.iter().map(|e| e.raw.len()).sum::<usize>() <= 10_500);
            assert_eq!(r[0].seq, after + 1);
            after = r.last().unwrap().seq;
            batches += 1;
        }
        assert_eq!((after, batches), (200, 20));
        // One event bigger than max_bytes still comes through; max_events bounds too.
        let tiny = ReadLimit {
            max_events: 3,
            max_bytes: 1,
        };
        assert_eq!(
            s.read("src", &ReadFrom::AfterSeq(0), tiny).unwrap().len(),
            1
        );
        let few = ReadLimit {
            max_events: 3,
            max_bytes: u64::MAX,
        };
        assert_eq!(
            seqs(&s.read("src", &ReadFrom::AfterSeq(5), few).unwrap()),
            vec![6, 7, 8]
        );
    }
}
