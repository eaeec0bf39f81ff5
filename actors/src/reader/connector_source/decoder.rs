//! The thread-side state of a stream: checksums, positions, and each event's body
//! converted into a [`SourceEvent`] (rows events in [`rows`](super::rows), compressed
//! transactions in [`payload`](super::payload)).

use std::collections::{HashMap, VecDeque};
use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

use bytes::Bytes;
use ferry_model::BinlogPosition;
use mysql_binlog_connector_rust::binlog_error::BinlogError;
use mysql_binlog_connector_rust::binlog_parser::BinlogParser;
use mysql_binlog_connector_rust::event::checksum_type::ChecksumType;
use mysql_binlog_connector_rust::event::event_data::EventData;

use super::client::driver_error;
use super::rows::rows_kind;
use super::table_map::{check_column_types, table_unsigned};
use super::wire::{
    le_u16, Header, FORMAT_DESCRIPTION_EVENT, GTID_TAGGED_EVENT, HEADER_LEN, HEARTBEAT_V2,
    MARIADB_GTID_EVENT, PARTIAL_UPDATE_ROWS_EVENT, QUERY_EVENT, ROTATE_EVENT, TABLE_MAP_EVENT,
    TRANSACTION_PAYLOAD_EVENT,
};
use crate::reader::decode::{crc32, decode_mariadb_gtid};
use crate::reader::{EventBody, ReaderError, SourceEvent};

/// Normalizes raw events into [`SourceEvent`]s (the thread-side state of a stream).
pub(super) struct Decoder {
    addr: String,
    verify_checksum: bool,
    /// Position after the last event.
    pub(super) pos: BinlogPosition,
    /// A format description event was seen.
    seen_fde: bool,
    /// Events end with a CRC32 (per the last format description).
    crc32: bool,
    /// Events unpacked from a compressed transaction, not yet returned.
    pub(super) pending: VecDeque<SourceEvent>,
    /// Per table id, per column: UNSIGNED (from the table map's signedness metadata).
    unsigned: HashMap<u64, Vec<bool>>,
}

impl Decoder {
    pub(super) fn new(addr: String, pos: BinlogPosition, verify_checksum: bool) -> Self {
        Self {
            addr,
            verify_checksum,
            pos,
            seen_fde: false,
            crc32: false,
            pending: VecDeque::new(),
            unsigned: HashMap::new(),
        }
    }

    pub(super) fn decode_err(&self, type_code: u8, reason: impl std::fmt::Display) -> ReaderError {
        ReaderError::Decode {
            addr: self.addr.clone(),
            pos: self.pos.clone(),
            type_code,
            reason: reason.to_string(),
        }
    }

    pub(super) fn stream_err(&self, e: BinlogError) -> ReaderError {
        ReaderError::Stream {
            addr: self.addr.clone(),
            pos: self.pos.clone(),
            source: Box::new(driver_error(e)),
        }
    }

    /// An ERR packet (`0xFF code [#state] message`) as the server error it is.
    pub(super) fn server_err(&self, packet: &[u8]) -> ReaderError {
        let code = le_u16(packet, 1).unwrap_or(0);
        let (state, message) = match packet.get(3) {
            Some(b'#') => (
                packet.get(4..9).unwrap_or_default(),
                packet.get(9..).unwrap_or_default(),
            ),
            _ => (&[][..], packet.get(3..).unwrap_or_default()),
        };
        ReaderError::Stream {
            addr: self.addr.clone(),
            pos: self.pos.clone(),
            source: Box::new(mysql_async::Error::Server(mysql_async::ServerError {
                code,
                message: String::from_utf8_lossy(message).into_owned(),
                state: String::from_utf8_lossy(state).into_owned(),
            })),
        }
    }

