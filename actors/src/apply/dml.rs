//! SQL generation for row changes (pure, no I/O).
//!
//! Values are written byte-exact and injection-proof: strings and binary data as hex literals
//! (the column's character set gives them meaning, as in the full phase), numbers as validated
//! digits, temporal values as quoted digit strings, JSON as hex text (through
//! `CONVERT(… USING utf8mb4)` on targets whose JSON type rejects binary strings).
//!
//! `TIMESTAMP` values are written in UTC: the Writer's session must use `time_zone='+00:00'`.
//!
//! Statements follow DM's syncer:
//! - WHERE by the primary key, else a NOT NULL unique key, else all non-generated columns
//!   compared NULL-safely (`<=>`) with `LIMIT 1`;
//! - safe mode: `INSERT` → `REPLACE`, `UPDATE` → `DELETE` of the old key + `REPLACE` of the
//!   new row, `DELETE` unchanged;
//! - merging (`multiple-rows`): multi-value `INSERT`/`REPLACE`, `DELETE … WHERE (k) IN (…)`,
//!   and key-preserving updates as `INSERT … ON DUPLICATE KEY UPDATE`, split to stay under a
//!   byte limit.

use std::fmt::Write as _;

use ferry_model::table::quote_ident;
use ferry_model::TableName;

use crate::reader::{RowChange, RowValue};
use crate::schema::TableMeta;

/// A statement could not be generated for a row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{table}: {what}")]
pub struct DmlError {
    /// Target table (quoted).
    pub table: String,
    /// What is wrong (names the column when there is one).
    pub what: String,
}

/// One column of a target table, in row-image order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetColumn {
    /// Name (unquoted).
    pub name: String,
    /// Generated (virtual or stored): never written nor compared.
    pub generated: bool,
    /// A JSON column: text values (MariaDB's JSON is a LONGTEXT) are converted to utf8mb4
    /// on targets with a binary JSON type.
    pub json: bool,
}

impl TargetColumn {
    /// A written column.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            generated: false,
            json: false,
        }
    }

    /// A generated column.
    pub fn generated(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            generated: true,
            json: false,
        }
    }
}

/// What the Writer needs to know about a target table to write its rows.
#[derive(Debug, Clone)]
pub struct TargetTable {
    name: TableName,
    columns: Vec<TargetColumn>,
    key: Vec<usize>,
    json_convert: bool,
    quoted_name: String,
    quoted_cols: Vec<String>,
}

impl TargetTable {
    /// Describes a target table. `columns` are in row-image order; `key` lists the columns of
    /// the primary key, else of a unique key over NOT NULL columns, else is empty (rows are
    /// then identified by all their non-generated columns). `json_convert` is for targets
    /// whose JSON type rejects binary strings (MySQL, TiDB).
    pub fn new(
        name: TableName,
        columns: Vec<TargetColumn>,
        key: Vec<usize>,
        json_convert: bool,
    ) -> Result<Self, DmlError> {
        let quoted_name = name.quoted();
        for (n, &k) in key.iter().enumerate() {
            let bad = if k >= columns.len() {
                Some(format!("key column {k} out of range"))
            } else if columns[k].generated {
                Some(format!(
                    "key column {} is generated",
                    quote_ident(&columns[k].name)
                ))
            } else if key[..n].contains(&k) {
                Some(format!(
                    "key column {} repeated",
                    quote_ident(&columns[k].name)
                ))
            } else {
                None
            };
            if let Some(what) = bad {
                return Err(DmlError {
                    table: quoted_name,
                    what,
                });
            }
        }
        let quoted_cols = columns.iter().map(|c| quote_ident(&c.name)).collect();
        Ok(Self {
            name,
            columns,
            key,
            json_convert,
            quoted_name,
            quoted_cols,
        })
    }

