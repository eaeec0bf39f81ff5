//! Byte-level reading of events: event type codes, the common header, little-endian and
//! length-encoded integers.

pub(super) const HEADER_LEN: usize = 19;
pub(super) const QUERY_EVENT: u8 = 2;
pub(super) const ROTATE_EVENT: u8 = 4;
pub(super) const FORMAT_DESCRIPTION_EVENT: u8 = 15;
pub(super) const TABLE_MAP_EVENT: u8 = 19;
pub(super) const HEARTBEAT_EVENT: u8 = 27;
pub(super) const PARTIAL_UPDATE_ROWS_EVENT: u8 = 39;
pub(super) const TRANSACTION_PAYLOAD_EVENT: u8 = 40;
pub(super) const HEARTBEAT_V2: u8 = 41;
pub(super) const GTID_TAGGED_EVENT: u8 = 42;
pub(super) const MARIADB_GTID_EVENT: u8 = 162;
const LOG_EVENT_ARTIFICIAL_F: u16 = 0x20;

/// Fields of an event header.
#[derive(Debug, Clone, Copy)]
pub(super) struct Header {
    pub(super) timestamp: u32,
    pub(super) type_code: u8,
    pub(super) server_id: u32,
    pub(super) size: u32,
    pub(super) log_pos: u32,
    pub(super) flags: u16,
}

impl Header {
    pub(super) fn read(b: &[u8]) -> Option<Self> {
        Some(Self {
            timestamp: le_u32(b, 0)?,
            type_code: *b.get(4)?,
            server_id: le_u32(b, 5)?,
            size: le_u32(b, 9)?,
            log_pos: le_u32(b, 13)?,
            flags: le_u16(b, 17)?,
        })
    }

    pub(super) fn artificial(&self) -> bool {
        self.log_pos == 0
            || self.flags & LOG_EVENT_ARTIFICIAL_F != 0
            || self.type_code == HEARTBEAT_EVENT
            || self.type_code == HEARTBEAT_V2
    }
}

pub(super) fn le_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

pub(super) fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

pub(super) fn le_u48(b: &[u8], at: usize) -> Option<u64> {
    let mut le = [0u8; 8];
    le[..6].copy_from_slice(b.get(at..at + 6)?);
    Some(u64::from_le_bytes(le))
}

/// A length-encoded integer at `at`: (value, bytes used).
pub(super) fn packed_int(b: &[u8], at: usize) -> Option<(u64, usize)> {
    let first = *b.get(at)?;
    let wide = |n: usize| {
        let mut le = [0u8; 8];
        le[..n].copy_from_slice(b.get(at + 1..at + 1 + n)?);
        Some((u64::from_le_bytes(le), n + 1))
    };
    match first {
        0..=250 => Some((u64::from(first), 1)),
        252 => wide(2),
        253 => wide(3),
        254 => wide(8),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_length_encoded_integers() {
        assert_eq!(packed_int(&[250], 0), Some((250, 1)));
        assert_eq!(packed_int(&[252, 1, 2], 0), Some((0x201, 3)));
        assert_eq!(packed_int(&[253, 1, 2, 3], 0), Some((0x030201, 4)));
        assert_eq!(
            packed_int(&[254, 1, 0, 0, 0, 0, 0, 0, 1], 0),
            Some((1 << 56 | 1, 9))
        );
        assert_eq!(packed_int(&[251], 0), None);
        assert_eq!(packed_int(&[252, 1], 0), None);
    }
}
