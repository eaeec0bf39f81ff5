//! Decoded row images: our own [`RowValue`]s, converted from `mysql_common`'s `BinlogValue`s
//! with the column types of the table map.

use mysql_async::binlog::jsondiff::{JsonDiff, JsonDiffOperation};
use mysql_async::binlog::value::BinlogValue;
use mysql_async::consts::ColumnType;
use mysql_async::Value;

use super::json_text::JsonText;

/// One row change of a rows event.
#[derive(Debug, Clone, PartialEq)]
pub struct RowChange {
    /// Before image (update, delete), one value per table column.
    pub before: Option<Vec<RowValue>>,
    /// After image (insert, update), one value per table column.
    pub after: Option<Vec<RowValue>>,
}

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date {
    /// Year (0 for the zero date).
    pub year: u16,
    /// Month, 1-12 (0 in zero dates).
    pub month: u8,
    /// Day, 1-31 (0 in zero dates).
    pub day: u8,
}

/// A `DATETIME` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    /// Date part.
    pub date: Date,
    /// Hour, 0-23.
    pub hour: u8,
    /// Minute, 0-59.
    pub minute: u8,
    /// Second, 0-59.
    pub second: u8,
    /// Microseconds, 0-999999.
    pub micros: u32,
}

/// A `TIME` value (a signed duration up to 838:59:59).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time {
    /// Negative duration.
    pub negative: bool,
    /// Whole hours (days folded in).
    pub hours: u32,
    /// Minute, 0-59.
    pub minute: u8,
    /// Second, 0-59.
    pub second: u8,
    /// Microseconds, 0-999999.
    pub micros: u32,
}

/// One operation of a partial JSON update (`binlog_row_value_options=PARTIAL_JSON`), to
/// apply to the column's before value.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPatch {
    /// What to do at `path`.
    pub op: JsonPatchOp,
    /// JSON path (`$.a[1]`).
    pub path: String,
    /// New value (none for a removal).
    pub value: Option<serde_json::Value>,
}

/// Kind of a [`JsonPatch`] (as `JSON_REPLACE`, `JSON_ARRAY_INSERT`/`JSON_INSERT`,
/// `JSON_REMOVE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonPatchOp {
    /// Replace the value at the path.
    Replace,
    /// Insert a value at the path.
    Insert,
    /// Remove the value at the path.
    Remove,
}

/// A column value of a row image, by column type.
#[derive(Debug, Clone, PartialEq)]
pub enum RowValue {
    /// The column is not in this image (`binlog_row_image` MINIMAL or NOBLOB).
    Absent,
    /// SQL `NULL`.
    Null,
    /// Signed integer (and unsigned ones when the table map carries no signedness, i.e.
    /// `binlog_row_metadata=MINIMAL`: then `BIGINT UNSIGNED` above `i64::MAX` is negative).
    Int(i64),
    /// Unsigned integer (signedness from `binlog_row_metadata=FULL`).
    UInt(u64),
    /// `FLOAT`.
    Float(f32),
    /// `DOUBLE`.
    Double(f64),
    /// `DECIMAL`, as exact text (`-12.340`).
    Decimal(String),
    /// Strings, binary strings, blobs, geometry (WKB), vector: the stored bytes (text in
    /// the column's character set).
    Bytes(Vec<u8>),
    /// `BIT(n)`: big-endian bytes.
    Bit(Vec<u8>),
    /// `ENUM`: 1-based index (0 for the empty error value).
    Enum(u16),
    /// `SET`: bit mask of the members.
    Set(u64),
    /// `YEAR` (0 for `0000`).
    Year(u16),
    /// `DATE`.
    Date(Date),
    /// `DATETIME`.
    DateTime(DateTime),
    /// `TIME`.
    Time(Time),
    /// `TIMESTAMP`: seconds and microseconds since the epoch, UTC.
    Timestamp {
        /// Whole seconds.
        secs: u64,
        /// Microseconds.
        micros: u32,
    },
    /// `JSON` (full value), as compact JSON text: DECIMALs stored inside the document keep
    /// every digit.
    Json(JsonText),
    /// `JSON` changed in place: the operations to apply to the before value.
    PartialJson(Vec<JsonPatch>),
}

/// Converts one value of a column of type `ty` (`unsigned`: from the table map's
/// signedness), mending what the driver gets wrong for integers.
pub(crate) fn convert_column(
    value: BinlogValue<'_>,
    ty: ColumnType,
    unsigned: bool,
) -> Result<RowValue, String> {
    let mut v = convert_value(value, ty)?;
    // The driver returns unsigned values that fit an i64 as `Int`.
    if let RowValue::Int(n) = v {
        if unsigned {
            if let Ok(u) = u64::try_from(n) {
                v = RowValue::UInt(u);
            }
        } else if ty == ColumnType::MYSQL_TYPE_INT24 && n >= 1 << 23 {
            // mysql_common 0.37 reads a signed MEDIUMINT without sign extension
            // (-1 comes as 16777215).
            v = RowValue::Int(n - (1 << 24));
        }
    }
    Ok(v)
}

