//! The target-table description ([`TargetTable`]) and its single-row statements: `INSERT`
//! (`REPLACE` in safe mode), `DELETE` and `UPDATE` (safe mode: `DELETE` + `REPLACE`), with
//! the `WHERE` that identifies a row by its key or, keyless, by all its written columns.

use ferry_model::table::quote_ident;
use ferry_model::TableName;

use super::dml::DmlError;
use super::literal::{push_hex, push_literal};
use crate::reader::{RowChange, RowValue};
use crate::schema::TableMeta;

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
    pub(super) columns: Vec<TargetColumn>,
    pub(super) key: Vec<usize>,
    json_convert: bool,
    pub(super) quoted_name: String,
    pub(super) quoted_cols: Vec<String>,
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

    pub(super) fn err(&self, what: impl Into<String>) -> DmlError {
        DmlError {
            table: self.quoted_name.clone(),
            what: what.into(),
        }
    }

    pub(super) fn check_width(&self, row: &[RowValue]) -> Result<(), DmlError> {
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

    pub(super) fn lit(&self, i: usize, v: &RowValue, out: &mut String) -> Result<(), DmlError> {
        if let (RowValue::Bytes(b), true) = (v, self.json_convert && self.columns[i].json) {
            out.push_str("CONVERT(");
            push_hex(out, b);
            out.push_str(" USING utf8mb4)");
            return Ok(());
        }
        push_literal(out, v, self.json_convert)
            .map_err(|e| self.err(format!("column {}: {e}", self.quoted_cols[i])))
    }

    /// Indexes of the written columns present in `row`, into `out` (cleared first).
    pub(super) fn present_into(&self, row: &[RowValue], out: &mut Vec<usize>) {
        out.clear();
        out.extend(
            (0..self.columns.len())
                .filter(|&i| !self.columns[i].generated && !matches!(row[i], RowValue::Absent)),
        );
    }

    /// Errors unless every written column is in `row` (full image).
    pub(super) fn check_full(&self, row: &[RowValue], why: &str) -> Result<(), DmlError> {
        match (0..self.columns.len())
            .find(|&i| !self.columns[i].generated && matches!(row[i], RowValue::Absent))
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

    pub(super) fn push_tuple(
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

    pub(super) fn insert_prefix(&self, cols: &[usize], safe: bool) -> String {
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
        let mut cols = Vec::new();
        self.present_into(after, &mut cols);
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
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use RowValue::*;

    pub(in crate::apply) fn b(s: &str) -> RowValue {
        Bytes(s.as_bytes().to_vec())
    }

    /// `d`.`t` (a INT, b VARCHAR, g generated, c INT), key per `key`.
    pub(in crate::apply) fn table(key: Vec<usize>) -> TargetTable {
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
}
