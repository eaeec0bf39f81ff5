//! Per-source bookkeeping of the relay log.

use ferry_model::BinlogPosition;
use serde::{Deserialize, Serialize};

use super::keys::meta_key;
use super::RelayPosition;
use crate::store::{Store, StoreError};

/// Per-source bookkeeping, stored as JSON next to the events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Meta {
    pub(super) next_seq: u64,
    pub(super) first_seq: u64,
    pub(super) count: u64,
    pub(super) bytes: u64,
    pub(super) position: Option<RelayPosition>,
    pub(super) floor: Option<BinlogPosition>,
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

impl Store {
    pub(super) fn relay_meta(&self, source: &str) -> Result<Meta, StoreError> {
        Ok(self.get(&meta_key(source))?.unwrap_or_default())
    }

    pub(super) fn meta_bytes(meta: &Meta) -> Vec<u8> {
        serde_json::to_vec(meta).expect("serializing plain data cannot fail")
    }
}
