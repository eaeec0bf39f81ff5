//! SQL text of the full phase: chunk queries, load statements, the downstream chunk ledger.

use ferry_model::table::quote_ident;
use ferry_model::{ChunkBound, KeyValue, TableName};

use super::encode::hex_literal;
use crate::db::{quote_str, Flavor};
use crate::schema::{Column, TableMeta, ValueKind};

/// What to do when a loaded row's key already exists downstream (`on-duplicate-logical`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDuplicate {
    /// Overwrite (DM's default): reloading a chunk is idempotent.
    Replace,
    /// Keep the existing row.
    Ignore,
    /// Fail the chunk.
    Error,
}

/// `SELECT` of one chunk: copied columns (BIT as numbers, FLOAT widened to DOUBLE because the
/// text protocol prints FLOAT with 6 significant digits only), restricted to the key range and
/// to the user's `where` filter. `cast_double`: the server has `CAST(... AS DOUBLE)` (MySQL
/// 8.0.17+, MariaDB 10.4+); otherwise `+ 0e0` widens the value.
pub fn select_chunk(
    meta: &TableMeta,
    lower: Option<&ChunkBound>,
    upper: Option<&ChunkBound>,
    user_where: Option<&str>,
    cast_double: bool,
) -> String {
    let cols: Vec<String> = meta
        .copied_columns()
        .map(|c| {
            let name = quote_ident(&c.name);
            match c.kind() {
                ValueKind::Bit => format!("{name} + 0"),
                _ if c.data_type == "float" && cast_double => format!("CAST({name} AS DOUBLE)"),
                _ if c.data_type == "float" => format!("{name} + 0e0"),
                _ => name,
            }
        })
        .collect();
    let mut conds = Vec::new();
    let key: Vec<&Column> = meta.split_key.iter().map(|&i| &meta.columns[i]).collect();
    if let Some(l) = lower {
        conds.push(format!("{} > {}", key_tuple(&key), value_tuple(&key, l)));
    }
    if let Some(u) = upper {
        conds.push(format!("{} <= {}", key_tuple(&key), value_tuple(&key, u)));
    }
    if let Some(w) = user_where.filter(|w| !w.trim().is_empty()) {
        conds.push(format!("({w})"));
    }
    let mut sql = format!("SELECT {} FROM {}", cols.join(", "), meta.name.quoted());
    if !conds.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conds.join(" AND "));
    }
    sql
}

/// `(a, b)` or `a`.
pub fn key_tuple(key: &[&Column]) -> String {
    let names: Vec<String> = key.iter().map(|c| quote_ident(&c.name)).collect();
    if names.len() == 1 {
        names[0].clone()
    } else {
        format!("({})", names.join(", "))
    }
}

fn value_tuple(key: &[&Column], bound: &ChunkBound) -> String {
    let vals: Vec<String> = key
        .iter()
        .zip(bound)
        .map(|(c, v)| key_literal(c, v))
        .collect();
    if vals.len() == 1 {
        vals[0].clone()
    } else {
        format!("({})", vals.join(", "))
    }
}

/// A key value as a literal that compares the way the column orders: strings carry their
/// charset and collation, binary values are hex, temporal and decimal values quoted text.
pub fn key_literal(col: &Column, v: &KeyValue) -> String {
    match v {
        KeyValue::Int(n) => n.to_string(),
        KeyValue::UInt(n) => n.to_string(),
        KeyValue::Bytes(b) => {
            let mut hex = bytes::BytesMut::new();
            hex_literal(b, &mut hex);
            let hex = String::from_utf8_lossy(&hex).into_owned();
            match (&col.charset, &col.collation) {
                (Some(cs), Some(coll)) if cs != "binary" => {
                    format!("_{cs} {hex} COLLATE {coll}")
                }
                _ if col.kind() == ValueKind::Bytes
                    && matches!(
                        col.data_type.as_str(),
                        "binary" | "varbinary" | "blob" | "tinyblob" | "mediumblob" | "longblob"
                    ) =>
                {
                    hex
                }
                _ => quote_str(&String::from_utf8_lossy(b)),
            }
        }
    }
}

/// The column clause and `SET` clause of `LOAD DATA` for the copied columns.
fn load_columns(meta: &TableMeta, target: Flavor) -> (Vec<String>, Vec<String>) {
    let mut cols = Vec::new();
    let mut sets = Vec::new();
    for (i, c) in meta.copied_columns().enumerate() {
        let name = quote_ident(&c.name);
        match c.kind() {
            ValueKind::Bit => {
                cols.push(format!("@v{i}"));
                sets.push(format!("{name} = CAST(@v{i} AS UNSIGNED)"));
            }
            ValueKind::Json if target != Flavor::Mariadb => {
                cols.push(format!("@v{i}"));
                sets.push(format!("{name} = CONVERT(@v{i} USING utf8mb4)"));
            }
            _ => cols.push(name),
        }
    }
    (cols, sets)
}

