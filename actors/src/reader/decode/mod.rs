//! The one normalization path: raw binlog events (header included, as the server sends them
//! and as the relay log stores them) into [`SourceEvent`]s.
//!
//! An [`EventDecoder`] keeps what decoding needs across events: the format description in
//! force, the table maps, the position, and the transaction payload being expanded. It is fed
//! by the upstream stream ([`super::MysqlAsyncSource`]) and by the relay log alike, so both
//! yield the same events from the same bytes; a reader that switches from one feed to the
//! other keeps its decoder.
//!
//! What is added on top of `mysql_common`'s event parsing:
//! - CRC32 verification of every checksummed event;
//! - 64-bit positions (the header's `log_pos` is 32-bit and wraps past 4 GiB);
//! - MariaDB GTID events and MySQL heartbeat v2, which the driver does not decode;
//! - the first (fake) rotate, sent before the format description tells whether events end
//!   with a checksum;
//! - compressed transactions (`TRANSACTION_PAYLOAD_EVENT`) expanded one inner event at a time
//!   (bounded memory), with the payload event's position;
//! - no panic on malformed input: sizes are checked first, and the parser runs under
//!   `catch_unwind` as a last resort.

use std::collections::HashMap;
use std::io::{BufReader, Cursor, Read};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use bytes::Bytes;
use ferry_model::{BinlogPosition, TableName};
use mysql_async::binlog::events::{Event, TableMapEvent, TransactionPayloadEvent};
use mysql_async::binlog::{BinlogChecksumAlg, EventFlags, EventType};
use mysql_async::binlog::{BinlogVersion, TransactionPayloadCompressionType};
use mysql_common::binlog::EventStreamReader;

use super::rows::TablePlan;
use super::{EventBody, ReaderError, SourceEvent};

mod body;
mod plain;
mod raw;
#[cfg(test)]
mod tests;

use crate::fx_hash::FxBuild;
#[cfg(test)]
use crate::reader::event_header::header_bytes;
pub(super) use body::decode_mariadb_gtid;
pub(super) use raw::crc32;
pub(crate) use raw::raw_bytes;

pub(crate) use crate::reader::event_header::{
    HEADER_LEN, HEARTBEAT_V2_EVENT as HEARTBEAT_V2, MARIADB_GTID_EVENT,
    TRANSACTION_PAYLOAD_EVENT as TRANSACTION_PAYLOAD,
};
/// MariaDB GTID flag: the group is a single statement without `COMMIT`/XID.
const FL_STANDALONE: u8 = 1;
/// Largest event accepted (MySQL's `max_allowed_packet` is at most 1 GiB).
const MAX_EVENT_SIZE: usize = 1 << 30;

/// Decodes raw events of one stream, in order.
pub struct EventDecoder {
    esr: EventStreamReader,
    /// Names the feed in errors (`host:port`, or the relay log of a source).
    label: String,
    verify_checksum: bool,
    /// Position after the last event.
    pos: BinlogPosition,
    /// A format description event was seen (before it, whether events end with a checksum is
    /// unknown).
    seen_fde: bool,
    /// The transaction payload being expanded.
    payload: Option<Payload>,
    /// Decode the row images of rows events.
    decode_rows: bool,
    /// What rows events reuse.
    scratch: Scratch,
}

/// What the decoder keeps for rows events.
#[derive(Default)]
pub(super) struct Scratch {
    /// What was derived from each table map (column names, the column plan), kept while
    /// the table id is mapped by the same bytes.
    tables: HashMap<u64, MappedTable, FxBuild>,
    /// Bitmaps of the columns in a rows event's images.
    before: Vec<bool>,
    after: Vec<bool>,
}

/// What the decoder derived from one table map.
struct MappedTable {
    /// The table map event's data (post-header and body, no checksum).
    map: Vec<u8>,
    /// The table map, parsed (rows events are decoded by it).
    tme: TableMapEvent<'static>,
    /// Its table.
    table: Arc<TableName>,
    /// Its column names (`binlog_row_metadata=FULL`).
    names: Option<Arc<[String]>>,
    /// Its column plan, made by the first rows event that needs it.
    plan: Option<Arc<TablePlan>>,
}

/// Table maps remembered at most (a busy server maps thousands of tables only after DDL or
/// table-cache evictions; past this the memory is given back and rebuilt as needed).
const MAX_MAPPED_TABLES: usize = 4096;

