//! Merged multi-row statements (`multiple-rows`): multi-value `INSERT`/`REPLACE`,
//! `DELETE … WHERE (k) IN (…)` and key-preserving updates as
//! `INSERT … ON DUPLICATE KEY UPDATE`, each split to stay under a byte limit.

use std::fmt::Write as _;

use super::dml::DmlError;
use super::target_table::TargetTable;
use crate::reader::RowValue;

impl TargetTable {
    /// Multi-value `INSERT` (`REPLACE` in safe mode) of after images, each statement at most
    /// `max_bytes` long unless a single row is longer (0: one row per statement). Rows with
    /// different sets of present columns go to different statements.
    pub fn merge_inserts<'a>(
        &self,
        rows: impl IntoIterator<Item = &'a [RowValue]>,
        safe: bool,
        max_bytes: usize,
    ) -> Result<Vec<String>, DmlError> {
        let mut m = Merged::new(max_bytes, "");
        let mut open_cols: Vec<usize> = Vec::new();
        let mut cols = Vec::with_capacity(self.columns.len());
        let mut rows = rows.into_iter();
        while let Some(row) = rows.next() {
            self.check_width(row)?;
            self.present_into(row, &mut cols);
            let same = m.is_open() && open_cols == cols;
            if !same {
                open_cols.clone_from(&cols);
            }
            m.row(
                same,
                || self.insert_prefix(&cols, safe),
                rows.size_hint().0,
                |out| self.push_tuple(row, &cols, out),
            )?;
        }
        Ok(m.finish())
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
        let mut m = Merged::new(max_bytes, ")");
        let mut rows = rows.into_iter();
        while let Some(row) = rows.next() {
            self.check_width(row)?;
            if let Some(&k) = self.key.iter().find(|&&k| row[k] == RowValue::Null) {
                return Err(self.err(format!("NULL in key column {}", self.quoted_cols[k])));
            }
            m.row(
                true,
                || prefix.clone(),
                rows.size_hint().0,
                |out| {
                    if multi {
                        self.push_tuple(row, &self.key, out)
                    } else {
                        self.lit(self.key[0], &row[self.key[0]], out)
                    }
                },
            )?;
        }
        Ok(m.finish())
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
        let mut m = Merged::new(max_bytes, &suffix);
        let mut rows = rows.into_iter();
        while let Some((before, after)) = rows.next() {
            self.check_width(before)?;
            self.check_width(after)?;
            self.check_full(after, "a merged update")?;
            if let Some(&k) = self.key.iter().find(|&&k| before[k] != after[k]) {
                return Err(self.err(format!(
                    "key column {} changed: not mergeable",
                    self.quoted_cols[k]
                )));
            }
            m.row(
                true,
                || prefix.clone(),
                rows.size_hint().0,
                |out| self.push_tuple(after, &cols, out),
            )?;
        }
        Ok(m.finish())
    }
}

/// Multi-row statements being built: each row is rendered straight into the open statement
/// (no copy per row), and a statement is sized for the rows still to come once its first
/// row is known (no copies as it grows).
struct Merged<'t> {
    out: Vec<String>,
    open: Option<String>,
    max_bytes: usize,
    /// Closes every statement (`)`, the `ON DUPLICATE KEY UPDATE` clause).
    tail: &'t str,
}

impl<'t> Merged<'t> {
    fn new(max_bytes: usize, tail: &'t str) -> Self {
        Self {
            out: Vec::new(),
            open: None,
            max_bytes,
            tail,
        }
    }

    fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// Adds the row `render` writes: to the open statement when `same` (and it still fits
    /// under the limit), else to a new one that starts with `prefix()`. `left`: rows still
    /// to come (at least).
    fn row(
        &mut self,
        same: bool,
        prefix: impl FnOnce() -> String,
        left: usize,
        render: impl Fn(&mut String) -> Result<(), DmlError>,
    ) -> Result<(), DmlError> {
        if let (true, Some(s)) = (same, self.open.as_mut()) {
            let mark = s.len();
            s.push(',');
            render(s)?;
            if s.len() + self.tail.len() <= self.max_bytes {
                return Ok(());
            }
            // Over the limit: the row starts the next statement.
            let row = s.split_off(mark + 1);
            s.truncate(mark);
            self.close();
            let mut s = prefix();
            s.push_str(&row);
            self.open_sized(s, row.len(), left);
            return Ok(());
        }
        self.close();
        let mut s = prefix();
        let at = s.len();
        render(&mut s)?;
        let len = s.len() - at;
        self.open_sized(s, len, left);
        Ok(())
    }

    /// Opens `s` (holding one row of `row` bytes), with room for `left` more rows like it
    /// up to the limit.
    fn open_sized(&mut self, mut s: String, row: usize, left: usize) {
        let want = (s.len() + (row + 1).saturating_mul(left) + self.tail.len()).min(self.max_bytes);
        s.reserve(want.saturating_sub(s.len()));
        self.open = Some(s);
    }

    fn close(&mut self) {
        if let Some(mut s) = self.open.take() {
            s.push_str(self.tail);
            self.out.push(s);
        }
    }

    fn finish(mut self) -> Vec<String> {
        self.close();
        self.out
    }
}

#[cfg(test)]
mod tests {
    use crate::apply::target_table::tests::{b, table};
    use crate::reader::RowValue::{self, *};

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
