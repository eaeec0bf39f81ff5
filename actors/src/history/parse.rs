//! Reading the DDL statements of the binlog into the small statement tree of [`Stmt`].
//!
//! Lexing is sqlparser's tokenizer under the statement's `sql_mode` ([`FerryDialect`]);
//! MySQL's `/*!NNNNN ... */` versioned comments are expanded by it, MariaDB's
//! `/*M!NNNNNN ... */` ones here. Column definitions (name, data type and every column
//! attribute, including generated-column and default expressions) are parsed by sqlparser's
//! [`Parser::parse_column_def`] and [`Parser::parse_data_type`]. The statement frame around
//! them (which table, which `ALTER TABLE` clauses, keys, table options, partitions) is read
//! here token by token, because sqlparser lacks several MySQL and MariaDB forms
//! (`ADD COLUMN (a, b)`, `ALTER COLUMN c SET INVISIBLE`, `CONVERT TO CHARACTER SET`,
//! `RENAME INDEX`, `IF [NOT] EXISTS` on clauses, most table options and partition clauses,
//! `KEY ... USING BTREE` before the parts, functional key parts, ...), and because the model
//! only needs their outline.

use sqlparser::ast::{ColumnOption, GeneratedAs};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer, Whitespace};

use super::dialect::{FerryDialect, MARK};
use super::model::KeyKind;

/// A possibly schema-qualified name, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ObjName {
    pub schema: Option<String>,
    pub name: String,
}

/// A column definition as written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct ColumnDefn {
    pub name: String,
    /// Normalized lower-case type, e.g. `int unsigned`, `varchar(20)`.
    pub data_type: String,
    pub not_null: bool,
    pub generated: bool,
    pub invisible: bool,
    pub charset: Option<String>,
    pub collation: Option<String>,
    /// `BINARY` attribute of a character type: the `_bin` collation of its charset.
    pub binary: bool,
    pub primary: bool,
    pub unique: bool,
}

/// A key (index) definition as written; `name` is `None` when the server names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct KeyDefn {
    pub name: Option<String>,
    pub kind: KeyKind,
    pub columns: Vec<Option<String>>,
    /// `ADD INDEX IF NOT EXISTS` (MariaDB).
    pub if_not_exists: bool,
}

