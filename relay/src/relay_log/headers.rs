//! Binlog file headers: what a reader needs to start in the middle of a file.

use ferry_model::BinlogPosition;
use rocksdb::WriteBatch;

use super::codec::{decode_header_value, encode_header_value};
use super::keys::{header_key, headers_prefix};
use crate::store::{Store, StoreError};

impl Store {
    /// [`RelayLog::put_file_header`](super::RelayLog::put_file_header).
    pub(super) fn relay_put_file_header(
        &self,
        source: &str,
        file: &str,
        header: &[u8],
    ) -> Result<(), StoreError> {
        let _guard = self.relay_lock();
        let mut batch = WriteBatch::default();
        batch.put(
            header_key(source, file).as_bytes(),
            encode_header_value(file, header),
        );
        self.write_synced(batch)
    }

    /// [`RelayLog::file_header`](super::RelayLog::file_header).
    pub(super) fn relay_file_header(
        &self,
        source: &str,
        file: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let key = header_key(source, file);
        match self.get_raw(key.as_bytes())? {
            None => Ok(None),
            Some(v) => match decode_header_value(&v) {
                Some((name, h)) if name == file => Ok(Some(h.to_vec())),
                _ => Err(self.corrupt(key.as_bytes(), "unreadable file header".into())),
            },
        }
    }

    /// Adds to `batch` the deletion of the headers of files before the file of `floor` (they
    /// hold no event any more: the log holds nothing ending at or before `floor`).
    pub(super) fn delete_headers_before(
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
            let start = BinlogPosition {
                name: file.into(),
                pos: 0,
            };
            if start.seq() < floor.seq() {
                batch.delete(k);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{ev, pos};
    use super::super::{RelayLog, RelayPosition};
    use crate::store::Store;

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
}