impl std::fmt::Debug for EventDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventDecoder")
            .field("label", &self.label)
            .field("pos", &self.pos)
            .field("in_payload", &self.payload.is_some())
            .finish_non_exhaustive()
    }
}

/// The inner events of a transaction payload, read lazily.
struct Payload {
    reader: Box<dyn Read + Send>,
    /// Uncompressed bytes not yet read (the payload event says how many there are).
    left: u64,
    /// Events read so far (for error messages).
    index: usize,
}

impl EventDecoder {
    /// A decoder for a stream that starts at `start`; `label` names it in errors.
    pub fn new(label: impl Into<String>, start: BinlogPosition, verify_checksum: bool) -> Self {
        Self {
            esr: EventStreamReader::new(BinlogVersion::Version4),
            label: label.into(),
            verify_checksum,
            pos: start,
            seen_fde: false,
            payload: None,
            decode_rows: true,
            scratch: Scratch::default(),
        }
    }

    /// With `false`, rows events come without their rows (`changes` and `raw` empty, `rows`
    /// 0): for consumers that only need positions, GTIDs and transaction boundaries (the
    /// relay writer), this saves the costliest part of decoding.
    pub fn set_decode_rows(&mut self, on: bool) {
        self.decode_rows = on;
    }

    /// Position after the last event decoded (the start position before the first).
    pub fn position(&self) -> &BinlogPosition {
        &self.pos
    }

    /// Changes the name used in errors (when a reader switches feeds).
    pub fn set_label(&mut self, label: impl Into<String>) {
        self.label = label.into();
    }

    /// True when the events of the format description in force end with a CRC32.
    pub fn checksums(&self) -> bool {
        matches!(
            self.esr.get_fde().footer().get_checksum_alg(),
            Ok(Some(BinlogChecksumAlg::BINLOG_CHECKSUM_ALG_CRC32))
        )
    }

    /// True while inner events of the last transaction payload remain: drain them with
    /// [`Self::next_inner`] before decoding the next raw event.
    pub fn in_payload(&self) -> bool {
        self.payload.is_some()
    }

    fn err(&self, type_code: u8, reason: impl std::fmt::Display) -> ReaderError {
        ReaderError::Decode {
            addr: self.label.clone(),
            pos: self.pos.clone(),
            type_code,
            reason: reason.to_string(),
        }
    }

    /// Decodes one raw event (common header included). A transaction payload is returned as
    /// itself (`Other { type_code: 40 }`); its inner events follow from [`Self::next_inner`].
    pub fn decode(&mut self, raw: &[u8]) -> Result<SourceEvent, ReaderError> {
        self.decode_from(raw, None)
    }

    /// [`Self::decode`] of an event held in a [`Bytes`]: a rows event's `raw` body is a slice
    /// of it rather than a copy.
    pub fn decode_shared(&mut self, raw: &Bytes) -> Result<SourceEvent, ReaderError> {
        self.decode_from(raw, Some(raw))
    }

    /// `owner`, when given, holds exactly the bytes of `raw`.
    fn decode_from(
        &mut self,
        raw: &[u8],
        owner: Option<&Bytes>,
    ) -> Result<SourceEvent, ReaderError> {
        let type_code = raw.get(4).copied().unwrap_or(0);
        if self.payload.is_some() {
            return Err(self.err(
                type_code,
                "an event arrived before the previous transaction payload was read to its end",
            ));
        }
        check_size(raw).map_err(|r| self.err(type_code, r))?;
        if let Some(ev) = self.decode_plain(raw, type_code, owner)? {
            return Ok(ev);
        }
        self.decode_parsed(raw, type_code)
    }

    /// [`Self::decode`] through the driver's parser.
    fn decode_parsed(&mut self, raw: &[u8], type_code: u8) -> Result<SourceEvent, ReaderError> {
        let event = parse(|| self.esr.read(raw))
            .map_err(|r| self.err(type_code, r))?
            .ok_or_else(|| self.err(type_code, "empty event"))?;
        let ev = self.normalize(&event, raw, false)?;
        if type_code == TRANSACTION_PAYLOAD {
            self.payload = Some(self.open_payload(&event)?);
        }
        Ok(ev)
    }

