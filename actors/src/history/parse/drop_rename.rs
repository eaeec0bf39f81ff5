//! `DROP TABLE`, `DROP INDEX`, `DROP DATABASE` and `RENAME TABLE`.

use sqlparser::tokenizer::Token;

use super::cursor::Cur;
use super::{Stmt, R};

pub(super) fn drop(c: &mut Cur) -> R<Stmt> {
    let temporary = c.eat("TEMPORARY");
    if c.eat("TABLE") || c.eat("TABLES") {
        if temporary {
            return Ok(Stmt::NoEffect);
        }
        c.eat_if_exists();
        let mut names = Vec::new();
        loop {
            names.push(c.obj_name("a table name")?);
            if !c.eat_tok(&Token::Comma) {
                break;
            }
        }
        return Ok(Stmt::DropTables { names });
    }
    if temporary {
        return Ok(Stmt::NoEffect);
    }
    if c.eat("INDEX") {
        let _ = c.eat("ONLINE") || c.eat("OFFLINE");
        c.eat_if_exists();
        let name = c.ident("an index name")?;
        c.expect("ON")?;
        let table = c.obj_name("a table name")?;
        return Ok(Stmt::DropIndex { table, name });
    }
    if c.eat("DATABASE") || c.eat("SCHEMA") {
        c.eat_if_exists();
        return Ok(Stmt::DropDatabase(c.ident("a database name")?));
    }
    Ok(Stmt::NoEffect)
}

pub(super) fn rename_tables(c: &mut Cur) -> R<Stmt> {
    c.eat_if_exists();
    let mut pairs = Vec::new();
    loop {
        let from = c.obj_name("a table name")?;
        if c.eat("WAIT") {
            c.bump();
        }
        c.eat("NOWAIT");
        c.expect("TO")?;
        let to = c.obj_name("a table name after TO")?;
        pairs.push((from, to));
        if !c.eat_tok(&Token::Comma) {
            break;
        }
    }
    Ok(Stmt::RenameTables(pairs))
}
