//! The fast path of the event decoder: the events of a transaction (GTID, `BEGIN`, table
//! maps, rows, XID) decoded straight from the event bytes, without the driver's copy of the
//! event and of the format description; a table map mapped again by the same bytes (every
//! transaction maps its tables again) is not parsed again. Anything unusual goes the
//! driver's way ([`EventDecoder::decode`] falls back), which decodes or reports it.

use bytes::Bytes;
use mysql_async::binlog::events::{GtidEvent, RowsEventData, TableMapEvent};
use mysql_async::binlog::{BinlogChecksumAlg, EventFlags, EventType};
use mysql_common::binlog::BinlogCtx;
use mysql_common::io::ParseBuf;
use mysql_common::proto::MyDeserialize;

use super::{body, crc32, parse, EventDecoder, HEADER_LEN};
use crate::reader::event_header::Header;
use crate::reader::{EventBody, ReaderError, SourceEvent};

impl EventDecoder {
    /// The events of a transaction but its table maps (GTID, `BEGIN`, rows, XID) decoded
    /// from the event bytes as the driver's parser and [`Self::normalize`] decode them, but
    /// without the driver's copy of the event and of the format description: XID and query
    /// events by hand, GTID and rows events by the driver's own parsers; `None` for other
    /// events and for anything unusual (an unknown checksum algorithm, sizes that do not add
    /// up), left to the driver, which decodes or reports it.
    pub(super) fn decode_plain(
        &mut self,
        raw: &[u8],
        type_code: u8,
        owner: Option<&Bytes>,
    ) -> Result<Option<SourceEvent>, ReaderError> {
        if !self.seen_fde || plain_kind(type_code).is_none() {
            return Ok(None);
        }
        let fde = self.esr.get_fde();
        let footer = fde.footer();
        let crc = match footer.get_checksum_alg() {
            Ok(Some(BinlogChecksumAlg::BINLOG_CHECKSUM_ALG_CRC32)) => footer.get_checksum_enabled(),
            Ok(Some(BinlogChecksumAlg::BINLOG_CHECKSUM_ALG_OFF)) | Ok(None) => false,
            Err(_) => return Ok(None),
        };
        let Some(header) = Header::read(raw) else {
            return Ok(None);
        };
        let (timestamp, server_id, size, log_pos) = (
            header.timestamp,
            header.server_id,
            header.size,
            header.log_pos,
        );
        let flags = EventFlags::from_bits_truncate(header.flags);
        let data = &raw[HEADER_LEN..raw.len() - if crc { 4 } else { 0 }];
        // Parsed first; the checksum is verified before the body is made (as the driver's way
        // does), and whatever does not parse goes the driver's way, which reports it.
        let parsed = match plain_kind(type_code) {
            Some(Plain::Xid) => {
                let post = usize::from(fde.get_event_type_header_length(EventType::XID_EVENT));
                match data.get(post..).and_then(|d| <[u8; 8]>::try_from(d).ok()) {
                    Some(xid) => Parsed::Body(EventBody::Xid {
                        xid: u64::from_le_bytes(xid),
                    }),
                    None => return Ok(None),
                }
            }
            Some(Plain::Query) => {
                let post = usize::from(fde.get_event_type_header_length(EventType::QUERY_EVENT));
                let Some(fixed) = data.get(..13) else {
                    return Ok(None);
                };
                let schema_len = usize::from(fixed[8]);
                let error_code = u16::from_le_bytes([fixed[9], fixed[10]]);
                let vars_len = usize::from(u16::from_le_bytes([fixed[11], fixed[12]]));
                let vars_at = 13 + post.saturating_sub(13);
                let schema_at = vars_at + vars_len;
                let query_at = schema_at + schema_len + 1;
                if data.len() < query_at {
                    return Ok(None);
                }
                Parsed::Body(EventBody::Query {
                    schema: String::from_utf8_lossy(&data[schema_at..schema_at + schema_len])
                        .into_owned(),
                    sql: String::from_utf8_lossy(&data[query_at..]).into_owned(),
                    error_code,
                    status_vars: match owner {
                        Some(o) => o.slice_ref(&data[vars_at..schema_at]),
                        None => Bytes::copy_from_slice(&data[vars_at..schema_at]),
                    },
                })
            }
            Some(Plain::Gtid) => {
                let ctx = BinlogCtx::new(HEADER_LEN + data.len(), fde, type_code);
                match parse(|| whole::<GtidEvent>(data, ctx)) {
                    Ok(g) => Parsed::Body(EventBody::MysqlGtid {
                        sid: g.sid(),
                        gno: g.gno(),
                        tag: g.tag().map(|t| t.to_string()),
                    }),
                    Err(_) => return Ok(None),
                }
            }
            Some(Plain::TableMap) => {
                // The table id: 6 bytes, 4 in the old layout with a 6-byte post-header.
                let post = fde.get_event_type_header_length(EventType::TABLE_MAP_EVENT);
                let id_len = if post == 6 { 4 } else { 6 };
                let Some(id) = data.get(..id_len) else {
                    return Ok(None);
                };
                let id = id
                    .iter()
                    .rev()
                    .fold(0u64, |acc, b| acc << 8 | u64::from(*b));
                match self.remembered_map(id, data) {
                    Some(body) => Parsed::Body(body),
                    None => {
                        let ctx = BinlogCtx::new(HEADER_LEN + data.len(), fde, type_code);
                        match parse(|| whole::<TableMapEvent>(data, ctx)) {
                            Ok(t) => Parsed::Map(t.into_owned()),
                            Err(_) => return Ok(None),
                        }
                    }
                }
            }
            Some(Plain::Rows) => {
                let ctx = BinlogCtx::new(HEADER_LEN + data.len(), fde, type_code);
                match parse(|| rows_event(type_code, data, ctx)) {
                    Ok(r) => Parsed::Rows(r),
                    Err(_) => return Ok(None),
                }
            }
            None => return Ok(None),
        };
        if self.verify_checksum && crc {
            if flags.contains(EventFlags::LOG_EVENT_BINLOG_IN_USE_F) {
                return Ok(None);
            }
            let (covered, tail) = raw.split_at(raw.len() - 4);
            let stored = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
            let computed = crc32(covered);
            if stored != computed {
                return Err(ReaderError::Checksum {
                    addr: self.label.clone(),
                    pos: self.advance(size, log_pos),
                    type_code,
                    stored,
                    computed,
                });
            }
        }
        let body = match parsed {
            Parsed::Body(b) => b,
            Parsed::Map(t) => self.table_map(t, data),
            Parsed::Rows(r) => {
                body::rows_body(&mut self.scratch, self.decode_rows, &r, data, owner)
                    .map_err(|e| self.err(type_code, e))?
            }
        };
        let artificial = log_pos == 0 || flags.contains(EventFlags::LOG_EVENT_ARTIFICIAL_F);
        if !artificial {
            self.pos.pos = self.next_offset(size, log_pos);
        }
        Ok(Some(SourceEvent {
            pos: self.pos.clone(),
            timestamp,
            server_id,
            artificial,
            body,
        }))
    }
}

