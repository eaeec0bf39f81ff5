//! Table metadata read from `information_schema`, and the target DDL derived from
//! `SHOW CREATE TABLE`, adapted to what the downstream accepts.

use std::collections::HashSet;

use ferry_model::table::quote_ident;
use ferry_model::TableName;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use crate::db::{Endpoint, Flavor};
use crate::ddl::dialect::{self, DialectError};
use crate::ddl::SqlMode;
use crate::error::TaskError;

/// How a column's value travels from the dump query to the load statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// Numbers: sent as their text, unquoted in SQL.
    Number,
    /// BIT: dumped as `col + 0` (decimal), loaded through a variable cast to UNSIGNED.
    Bit,
    /// JSON: text; loaded through `CONVERT(... USING utf8mb4)` on targets with a binary JSON type.
    Json,
    /// Everything else (strings, binary, temporal, ENUM/SET, spatial): raw bytes.
    Bytes,
}

/// One column of an upstream table.
#[derive(Debug, Clone)]
pub struct Column {
    /// Name.
    pub name: String,
    /// `DATA_TYPE` (lower case), e.g. `varchar`.
    pub data_type: String,
    /// `NOT NULL`.
    pub not_null: bool,
    /// Generated (virtual or stored): never dumped nor written.
    pub generated: bool,
    /// Character set of string columns.
    pub charset: Option<String>,
    /// Collation of string columns.
    pub collation: Option<String>,
}

impl Column {
    /// How the value travels.
    pub fn kind(&self) -> ValueKind {
        match self.data_type.as_str() {
            "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "decimal"
            | "numeric" | "float" | "double" | "real" | "year" => ValueKind::Number,
            "bit" => ValueKind::Bit,
            "json" => ValueKind::Json,
            _ => ValueKind::Bytes,
        }
    }

    /// True for integer types (usable for numeric range splitting).
    pub fn is_integer(&self) -> bool {
        matches!(
            self.data_type.as_str(),
            "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint"
        )
    }
}

/// What the full phase needs to know about an upstream table.
#[derive(Debug, Clone)]
pub struct TableMeta {
    /// Upstream name.
    pub name: TableName,
    /// Columns in ordinal order.
    pub columns: Vec<Column>,
    /// Columns of the split key: the primary key, else a unique key over NOT NULL columns.
    /// Empty when the table has neither (it is then copied as one stream).
    pub split_key: Vec<usize>,
    /// True when `split_key` is the primary key.
    pub split_key_is_primary: bool,
    /// Estimated rows (`information_schema.TABLES.TABLE_ROWS`).
    pub est_rows: u64,
    /// Estimated data bytes.
    pub est_bytes: u64,
    /// Average row length in bytes.
    pub avg_row_len: u64,
}

impl TableMeta {
    /// Columns that are copied (not generated).
    pub fn copied_columns(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| !c.generated)
    }
}

fn s(row: &mysql_async::Row, i: usize) -> Option<String> {
    match row.as_ref(i) {
        Some(mysql_async::Value::Bytes(b)) => Some(String::from_utf8_lossy(b).into_owned()),
        Some(mysql_async::Value::Int(n)) => Some(n.to_string()),
        Some(mysql_async::Value::UInt(n)) => Some(n.to_string()),
        _ => None,
    }
}