    /// From the upstream metadata (its split key is the PK or a NOT NULL UK), written to
    /// `target`.
    pub fn from_meta(meta: &TableMeta, target: TableName, json_convert: bool) -> Self {
        let columns = meta
            .columns
            .iter()
            .map(|c| TargetColumn {
                name: c.name.clone(),
                generated: c.generated,
                json: c.data_type == "json",
            })
            .collect();
        let key = meta
            .split_key
            .iter()
            .copied()
            .filter(|&k| k < meta.columns.len() && !meta.columns[k].generated)
            .collect::<Vec<_>>();
        // A partial key would not identify rows: fall back to all columns.
        let key = if key.len() == meta.split_key.len() {
            key
        } else {
            Vec::new()
        };
        Self::new(target, columns, key, json_convert)
            .expect("filtered key columns are valid and distinct")
    }

    /// The same table written only through the columns `written(i)` says: the others are
    /// left to their defaults and never compared (as generated columns), and rows are
    /// identified by `key` (empty: by every written column).
    pub fn written_through(
        &self,
        written: impl Fn(usize) -> bool,
        key: Vec<usize>,
    ) -> Result<Self, DmlError> {
        let columns = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| TargetColumn {
                generated: c.generated || !written(i),
                ..c.clone()
            })
            .collect();
        let key = if key.iter().all(|&k| written(k)) {
            key
        } else {
            Vec::new()
        };
        Self::new(self.name.clone(), columns, key, self.json_convert)
    }

    /// Target name.
    pub fn name(&self) -> &TableName {
        &self.name
    }

    /// Columns in row-image order.
    pub fn columns(&self) -> &[TargetColumn] {
        &self.columns
    }

    /// Key columns (empty: rows are identified by all non-generated columns).
    pub fn key(&self) -> &[usize] {
        &self.key
    }

    /// True when rows are identified by a PK/UK.
    pub fn has_key(&self) -> bool {
        !self.key.is_empty()
    }

    fn err(&self, what: impl Into<String>) -> DmlError {
        DmlError {
            table: self.quoted_name.clone(),
            what: what.into(),
        }
    }

    fn check_width(&self, row: &[RowValue]) -> Result<(), DmlError> {
        if row.len() == self.columns.len() {
            Ok(())
        } else {
            Err(self.err(format!(
                "row image has {} values, the table has {} columns",
                row.len(),
                self.columns.len()
            )))
        }
    }

    fn lit(&self, i: usize, v: &RowValue, out: &mut String) -> Result<(), DmlError> {
        if let (RowValue::Bytes(b), true) = (v, self.json_convert && self.columns[i].json) {
            out.push_str("CONVERT(");
            push_hex(out, b);
            out.push_str(" USING utf8mb4)");
            return Ok(());
        }
        push_literal(out, v, self.json_convert)
            .map_err(|e| self.err(format!("column {}: {e}", self.quoted_cols[i])))
    }

    /// Indexes of the written columns present in `row`.
    fn present(&self, row: &[RowValue]) -> Vec<usize> {
        (0..self.columns.len())
            .filter(|&i| !self.columns[i].generated && row[i] != RowValue::Absent)
            .collect()
    }

    /// Errors unless every written column is in `row` (full image).
    fn check_full(&self, row: &[RowValue], why: &str) -> Result<(), DmlError> {
        match (0..self.columns.len())
            .find(|&i| !self.columns[i].generated && row[i] == RowValue::Absent)
        {
            None => Ok(()),
            Some(i) => Err(self.err(format!(
                "column {} is not in the row image, needed for {why} \
                 (set binlog_row_image=FULL on the upstream)",
                self.quoted_cols[i]
            ))),
        }
    }

    /// ` WHERE …` identifying the row of image `before` (with ` LIMIT 1` when keyless).
    fn push_where(&self, before: &[RowValue], out: &mut String) -> Result<(), DmlError> {
        out.push_str(" WHERE ");
        if self.has_key() {
            for (n, &k) in self.key.iter().enumerate() {
                if n > 0 {
                    out.push_str(" AND ");
                }
                if before[k] == RowValue::Null {
                    return Err(self.err(format!("NULL in key column {}", self.quoted_cols[k])));
                }
                out.push_str(&self.quoted_cols[k]);
                out.push_str(" = ");
                self.lit(k, &before[k], out)?;
            }
        } else {
            let mut first = true;
            for i in (0..self.columns.len()).filter(|&i| !self.columns[i].generated) {
                if !first {
                    out.push_str(" AND ");
                }
                first = false;
                out.push_str(&self.quoted_cols[i]);
                out.push_str(" <=> ");
                self.lit(i, &before[i], out)?;
            }
            if first {
                return Err(self.err("no column to identify the row by"));
            }
            out.push_str(" LIMIT 1");
        }
        Ok(())
    }

    fn push_tuple(
        &self,
        row: &[RowValue],
        cols: &[usize],
        out: &mut String,
    ) -> Result<(), DmlError> {
        out.push('(');
        for (n, &i) in cols.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            self.lit(i, &row[i], out)?;
        }
        out.push(')');
        Ok(())
    }

    fn insert_prefix(&self, cols: &[usize], safe: bool) -> String {
        let mut s = String::from(if safe {
            "REPLACE INTO "
        } else {
            "INSERT INTO "
        });
        s.push_str(&self.quoted_name);
        s.push_str(" (");
        for (n, &i) in cols.iter().enumerate() {
            if n > 0 {
                s.push(',');
            }
            s.push_str(&self.quoted_cols[i]);
        }
        s.push_str(") VALUES ");
        s
    }

    /// `INSERT` (`REPLACE` in safe mode) of the after image `after`. Columns missing from the
    /// image are left to their defaults.
    pub fn insert(&self, after: &[RowValue], safe: bool) -> Result<String, DmlError> {
        let mut v = self.merge_inserts([after], safe, 0)?;
        Ok(v.pop().unwrap_or_default())
    }

    /// `DELETE` of the row of image `before`.
    pub fn delete(&self, before: &[RowValue]) -> Result<String, DmlError> {
        self.check_width(before)?;
        let mut s = format!("DELETE FROM {}", self.quoted_name);
        self.push_where(before, &mut s)?;
        Ok(s)
    }

    /// `UPDATE` setting the written columns present in `after` on the row of `before` (none
    /// when no written column is present). Safe mode: `DELETE` of the old row + `REPLACE` of
    /// the new one (which needs a full after image).
    pub fn update(
        &self,
        before: &[RowValue],
        after: &[RowValue],
        safe: bool,
    ) -> Result<Vec<String>, DmlError> {
        self.check_width(before)?;
        self.check_width(after)?;
        if safe {
            self.check_full(after, "a safe-mode REPLACE")?;
            return Ok(vec![self.delete(before)?, self.insert(after, true)?]);
        }
        let cols = self.present(after);
        if cols.is_empty() {
            return Ok(Vec::new());
        }
        let mut s = format!("UPDATE {} SET ", self.quoted_name);
        for (n, &i) in cols.iter().enumerate() {
            if n > 0 {
                s.push(',');
            }
            s.push_str(&self.quoted_cols[i]);
            s.push('=');
            self.lit(i, &after[i], &mut s)?;
        }
        self.push_where(before, &mut s)?;
        Ok(vec![s])
    }

    /// The statements for one row change (insert, update or delete by its images).
    pub fn change(&self, c: &RowChange, safe: bool) -> Result<Vec<String>, DmlError> {
        match (&c.before, &c.after) {
            (None, Some(a)) => Ok(vec![self.insert(a, safe)?]),
            (Some(b), Some(a)) => self.update(b, a, safe),
            (Some(b), None) => Ok(vec![self.delete(b)?]),
            (None, None) => Err(self.err("row change without images")),
        }
    }

    /// Multi-value `INSERT` (`REPLACE` in safe mode) of after images, each statement at most
    /// `max_bytes` long unless a single row is longer (0: one row per statement). Rows with
    /// different sets of present columns go to different statements.
    pub fn merge_inserts<'a>(
        &self,
        rows: impl IntoIterator<Item = &'a [RowValue]>,
        safe: bool,
        max_bytes: usize,
    ) -> Result<Vec<String>, DmlError> {
        let mut out = Vec::new();
        let mut cur: Option<(Vec<usize>, String)> = None;
        let mut tuple = String::new();
        for row in rows {
            self.check_width(row)?;
            let cols = self.present(row);
            tuple.clear();
            self.push_tuple(row, &cols, &mut tuple)?;
            match &mut cur {
                Some((c, s)) if *c == cols && s.len() + 1 + tuple.len() <= max_bytes => {
                    s.push(',');
                    s.push_str(&tuple);
                }
                _ => {
                    let mut s = self.insert_prefix(&cols, safe);
                    s.push_str(&tuple);
                    if let Some((_, done)) = cur.replace((cols, s)) {
                        out.push(done);
                    }
                }
            }
        }
        out.extend(cur.map(|(_, s)| s));
        Ok(out)
    }

    /// `DELETE … WHERE (k1,k2) IN ((…),(…))` of before images, split as
    /// [`merge_inserts`](Self::merge_inserts) does. Keyless tables get one `DELETE … LIMIT 1`
    /// per row.
    pub fn merge_deletes<'a>(
        &self,
        rows: impl IntoIterator<Item = &'a [RowValue]>,
        max_bytes: usize,
    ) -> Result<Vec<String>, DmlError> {
        if !self.has_key() {
            return rows.into_iter().map(|r| self.delete(r)).collect();
        }
        let mut prefix = format!("DELETE FROM {} WHERE ", self.quoted_name);
        let multi = self.key.len() > 1;
        if multi {
            prefix.push('(');
        }
        for (n, &k) in self.key.iter().enumerate() {
            if n > 0 {
                prefix.push(',');
            }
            prefix.push_str(&self.quoted_cols[k]);
        }
        prefix.push_str(if multi { ") IN (" } else { " IN (" });
        let mut out = Vec::new();
        let mut cur: Option<String> = None;
        let mut tuple = String::new();
        for row in rows {
            self.check_width(row)?;
            if let Some(&k) = self.key.iter().find(|&&k| row[k] == RowValue::Null) {
                return Err(self.err(format!("NULL in key column {}", self.quoted_cols[k])));
            }
            tuple.clear();
            if multi {
                self.push_tuple(row, &self.key, &mut tuple)?;
            } else {
                self.lit(self.key[0], &row[self.key[0]], &mut tuple)?;
            }
            match &mut cur {
                // +2: the separator and the closing parenthesis.
                Some(s) if s.len() + tuple.len() + 2 <= max_bytes => {
                    s.push(',');
                    s.push_str(&tuple);
                }
                _ => {
                    let mut s = prefix.clone();
                    s.push_str(&tuple);
                    if let Some(mut done) = cur.replace(s) {
                        done.push(')');
                        out.push(done);
                    }
                }
            }
        }
        out.extend(cur.map(|mut s| {
            s.push(')');
            s
        }));
        Ok(out)
    }

    /// Updates that keep their key as `INSERT … VALUES … ON DUPLICATE KEY UPDATE c=VALUES(c)`,
    /// split as [`merge_inserts`](Self::merge_inserts) does. Needs a keyed table, full after
    /// images and unchanged keys (use [`update`](Self::update) otherwise).
    pub fn merge_updates<'a>(
        &self,
        rows: impl IntoIterator<Item = (&'a [RowValue], &'a [RowValue])>,
        max_bytes: usize,
    ) -> Result<Vec<String>, DmlError> {
        if !self.has_key() {
            return Err(self.err("merged updates need a primary or unique key"));
        }
        let cols: Vec<usize> = (0..self.columns.len())
            .filter(|&i| !self.columns[i].generated)
            .collect();
        let prefix = self.insert_prefix(&cols, false);
        let mut suffix = String::from(" ON DUPLICATE KEY UPDATE ");
        for (n, &i) in cols.iter().enumerate() {
            if n > 0 {
                suffix.push(',');
            }
            let c = &self.quoted_cols[i];
            let _ = write!(suffix, "{c}=VALUES({c})");
        }
        let mut out = Vec::new();
        let mut cur: Option<String> = None;
        let mut tuple = String::new();
        for (before, after) in rows {
            self.check_width(before)?;
            self.check_width(after)?;
            self.check_full(after, "a merged update")?;
            if let Some(&k) = self.key.iter().find(|&&k| before[k] != after[k]) {
                return Err(self.err(format!(
                    "key column {} changed: not mergeable",
                    self.quoted_cols[k]
                )));
            }
            tuple.clear();
            self.push_tuple(after, &cols, &mut tuple)?;
            match &mut cur {
                Some(s) if s.len() + 1 + tuple.len() + suffix.len() <= max_bytes => {
                    s.push(',');
                    s.push_str(&tuple);
                }
                _ => {
                    let mut s = prefix.clone();
                    s.push_str(&tuple);
                    if let Some(mut done) = cur.replace(s) {
                        done.push_str(&suffix);
                        out.push(done);
                    }
                }
            }
        }
        out.extend(cur.map(|mut s| {
            s.push_str(&suffix);
            s
        }));
        Ok(out)
    }
}