/// The events [`EventDecoder::decode_plain`] decodes.
#[derive(Clone, Copy)]
enum Plain {
    Xid,
    Query,
    Gtid,
    TableMap,
    Rows,
}

fn plain_kind(type_code: u8) -> Option<Plain> {
    use EventType::*;
    let t = |e: EventType| e as u8;
    Some(match type_code {
        c if c == t(XID_EVENT) => Plain::Xid,
        c if c == t(QUERY_EVENT) => Plain::Query,
        c if c == t(GTID_EVENT) || c == t(GTID_TAGGED_LOG_EVENT) => Plain::Gtid,
        c if c == t(TABLE_MAP_EVENT) => Plain::TableMap,
        c if [
            WRITE_ROWS_EVENT_V1,
            UPDATE_ROWS_EVENT_V1,
            DELETE_ROWS_EVENT_V1,
            WRITE_ROWS_EVENT,
            UPDATE_ROWS_EVENT,
            DELETE_ROWS_EVENT,
            PARTIAL_UPDATE_ROWS_EVENT,
        ]
        .into_iter()
        .any(|e| t(e) == c) =>
        {
            Plain::Rows
        }
        _ => return None,
    })
}

/// A parsed event of [`EventDecoder::decode_plain`].
enum Parsed<'a> {
    Body(EventBody),
    /// A table map not seen before.
    Map(TableMapEvent<'static>),
    Rows(RowsEventData<'a>),
}

/// Parses `data` as a `T` that takes all of it (as the driver's `Event::read_event`).
fn whole<'a, T: MyDeserialize<'a, Ctx = BinlogCtx<'a>>>(
    data: &'a [u8],
    ctx: BinlogCtx<'a>,
) -> std::io::Result<T> {
    let mut buf = ParseBuf(data);
    let v = buf.parse(ctx)?;
    if buf.is_empty() {
        Ok(v)
    } else {
        Err(std::io::Error::other("bytes remaining"))
    }
}

/// A rows event's data as the driver's `Event::read_data` reads it.
fn rows_event<'a>(
    type_code: u8,
    data: &'a [u8],
    ctx: BinlogCtx<'a>,
) -> std::io::Result<RowsEventData<'a>> {
    use EventType::*;
    let t = |e: EventType| e as u8;
    Ok(match type_code {
        c if c == t(WRITE_ROWS_EVENT_V1) => RowsEventData::WriteRowsEventV1(whole(data, ctx)?),
        c if c == t(UPDATE_ROWS_EVENT_V1) => RowsEventData::UpdateRowsEventV1(whole(data, ctx)?),
        c if c == t(DELETE_ROWS_EVENT_V1) => RowsEventData::DeleteRowsEventV1(whole(data, ctx)?),
        c if c == t(WRITE_ROWS_EVENT) => RowsEventData::WriteRowsEvent(whole(data, ctx)?),
        c if c == t(UPDATE_ROWS_EVENT) => RowsEventData::UpdateRowsEvent(whole(data, ctx)?),
        c if c == t(DELETE_ROWS_EVENT) => RowsEventData::DeleteRowsEvent(whole(data, ctx)?),
        c if c == t(PARTIAL_UPDATE_ROWS_EVENT) => {
            RowsEventData::PartialUpdateRowsEvent(whole(data, ctx)?)
        }
        _ => return Err(std::io::Error::other("not a rows event")),
    })
}
