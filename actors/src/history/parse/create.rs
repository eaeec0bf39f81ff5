//! `CREATE TABLE` and `CREATE INDEX` (other `CREATE` statements have no effect).

use sqlparser::tokenizer::Token;

use super::cursor::{tok_text, Cur};
use super::key::{is_key_start, key_def, key_parts, KeyElem};
use super::table_option::table_option;
use super::{fail, CreateBody, KeyDefn, KeyKind, Stmt, TableDef, TableOpt, R};

pub(super) fn create(c: &mut Cur) -> R<Stmt> {
    let or_replace = c.eat_seq(&["OR", "REPLACE"]);
    let temporary = c.eat("TEMPORARY");
    if c.eat("TABLE") {
        return create_table(c, temporary, or_replace);
    }
    let _ = c.eat("ONLINE") || c.eat("OFFLINE");
    let kind = if c.eat("UNIQUE") {
        Some(KeyKind::Unique)
    } else if c.eat("FULLTEXT") {
        Some(KeyKind::Fulltext)
    } else if c.eat("SPATIAL") {
        Some(KeyKind::Spatial)
    } else {
        None
    };
    if c.eat("INDEX") {
        let if_not_exists = c.eat_if_not_exists();
        let name = c.ident("an index name")?;
        if c.eat("USING") || c.eat("TYPE") {
            c.ident("an index type")?;
        }
        c.expect("ON")?;
        let table = c.obj_name("a table name")?;
        let columns = key_parts(c)?;
        return Ok(Stmt::CreateIndex {
            table,
            key: KeyDefn {
                name: Some(name),
                kind: kind.unwrap_or(KeyKind::Index),
                columns,
                if_not_exists,
            },
        });
    }
    if kind.is_some() {
        return fail(format!("expected INDEX, found {}", tok_text(c.peek())));
    }
    // Databases, views, triggers, routines, events, users, sequences, ...
    Ok(Stmt::NoEffect)
}

fn create_table(c: &mut Cur, temporary: bool, or_replace: bool) -> R<Stmt> {
    let if_not_exists = c.eat_if_not_exists();
    let name = c.obj_name("a table name")?;
    let body = if c.eat("LIKE") {
        CreateBody::Like(c.obj_name("a table name after LIKE")?)
    } else if matches!(c.peek(), Some(Token::LParen)) && c.is(1, "LIKE") {
        c.bump();
        c.bump();
        let like = c.obj_name("a table name after LIKE")?;
        c.expect_tok(&Token::RParen, "`)`")?;
        CreateBody::Like(like)
    } else {
        let mut def = TableDef::default();
        let mut select = false;
        if matches!(c.peek(), Some(Token::LParen)) && !c.is(1, "SELECT") && !c.is(1, "WITH") {
            c.bump();
            loop {
                if is_key_start(c) {
                    match key_def(c)? {
                        KeyElem::Key(k) => def.keys.push(k),
                        KeyElem::ForeignKey(n, cols) => def.foreign_keys.push((n, cols)),
                        KeyElem::Ignored => {}
                    }
                } else {
                    def.columns.push(c.column_def()?);
                }
                if c.eat_tok(&Token::Comma) {
                    continue;
                }
                c.expect_tok(&Token::RParen, "`,` or `)` in the table definition")?;
                break;
            }
        }
        // Table options, partitions, `[IGNORE|REPLACE] [AS] SELECT`.
        while !c.at_end() {
            if c.eat_tok(&Token::Comma) {
                continue;
            }
            if let Some(opt) = table_option(c)? {
                match opt {
                    TableOpt::Charset(s) => def.charset = Some(s),
                    TableOpt::Collate(s) => def.collation = Some(s),
                    TableOpt::Other => {}
                }
                continue;
            }
            if c.is(0, "PARTITION") {
                // Partitioning does not change columns or keys.
                while !c.at_end() && !c.is(0, "SELECT") && !c.is(0, "AS") {
                    if matches!(c.peek(), Some(Token::LParen)) {
                        c.skip_group()?;
                    } else {
                        c.bump();
                    }
                }
                continue;
            }
            if matches!(
                c.word_n(0).as_deref(),
                Some("IGNORE" | "REPLACE" | "AS" | "SELECT" | "WITH" | "VALUES" | "TABLE")
            ) || matches!(c.peek(), Some(Token::LParen))
            {
                select = true;
                break;
            }
            return fail(format!(
                "unexpected {} after the table definition",
                tok_text(c.peek())
            ));
        }
        if select {
            CreateBody::Select
        } else {
            if def.columns.is_empty() {
                return fail("a table needs at least one column");
            }
            CreateBody::Def(def)
        }
    };
    Ok(Stmt::CreateTable {
        name,
        temporary,
        or_replace,
        if_not_exists,
        body,
    })
}
