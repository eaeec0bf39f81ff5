//! The tokens of a DDL statement: sqlparser's tokenizer with the schema history's
//! [`FerryDialect`] (MySQL's, under the statement's `ANSI_QUOTES` and `NO_BACKSLASH_ESCAPES`),
//! each token with its byte span in the statement, so that a name can be replaced in place.
//!
//! - **Spans.** sqlparser places a token by line and column (from 1, columns counted in
//!   characters, lines ended by `\n`); [`Offsets`] turns that into byte offsets.
//! - **Comments** are dropped, except executable comments, whose content is code: MySQL's
//!   `/*! ... */` and `/*!NNNNN ... */`, and MariaDB's `/*M!NNNNNN ... */`. sqlparser expands
//!   MySQL's itself, but places their tokens as if the content began where the comment
//!   begins (sqlparser 0.64, `Tokenizer::tokenize_comment_hints`), and keeps MariaDB's as a
//!   comment; so both are found here and their content tokenized on its own, its spans
//!   pointing into the statement.
//! - **Kinds.** Keywords, identifiers and numbers are [`Kind::Word`]; quoted identifiers
//!   [`Kind::Quoted`] with their unescaped name; every form of string literal (`'x'`, `"x"`
//!   without `ANSI_QUOTES`, `N'x'`, `X'0a'`, `B'01'`) [`Kind::Str`]; `@x`, `@@x` and the
//!   unquoted host of an account [`Kind::Var`]; a one-character symbol [`Kind::Punct`] and a
//!   longer operator (`<=`, `<>`, `:=`, `->>`, ...) [`Kind::Op`]. As in MySQL, `@` does not
//!   belong to a word (sqlparser's MySQL dialect reads `root@localhost` as one word), `0x1F`
//!   is a number but `0x1f_t` a name (sqlparser reads `0x1f` and `_t`), and `--` at the very
//!   end of a statement is a comment (sqlparser wants a blank after it).
//!
//! Names, numbers and one-character symbols are checked against the text at their span
//! (strings by their closing quote): a token that is not where the tokenizer placed it is an
//! error, never a misplaced edit.

use std::ops::Range;

use sqlparser::tokenizer::{Location, Token as SqlToken, Tokenizer, TokenizerError};

use super::SqlMode;
use crate::history::dialect::FerryDialect;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// An unquoted word: keyword, identifier or number.
    Word,
    /// A quoted identifier (`` `x` ``, or `"x"` under `ANSI_QUOTES`).
    Quoted,
    /// A string literal.
    Str,
    /// A user or system variable (`@x`, `@@x`), or the host of an account written without
    /// quotes (`root@localhost`).
    Var,
    /// One ASCII punctuation character.
    Punct(u8),
    /// An operator of several characters.
    Op,
}

