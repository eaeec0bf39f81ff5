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
//!
//! Submodules: `cursor` (the token cursor), `column` (column definitions, through
//! sqlparser) and `data_type` (types printed as MySQL prints them), `key` (index and
//! constraint elements), `table_option`, and one per statement: `create`, `alter`,
//! `drop_rename`.
//!
//! [`Parser::parse_column_def`]: sqlparser::parser::Parser::parse_column_def
//! [`Parser::parse_data_type`]: sqlparser::parser::Parser::parse_data_type

mod alter;
mod column;
mod create;
mod cursor;
mod data_type;
mod drop_rename;
mod key;
mod table_option;

use sqlparser::tokenizer::{Token, Tokenizer, Whitespace};

use super::dialect::FerryDialect;
use super::model::KeyKind;
use alter::alter;
use create::create;
use cursor::Cur;
use drop_rename::{drop, rename_tables};

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