    /// Verifies the checksum, advances the position and converts one event of the stream.
    pub(super) fn event(
        &mut self,
        parser: &mut BinlogParser,
        bytes: &[u8],
    ) -> Result<SourceEvent, ReaderError> {
        let h = Header::read(bytes)
            .ok_or_else(|| self.decode_err(0, format!("event of {} bytes", bytes.len())))?;
        let type_code = h.type_code;
        if h.size as usize != bytes.len() || bytes.len() < HEADER_LEN {
            return Err(self.decode_err(
                type_code,
                format!("event of {} bytes says it has {}", bytes.len(), h.size),
            ));
        }
        let crc = if type_code == FORMAT_DESCRIPTION_EVENT {
            fde_checksum_alg(&bytes[HEADER_LEN..]) == Some(1)
        } else {
            self.seen_fde && self.crc32
        };
        if crc {
            if bytes.len() < HEADER_LEN + 4 {
                return Err(self.decode_err(type_code, "event too short for its checksum"));
            }
            let (covered, tail) = bytes.split_at(bytes.len() - 4);
            let stored = u32::from_le_bytes(tail.try_into().unwrap_or_default());
            let computed = crc32(covered);
            if self.verify_checksum && stored != computed {
                return Err(ReaderError::Checksum {
                    addr: self.addr.clone(),
                    pos: advance(&self.pos, h.size, h.log_pos),
                    type_code,
                    stored,
                    computed,
                });
            }
        }
        let body_end = bytes.len() - if crc { 4 } else { 0 };
        let body_bytes = &bytes[HEADER_LEN..body_end];

        let mut inner = Vec::new();
        let body = if type_code == ROTATE_EVENT && !self.seen_fde {
            self.first_rotate(bytes)?
        } else if type_code == TRANSACTION_PAYLOAD_EVENT {
            inner = self.payload(body_bytes)?;
            EventBody::Other { type_code }
        } else {
            let mut unsigned = std::mem::take(&mut self.unsigned);
            let body = self.body(parser, &mut unsigned, &h, bytes, body_bytes);
            self.unsigned = unsigned;
            body?
        };
        if let EventBody::FormatDescription { crc32, .. } = &body {
            self.seen_fde = true;
            self.crc32 = *crc32;
        }
        if let EventBody::Rotate { next } = &body {
            self.pos = next.clone();
        } else if !h.artificial() {
            self.pos = advance(&self.pos, h.size, h.log_pos);
        }
        for mut ev in inner {
            ev.pos = self.pos.clone();
            self.pending.push_back(ev);
        }
        Ok(SourceEvent {
            pos: self.pos.clone(),
            timestamp: h.timestamp,
            server_id: h.server_id,
            artificial: h.artificial(),
            body,
        })
    }

    /// The (fake) rotate the server sends before the format description, decoded here:
    /// `position u64 LE | file name [| crc32]`, the CRC (MariaDB, MySQL with checksums)
    /// recognized by its value.
    fn first_rotate(&self, bytes: &[u8]) -> Result<EventBody, ReaderError> {
        let body = &bytes[HEADER_LEN..];
        let pos = body
            .get(..8)
            .and_then(|p| p.try_into().ok())
            .map(u64::from_le_bytes)
            .ok_or_else(|| self.decode_err(ROTATE_EVENT, "rotate event too short"))?;
        let mut name = &body[8..];
        if name.len() > 4 {
            let (covered, tail) = bytes.split_at(bytes.len() - 4);
            if crc32(covered).to_le_bytes() == tail {
                name = &name[..name.len() - 4];
            }
        }
        let name = String::from_utf8_lossy(name).into_owned();
        let next = BinlogPosition::new(name, pos).map_err(|e| self.decode_err(ROTATE_EVENT, e))?;
        Ok(EventBody::Rotate { next })
    }

