//! Key layout of the relay log (see the [module documentation](super)).

use crate::store::key_part;

pub(super) fn source_prefix(source: &str) -> String {
    format!("relay/{}/", key_part(source))
}

pub(super) fn meta_key(source: &str) -> String {
    format!("{}meta", source_prefix(source))
}

pub(super) fn headers_prefix(source: &str) -> String {
    format!("{}h/", source_prefix(source))
}

pub(super) fn header_key(source: &str, file: &str) -> String {
    format!("{}{}", headers_prefix(source), key_part(file))
}

pub(super) fn events_prefix(source: &str) -> Vec<u8> {
    format!("{}e/", source_prefix(source)).into_bytes()
}

pub(super) fn event_key(source: &str, seq: u64) -> Vec<u8> {
    let mut k = events_prefix(source);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// Sequence number of an event key (its last 8 bytes, big-endian).
pub(super) fn seq_of(key: &[u8]) -> u64 {
    let tail = &key[key.len() - 8..];
    u64::from_be_bytes(tail.try_into().expect("8 bytes"))
}
