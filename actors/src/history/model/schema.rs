//! The schema of one table: its columns and keys.

use serde::{Deserialize, Serialize};

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSchema {
    /// Name, as declared.
    pub name: String,
    /// Lower-case type as MySQL prints it, e.g. `int unsigned`, `varchar(20)`,
    /// `decimal(10,2)`, `enum('a','b')`.
    pub data_type: String,
    /// Whether `NULL` is allowed.
    pub nullable: bool,
    /// A generated column (`GENERATED ALWAYS AS (...) VIRTUAL|STORED`, or MariaDB's
    /// `AS ROW START|END`): its value cannot be written.
    pub generated: bool,
    /// `INVISIBLE`: not part of `SELECT *`.
    pub invisible: bool,
    /// Effective character set of a character column (`None`: not a character column, or
    /// unknown).
    pub charset: Option<String>,
    /// Effective collation of a character column (`None`: not a character column, or
    /// unknown).
    pub collation: Option<String>,
}

/// The kind of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KeyKind {
    /// `PRIMARY KEY`.
    Primary,
    /// `UNIQUE KEY`.
    Unique,
    /// `KEY` / `INDEX`.
    Index,
    /// `FULLTEXT KEY`.
    Fulltext,
    /// `SPATIAL KEY`.
    Spatial,
}

/// One key (index) of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySchema {
    /// Name (`PRIMARY` for the primary key).
    pub name: String,
    /// Kind.
    pub kind: KeyKind,
    /// Its parts in order: a column name, or `None` for an expression (functional index).
    pub columns: Vec<Option<String>>,
}

/// The columns and keys of one table.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TableSchema {
    /// Columns, in table order.
    pub columns: Vec<ColumnSchema>,
    /// Keys; the primary key, if any, first.
    pub keys: Vec<KeySchema>,
    /// The table's default character set (`DEFAULT CHARSET=`), if known.
    #[serde(default)]
    pub charset: Option<String>,
    /// The table's default collation (`COLLATE=`), if known.
    #[serde(default)]
    pub collation: Option<String>,
}

pub(super) fn same_name(a: &str, b: &str) -> bool {
    a == b || a.to_lowercase() == b.to_lowercase()
}

impl TableSchema {
    /// The column named `name` (case-insensitively, as MySQL compares column names) and
    /// its position.
    pub fn column(&self, name: &str) -> Option<(usize, &ColumnSchema)> {
        self.columns
            .iter()
            .enumerate()
            .find(|(_, c)| same_name(&c.name, name))
    }

    /// The key named `name` (case-insensitively).
    pub fn key(&self, name: &str) -> Option<&KeySchema> {
        self.keys.iter().find(|k| same_name(&k.name, name))
    }

    /// The primary key, else the first unique key whose parts are all `NOT NULL` columns:
    /// the key that identifies a row.
    pub fn primary_or_unique_not_null(&self) -> Option<&KeySchema> {
        self.keys
            .iter()
            .find(|k| k.kind == KeyKind::Primary)
            .or_else(|| {
                self.keys.iter().find(|k| {
                    k.kind == KeyKind::Unique
                        && !k.columns.is_empty()
                        && k.columns.iter().all(|c| {
                            c.as_deref()
                                .and_then(|c| self.column(c))
                                .is_some_and(|(_, col)| !col.nullable)
                        })
                })
            })
    }

    pub(super) fn col_idx(&self, name: &str) -> Option<usize> {
        self.column(name).map(|(i, _)| i)
    }

    pub(super) fn key_idx(&self, name: &str) -> Option<usize> {
        self.keys.iter().position(|k| same_name(&k.name, name))
    }

    /// A free key name: `base`, else `base_2`, `base_3`, ...
    pub(super) fn free_key_name(&self, base: &str) -> String {
        if self.key_idx(base).is_none() {
            return base.to_string();
        }
        (2..)
            .map(|n| format!("{base}_{n}"))
            .find(|n| self.key_idx(n).is_none())
            .expect("unbounded")
    }

    /// Primary key first; its columns `NOT NULL`.
    pub(super) fn normalize(&mut self) {
        if let Some(i) = self.keys.iter().position(|k| k.kind == KeyKind::Primary) {
            if i != 0 {
                let pk = self.keys.remove(i);
                self.keys.insert(0, pk);
            }
            let cols: Vec<String> = self.keys[0].columns.iter().flatten().cloned().collect();
            for c in cols {
                if let Some(i) = self.col_idx(&c) {
                    self.columns[i].nullable = false;
                }
            }
        }
    }
}
