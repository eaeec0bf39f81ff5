//! The reader side: reading events after a sequence number or a binlog position, and stats.

use ferry_model::BinlogPosition;

use super::codec::decode_header;
use super::keys::{event_key, events_prefix, seq_of};
use super::meta::Meta;
use super::{ReadFrom, ReadLimit, RelayEvent, RelayStats};
use crate::store::{Store, StoreError};

impl Store {
    /// End position and raw length of the event `seq`, if held.
    pub(super) fn event_header(
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

    /// First sequence number whose event ends after `p` (`next_seq` if none).
    pub(super) fn seq_after_position(
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

    /// [`RelayLog::read`](super::RelayLog::read).
    pub(super) fn relay_read(
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

    /// [`RelayLog::stats`](super::RelayLog::stats).
    pub(super) fn relay_stats(&self, source: &str) -> Result<RelayStats, StoreError> {
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
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{ev, seqs};
    use super::super::{ReadFrom, ReadLimit, RelayLog};
    use crate::store::Store;

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
