//! Raw event bytes: rebuilding them from a parsed event, common headers, checksums.

use mysql_async::binlog::events::Event;
use mysql_async::binlog::EventType;

use super::HEADER_LEN;

/// The raw bytes of an event parsed by the driver: its header, its data and the checksum
/// suffix (for a format description, the checksum algorithm byte and the checksum) that the
/// driver split off. Exactly the bytes the server sent.
pub(crate) fn raw_bytes(event: &Event) -> Result<Vec<u8>, String> {
    let h = event.header();
    let size = h.event_size() as usize;
    let data = event.data();
    let mut raw = Vec::with_capacity(size);
    raw.extend_from_slice(&header_bytes(
        h.timestamp(),
        h.event_type_raw(),
        h.server_id(),
        h.event_size(),
        h.log_pos(),
        h.flags_raw(),
    ));
    raw.extend_from_slice(data);
    let tail = size
        .checked_sub(HEADER_LEN + data.len())
        .ok_or_else(|| format!("event size {size} is smaller than its data"))?;
    let is_fde = h.event_type_raw() == EventType::FORMAT_DESCRIPTION_EVENT as u8;
    let checksum = event.checksum().unwrap_or_default();
    match tail {
        0 => {}
        4 => raw.extend_from_slice(&checksum),
        5 if is_fde => {
            let alg = match event.footer().get_checksum_alg() {
                Ok(Some(a)) => a as u8,
                Ok(None) => return Err("format description without checksum algorithm".into()),
                Err(e) => u8::from(e),
            };
            raw.push(alg);
            raw.extend_from_slice(&checksum);
        }
        n => return Err(format!("unexpected {n}-byte event suffix")),
    }
    Ok(raw)
}

/// A common event header.
pub(crate) fn header_bytes(
    timestamp: u32,
    type_code: u8,
    server_id: u32,
    size: u32,
    log_pos: u32,
    flags: u16,
) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0..4].copy_from_slice(&timestamp.to_le_bytes());
    h[4] = type_code;
    h[5..9].copy_from_slice(&server_id.to_le_bytes());
    h[9..13].copy_from_slice(&size.to_le_bytes());
    h[13..17].copy_from_slice(&log_pos.to_le_bytes());
    h[17..19].copy_from_slice(&flags.to_le_bytes());
    h
}

/// CRC-32 (IEEE), as binlog checksums use.
pub(in crate::reader) fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}
