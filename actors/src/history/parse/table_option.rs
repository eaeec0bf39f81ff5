//! Table options (`ENGINE=`, `DEFAULT CHARSET=`, `COLLATE=`, ...): the model keeps the
//! charset and collation, and skips the others.

use sqlparser::tokenizer::Token;

use super::cursor::Cur;
use super::{fail, TableOpt, R};

const TABLE_OPTIONS: &[&str] = &[
    "ENGINE",
    "TYPE",
    "AUTO_INCREMENT",
    "AVG_ROW_LENGTH",
    "CHECKSUM",
    "TABLE_CHECKSUM",
    "COMMENT",
    "COMPRESSION",
    "CONNECTION",
    "DELAY_KEY_WRITE",
    "ENCRYPTION",
    "ENGINE_ATTRIBUTE",
    "INSERT_METHOD",
    "KEY_BLOCK_SIZE",
    "MAX_ROWS",
    "MIN_ROWS",
    "PACK_KEYS",
    "PASSWORD",
    "ROW_FORMAT",
    "SECONDARY_ENGINE",
    "SECONDARY_ENGINE_ATTRIBUTE",
    "STATS_AUTO_RECALC",
    "STATS_PERSISTENT",
    "STATS_SAMPLE_PAGES",
    "AUTOEXTEND_SIZE",
    "PAGE_CHECKSUM",
    "PAGE_COMPRESSED",
    "PAGE_COMPRESSION_LEVEL",
    "TRANSACTIONAL",
    "ENCRYPTED",
    "ENCRYPTION_KEY_ID",
    "SEQUENCE",
    "IETF_QUOTES",
];

/// One table option, if one starts here.
pub(super) fn table_option(c: &mut Cur) -> R<Option<TableOpt>> {
    let start = c.i;
    let dflt = c.eat("DEFAULT");
    if c.eat("CHARSET") || c.eat_seq(&["CHARACTER", "SET"]) || c.eat_seq(&["CHAR", "SET"]) {
        c.eat_tok(&Token::Eq);
        let v = c.ident("a character set name")?;
        return Ok(Some(TableOpt::Charset(v.to_lowercase())));
    }
    if c.eat("COLLATE") {
        c.eat_tok(&Token::Eq);
        let v = c.ident("a collation name")?;
        return Ok(Some(TableOpt::Collate(v.to_lowercase())));
    }
    if dflt {
        c.i = start;
        return Ok(None);
    }
    if c.eat_seq(&["START", "TRANSACTION"])
        || c.eat_seq(&["WITH", "SYSTEM", "VERSIONING"])
        || c.eat_seq(&["STORAGE", "DISK"])
        || c.eat_seq(&["STORAGE", "MEMORY"])
    {
        return Ok(Some(TableOpt::Other));
    }
    if c.eat_seq(&["DATA", "DIRECTORY"]) || c.eat_seq(&["INDEX", "DIRECTORY"]) {
        c.eat_tok(&Token::Eq);
        c.bump();
        return Ok(Some(TableOpt::Other));
    }
    if c.eat("TABLESPACE") {
        c.eat_tok(&Token::Eq);
        c.bump();
        if c.eat("STORAGE") {
            c.bump();
        }
        return Ok(Some(TableOpt::Other));
    }
    if c.eat("UNION") {
        c.eat_tok(&Token::Eq);
        if matches!(c.peek(), Some(Token::LParen)) {
            c.skip_group()?;
        }
        return Ok(Some(TableOpt::Other));
    }
    let known = c
        .word_n(0)
        .is_some_and(|w| TABLE_OPTIONS.contains(&w.as_str()));
    let generic = matches!(c.peek(), Some(Token::Word(_))) && c.peek_n(1) == Some(&Token::Eq);
    if known || generic {
        c.bump();
        c.eat_tok(&Token::Eq);
        match c.peek() {
            Some(Token::LParen) => c.skip_group()?,
            Some(_) => {
                c.bump();
            }
            None => return fail("expected a table option value"),
        }
        return Ok(Some(TableOpt::Other));
    }
    Ok(None)
}
