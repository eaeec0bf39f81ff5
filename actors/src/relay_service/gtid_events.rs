//! Raw bodies of the events that open a binlog file with the GTID set executed before it:
//! MySQL's previous-GTIDs event and MariaDB's GTID list event.

use ferry_model::GtidSet;

pub(super) use crate::reader::event_header::{
    MARIADB_GTID_LIST_EVENT as MARIADB_GTID_LIST, PREVIOUS_GTIDS_EVENT as PREVIOUS_GTIDS,
};

/// MySQL `Previous_gtids` body: `n_sids u64 | (sid[16] | n u64 | (start u64, end u64)*n)*`,
/// intervals half-open. The tagged format (a flag in the top byte) is not decoded.
pub(super) fn parse_previous_gtids(b: &[u8]) -> Option<GtidSet> {
    let u64_at =
        |i: usize| -> Option<u64> { Some(u64::from_le_bytes(b.get(i..i + 8)?.try_into().ok()?)) };
    let n = u64_at(0)?;
    if n >> 56 != 0 {
        return None;
    }
    let mut set = GtidSet::Mysql(Default::default());
    let mut i = 8;
    for _ in 0..n {
        let sid: [u8; 16] = b.get(i..i + 16)?.try_into().ok()?;
        let key = crate::reader::gtid_key(&sid, None);
        let k = u64_at(i + 16)?;
        i += 24;
        for _ in 0..k {
            let (a, e) = (u64_at(i)?, u64_at(i + 8)?);
            i += 16;
            if let GtidSet::Mysql(m) = &mut set {
                if a >= 1 && e > a {
                    m.get_or_insert_with(key.as_str(), || key.as_str().into())
                        .push((a, e - 1));
                }
            }
        }
    }
    Some(set)
}

/// MariaDB `Gtid_list` body: `count u32 (low 28 bits) | (domain u32, server u32, seq u64)*`.
pub(super) fn parse_gtid_list(b: &[u8]) -> Option<GtidSet> {
    let n = u32::from_le_bytes(b.get(0..4)?.try_into().ok()?) & 0x0FFF_FFFF;
    let mut set = GtidSet::Mariadb(Default::default());
    for i in 0..n as usize {
        let o = 4 + i * 16;
        let d = u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?);
        let s = u32::from_le_bytes(b.get(o + 4..o + 8)?.try_into().ok()?);
        let q = u64::from_le_bytes(b.get(o + 8..o + 16)?.try_into().ok()?);
        set.add_mariadb(d, s, q);
    }
    Some(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_previous_gtids_and_gtid_lists() {
        let mut b = Vec::new();
        b.extend_from_slice(&1u64.to_le_bytes());
        b.extend_from_slice(&[0x11; 16]);
        b.extend_from_slice(&2u64.to_le_bytes());
        for (a, e) in [(1u64, 6u64), (8, 9)] {
            b.extend_from_slice(&a.to_le_bytes());
            b.extend_from_slice(&e.to_le_bytes());
        }
        b.extend_from_slice(&[0xAA; 4]); // checksum
        assert_eq!(
            parse_previous_gtids(&b).unwrap().to_string(),
            "11111111-1111-1111-1111-111111111111:1-5:8"
        );
        assert!(parse_previous_gtids(&b[..20]).is_none());

        let mut m = Vec::new();
        m.extend_from_slice(&2u32.to_le_bytes());
        for (d, s, q) in [(0u32, 5u32, 10u64), (1, 6, 3)] {
            m.extend_from_slice(&d.to_le_bytes());
            m.extend_from_slice(&s.to_le_bytes());
            m.extend_from_slice(&q.to_le_bytes());
        }
        assert_eq!(parse_gtid_list(&m).unwrap().to_string(), "0-5-10,1-6-3");
        assert!(parse_gtid_list(&m[..10]).is_none());
    }
}