/// Where `ADD`/`MODIFY`/`CHANGE` put a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Position {
    Keep,
    First,
    After(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TableOpt {
    Charset(String),
    Collate(String),
    Other,
}

/// The parts of a `CREATE TABLE` body the model keeps.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct TableDef {
    pub columns: Vec<ColumnDefn>,
    pub keys: Vec<KeyDefn>,
    /// Foreign keys: (index name, columns); the server adds an index when none fits.
    pub foreign_keys: Vec<(Option<String>, Vec<String>)>,
    pub charset: Option<String>,
    pub collation: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum CreateBody {
    Def(TableDef),
    Like(ObjName),
    /// `CREATE TABLE ... SELECT`: the columns come from a query.
    Select,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum AlterOp {
    AddColumn {
        def: ColumnDefn,
        pos: Position,
        if_not_exists: bool,
    },
    DropColumn {
        name: String,
        if_exists: bool,
    },
    /// `MODIFY` (old == def.name) and `CHANGE`.
    ChangeColumn {
        old: String,
        def: ColumnDefn,
        pos: Position,
        if_exists: bool,
    },
    RenameColumn {
        from: String,
        to: String,
    },
    /// `ALTER COLUMN c SET|DROP DEFAULT`: checked, no effect on the model.
    TouchColumn(String),
    SetInvisible {
        column: String,
        invisible: bool,
    },
    AddKey(KeyDefn),
    AddForeignKey(Option<String>, Vec<String>),
    DropPrimaryKey,
    DropIndex {
        name: String,
    },
    /// `DROP CONSTRAINT x`: drops a unique key of that name, if any.
    DropConstraint(String),
    RenameIndex {
        from: String,
        to: String,
    },
    RenameTable(ObjName),
    TableOption(TableOpt),
    ConvertCharset {
        charset: String,
        collation: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Stmt {
    CreateTable {
        name: ObjName,
        temporary: bool,
        or_replace: bool,
        if_not_exists: bool,
        body: CreateBody,
    },
    AlterTable {
        name: ObjName,
        if_exists: bool,
        ops: Vec<AlterOp>,
    },
    RenameTables(Vec<(ObjName, ObjName)>),
    DropTables {
        names: Vec<ObjName>,
    },
    CreateIndex {
        table: ObjName,
        key: KeyDefn,
    },
    DropIndex {
        table: ObjName,
        name: String,
    },
    DropDatabase(String),
    /// Anything without effect on the tracked tables' columns and keys.
    NoEffect,
}

/// A parse failure: `unsupported` when the statement is valid but cannot be modelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Failure {
    pub unsupported: bool,
    pub reason: String,
}

type R<T> = Result<T, Failure>;

fn fail<T>(reason: impl Into<String>) -> R<T> {
    Err(Failure {
        unsupported: false,
        reason: reason.into(),
    })
}

fn unsupported<T>(reason: impl Into<String>) -> R<T> {
    Err(Failure {
        unsupported: true,
        reason: reason.into(),
    })
}

/// Tokens of a statement, without whitespace and comments; MariaDB's executable comments
/// (`/*M!100301 COMPRESSED*/`) expanded.
pub(super) fn lex(sql: &str, dialect: &FerryDialect) -> Result<Vec<Token>, String> {
    let raw = Tokenizer::new(dialect, sql)
        .with_unescape(true)
        .tokenize()
        .map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(raw.len());
    for t in raw {
        match t {
            Token::Whitespace(Whitespace::MultiLineComment(c)) if c.starts_with("M!") => {
                let inner = c[2..].trim_start_matches(|ch: char| ch.is_ascii_digit());
                out.extend(lex(inner, dialect)?);
            }
            Token::Whitespace(_) | Token::EOF => {}
            t => out.push(t),
        }
    }
    while out.last() == Some(&Token::SemiColon) {
        out.pop();
    }
    Ok(out)
}

/// The first keyword of a statement, found without tokenizing it (used when the tokenizer
/// fails, to tell a broken DDL from a statement the model ignores anyway).
pub(super) fn first_word(sql: &str) -> String {
    let mut s = sql.trim_start();
    loop {
        if let Some(rest) = s.strip_prefix("/*") {
            if rest.starts_with('!') || rest.starts_with("M!") {
                let rest = rest.trim_start_matches(['M', '!']);
                s = rest
                    .trim_start_matches(|c: char| c.is_ascii_digit())
                    .trim_start();
                continue;
            }
            match rest.find("*/") {
                Some(i) => s = rest[i + 2..].trim_start(),
                None => return String::new(),
            }
        } else if s.starts_with('#') || s.starts_with("-- ") {
            match s.find('\n') {
                Some(i) => s = s[i + 1..].trim_start(),
                None => return String::new(),
            }
        } else {
            break;
        }
    }
    s.chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_uppercase()
}

struct Cur<'a> {
    t: &'a [Token],
    i: usize,
    d: &'a FerryDialect,
}

fn tok_text(t: Option<&Token>) -> String {
    match t {
        None => "end of statement".to_string(),
        Some(t) => format!("`{t}`"),
    }
}

impl<'a> Cur<'a> {
    fn peek(&self) -> Option<&'a Token> {
        self.t.get(self.i)
    }

    fn peek_n(&self, n: usize) -> Option<&'a Token> {
        self.t.get(self.i + n)
    }

    fn at_end(&self) -> bool {
        self.i >= self.t.len()
    }

    fn bump(&mut self) -> Option<&'a Token> {
        let t = self.t.get(self.i);
        if t.is_some() {
            self.i += 1;
        }
        t
    }

    /// The unquoted word at offset `n`, upper-cased.
    fn word_n(&self, n: usize) -> Option<String> {
        match self.peek_n(n) {
            Some(Token::Word(w)) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
            _ => None,
        }
    }

    fn is(&self, n: usize, w: &str) -> bool {
        matches!(self.peek_n(n), Some(Token::Word(x)) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w))
    }

    fn eat(&mut self, w: &str) -> bool {
        if self.is(0, w) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn eat_seq(&mut self, ws: &[&str]) -> bool {
        if ws.iter().enumerate().all(|(n, w)| self.is(n, w)) {
            self.i += ws.len();
            true
        } else {
            false
        }
    }

    fn eat_tok(&mut self, t: &Token) -> bool {
        if self.peek() == Some(t) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect_tok(&mut self, t: &Token, what: &str) -> R<()> {
        if self.eat_tok(t) {
            Ok(())
        } else {
            fail(format!("expected {what}, found {}", tok_text(self.peek())))
        }
    }

    fn expect(&mut self, w: &str) -> R<()> {
        if self.eat(w) {
            Ok(())
        } else {
            fail(format!("expected {w}, found {}", tok_text(self.peek())))
        }
    }

    fn ident(&mut self, what: &str) -> R<String> {
        match self.peek() {
            Some(Token::Word(w)) => {
                self.i += 1;
                Ok(w.value.clone())
            }
            t => fail(format!("expected {what}, found {}", tok_text(t))),
        }
    }

    fn obj_name(&mut self, what: &str) -> R<ObjName> {
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

    fn eat_if_exists(&mut self) -> bool {
        self.eat_seq(&["IF", "EXISTS"])
    }

    fn eat_if_not_exists(&mut self) -> bool {
        self.eat_seq(&["IF", "NOT", "EXISTS"])
    }

    /// At `(`: consumes through the matching `)`.
    fn skip_group(&mut self) -> R<()> {
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
    fn skip_item(&mut self) -> R<()> {
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

    fn column_def(&mut self) -> R<ColumnDefn> {
        let end = self.column_def_end();
        let def = parse_column_def(&self.t[self.i..end], self.d)?;
        self.i = end;
        Ok(def)
    }

    fn position(&mut self) -> R<Position> {
        if self.eat("FIRST") {
            Ok(Position::First)
        } else if self.eat("AFTER") {
            Ok(Position::After(self.ident("a column name after AFTER")?))
        } else {
            Ok(Position::Keep)
        }
    }
}

// ---------------------------------------------------------------------------------------
// Column definitions (sqlparser)

/// Parses `name type [attributes]` with sqlparser; `toks` is exactly the definition.
fn parse_column_def(toks: &[Token], d: &FerryDialect) -> R<ColumnDefn> {
    match parse_column_def_with(toks, d) {
        Ok(c) => Ok(c),
        Err(first) => {
            // The model does not need default, generated or check expressions: retry with
            // each parenthesized expression replaced by `0`, in case sqlparser does not know
            // a function or operator used in it.
            let neutral = neutralize_expressions(toks);
            if neutral.as_slice() != toks {
                if let Ok(c) = parse_column_def_with(&neutral, d) {
                    return Ok(c);
                }
            }
            Err(first)
        }
    }
}

fn neutralize_expressions(toks: &[Token]) -> Vec<Token> {
    let mut out = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        out.push(t.clone());
        i += 1;
        let introduces_expr = matches!(t, Token::Word(w) if w.quote_style.is_none()
            && ["AS", "DEFAULT", "CHECK"].iter().any(|k| w.value.eq_ignore_ascii_case(k)));
        if introduces_expr && toks.get(i) == Some(&Token::LParen) {
            let mut depth = 0usize;
            while i < toks.len() {
                match &toks[i] {
                    Token::LParen => depth += 1,
                    Token::RParen => depth -= 1,
                    _ => {}
                }
                i += 1;
                if depth == 0 {
                    break;
                }
            }
            out.push(Token::LParen);
            out.push(Token::Number("0".into(), false));
            out.push(Token::RParen);
        }
    }
    out
}

fn parse_column_def_with(toks: &[Token], d: &FerryDialect) -> R<ColumnDefn> {
    let perr = |e: sqlparser::parser::ParserError| Failure {
        unsupported: false,
        reason: e
            .to_string()
            .trim_start_matches("sql parser error: ")
            .to_string(),
    };
    // Type spellings sqlparser does not know: `NATIONAL CHAR|VARCHAR` (it knows `NCHAR`
    // and `NVARCHAR`), `LONG [VARCHAR|VARBINARY]` (MEDIUMTEXT, MEDIUMBLOB).
    let word_at = |i: usize, w: &str| {
        matches!(toks.get(i), Some(Token::Word(x))
            if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w))
    };
    let national_kw = word_at(1, "NATIONAL");
    let owned;
    let toks = if national_kw {
        let mut v = toks.to_vec();
        v.remove(1);
        owned = v;
        &owned[..]
    } else if word_at(1, "LONG") {
        let mut v = toks.to_vec();
        let (n, ty) = if word_at(2, "VARBINARY") {
            (2, "MEDIUMBLOB")
        } else if word_at(2, "VARCHAR") {
            (2, "MEDIUMTEXT")
        } else {
            (1, "MEDIUMTEXT")
        };
        v.splice(1..1 + n, [Token::make_keyword(ty)]);
        owned = v;
        &owned[..]
    } else {
        toks
    };
    let mut p = Parser::new(d).with_tokens(toks.to_vec());
    let cd = p.parse_column_def().map_err(perr)?;
    if p.peek_token_ref().token != Token::EOF {
        return fail(format!(
            "unexpected `{}` in the definition of column `{}`",
            p.peek_token_ref().token,
            cd.name.value
        ));
    }
    // The type's own tokens, to print it as MySQL does.
    let mut tp = Parser::new(d).with_tokens(toks[1..].to_vec());
    tp.parse_data_type().map_err(perr)?;
    let type_toks = &toks[1..1 + tp.index()];

    let mut c = ColumnDefn {
        name: cd.name.value.clone(),
        ..Default::default()
    };
    let (ty, national) = normalize_type(&render_type(type_toks));
    c.data_type = ty;
    if national || national_kw {
        c.charset = Some("utf8mb3".into());
    }
    if c.data_type == "serial" {
        c.data_type = "bigint unsigned".into();
        c.not_null = true;
        c.unique = true;
    }
    for o in &cd.options {
        match &o.option {
            ColumnOption::NotNull => c.not_null = true,
            ColumnOption::Null => c.not_null = false,
            ColumnOption::PrimaryKey(_) => c.primary = true,
            ColumnOption::Unique(_) => c.unique = true,
            ColumnOption::CharacterSet(n) => c.charset = Some(last_part(n)),
            ColumnOption::Collation(n) => c.collation = Some(last_part(n)),
            ColumnOption::Generated {
                generated_as,
                generation_expr,
                ..
            } => {
                c.generated = generation_expr.is_some()
                    || matches!(generated_as, GeneratedAs::Always | GeneratedAs::ExpStored)
            }
            ColumnOption::Invisible => c.invisible = true,
            ColumnOption::DialectSpecific(ts)
                if ts.first() == Some(&Token::make_word(MARK, None)) =>
            {
                let what = ts.get(1).map(|t| t.to_string()).unwrap_or_default();
                match what.as_str() {
                    "VISIBLE" => c.invisible = false,
                    "BINARY" => c.binary = true,
                    "ASCII" => c.charset = Some("latin1".into()),
                    "UNICODE" => c.charset = Some("ucs2".into()),
                    "BYTE" => c.charset = Some("binary".into()),
                    "GENERATED" => c.generated = true,
                    "SERIAL" => {
                        c.not_null = true;
                        c.unique = true;
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    if c.primary {
        c.not_null = true;
    }
    Ok(c)
}

fn last_part(n: &sqlparser::ast::ObjectName) -> String {
    n.0.last()
        .and_then(|p| p.as_ident())
        .map(|i| i.value.to_lowercase())
        .unwrap_or_else(|| n.to_string().to_lowercase())
}

fn quote_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for ch in s.chars() {
        match ch {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// `DECIMAL(10, 2) UNSIGNED` → `decimal(10,2) unsigned`; `ENUM('a', 'B')` → `enum('a','B')`.
fn render_type(toks: &[Token]) -> String {
    let mut s = String::new();
    for t in toks {
        let piece = match t {
            Token::Word(w) => w.value.to_lowercase(),
            Token::Number(n, _) => n.clone(),
            Token::SingleQuotedString(v) | Token::DoubleQuotedString(v) => quote_string(v),
            Token::LParen => {
                s.push('(');
                continue;
            }
            Token::RParen => {
                s.push(')');
                continue;
            }
            Token::Comma => {
                s.push(',');
                continue;
            }
            other => other.to_string(),
        };
        if !s.is_empty() && !s.ends_with('(') && !s.ends_with(',') {
            s.push(' ');
        }
        s.push_str(&piece);
    }
    s
}

/// Maps type aliases to the name MySQL prints; the flag is true for `NATIONAL`/`NCHAR`
/// types (charset utf8mb3).
fn normalize_type(t: &str) -> (String, bool) {
    // Split `base(args) rest`.
    let (head, rest) = match t.find('(') {
        Some(i) => {
            let close = t[i..].find(')').map(|j| i + j + 1).unwrap_or(t.len());
            (&t[..close], t[close..].trim())
        }
        None => match t.find(' ') {
            Some(_) => (t, ""),
            None => (t, ""),
        },
    };
    let (base, args) = match head.find('(') {
        Some(i) => (head[..i].trim(), &head[i..]),
        None => (head.trim(), ""),
    };
    // Multi-word bases written without arguments keep their suffix words in `base`.
    let mut national = false;
    let mut words: Vec<&str> = base.split_whitespace().collect();
    let mut suffix: Vec<&str> = Vec::new();
    // Trailing attribute words of an argument-less type (`int unsigned`).
    while let Some(&w) = words.last() {
        if words.len() > 1 && matches!(w, "unsigned" | "signed" | "zerofill") {
            suffix.insert(0, w);
            words.pop();
        } else {
            break;
        }
    }
    if words.first() == Some(&"national") {
        national = true;
        words.remove(0);
    }
    let joined = words.join(" ");
    let (name, default_args): (&str, &str) = match joined.as_str() {
        "integer" | "int4" => ("int", ""),
        "int1" => ("tinyint", ""),
        "int2" => ("smallint", ""),
        "int3" | "middleint" => ("mediumint", ""),
        "int8" => ("bigint", ""),
        "bool" | "boolean" => ("tinyint", "(1)"),
        "dec" | "numeric" | "fixed" | "decimal" => ("decimal", "(10,0)"),
        // `REAL` depends on `REAL_AS_FLOAT`: resolved by the model.
        "double precision" | "float8" => ("double", ""),
        "float4" => ("float", ""),
        "character" | "char" => ("char", "(1)"),
        "nchar" => {
            national = true;
            ("char", "(1)")
        }
        "character varying" | "char varying" => ("varchar", ""),
        "nvarchar" | "nchar varchar" | "nchar varying" => {
            national = true;
            ("varchar", "")
        }
        "varchar" | "character varchar" => ("varchar", ""),
        "long varchar" | "long" => ("mediumtext", ""),
        "long varbinary" => ("mediumblob", ""),
        "binary" => ("binary", "(1)"),
        "bit" => ("bit", "(1)"),
        other => (other, ""),
    };
    let mut args = args.replace(' ', "");
    if args.is_empty() {
        args = default_args.to_string();
    } else if name == "decimal" && !args.contains(',') {
        args = format!("{},0)", args.trim_end_matches(')'));
    } else if name == "float" && !args.contains(',') {
        // FLOAT(p): p <= 24 is FLOAT, else DOUBLE.
        let p: u32 = args
            .trim_matches(|c| c == '(' || c == ')')
            .parse()
            .unwrap_or(0);
        let base = if p > 24 { "double" } else { "float" };
        let mut out = base.to_string();
        push_suffix(&mut out, &suffix, rest);
        return (out, national);
    }
    let mut out = format!("{name}{args}");
    push_suffix(&mut out, &suffix, rest);
    (out, national)
}

fn push_suffix(out: &mut String, suffix: &[&str], rest: &str) {
    for w in suffix
        .iter()
        .copied()
        .chain(rest.split_whitespace())
        .filter(|w| *w != "signed")
    {
        out.push(' ');
        out.push_str(w);
    }
}

// ---------------------------------------------------------------------------------------
// Keys

fn is_key_start(c: &Cur) -> bool {
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

enum KeyElem {
    Key(KeyDefn),
    ForeignKey(Option<String>, Vec<String>),
    Ignored,
}

/// `[CONSTRAINT [name]] PRIMARY KEY|UNIQUE|KEY|INDEX|FULLTEXT|SPATIAL|FOREIGN KEY|CHECK ...`,
/// up to the end of the element.
fn key_def(c: &mut Cur) -> R<KeyElem> {
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
fn key_parts(c: &mut Cur) -> R<Vec<Option<String>>> {
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

// ---------------------------------------------------------------------------------------
// Table options

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
fn table_option(c: &mut Cur) -> R<Option<TableOpt>> {
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

// ---------------------------------------------------------------------------------------
// Statements

/// Parses one statement.
pub(super) fn parse(toks: &[Token], d: &FerryDialect) -> R<Stmt> {
    let mut c = Cur { t: toks, i: 0, d };
    let stmt = match c.word_n(0).as_deref() {
        Some("CREATE") => {
            c.bump();
            create(&mut c)?
        }
        Some("ALTER") => {
            c.bump();
            alter(&mut c)?
        }
        Some("DROP") => {
            c.bump();
            drop(&mut c)?
        }
        Some("RENAME") => {
            c.bump();
            if c.eat("TABLE") || c.eat("TABLES") {
                rename_tables(&mut c)?
            } else {
                Stmt::NoEffect
            }
        }
        _ => Stmt::NoEffect,
    };
    Ok(stmt)
}

fn create(c: &mut Cur) -> R<Stmt> {
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

fn drop(c: &mut Cur) -> R<Stmt> {
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

fn rename_tables(c: &mut Cur) -> R<Stmt> {
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

fn alter(c: &mut Cur) -> R<Stmt> {
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
