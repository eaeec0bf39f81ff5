//! Rows events: the header and column bitmaps read here, each row image decoded by the
//! crate against the table map reduced to the columns present in it.

use std::collections::HashMap;
use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

use bytes::Bytes;
use mysql_binlog_connector_rust::binlog_parser::BinlogParser;
use mysql_binlog_connector_rust::event::row_event::RowEvent;
use mysql_binlog_connector_rust::event::table_map_event::TableMapEvent;

use super::column_value::convert_value;
use super::decoder::Decoder;
use super::wire::{le_u16, le_u48, packed_int};
use crate::reader::{EventBody, ReaderError, RowChange, RowValue, RowsKind};

const STMT_END_F: u16 = 0x0001;

impl Decoder {
    /// Decodes a rows event: the header and column bitmaps here, each row image by the
    /// crate's `RowEvent::parse` against the table map *reduced to the columns present in
    /// the image*. (Given the whole table map, the crate reads a NULL bitmap of one bit per
    /// table column instead of one per present column, which misreads images of
    /// `binlog_row_image=MINIMAL`/`NOBLOB`; it also drops the flags and panics without a
    /// table map.)
    pub(super) fn rows(
        &self,
        parser: &BinlogParser,
        unsigned: &HashMap<u64, Vec<bool>>,
        type_code: u8,
        kind: RowsKind,
        body: &[u8],
    ) -> Result<EventBody, ReaderError> {
        let err = |reason: String| self.decode_err(type_code, reason);
        let short = || err("rows event too short".to_string());
        let table_id = le_u48(body, 0).ok_or_else(short)?;
        let flags = le_u16(body, 6).ok_or_else(short)?;
        let mut at = 8;
        if type_code >= 30 {
            // v2: extra data, its length counting its own two bytes.
            let extra = usize::from(le_u16(body, 8).ok_or_else(short)?);
            if extra < 2 {
                return Err(short());
            }
            at += extra;
        }
        let (n, used) = packed_int(body, at).ok_or_else(short)?;
        at += used;
        let tme = parser
            .table_map_event_by_table_id
            .get(&table_id)
            .ok_or_else(|| err(format!("no table map for id {table_id}")))?;
        let table = format!(
            "`{}`.`{}` (table id {table_id})",
            tme.database_name, tme.table_name
        );
        let columns = tme.column_types.len();
        if usize::try_from(n).ok() != Some(columns) {
            return Err(err(format!(
                "{table}: rows event of {n} columns, table map of {columns}"
            )));
        }
        let bitmap_len = columns.div_ceil(8);
        let mut bitmap = || -> Result<Vec<bool>, ReaderError> {
            let bytes = body.get(at..at + bitmap_len).ok_or_else(short)?;
            at += bitmap_len;
            Ok((0..columns)
                .map(|i| bytes[i / 8] & (1 << (i % 8)) != 0)
                .collect())
        };
        let first = bitmap()?;
        let (before, after) = match kind {
            RowsKind::Insert => (None, Some(first)),
            RowsKind::Delete => (Some(first), None),
            RowsKind::Update => (Some(first), Some(bitmap()?)),
        };
        let flags_of = unsigned
            .get(&table_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let before = before.map(|b| Image::new(tme, b, flags_of));
        let after = after.map(|a| Image::new(tme, a, flags_of));
        let data = body.get(at..).ok_or_else(short)?.to_vec();
        let decoded = catch_unwind(AssertUnwindSafe(|| {
            let mut cursor = Cursor::new(&data);
            let mut changes = Vec::new();
            while (cursor.position() as usize) < data.len() {
                let i = changes.len();
                let mut read = |image: &Option<Image>, which: &str| {
                    image
                        .as_ref()
                        .map(|im| im.read(tme, &mut cursor))
                        .transpose()
                        .map_err(|e| format!("row {i}, {which} image, {e}"))
                };
                let before = read(&before, "before")?;
                let after = read(&after, "after")?;
                changes.push(RowChange { before, after });
            }
            Ok::<_, String>(changes)
        }));
        let changes = match decoded {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return Err(err(format!("{table}: {e}"))),
            Err(_) => return Err(err(format!("{table}: malformed rows event"))),
        };
        Ok(EventBody::Rows {
            kind,
            table_id,
            rows: changes.len(),
            changes,
            stmt_end: flags & STMT_END_F != 0,
            raw: Bytes::copy_from_slice(body),
        })
    }
}

pub(super) fn rows_kind(type_code: u8) -> Option<RowsKind> {
    match type_code {
        23 | 30 => Some(RowsKind::Insert),
        24 | 31 => Some(RowsKind::Update),
        25 | 32 => Some(RowsKind::Delete),
        _ => None,
    }
}

/// The columns present in a row image, and the table map reduced to them.
struct Image {
    present: Vec<bool>,
    /// Per column: UNSIGNED.
    unsigned: Vec<bool>,
    reduced: Option<(TableMapEvent, Vec<bool>)>,
}

impl Image {
    fn new(tme: &TableMapEvent, present: Vec<bool>, unsigned: &[bool]) -> Self {
        let reduced = if present.iter().all(|&p| p) {
            None
        } else {
            let keep = |i: &usize| present.get(*i).copied().unwrap_or(false);
            let mut t = tme.clone();
            t.column_types = (0..tme.column_types.len())
                .filter(keep)
                .map(|i| tme.column_types[i])
                .collect();
            t.column_metas = (0..tme.column_metas.len())
                .filter(keep)
                .map(|i| tme.column_metas[i])
                .collect();
            t.null_bits = Vec::new();
            t.table_metadata = None;
            let all = vec![true; t.column_types.len()];
            Some((t, all))
        };
        Self {
            present,
            unsigned: unsigned.to_vec(),
            reduced,
        }
    }

    /// Reads one image at `cursor`: one value per table column, [`RowValue::Absent`] for
    /// the columns not in it.
    fn read(
        &self,
        tme: &TableMapEvent,
        cursor: &mut Cursor<&Vec<u8>>,
    ) -> Result<Vec<RowValue>, String> {
        let row = match &self.reduced {
            None => RowEvent::parse(cursor, tme, &self.present),
            Some((t, all)) => RowEvent::parse(cursor, t, all),
        }
        .map_err(|e| e.to_string())?;
        let mut values = row.column_values.into_iter();
        let mut out = Vec::with_capacity(self.present.len());
        for (i, &present) in self.present.iter().enumerate() {
            if !present {
                out.push(RowValue::Absent);
                continue;
            }
            let v = values
                .next()
                .ok_or_else(|| format!("column {i}: missing from the row image"))?;
            let unsigned = self.unsigned.get(i).copied().unwrap_or(false);
            out.push(convert_value(tme, i, v, unsigned).map_err(|e| format!("column {i}: {e}"))?);
        }
        Ok(out)
    }
}