fn n(row: &mysql_async::Row, i: usize) -> u64 {
    s(row, i).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// Lists the base tables of the upstream (excluding views), schema by schema.
pub async fn list_tables(conn: &mut Conn, ep: &Endpoint) -> Result<Vec<TableName>, TaskError> {
    let rows: Vec<mysql_async::Row> = conn
        .query(
            "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES \
             WHERE TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_SCHEMA, TABLE_NAME",
        )
        .await
        .map_err(ep.sql_err("listing upstream tables"))?;
    Ok(rows
        .iter()
        .filter_map(|r| Some(TableName::new(s(r, 0)?, s(r, 1)?)))
        .collect())
}

/// The metadata of every upstream base table that `allow(schema, table)` selects.
pub async fn selected_tables(
    conn: &mut Conn,
    ep: &Endpoint,
    allow: impl Fn(&str, &str) -> bool,
) -> Result<Vec<TableMeta>, TaskError> {
    let mut out = Vec::new();
    for name in list_tables(conn, ep).await? {
        if allow(&name.schema, &name.table) {
            out.push(table_meta(conn, ep, &name).await?);
        }
    }
    Ok(out)
}

/// Reads a table's columns, keys and size estimates.
pub async fn table_meta(
    conn: &mut Conn,
    ep: &Endpoint,
    name: &TableName,
) -> Result<TableMeta, TaskError> {
    let what = format!("reading the definition of {name}");
    let cols: Vec<mysql_async::Row> = conn
        .exec(
            "SELECT COLUMN_NAME, DATA_TYPE, IS_NULLABLE, EXTRA, CHARACTER_SET_NAME, COLLATION_NAME \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
             ORDER BY ORDINAL_POSITION",
            (&name.schema, &name.table),
        )
        .await
        .map_err(ep.sql_err(what.clone()))?;
    let columns: Vec<Column> = cols
        .iter()
        .map(|r| {
            let extra = s(r, 3).unwrap_or_default().to_ascii_uppercase();
            Column {
                name: s(r, 0).unwrap_or_default(),
                data_type: s(r, 1).unwrap_or_default().to_ascii_lowercase(),
                not_null: s(r, 2).as_deref() == Some("NO"),
                generated: [
                    "VIRTUAL GENERATED",
                    "STORED GENERATED",
                    "PERSISTENT GENERATED",
                ]
                .iter()
                .any(|g| extra.contains(g)),
                charset: s(r, 4),
                collation: s(r, 5),
            }
        })
        .collect();
    let stats: Vec<mysql_async::Row> = conn
        .exec(
            "SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY INDEX_NAME, SEQ_IN_INDEX",
            (&name.schema, &name.table),
        )
        .await
        .map_err(ep.sql_err(what.clone()))?;
    let (split_key, split_key_is_primary) = choose_split_key(&columns, &stats);
    let size: Option<mysql_async::Row> = conn
        .exec_first(
            "SELECT TABLE_ROWS, DATA_LENGTH, AVG_ROW_LENGTH FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (&name.schema, &name.table),
        )
        .await
        .map_err(ep.sql_err(what))?;
    let (est_rows, est_bytes, avg_row_len) = size
        .map(|r| (n(&r, 0), n(&r, 1), n(&r, 2)))
        .unwrap_or((0, 0, 0));
    Ok(TableMeta {
        name: name.clone(),
        columns,
        split_key,
        split_key_is_primary,
        est_rows,
        est_bytes,
        avg_row_len,
    })
}

/// Picks the primary key, else the unique key with the fewest columns whose columns are all
/// NOT NULL and indexed whole (no prefix), else nothing.
fn choose_split_key(columns: &[Column], stats: &[mysql_async::Row]) -> (Vec<usize>, bool) {
    let mut indexes: Vec<(String, bool, Vec<Option<usize>>)> = Vec::new();
    for r in stats {
        let idx = s(r, 0).unwrap_or_default();
        let unique = s(r, 1).as_deref() == Some("0");
        let col = s(r, 2);
        let prefix = r.as_ref(3).is_some_and(|v| *v != mysql_async::Value::NULL);
        let pos = col
            .and_then(|c| columns.iter().position(|x| x.name == c))
            .filter(|_| !prefix);
        match indexes.last_mut() {
            Some((name, _, cols)) if *name == idx => cols.push(pos),
            _ => indexes.push((idx, unique, vec![pos])),
        }
    }
    let usable = |cols: &Vec<Option<usize>>| {
        cols.iter()
            .all(|c| c.is_some_and(|i| columns[i].not_null && !columns[i].generated))
    };
    if let Some((_, _, cols)) = indexes.iter().find(|(n, _, c)| n == "PRIMARY" && usable(c)) {
        return (cols.iter().flatten().copied().collect(), true);
    }
    indexes
        .iter()
        .filter(|(_, unique, c)| *unique && usable(c))
        .min_by_key(|(_, _, c)| c.len())
        .map(|(_, _, c)| (c.iter().flatten().copied().collect(), false))
        .unwrap_or_default()
}

/// `SHOW CREATE TABLE` of the upstream table.
pub async fn show_create_table(
    conn: &mut Conn,
    ep: &Endpoint,
    name: &TableName,
) -> Result<String, TaskError> {
    let row: Option<(String, String)> = conn
        .query_first(format!("SHOW CREATE TABLE {}", name.quoted()))
        .await
        .map_err(ep.sql_err(format!("SHOW CREATE TABLE {name}")))?;
    row.map(|(_, ddl)| ddl)
        .ok_or_else(|| TaskError::Config(format!("table {name} disappeared from the upstream")))
}

/// What the downstream accepts, for DDL adaptation.
#[derive(Debug, Clone)]
pub struct TargetCaps {
    /// Downstream family.
    pub flavor: Flavor,
    /// Collations the downstream knows (lower case).
    pub collations: HashSet<String>,
}

impl TargetCaps {
    /// Reads the downstream's collations.
    pub async fn detect(conn: &mut Conn, ep: &Endpoint, flavor: Flavor) -> Result<Self, TaskError> {
        let mut names: Vec<String> = conn
            .query("SELECT COLLATION_NAME FROM information_schema.COLLATIONS")
            .await
            .map_err(ep.sql_err("listing downstream collations"))?;
        if flavor == Flavor::Mariadb {
            // MariaDB 10.10+ lists its UCA 14 collations without the charset prefix in
            // COLLATIONS; their full names (`utf8mb4_uca1400_ai_ci`) are listed here.
            if let Ok(full) = conn
                .query::<String, _>(
                    "SELECT FULL_COLLATION_NAME FROM information_schema.COLLATION_CHARACTER_SET_APPLICABILITY",
                )
                .await
            {
                names.extend(full);
            }
        }
        Ok(Self {
            flavor,
            collations: names.into_iter().map(|c| c.to_ascii_lowercase()).collect(),
        })
    }

    /// The collation to use downstream for an upstream collation, if it must change.
    pub fn map_collation(&self, coll: &str) -> Option<String> {
        let lower = coll.to_ascii_lowercase();
        if self.collations.contains(&lower) {
            return None;
        }
        let charset = lower.split('_').next().unwrap_or("utf8mb4");
        let candidates: Vec<String> = if lower.ends_with("_bin") {
            vec![format!("{charset}_bin")]
        } else if lower.contains("_0900_") || lower.contains("_uca1400_") {
            // MySQL 8's UCA 9.0.0 and MariaDB's UCA 14.0.0 collations map onto each other
            // (same accent/case sensitivity); older UCA collations are the fallback.
            let other = if lower.contains("_0900_") {
                lower.replacen("_0900_", "_uca1400_", 1)
            } else {
                lower.replacen("_uca1400_", "_0900_", 1)
            };
            let cs = if lower.ends_with("_cs") {
                "bin"
            } else {
                "unicode_520_ci"
            };
            vec![
                other,
                format!("{charset}_{cs}"),
                format!("{charset}_unicode_ci"),
                format!("{charset}_general_ci"),
            ]
        } else {
            vec![format!("{charset}_general_ci")]
        };
        candidates
            .into_iter()
            .find(|c| self.collations.contains(c) && *c != lower)
    }
}

/// The result of adapting a DDL: the statement and what was changed (for the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdaptedDdl {
    /// Statement to run downstream.
    pub sql: String,
    /// Human-readable notes of each change.
    pub changes: Vec<String>,
}

