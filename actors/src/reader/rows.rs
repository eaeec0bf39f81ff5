//! The row images of a rows event, decoded straight into Ferry's values.
//!
//! The driver's row iterator builds a full column description (schema, table and column
//! names, flags, character set: several allocations per column) and re-reads the table
//! map's optional metadata for every row. Ferry needs none of that per row: the column types,
//! their metadata and their signedness are read once per rows event ([`TablePlan`]), and
//! each value is decoded by the driver's own value decoder.
//!
//! Image layout (MySQL `log_event.cc`, WL#2955 for partial JSON): for each row, the before
//! image (delete, update) then the after image (insert, update); an after image of a
//! `PARTIAL_UPDATE_ROWS_EVENT` starts with the value options (length-encoded) and, when they
//! say partial JSON, a bitmap of the table's JSON columns; then a NULL bitmap over the columns
//! present in the image, then the non-NULL values in column order.

use mysql_common::binlog::events::{OptionalMetaExtractor, TableMapEvent};
use mysql_common::binlog::value::BinlogValue;
use mysql_common::constants::ColumnType;
use mysql_common::io::ParseBuf;
use mysql_common::misc::raw::int::LenEnc;
use mysql_common::misc::raw::RawInt;

use super::value::convert_column;
use super::{RowChange, RowValue};

/// `binlog_row_value_options` bit of partial JSON updates.
const PARTIAL_JSON_UPDATES: u64 = 1;

/// What decoding a column needs.
struct ColumnPlan<'a> {
    ty: ColumnType,
    meta: &'a [u8],
    unsigned: bool,
}

/// The columns of a table map, read once per rows event.
pub(crate) struct TablePlan<'a> {
    columns: Vec<ColumnPlan<'a>>,
    json_columns: usize,
}

impl<'a> TablePlan<'a> {
    /// From the table map `tme`.
    pub(crate) fn new(tme: &'a TableMapEvent<'a>) -> Result<Self, String> {
        let n = usize::try_from(tme.columns_count()).map_err(|_| "too many columns")?;
        let extractor = OptionalMetaExtractor::new(tme.iter_optional_meta())
            .map_err(|e| format!("table map optional metadata: {e}"))?;
        let mut signedness = extractor.iter_signedness();
        let mut columns = Vec::with_capacity(n);
        for i in 0..n {
            let ty = match tme.get_column_type(i) {
                Ok(Some(ty)) => ty,
                Ok(None) => return Err(format!("column {i}: no column type in the table map")),
                Err(e) => return Err(format!("column {i}: {e}")),
            };
            let meta = tme.get_column_metadata(i).unwrap_or(&[]);
            let unsigned = ty.is_numeric_type() && signedness.next().unwrap_or(false);
            columns.push(ColumnPlan { ty, meta, unsigned });
        }
        Ok(Self {
            columns,
            json_columns: tme.json_column_count(),
        })
    }
}

/// Bit `i` of a little-endian-first bitmap.
fn bit(map: &[u8], i: usize) -> bool {
    map.get(i / 8).is_some_and(|b| b >> (i % 8) & 1 == 1)
}

/// Decodes every row of `data` (the rows part of the event). `before` / `after`: which
/// columns each image holds (`None`: the event has no such image). `shared`: the after
/// image starts with value options (`PARTIAL_UPDATE_ROWS_EVENT`).
pub(crate) fn decode_rows(
    plan: &TablePlan<'_>,
    data: &[u8],
    before: Option<&[bool]>,
    after: Option<&[bool]>,
    shared: bool,
) -> Result<Vec<RowChange>, String> {
    let mut buf = ParseBuf(data);
    let mut out = Vec::new();
    while !buf.is_empty() {
        let i = out.len();
        let b = before
            .map(|cols| image(plan, &mut buf, cols, false))
            .transpose()
            .map_err(|e| format!("row {i}, before image, {e}"))?;
        let a = after
            .map(|cols| image(plan, &mut buf, cols, shared))
            .transpose()
            .map_err(|e| format!("row {i}, after image, {e}"))?;
        if b.is_none() && a.is_none() {
            return Err(format!("row {i}: the event has no image"));
        }
        out.push(RowChange {
            before: b,
            after: a,
        });
    }
    Ok(out)
}

/// One image. `'c`: the shorter of the event's and the table map's lifetimes.
fn image<'c>(
    plan: &TablePlan<'c>,
    buf: &mut ParseBuf<'c>,
    cols: &[bool],
    shared: bool,
) -> Result<Vec<RowValue>, String> {
    let io = |e: std::io::Error| e.to_string();
    let mut partial: Option<&[u8]> = None;
    if shared {
        let options = *buf.parse::<RawInt<LenEnc>>(()).map_err(io)?;
        if options & PARTIAL_JSON_UPDATES != 0 {
            let len = plan.json_columns.div_ceil(8);
            partial = Some(buf.parse::<&[u8]>(len).map_err(io)?);
        }
    }
    let n = plan.columns.len();
    let present = cols.iter().take(n).filter(|&&c| c).count();
    let nulls: &[u8] = buf.parse(present.div_ceil(8)).map_err(io)?;
    let mut out = Vec::with_capacity(n);
    let (mut image_idx, mut json_idx) = (0usize, 0usize);
    for (i, c) in plan.columns.iter().enumerate() {
        // The partial bitmap has a bit for every JSON column, present or not.
        let is_partial = c.ty == ColumnType::MYSQL_TYPE_JSON && {
            let p = partial.is_some_and(|m| bit(m, json_idx));
            json_idx += 1;
            p
        };
        if !cols.get(i).copied().unwrap_or(false) {
            out.push(RowValue::Absent);
            continue;
        }
        let null = bit(nulls, image_idx);
        image_idx += 1;
        if null {
            out.push(RowValue::Null);
            continue;
        }
        let v: BinlogValue<'c> = buf
            .parse((c.ty, c.meta, c.unsigned, is_partial))
            .map_err(|e| format!("column {i} ({:?}): {e}", c.ty))?;
        out.push(
            convert_column(v, c.ty, c.unsigned)
                .map_err(|e| format!("column {i} ({:?}): {e}", c.ty))?,
        );
    }
    Ok(out)
}