/// One token of a statement.
#[derive(Debug, Clone)]
pub(super) struct Token {
    /// What it is.
    pub kind: Kind,
    /// Its bytes in the statement.
    pub span: Range<usize>,
    /// The identifier it names (words as written, quoted identifiers unescaped); empty for
    /// the other kinds.
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
pub(super) type LexError = String;

/// Splits `sql` into tokens, read under `mode`.
pub(super) fn tokenize(sql: &str, mode: SqlMode) -> Result<Vec<Token>, LexError> {
    let dialect = FerryDialect {
        ansi_quotes: mode.ansi_quotes,
        no_backslash_escapes: mode.no_backslash_escapes,
    };
    let mut out = Vec::new();
    lex(sql, 0..sql.len(), &dialect, &mut out)?;
    // MySQL reads `--` at the end of the statement as a comment (the end counts as the blank
    // that must follow it); sqlparser reads two minus signs.
    if let [.., a, b] = out.as_slice() {
        let minus = |t: &Token| t.kind == Kind::Punct(b'-');
        if minus(a) && minus(b) && a.span.end == b.span.start && b.span.end == sql.len() {
            out.truncate(out.len() - 2);
        }
    }
    Ok(out)
}

/// Appends the tokens of `sql[range]` to `out`.
fn lex(
    sql: &str,
    range: Range<usize>,
    dialect: &FerryDialect,
    out: &mut Vec<Token>,
) -> Result<(), LexError> {
    let base = range.start;
    let text = &sql[range];
    let raw = Tokenizer::new(dialect, text)
        .tokenize_with_location()
        .map_err(|e| tokenizer_error(sql, base, text, &e))?;
    let mut at = Offsets::new(text);
    // The tokens sqlparser made of an executable comment's content start before this.
    let mut skip_to = 0;
    // The end of the last `0x...` number.
    let mut hex_end = None;
    for t in raw {
        let start = at.offset(t.span.start)?;
        if start < skip_to {
            continue;
        }
        if let Some((content, end)) = exec_comment(text, start)? {
            lex(sql, base + content.start..base + content.end, dialect, out)?;
            skip_to = end;
            continue;
        }
        let end = at.offset(t.span.end)?;
        let Some(src) = text.get(start..end).filter(|s| !s.is_empty()) else {
            return Err(misplaced(&t.token, base + start));
        };
        let span = base + start..base + end;
        let token = |kind, ident: &str| Token {
            kind,
            span: span.clone(),
            ident: ident.to_string(),
        };
        match &t.token {
            SqlToken::Whitespace(_) => {}
            SqlToken::Word(w) => match w.quote_style {
                Some(q) if src.len() >= 2 && src.starts_with(q) && src.ends_with(q) => {
                    out.push(token(Kind::Quoted, &w.value));
                }
                None if src == w.value => {
                    // MySQL reads `0x` and hex digits followed by a word character as one
                    // name (`0x1f_t`); sqlparser as a number and a word.
                    let mut span = span.clone();
                    if hex_end == Some(span.start) {
                        if let Some(hex) = out.pop() {
                            span.start = hex.span.start;
                        }
                    }
                    push_word(&sql[span.clone()], span, out);
                }
                _ => return Err(misplaced(&t.token, span.start)),
            },
            SqlToken::Number(..) => {
                if src != t.token.to_string() {
                    return Err(misplaced(&t.token, span.start));
                }
                out.push(token(Kind::Word, src));
            }
            // `0x1F`: a number as MySQL writes it (sqlparser's `X'1F'` is a string).
            SqlToken::HexStringLiteral(_) if src.starts_with('0') => {
                out.push(token(Kind::Word, src));
                hex_end = Some(span.end);
            }
            SqlToken::SingleQuotedString(_)
            | SqlToken::DoubleQuotedString(_)
            | SqlToken::TripleSingleQuotedString(_)
            | SqlToken::TripleDoubleQuotedString(_)
            | SqlToken::DollarQuotedString(_)
            | SqlToken::SingleQuotedByteStringLiteral(_)
            | SqlToken::DoubleQuotedByteStringLiteral(_)
            | SqlToken::TripleSingleQuotedByteStringLiteral(_)
            | SqlToken::TripleDoubleQuotedByteStringLiteral(_)
            | SqlToken::SingleQuotedRawStringLiteral(_)
            | SqlToken::DoubleQuotedRawStringLiteral(_)
            | SqlToken::TripleSingleQuotedRawStringLiteral(_)
            | SqlToken::TripleDoubleQuotedRawStringLiteral(_)
            | SqlToken::NationalStringLiteral(_)
            | SqlToken::QuoteDelimitedStringLiteral(_)
            | SqlToken::NationalQuoteDelimitedStringLiteral(_)
            | SqlToken::EscapedStringLiteral(_)
            | SqlToken::UnicodeStringLiteral(_)
            | SqlToken::HexStringLiteral(_) => {
                if !src.ends_with(['\'', '"', '$']) {
                    return Err(misplaced(&t.token, span.start));
                }
                out.push(token(Kind::Str, ""));
            }
            other => {
                let spelled = other.to_string();
                match spelled.as_bytes() {
                    [c] if c.is_ascii() && src == spelled => out.push(token(Kind::Punct(*c), "")),
                    [_] => return Err(misplaced(other, span.start)),
                    _ => out.push(token(Kind::Op, "")),
                }
            }
        }
    }
    Ok(())
}

/// An unquoted word at `span`: split before its first `@`, which MySQL does not read as part
/// of a word (`root@localhost` is `root` and the host `@localhost`).
fn push_word(src: &str, span: Range<usize>, out: &mut Vec<Token>) {
    let at = src.find('@').unwrap_or(src.len());
    if at > 0 {
        out.push(Token {
            kind: Kind::Word,
            span: span.start..span.start + at,
            ident: src[..at].to_string(),
        });
    }
    if at < src.len() {
        out.push(Token {
            kind: if at + 1 == src.len() {
                Kind::Punct(b'@')
            } else {
                Kind::Var
            },
            span: span.start + at..span.end,
            ident: String::new(),
        });
    }
}

/// The executable comment (`/*!...*/`, `/*M!...*/`) that starts at byte `at` of `text`, if
/// any: the range of its content (after the marker and the version digits) and its end.
fn exec_comment(text: &str, at: usize) -> Result<Option<(Range<usize>, usize)>, LexError> {
    let rest = text.get(at..).unwrap_or_default();
    let marker = if rest.starts_with("/*!") {
        3
    } else if rest.starts_with("/*M!") {
        4
    } else {
        return Ok(None);
    };
    let digits = rest[marker..]
        .bytes()
        .take_while(u8::is_ascii_digit)
        .count();
    // Comments do not nest: the first `*/` closes it, as for sqlparser.
    let close = 2 + rest[2..]
        .find("*/")
        .ok_or_else(|| "unterminated comment".to_string())?;
    Ok(Some((at + marker + digits..at + close, at + close + 2)))
}

fn misplaced(token: &SqlToken, at: usize) -> LexError {
    format!("token `{token}` is not where the tokenizer placed it (byte {at})")
}

/// sqlparser's error for `text` (at byte `base` of `sql`), placed in `sql`.
fn tokenizer_error(sql: &str, base: usize, text: &str, e: &TokenizerError) -> LexError {
    match Offsets::new(text).offset(e.location) {
        Ok(at) => {
            let before = &sql[..base + at];
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            format!(
                "{} at line {}, column {}",
                e.message,
                before.matches('\n').count() + 1,
                before[line_start..].chars().count() + 1
            )
        }
        Err(_) => e.message.clone(),
    }
}

/// Byte offsets of the tokenizer's locations in a text.
struct Offsets<'a> {
    text: &'a str,
    /// Where each line starts.
    lines: Vec<usize>,
    /// The last location placed and its offset: tokens mostly come in order, and the next
    /// one is found by walking on from there.
    last: (Location, usize),
}