    /// The next inner event of the transaction payload being expanded; `None` when there is
    /// none (left). Inner events carry the position after the payload event.
    pub fn next_inner(&mut self) -> Result<Option<SourceEvent>, ReaderError> {
        let Some(mut payload) = self.payload.take() else {
            return Ok(None);
        };
        let code = TRANSACTION_PAYLOAD;
        let at =
            |p: &Payload, what: &str| format!("inner event {} of the payload: {what}", p.index);
        let mut header = [0u8; HEADER_LEN];
        let got = read_full(&mut payload.reader, &mut header)
            .map_err(|e| self.err(code, at(&payload, &format!("decompression: {e}"))))?;
        if got == 0 {
            return Ok(None);
        }
        if got < HEADER_LEN {
            return Err(self.err(code, at(&payload, "payload ends inside an event header")));
        }
        let size = u32::from_le_bytes([header[9], header[10], header[11], header[12]]) as usize;
        if size < HEADER_LEN || size as u64 > payload.left || size > MAX_EVENT_SIZE {
            return Err(self.err(
                code,
                at(
                    &payload,
                    &format!(
                        "event size {size} does not fit the {} bytes left",
                        payload.left
                    ),
                ),
            ));
        }
        let mut raw = vec![0u8; size];
        raw[..HEADER_LEN].copy_from_slice(&header);
        let got = read_full(&mut payload.reader, &mut raw[HEADER_LEN..])
            .map_err(|e| self.err(code, at(&payload, &format!("decompression: {e}"))))?;
        if got < size - HEADER_LEN {
            return Err(self.err(code, at(&payload, "payload ends inside an event")));
        }
        payload.left -= size as u64;
        payload.index += 1;
        let inner_code = header[4];
        let event = parse(|| self.esr.read_decompressed(&raw[..]))
            .map_err(|r| self.err(inner_code, at(&payload, &r)))?
            .ok_or_else(|| self.err(inner_code, at(&payload, "empty event")))?;
        let ev = self.normalize(&event, &raw, true)?;
        if payload.left > 0 {
            self.payload = Some(payload);
        }
        Ok(Some(ev))
    }

    fn open_payload(&self, event: &Event) -> Result<Payload, ReaderError> {
        let code = TRANSACTION_PAYLOAD;
        let tpe = event
            .read_event::<TransactionPayloadEvent<'_>>()
            .map_err(|e| self.err(code, e))?;
        let bytes = tpe.payload_raw().to_vec();
        let reader: Box<dyn Read + Send> = match tpe.algorithm() {
            TransactionPayloadCompressionType::NONE => Box::new(Cursor::new(bytes)),
            TransactionPayloadCompressionType::ZSTD => Box::new(
                zstd::stream::read::Decoder::with_buffer(BufReader::new(Cursor::new(bytes)))
                    .map_err(|e| self.err(code, e))?,
            ),
        };
        let left = match tpe.uncompressed_size() {
            // Older servers may leave the size out: only the per-event cap applies then.
            0 => u64::MAX,
            n => n,
        };
        Ok(Payload {
            reader,
            left,
            index: 0,
        })
    }