/// Turns an upstream `CREATE TABLE` (`SHOW CREATE TABLE` of a `from` server) into the
/// downstream's: renames the table, adds `IF NOT EXISTS`, and renders the rest for the target
/// ([`crate::ddl::dialect`]: collations the target lacks, the other family's syntax). A
/// definition the target cannot hold is an error naming what it lacks.
pub fn adapt_create_table(
    ddl: &str,
    target: &TableName,
    from: Flavor,
    caps: &TargetCaps,
) -> Result<AdaptedDdl, DialectError> {
    let body = match skip_create_header(ddl) {
        Some(rest) => rest,
        None => ddl,
    };
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS {} {}",
        target.quoted(),
        body.trim_start()
    );
    let r = dialect::render_for_target(&sql, from, caps, SqlMode::default())?;
    Ok(AdaptedDdl {
        sql: r.sql,
        changes: r.rewrites,
    })
}

/// Skips `CREATE TABLE <name>` (the name may be quoted and contain anything) and returns the rest.
fn skip_create_header(ddl: &str) -> Option<&str> {
    let rest = ddl.trim_start().strip_prefix("CREATE TABLE ")?;
    let rest = rest.strip_prefix("IF NOT EXISTS ").unwrap_or(rest);
    let after = skip_ident(rest)?;
    match after.strip_prefix('.') {
        Some(more) => skip_ident(more),
        None => Some(after),
    }
}

