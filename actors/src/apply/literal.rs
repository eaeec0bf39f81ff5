//! SQL literals of row values, byte-exact and injection-proof: strings and binary data as
//! hex, numbers as validated digits, temporal values as quoted digit strings (`TIMESTAMP` in
//! UTC), JSON as hex text (optionally through `CONVERT(… USING utf8mb4)`).
//!
//! Hex over `_binary'…'` for printable text (half the bytes) is measured: on the mixed
//! catch-up the quoted form saved ferryd 3 % but cost MySQL 9.7 10 % more CPU to parse and
//! the catch-up 5 % more time (BENCHMARKS.md, 2026-12-03 night).

use std::fmt::Write as _;

use crate::reader::RowValue;

/// Appends the SQL literal of `v`. `json_convert`: JSON through `CONVERT(… USING utf8mb4)`.
/// Errors (absent values, NaN/infinity, malformed decimals, partial JSON) say why.
pub fn push_literal(out: &mut String, v: &RowValue, json_convert: bool) -> Result<(), String> {
    match v {
        RowValue::Absent => {
            return Err("not in the row image (set binlog_row_image=FULL on the upstream)".into())
        }
        RowValue::Null => out.push_str("NULL"),
        RowValue::Int(n) => push_i64(out, *n),
        RowValue::UInt(n) => push_u64(out, *n),
        RowValue::Float(f) => {
            if !f.is_finite() {
                return Err(format!("FLOAT value {f} has no SQL form"));
            }
            let _ = write!(out, "{f:?}");
        }
        RowValue::Double(d) => {
            if !d.is_finite() {
                return Err(format!("DOUBLE value {d} has no SQL form"));
            }
            let _ = write!(out, "{d:?}");
        }
        RowValue::Decimal(s) => {
            if !is_decimal(s) {
                return Err(format!("malformed DECIMAL {s:?}"));
            }
            out.push_str(s);
        }
        RowValue::Bytes(b) => push_hex(out, b),
        RowValue::Bit(b) => {
            if b.len() > 8 {
                return Err(format!("BIT value of {} bytes", b.len()));
            }
            let n = b.iter().fold(0u64, |a, &x| (a << 8) | u64::from(x));
            push_u64(out, n);
        }
        RowValue::Enum(i) => push_u64(out, u64::from(*i)),
        RowValue::Set(m) => push_u64(out, *m),
        RowValue::Year(y) => push_u64(out, u64::from(*y)),
        RowValue::Date(d) => {
            let _ = write!(out, "'{:04}-{:02}-{:02}'", d.year, d.month, d.day);
        }
        RowValue::DateTime(dt) => {
            check_micros(dt.micros)?;
            let d = dt.date;
            let _ = write!(
                out,
                "'{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                d.year, d.month, d.day, dt.hour, dt.minute, dt.second
            );
            push_micros(out, dt.micros);
        }
        RowValue::Time(t) => {
            check_micros(t.micros)?;
            let sign = if t.negative { "-" } else { "" };
            let _ = write!(out, "'{sign}{:02}:{:02}:{:02}", t.hours, t.minute, t.second);
            push_micros(out, t.micros);
        }
        RowValue::Timestamp { secs, micros } => {
            check_micros(*micros)?;
            if *secs == 0 && *micros == 0 {
                out.push_str("'0000-00-00 00:00:00'");
            } else {
                let days = i64::try_from(secs / 86_400)
                    .map_err(|_| format!("TIMESTAMP {secs} out of range"))?;
                let (y, m, d) = civil_from_days(days);
                if y > 9999 {
                    return Err(format!("TIMESTAMP {secs} out of range"));
                }
                let rem = secs % 86_400;
                let _ = write!(
                    out,
                    "'{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
                    rem / 3600,
                    rem / 60 % 60,
                    rem % 60
                );
                push_micros(out, *micros);
            }
        }
        RowValue::Json(j) => {
            // The reader's exact text (DECIMALs inside JSON keep every digit).
            let text = j.as_str();
            if json_convert {
                out.push_str("CONVERT(");
                push_hex(out, text.as_bytes());
                out.push_str(" USING utf8mb4)");
            } else {
                push_hex(out, text.as_bytes());
            }
        }
        RowValue::PartialJson(_) => {
            return Err("partial JSON update is not supported yet \
                        (set binlog_row_value_options='' on the upstream)"
                .into())
        }
    }
    Ok(())
}

/// The decimal digits of `n` (what `{n}` formats, without the formatting machinery).
fn push_u64(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or_default());
}

fn push_i64(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    push_u64(out, n.unsigned_abs());
}

fn check_micros(micros: u32) -> Result<(), String> {
    if micros > 999_999 {
        Err(format!("{micros} microseconds"))
    } else {
        Ok(())
    }
}

/// `.ffffff` when not zero, then the closing quote.
fn push_micros(out: &mut String, micros: u32) {
    if micros != 0 {
        let _ = write!(out, ".{micros:06}");
    }
    out.push('\'');
}

/// The two lowercase hex digits of every byte.
const HEX_PAIRS: [[u8; 2]; 256] = {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut t = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = [DIGITS[i >> 4], DIGITS[i & 0x0f]];
        i += 1;
    }
    t
};

/// `0x…` (or `''` for the empty value, which has no hex form), lowercase digits.
pub(super) fn push_hex(out: &mut String, b: &[u8]) {
    if b.is_empty() {
        out.push_str("''");
        return;
    }
    out.reserve(2 + 2 * b.len());
    out.push_str("0x");
    // Through a stack buffer: no intermediate String, no per-character pushes.
    let mut buf = [0u8; 256];
    for chunk in b.chunks(buf.len() / 2) {
        for (pair, &x) in buf.chunks_exact_mut(2).zip(chunk) {
            pair.copy_from_slice(&HEX_PAIRS[usize::from(x)]);
        }
        out.push_str(std::str::from_utf8(&buf[..2 * chunk.len()]).unwrap_or_default());
    }
}

