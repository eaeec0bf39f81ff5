use super::*;
use bytes::Bytes;

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

/// A format description (CRC32 checksums) and a query event, as a server writes them.
fn fde_and_query() -> (Vec<u8>, Vec<u8>) {
    let mut data = 4u16.to_le_bytes().to_vec();
    let mut version = b"8.0.40".to_vec();
    version.resize(50, 0);
    data.extend_from_slice(&version);
    data.extend_from_slice(&0u32.to_le_bytes());
    data.push(HEADER_LEN as u8);
    // Post-header lengths of event types 1..=40 (a query event's is 13).
    let mut lengths = vec![0u8; 40];
    lengths[1] = 13;
    lengths[18] = 8; // table map
    lengths[29] = 10; // rows v2
    lengths[32] = 42; // GTID
    data.extend_from_slice(&lengths);
    data.push(1); // BINLOG_CHECKSUM_ALG_CRC32
    let with_crc = |type_code: u8, log_pos: u32, data: &[u8]| {
        let size = (HEADER_LEN + data.len() + 4) as u32;
        let mut raw = header_bytes(1_700_000_000, type_code, 1, size, log_pos, 0).to_vec();
        raw.extend_from_slice(data);
        let crc = crc32fast::hash(&raw);
        raw.extend_from_slice(&crc.to_le_bytes());
        raw
    };
    let fde = with_crc(15, 4 + (HEADER_LEN + data.len() + 4) as u32, &data);
    let mut q = Vec::new();
    q.extend_from_slice(&7u32.to_le_bytes()); // thread id
    q.extend_from_slice(&0u32.to_le_bytes()); // exec time
    q.push(2); // schema length
    q.extend_from_slice(&0u16.to_le_bytes()); // error code
    q.extend_from_slice(&0u16.to_le_bytes()); // status variables length
    q.extend_from_slice(b"db\0CREATE TABLE t (a INT)");
    let at = 4 + fde.len() as u32;
    let query = with_crc(2, at + (HEADER_LEN + q.len() + 4) as u32, &q);
    (fde, query)
}

#[test]
fn checksums_are_verified() {
    let (fde, query) = fde_and_query();
    let mut d = EventDecoder::new("test", start(), true);
    let ev = d.decode(&fde).unwrap();
    assert!(matches!(
        ev.body,
        EventBody::FormatDescription { crc32: true, .. }
    ));
    let ev = d.decode(&query).unwrap();
    assert!(
        matches!(&ev.body, EventBody::Query { sql, schema, .. } if sql == "CREATE TABLE t (a INT)" && schema == "db"),
        "{ev:?}"
    );
    assert_eq!(ev.pos.pos, 4 + (fde.len() + query.len()) as u64);
    // One bit changed in the body or in the checksum: refused.
    for at in [HEADER_LEN + 3, query.len() - 1] {
        let mut bad = query.clone();
        bad[at] ^= 0x10;
        let mut d = EventDecoder::new("test", start(), true);
        d.decode(&fde).unwrap();
        assert!(
            matches!(d.decode(&bad), Err(ReaderError::Checksum { .. })),
            "byte {at}"
        );
    }
    // A format description whose checksum is wrong is refused too.
    let mut bad = fde.clone();
    bad[HEADER_LEN + 2 + 50] ^= 1; // in the creation timestamp
    let mut d = EventDecoder::new("test", start(), true);
    assert!(matches!(d.decode(&bad), Err(ReaderError::Checksum { .. })));
}

/// An event of `type_code` with `data`, starting at `at`, with its CRC32.
fn with_crc(type_code: u8, at: u32, data: &[u8]) -> Vec<u8> {
    let size = (HEADER_LEN + data.len() + 4) as u32;
    let mut raw = header_bytes(1_700_000_001, type_code, 9, size, at + size, 0).to_vec();
    raw.extend_from_slice(data);
    let crc = crc32fast::hash(&raw);
    raw.extend_from_slice(&crc.to_le_bytes());
    raw
}

