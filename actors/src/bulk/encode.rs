//! Row encoding for the load side: `LOAD DATA` text (tab-separated, backslash-escaped) or SQL
//! `VALUES` tuples. Values arrive as the raw bytes of the text protocol, with no charset
//! conversion, so the bytes that reach the downstream are the upstream's bytes.

use bytes::BytesMut;

use crate::schema::ValueKind;

/// How rows are sent to the downstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadFormat {
    /// `LOAD DATA LOCAL INFILE` stream (fast path).
    LoadData,
    /// Multi-row `INSERT`/`REPLACE` statements (when the downstream disables `local_infile`).
    Insert,
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends one row in `LOAD DATA` form: fields separated by TAB, line ended by LF, `\N` for NULL,
/// and `\\`, TAB, LF, CR and NUL escaped.
pub fn encode_load_data_row<'a>(
    values: impl IntoIterator<Item = Option<&'a [u8]>>,
    out: &mut BytesMut,
) {
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\t");
        }
        match v {
            None => out.extend_from_slice(b"\\N"),
            Some(bytes) => escape_load_data(bytes, out),
        }
    }
    out.extend_from_slice(b"\n");
}

fn escape_load_data(bytes: &[u8], out: &mut BytesMut) {
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            0 => b"\\0",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Appends one row as a SQL tuple `(v1,v2,...)`. Numbers are written as the server printed
/// them; everything else as a hex literal (byte-exact whatever the charset); JSON through
/// `CONVERT(... USING utf8mb4)` when `json_convert` (targets whose JSON type rejects binary).
pub fn encode_values_row<'a>(
    values: impl IntoIterator<Item = Option<&'a [u8]>>,
    kinds: &[ValueKind],
    json_convert: bool,
    out: &mut BytesMut,
) {
    out.extend_from_slice(b"(");
    for (i, (v, k)) in values.into_iter().zip(kinds).enumerate() {
        if i > 0 {
            out.extend_from_slice(b",");
        }
        match (v, k) {
            (None, _) => out.extend_from_slice(b"NULL"),
            (Some(b), ValueKind::Number | ValueKind::Bit) if is_numeric_text(b) => {
                out.extend_from_slice(b)
            }
            (Some(b), ValueKind::Json) if json_convert => {
                out.extend_from_slice(b"CONVERT(");
                hex_literal(b, out);
                out.extend_from_slice(b" USING utf8mb4)");
            }
            (Some(b), _) => hex_literal(b, out),
        }
    }
    out.extend_from_slice(b")");
}

/// True for text a server prints for a number (guards against injecting anything else).
fn is_numeric_text(b: &[u8]) -> bool {
    !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E'))
}

/// Writes `0x...` (or `''` for the empty value, which has no hex form).
pub fn hex_literal(b: &[u8], out: &mut BytesMut) {
    if b.is_empty() {
        out.extend_from_slice(b"''");
        return;
    }
    out.reserve(2 + b.len() * 2);
    out.extend_from_slice(b"0x");
    for &x in b {
        out.extend_from_slice(&[HEX[(x >> 4) as usize], HEX[(x & 15) as usize]]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_data_escapes_every_special_byte() {
        let mut out = BytesMut::new();
        encode_load_data_row(
            [
                Some(&b"a\tb\nc\\d\0e\rf"[..]),
                None,
                Some(&b""[..]),
                Some("é😀".as_bytes()),
            ],
            &mut out,
        );
        assert_eq!(&out[..], "a\\tb\\nc\\\\d\\0e\\rf\t\\N\t\té😀\n".as_bytes());
    }

    #[test]
    fn values_use_hex_for_bytes_and_plain_numbers() {
        let mut out = BytesMut::new();
        encode_values_row(
            [
                Some(&b"-12.5e3"[..]),
                Some(&b"\x00'"[..]),
                None,
                Some(&b""[..]),
                Some(&b"{}"[..]),
            ],
            &[
                ValueKind::Number,
                ValueKind::Bytes,
                ValueKind::Bytes,
                ValueKind::Bytes,
                ValueKind::Json,
            ],
            true,
            &mut out,
        );
        assert_eq!(
            &out[..],
            b"(-12.5e3,0x0027,NULL,'',CONVERT(0x7b7d USING utf8mb4))"
        );
    }

    #[test]
    fn non_numeric_text_in_a_number_column_is_quoted_as_hex() {
        let mut out = BytesMut::new();
        encode_values_row(
            [Some(&b"1;DROP"[..])],
            &[ValueKind::Number],
            false,
            &mut out,
        );
        assert_eq!(&out[..], b"(0x313b44524f50)");
    }
}