/// Skips one identifier, backquoted (with doubled backquotes inside) or bare.
fn skip_ident(s: &str) -> Option<&str> {
    match s.strip_prefix('`') {
        Some(rest) => {
            let b = rest.as_bytes();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'`' {
                    if b.get(i + 1) == Some(&b'`') {
                        i += 2;
                        continue;
                    }
                    return Some(&rest[i + 1..]);
                }
                i += 1;
            }
            None
        }
        None => s.find([' ', '(', '.']).map(|i| &s[i..]),
    }
}

/// `CREATE DATABASE IF NOT EXISTS` for a target schema.
pub fn create_database_sql(schema: &str) -> String {
    format!("CREATE DATABASE IF NOT EXISTS {}", quote_ident(schema))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mariadb() -> TargetCaps {
        TargetCaps {
            flavor: Flavor::Mariadb,
            collations: [
                "utf8mb4_general_ci",
                "utf8mb4_bin",
                "utf8mb4_unicode_520_ci",
                "latin1_swedish_ci",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        }
    }

    fn adapt(ddl: &str, target: &TableName, from: Flavor, caps: &TargetCaps) -> AdaptedDdl {
        adapt_create_table(ddl, target, from, caps).unwrap_or_else(|e| panic!("{ddl}: {e}"))
    }

    #[test]
    fn renames_and_maps_mysql8_collations() {
        let ddl = "CREATE TABLE `we``ird` (\n  `id` int NOT NULL,\n  `c` varchar(10) COLLATE utf8mb4_0900_bin,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci";
        let a = adapt(ddl, &TableName::new("d", "t`2"), Flavor::Mysql, &mariadb());
        assert!(
            a.sql
                .starts_with("CREATE TABLE IF NOT EXISTS `d`.`t``2` (\n  `id` int"),
            "{}",
            a.sql
        );
        assert!(a.sql.contains("COLLATE utf8mb4_bin,"), "{}", a.sql);
        assert!(
            a.sql.ends_with("COLLATE=utf8mb4_unicode_520_ci"),
            "{}",
            a.sql
        );
        assert_eq!(a.changes.len(), 2);
    }

    #[test]
    fn known_collations_are_untouched() {
        let ddl = "CREATE TABLE `t` (`a` char(1) COLLATE latin1_swedish_ci) DEFAULT CHARSET=latin1";
        let a = adapt(ddl, &TableName::new("x", "t"), Flavor::Mysql, &mariadb());
        assert_eq!(
            a.sql,
            "CREATE TABLE IF NOT EXISTS `x`.`t` (`a` char(1) COLLATE latin1_swedish_ci) DEFAULT CHARSET=latin1"
        );
        assert!(a.changes.is_empty());
    }

    #[test]
    fn srid_attribute_dropped_for_mariadb() {
        let ddl = "CREATE TABLE `g` (`p` point NOT NULL /*!80003 SRID 4326 */)";
        let a = adapt(ddl, &TableName::new("x", "g"), Flavor::Mysql, &mariadb());
        assert_eq!(
            a.sql,
            "CREATE TABLE IF NOT EXISTS `x`.`g` (`p` point NOT NULL)"
        );
    }

    /// `SHOW CREATE TABLE` of MySQL 9.7 for a table with MySQL-only parts, as MariaDB gets it.
    #[test]
    fn mysql_definition_for_mariadb() {
        let ddl = "CREATE TABLE `t` (\n  `id` int NOT NULL,\n  `j` json DEFAULT NULL,\n  \
                   `v` int GENERATED ALWAYS AS (json_extract(`j`,_utf8mb4'$.a')) VIRTUAL,\n  \
                   `w` varchar(20) GENERATED ALWAYS AS (json_unquote(json_extract(`j`,_utf8mb4'$.b'))) STORED,\n  \
                   `h` int DEFAULT NULL /*!80023 INVISIBLE */,\n  PRIMARY KEY (`id`),\n  \
                   KEY `iv` (`v`) /*!80000 INVISIBLE */,\n  \
                   CONSTRAINT `c1` CHECK ((`id` > 0)),\n  CONSTRAINT `c2` CHECK ((`id` < 100)) /*!80016 NOT ENFORCED */\n\
                   ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci";
        let a = adapt(ddl, &TableName::new("x", "t"), Flavor::Mysql, &mariadb());
        assert_eq!(
            a.sql,
            "CREATE TABLE IF NOT EXISTS `x`.`t` (\n  `id` int NOT NULL,\n  `j` json DEFAULT NULL,\n  \
             `v` int GENERATED ALWAYS AS (json_extract(`j`,_utf8mb4'$.a')) VIRTUAL,\n  \
             `w` varchar(20) GENERATED ALWAYS AS (json_unquote(json_extract(`j`,_utf8mb4'$.b'))) STORED,\n  \
             `h` int DEFAULT NULL INVISIBLE,\n  PRIMARY KEY (`id`),\n  \
             KEY `iv` (`v`) IGNORED,\n  \
             CONSTRAINT `c1` CHECK ((`id` > 0))\n\
             ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci"
        );
        let e = adapt_create_table(
            "CREATE TABLE `f` (`a` int, KEY `k` (((`a` + 1))))",
            &TableName::new("x", "f"),
            Flavor::Mysql,
            &mariadb(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("functional key parts"), "{e}");
    }

    /// `SHOW CREATE TABLE` of MariaDB 10.11, as MySQL gets it.
    #[test]
    fn mariadb_definition_for_mysql() {
        let mysql = TargetCaps {
            flavor: Flavor::Mysql,
            collations: ["utf8mb4_general_ci", "utf8mb4_bin", "utf8mb4_0900_ai_ci"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        };
        let ddl = "CREATE TABLE `fz` (\n  `id` int(11) NOT NULL,\n  `d` date DEFAULT curdate(),\n  \
                   `c` varchar(40) DEFAULT uuid(),\n  `t` text DEFAULT 'x',\n  \
                   `j` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(`j`)),\n  \
                   `e` datetime DEFAULT current_timestamp(),\n  PRIMARY KEY (`id`),\n  KEY `i` (`d`) IGNORED\n\
                   ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_uca1400_ai_ci";
        let a = adapt(ddl, &TableName::new("x", "fz"), Flavor::Mariadb, &mysql);
        assert_eq!(
            a.sql,
            "CREATE TABLE IF NOT EXISTS `x`.`fz` (\n  `id` int(11) NOT NULL,\n  `d` date DEFAULT (curdate()),\n  \
             `c` varchar(40) DEFAULT (uuid()),\n  `t` text DEFAULT ('x'),\n  \
             `j` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(`j`)),\n  \
             `e` datetime DEFAULT current_timestamp(),\n  PRIMARY KEY (`id`),\n  KEY `i` (`d`) INVISIBLE\n\
             ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci"
        );
        assert_eq!(a.changes.len(), 5, "{:?}", a.changes);
    }
}
