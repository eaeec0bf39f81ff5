//! JSON documents as compact JSON text, the form in which they are written downstream.
//!
//! A `serde_json::Value` holds numbers as `i64`/`u64`/`f64` (the workspace does not enable
//! serde_json's `arbitrary_precision`), so a DECIMAL stored inside a MySQL JSON document
//! (`JSON_OBJECT('a', CAST(1.2345678901234567890123 AS DECIMAL(30,25)))`) would lose digits
//! there. [`JsonText::from_dom`] writes the text straight from the driver's [`JsonDom`]
//! instead, the DECIMAL's digits verbatim, as MySQL prints them
//! (`{"a":1.2345678901234567890123000}`).

use std::fmt;

use mysql_async::binlog::jsonb::{JsonContainer, JsonDom, JsonNumber, JsonScalar};

/// A JSON document as compact JSON text (`{"a":[1,2.5,"x"]}`).
///
/// Object members come in key order (byte order, as a `serde_json::Map`), integers and
/// doubles as `serde_json` writes them, and DECIMALs with all their digits: for a document
/// without DECIMALs the text is exactly `serde_json`'s compact form of the same document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JsonText(String);

impl JsonText {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, owned.
    pub fn into_string(self) -> String {
        self.0
    }

    /// The document as a `serde_json::Value` (DECIMALs become `f64`: digits beyond its
    /// precision are rounded).
    pub fn to_value(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::from_str(&self.0)
    }

    /// Writes a binary JSON document as decoded by the driver. DECIMALs keep every digit;
    /// the other opaque scalars are written as the driver converts them to `serde_json`
    /// (DATE/TIME/DATETIME as their text, other types as `base64:type<n>:<data>`).
    pub(crate) fn from_dom(dom: JsonDom) -> Result<Self, String> {
        let mut out = Vec::new();
        write_dom(&mut out, dom)?;
        // Only serde_json output, decimal digits and ASCII punctuation were written.
        String::from_utf8(out)
            .map(JsonText)
            .map_err(|_| "JSON: text is not UTF-8".to_string())
    }
}

impl fmt::Display for JsonText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&serde_json::Value> for JsonText {
    fn from(v: &serde_json::Value) -> Self {
        JsonText(v.to_string())
    }
}

impl From<serde_json::Value> for JsonText {
    fn from(v: serde_json::Value) -> Self {
        JsonText::from(&v)
    }
}

/// Parses JSON text through `serde_json::Value` (numbers beyond `f64` are rounded), then
/// writes it in the canonical compact form.
impl<'de> serde::Deserialize<'de> for JsonText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde_json::Value::deserialize(d).map(JsonText::from)
    }
}

fn write_dom(out: &mut Vec<u8>, dom: JsonDom) -> Result<(), String> {
    match dom {
        JsonDom::Container(JsonContainer::Array(items)) => {
            out.push(b'[');
            for (i, item) in items.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_dom(out, item)?;
            }
            out.push(b']');
        }
        JsonDom::Container(JsonContainer::Object(members)) => {
            out.push(b'{');
            for (i, (key, value)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_serde(out, &key)?;
                out.push(b':');
                write_dom(out, value)?;
            }
            out.push(b'}');
        }
        JsonDom::Scalar(JsonScalar::Number(JsonNumber::Decimal(d))) => {
            let text = d.to_string();
            if !is_json_number(&text) {
                return Err(format!("JSON: DECIMAL `{text}` is not a JSON number"));
            }
            out.extend_from_slice(text.as_bytes());
        }
        JsonDom::Scalar(JsonScalar::String(s)) => write_serde(out, &s)?,
        JsonDom::Scalar(other) => write_serde(out, &serde_json::Value::from(other))?,
    }
    Ok(())
}