    /// The body of one event (of the stream, or unpacked from a compressed transaction):
    /// `bytes` is the whole event, `body` the part between header and checksum.
    pub(super) fn body(
        &self,
        parser: &mut BinlogParser,
        unsigned: &mut HashMap<u64, Vec<bool>>,
        h: &Header,
        bytes: &[u8],
        body: &[u8],
    ) -> Result<EventBody, ReaderError> {
        let type_code = h.type_code;
        match type_code {
            MARIADB_GTID_EVENT => {
                return decode_mariadb_gtid(body, h.server_id)
                    .ok_or_else(|| self.decode_err(type_code, "MariaDB GTID event too short"))
            }
            HEARTBEAT_V2 => return Ok(EventBody::Heartbeat),
            QUERY_EVENT => {
                return decode_query(body)
                    .ok_or_else(|| self.decode_err(type_code, "query event too short"))
            }
            PARTIAL_UPDATE_ROWS_EVENT => {
                return Err(self.decode_err(
                    type_code,
                    "binlog backend `connector` cannot decode partial JSON updates \
                     (binlog_row_value_options=PARTIAL_JSON on the upstream): set \
                     binlog_row_value_options='' there, or use the default backend",
                ))
            }
            GTID_TAGGED_EVENT => {
                return Err(self.decode_err(
                    type_code,
                    "binlog backend `connector` cannot decode tagged GTIDs (MySQL 8.4+); \
                     use the default backend",
                ))
            }
            // Nested payloads do not exist; never decompress twice.
            TRANSACTION_PAYLOAD_EVENT => return Ok(EventBody::Other { type_code }),
            _ => {}
        }
        if let Some(kind) = rows_kind(type_code) {
            return self.rows(parser, unsigned, type_code, kind, body);
        }
        let parsed = catch_unwind(AssertUnwindSafe(|| {
            parser.next(&mut Cursor::new(bytes)).map(|(_, data)| data)
        }));
        let data = match parsed {
            Ok(Ok(data)) => data,
            Ok(Err(e)) if type_code == TABLE_MAP_EVENT => {
                return Err(self.decode_err(
                    type_code,
                    format!(
                        "table map: {e} (binlog backend `connector` cannot decode VECTOR \
                         columns or newer table-map metadata; use the default backend)"
                    ),
                ))
            }
            Ok(Err(e)) => return Err(self.decode_err(type_code, e)),
            Err(_) => {
                return Err(self.decode_err(
                    type_code,
                    "malformed event (the connector crate panicked decoding it)",
                ))
            }
        };
        Ok(match data {
            EventData::FormatDescription(f) => EventBody::FormatDescription {
                server_version: f.server_version.trim_end_matches('\0').to_string(),
                crc32: matches!(f.checksum_type, ChecksumType::CRC32),
            },
            EventData::Rotate(r) => {
                let next = BinlogPosition::new(r.binlog_filename, r.binlog_position)
                    .map_err(|e| self.decode_err(type_code, e))?;
                EventBody::Rotate { next }
            }
            EventData::Xid(x) => EventBody::Xid { xid: x.xid },
            EventData::TableMap(t) => {
                check_column_types(&t).map_err(|e| self.decode_err(type_code, e))?;
                // The crate assigns the signedness bits to its own list of numeric types,
                // which lacks YEAR and DECIMAL: every later numeric column gets the wrong bit.
                let flags = table_unsigned(body).ok_or_else(|| {
                    self.decode_err(type_code, "table map: malformed optional metadata")
                })?;
                unsigned.insert(t.table_id, flags);
                EventBody::TableMap {
                    table_id: t.table_id,
                    table: std::sync::Arc::new(ferry_model::TableName::new(
                        t.database_name,
                        t.table_name,
                    )),
                    columns: t.column_types.len() as u64,
                    names: t.table_metadata.as_ref().and_then(|m| {
                        m.columns
                            .iter()
                            .map(|c| c.column_name.clone())
                            .collect::<Option<Vec<String>>>()
                            .map(std::sync::Arc::from)
                    }),
                }
            }
            EventData::Gtid(g) => {
                let (sid, gno) = parse_gtid(&g.gtid)
                    .ok_or_else(|| self.decode_err(type_code, format!("GTID `{}`", g.gtid)))?;
                EventBody::MysqlGtid {
                    sid,
                    gno,
                    tag: None,
                }
            }
            EventData::HeartBeat => EventBody::Heartbeat,
            _ => EventBody::Other { type_code },
        })
    }
}

/// Position after an event of `size` bytes whose header says it ends at `log_pos`
/// (32-bit): `pos + size` when it agrees, else `log_pos` with the high bits of `pos`.
fn advance(cur: &BinlogPosition, size: u32, log_pos: u32) -> BinlogPosition {
    let at = cur.pos;
    let mut next = at + u64::from(size);
    if next as u32 != log_pos {
        next = (at & !0xFFFF_FFFF) | u64::from(log_pos);
        if next < at {
            next += 1 << 32;
        }
    }
    BinlogPosition {
        name: cur.name.clone(),
        pos: next,
    }
}

/// The checksum algorithm byte of a format description body, when it has one.
fn fde_checksum_alg(body: &[u8]) -> Option<u8> {
    // binlog version (2), server version (50), create timestamp (4), header length (1),
    // then one post-header length per event type; the FDE's own says where its fixed part
    // ends, and the algorithm byte (followed by the 4-byte checksum) comes right after.
    let fixed = usize::from(*body.get(57 + usize::from(FORMAT_DESCRIPTION_EVENT) - 1)?);
    if body.len() >= fixed + 5 {
        body.get(fixed).copied()
    } else {
        None
    }
}

