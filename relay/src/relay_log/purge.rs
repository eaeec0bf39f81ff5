//! Purges: deleting a prefix of the held events (never past what tasks still need), and resets.

use ferry_model::BinlogPosition;
use rocksdb::WriteBatch;

use super::codec::decode_header;
use super::keys::{event_key, events_prefix, headers_prefix, meta_key, seq_of};
use super::{PurgeReport, RelayPosition};
use crate::store::{Store, StoreError};

impl Store {
    /// Deletes the longest prefix of held events for which `go(end, timestamp, freed_so_far)`
    /// holds and whose end is `<= needed`. With `dry_run`, only reports.
    pub(super) fn purge_prefix(
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

    /// [`RelayLog::reset`](super::RelayLog::reset).
    pub(super) fn relay_reset(
        &self,
        source: &str,
        start: &RelayPosition,
    ) -> Result<PurgeReport, StoreError> {
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
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{ev, pos, seqs, ALL};
    use super::super::{ReadFrom, RelayLog, RelayPosition, RelayStats};
    use crate::store::{Store, StoreError};

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
}
