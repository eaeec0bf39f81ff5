//! Helpers shared by the relay log's unit tests.

use ferry_model::BinlogPosition;

use super::{NewRelayEvent, ReadLimit, RelayEvent};

pub(super) fn pos(file: u64, p: u64) -> BinlogPosition {
    BinlogPosition::new(format!("binlog.{file:06}"), p).unwrap()
}

pub(super) fn ev(file: u64, p: u64, ts: u32, len: usize) -> NewRelayEvent {
    NewRelayEvent {
        end: pos(file, p),
        timestamp: ts,
        raw: vec![(p % 251) as u8; len],
    }
}

pub(super) const ALL: ReadLimit = ReadLimit {
    max_events: usize::MAX,
    max_bytes: u64::MAX,
};

pub(super) fn seqs(evs: &[RelayEvent]) -> Vec<u64> {
    evs.iter().map(|e| e.seq).collect()
}