/// `-?digits(.digits)?`.
fn is_decimal(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|c| c.is_ascii_digit());
    digits(int) && frac.is_none_or(digits)
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::target_table::tests::b;
    use crate::reader::{Date, DateTime, JsonPatch, JsonPatchOp, Time};
    use RowValue::*;

    fn lit(v: RowValue) -> Result<String, String> {
        let mut s = String::new();
        push_literal(&mut s, &v, true).map(|_| s)
    }

    #[test]
    fn literals_are_exact_and_inert() {
        assert_eq!(lit(Null).unwrap(), "NULL");
        assert_eq!(lit(Int(i64::MIN)).unwrap(), "-9223372036854775808");
        assert_eq!(lit(UInt(u64::MAX)).unwrap(), "18446744073709551615");
        assert_eq!(lit(Double(0.1 + 0.2)).unwrap(), "0.30000000000000004");
        assert_eq!(lit(Double(1e300)).unwrap(), "1e300");
        assert_eq!(lit(Double(-0.0)).unwrap(), "-0.0");
        assert_eq!(lit(Float(0.1)).unwrap(), "0.1");
        assert_eq!(lit(Float(f32::MAX)).unwrap().parse::<f32>(), Ok(f32::MAX));
        assert!(lit(Double(f64::NAN)).is_err());
        assert!(lit(Float(f32::INFINITY)).is_err());
        assert_eq!(lit(Decimal("-12.340".into())).unwrap(), "-12.340");
        assert!(lit(Decimal("1;DROP TABLE x".into())).is_err());
        assert!(lit(Decimal("1.".into())).is_err());
        assert!(lit(Decimal("".into())).is_err());
        assert_eq!(lit(b("it's 😀")).unwrap(), "0x6974277320f09f9880");
        assert_eq!(lit(Bytes(vec![0, 0xff, b'\\'])).unwrap(), "0x00ff5c");
        assert_eq!(lit(Bytes(vec![])).unwrap(), "''");
        assert_eq!(lit(Bit(vec![1, 2])).unwrap(), "258");
        assert_eq!(lit(Bit(vec![0xff; 8])).unwrap(), "18446744073709551615");
        assert!(lit(Bit(vec![0; 9])).is_err());
        assert_eq!(lit(Enum(3)).unwrap(), "3");
        assert_eq!(lit(Set(5)).unwrap(), "5");
        assert_eq!(lit(Year(0)).unwrap(), "0");
        let date = Date {
            year: 2024,
            month: 2,
            day: 29,
        };
        assert_eq!(lit(RowValue::Date(date)).unwrap(), "'2024-02-29'");
        let zero = Date {
            year: 0,
            month: 0,
            day: 0,
        };
        assert_eq!(lit(RowValue::Date(zero)).unwrap(), "'0000-00-00'");
        let dt = |micros| {
            RowValue::DateTime(DateTime {
                date,
                hour: 1,
                minute: 2,
                second: 3,
                micros,
            })
        };
        assert_eq!(lit(dt(0)).unwrap(), "'2024-02-29 01:02:03'");
        assert_eq!(lit(dt(42)).unwrap(), "'2024-02-29 01:02:03.000042'");
        assert!(lit(dt(1_000_000)).is_err());
        let t = RowValue::Time(Time {
            negative: true,
            hours: 838,
            minute: 59,
            second: 59,
            micros: 500_000,
        });
        assert_eq!(lit(t).unwrap(), "'-838:59:59.500000'");
        let ts = |secs, micros| Timestamp { secs, micros };
        assert_eq!(lit(ts(0, 0)).unwrap(), "'0000-00-00 00:00:00'");
        assert_eq!(lit(ts(1, 0)).unwrap(), "'1970-01-01 00:00:01'");
        assert_eq!(
            lit(ts(1_709_208_123, 7)).unwrap(),
            "'2024-02-29 12:02:03.000007'"
        );
        assert_eq!(lit(ts(2_147_483_647, 0)).unwrap(), "'2038-01-19 03:14:07'");
        assert!(lit(ts(u64::MAX, 0)).is_err());
        let j = Json(serde_json::json!({"k": "v'"}).into());
        assert_eq!(
            lit(j.clone()).unwrap(),
            "CONVERT(0x7b226b223a227627227d USING utf8mb4)"
        );
        let mut s = String::new();
        push_literal(&mut s, &j, false).unwrap();
        assert_eq!(s, "0x7b226b223a227627227d");
        let p = PartialJson(vec![JsonPatch {
            op: JsonPatchOp::Remove,
            path: "$.a".into(),
            value: None,
        }]);
        assert!(lit(p).unwrap_err().contains("binlog_row_value_options"));
        assert!(lit(Absent).unwrap_err().contains("binlog_row_image"));
    }

    #[test]
    fn hex_and_integer_literals_match_the_formatter() {
        for len in [1usize, 127, 128, 129, 256, 300] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 % 256) as u8).collect();
            assert_eq!(
                lit(Bytes(bytes.clone())).unwrap(),
                format!("0x{}", hex::encode(&bytes))
            );
        }
        for n in [0i64, 1, -1, 9, 10, -10, 99, 100, 12_345, i64::MAX, i64::MIN] {
            assert_eq!(lit(Int(n)).unwrap(), n.to_string());
        }
        for n in [0u64, 7, 10, u64::from(u32::MAX), u64::MAX] {
            assert_eq!(lit(UInt(n)).unwrap(), n.to_string());
        }
    }
}
