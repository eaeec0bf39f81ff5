//! Index and constraint elements of `CREATE TABLE` and `ALTER TABLE ... ADD`.

use sqlparser::tokenizer::Token;

use super::cursor::{tok_text, Cur};
use super::{fail, KeyDefn, KeyKind, R};

pub(super) fn is_key_start(c: &Cur) -> bool {
    matches!(
        c.word_n(0).as_deref(),
        Some(
            "PRIMARY"
                | "UNIQUE"
                | "KEY"
                | "INDEX"
                | "FULLTEXT"
                | "SPATIAL"
                | "CONSTRAINT"
                | "FOREIGN"
                | "CHECK"
        )
    ) || (c.is(0, "PERIOD") && c.is(1, "FOR"))
}

pub(super) enum KeyElem {
    Key(KeyDefn),
    ForeignKey(Option<String>, Vec<String>),
    Ignored,
}

/// `[CONSTRAINT [name]] PRIMARY KEY|UNIQUE|KEY|INDEX|FULLTEXT|SPATIAL|FOREIGN KEY|CHECK ...`,
/// up to the end of the element.
pub(super) fn key_def(c: &mut Cur) -> R<KeyElem> {
    let mut constraint = None;
    if c.eat("CONSTRAINT")
        && !matches!(
            c.word_n(0).as_deref(),
            Some("PRIMARY" | "UNIQUE" | "FOREIGN" | "CHECK")
        )
    {
        constraint = Some(c.ident("a constraint name")?);
    }
    if c.is(0, "PERIOD") || c.eat("CHECK") {
        c.skip_item()?;
        return Ok(KeyElem::Ignored);
    }
    if c.eat("FOREIGN") {
        c.expect("KEY")?;
        c.eat_if_not_exists();
        let mut name = constraint;
        if !matches!(c.peek(), Some(Token::LParen)) {
            name = Some(c.ident("a foreign key name")?);
        }
        c.expect_tok(&Token::LParen, "`(`")?;
        let mut cols = Vec::new();
        loop {
            cols.push(c.ident("a column name")?);
            if !c.eat_tok(&Token::Comma) {
                break;
            }
        }
        c.expect_tok(&Token::RParen, "`)`")?;
        c.skip_item()?;
        return Ok(KeyElem::ForeignKey(name, cols));
    }
    let kind = if c.eat_seq(&["PRIMARY", "KEY"]) {
        KeyKind::Primary
    } else if c.eat("UNIQUE") {
        let _ = c.eat("KEY") || c.eat("INDEX");
        KeyKind::Unique
    } else if c.eat("FULLTEXT") {
        let _ = c.eat("KEY") || c.eat("INDEX");
        KeyKind::Fulltext
    } else if c.eat("SPATIAL") {
        let _ = c.eat("KEY") || c.eat("INDEX");
        KeyKind::Spatial
    } else if c.eat("KEY") || c.eat("INDEX") {
        KeyKind::Index
    } else {
        return fail(format!(
            "expected a key definition, found {}",
            tok_text(c.peek())
        ));
    };
    let if_not_exists = c.eat_if_not_exists();
    let mut name = if kind == KeyKind::Primary {
        None
    } else {
        constraint
    };
    if !matches!(c.peek(), Some(Token::LParen)) && !c.is(0, "USING") && !c.is(0, "TYPE") {
        let n = c.ident("an index name")?;
        if kind != KeyKind::Primary {
            name = Some(n);
        }
    }
    if c.eat("USING") || c.eat("TYPE") {
        c.ident("an index type")?;
    }
    let columns = key_parts(c)?;
    c.skip_item()?;
    Ok(KeyElem::Key(KeyDefn {
        name,
        kind,
        columns,
        if_not_exists,
    }))
}

/// `(part, ...)`: `col [(len)] [ASC|DESC]` or `(expr) [ASC|DESC]` (expression: `None`).
pub(super) fn key_parts(c: &mut Cur) -> R<Vec<Option<String>>> {
    c.expect_tok(&Token::LParen, "`(` before the key parts")?;
    let mut parts = Vec::new();
    loop {
        if matches!(c.peek(), Some(Token::LParen)) {
            c.skip_group()?;
            parts.push(None);
        } else {
            parts.push(Some(c.ident("a key part")?));
            if matches!(c.peek(), Some(Token::LParen)) {
                c.skip_group()?;
            }
        }
        let _ = c.eat("ASC") || c.eat("DESC");
        if !c.eat_tok(&Token::Comma) {
            break;
        }
    }
    c.expect_tok(&Token::RParen, "`)` after the key parts")?;
    Ok(parts)
}
