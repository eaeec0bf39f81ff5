//! The RocksDB database and its key layout.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rocksdb::{Direction, IteratorMode, Options, WriteBatch, WriteOptions, DB};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// RocksDB itself failed (I/O, corruption, lock held by another process).
    #[error("state store at {path}: {source}")]
    Db {
        /// Directory of the database.
        path: PathBuf,
        /// The RocksDB error.
        #[source]
        source: rocksdb::Error,
    },
    /// A stored value could not be decoded (written by an incompatible version?).
    #[error("state store at {path}: key `{key}` holds an unreadable value: {source}")]
    Decode {
        /// Directory of the database.
        path: PathBuf,
        /// The key.
        key: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A stored binary value could not be decoded.
    #[error("state store at {path}: key `{key}` holds a corrupt value: {reason}")]
    Corrupt {
        /// Directory of the database.
        path: PathBuf,
        /// The key (non-printable bytes escaped).
        key: String,
        /// What was wrong.
        reason: String,
    },
    /// The relay log of a source does not hold (any more) events a reader asked for.
    #[error("relay log of source `{source_id}`: cannot read after {wanted}: events up to {floor} are not held (purged, or before the relay's start)")]
    RelayPurged {
        /// The source.
        source_id: String,
        /// Where the reader wanted to start (exclusive).
        wanted: String,
        /// Position (or sequence) up to which the log holds nothing.
        floor: String,
    },
    /// An append would break the relay log's order.
    #[error("relay log of source `{source_id}`: event position {got} is not after the relay position {last} (events appended twice?)")]
    RelayOutOfOrder {
        /// The source.
        source_id: String,
        /// The relay position (end of the last appended event).
        last: String,
        /// The offending event's end position.
        got: String,
    },
}

/// The one RocksDB database of a daemon. Cheap to share behind an `Arc`.
pub struct Store {
    db: DB,
    path: PathBuf,
    /// Serializes relay-log writes (each one is a read-modify-write of the source's meta key).
    relay_lock: Mutex<()>,
}

impl Store {
    /// Opens (creating if needed) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.set_keep_log_file_num(4);
        let db = DB::open(&opts, dir).map_err(|source| StoreError::Db {
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(Self {
            db,
            path: dir.to_path_buf(),
            relay_lock: Mutex::new(()),
        })
    }

    fn db_err(&self, source: rocksdb::Error) -> StoreError {
        StoreError::Db {
            path: self.path.clone(),
            source,
        }
    }

    fn sync_opts() -> WriteOptions {
        let mut w = WriteOptions::default();
        w.set_sync(true);
        w
    }

    /// Reads and decodes one value.
    pub(crate) fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        match self.db.get(key.as_bytes()).map_err(|e| self.db_err(e))? {
            None => Ok(None),
            Some(v) => serde_json::from_slice(&v)
                .map(Some)
                .map_err(|source| StoreError::Decode {
                    path: self.path.clone(),
                    key: key.to_string(),
                    source,
                }),
        }
    }

    /// Writes one value durably (fsync of the WAL).
    pub(crate) fn put<T: Serialize>(&self, key: &str, value: &T) -> Result<(), StoreError> {
        let v = serde_json::to_vec(value).expect("serializing plain data cannot fail");
        self.db
            .put_opt(key.as_bytes(), v, &Self::sync_opts())
            .map_err(|e| self.db_err(e))
    }

    /// Writes several values durably, all or none.
    pub(crate) fn put_all<T: Serialize>(&self, entries: &[(String, T)]) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        for (k, v) in entries {
            let v = serde_json::to_vec(v).expect("serializing plain data cannot fail");
            batch.put(k.as_bytes(), v);
        }
        self.write_synced(batch)
    }

    /// Deletes one key durably.
    pub(crate) fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.db
            .delete_opt(key.as_bytes(), &Self::sync_opts())
            .map_err(|e| self.db_err(e))
    }

    /// The values of [`scan`](Self::scan), without their keys.
    pub(crate) fn scan_values<T: DeserializeOwned>(
        &self,
        prefix: &str,
    ) -> Result<Vec<T>, StoreError> {
        Ok(self
            .scan::<T>(prefix)?
            .into_iter()
            .map(|(_, v)| v)
            .collect())
    }

    /// All `(key, value)` pairs whose key starts with `prefix`, in key order.
    pub(crate) fn scan<T: DeserializeOwned>(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, T)>, StoreError> {
        let mut out = Vec::new();
        let it = self
            .db
            .iterator(IteratorMode::From(prefix.as_bytes(), Direction::Forward));
        for item in it {
            let (k, v) = item.map_err(|e| self.db_err(e))?;
            if !k.starts_with(prefix.as_bytes()) {
                break;
            }
            let key = String::from_utf8_lossy(&k).into_owned();
            let value = serde_json::from_slice(&v).map_err(|source| StoreError::Decode {
                path: self.path.clone(),
                key: key.clone(),
                source,
            })?;
            out.push((key, value));
        }
        Ok(out)
    }

    /// Deletes every key that starts with `prefix`, atomically.
    pub(crate) fn delete_prefix(&self, prefix: &str) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        let it = self
            .db
            .iterator(IteratorMode::From(prefix.as_bytes(), Direction::Forward));
        for item in it {
            let (k, _) = item.map_err(|e| self.db_err(e))?;
            if !k.starts_with(prefix.as_bytes()) {
                break;
            }
            batch.delete(k);
        }
        self.db
            .write_opt(batch, &Self::sync_opts())
            .map_err(|e| self.db_err(e))
    }
}

/// A raw `(key, value)` pair.
pub(crate) type RawPair = (Box<[u8]>, Box<[u8]>);

/// Raw-bytes helpers (binary keys and values, used by the relay log).
impl Store {
    /// Directory of the database.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Lock serializing relay-log writes.
    pub(crate) fn relay_lock(&self) -> MutexGuard<'_, ()> {
        self.relay_lock.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads one raw value.
    pub(crate) fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.db.get(key).map_err(|e| self.db_err(e))
    }

    /// Applies a batch atomically and durably (fsync of the WAL).
    pub(crate) fn write_synced(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.db
            .write_opt(batch, &Self::sync_opts())
            .map_err(|e| self.db_err(e))
    }

    /// Raw `(key, value)` pairs from `from` on, in key order (the caller stops at its prefix end).
    pub(crate) fn iter_raw_from<'a>(
        &'a self,
        from: &[u8],
    ) -> impl Iterator<Item = Result<RawPair, StoreError>> + 'a {
        self.db
            .iterator(IteratorMode::From(from, Direction::Forward))
            .map(move |r| r.map_err(|e| self.db_err(e)))
    }

    /// Compacts `[from, to)` so that deleted data actually leaves the disk.
    pub(crate) fn compact_raw(&self, from: &[u8], to: &[u8]) {
        self.db.compact_range(Some(from), Some(to));
    }
}

/// Escapes one variable key component so that `/` only ever separates components.
pub(crate) fn key_part(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '/' => out.push_str("%2F"),
            _ => out.push(c),
        }
    }
    out
}