/// A query event with status variables and a non-UTF-8 byte, and an XID event, after the
/// format description of [`fde_and_query`].
fn more_events(after: u32) -> Vec<Vec<u8>> {
    let mut q = Vec::new();
    q.extend_from_slice(&7u32.to_le_bytes());
    q.extend_from_slice(&1u32.to_le_bytes());
    q.push(3);
    q.extend_from_slice(&1146u16.to_le_bytes());
    q.extend_from_slice(&5u16.to_le_bytes());
    q.extend_from_slice(&[0, 0, 0, 0, 1]); // sql_mode (flags2 & co.): opaque here
    q.extend_from_slice(b"d\xffb\0BEGIN");
    let query = with_crc(2, after, &q);
    let mut at = after + query.len() as u32;
    let mut gtid = vec![1u8];
    gtid.extend_from_slice(&[0x3e; 16]);
    gtid.extend_from_slice(&77u64.to_le_bytes());
    gtid.push(2);
    gtid.extend_from_slice(&5u64.to_le_bytes());
    gtid.extend_from_slice(&6u64.to_le_bytes());
    let gtid = with_crc(33, at, &gtid);
    at += gtid.len() as u32;
    // Table map of `d.t (a INT)`, table id 9, then an insert of a = -5 and a = 7.
    let mut map = vec![9, 0, 0, 0, 0, 0, 1, 0];
    map.extend_from_slice(b"\x01d\0\x01t\0");
    map.extend_from_slice(&[1, 3, 0, 0]);
    let map = with_crc(19, at, &map);
    at += map.len() as u32;
    let mut rows = vec![9, 0, 0, 0, 0, 0, 1, 0, 2, 0, 1, 1];
    for v in [-5i32, 7] {
        rows.push(0);
        rows.extend_from_slice(&v.to_le_bytes());
    }
    let rows = with_crc(30, at, &rows);
    at += rows.len() as u32;
    let xid = with_crc(16, at, &42u64.to_le_bytes());
    vec![query, gtid, map, rows, xid]
}

#[test]
fn plain_events_decode_as_through_the_driver() {
    let (fde, _) = fde_and_query();
    let events = more_events(4 + fde.len() as u32);
    let mut fast = EventDecoder::new("test", start(), true);
    let mut slow = EventDecoder::new("test", start(), true);
    fast.decode(&fde).unwrap();
    slow.decode(&fde).unwrap();
    for raw in &events {
        let a = fast.decode(raw).unwrap();
        let b = slow.decode_parsed(raw, raw[4]).unwrap();
        assert_eq!(a, b);
        assert_eq!(fast.position(), slow.position());
    }
    let xid = events.last().unwrap();
    assert!(matches!(
        fast.decode(xid).unwrap().body,
        EventBody::Xid { xid: 42 }
    ));
    let EventBody::Rows { changes, .. } = fast.decode(&events[3]).unwrap().body else {
        panic!("not rows");
    };
    assert_eq!(changes.len(), 2);
    assert_eq!(
        changes[0].after.as_deref(),
        Some(&[crate::reader::RowValue::Int(-5)][..])
    );
    assert!(matches!(
        fast.decode(&events[1]).unwrap().body,
        EventBody::MysqlGtid {
            gno: 77,
            tag: None,
            ..
        }
    ));
    // Short or oversized bodies are left to the driver, which reports them.
    let mut odd = xid.clone();
    odd.insert(HEADER_LEN, 0);
    let size = odd.len() as u32;
    odd[9..13].copy_from_slice(&size.to_le_bytes());
    let n = odd.len() - 4;
    let crc = crc32fast::hash(&odd[..n]);
    odd[n..].copy_from_slice(&crc.to_le_bytes());
    assert!(matches!(fast.decode(&odd), Err(ReaderError::Decode { .. })));
}

#[test]
fn a_table_id_mapped_again_by_other_bytes_decodes_rows_by_the_new_map() {
    let (fde, _) = fde_and_query();
    let events = more_events(4 + fde.len() as u32);
    let mut d = EventDecoder::new("test", start(), true);
    d.decode(&fde).unwrap();
    let first_map = events
        .iter()
        .map(|raw| d.decode(raw).unwrap())
        .nth(2)
        .unwrap();
    let mut at = d.position().pos as u32;
    // The same bytes again: remembered, the same body.
    let again = with_crc(19, at, &events[2][HEADER_LEN..events[2].len() - 4]);
    at += again.len() as u32;
    assert_eq!(d.decode(&again).unwrap().body, first_map.body);
    // Table id 9 now maps `d.t (a BIGINT)`: the rows decode by the new map.
    let mut map = vec![9, 0, 0, 0, 0, 0, 1, 0];
    map.extend_from_slice(b"\x01d\0\x01t\0");
    map.extend_from_slice(&[1, 8, 0, 0]);
    let map = with_crc(19, at, &map);
    at += map.len() as u32;
    let mut rows = vec![9, 0, 0, 0, 0, 0, 1, 0, 2, 0, 1, 1, 0];
    rows.extend_from_slice(&(1i64 << 40).to_le_bytes());
    let rows = Bytes::from(with_crc(30, at, &rows));
    assert!(matches!(
        d.decode(&map).unwrap().body,
        EventBody::TableMap {
            table_id: 9,
            columns: 1,
            ..
        }
    ));
    let EventBody::Rows { changes, raw, .. } = d.decode_shared(&rows).unwrap().body else {
        panic!("not rows");
    };
    assert_eq!(
        changes[0].after.as_deref(),
        Some(&[crate::reader::RowValue::Int(1 << 40)][..])
    );
    // The rows event's body is a slice of the event's bytes, not a copy.
    assert_eq!(&raw[..], &rows[HEADER_LEN..rows.len() - 4]);
    assert_eq!(raw.as_ptr(), rows[HEADER_LEN..].as_ptr());
}
