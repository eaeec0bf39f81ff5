//! Raw event bytes: rebuilding them from a parsed event, common headers, checksums.

use mysql_async::binlog::events::Event;
use mysql_async::binlog::EventType;

use super::HEADER_LEN;
use crate::reader::event_header::header_bytes;

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

/// CRC-32 (IEEE), as binlog checksums use.
pub(in crate::reader) fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}
