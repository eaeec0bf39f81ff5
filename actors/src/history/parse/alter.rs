//! `ALTER TABLE` and its clauses.

use sqlparser::tokenizer::Token;

use super::cursor::{tok_text, Cur};
use super::key::{is_key_start, key_def, KeyElem};
use super::table_option::table_option;
use super::{fail, unsupported, AlterOp, Position, Stmt, R};

pub(super) fn alter(c: &mut Cur) -> R<Stmt> {
    let _ = c.eat("ONLINE") || c.eat("OFFLINE");
    c.eat("IGNORE");
    if !c.eat("TABLE") {
        // Databases, views, events, routines, users, tablespaces, ...
        return Ok(Stmt::NoEffect);
    }
    let if_exists = c.eat_if_exists();
    let name = c.obj_name("a table name")?;
    let mut ops = Vec::new();
    while !c.at_end() {
        if c.eat_tok(&Token::Comma) {
            continue;
        }
        let Some(w) = c.word_n(0) else {
            return fail(format!("unexpected {} in ALTER TABLE", tok_text(c.peek())));
        };
        match w.as_str() {
            "ADD" => {
                c.bump();
                alter_add(c, &mut ops)?;
            }
            "DROP" => {
                c.bump();
                alter_drop(c, &mut ops)?;
            }
            "MODIFY" | "CHANGE" => {
                c.bump();
                c.eat("COLUMN");
                let if_exists = c.eat_if_exists();
                let old = if w == "CHANGE" {
                    Some(c.ident("a column name")?)
                } else {
                    None
                };
                let def = c.column_def()?;
                let pos = c.position()?;
                ops.push(AlterOp::ChangeColumn {
                    old: old.unwrap_or_else(|| def.name.clone()),
                    def,
                    pos,
                    if_exists,
                });
            }
            "RENAME" => {
                c.bump();
                if c.eat("COLUMN") {
                    let from = c.ident("a column name")?;
                    c.expect("TO")?;
                    let to = c.ident("a column name")?;
                    ops.push(AlterOp::RenameColumn { from, to });
                } else if c.eat("INDEX") || c.eat("KEY") {
                    let from = c.ident("an index name")?;
                    c.expect("TO")?;
                    let to = c.ident("an index name")?;
                    ops.push(AlterOp::RenameIndex { from, to });
                } else {
                    let _ = c.eat("TO") || c.eat("AS") || c.eat_tok(&Token::Eq);
                    ops.push(AlterOp::RenameTable(c.obj_name("a table name")?));
                }
            }
            "ALTER" => {
                c.bump();
                if c.eat("INDEX") || c.eat("KEY") || c.eat("CHECK") || c.eat("CONSTRAINT") {
                    c.skip_item()?;
                    continue;
                }
                c.eat("COLUMN");
                let column = c.ident("a column name")?;
                if c.eat_seq(&["SET", "VISIBLE"]) {
                    ops.push(AlterOp::SetInvisible {
                        column,
                        invisible: false,
                    });
                } else if c.eat_seq(&["SET", "INVISIBLE"]) {
                    ops.push(AlterOp::SetInvisible {
                        column,
                        invisible: true,
                    });
                } else if c.eat_seq(&["SET", "DEFAULT"]) || c.eat_seq(&["DROP", "DEFAULT"]) {
                    c.skip_item()?;
                    ops.push(AlterOp::TouchColumn(column));
                } else {
                    return unsupported(format!(
                        "ALTER COLUMN `{column}` {} is not a MySQL clause",
                        tok_text(c.peek())
                    ));
                }
            }
            "CONVERT" => {
                c.bump();
                c.expect("TO")?;
                if !(c.eat("CHARSET") || c.eat_seq(&["CHARACTER", "SET"])) {
                    return fail(format!(
                        "expected CHARACTER SET after CONVERT TO, found {}",
                        tok_text(c.peek())
                    ));
                }
                c.eat_tok(&Token::Eq);
                let charset = c.ident("a character set name")?.to_lowercase();
                let collation = if c.eat("COLLATE") {
                    c.eat_tok(&Token::Eq);
                    Some(c.ident("a collation name")?.to_lowercase())
                } else {
                    None
                };
                ops.push(AlterOp::ConvertCharset { charset, collation });
            }
            "ALGORITHM" | "LOCK" => {
                c.bump();
                c.eat_tok(&Token::Eq);
                c.bump();
            }
            "WAIT" => {
                c.bump();
                c.bump();
            }
            "FORCE" | "NOWAIT" => {
                c.bump();
            }
            "WITH" | "WITHOUT" if c.is(1, "VALIDATION") => {
                c.bump();
                c.bump();
            }
            "ENABLE" | "DISABLE" | "ORDER" | "DISCARD" | "IMPORT" => {
                c.bump();
                c.skip_item()?;
            }
            // Partition maintenance: no change of columns or keys; always last.
            "PARTITION" | "REMOVE" | "COALESCE" | "REORGANIZE" | "EXCHANGE" | "ANALYZE"
            | "CHECK" | "OPTIMIZE" | "REBUILD" | "REPAIR" | "TRUNCATE" | "UPGRADE"
            | "SECONDARY_LOAD" | "SECONDARY_UNLOAD" | "PARTITIONS" | "ATTACH" | "DETACH" => {
                c.i = c.t.len();
            }
            _ => match table_option(c)? {
                Some(opt) => ops.push(AlterOp::TableOption(opt)),
                None => {
                    return unsupported(format!(
                        "unknown ALTER TABLE clause {}",
                        tok_text(c.peek())
                    ))
                }
            },
        }
    }
    Ok(Stmt::AlterTable {
        name,
        if_exists,
        ops,
    })
}

