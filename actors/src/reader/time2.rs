//! `TIME(fsp)` values of row images (`MYSQL_TYPE_TIME2`), decoded here rather than by
//! `mysql_common`: its 0.37 decoder reads the fraction byte of `TIME(1)`/`TIME(2)` into a
//! `u32` and subtracts `0x100` from it for a negative value with a fraction
//! (`binlog/misc.rs`, `my_time_packed_from_binary`), which underflows (a panic with overflow
//! checks, a wrong time without).
//!
//! The format (MySQL `mysys/my_time.cc`): the value is first packed into an `i64`
//! (`TIME_to_longlong_time_packed`: `hour << 36 | minute << 30 | second << 24 | micros`,
//! negated for a negative time), then stored big-endian (`my_time_packed_to_binary`):
//!
//! | fsp | bytes | content |
//! |---|---|---|
//! | 0 | 3 | `0x800000 + (packed >> 24)` |
//! | 1, 2 | 3 + 1 | same, then `(packed % 2^24) / 10000` as a signed byte |
//! | 3, 4 | 3 + 2 | same, then `(packed % 2^24) / 100` as a signed 16-bit integer |
//! | 5, 6 | 6 | `0x800000000000 + packed` |
//!
//! For a negative value with a fraction, the integer part is rounded down (one less than
//! the negated whole seconds) and the fraction stored is negative (`0x100 - f` resp.
//! `0x10000 - f`), so that the bytes sort as the values do; decoding undoes it
//! (`my_time_packed_from_binary`).

use super::value::Time;

/// `TIMEF_INT_OFS`: offset of the 3-byte integer part.
const INT_OFS: i64 = 0x80_0000;
/// `TIMEF_OFS`: offset of the 6-byte form (fsp 5 and 6).
const OFS: i64 = 0x8000_0000_0000;

/// Bytes of a `TIME2` value of fractional-second precision `fsp` (0-6).
pub(crate) fn time2_len(fsp: u8) -> Option<usize> {
    match fsp {
        0 => Some(3),
        1 | 2 => Some(4),
        3 | 4 => Some(5),
        5 | 6 => Some(6),
        _ => None,
    }
}

