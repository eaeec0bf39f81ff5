//! From parsed definitions to the model: a column with the table's charset and collation
//! defaults, a `CREATE TABLE` body, and keys named as the server names them.

use ferry_model::TableName;

use super::error::{Ctx, ModelError};
use super::schema::{same_name, ColumnSchema, KeyKind, KeySchema, TableSchema};
use super::sql_mode::ParseMode;
use crate::history::parse::{ColumnDefn, KeyDefn, TableDef};

pub(super) fn is_text_type(data_type: &str) -> bool {
    let base = data_type.split(['(', ' ']).next().unwrap_or("");
    matches!(
        base,
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "set"
    )
}

pub(super) fn charset_of_collation(collation: &str) -> String {
    match collation.split_once('_') {
        Some((cs, _)) => cs.to_string(),
        None => collation.to_string(),
    }
}

/// A column definition, with the table's defaults for the charset and collation.
pub(super) fn materialize(
    def: &ColumnDefn,
    table_charset: Option<&str>,
    table_collation: Option<&str>,
    mode: ParseMode,
) -> ColumnSchema {
    let mut data_type = def.data_type.clone();
    if data_type == "real" || data_type.starts_with("real ") || data_type.starts_with("real(") {
        let ty = if mode.real_as_float {
            "float"
        } else {
            "double"
        };
        data_type = data_type.replacen("real", ty, 1);
    }
    let (mut charset, mut collation) = (None, None);
    if is_text_type(&data_type) {
        charset = def.charset.clone();
        collation = def.collation.clone();
        match (&charset, &collation) {
            (None, None) => {
                charset = table_charset
                    .map(str::to_string)
                    .or_else(|| table_collation.map(charset_of_collation));
                collation = table_collation.map(str::to_string);
            }
            (None, Some(coll)) => charset = Some(charset_of_collation(coll)),
            _ => {}
        }
        if def.binary {
            if let Some(cs) = &charset {
                collation = Some(if cs == "binary" {
                    "binary".to_string()
                } else {
                    format!("{cs}_bin")
                });
            }
        }
    }
    ColumnSchema {
        name: def.name.clone(),
        data_type,
        nullable: !def.not_null,
        generated: def.generated,
        invisible: def.invisible,
        charset,
        collation,
    }
}

/// A table from a `CREATE TABLE` body.
pub(super) fn build_table(
    def: &TableDef,
    mode: ParseMode,
    t: &TableName,
    ctx: &Ctx,
) -> Result<TableSchema, ModelError> {
    let mut s = TableSchema {
        charset: def
            .charset
            .clone()
            .filter(|c| c != "default")
            .or_else(|| def.collation.as_deref().map(charset_of_collation)),
        collation: def.collation.clone().filter(|c| c != "default"),
        ..Default::default()
    };
    for c in &def.columns {
        if s.col_idx(&c.name).is_some() {
            return Err(ctx.duplicate_column(t, &c.name));
        }
        s.columns.push(materialize(
            c,
            s.charset.as_deref(),
            s.collation.as_deref(),
            mode,
        ));
    }
    for c in &def.columns {
        column_keys(&mut s, c, t, ctx)?;
    }
    for k in &def.keys {
        add_key(&mut s, k, t, ctx)?;
    }
    for (name, cols) in &def.foreign_keys {
        add_foreign_key_index(&mut s, name.as_deref(), cols, t, ctx)?;
    }
    s.normalize();
    Ok(s)
}

/// Keys declared on a column (`PRIMARY KEY`, `UNIQUE`, `SERIAL`).
pub(super) fn column_keys(
    s: &mut TableSchema,
    c: &ColumnDefn,
    t: &TableName,
    ctx: &Ctx,
) -> Result<(), ModelError> {
    if c.primary {
        add_key(
            s,
            &KeyDefn {
                name: None,
                kind: KeyKind::Primary,
                columns: vec![Some(c.name.clone())],
                if_not_exists: false,
            },
            t,
            ctx,
        )?;
    }
    if c.unique {
        add_key(
            s,
            &KeyDefn {
                name: None,
                kind: KeyKind::Unique,
                columns: vec![Some(c.name.clone())],
                if_not_exists: false,
            },
            t,
            ctx,
        )?;
    }
    Ok(())
}

pub(super) fn add_key(
    s: &mut TableSchema,
    k: &KeyDefn,
    t: &TableName,
    ctx: &Ctx,
) -> Result<(), ModelError> {
    let mut columns = Vec::with_capacity(k.columns.len());
    for part in &k.columns {
        match part {
            None => columns.push(None),
            Some(c) => match s.column(c) {
                Some((_, col)) => columns.push(Some(col.name.clone())),
                None => return Err(ctx.unknown_column(t, c)),
            },
        }
    }
    if k.kind == KeyKind::Primary {
        s.keys.retain(|k| k.kind != KeyKind::Primary);
        s.keys.insert(
            0,
            KeySchema {
                name: "PRIMARY".into(),
                kind: KeyKind::Primary,
                columns,
            },
        );
        return Ok(());
    }
    let name = match &k.name {
        Some(n) => {
            if let Some(i) = s.key_idx(n) {
                if k.if_not_exists {
                    return Ok(());
                }
                // The upstream accepted it: the model's key of that name is stale.
                s.keys.remove(i);
            }
            n.clone()
        }
        None => {
            let base = match columns.first() {
                Some(Some(c)) => c.clone(),
                _ => "functional_index".to_string(),
            };
            s.free_key_name(&base)
        }
    };
    s.keys.push(KeySchema {
        name,
        kind: k.kind,
        columns,
    });
    Ok(())
}

/// The index the server creates for a foreign key when no key starts with its columns.
pub(super) fn add_foreign_key_index(
    s: &mut TableSchema,
    name: Option<&str>,
    cols: &[String],
    t: &TableName,
    ctx: &Ctx,
) -> Result<(), ModelError> {
    for c in cols {
        if s.column(c).is_none() {
            return Err(ctx.unknown_column(t, c));
        }
    }
    let covered = s.keys.iter().any(|k| {
        matches!(k.kind, KeyKind::Primary | KeyKind::Unique | KeyKind::Index)
            && k.columns.len() >= cols.len()
            && k.columns
                .iter()
                .zip(cols)
                .all(|(p, c)| p.as_deref().is_some_and(|p| same_name(p, c)))
    });
    if covered {
        return Ok(());
    }
    let key = KeyDefn {
        name: Some(match name {
            Some(n) if s.key_idx(n).is_none() => n.to_string(),
            _ => s.free_key_name(&cols[0]),
        }),
        kind: KeyKind::Index,
        columns: cols.iter().cloned().map(Some).collect(),
        if_not_exists: false,
    };
    add_key(s, &key, t, ctx)
}
