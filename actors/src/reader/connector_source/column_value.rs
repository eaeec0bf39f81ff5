//! The crate's column values converted into [`RowValue`]s, with the signedness, widths and
//! temporal values it loses or garbles restored.

use mysql_binlog_connector_rust::column::column_value::ColumnValue;
use mysql_binlog_connector_rust::event::table_map_event::TableMapEvent;

use super::json::decode_json;
use crate::reader::{Date, DateTime, RowValue, Time};

/// MySQL column type code of MEDIUMINT.
const TYPE_INT24: u8 = 9;

/// Converts the crate's value of column `i`.
/// `unsigned` comes from the table map's signedness metadata (see
/// [`table_unsigned`](super::table_map::table_unsigned)).
pub(super) fn convert_value(
    tme: &TableMapEvent,
    i: usize,
    v: ColumnValue,
    unsigned: bool,
) -> Result<RowValue, String> {
    let meta = tme.column_metas.get(i).copied().unwrap_or(0);
    Ok(match v {
        ColumnValue::None => RowValue::Null,
        ColumnValue::Tiny(x) if unsigned => RowValue::UInt(u64::from(x as u8)),
        ColumnValue::Short(x) if unsigned => RowValue::UInt(u64::from(x as u16)),
        ColumnValue::Long(x) if unsigned => {
            let u = x as u32;
            let int24 = tme.column_types.get(i) == Some(&TYPE_INT24);
            RowValue::UInt(u64::from(if int24 { u & 0x00FF_FFFF } else { u }))
        }
        ColumnValue::LongLong(x) if unsigned => RowValue::UInt(x as u64),
        ColumnValue::Tiny(x) => RowValue::Int(i64::from(x)),
        ColumnValue::Short(x) => RowValue::Int(i64::from(x)),
        ColumnValue::Long(x) => RowValue::Int(i64::from(x)),
        ColumnValue::LongLong(x) => RowValue::Int(x),
        ColumnValue::Float(f) => RowValue::Float(f),
        ColumnValue::Double(d) => RowValue::Double(d),
        ColumnValue::Decimal(s) => RowValue::Decimal(s),
        ColumnValue::Time(s) => RowValue::Time(parse_time(&s).ok_or(format!("TIME `{s}`"))?),
        ColumnValue::Date(s) => RowValue::Date(parse_date(&s).ok_or(format!("DATE `{s}`"))?),
        ColumnValue::DateTime(s) => {
            RowValue::DateTime(parse_datetime(&s).ok_or(format!("DATETIME `{s}`"))?)
        }
        ColumnValue::Timestamp(us) => {
            let us = u64::try_from(us).map_err(|_| format!("TIMESTAMP {us} µs"))?;
            RowValue::Timestamp {
                secs: us / 1_000_000,
                micros: (us % 1_000_000) as u32,
            }
        }
        // The crate adds 1900 to the stored byte, whose 0 means `0000`.
        ColumnValue::Year(y) => RowValue::Year(if y == 1900 { 0 } else { y }),
        ColumnValue::String(b) | ColumnValue::Blob(b) => RowValue::Bytes(b),
        ColumnValue::Bit(u) => {
            let bits = usize::from(meta >> 8) * 8 + usize::from(meta & 0xFF);
            let len = bits.div_ceil(8).min(8);
            RowValue::Bit(u.to_be_bytes()[8 - len..].to_vec())
        }
        ColumnValue::Set(s) => RowValue::Set(s),
        ColumnValue::Enum(e) => {
            RowValue::Enum(u16::try_from(e).map_err(|_| format!("ENUM index {e}"))?)
        }
        ColumnValue::Json(b) => RowValue::Json(decode_json(&b)?.into()),
    })
}

/// `[-]H:MM:SS[.ffffff]`.
fn parse_time(s: &str) -> Option<Time> {
    let (negative, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (hms, micros) = split_fraction(rest)?;
    let mut it = hms.split(':');
    let hours = it.next()?.parse().ok()?;
    let minute = it.next()?.parse().ok()?;
    let second = it.next()?.parse().ok()?;
    if it.next().is_some() {
        return None;
    }
    Some(Time {
        negative,
        hours,
        minute,
        second,
        micros,
    })
}

/// `Y-MM-DD`.
fn parse_date(s: &str) -> Option<Date> {
    let mut it = s.split('-');
    let date = Date {
        year: it.next()?.parse().ok()?,
        month: it.next()?.parse().ok()?,
        day: it.next()?.parse().ok()?,
    };
    it.next().is_none().then_some(date)
}

/// `Y-MM-DD HH:MM:SS[.ffffff]`.
fn parse_datetime(s: &str) -> Option<DateTime> {
    let (d, t) = s.split_once(' ')?;
    let time = parse_time(t).filter(|t| !t.negative && t.hours < 24)?;
    Some(DateTime {
        date: parse_date(d)?,
        hour: time.hours as u8,
        minute: time.minute,
        second: time.second,
        micros: time.micros,
    })
}

/// Splits `text[.ffffff]` into the text and the microseconds (six digits, as the crate
/// prints them).
fn split_fraction(s: &str) -> Option<(&str, u32)> {
    match s.split_once('.') {
        None => Some((s, 0)),
        Some((a, f)) if f.len() == 6 && f.bytes().all(|b| b.is_ascii_digit()) => {
            Some((a, f.parse().ok()?))
        }
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_crates_temporal_text() {
        assert_eq!(
            parse_time("-838:59:58.990000"),
            Some(Time {
                negative: true,
                hours: 838,
                minute: 59,
                second: 58,
                micros: 990_000
            })
        );
        assert_eq!(parse_time("12:00:01").map(|t| t.micros), Some(0));
        assert_eq!(parse_time("1:2"), None);
        assert_eq!(parse_time("1:2:3.5"), None);
        assert_eq!(
            parse_date("0-00-00"),
            Some(Date {
                year: 0,
                month: 0,
                day: 0
            })
        );
        let dt = parse_datetime("9999-12-31 23:59:59.999999").unwrap();
        assert_eq!((dt.date.year, dt.hour, dt.micros), (9999, 23, 999_999));
        assert_eq!(parse_datetime("2024-01-01 25:00:00"), None);
    }
}
