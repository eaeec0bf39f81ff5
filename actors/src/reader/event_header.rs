//! The binlog event format shared by every part that touches raw events (the decoder, the
//! connector backend, the relay log's writer and readers): event type codes, header flags,
//! and the 19-byte common header, read and written in one place.

/// Length of the common event header.
pub(crate) const HEADER_LEN: usize = 19;

/// `QUERY_EVENT`.
pub(crate) const QUERY_EVENT: u8 = 2;
/// `ROTATE_EVENT`.
pub(crate) const ROTATE_EVENT: u8 = 4;
/// `FORMAT_DESCRIPTION_EVENT`.
pub(crate) const FORMAT_DESCRIPTION_EVENT: u8 = 15;
/// `TABLE_MAP_EVENT`.
pub(crate) const TABLE_MAP_EVENT: u8 = 19;
/// `HEARTBEAT_LOG_EVENT`.
pub(crate) const HEARTBEAT_EVENT: u8 = 27;
/// MySQL `PREVIOUS_GTIDS_LOG_EVENT`.
pub(crate) const PREVIOUS_GTIDS_EVENT: u8 = 35;
/// MySQL `PARTIAL_UPDATE_ROWS_EVENT`.
pub(crate) const PARTIAL_UPDATE_ROWS_EVENT: u8 = 39;
/// MySQL `TRANSACTION_PAYLOAD_EVENT` (compressed transactions).
pub(crate) const TRANSACTION_PAYLOAD_EVENT: u8 = 40;
/// MySQL `HEARTBEAT_LOG_EVENT_V2`.
pub(crate) const HEARTBEAT_V2_EVENT: u8 = 41;
/// MySQL 8.3+ `GTID_TAGGED_LOG_EVENT`.
pub(crate) const GTID_TAGGED_EVENT: u8 = 42;
/// MariaDB `GTID_EVENT`.
pub(crate) const MARIADB_GTID_EVENT: u8 = 162;
/// MariaDB `GTID_LIST_EVENT`.
pub(crate) const MARIADB_GTID_LIST_EVENT: u8 = 163;

/// `LOG_EVENT_BINLOG_IN_USE_F` (cleared before computing a format description's checksum).
pub(crate) const IN_USE_F: u16 = 0x1;
/// `LOG_EVENT_ARTIFICIAL_F`: made by the server for the stream, not in its binlog file.
pub(crate) const ARTIFICIAL_F: u16 = 0x20;

/// The fields of a common event header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// Seconds since the epoch.
    pub timestamp: u32,
    /// Event type code.
    pub type_code: u8,
    /// Server id of the server that wrote it.
    pub server_id: u32,
    /// Event size, header and checksum included.
    pub size: u32,
    /// Position after the event in its file (0 for some artificial events).
    pub log_pos: u32,
    /// Header flags.
    pub flags: u16,
}

impl Header {
    /// Reads the header at the start of `b` (`None` when `b` is shorter than a header).
    pub(crate) fn read(b: &[u8]) -> Option<Self> {
        Some(Self {
            timestamp: le_u32(b, 0)?,
            type_code: *b.get(4)?,
            server_id: le_u32(b, 5)?,
            size: le_u32(b, 9)?,
            log_pos: le_u32(b, 13)?,
            flags: le_u16(b, 17)?,
        })
    }

    /// The header's bytes.
    pub(crate) fn to_bytes(self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[0..4].copy_from_slice(&self.timestamp.to_le_bytes());
        h[4] = self.type_code;
        h[5..9].copy_from_slice(&self.server_id.to_le_bytes());
        h[9..13].copy_from_slice(&self.size.to_le_bytes());
        h[13..17].copy_from_slice(&self.log_pos.to_le_bytes());
        h[17..19].copy_from_slice(&self.flags.to_le_bytes());
        h
    }

    /// True for events the server makes for the stream (fake rotates, heartbeats, a format
    /// description sent again): they do not advance the position in the file.
    pub(crate) fn artificial(&self) -> bool {
        self.log_pos == 0
            || self.flags & ARTIFICIAL_F != 0
            || self.type_code == HEARTBEAT_EVENT
            || self.type_code == HEARTBEAT_V2_EVENT
    }
}

/// The bytes of a common header with these fields.
pub(crate) fn header_bytes(
    timestamp: u32,
    type_code: u8,
    server_id: u32,
    size: u32,
    log_pos: u32,
    flags: u16,
) -> [u8; HEADER_LEN] {
    Header {
        timestamp,
        type_code,
        server_id,
        size,
        log_pos,
        flags,
    }
    .to_bytes()
}

/// The type code of a raw event (`None` when too short).
pub(crate) fn type_code(raw: &[u8]) -> Option<u8> {
    raw.get(4).copied()
}

/// Little-endian u16 at `at`.
pub(crate) fn le_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

/// Little-endian u32 at `at`.
pub(crate) fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_reads_back_what_was_written() {
        let h = Header {
            timestamp: 1_700_000_000,
            type_code: ROTATE_EVENT,
            server_id: 7,
            size: 47,
            log_pos: 0,
            flags: ARTIFICIAL_F,
        };
        let bytes = h.to_bytes();
        assert_eq!(Header::read(&bytes), Some(h));
        assert_eq!(bytes, header_bytes(1_700_000_000, 4, 7, 47, 0, 0x20));
        assert_eq!(type_code(&bytes), Some(ROTATE_EVENT));
        assert!(h.artificial());
        assert!(Header::read(&bytes[..18]).is_none());
        let real = Header {
            log_pos: 1234,
            flags: 0,
            type_code: QUERY_EVENT,
            ..h
        };
        assert!(!real.artificial());
        assert!(Header {
            type_code: HEARTBEAT_V2_EVENT,
            ..real
        }
        .artificial());
    }
}