/// Converts one value of a column of type `ty`.
pub(crate) fn convert_value(value: BinlogValue<'_>, ty: ColumnType) -> Result<RowValue, String> {
    use ColumnType::*;
    let v = match value {
        BinlogValue::Jsonb(j) => {
            return j
                .parse()
                .map_err(|e| format!("JSON: {e}"))
                .and_then(JsonText::from_dom)
                .map(RowValue::Json)
        }
        BinlogValue::JsonDiff(diffs) => {
            return diffs
                .iter()
                .map(convert_diff)
                .collect::<Result<_, _>>()
                .map(RowValue::PartialJson)
        }
        BinlogValue::Value(v) => v,
    };
    Ok(match (v, ty) {
        (Value::NULL, _) => RowValue::Null,
        (Value::Int(i), MYSQL_TYPE_ENUM) => {
            RowValue::Enum(u16::try_from(i).map_err(|_| format!("ENUM index {i}"))?)
        }
        (Value::Int(i), MYSQL_TYPE_TIMESTAMP) => RowValue::Timestamp {
            secs: u64::try_from(i).map_err(|_| format!("TIMESTAMP {i}"))?,
            micros: 0,
        },
        (Value::Int(i), _) => RowValue::Int(i),
        (Value::UInt(u), _) => RowValue::UInt(u),
        (Value::Float(f), _) => RowValue::Float(f),
        (Value::Double(d), _) => RowValue::Double(d),
        (Value::Bytes(b), MYSQL_TYPE_NEWDECIMAL | MYSQL_TYPE_DECIMAL) => RowValue::Decimal(
            String::from_utf8(b).map_err(|_| "DECIMAL text is not UTF-8".to_string())?,
        ),
        (Value::Bytes(b), MYSQL_TYPE_BIT) => RowValue::Bit(b),
        (Value::Bytes(b), MYSQL_TYPE_SET) => {
            if b.len() > 8 {
                return Err(format!("SET of {} bytes", b.len()));
            }
            let mut le = [0u8; 8];
            le[..b.len()].copy_from_slice(&b);
            RowValue::Set(u64::from_le_bytes(le))
        }
        (Value::Bytes(b), MYSQL_TYPE_YEAR) => {
            let y: u16 = std::str::from_utf8(&b)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| format!("YEAR {b:?}"))?;
            // The driver adds 1900 to the stored byte, whose 0 means `0000`.
            RowValue::Year(if y == 1900 { 0 } else { y })
        }
        (Value::Bytes(b), MYSQL_TYPE_TIMESTAMP2 | MYSQL_TYPE_TIMESTAMP) => {
            parse_timestamp(&b).ok_or_else(|| format!("TIMESTAMP {b:?}"))?
        }
        (Value::Bytes(b), _) => RowValue::Bytes(b),
        (Value::Date(year, month, day, ..), MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE) => {
            RowValue::Date(Date { year, month, day })
        }
        (Value::Date(year, month, day, hour, minute, second, micros), _) => {
            RowValue::DateTime(DateTime {
                date: Date { year, month, day },
                hour,
                minute,
                second,
                micros,
            })
        }
        (Value::Time(negative, days, hour, minute, second, micros), _) => RowValue::Time(Time {
            negative,
            hours: days.saturating_mul(24).saturating_add(u32::from(hour)),
            minute,
            second,
            micros,
        }),
    })
}

/// `secs` or `secs.micros` (six digits), as the driver renders `TIMESTAMP2`.
fn parse_timestamp(b: &[u8]) -> Option<RowValue> {
    let s = std::str::from_utf8(b).ok()?;
    let (secs, micros) = match s.split_once('.') {
        Some((a, f)) if f.len() == 6 => (a.parse().ok()?, f.parse().ok()?),
        Some(_) => return None,
        None => (s.parse().ok()?, 0),
    };
    Some(RowValue::Timestamp { secs, micros })
}

fn convert_diff(d: &JsonDiff<'_>) -> Result<JsonPatch, String> {
    let op = match d.operation() {
        JsonDiffOperation::REPLACE => JsonPatchOp::Replace,
        JsonDiffOperation::INSERT => JsonPatchOp::Insert,
        JsonDiffOperation::REMOVE => JsonPatchOp::Remove,
    };
    let value = match d.value() {
        None => None,
        Some(v) => Some(
            serde_json::Value::try_from(v.clone())
                .map_err(|e| format!("partial JSON value: {e}"))?,
        ),
    };
    Ok(JsonPatch {
        op,
        path: d.path_str().into_owned(),
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_by_column_type() {
        use ColumnType::*;
        let b = |s: &str| BinlogValue::Value(Value::Bytes(s.as_bytes().to_vec()));
        assert_eq!(
            convert_value(b("-1.50"), MYSQL_TYPE_NEWDECIMAL),
            Ok(RowValue::Decimal("-1.50".into()))
        );
        assert_eq!(
            convert_value(b("12.000042"), MYSQL_TYPE_TIMESTAMP2),
            Ok(RowValue::Timestamp {
                secs: 12,
                micros: 42
            })
        );
        assert_eq!(
            convert_value(b("1900"), MYSQL_TYPE_YEAR),
            Ok(RowValue::Year(0))
        );
        assert_eq!(
            convert_value(BinlogValue::Value(Value::Bytes(vec![5, 1])), MYSQL_TYPE_SET),
            Ok(RowValue::Set(0x105))
        );
        assert!(
            convert_value(BinlogValue::Value(Value::Bytes(vec![0; 9])), MYSQL_TYPE_SET).is_err()
        );
        assert!(convert_value(b("x"), MYSQL_TYPE_YEAR).is_err());
        assert!(convert_value(b("1.5"), MYSQL_TYPE_TIMESTAMP2).is_err());
        assert_eq!(
            convert_value(
                BinlogValue::Value(Value::Time(true, 1, 2, 3, 4, 5)),
                MYSQL_TYPE_TIME2
            ),
            Ok(RowValue::Time(Time {
                negative: true,
                hours: 26,
                minute: 3,
                second: 4,
                micros: 5
            }))
        );
    }
}
