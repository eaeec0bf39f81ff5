//! The per-file header the relay writer keeps for each binlog file, and the artificial events
//! a relay reader synthesizes from it so that its stream is the one the upstream would send.
//!
//! The relay log holds the real events of the upstream's binlog files. What the upstream sends
//! besides them depends on where a dump starts, and is rebuilt here:
//! - at the start of a dump, and after every real rotate, a *fake rotate* (timestamp 0,
//!   `log_pos` 0, artificial flag) naming the file and offset where the stream continues;
//! - when a dump starts past offset 4, the file's format description with `log_pos` 0.

use ferry_model::BinlogPosition;

use crate::reader::event_header::{header_bytes, ARTIFICIAL_F, HEADER_LEN, IN_USE_F, ROTATE_EVENT};

const VERSION: u8 = 1;
/// Checksum algorithm byte of CRC32.
const ALG_CRC32: u8 = 1;

/// What a reader needs to start in the middle of a binlog file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileHeader {
    /// Header timestamp of the upstream's fake rotate events.
    pub rotate_timestamp: u32,
    /// Server id in the upstream's fake rotate events.
    pub rotate_server_id: u32,
    /// The file's format description event, raw (as sent: `log_pos` may be 0).
    pub fde: Vec<u8>,
}

impl FileHeader {
    /// Serialized form (stored by [`ferry_relay::RelayLog::put_file_header`]).
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(9 + self.fde.len());
        v.push(VERSION);
        v.extend_from_slice(&self.rotate_timestamp.to_be_bytes());
        v.extend_from_slice(&self.rotate_server_id.to_be_bytes());
        v.extend_from_slice(&self.fde);
        v
    }

    /// Parses [`Self::encode`]'s output.
    pub fn decode(v: &[u8]) -> Result<Self, String> {
        if v.len() < 9 + HEADER_LEN {
            return Err(format!("file header of {} bytes is too short", v.len()));
        }
        if v[0] != VERSION {
            return Err(format!("unknown file header version {}", v[0]));
        }
        Ok(Self {
            rotate_timestamp: u32::from_be_bytes([v[1], v[2], v[3], v[4]]),
            rotate_server_id: u32::from_be_bytes([v[5], v[6], v[7], v[8]]),
            fde: v[9..].to_vec(),
        })
    }

    /// True when the file's events end with a CRC32.
    pub fn crc32(&self) -> bool {
        self.fde.len() >= HEADER_LEN + 5 && self.fde[self.fde.len() - 5] == ALG_CRC32
    }

    /// The fake rotate the upstream sends when a dump continues at `at`.
    pub fn fake_rotate(&self, at: &BinlogPosition) -> Vec<u8> {
        fake_rotate(
            at,
            self.rotate_timestamp,
            self.rotate_server_id,
            self.crc32(),
        )
    }

    /// The format description the upstream sends when a dump starts past offset 4: the
    /// file's own, with `log_pos` 0 (so that it moves no position) and its checksum
    /// recomputed.
    pub fn artificial_fde(&self) -> Vec<u8> {
        let mut raw = self.fde.clone();
        raw[13..17].copy_from_slice(&0u32.to_le_bytes());
        if self.crc32() {
            let n = raw.len() - 4;
            let mut hashed = raw[..n].to_vec();
            let flags = u16::from_le_bytes([hashed[17], hashed[18]]) & !IN_USE_F;
            hashed[17..19].copy_from_slice(&flags.to_le_bytes());
            let crc = crc32fast::hash(&hashed);
            raw[n..].copy_from_slice(&crc.to_le_bytes());
        }
        raw
    }
}

/// A fake rotate event to `at`.
pub(crate) fn fake_rotate(
    at: &BinlogPosition,
    timestamp: u32,
    server_id: u32,
    crc32: bool,
) -> Vec<u8> {
    let name = at.name.as_bytes();
    let size = HEADER_LEN + 8 + name.len() + if crc32 { 4 } else { 0 };
    let mut raw = Vec::with_capacity(size);
    raw.extend_from_slice(&header_bytes(
        timestamp,
        ROTATE_EVENT,
        server_id,
        u32::try_from(size).unwrap_or(u32::MAX),
        0,
        ARTIFICIAL_F,
    ));
    raw.extend_from_slice(&at.pos.to_le_bytes());
    raw.extend_from_slice(name);
    if crc32 {
        let crc = crc32fast::hash(&raw);
        raw.extend_from_slice(&crc.to_le_bytes());
    }
    raw
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::{EventBody, EventDecoder};

    #[test]
    fn encodes_and_decodes() {
        let h = FileHeader {
            rotate_timestamp: 0,
            rotate_server_id: 7,
            fde: vec![9; 40],
        };
        assert_eq!(FileHeader::decode(&h.encode()).unwrap(), h);
        assert!(FileHeader::decode(&[1, 2]).is_err());
    }

    #[test]
    fn synthesized_rotates_decode() {
        let at = BinlogPosition::new("binlog.000003", 1234).unwrap();
        for crc in [true, false] {
            let raw = fake_rotate(&at, 0, 5, crc);
            let mut d = EventDecoder::new("t", at.clone(), true);
            let ev = d.decode(&raw).unwrap();
            assert!(ev.artificial);
            assert_eq!(ev.server_id, 5);
            assert_eq!(ev.body, EventBody::Rotate { next: at.clone() });
        }
    }
}