fn alter_add(c: &mut Cur, ops: &mut Vec<AlterOp>) -> R<()> {
    if c.is(0, "PARTITION") {
        c.i = c.t.len();
        return Ok(());
    }
    if c.eat_seq(&["SYSTEM", "VERSIONING"]) || (c.is(0, "PERIOD") && c.is(1, "FOR")) {
        c.skip_item()?;
        return Ok(());
    }
    let column_kw = c.eat("COLUMN");
    if !column_kw && is_key_start(c) {
        match key_def(c)? {
            KeyElem::Key(k) => ops.push(AlterOp::AddKey(k)),
            KeyElem::ForeignKey(n, cols) => ops.push(AlterOp::AddForeignKey(n, cols)),
            KeyElem::Ignored => {}
        }
        return Ok(());
    }
    let if_not_exists = c.eat_if_not_exists();
    if c.eat_tok(&Token::LParen) {
        loop {
            if is_key_start(c) {
                match key_def(c)? {
                    KeyElem::Key(k) => ops.push(AlterOp::AddKey(k)),
                    KeyElem::ForeignKey(n, cols) => ops.push(AlterOp::AddForeignKey(n, cols)),
                    KeyElem::Ignored => {}
                }
            } else {
                let def = c.column_def()?;
                ops.push(AlterOp::AddColumn {
                    def,
                    pos: Position::Keep,
                    if_not_exists,
                });
            }
            if !c.eat_tok(&Token::Comma) {
                break;
            }
        }
        c.expect_tok(&Token::RParen, "`)` after the added columns")?;
        return Ok(());
    }
    let def = c.column_def()?;
    let pos = c.position()?;
    ops.push(AlterOp::AddColumn {
        def,
        pos,
        if_not_exists,
    });
    Ok(())
}

fn alter_drop(c: &mut Cur, ops: &mut Vec<AlterOp>) -> R<()> {
    if c.eat_seq(&["PRIMARY", "KEY"]) {
        ops.push(AlterOp::DropPrimaryKey);
    } else if c.eat("INDEX") || c.eat("KEY") {
        c.eat_if_exists();
        let name = c.ident("an index name")?;
        ops.push(AlterOp::DropIndex { name });
    } else if c.eat_seq(&["FOREIGN", "KEY"]) {
        c.eat_if_exists();
        c.ident("a foreign key name")?;
    } else if c.eat("CHECK") {
        c.eat_if_exists();
        c.ident("a constraint name")?;
    } else if c.eat("CONSTRAINT") {
        c.eat_if_exists();
        ops.push(AlterOp::DropConstraint(c.ident("a constraint name")?));
    } else if c.is(0, "PARTITION") {
        c.i = c.t.len();
    } else if c.eat_seq(&["SYSTEM", "VERSIONING"]) || c.eat("PERIOD") {
        c.skip_item()?;
    } else {
        c.eat("COLUMN");
        let if_exists = c.eat_if_exists();
        let name = c.ident("a column name")?;
        let _ = c.eat("RESTRICT") || c.eat("CASCADE");
        ops.push(AlterOp::DropColumn { name, if_exists });
    }
    Ok(())
}
