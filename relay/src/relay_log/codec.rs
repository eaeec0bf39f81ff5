//! Binary encoding of stored values: events (see the [module documentation](super)) and file
//! headers.

use ferry_model::BinlogPosition;

use super::NewRelayEvent;

const VERSION: u8 = 1;
const HEADER: usize = 1 + 8 + 4 + 2;

pub(super) fn encode(ev: &NewRelayEvent) -> Vec<u8> {
    let name = ev.end.name.as_bytes();
    let len = u16::try_from(name.len()).expect("binlog file names are shorter than 64 KiB");
    let mut v = Vec::with_capacity(HEADER + name.len() + ev.raw.len());
    v.push(VERSION);
    v.extend_from_slice(&ev.end.pos.to_be_bytes());
    v.extend_from_slice(&ev.timestamp.to_be_bytes());
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(name);
    v.extend_from_slice(&ev.raw);
    v
}

/// Decoded header of a stored value: (end, timestamp, offset of the raw bytes).
pub(super) fn decode_header(v: &[u8]) -> Result<(BinlogPosition, u32, usize), String> {
    if v.len() < HEADER {
        return Err(format!(
            "value of {} bytes is shorter than the header",
            v.len()
        ));
    }
    if v[0] != VERSION {
        return Err(format!("unknown encoding version {}", v[0]));
    }
    let pos = u64::from_be_bytes(v[1..9].try_into().expect("8 bytes"));
    let ts = u32::from_be_bytes(v[9..13].try_into().expect("4 bytes"));
    let len = u16::from_be_bytes(v[13..15].try_into().expect("2 bytes")) as usize;
    let name = v
        .get(HEADER..HEADER + len)
        .ok_or_else(|| "file name runs past the value".to_string())?;
    let name = std::str::from_utf8(name)
        .map_err(|e| format!("file name is not UTF-8: {e}"))?
        .to_string();
    Ok((
        BinlogPosition {
            name: name.into(),
            pos,
        },
        ts,
        HEADER + len,
    ))
}

/// A file header value: `u16` name length (big-endian), the name, then the header bytes.
pub(super) fn encode_header_value(file: &str, header: &[u8]) -> Vec<u8> {
    let name = file.as_bytes();
    let len = u16::try_from(name.len()).expect("binlog file names are shorter than 64 KiB");
    let mut v = Vec::with_capacity(2 + name.len() + header.len());
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(name);
    v.extend_from_slice(header);
    v
}

pub(super) fn decode_header_value(v: &[u8]) -> Option<(String, &[u8])> {
    let len = u16::from_be_bytes(v.get(0..2)?.try_into().ok()?) as usize;
    let name = std::str::from_utf8(v.get(2..2 + len)?).ok()?;
    Some((name.to_string(), &v[2 + len..]))
}
