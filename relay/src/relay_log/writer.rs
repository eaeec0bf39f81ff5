//! The writer side: appending events and moving the relay position.

use rocksdb::WriteBatch;

use super::codec::encode;
use super::keys::{event_key, meta_key};
use super::{NewRelayEvent, RelayPosition, TxnBoundary};
use crate::store::{Store, StoreError};

impl Store {
    /// [`RelayLog::append`](super::RelayLog::append).
    pub(super) fn relay_append(
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
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{ev, pos, seqs, ALL};
    use super::super::{ReadFrom, RelayLog, TxnBoundary};
    use crate::store::{Store, StoreError};

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
}
