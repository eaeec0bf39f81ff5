//! A small MySQL tokenizer: just enough to find keywords and names in a DDL statement.
//!
//! Words, backquoted identifiers (with doubled `` ` `` escapes), quoted strings (with `\`
//! escapes unless `NO_BACKSLASH_ESCAPES`, and doubled quotes) and single punctuation
//! characters. Comments (`/* */`, `-- `, `#`) are skipped; the content of MySQL and MariaDB
//! executable comments (`/*! ... */`, `/*!40101 ... */`, `/*M!100100 ... */`) is read as code.
//! Every token keeps its byte span in the statement, so that a name can be replaced in place.

use std::ops::Range;

use super::SqlMode;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// An unquoted word: keyword, identifier or number.
    Word,
    /// A quoted identifier (`` `x` ``, or `"x"` under `ANSI_QUOTES`).
    Quoted,
    /// A string literal.
    Str,
    /// One ASCII punctuation character.
    Punct(u8),
}

/// One token of a statement.
#[derive(Debug, Clone)]
pub(super) struct Token {
    /// What it is.
    pub kind: Kind,
    /// Its bytes in the statement.
    pub span: Range<usize>,
    /// The identifier it names (words as written, quoted identifiers unescaped); empty for
    /// strings and punctuation.
    pub ident: String,
}

impl Token {
    /// True for the unquoted word `kw` (ASCII case-insensitive).
    pub fn is_kw(&self, kw: &str) -> bool {
        self.kind == Kind::Word && self.ident.eq_ignore_ascii_case(kw)
    }

    /// True for an identifier (unquoted word or quoted identifier).
    pub fn is_ident(&self) -> bool {
        matches!(self.kind, Kind::Word | Kind::Quoted)
    }
}

/// Why a statement could not be tokenized.
pub(super) type LexError = &'static str;

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// Splits `sql` into tokens.
pub(super) fn tokenize(sql: &str, mode: SqlMode) -> Result<Vec<Token>, LexError> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut in_exec_comment = false;
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let next = b.get(i + 1).copied();
        if c <= b' ' || c == 0x7f {
            i += 1;
        } else if c == b'#'
            || (c == b'-' && next == Some(b'-') && b.get(i + 2).is_none_or(|&d| d <= b' '))
        {
            i = sql[i..].find('\n').map_or(b.len(), |p| i + p + 1);
        } else if c == b'/' && next == Some(b'*') {
            let bang = match (b.get(i + 2), b.get(i + 3)) {
                (Some(b'!'), _) => Some(3),
                (Some(b'M'), Some(b'!')) => Some(4),
                _ => None,
            };
            match bang {
                Some(skip) if !in_exec_comment => {
                    i += skip;
                    while b.get(i).is_some_and(u8::is_ascii_digit) {
                        i += 1;
                    }
                    in_exec_comment = true;
                }
                _ => {
                    let end = sql[i + 2..].find("*/").ok_or("unterminated comment")?;
                    i += 2 + end + 2;
                }
            }
        } else if c == b'*' && next == Some(b'/') && in_exec_comment {
            in_exec_comment = false;
            i += 2;
        } else if c == b'`' || (c == b'"' && mode.ansi_quotes) {
            let end = quoted_end(b, i, false)?;
            let q = c as char;
            let inner = &sql[i + 1..end - 1];
            out.push(Token {
                kind: Kind::Quoted,
                span: i..end,
                ident: inner.replace(&format!("{q}{q}"), &q.to_string()),
            });
            i = end;
        } else if c == b'\'' || c == b'"' {
            let end = quoted_end(b, i, !mode.no_backslash_escapes)?;
            out.push(Token {
                kind: Kind::Str,
                span: i..end,
                ident: String::new(),
            });
            i = end;
        } else if is_word_byte(c) {
            let start = i;
            while b.get(i).copied().is_some_and(is_word_byte) {
                i += 1;
            }
            out.push(Token {
                kind: Kind::Word,
                span: start..i,
                ident: sql[start..i].to_string(),
            });
        } else {
            out.push(Token {
                kind: Kind::Punct(c),
                span: i..i + 1,
                ident: String::new(),
            });
            i += 1;
        }
    }
    if in_exec_comment {
        return Err("unterminated comment");
    }
    Ok(out)
}

/// The end (exclusive) of the quoted token that starts at `start`.
fn quoted_end(b: &[u8], start: usize, backslash: bool) -> Result<usize, LexError> {
    let q = b[start];
    let mut i = start + 1;
    loop {
        match b.get(i) {
            None => {
                return Err(if q == b'`' {
                    "unterminated quoted identifier"
                } else {
                    "unterminated string"
                })
            }
            Some(&c) if c == q => {
                if b.get(i + 1) == Some(&q) {
                    i += 2;
                } else {
                    return Ok(i + 1);
                }
            }
            Some(b'\\') if backslash => i += 2,
            Some(_) => i += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(sql: &str) -> Vec<String> {
        tokenize(sql, SqlMode::default())
            .unwrap()
            .iter()
            .map(|t| match t.kind {
                Kind::Word => format!("w:{}", t.ident),
                Kind::Quoted => format!("q:{}", t.ident),
                Kind::Str => format!("s:{}", &sql[t.span.clone()]),
                Kind::Punct(c) => format!("p:{}", c as char),
            })
            .collect()
    }

    #[test]
    fn tokens_and_comments() {
        assert_eq!(
            kinds("DROP /*!40005 TEMPORARY */ TABLE `a``b`.c -- x\n# y\n/* z */;"),
            [
                "w:DROP",
                "w:TEMPORARY",
                "w:TABLE",
                "q:a`b",
                "p:.",
                "w:c",
                "p:;"
            ]
        );
        assert_eq!(
            kinds("a/*M!100100 b*/c 'x\\'y''z' \"d\"--e"),
            [
                "w:a",
                "w:b",
                "w:c",
                "s:'x\\'y''z'",
                "s:\"d\"",
                "p:-",
                "p:-",
                "w:e"
            ]
        );
        assert_eq!(kinds("/*+ hint */ x/*T! y */"), ["w:x"]);
        assert_eq!(kinds("näme"), ["w:näme"]);
        assert_eq!(kinds("--"), Vec::<String>::new());
        assert_eq!(kinds("a */ b"), ["w:a", "p:*", "p:/", "w:b"]);
    }

    #[test]
    fn sql_modes() {
        let ansi = SqlMode {
            ansi_quotes: true,
            no_backslash_escapes: true,
        };
        let t = tokenize(r#""a""b" 'c\'"#, ansi).unwrap();
        assert_eq!((t[0].kind, t[0].ident.as_str()), (Kind::Quoted, "a\"b"));
        assert_eq!(t[1].kind, Kind::Str);
        assert!(tokenize(r"'c\'", SqlMode::default()).is_err());
    }

    #[test]
    fn unterminated() {
        for sql in ["'abc", "`abc", "a /* b", "/*!40101 a", "\"x\\\"", "`a``"] {
            assert!(tokenize(sql, SqlMode::default()).is_err(), "{sql}");
        }
    }
}
