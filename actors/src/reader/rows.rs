//! The row images of a rows event, decoded straight into Ferry's values.
//!
//! The driver's row iterator builds a full column description (schema, table and column
//! names, flags, character set: several allocations per column) and re-reads the table
//! map's optional metadata for every row. Ferry needs none of that per row: the column types,
//! their metadata and their signedness are read once per rows event ([`TablePlan`]), and
//! each value is decoded by the driver's own value decoder, except `TIME(fsp)` (`TIME2`),
//! decoded here ([`super::time2`]).
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

use super::time2::{decode_time2, time2_len};
use super::value::convert_column;
use super::{RowChange, RowValue};

/// `binlog_row_value_options` bit of partial JSON updates.
const PARTIAL_JSON_UPDATES: u64 = 1;

/// What decoding a column needs.
struct ColumnPlan {
    ty: ColumnType,
    meta: Box<[u8]>,
    unsigned: bool,
}

/// The columns of a table map, read once per table map (the decoder keeps it until the
/// table id is mapped again).
pub(crate) struct TablePlan {
    columns: Vec<ColumnPlan>,
    json_columns: usize,
}

impl TablePlan {
    /// From the table map `tme`.
    pub(crate) fn new(tme: &TableMapEvent<'_>) -> Result<Self, String> {
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
            let meta = tme.get_column_metadata(i).unwrap_or(&[]).into();
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
    plan: &TablePlan,
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

/// One image.
fn image<'c>(
    plan: &TablePlan,
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
        let v = value(c, buf, is_partial).map_err(|e| format!("column {i} ({:?}): {e}", c.ty))?;
        out.push(v);
    }
    Ok(out)
}

/// One non-NULL value of column `c`.
fn value<'c>(c: &ColumnPlan, buf: &mut ParseBuf<'c>, partial: bool) -> Result<RowValue, String> {
    if let Some(v) = fast_value(c, buf) {
        return v;
    }
    if c.ty == ColumnType::MYSQL_TYPE_TIME2 {
        // Not the driver's decoder: it underflows on negative TIME(1)/TIME(2) fractions.
        let fsp = *c.meta.first().ok_or("no TIME precision in the table map")?;
        let len = time2_len(fsp).ok_or_else(|| format!("TIME precision {fsp}"))?;
        let bytes: &[u8] = buf.parse(len).map_err(|e| e.to_string())?;
        return decode_time2(bytes, fsp).map(RowValue::Time);
    }
    // The driver's decoder wants the metadata and the data for one lifetime: the plan's
    // borrow, shorter than the event's.
    let mut local = ParseBuf(buf.0);
    let v: BinlogValue<'_> = local
        .parse((c.ty, &c.meta[..], c.unsigned, partial))
        .map_err(|e| e.to_string())?;
    let used = buf.0.len() - local.0.len();
    buf.0 = &buf.0[used..];
    convert_column(v, c.ty, c.unsigned)
}

/// The next `N` bytes.
fn take<const N: usize>(buf: &mut ParseBuf<'_>) -> Result<[u8; N], String> {
    let (head, rest) = buf
        .0
        .split_first_chunk::<N>()
        .ok_or("unexpected end of the row image")?;
    buf.0 = rest;
    Ok(*head)
}

/// `n` bytes after a little-endian length of `len_bytes` bytes.
fn take_bytes(buf: &mut ParseBuf<'_>, len_bytes: usize) -> Result<RowValue, String> {
    let n = match len_bytes {
        1 => usize::from(take::<1>(buf)?[0]),
        _ => usize::from(u16::from_le_bytes(take::<2>(buf)?)),
    };
    if buf.0.len() < n {
        return Err("unexpected end of the row image".into());
    }
    let (v, rest) = buf.0.split_at(n);
    buf.0 = rest;
    Ok(RowValue::Bytes(v.to_vec()))
}

