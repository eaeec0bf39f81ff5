//! The cursor over a statement's tokens that the statement readers share.

use sqlparser::tokenizer::Token;

use super::column::parse_column_def;
use super::{fail, ColumnDefn, ObjName, Position, R};
use crate::history::dialect::FerryDialect;

/// A position `i` in a statement's tokens `t`, read under the dialect `d`.
pub(super) struct Cur<'a> {
    pub(super) t: &'a [Token],
    pub(super) i: usize,
    pub(super) d: &'a FerryDialect,
}

pub(super) fn tok_text(t: Option<&Token>) -> String {
    match t {
        None => "end of statement".to_string(),
        Some(t) => format!("`{t}`"),
    }
}

impl<'a> Cur<'a> {
    pub(super) fn peek(&self) -> Option<&'a Token> {
        self.t.get(self.i)
    }

    pub(super) fn peek_n(&self, n: usize) -> Option<&'a Token> {
        self.t.get(self.i + n)
    }

    pub(super) fn at_end(&self) -> bool {
        self.i >= self.t.len()
    }

    pub(super) fn bump(&mut self) -> Option<&'a Token> {
        let t = self.t.get(self.i);
        if t.is_some() {
            self.i += 1;
        }
        t
    }

    /// The unquoted word at offset `n`, upper-cased.
    pub(super) fn word_n(&self, n: usize) -> Option<String> {
        match self.peek_n(n) {
            Some(Token::Word(w)) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
            _ => None,
        }
    }

    pub(super) fn is(&self, n: usize, w: &str) -> bool {
        matches!(self.peek_n(n), Some(Token::Word(x)) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w))
    }

    pub(super) fn eat(&mut self, w: &str) -> bool {
        if self.is(0, w) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    pub(super) fn eat_seq(&mut self, ws: &[&str]) -> bool {
        if ws.iter().enumerate().all(|(n, w)| self.is(n, w)) {
            self.i += ws.len();
            true
        } else {
            false
        }
    }

    pub(super) fn eat_tok(&mut self, t: &Token) -> bool {
        if self.peek() == Some(t) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    pub(super) fn expect_tok(&mut self, t: &Token, what: &str) -> R<()> {
        if self.eat_tok(t) {
            Ok(())
        } else {
            fail(format!("expected {what}, found {}", tok_text(self.peek())))
        }
    }

    pub(super) fn expect(&mut self, w: &str) -> R<()> {
        if self.eat(w) {
            Ok(())
        } else {
            fail(format!("expected {w}, found {}", tok_text(self.peek())))
        }
    }

    pub(super) fn ident(&mut self, what: &str) -> R<String> {
        match self.peek() {
            Some(Token::Word(w)) => {
                self.i += 1;
                Ok(w.value.clone())
            }
            t => fail(format!("expected {what}, found {}", tok_text(t))),
        }
    }

    pub(super) fn obj_name(&mut self, what: &str) -> R<ObjName> {
        let first = self.ident(what)?;
        if self.eat_tok(&Token::Period) {
            let name = self.ident(what)?;
            Ok(ObjName {
                schema: Some(first),
                name,
            })
        } else {
            Ok(ObjName {
                schema: None,
                name: first,
            })
        }
    }

    pub(super) fn eat_if_exists(&mut self) -> bool {
        self.eat_seq(&["IF", "EXISTS"])
    }

    pub(super) fn eat_if_not_exists(&mut self) -> bool {
        self.eat_seq(&["IF", "NOT", "EXISTS"])
    }

    /// At `(`: consumes through the matching `)`.
    pub(super) fn skip_group(&mut self) -> R<()> {
        let mut depth = 0usize;
        while let Some(t) = self.bump() {
            match t {
                Token::LParen => depth += 1,
                Token::RParen => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                _ => {}
            }
            if depth == 0 {
                return Ok(());
            }
        }
        fail("unbalanced parentheses")
    }

    /// Consumes up to (not including) the next `,` or unmatched `)` at this level, or the end.
    pub(super) fn skip_item(&mut self) -> R<()> {
        while let Some(t) = self.peek() {
            match t {
                Token::Comma | Token::RParen => return Ok(()),
                Token::LParen => self.skip_group()?,
                _ => self.i += 1,
            }
        }
        Ok(())
    }

    /// The end (exclusive) of a column definition starting here: the next `,`, unmatched
    /// `)`, `FIRST` or `AFTER` at this level, or the end.
    fn column_def_end(&self) -> usize {
        let mut depth = 0usize;
        let mut j = self.i;
        while let Some(t) = self.t.get(j) {
            match t {
                Token::LParen => depth += 1,
                Token::RParen if depth == 0 => break,
                Token::RParen => depth -= 1,
                Token::Comma if depth == 0 => break,
                Token::Word(w)
                    if depth == 0
                        && j > self.i + 1
                        && w.quote_style.is_none()
                        && (w.value.eq_ignore_ascii_case("FIRST")
                            || w.value.eq_ignore_ascii_case("AFTER")) =>
                {
                    break
                }
                _ => {}
            }
            j += 1;
        }
        j
    }

    pub(super) fn column_def(&mut self) -> R<ColumnDefn> {
        let end = self.column_def_end();
        let def = parse_column_def(&self.t[self.i..end], self.d)?;
        self.i = end;
        Ok(def)
    }

    pub(super) fn position(&mut self) -> R<Position> {
        if self.eat("FIRST") {
            Ok(Position::First)
        } else if self.eat("AFTER") {
            Ok(Position::After(self.ident("a column name after AFTER")?))
        } else {
            Ok(Position::Keep)
        }
    }
}
