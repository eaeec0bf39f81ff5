use super::*;

#[test]
fn decodes_mariadb_gtid() {
    let mut d = Vec::new();
    d.extend_from_slice(&42u64.to_le_bytes());
    d.extend_from_slice(&7u32.to_le_bytes());
    d.push(FL_STANDALONE | 8);
    assert_eq!(
        decode_mariadb_gtid(&d, 3),
        Some(EventBody::MariadbGtid {
            domain: 7,
            server: 3,
            seq: 42,
            standalone: true,
            flags: 9
        })
    );
    assert_eq!(decode_mariadb_gtid(&d[..12], 3), None);
}

fn start() -> BinlogPosition {
    BinlogPosition::new("binlog.000001", 4).unwrap()
}

#[test]
fn malformed_events_are_errors_not_panics() {
    let mut d = EventDecoder::new("test", start(), true);
    assert!(matches!(d.decode(&[]), Err(ReaderError::Decode { .. })));
    // Header announcing more bytes than given.
    let mut raw = header_bytes(1, 2, 1, 1000, 1000, 0).to_vec();
    raw.extend_from_slice(&[0; 10]);
    assert!(matches!(d.decode(&raw), Err(ReaderError::Decode { .. })));
    // A query event whose body is garbage, and a rows event without its table map.
    for code in [2u8, 30, 19, 15, 40, 162] {
        for len in [4usize, 5, 13, 40] {
            let size = (HEADER_LEN + len) as u32;
            let mut raw = header_bytes(1, code, 1, size, 100, 0).to_vec();
            raw.extend((0..len).map(|i| (i * 37) as u8));
            let mut d = EventDecoder::new("test", start(), true);
            let _ = d.decode(&raw);
            let _ = d.next_inner();
        }
    }
}

#[test]
fn first_rotate_with_and_without_crc() {
    let name = b"binlog.000007";
    for with_crc in [false, true] {
        let mut body = 4u64.to_le_bytes().to_vec();
        body.extend_from_slice(name);
        let size = (HEADER_LEN + body.len() + if with_crc { 4 } else { 0 }) as u32;
        let mut raw = header_bytes(0, 4, 9, size, 0, 0x20).to_vec();
        raw.extend_from_slice(&body);
        if with_crc {
            let crc = crc32fast::hash(&raw);
            raw.extend_from_slice(&crc.to_le_bytes());
        }
        let mut d = EventDecoder::new("test", start(), true);
        let ev = d.decode(&raw).unwrap();
        assert!(ev.artificial);
        assert_eq!(
            ev.body,
            EventBody::Rotate {
                next: BinlogPosition::new("binlog.000007", 4).unwrap()
            }
        );
        assert_eq!(d.position().name, "binlog.000007");
    }
}