fn write_serde<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) -> Result<(), String> {
    serde_json::to_writer(out, v).map_err(|e| format!("JSON: {e}"))
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?`: a JSON number without exponent.
fn is_json_number(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|c| c.is_ascii_digit());
    digits(int) && (int == "0" || !int.starts_with('0')) && frac.is_none_or(digits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mysql_async::binlog::jsonb::Value as Jsonb;
    use mysql_common::io::ParseBuf;

    /// Decodes MySQL binary JSON as the rows decoder does.
    fn text(bytes: &[u8]) -> Result<JsonText, String> {
        let v: Jsonb<'_> = ParseBuf(bytes).parse(()).map_err(|e| e.to_string())?;
        JsonText::from_dom(v.parse().map_err(|e| e.to_string())?)
    }

    /// `JSON_OBJECT('a', CAST(1.2345678901234567890123 AS DECIMAL(30,25)))`, as MySQL 9.7
    /// wrote it in a rows event (small object, one opaque NEWDECIMAL member stored with
    /// precision 34, scale 25).
    const DECIMAL_OBJECT: &[u8] = &[
        0x00, 0x01, 0x00, 0x20, 0x00, 0x0b, 0x00, 0x01, 0x00, 0x0f, 0x0c, 0x00, 0x61, 0xf6, 0x12,
        0x22, 0x19, 0x80, 0x00, 0x00, 0x01, 0x0d, 0xfb, 0x38, 0xd2, 0x07, 0x5b, 0xcd, 0x15, 0x00,
        0x01, 0xe0, 0x78,
    ];

    /// `JSON_ARRAY(CAST(-0.5 AS DECIMAL(5,2)), CAST(-12345678901234567890.5 AS
    /// DECIMAL(65,30)), 2.5e0, 'x')`, as MySQL 9.7 wrote it.
    const DECIMAL_ARRAY: &[u8] = &[
        0x02, 0x04, 0x00, 0x41, 0x00, 0x0f, 0x10, 0x00, 0x0f, 0x19, 0x00, 0x0b, 0x37, 0x00, 0x0c,
        0x3f, 0x00, 0xf6, 0x07, 0x0b, 0x02, 0x7f, 0xff, 0xff, 0xff, 0xcd, 0xf6, 0x1c, 0x39, 0x1e,
        0x7f, 0xff, 0xff, 0xf3, 0xeb, 0x65, 0x5b, 0xca, 0xf2, 0x04, 0xc7, 0x2d, 0xe2, 0x32, 0x9a,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x04, 0x40, 0x01, 0x78,
    ];

    #[test]
    fn decimals_inside_json_keep_every_digit() {
        // MySQL prints this document as `{"a": 1.2345678901234567890123000}`.
        assert_eq!(
            text(DECIMAL_OBJECT).unwrap().as_str(),
            r#"{"a":1.2345678901234567890123000}"#
        );
        // MySQL: `[-0.50, -12345678901234567890.500000000000000000000000000000, 2.5, "x"]`.
        assert_eq!(
            text(DECIMAL_ARRAY).unwrap().as_str(),
            r#"[-0.50,-12345678901234567890.500000000000000000000000000000,2.5,"x"]"#
        );
        // The text is valid JSON; through `f64` the digits would be rounded.
        let v = text(DECIMAL_OBJECT).unwrap().to_value().unwrap();
        assert_eq!(v["a"].to_string(), "1.2345678901234567");
    }

    /// Opaque NEWDECIMAL scalar: `f6 <len> <precision> <scale> <binary decimal>`.
    fn opaque_decimal(precision: u8, scale: u8, bin: &[u8]) -> Vec<u8> {
        let mut v = vec![0x0f, 0xf6, (2 + bin.len()) as u8, precision, scale];
        v.extend_from_slice(bin);
        v
    }

    #[test]
    fn decimal_scalars() {
        // DECIMAL(5,2) 0.00: intg 3 (2 bytes), frac 2 (1 byte); positive: first bit set.
        assert_eq!(
            text(&opaque_decimal(5, 2, &[0x80, 0x00, 0x00]))
                .unwrap()
                .as_str(),
            "0.00"
        );
        // DECIMAL(10,0) 100: intg 10 = 1 digit (1 byte) + 9 digits (4 bytes).
        assert_eq!(
            text(&opaque_decimal(10, 0, &[0x80, 0x00, 0x00, 0x00, 0x64]))
                .unwrap()
                .as_str(),
            "100"
        );
        // DECIMAL(4,1) -12.5: negative values are stored inverted.
        assert_eq!(
            text(&opaque_decimal(4, 1, &[!0x80, !0x0c, !0x05]))
                .unwrap()
                .as_str(),
            "-12.5"
        );
    }

    #[test]
    fn same_text_as_serde_json_without_decimals() {
        // {"b": [1, -2, 2.5, true, null, 18446744073709551615], "a": "é\"\n😀"} built by
        // the driver's parser, against serde_json's compact form of the same document.
        let doc = serde_json::json!({
            "b": [1, -2, 2.5, true, null, u64::MAX, 1e300, -0.0],
            "a": "é\"\n\u{1}😀",
            "": {"z": {}, "y": []}
        });
        let dom = dom_of(&doc);
        assert_eq!(
            JsonText::from_dom(dom).unwrap().as_str(),
            serde_json::to_string(&doc).unwrap()
        );
        assert_eq!(
            JsonText::from(&doc).as_str(),
            serde_json::to_string(&doc).unwrap()
        );
        let parsed: JsonText = serde_json::from_str(r#" { "b" : [ 1 ], "a" : 2.50 } "#).unwrap();
        assert_eq!(parsed.as_str(), r#"{"a":2.5,"b":[1]}"#);
        assert_eq!(parsed.to_string(), parsed.as_str());
    }

    /// The driver's DOM of a `serde_json` document (no opaque values).
    fn dom_of(v: &serde_json::Value) -> JsonDom {
        use serde_json::Value as J;
        match v {
            J::Null => JsonDom::Scalar(JsonScalar::Null),
            J::Bool(b) => JsonDom::Scalar(JsonScalar::Boolean(*b)),
            J::Number(n) => JsonDom::Scalar(JsonScalar::Number(if let Some(u) = n.as_u64() {
                JsonNumber::Uint(u)
            } else if let Some(i) = n.as_i64() {
                JsonNumber::Int(i)
            } else {
                JsonNumber::Double(n.as_f64().unwrap())
            })),
            J::String(s) => JsonDom::Scalar(JsonScalar::String(s.clone())),
            J::Array(a) => JsonDom::Container(JsonContainer::Array(a.iter().map(dom_of).collect())),
            J::Object(m) => JsonDom::Container(JsonContainer::Object(
                m.iter().map(|(k, v)| (k.clone(), dom_of(v))).collect(),
            )),
        }
    }

    #[test]
    fn json_numbers() {
        for ok in ["0", "-0.50", "1.2345678901234567890123000", "100", "-7"] {
            assert!(is_json_number(ok), "{ok}");
        }
        for bad in [
            "", "-", ".5", "-.5", "1.", "01", "1e5", "+1", "1.2.3", "NaN",
        ] {
            assert!(!is_json_number(bad), "{bad}");
        }
    }
}