/// Appends the SQL literal of `v`. `json_convert`: JSON through `CONVERT(… USING utf8mb4)`.
/// Errors (absent values, NaN/infinity, malformed decimals, partial JSON) say why.
pub fn push_literal(out: &mut String, v: &RowValue, json_convert: bool) -> Result<(), String> {
    match v {
        RowValue::Absent => {
            return Err("not in the row image (set binlog_row_image=FULL on the upstream)".into())
        }
        RowValue::Null => out.push_str("NULL"),
        RowValue::Int(n) => push_display(out, n),
        RowValue::UInt(n) => push_display(out, n),
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
            push_display(out, n);
        }
        RowValue::Enum(i) => push_display(out, i),
        RowValue::Set(m) => push_display(out, m),
        RowValue::Year(y) => push_display(out, y),
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

fn push_display(out: &mut String, v: impl std::fmt::Display) {
    let _ = write!(out, "{v}");
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

/// `0x…` (or `''` for the empty value, which has no hex form).
fn push_hex(out: &mut String, b: &[u8]) {
    if b.is_empty() {
        out.push_str("''");
    } else {
        out.reserve(2 + 2 * b.len());
        out.push_str("0x");
        out.push_str(&hex::encode(b));
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
    use crate::reader::{Date, DateTime, JsonPatch, JsonPatchOp, Time};
    use RowValue::*;

    fn lit(v: RowValue) -> Result<String, String> {
        let mut s = String::new();
        push_literal(&mut s, &v, true).map(|_| s)
    }

    fn b(s: &str) -> RowValue {
        Bytes(s.as_bytes().to_vec())
    }

    /// `d`.`t` (a INT, b VARCHAR, g generated, c INT), key per `key`.
    fn table(key: Vec<usize>) -> TargetTable {
        TargetTable::new(
            TableName::new("d", "t"),
            vec![
                TargetColumn::new("a"),
                TargetColumn::new("b"),
                TargetColumn::generated("g"),
                TargetColumn::new("c"),
            ],
            key,
            true,
        )
        .unwrap()
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
    fn single_row_statements_by_primary_key() {
        let t = table(vec![0]);
        let row = vec![Int(1), b("x"), Int(99), Null];
        assert_eq!(
            t.insert(&row, false).unwrap(),
            "INSERT INTO `d`.`t` (`a`,`b`,`c`) VALUES (1,0x78,NULL)"
        );
        assert_eq!(
            t.insert(&row, true).unwrap(),
            "REPLACE INTO `d`.`t` (`a`,`b`,`c`) VALUES (1,0x78,NULL)"
        );
        assert_eq!(t.delete(&row).unwrap(), "DELETE FROM `d`.`t` WHERE `a` = 1");
        let new = vec![Int(2), b("y"), Int(98), Int(-5)];
        assert_eq!(
            t.update(&row, &new, false).unwrap(),
            ["UPDATE `d`.`t` SET `a`=2,`b`=0x79,`c`=-5 WHERE `a` = 1"]
        );
        assert_eq!(
            t.update(&row, &new, true).unwrap(),
            [
                "DELETE FROM `d`.`t` WHERE `a` = 1",
                "REPLACE INTO `d`.`t` (`a`,`b`,`c`) VALUES (2,0x79,-5)"
            ]
        );
        let ch = RowChange {
            before: Some(row.clone()),
            after: None,
        };
        assert_eq!(
            t.change(&ch, true).unwrap(),
            ["DELETE FROM `d`.`t` WHERE `a` = 1"]
        );
        let mut null_key = row.clone();
        null_key[0] = Null;
        assert!(t
            .delete(&null_key)
            .unwrap_err()
            .what
            .contains("NULL in key"));
        assert!(t.insert(&row[..3], false).is_err());
    }

    #[test]
    fn composite_key_and_odd_identifiers() {
        let t = TargetTable::new(
            TableName::new("we`ird db", "t-1 😀"),
            vec![
                TargetColumn::new("k`1"),
                TargetColumn::new("k 2"),
                TargetColumn::new("v"),
            ],
            vec![1, 0],
            false,
        )
        .unwrap();
        let row = vec![Int(1), b("a"), Null];
        assert_eq!(
            t.delete(&row).unwrap(),
            "DELETE FROM `we``ird db`.`t-1 😀` WHERE `k 2` = 0x61 AND `k``1` = 1"
        );
        let rows = [row.clone(), vec![Int(2), b("b"), Null]];
        assert_eq!(
            t.merge_deletes(rows.iter().map(Vec::as_slice), 1 << 20)
                .unwrap(),
            ["DELETE FROM `we``ird db`.`t-1 😀` WHERE (`k 2`,`k``1`) IN ((0x61,1),(0x62,2))"]
        );
        assert!(TargetTable::new(
            TableName::new("d", "t"),
            vec![TargetColumn::generated("g")],
            vec![0],
            false
        )
        .is_err());
        assert!(TargetTable::new(TableName::new("d", "t"), vec![], vec![0], false).is_err());
    }

    #[test]
    fn keyless_tables_compare_all_columns_null_safely() {
        let t = table(vec![]);
        let row = vec![Null, b(""), Null, Int(3)];
        assert_eq!(
            t.delete(&row).unwrap(),
            "DELETE FROM `d`.`t` WHERE `a` <=> NULL AND `b` <=> '' AND `c` <=> 3 LIMIT 1"
        );
        let new = vec![Int(1), b(""), Null, Int(3)];
        assert_eq!(
            t.update(&row, &new, false).unwrap(),
            ["UPDATE `d`.`t` SET `a`=1,`b`='',`c`=3 \
              WHERE `a` <=> NULL AND `b` <=> '' AND `c` <=> 3 LIMIT 1"]
        );
        let rows = [row.clone(), new.clone()];
        assert_eq!(
            t.merge_deletes(rows.iter().map(Vec::as_slice), 1 << 20)
                .unwrap()
                .len(),
            2
        );
        assert!(t.merge_updates([(&row[..], &new[..])], 1 << 20).is_err());
        let mut absent = row.clone();
        absent[1] = Absent;
        assert!(t.delete(&absent).is_err());
    }

    #[test]
    fn minimal_images() {
        let t = table(vec![0]);
        let before = vec![Int(1), Absent, Absent, Absent];
        let after = vec![Absent, Absent, Absent, Int(7)];
        assert_eq!(
            t.update(&before, &after, false).unwrap(),
            ["UPDATE `d`.`t` SET `c`=7 WHERE `a` = 1"]
        );
        assert!(t
            .update(&before, &after, true)
            .unwrap_err()
            .what
            .contains("binlog_row_image=FULL"));
        assert_eq!(
            t.update(&before, &[Absent, Absent, Int(1), Absent], false)
                .unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            t.insert(&[Int(5), Absent, Absent, Absent], false).unwrap(),
            "INSERT INTO `d`.`t` (`a`) VALUES (5)"
        );
    }

    #[test]
    fn merged_inserts_split_by_size_and_column_set() {
        let t = table(vec![0]);
        let rows: Vec<Vec<RowValue>> = (0..5)
            .map(|i| vec![Int(i), b("ab"), Null, UInt(u64::MAX)])
            .collect();
        let one = t.merge_inserts(rows.iter().map(Vec::as_slice), true, 1 << 20);
        assert_eq!(
            one.unwrap(),
            ["REPLACE INTO `d`.`t` (`a`,`b`,`c`) VALUES \
              (0,0x6162,18446744073709551615),(1,0x6162,18446744073709551615),\
              (2,0x6162,18446744073709551615),(3,0x6162,18446744073709551615),\
              (4,0x6162,18446744073709551615)"]
        );
        let prefix = "INSERT INTO `d`.`t` (`a`,`b`,`c`) VALUES ".len();
        let tuple = "(0,0x6162,18446744073709551615)".len();
        let limit = prefix + 2 * tuple + 1;
        let split = t
            .merge_inserts(rows.iter().map(Vec::as_slice), false, limit)
            .unwrap();
        assert_eq!(split.len(), 3);
        assert!(split.iter().all(|s| s.len() <= limit));
        assert!(split[2].ends_with("VALUES (4,0x6162,18446744073709551615)"));
        // A row longer than the limit still gets its statement.
        assert_eq!(
            t.merge_inserts(rows.iter().map(Vec::as_slice), false, 1)
                .unwrap()
                .len(),
            5
        );
        let mixed = [rows[0].clone(), vec![Int(9), Absent, Absent, Absent]];
        assert_eq!(
            t.merge_inserts(mixed.iter().map(Vec::as_slice), false, 1 << 20)
                .unwrap(),
            [
                "INSERT INTO `d`.`t` (`a`,`b`,`c`) VALUES (0,0x6162,18446744073709551615)",
                "INSERT INTO `d`.`t` (`a`) VALUES (9)"
            ]
        );
        assert!(t
            .merge_inserts(std::iter::empty(), false, 100)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn merged_deletes_split_by_size() {
        let t = table(vec![0]);
        let rows: Vec<Vec<RowValue>> = (0..4).map(|i| vec![Int(-i), Null, Null, Null]).collect();
        assert_eq!(
            t.merge_deletes(rows.iter().map(Vec::as_slice), 1 << 20)
                .unwrap(),
            ["DELETE FROM `d`.`t` WHERE `a` IN (0,-1,-2,-3)"]
        );
        let limit = "DELETE FROM `d`.`t` WHERE `a` IN (-2,-3)".len();
        let split = t
            .merge_deletes(rows.iter().map(Vec::as_slice), limit)
            .unwrap();
        assert_eq!(
            split,
            [
                "DELETE FROM `d`.`t` WHERE `a` IN (0,-1)",
                "DELETE FROM `d`.`t` WHERE `a` IN (-2,-3)"
            ]
        );
    }

    #[test]
    fn merged_updates_keep_keys() {
        let t = table(vec![0]);
        let before = [Int(1), b("x"), Null, Int(1)];
        let after = [Int(1), b("y"), Int(5), Int(2)];
        let stmts = t
            .merge_updates(
                [(&before[..], &after[..]), (&before[..], &after[..])],
                1 << 20,
            )
            .unwrap();
        assert_eq!(
            stmts,
            [
                "INSERT INTO `d`.`t` (`a`,`b`,`c`) VALUES (1,0x79,2),(1,0x79,2) \
              ON DUPLICATE KEY UPDATE `a`=VALUES(`a`),`b`=VALUES(`b`),`c`=VALUES(`c`)"
            ]
        );
        let split = t
            .merge_updates(
                [(&before[..], &after[..]), (&before[..], &after[..])],
                stmts[0].len() - 1,
            )
            .unwrap();
        assert_eq!(split.len(), 2);
        let moved = [Int(2), b("y"), Null, Int(2)];
        assert!(t
            .merge_updates([(&before[..], &moved[..])], 1 << 20)
            .unwrap_err()
            .what
            .contains("changed"));
    }
}