    /// Verifies the checksum, advances the position and converts the event.
    fn normalize(
        &mut self,
        event: &Event,
        raw: &[u8],
        inner: bool,
    ) -> Result<SourceEvent, ReaderError> {
        let header = event.header();
        let type_code = header.event_type_raw();
        let footer = event.footer();
        // Events unpacked from a compressed transaction payload carry no checksum, have
        // log_pos 0 and share the position of the payload event, which covers them; they are
        // real binlog content, not artificial.
        let artificial = !inner
            && (header.log_pos() == 0
                || header.flags().contains(EventFlags::LOG_EVENT_ARTIFICIAL_F)
                || type_code == EventType::HEARTBEAT_EVENT as u8
                || type_code == HEARTBEAT_V2);

        let has_crc = matches!(
            footer.get_checksum_alg(),
            Ok(Some(BinlogChecksumAlg::BINLOG_CHECKSUM_ALG_CRC32))
        );
        if self.verify_checksum && has_crc && !inner {
            if let Some(stored) = event.checksum() {
                let stored = u32::from_le_bytes(stored);
                // The driver's checksum re-serializes the header (a format description's
                // without its in-use flag, and with its algorithm byte); any other event's
                // checksum covers exactly its raw bytes but the last four.
                let plain = type_code != EventType::FORMAT_DESCRIPTION_EVENT as u8
                    && !header
                        .flags()
                        .contains(EventFlags::LOG_EVENT_BINLOG_IN_USE_F)
                    && raw.len() >= HEADER_LEN + 4;
                let computed = if plain {
                    crc32(&raw[..raw.len() - 4])
                } else {
                    event.calc_checksum(BinlogChecksumAlg::BINLOG_CHECKSUM_ALG_CRC32)
                };
                if stored != computed {
                    return Err(ReaderError::Checksum {
                        addr: self.label.clone(),
                        pos: self.advance(header.event_size(), header.log_pos()),
                        type_code,
                        stored,
                        computed,
                    });
                }
            }
        }

        let body = if type_code == EventType::ROTATE_EVENT as u8 && !self.seen_fde {
            self.first_rotate(raw)?
        } else {
            self.body(event, type_code)?
        };
        if type_code == EventType::FORMAT_DESCRIPTION_EVENT as u8 {
            self.seen_fde = true;
        }
        if let EventBody::Rotate { next } = &body {
            self.pos = next.clone();
        } else if !artificial && !inner {
            // Same file: only the offset moves (no copy of the file name).
            self.pos.pos = self.next_offset(header.event_size(), header.log_pos());
        }
        Ok(SourceEvent {
            pos: self.pos.clone(),
            timestamp: header.timestamp(),
            server_id: header.server_id(),
            artificial,
            body,
        })
    }

    /// Position after an event of `size` bytes whose header says it ends at `log_pos`
    /// (32-bit): `pos + size` when it agrees, else `log_pos` with the high bits of `pos`.
    fn advance(&self, size: u32, log_pos: u32) -> BinlogPosition {
        BinlogPosition {
            name: self.pos.name.clone(),
            pos: self.next_offset(size, log_pos),
        }
    }

    /// The offset part of [`Self::advance`].
    fn next_offset(&self, size: u32, log_pos: u32) -> u64 {
        let cur = self.pos.pos;
        let mut next = cur + u64::from(size);
        if next as u32 != log_pos {
            next = (cur & !0xFFFF_FFFF) | u64::from(log_pos);
            if next < cur {
                next += 1 << 32;
            }
        }
        next
    }

    /// The (fake) rotate the server sends before the format description: whether it ends
    /// with a CRC32 is not known yet (MariaDB appends one), so it is decoded here:
    /// `position u64 LE | file name [| crc32]`, the CRC being recognized by its value.
    fn first_rotate(&self, raw: &[u8]) -> Result<EventBody, ReaderError> {
        let code = EventType::ROTATE_EVENT as u8;
        let data = raw.get(HEADER_LEN..).unwrap_or_default();
        let mut name = data
            .get(8..)
            .ok_or_else(|| self.err(code, "rotate event too short"))?;
        if name.len() > 4 {
            let (body, crc) = raw.split_at(raw.len() - 4);
            if crc32fast::hash(body).to_le_bytes() == crc {
                name = &name[..name.len() - 4];
            }
        }
        let mut pos = [0u8; 8];
        pos.copy_from_slice(&data[..8]);
        let name = String::from_utf8_lossy(name).into_owned();
        let next =
            BinlogPosition::new(name, u64::from_le_bytes(pos)).map_err(|e| self.err(code, e))?;
        Ok(EventBody::Rotate { next })
    }
}

/// Checks what the parser would otherwise trust: a full header, the size it announces, and
/// room for a checksum.
fn check_size(raw: &[u8]) -> Result<(), String> {
    if raw.len() < HEADER_LEN + 4 {
        return Err(format!("event of {} bytes is too short", raw.len()));
    }
    let size = u32::from_le_bytes([raw[9], raw[10], raw[11], raw[12]]) as usize;
    if size != raw.len() {
        return Err(format!(
            "header says {size} bytes but the event has {}",
            raw.len()
        ));
    }
    if size > MAX_EVENT_SIZE {
        return Err(format!("event of {size} bytes is too large"));
    }
    Ok(())
}

/// Runs a `mysql_common` parser, turning its errors and panics into messages.
fn parse<T>(f: impl FnOnce() -> std::io::Result<T>) -> Result<T, String> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("malformed event".to_string()),
    }
}

/// Reads until `buf` is full or the end of input; returns the bytes read.
fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}
