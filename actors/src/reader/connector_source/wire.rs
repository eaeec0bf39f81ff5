//! Byte-level reading of events: the event format ([`crate::reader::event_header`]), and
//! the little-endian and length-encoded integers of event bodies.

pub(super) use crate::reader::event_header::{
    le_u16, Header, FORMAT_DESCRIPTION_EVENT, GTID_TAGGED_EVENT, HEADER_LEN,
    HEARTBEAT_V2_EVENT as HEARTBEAT_V2, MARIADB_GTID_EVENT, PARTIAL_UPDATE_ROWS_EVENT, QUERY_EVENT,
    ROTATE_EVENT, TABLE_MAP_EVENT, TRANSACTION_PAYLOAD_EVENT,
};

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