/// The most common column types decoded straight into [`RowValue`]s, exactly as the
/// driver's decoder followed by [`convert_column`] decodes them (integers but `MEDIUMINT`,
/// `CHAR`, `VARCHAR`); `None` for the other types.
fn fast_value(c: &ColumnPlan, buf: &mut ParseBuf<'_>) -> Option<Result<RowValue, String>> {
    use ColumnType::*;
    let int = |signed: i64, unsigned: u64| {
        if c.unsigned {
            RowValue::UInt(unsigned)
        } else {
            RowValue::Int(signed)
        }
    };
    Some(match c.ty {
        MYSQL_TYPE_TINY => take::<1>(buf).map(|b| int(i64::from(b[0] as i8), u64::from(b[0]))),
        MYSQL_TYPE_SHORT => take::<2>(buf).map(|b| {
            int(
                i64::from(i16::from_le_bytes(b)),
                u64::from(u16::from_le_bytes(b)),
            )
        }),
        MYSQL_TYPE_LONG => take::<4>(buf).map(|b| {
            int(
                i64::from(i32::from_le_bytes(b)),
                u64::from(u32::from_le_bytes(b)),
            )
        }),
        MYSQL_TYPE_LONGLONG => {
            take::<8>(buf).map(|b| int(i64::from_le_bytes(b), u64::from_le_bytes(b)))
        }
        MYSQL_TYPE_VARCHAR | MYSQL_TYPE_VAR_STRING => {
            let (&m0, &m1) = (c.meta.first()?, c.meta.get(1)?);
            let type_len = usize::from(u16::from_le_bytes([m0, m1]));
            take_bytes(buf, if type_len < 256 { 1 } else { 2 })
        }
        MYSQL_TYPE_STRING => {
            // The length of a CHAR column as the driver reads it (long CHARs keep two of
            // its bits in the real-type byte, MySQL bug #37426).
            let (&m0, &m1) = (c.meta.first()?, c.meta.get(1)?);
            if m0 == 0 {
                return None;
            }
            let (b0, b1) = (usize::from(m0), usize::from(m1));
            let length = if b0 & 0x30 != 0x30 {
                b1 | (((b0 & 0x30) ^ 0x30) << 4)
            } else {
                b1
            };
            take_bytes(buf, if length < 256 { 1 } else { 2 })
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::{JsonText, Time};

    fn plan(columns: &[(ColumnType, &'static [u8])]) -> TablePlan {
        plan_signed(columns.iter().map(|&(ty, meta)| (ty, meta, false)))
    }

    fn plan_signed(
        columns: impl IntoIterator<Item = (ColumnType, &'static [u8], bool)>,
    ) -> TablePlan {
        TablePlan {
            columns: columns
                .into_iter()
                .map(|(ty, meta, unsigned)| ColumnPlan {
                    ty,
                    meta: meta.into(),
                    unsigned,
                })
                .collect(),
            json_columns: 0,
        }
    }

    fn time(negative: bool, hours: u32, minute: u8, second: u8, micros: u32) -> RowValue {
        RowValue::Time(Time {
            negative,
            hours,
            minute,
            second,
            micros,
        })
    }

    /// `(id INT, t0 TIME, t1 TIME(1), …, t6 TIME(6))`.
    const TIMES: &[(ColumnType, &[u8])] = &[
        (ColumnType::MYSQL_TYPE_LONG, &[]),
        (ColumnType::MYSQL_TYPE_TIME2, &[0]),
        (ColumnType::MYSQL_TYPE_TIME2, &[1]),
        (ColumnType::MYSQL_TYPE_TIME2, &[2]),
        (ColumnType::MYSQL_TYPE_TIME2, &[3]),
        (ColumnType::MYSQL_TYPE_TIME2, &[4]),
        (ColumnType::MYSQL_TYPE_TIME2, &[5]),
        (ColumnType::MYSQL_TYPE_TIME2, &[6]),
    ];

    /// The rows of a `WRITE_ROWS_EVENT` written by MySQL 9.7 for `INSERT INTO tm VALUES
    /// (1, '-00:00:01', '-00:00:00.1', '-01:02:03.45', '-12:34:56.789', '-00:00:00.0001',
    /// '-00:00:00.00001', '-00:00:00.000001')`: NULL bitmap, then the values.
    const NEGATIVE_TIMES_ROW: &[u8] = &[
        0x00, 0x01, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xf6, 0x7f, 0xef, 0x7c,
        0xd3, 0x7f, 0x37, 0x47, 0xe1, 0x2e, 0x7f, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff,
        0xff, 0xf6, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff,
    ];

    #[test]
    fn decodes_negative_times_of_every_precision() {
        let all = [true; 8];
        let rows = decode_rows(&plan(TIMES), NEGATIVE_TIMES_ROW, None, Some(&all), false).unwrap();
        assert_eq!(
            rows,
            vec![RowChange {
                before: None,
                after: Some(vec![
                    RowValue::Int(1),
                    time(true, 0, 0, 1, 0),
                    time(true, 0, 0, 0, 100_000),
                    time(true, 1, 2, 3, 450_000),
                    time(true, 12, 34, 56, 789_000),
                    time(true, 0, 0, 0, 100),
                    time(true, 0, 0, 0, 10),
                    time(true, 0, 0, 0, 1),
                ]),
            }]
        );
        // A TIME column whose precision is missing, or a value cut short, is an error.
        let bad = plan(&[(ColumnType::MYSQL_TYPE_TIME2, &[])]);
        assert!(decode_rows(&bad, &[0x00, 0x80, 0, 0], None, Some(&[true]), false).is_err());
        let one = plan(&[(ColumnType::MYSQL_TYPE_TIME2, &[2])]);
        let err = decode_rows(&one, &[0x00, 0x7f, 0xff], None, Some(&[true]), false);
        assert!(err.unwrap_err().contains("column 0"));
    }

    /// Why `TIME2` is decoded here: the driver's decoder (mysql_common 0.37) does not give
    /// `-00:00:00.1` for `TIME(1)` bytes `7F FF FF F6` (it panics with overflow checks, as
    /// the workspace builds it, and yields a wrong time without). When this fails, the
    /// driver has been fixed.
    #[test]
    fn the_driver_misdecodes_negative_time1() {
        let got = std::panic::catch_unwind(|| {
            let mut buf = ParseBuf(&[0x7f, 0xff, 0xff, 0xf6]);
            buf.parse::<BinlogValue<'_>>((ColumnType::MYSQL_TYPE_TIME2, &[1u8][..], false, false))
                .map_err(|e| e.to_string())
                .and_then(|v| convert_column(v, ColumnType::MYSQL_TYPE_TIME2, false))
        });
        assert!(
            !matches!(got, Ok(Ok(ref t)) if *t == time(true, 0, 0, 0, 100_000)),
            "{got:?}"
        );
    }

    #[test]
    fn json_decimals_keep_their_digits() {
        // (id INT, j JSON): j = CAST(CAST(-12.5 AS DECIMAL(4,1)) AS JSON), an opaque
        // NEWDECIMAL scalar (precision 4, scale 1, the binary decimal inverted as negative).
        let cols = plan(&[
            (ColumnType::MYSQL_TYPE_LONG, &[]),
            (ColumnType::MYSQL_TYPE_JSON, &[4]),
        ]);
        let doc = [0x0f, 0xf6, 0x05, 0x04, 0x01, 0x7f, 0xf3, 0xfa];
        let mut row = vec![0x00, 0x07, 0x00, 0x00, 0x00];
        row.extend_from_slice(&(doc.len() as u32).to_le_bytes());
        row.extend_from_slice(&doc);
        let rows = decode_rows(&cols, &row, None, Some(&[true, true]), false).unwrap();
        let after = rows[0].after.as_ref().unwrap();
        assert_eq!(after[0], RowValue::Int(7));
        let RowValue::Json(j) = &after[1] else {
            panic!("{after:?}")
        };
        assert_eq!(j, &serde_json::from_str::<JsonText>("-12.5").unwrap());
        assert_eq!(j.as_str(), "-12.5");
    }

    /// The fast decoders give what the driver's decoder and [`convert_column`] give.
    #[test]
    fn fast_values_match_the_driver() {
        use ColumnType::*;
        let columns: &[(ColumnType, &'static [u8])] = &[
            (MYSQL_TYPE_TINY, &[]),
            (MYSQL_TYPE_SHORT, &[]),
            (MYSQL_TYPE_LONG, &[]),
            (MYSQL_TYPE_LONGLONG, &[]),
            (MYSQL_TYPE_VARCHAR, &[10, 0]),
            (MYSQL_TYPE_VARCHAR, &[0x2c, 0x01]),
            (MYSQL_TYPE_VAR_STRING, &[20, 0]),
            // CHAR(120) utf8mb4 (480 bytes): the real type 0xfe with the high length bits
            (MYSQL_TYPE_STRING, &[0xee, 0xe0]),
            (MYSQL_TYPE_STRING, &[0xfe, 60]),
        ];
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for &(ty, meta) in columns {
            for unsigned in [false, true] {
                let c = ColumnPlan {
                    ty,
                    meta: meta.into(),
                    unsigned,
                };
                for round in 0..300 {
                    let mut bytes: Vec<u8> = (0..12).map(|_| next() as u8).collect();
                    // Lengths that fit, and (every tenth round) one that does not.
                    let len = if round % 10 == 9 {
                        200
                    } else {
                        (next() % 9) as u8
                    };
                    if matches!(
                        ty,
                        MYSQL_TYPE_VARCHAR | MYSQL_TYPE_VAR_STRING | MYSQL_TYPE_STRING
                    ) {
                        bytes[0] = len;
                        bytes[1] = if round % 2 == 0 { 0 } else { bytes[1] % 3 };
                    }
                    for cut in [bytes.len(), 3, 1, 0] {
                        let data = &bytes[..cut];
                        let mut a = ParseBuf(data);
                        let fast = fast_value(&c, &mut a).expect("a fast type");
                        let mut b = ParseBuf(data);
                        let slow = b
                            .parse::<BinlogValue<'_>>((ty, meta, unsigned, false))
                            .map_err(|e| e.to_string())
                            .and_then(|v| convert_column(v, ty, unsigned));
                        assert_eq!(fast.is_ok(), slow.is_ok(), "{ty:?} {meta:?} {data:?}");
                        if let (Ok(x), Ok(y)) = (fast, slow) {
                            assert_eq!(x, y, "{ty:?} {meta:?} {data:?}");
                            assert_eq!(a.0.len(), b.0.len(), "{ty:?} {data:?}");
                        }
                    }
                }
            }
        }
        // Other types take the driver's way.
        let c = ColumnPlan {
            ty: MYSQL_TYPE_DOUBLE,
            meta: vec![8].into(),
            unsigned: false,
        };
        assert!(fast_value(&c, &mut ParseBuf(&[0; 8])).is_none());
        let rows = plan_signed([
            (MYSQL_TYPE_LONG, &[][..], true),
            (MYSQL_TYPE_TINY, &[][..], false),
        ]);
        let decoded = decode_rows(
            &rows,
            &[0x00, 0xff, 0xff, 0xff, 0xff, 0xff],
            None,
            Some(&[true, true]),
            false,
        )
        .unwrap();
        assert_eq!(
            decoded[0].after.as_deref(),
            Some(&[RowValue::UInt(u64::from(u32::MAX)), RowValue::Int(-1)][..])
        );
    }
}
