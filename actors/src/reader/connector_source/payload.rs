//! Compressed transactions (`TRANSACTION_PAYLOAD` events): decompressed and decoded event
//! by event.

use std::collections::HashMap;
use std::io::Read;

use mysql_binlog_connector_rust::binlog_parser::BinlogParser;

use super::decoder::Decoder;
use super::wire::{packed_int, Header, HEADER_LEN, TRANSACTION_PAYLOAD_EVENT};
use crate::reader::{ReaderError, SourceEvent};

/// Largest decompressed transaction payload accepted (MySQL's `max_allowed_packet` limit).
const MAX_PAYLOAD: u64 = 1 << 30;

impl Decoder {
    /// Decompresses a `TRANSACTION_PAYLOAD` body and decodes its events (which share the
    /// payload's position, carry no checksum and keep their own table maps).
    pub(super) fn payload(&self, body: &[u8]) -> Result<Vec<SourceEvent>, ReaderError> {
        let code = TRANSACTION_PAYLOAD_EVENT;
        let bad = |what: &str| self.decode_err(code, format!("compressed transaction: {what}"));
        // Header fields `type | length | value`, each length-encoded, until type 0.
        let mut at = 0;
        let mut compression = 0;
        let mut size = None;
        loop {
            let (field, n) = packed_int(body, at).ok_or_else(|| bad("truncated header"))?;
            at += n;
            if field == 0 {
                break;
            }
            let (len, n) = packed_int(body, at).ok_or_else(|| bad("truncated header"))?;
            at += n;
            let len = usize::try_from(len).map_err(|_| bad("field too long"))?;
            let value = body
                .get(at..at.saturating_add(len))
                .ok_or_else(|| bad("truncated header"))?;
            at += len;
            let number = packed_int(value, 0).map(|(v, _)| v);
            match field {
                2 => compression = number.ok_or_else(|| bad("compression type"))?,
                3 => size = Some(number.ok_or_else(|| bad("uncompressed size"))?),
                _ => {}
            }
        }
        let payload = &body[at..];
        let limit = size.unwrap_or(MAX_PAYLOAD).min(MAX_PAYLOAD);
        let data = match compression {
            // ZSTD
            0 => {
                let decoder = zstd::stream::read::Decoder::new(payload)
                    .map_err(|e| bad(&format!("zstd: {e}")))?;
                let mut data = Vec::new();
                decoder
                    .take(limit + 1)
                    .read_to_end(&mut data)
                    .map_err(|e| bad(&format!("zstd: {e}")))?;
                data
            }
            // NONE
            255 => payload.to_vec(),
            other => return Err(bad(&format!("unknown compression type {other}"))),
        };
        if data.len() as u64 > limit || size.is_some_and(|s| s != data.len() as u64) {
            return Err(bad(&format!(
                "{} bytes decompressed, {} announced",
                data.len(),
                size.map_or_else(|| format!("at most {limit}"), |s| s.to_string())
            )));
        }
        let mut parser = BinlogParser {
            checksum_length: 0,
            table_map_event_by_table_id: HashMap::new(),
        };
        let mut unsigned = HashMap::new();
        let mut events = Vec::new();
        let mut at = 0;
        while at < data.len() {
            let h = Header::read(&data[at..]).ok_or_else(|| bad("truncated event"))?;
            let end = at
                .checked_add(h.size as usize)
                .filter(|&e| e <= data.len() && h.size as usize >= HEADER_LEN)
                .ok_or_else(|| bad("truncated event"))?;
            let bytes = &data[at..end];
            let body = self.body(&mut parser, &mut unsigned, &h, bytes, &bytes[HEADER_LEN..])?;
            events.push(SourceEvent {
                pos: self.pos.clone(),
                timestamp: h.timestamp,
                server_id: h.server_id,
                // Inner events of a payload are real binlog content (their zero log_pos only
                // says that the payload event covers them), as in the default backend.
                artificial: false,
                body,
            });
            at = end;
        }
        Ok(events)
    }
}