/// Decodes the bytes of a `TIME2` value of precision `fsp` (exactly [`time2_len`] bytes).
pub(crate) fn decode_time2(b: &[u8], fsp: u8) -> Result<Time, String> {
    let malformed = || format!("TIME({fsp}) bytes {b:02x?}");
    if time2_len(fsp) != Some(b.len()) {
        return Err(malformed());
    }
    let be = |bytes: &[u8]| bytes.iter().fold(0i64, |a, &x| (a << 8) | i64::from(x));
    // my_time_packed_from_binary.
    let packed = match fsp {
        0 => (be(&b[..3]) - INT_OFS) << 24,
        1 | 2 => {
            let mut int = be(&b[..3]) - INT_OFS;
            let mut frac = i64::from(b[3]);
            if int < 0 && frac != 0 {
                int += 1;
                frac -= 0x100;
            }
            (int << 24) + frac * 10_000
        }
        3 | 4 => {
            let mut int = be(&b[..3]) - INT_OFS;
            let mut frac = be(&b[3..5]);
            if int < 0 && frac != 0 {
                int += 1;
                frac -= 0x1_0000;
            }
            (int << 24) + frac * 100
        }
        _ => be(b) - OFS,
    };
    // TIME_from_longlong_time_packed.
    let negative = packed < 0;
    let abs = packed.unsigned_abs();
    let hms = abs >> 24;
    let micros = (abs & 0xFF_FFFF) as u32;
    let time = Time {
        negative,
        hours: ((hms >> 12) & 0x3FF) as u32,
        minute: ((hms >> 6) & 0x3F) as u8,
        second: (hms & 0x3F) as u8,
        micros,
    };
    if time.minute > 59 || time.second > 59 || time.micros > 999_999 {
        return Err(malformed());
    }
    Ok(time)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `[-]H:MM:SS[.f…]` (test input).
    fn parse(s: &str) -> Time {
        let (negative, s) = match s.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, s),
        };
        let (hms, frac) = s.split_once('.').unwrap_or((s, ""));
        let mut it = hms.split(':').map(|x| x.parse::<u32>().unwrap());
        let (h, m, sec) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
        let micros = if frac.is_empty() {
            0
        } else {
            format!("{frac:0<6}").parse().unwrap()
        };
        Time {
            negative,
            hours: h,
            minute: m as u8,
            second: sec as u8,
            micros,
        }
    }

    /// MySQL's `TIME_to_longlong_time_packed`.
    fn pack(t: &Time) -> i64 {
        let hms = (i64::from(t.hours) << 12) | (i64::from(t.minute) << 6) | i64::from(t.second);
        let tmp = (hms << 24) + i64::from(t.micros);
        if t.negative {
            -tmp
        } else {
            tmp
        }
    }

    /// MySQL's `my_time_packed_to_binary` (C `>>` on a signed value is arithmetic, C `%`
    /// truncates toward zero, as Rust's).
    fn to_binary(nr: i64, fsp: u8) -> Vec<u8> {
        let int_part = nr >> 24;
        let frac_part = nr % (1 << 24);
        let store = |v: i64, n: usize| v.to_be_bytes()[8 - n..].to_vec();
        let mut out = store(INT_OFS + int_part, 3);
        match fsp {
            0 => {}
            1 | 2 => out.push((frac_part / 10_000) as i8 as u8),
            3 | 4 => out.extend(store(frac_part / 100, 2)),
            _ => out = store(nr + OFS, 6),
        }
        out
    }

    fn encode(s: &str, fsp: u8) -> Vec<u8> {
        to_binary(pack(&parse(s)), fsp)
    }

    /// Hand-derived and checked against the rows events of MySQL 9.7 (`mysqlbinlog
    /// --hexdump`) for the same values; the `7FFFFx.xx` ones are the table in MySQL's
    /// `my_time_packed_from_binary`.
    const VECTORS: &[(&str, u8, &[u8])] = &[
        // -(0 << 24 | 100000): integer part -1 → 0x7FFFFF, fraction -10 → 0xF6.
        ("-00:00:00.1", 1, &[0x7f, 0xff, 0xff, 0xf6]),
        // hms 838<<12|59<<6|59 = 0x346EFB, no fraction: 0x800000 - 0x346EFB.
        ("-838:59:59.0", 1, &[0x4b, 0x91, 0x05, 0x00]),
        // hms 0x1083; integer part -0x1084 → 0x7FEF7C, fraction -45 → 0xD3.
        ("-01:02:03.45", 2, &[0x7f, 0xef, 0x7c, 0xd3]),
        // integer part -2 → 0x7FFFFE, fraction -50 → 0xCE.
        ("-00:00:01.5", 1, &[0x7f, 0xff, 0xfe, 0xce]),
        ("00:00:00.01", 2, &[0x80, 0x00, 0x00, 0x01]),
        // hms 0xC8B8; integer part -0xC8B9 → 0x7F3747, fraction -7890 → 0xE12E.
        ("-12:34:56.789", 3, &[0x7f, 0x37, 0x47, 0xe1, 0x2e]),
        // packed -1 + 0x800000000000.
        ("-00:00:00.000001", 6, &[0x7f, 0xff, 0xff, 0xff, 0xff, 0xff]),
        ("-00:00:00.01", 2, &[0x7f, 0xff, 0xff, 0xff]),
        ("-00:00:00.99", 2, &[0x7f, 0xff, 0xff, 0x9d]),
        ("-00:00:01.00", 2, &[0x7f, 0xff, 0xff, 0x00]),
        ("-00:00:01.01", 2, &[0x7f, 0xff, 0xfe, 0xff]),
        ("-00:00:01.10", 2, &[0x7f, 0xff, 0xfe, 0xf6]),
        ("00:00:00", 0, &[0x80, 0x00, 0x00]),
        ("-00:00:01", 0, &[0x7f, 0xff, 0xff]),
        ("-838:59:59", 0, &[0x4b, 0x91, 0x05]),
        ("838:59:59", 0, &[0xb4, 0x6e, 0xfb]),
        ("-00:00:01.500", 3, &[0x7f, 0xff, 0xfe, 0xec, 0x78]),
        ("-00:00:00.001", 3, &[0x7f, 0xff, 0xff, 0xff, 0xf6]),
        ("-00:00:00.0001", 4, &[0x7f, 0xff, 0xff, 0xff, 0xff]),
        ("-01:00:00.0001", 4, &[0x7f, 0xef, 0xff, 0xff, 0xff]),
        ("-838:59:58.9999", 4, &[0x4b, 0x91, 0x05, 0xd8, 0xf1]),
        ("-00:00:00.00001", 5, &[0x7f, 0xff, 0xff, 0xff, 0xff, 0xf6]),
        ("838:59:58.99999", 5, &[0xb4, 0x6e, 0xfa, 0x0f, 0x42, 0x36]),
        ("-00:00:01.00001", 5, &[0x7f, 0xff, 0xfe, 0xff, 0xff, 0xf6]),
        (
            "-838:59:58.999999",
            6,
            &[0x4b, 0x91, 0x05, 0xf0, 0xbd, 0xc1],
        ),
        ("-12:00:00.5", 6, &[0x7f, 0x3f, 0xff, 0xf8, 0x5e, 0xe0]),
    ];

    #[test]
    fn decodes_known_bytes() {
        for &(text, fsp, bytes) in VECTORS {
            assert_eq!(encode(text, fsp), bytes, "encoder: {text} fsp {fsp}");
            assert_eq!(
                decode_time2(bytes, fsp),
                Ok(parse(text)),
                "{text} fsp {fsp}"
            );
        }
    }

    #[test]
    fn round_trips_every_precision_and_sign() {
        let fracs = [0u32, 1, 9, 10, 99, 100, 500_000, 999_999];
        for fsp in 0..=6u8 {
            let unit = 10u32.pow(6 - u32::from(fsp));
            for negative in [false, true] {
                for (hours, minute, second) in [
                    (0, 0, 0),
                    (0, 0, 1),
                    (0, 59, 59),
                    (1, 2, 3),
                    (24, 0, 0),
                    (838, 59, 59),
                ] {
                    for f in fracs {
                        // The value as stored: the fraction cut to the precision.
                        let micros = if fsp == 0 { 0 } else { f / unit * unit };
                        if micros == 0 && (hours, minute, second) == (0, 0, 0) && negative {
                            continue; // MySQL has no negative zero.
                        }
                        let t = Time {
                            negative,
                            hours,
                            minute,
                            second,
                            micros,
                        };
                        let bytes = to_binary(pack(&t), fsp);
                        assert_eq!(bytes.len(), time2_len(fsp).unwrap());
                        assert_eq!(decode_time2(&bytes, fsp), Ok(t), "{t:?} fsp {fsp}");
                    }
                }
            }
        }
    }

    #[test]
    fn rejects_what_is_not_a_time() {
        assert!(decode_time2(&[0x80, 0, 0], 7).is_err());
        assert!(decode_time2(&[0x80, 0, 0], 1).is_err());
        assert!(decode_time2(&[0x80, 0, 0, 0], 0).is_err());
        // Minute 63, second 63.
        assert!(decode_time2(&[0x80, 0x0f, 0xff], 0).is_err());
        // Fraction 0x0FFFFF > 999999 µs.
        assert!(decode_time2(&[0x80, 0x00, 0x00, 0x0f, 0xff, 0xff], 6).is_err());
        assert_eq!(time2_len(7), None);
    }
}
