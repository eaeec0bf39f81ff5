//! MySQL binary JSON decoded by the crate's `JsonBinary` into a `serde_json` value.

use std::panic::{catch_unwind, AssertUnwindSafe};

use mysql_binlog_connector_rust::column::column_type::ColumnType as CrateType;
use mysql_binlog_connector_rust::column::json::json_binary::JsonBinary;
use mysql_binlog_connector_rust::column::json::json_formatter::JsonFormatter;

/// MySQL binary JSON as a `serde_json` value, decoded by the crate's `JsonBinary` into
/// [`JsonBuilder`]. Empty bytes are `null` (as MySQL treats them).
pub(super) fn decode_json(bytes: &[u8]) -> Result<serde_json::Value, String> {
    if bytes.is_empty() {
        return Ok(serde_json::Value::Null);
    }
    let mut builder = JsonBuilder::default();
    let parsed = catch_unwind(AssertUnwindSafe(|| JsonBinary::parse(bytes, &mut builder)));
    match parsed {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(format!("JSON: {e}")),
        Err(_) => return Err("JSON: malformed value".to_string()),
    }
    builder.finish()
}

/// A [`JsonFormatter`] that builds a `serde_json::Value`, with the same conversions as the
/// default backend (numbers as integers or `f64`, non-finite doubles as `null`).
#[derive(Default)]
struct JsonBuilder {
    stack: Vec<(Container, Option<String>)>,
    result: Option<serde_json::Value>,
    error: Option<String>,
}

enum Container {
    Array(Vec<serde_json::Value>),
    Object(serde_json::Map<String, serde_json::Value>),
}

impl JsonBuilder {
    fn push(&mut self, v: serde_json::Value) {
        match self.stack.last_mut() {
            None => self.result = Some(v),
            Some((Container::Array(a), _)) => a.push(v),
            Some((Container::Object(m), key)) => {
                m.insert(key.take().unwrap_or_default(), v);
            }
        }
    }

    fn close(&mut self) {
        match self.stack.pop() {
            Some((Container::Array(a), _)) => self.push(serde_json::Value::Array(a)),
            Some((Container::Object(m), _)) => self.push(serde_json::Value::Object(m)),
            None => self.fail("unbalanced container"),
        }
    }

    fn fail(&mut self, what: &str) {
        if self.error.is_none() {
            self.error = Some(what.to_string());
        }
    }

    /// A value of another SQL type stored inside the JSON document: not representable, as
    /// with the default backend.
    fn opaque(&mut self) {
        self.fail("JSON: the document contains an opaque value (a DECIMAL, temporal or binary value stored in JSON)");
    }

    fn finish(self) -> Result<serde_json::Value, String> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if !self.stack.is_empty() {
            return Err("JSON: unterminated container".to_string());
        }
        self.result
            .ok_or_else(|| "JSON: empty document".to_string())
    }
}

impl JsonFormatter for JsonBuilder {
    fn begin_object(&mut self, num_elements: u32) {
        let cap = (num_elements as usize).min(1024);
        self.stack
            .push((Container::Object(serde_json::Map::with_capacity(cap)), None));
    }

    fn begin_array(&mut self, num_elements: u32) {
        let cap = (num_elements as usize).min(1024);
        self.stack
            .push((Container::Array(Vec::with_capacity(cap)), None));
    }

    fn end_object(&mut self) {
        self.close();
    }

    fn end_array(&mut self) {
        self.close();
    }

    fn name(&mut self, name: &str) {
        match self.stack.last_mut() {
            Some((Container::Object(_), key)) => *key = Some(name.to_string()),
            _ => self.fail("JSON: key outside an object"),
        }
    }

    fn value_string(&mut self, value: &str) {
        self.push(serde_json::Value::String(value.to_string()));
    }

    fn value_int(&mut self, value: i32) {
        self.push(serde_json::Value::from(value));
    }

    fn value_long(&mut self, value: i64) {
        self.push(serde_json::Value::from(value));
    }

    fn value_double(&mut self, value: f64) {
        self.push(serde_json::Value::from(value));
    }

    fn value_big_int(&mut self, value: i128) {
        match u64::try_from(value) {
            Ok(u) => self.push(serde_json::Value::from(u)),
            Err(_) => match i64::try_from(value) {
                Ok(i) => self.push(serde_json::Value::from(i)),
                Err(_) => self.fail("JSON: integer out of range"),
            },
        }
    }

    fn value_decimal(&mut self, _value: &str) {
        self.opaque();
    }

    fn value_bool(&mut self, value: bool) {
        self.push(serde_json::Value::Bool(value));
    }

    fn value_null(&mut self) {
        self.push(serde_json::Value::Null);
    }

    fn value_year(&mut self, _year: i32) {
        self.opaque();
    }

    fn value_date(&mut self, _year: i32, _month: i32, _day: i32) {
        self.opaque();
    }

    fn value_datetime(
        &mut self,
        _year: i32,
        _month: i32,
        _day: i32,
        _hour: i32,
        _min: i32,
        _sec: i32,
        _micro_seconds: i32,
    ) {
        self.opaque();
    }

    fn value_time(&mut self, _hour: i32, _min: i32, _sec: i32, _micro_seconds: i32) {
        self.opaque();
    }

    fn value_timestamp(&mut self, _seconds_past_epoch: i64, _micro_seconds: i32) {
        self.opaque();
    }

    fn value_opaque(&mut self, _column_type: &CrateType, _value: &[u8]) {
        self.opaque();
    }

    fn next_entry(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_binary_json() {
        assert_eq!(decode_json(&[]), Ok(serde_json::Value::Null));
        assert_eq!(decode_json(&[0x04, 0x01]), Ok(serde_json::json!(true)));
        // {"a": 1}: small object, one key, inline int16.
        let doc = [0x00, 1, 0, 12, 0, 11, 0, 1, 0, 0x05, 1, 0, b'a'];
        assert_eq!(decode_json(&doc), Ok(serde_json::json!({"a": 1})));
        // uint64 max and a double.
        let mut big = vec![0x0a];
        big.extend_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(decode_json(&big), Ok(serde_json::json!(u64::MAX)));
        let mut dbl = vec![0x0b];
        dbl.extend_from_slice(&1.5e300f64.to_le_bytes());
        assert_eq!(decode_json(&dbl), Ok(serde_json::json!(1.5e300)));
        // An opaque DECIMAL (1.5 as DECIMAL(2,1)) is an error, as with the default backend.
        let opaque = [0x0f, 246, 4, 2, 1, 0x81, 0x05];
        let err = decode_json(&opaque).unwrap_err();
        assert!(err.contains("opaque"), "{err}");
        assert!(decode_json(&[0x00, 9, 9]).is_err());
    }
}