impl<'a> Offsets<'a> {
    fn new(text: &'a str) -> Self {
        let lines = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self {
            text,
            lines,
            last: (Location::new(1, 1), 0),
        }
    }

    /// The byte offset of `loc`.
    fn offset(&mut self, loc: Location) -> Result<usize, LexError> {
        let outside = || {
            format!(
                "position {}:{} is outside the statement",
                loc.line, loc.column
            )
        };
        let (last, last_at) = self.last;
        let (mut column, mut at) = if loc.line == last.line && loc.column >= last.column {
            (last.column, last_at)
        } else {
            let line = usize::try_from(loc.line)
                .ok()
                .and_then(|l| l.checked_sub(1))
                .and_then(|l| self.lines.get(l))
                .ok_or_else(outside)?;
            (1, *line)
        };
        while column < loc.column {
            match self.text[at..].chars().next() {
                Some(c) if c != '\n' => {
                    at += c.len_utf8();
                    column += 1;
                }
                _ => return Err(outside()),
            }
        }
        self.last = (loc, at);
        Ok(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds_in(sql: &str, mode: SqlMode) -> Vec<String> {
        tokenize(sql, mode)
            .unwrap()
            .iter()
            .map(|t| match t.kind {
                Kind::Word => format!("w:{}", t.ident),
                Kind::Quoted => format!("q:{}", t.ident),
                Kind::Str => format!("s:{}", &sql[t.span.clone()]),
                Kind::Var => format!("v:{}", &sql[t.span.clone()]),
                Kind::Punct(c) => format!("p:{}", c as char),
                Kind::Op => format!("o:{}", &sql[t.span.clone()]),
            })
            .collect()
    }

    fn kinds(sql: &str) -> Vec<String> {
        kinds_in(sql, SqlMode::default())
    }

    /// The text of each token.
    fn texts(sql: &str) -> Vec<&str> {
        tokenize(sql, SqlMode::default())
            .unwrap()
            .into_iter()
            .map(|t| &sql[t.span])
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
        assert_eq!(kinds("a --"), ["w:a"]);
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
        // Without ANSI_QUOTES `"x"` is a string, with it an identifier.
        assert_eq!(kinds(r#""a\"b""#), [r#"s:"a\"b""#]);
        assert_eq!(kinds_in(r#""a\""#, ansi), [r"q:a\"]);
        let ansi_escapes = SqlMode {
            ansi_quotes: true,
            no_backslash_escapes: false,
        };
        assert_eq!(
            kinds_in(r#""t" 'it\'s'"#, ansi_escapes),
            ["q:t", r"s:'it\'s'"]
        );
    }

    #[test]
    fn unterminated() {
        for sql in [
            "'abc",
            "`abc",
            "a /* b",
            "/*!40101 a",
            "\"x\\\"",
            "`a``",
            "/*M!100100 'x */",
            "/*!50100 `x */ y",
        ] {
            assert!(tokenize(sql, SqlMode::default()).is_err(), "{sql}");
        }
        // The error says where, in the statement.
        let e = tokenize("CREATE TABLE é (\n  a int COMMENT 'x", SqlMode::default()).unwrap_err();
        assert!(e.contains("line 2, column 17"), "{e}");
        let e = tokenize("/* é */ /*M!100100 a\n 'x */", SqlMode::default()).unwrap_err();
        assert!(e.contains("line 2, column 2"), "{e}");
    }

    #[test]
    fn spans_are_bytes_of_the_statement() {
        let sql =
            "/* ü */ CREATE TABLE `données`.表_1 (\n  `é``è` int COMMENT 'ñ',\n  ö int\n) -- 終";
        assert_eq!(
            texts(sql),
            [
                "CREATE",
                "TABLE",
                "`données`",
                ".",
                "表_1",
                "(",
                "`é``è`",
                "int",
                "COMMENT",
                "'ñ'",
                ",",
                "ö",
                "int",
                ")"
            ]
        );
        let t = tokenize(sql, SqlMode::default()).unwrap();
        assert_eq!((t[2].kind, t[2].ident.as_str()), (Kind::Quoted, "données"));
        assert_eq!((t[6].kind, t[6].ident.as_str()), (Kind::Quoted, "é`è"));
        // `\r\n` line ends, tabs and a non-breaking space inside a name.
        assert_eq!(texts("a\r\n\tb\u{a0}c\r\nd"), ["a", "b\u{a0}c", "d"]);
    }

    #[test]
    fn executable_comments_are_code_with_true_spans() {
        let sql = "CREATE TABLE é (a int) /*!50100 PARTITION BY HASH (a) */ /*M!100301 x*/ z";
        assert_eq!(
            texts(sql),
            [
                "CREATE",
                "TABLE",
                "é",
                "(",
                "a",
                "int",
                ")",
                "PARTITION",
                "BY",
                "HASH",
                "(",
                "a",
                ")",
                "x",
                "z"
            ]
        );
        // Over several lines, and several on one line.
        let sql = "/*!50003 CREATE*/ /*!50017 DEFINER=`ü`@`%`*/ /*!50003 TRIGGER ü\n BEFORE INSERT */ ON t";
        assert_eq!(
            texts(sql),
            [
                "CREATE", "DEFINER", "=", "`ü`", "@", "`%`", "TRIGGER", "ü", "BEFORE", "INSERT",
                "ON", "t"
            ]
        );
        // Without a version, without content.
        assert_eq!(
            texts("a /*! b */ /*!*/ /*!50100*/ /*!50100 */ /*M!*/ c"),
            ["a", "b", "c"]
        );
        // A MariaDB one on a later line.
        assert_eq!(texts("x é\n /*M!100100 ü */ z"), ["x", "é", "ü", "z"]);
        // Comments do not nest.
        assert!(tokenize("/*M!100100 a /*!1 b */ c */", SqlMode::default()).is_err());
    }

    #[test]
    fn literals_variables_and_operators() {
        assert_eq!(
            kinds("DEFAULT -1.5e3 0x1F X'0A' N'é' b'01' _utf8mb4'x' 12abc db.1t"),
            [
                "w:DEFAULT",
                "p:-",
                "w:1.5e3",
                "w:0x1F",
                "s:X'0A'",
                "s:N'é'",
                "s:b'01'",
                "w:_utf8mb4",
                "s:'x'",
                "w:12abc",
                "w:db",
                "p:.",
                "w:1t"
            ]
        );
        // Names that start like numbers.
        assert_eq!(
            kinds("0x_t 0xab_c 0x1F 1e5abc"),
            ["w:0x_t", "w:0xab_c", "w:0x1F", "w:1e5", "w:abc"]
        );
        assert_eq!(
            kinds("SET @x := @@session.sql_mode, @`y` = 1"),
            [
                "w:SET",
                "v:@x",
                "o::=",
                "v:@@session",
                "p:.",
                "w:sql_mode",
                "p:,",
                "p:@",
                "q:y",
                "p:=",
                "w:1"
            ]
        );
        assert_eq!(
            kinds("DEFINER=root@localhost 'u'@'%' `u`@h r@'%'"),
            [
                "w:DEFINER",
                "p:=",
                "w:root",
                "v:@localhost",
                "s:'u'",
                "p:@",
                "s:'%'",
                "q:u",
                "v:@h",
                "w:r",
                "p:@",
                "s:'%'"
            ]
        );
        assert_eq!(
            kinds("a<=>b c->'$.p' d->>'$.q' e != f || g >= 1 ?"),
            [
                "w:a", "o:<=>", "w:b", "w:c", "o:->", "s:'$.p'", "w:d", "o:->>", "s:'$.q'", "w:e",
                "o:!=", "w:f", "o:||", "w:g", "o:>=", "w:1", "p:?"
            ]
        );
    }
}
