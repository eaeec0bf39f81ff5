//! One `ALTER TABLE` clause applied to a table's schema.

use ferry_model::TableName;

use super::definition::{
    add_foreign_key_index, add_key, charset_of_collation, column_keys, is_text_type, materialize,
};
use super::error::{Ctx, ModelError};
use super::schema::{same_name, ColumnSchema, KeyKind, TableSchema};
use super::sql_mode::ParseMode;
use crate::history::parse::{AlterOp, Position, TableOpt};

fn place(
    s: &mut TableSchema,
    col: ColumnSchema,
    pos: &Position,
    keep_at: usize,
    t: &TableName,
    ctx: &Ctx,
) -> Result<(), ModelError> {
    let at = match pos {
        Position::Keep => keep_at.min(s.columns.len()),
        Position::First => 0,
        Position::After(a) => match s.col_idx(a) {
            Some(i) => i + 1,
            None => return Err(ctx.unknown_column(t, a)),
        },
    };
    s.columns.insert(at, col);
    Ok(())
}

fn rename_in_keys(s: &mut TableSchema, from: &str, to: &str) {
    for k in &mut s.keys {
        for p in k.columns.iter_mut().flatten() {
            if same_name(p, from) {
                *p = to.to_string();
            }
        }
    }
}

pub(super) fn apply_alter_op(
    s: &mut TableSchema,
    op: &AlterOp,
    mode: ParseMode,
    t: &TableName,
    ctx: &Ctx,
) -> Result<(), ModelError> {
    match op {
        AlterOp::AddColumn {
            def,
            pos,
            if_not_exists,
        } => {
            if s.col_idx(&def.name).is_some() {
                if *if_not_exists {
                    return Ok(());
                }
                return Err(ctx.duplicate_column(t, &def.name));
            }
            let col = materialize(def, s.charset.as_deref(), s.collation.as_deref(), mode);
            let end = s.columns.len();
            place(s, col, pos, end, t, ctx)?;
            column_keys(s, def, t, ctx)?;
        }
        AlterOp::DropColumn { name, if_exists } => {
            let Some(i) = s.col_idx(name) else {
                if *if_exists {
                    return Ok(());
                }
                return Err(ctx.unknown_column(t, name));
            };
            s.columns.remove(i);
            for k in &mut s.keys {
                k.columns
                    .retain(|p| !p.as_deref().is_some_and(|p| same_name(p, name)));
            }
            s.keys.retain(|k| !k.columns.is_empty());
        }
        AlterOp::ChangeColumn {
            old,
            def,
            pos,
            if_exists,
        } => {
            let Some(i) = s.col_idx(old) else {
                if *if_exists {
                    return Ok(());
                }
                return Err(ctx.unknown_column(t, old));
            };
            if let Some(j) = s.col_idx(&def.name) {
                if j != i {
                    return Err(ctx.duplicate_column(t, &def.name));
                }
            }
            let col = materialize(def, s.charset.as_deref(), s.collation.as_deref(), mode);
            s.columns.remove(i);
            place(s, col, pos, i, t, ctx)?;
            rename_in_keys(s, old, &def.name);
            column_keys(s, def, t, ctx)?;
        }
        AlterOp::RenameColumn { from, to } => {
            let Some(i) = s.col_idx(from) else {
                return Err(ctx.unknown_column(t, from));
            };
            if let Some(j) = s.col_idx(to) {
                if j != i {
                    return Err(ctx.duplicate_column(t, to));
                }
            }
            s.columns[i].name = to.clone();
            rename_in_keys(s, from, to);
        }
        AlterOp::TouchColumn(c) => {
            if s.col_idx(c).is_none() {
                return Err(ctx.unknown_column(t, c));
            }
        }
        AlterOp::SetInvisible { column, invisible } => {
            let Some(i) = s.col_idx(column) else {
                return Err(ctx.unknown_column(t, column));
            };
            s.columns[i].invisible = *invisible;
        }
        AlterOp::AddKey(k) => add_key(s, k, t, ctx)?,
        AlterOp::AddForeignKey(name, cols) => {
            add_foreign_key_index(s, name.as_deref(), cols, t, ctx)?
        }
        AlterOp::DropPrimaryKey => s.keys.retain(|k| k.kind != KeyKind::Primary),
        AlterOp::DropIndex { name } => {
            if name.eq_ignore_ascii_case("PRIMARY") {
                s.keys.retain(|k| k.kind != KeyKind::Primary);
            } else if let Some(i) = s.key_idx(name) {
                s.keys.remove(i);
            }
        }
        AlterOp::DropConstraint(name) => {
            if name.eq_ignore_ascii_case("PRIMARY") {
                s.keys.retain(|k| k.kind != KeyKind::Primary);
            } else if let Some(i) = s.key_idx(name) {
                if s.keys[i].kind == KeyKind::Unique {
                    s.keys.remove(i);
                }
            }
        }
        AlterOp::RenameIndex { from, to } => {
            if let Some(i) = s.key_idx(from) {
                s.keys[i].name = to.clone();
            }
        }
        AlterOp::RenameTable(_) => {}
        AlterOp::TableOption(TableOpt::Charset(cs)) => {
            if cs != "default" {
                if s.charset.as_deref() != Some(cs.as_str()) {
                    s.collation = None;
                }
                s.charset = Some(cs.clone());
            }
        }
        AlterOp::TableOption(TableOpt::Collate(coll)) => {
            if coll != "default" {
                s.charset = Some(charset_of_collation(coll));
                s.collation = Some(coll.clone());
            }
        }
        AlterOp::TableOption(TableOpt::Other) => {}
        AlterOp::ConvertCharset { charset, collation } => {
            let (cs, coll) = if charset == "default" {
                (s.charset.clone(), s.collation.clone())
            } else {
                (Some(charset.clone()), collation.clone())
            };
            s.charset = cs.clone();
            s.collation = coll.clone();
            for c in &mut s.columns {
                if is_text_type(&c.data_type) && c.charset.as_deref() != Some("binary") {
                    c.charset = cs.clone();
                    c.collation = coll.clone();
                }
            }
        }
    }
    Ok(())
}
