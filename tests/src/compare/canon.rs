//! Canonicalising, ordering and showing fetched values.

use std::cmp::Ordering;

use mysql_async::Value;

use super::{Canon, Cell};
use crate::sql::quote_ident;

pub(super) fn value_bytes(v: Value) -> Cell {
    match v {
        Value::NULL => None,
        Value::Bytes(b) => Some(b),
        // The text protocol only yields bytes; keep anything else printable anyway.
        other => Some(other.as_sql(true).into_bytes()),
    }
}

pub(super) fn canonicalize(canon: Canon, cell: Cell) -> Cell {
    let bytes = cell?;
    Some(match canon {
        Canon::Bytes => bytes,
        Canon::Json => match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(v) => {
                let mut out = String::new();
                canonical_json(&v, &mut out);
                out.into_bytes()
            }
            Err(_) => bytes,
        },
        Canon::Number => match std::str::from_utf8(&bytes)
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
        {
            Some(x) => canonical_f64(x).into_bytes(),
            None => bytes,
        },
    })
}

/// Shortest round-trip text of `x`, integral values below 2^53 as integers, `-0` as `0`.
fn canonical_f64(x: f64) -> String {
    if x == 0.0 {
        "0".to_string()
    } else if x.fract() == 0.0 && x.abs() < 9_007_199_254_740_992.0 {
        format!("{}", x as i64)
    } else {
        format!("{x:e}")
    }
}

/// Prints a JSON value canonically: object keys sorted, no whitespace, numbers via
/// [`canonical_f64`] unless they are exact 64-bit integers.
pub fn canonical_json(v: &serde_json::Value, out: &mut String) {
    use serde_json::Value as J;
    match v {
        J::Null => out.push_str("null"),
        J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        J::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.push_str(&i.to_string());
            } else if let Some(u) = n.as_u64() {
                out.push_str(&u.to_string());
            } else {
                out.push_str(&canonical_f64(n.as_f64().unwrap_or(f64::NAN)));
            }
        }
        J::String(s) => out.push_str(&serde_json::to_string(s).expect("string serializes")),
        J::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(x, out);
            }
            out.push(']');
        }
        J::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).expect("string serializes"));
                out.push(':');
                canonical_json(&o[k], out);
            }
            out.push('}');
        }
    }
}

pub(super) fn cmp_by(a: &[Cell], b: &[Cell], idx: &[usize]) -> Ordering {
    for &i in idx {
        match a[i].cmp(&b[i]) {
            Ordering::Equal => {}
            o => return o,
        }
    }
    Ordering::Equal
}

/// Shows a value in a report: `NULL`, a quoted string when it is printable UTF-8, else
/// `X'..'` hex; long values are cut.
pub fn show_value(cell: &Cell) -> String {
    const MAX: usize = 120;
    match cell {
        None => "NULL".to_string(),
        Some(b) => match std::str::from_utf8(b) {
            Ok(s) if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') => {
                let n = s.chars().count();
                if n > MAX {
                    let cut: String = s.chars().take(MAX).collect();
                    format!("{:?}... ({} chars, {} bytes)", cut, n, b.len())
                } else {
                    format!("{s:?}")
                }
            }
            _ => {
                if b.len() > MAX / 2 {
                    format!(
                        "X'{}'... ({} bytes)",
                        hex::encode_upper(&b[..MAX / 2]),
                        b.len()
                    )
                } else {
                    format!("X'{}'", hex::encode_upper(b))
                }
            }
        },
    }
}

pub(super) fn show_key(names: &[String], idx: &[usize], row: &[Cell]) -> String {
    let parts: Vec<String> = idx
        .iter()
        .map(|&i| format!("{}={}", quote_ident(&names[i]), show_value(&row[i])))
        .collect();
    format!("({})", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon_json(s: &str) -> String {
        let mut out = String::new();
        canonical_json(&serde_json::from_str(s).unwrap(), &mut out);
        out
    }

    #[test]
    fn json_canonical_form_ignores_formatting_and_key_order() {
        assert_eq!(
            canon_json(r#"{"b": 1, "a": [1.0, 1e-7, "é"]}"#),
            canon_json(r#"{"a":[1,0.0000001,"\u00e9"],"b":1}"#)
        );
        assert_eq!(
            canon_json("123456789012345678901234567890"),
            canon_json("1.2345678901234568e29")
        );
        assert_eq!(canon_json("18446744073709551615"), "18446744073709551615");
        assert_ne!(canon_json(r#"{"a": 1}"#), canon_json(r#"{"a": 2}"#));
    }

    #[test]
    fn numbers_compare_by_value() {
        let n = |s: &str| canonicalize(Canon::Number, Some(s.as_bytes().to_vec()));
        assert_eq!(n("1e-7"), n("0.0000001"));
        assert_eq!(n("-0"), n("0"));
        assert_ne!(n("123456.703125"), n("123456.7109375"));
        assert_eq!(canonicalize(Canon::Number, None), None);
    }

    #[test]
    fn values_are_shown_readably() {
        assert_eq!(show_value(&None), "NULL");
        assert_eq!(show_value(&Some(b"ab".to_vec())), "\"ab\"");
        assert_eq!(show_value(&Some(vec![0, 0x5c])), "X'005C'");
    }
}