/// `LOAD DATA LOCAL INFILE` of a chunk's stream into the target table.
pub fn load_data(meta: &TableMeta, target: &TableName, flavor: Flavor, dup: OnDuplicate) -> String {
    let (cols, sets) = load_columns(meta, flavor);
    let dup = match dup {
        OnDuplicate::Replace => "REPLACE ",
        OnDuplicate::Ignore => "IGNORE ",
        OnDuplicate::Error => "",
    };
    let mut sql = format!(
        "LOAD DATA LOCAL INFILE 'ferry-chunk' {dup}INTO TABLE {} CHARACTER SET binary \
         FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({})",
        target.quoted(),
        cols.join(", ")
    );
    if !sets.is_empty() {
        sql.push_str(" SET ");
        sql.push_str(&sets.join(", "));
    }
    sql
}

/// `INSERT INTO t (cols) VALUES ` prefix (or `REPLACE` / `INSERT IGNORE`).
pub fn insert_prefix(meta: &TableMeta, target: &TableName, dup: OnDuplicate) -> String {
    let cols: Vec<String> = meta
        .copied_columns()
        .map(|c| quote_ident(&c.name))
        .collect();
    let verb = match dup {
        OnDuplicate::Replace => "REPLACE",
        OnDuplicate::Ignore => "INSERT IGNORE",
        OnDuplicate::Error => "INSERT",
    };
    format!(
        "{verb} INTO {} ({}) VALUES ",
        target.quoted(),
        cols.join(", ")
    )
}

/// Name of the downstream ledger of committed chunks of a task.
pub fn ledger_table(meta_schema: &str, task: &str) -> TableName {
    TableName::new(meta_schema, format!("{task}_load_chunks"))
}

/// `CREATE TABLE IF NOT EXISTS` of the ledger (it has a primary key, unlike DM's meta tables).
pub fn create_ledger(ledger: &TableName) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\
         source_id VARCHAR(32) NOT NULL, \
         cp_schema VARCHAR(128) NOT NULL, \
         cp_table VARCHAR(128) NOT NULL, \
         chunk INT UNSIGNED NOT NULL, \
         row_count BIGINT UNSIGNED NOT NULL, \
         byte_count BIGINT UNSIGNED NOT NULL, \
         create_time TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, \
         PRIMARY KEY (source_id, cp_schema, cp_table, chunk)) DEFAULT CHARSET=utf8mb4",
        ledger.quoted()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Column;

    fn col(name: &str, ty: &str, cs: Option<&str>) -> Column {
        Column {
            name: name.into(),
            data_type: ty.into(),
            not_null: true,
            generated: false,
            charset: cs.map(str::to_string),
            collation: cs.map(|c| format!("{c}_bin")),
        }
    }

    fn meta() -> TableMeta {
        TableMeta {
            name: TableName::new("db", "t"),
            columns: vec![
                col("id", "int", None),
                col("f", "float", None),
                col("name", "varchar", Some("utf8mb4")),
                col("flags", "bit", None),
                col("doc", "json", None),
                Column {
                    generated: true,
                    ..col("g", "int", None)
                },
            ],
            split_key: vec![0, 2],
            split_key_is_primary: true,
            est_rows: 10,
            est_bytes: 100,
            avg_row_len: 10,
        }
    }

    #[test]
    fn chunk_query_has_range_and_skips_generated_columns() {
        let m = meta();
        let lo = vec![KeyValue::Int(-5), KeyValue::Bytes(b"ab".to_vec())];
        let sql = select_chunk(&m, Some(&lo), None, Some("id > 0"), true);
        assert_eq!(
            sql,
            "SELECT `id`, CAST(`f` AS DOUBLE), `name`, `flags` + 0, `doc` FROM `db`.`t` WHERE (`id`, `name`) > \
             (-5, _utf8mb4 0x6162 COLLATE utf8mb4_bin) AND (id > 0)"
        );
        assert_eq!(
            select_chunk(&m, None, None, None, true),
            "SELECT `id`, CAST(`f` AS DOUBLE), `name`, `flags` + 0, `doc` FROM `db`.`t`"
        );
    }

    #[test]
    fn load_statement_casts_bits_and_converts_json_for_mysql() {
        let m = meta();
        let t = TableName::new("x", "t");
        let my = load_data(&m, &t, Flavor::Mysql, OnDuplicate::Replace);
        assert!(
            my.contains("REPLACE INTO TABLE `x`.`t` CHARACTER SET binary"),
            "{my}"
        );
        assert!(my.ends_with("(`id`, `f`, `name`, @v3, @v4) SET `flags` = CAST(@v3 AS UNSIGNED), `doc` = CONVERT(@v4 USING utf8mb4)"), "{my}");
        let md = load_data(&m, &t, Flavor::Mariadb, OnDuplicate::Ignore);
        assert!(
            md.ends_with("(`id`, `f`, `name`, @v3, `doc`) SET `flags` = CAST(@v3 AS UNSIGNED)"),
            "{md}"
        );
        assert_eq!(
            insert_prefix(&m, &t, OnDuplicate::Error),
            "INSERT INTO `x`.`t` (`id`, `f`, `name`, `flags`, `doc`) VALUES "
        );
    }
}