/// A query event body: `thread_id u32 | exec_time u32 | schema_len u8 | error_code u16 |
/// status_vars_len u16 | status vars | schema | NUL | statement`.
fn decode_query(body: &[u8]) -> Option<EventBody> {
    let schema_len = usize::from(*body.get(8)?);
    let error_code = le_u16(body, 9)?;
    let vars_len = usize::from(le_u16(body, 11)?);
    let status_vars = body.get(13..13 + vars_len)?;
    let schema_at = 13 + vars_len;
    let schema = body.get(schema_at..schema_at + schema_len)?;
    let sql = body.get(schema_at + schema_len + 1..)?;
    Some(EventBody::Query {
        schema: String::from_utf8_lossy(schema).into_owned(),
        sql: String::from_utf8_lossy(sql).into_owned(),
        error_code,
        status_vars: Bytes::copy_from_slice(status_vars),
    })
}

/// `uuid:gno` as the crate prints a GTID.
fn parse_gtid(text: &str) -> Option<([u8; 16], u64)> {
    let (uuid, gno) = text.rsplit_once(':')?;
    let hex_text: String = uuid.chars().filter(|&c| c != '-').collect();
    let bytes = hex::decode(hex_text).ok()?;
    Some((bytes.try_into().ok()?, gno.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parser() -> BinlogParser {
        BinlogParser {
            checksum_length: 4,
            table_map_event_by_table_id: HashMap::new(),
        }
    }

    fn decoder() -> Decoder {
        let mut d = Decoder::new(
            "h:1".to_string(),
            BinlogPosition::new("binlog.000001", 100).unwrap(),
            true,
        );
        d.seen_fde = true;
        d.crc32 = true;
        d
    }

    /// An event of `type_code` with `body`, ending at `log_pos`, with a valid CRC32.
    pub(super) fn event(type_code: u8, body: &[u8], log_pos: u32) -> Vec<u8> {
        let size = (HEADER_LEN + body.len() + 4) as u32;
        let mut e = Vec::new();
        e.extend_from_slice(&7u32.to_le_bytes());
        e.push(type_code);
        e.extend_from_slice(&9u32.to_le_bytes());
        e.extend_from_slice(&size.to_le_bytes());
        e.extend_from_slice(&log_pos.to_le_bytes());
        e.extend_from_slice(&0u16.to_le_bytes());
        e.extend_from_slice(body);
        let crc = crc32(&e);
        e.extend_from_slice(&crc.to_le_bytes());
        e
    }

    #[test]
    fn decodes_an_xid_and_advances_the_position() {
        let mut d = decoder();
        let e = event(16, &42u64.to_le_bytes(), 131);
        let ev = d.event(&mut parser(), &e).unwrap();
        assert_eq!(ev.body, EventBody::Xid { xid: 42 });
        assert_eq!(ev.pos, BinlogPosition::new("binlog.000001", 131).unwrap());
        assert_eq!((ev.timestamp, ev.server_id, ev.artificial), (7, 9, false));
    }

    #[test]
    fn a_corrupt_event_is_a_checksum_error() {
        let mut e = event(16, &42u64.to_le_bytes(), 131);
        e[HEADER_LEN] ^= 1;
        match decoder().event(&mut parser(), &e) {
            Err(ReaderError::Checksum {
                type_code: 16, pos, ..
            }) => assert_eq!(pos.pos, 131),
            other => panic!("{other:?}"),
        }
        // Not verified when disabled.
        let mut d = decoder();
        d.verify_checksum = false;
        assert!(d.event(&mut parser(), &e).is_ok());
    }

    #[test]
    fn partial_json_updates_and_rows_without_table_map_are_clear_errors() {
        let e = event(PARTIAL_UPDATE_ROWS_EVENT, &[0; 12], 200);
        let err = decoder().event(&mut parser(), &e).unwrap_err().to_string();
        assert!(err.contains("binlog_row_value_options"), "{err}");
        let mut body = vec![5, 0, 0, 0, 0, 0, 1, 0, 2, 0, 1, 1, 0];
        body.extend_from_slice(&[0; 4]);
        let e = event(30, &body, 200);
        let err = decoder().event(&mut parser(), &e).unwrap_err().to_string();
        assert!(err.contains("no table map for id 5"), "{err}");
    }

    #[test]
    fn malformed_events_never_panic() {
        // A small deterministic generator: events of every type with random bodies.
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..3000u32 {
            let type_code = (round % 256) as u8;
            let len = (next() % 96) as usize;
            let body: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let mut e = event(type_code, &body, 1000);
            if round % 7 == 0 {
                // Lie about the size.
                e[9] = e[9].wrapping_add(3);
            }
            let mut d = decoder();
            d.seen_fde = round % 3 != 0;
            let _ = d.event(&mut parser(), &e);
            let _ = d.event(&mut parser(), &e[..e.len().min(round as usize % 30)]);
        }
    }
}
