//! DDL from the binlog: classify a QUERY event's statement, name the tables it touches and
//! render it for the downstream with routed, fully qualified names.
//!
//! A statement is tokenized by sqlparser's tokenizer with MySQL's dialect under the event's
//! `sql_mode` (`ANSI_QUOTES`, `NO_BACKSLASH_ESCAPES`), the dialect the schema history uses;
//! the content of executable comments (`/*!NNNNN ... */`, MariaDB's `/*M!NNNNNN ... */`) is
//! read as code, and every token keeps its byte span so that names are replaced in place
//! (`lexer`). A reader of the few statement shapes that are replicated then finds the names
//! (`parser`); sqlparser's parser is not used for this, as it rejects several MySQL and
//! MariaDB forms (see the schema history's parser) and only the names matter here:
//!
//! | statement | [`EventType`] | [`DdlStmt::tables`] |
//! |---|---|---|
//! | `CREATE TABLE [IF NOT EXISTS] t (...)` | `CreateTable` | `t` |
//! | `CREATE TABLE t LIKE u` | `CreateTable` | `t`, `u` |
//! | `ALTER TABLE t ... [RENAME [TO\|AS] u] [EXCHANGE PARTITION p WITH TABLE v]` | `AlterTable` | `t`, then `u`, `v` in order |
//! | `DROP TABLE [IF EXISTS] a, b` | `DropTable`, one statement per table | `a` (then `b`) |
//! | `RENAME TABLE a TO b, c TO d` | `RenameTable`, one statement per pair | `a`, `b` (then `c`, `d`) |
//! | `TRUNCATE [TABLE] t` | `TruncateTable` | `t` |
//! | `CREATE\|DROP\|ALTER DATABASE\|SCHEMA d` | `CreateDatabase`, ... | `d` with an empty table name |
//! | `CREATE [UNIQUE\|FULLTEXT\|SPATIAL] INDEX i ON t (...)` | `CreateIndex` | `t` |
//! | `DROP INDEX i ON t` | `DropIndex` | `t` |
//!
//! Unqualified names belong to the event's default schema. Names keep the case they are
//! written in (the caller folds them when the upstream is case-insensitive).
//!
//! Statements that are never replicated (transaction control, account management, `SET`,
//! maintenance, views, triggers, routines, events, tablespaces, temporary tables, ...) are
//! [`Parsed::Skip`]. Anything else is an error: a statement that cannot be read, one that
//! cannot be replicated (`CREATE TABLE ... SELECT`, statement-based DML) or an unknown
//! statement; the caller pauses the task, naming the position, and the user resolves it with
//! `binlog skip|replace` or a filter.
//!
//! # Rendering (DM's behaviour)
//!
//! [`DdlStmt::render`] rewrites each table name through the task's routes and writes it
//! fully qualified and backquoted; the rest of the statement is kept byte for byte. As DM does
//! (`SplitDDL` in `dm/pkg/parser/common.go`), `CREATE TABLE` and `CREATE DATABASE` gain
//! `IF NOT EXISTS` and `DROP TABLE` and `DROP DATABASE` gain `IF EXISTS`, so that replaying a
//! DDL after a crash is harmless; multi-table `DROP TABLE` and `RENAME TABLE` are split.
//! Unlike DM, `ALTER TABLE` is not split into one statement per change (splitting breaks
//! valid statements such as `ADD COLUMN id INT AUTO_INCREMENT, ADD PRIMARY KEY (id)`, and
//! both TiDB and MySQL accept several changes at once), and `DROP INDEX` does not gain
//! `IF EXISTS`, which MySQL does not accept. Names inside `REFERENCES` clauses are left as
//! written, as in DM, so the statement should run with the routed schema as the default
//! database. The `START TRANSACTION` table option that MySQL 8.0.21+ writes for a
//! `CREATE TABLE ... SELECT` logged in row format is removed, as DM does since tiflow#12853
//! (see [`DdlStmt::rows_follow`]). MariaDB's `CREATE OR REPLACE TABLE` becomes
//! `DROP TABLE IF EXISTS` followed by `CREATE TABLE`.

pub mod dialect;
mod lexer;
mod parser;
#[cfg(test)]
mod tests;

use std::convert::Infallible;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use ferry_model::table::quote_ident;
use ferry_model::TableName;

use crate::rules::EventType;

/// The parts of the session `sql_mode` that change how a statement is tokenized.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SqlMode {
    /// `ANSI_QUOTES`: `"x"` is an identifier, not a string.
    pub ansi_quotes: bool,
    /// `NO_BACKSLASH_ESCAPES`: `\` is an ordinary character in strings.
    pub no_backslash_escapes: bool,
}

/// `sql_mode` bits as the binlog writes them (MySQL's and MariaDB's `MODE_*` values).
pub mod sql_mode_bits {
    /// `PIPES_AS_CONCAT`.
    pub const PIPES_AS_CONCAT: u64 = 0x0000_0002;
    /// `ANSI_QUOTES`.
    pub const ANSI_QUOTES: u64 = 0x0000_0004;
    /// `NO_BACKSLASH_ESCAPES`.
    pub const NO_BACKSLASH_ESCAPES: u64 = 0x0010_0000;
    /// `HIGH_NOT_PRECEDENCE`.
    pub const HIGH_NOT_PRECEDENCE: u64 = 0x2000_0000;
}

impl SqlMode {
    /// The tokenizer-relevant part of a binlog `sql_mode` bit set.
    pub fn from_bits(bits: u64) -> Self {
        Self {
            ansi_quotes: bits & sql_mode_bits::ANSI_QUOTES != 0,
            no_backslash_escapes: bits & sql_mode_bits::NO_BACKSLASH_ESCAPES != 0,
        }
    }
}

/// The `sql_mode` flags of a binlog `sql_mode` bit set that change how a statement's text is
/// read (`PIPES_AS_CONCAT`, `ANSI_QUOTES`, `NO_BACKSLASH_ESCAPES`, `HIGH_NOT_PRECEDENCE`), as
/// `sql_mode` names, comma-separated: the downstream session runs the statement with them so
/// that it means there what it meant upstream.
pub fn parsing_mode_names(bits: u64) -> Vec<&'static str> {
    use sql_mode_bits::*;
    [
        (PIPES_AS_CONCAT, "PIPES_AS_CONCAT"),
        (ANSI_QUOTES, "ANSI_QUOTES"),
        (NO_BACKSLASH_ESCAPES, "NO_BACKSLASH_ESCAPES"),
        (HIGH_NOT_PRECEDENCE, "HIGH_NOT_PRECEDENCE"),
    ]
    .into_iter()
    .filter(|(b, _)| bits & b != 0)
    .map(|(_, n)| n)
    .collect()
}

/// The `sql_mode` recorded in a QUERY event's raw status variables (0 when absent or
/// unreadable).
pub fn binlog_sql_mode(status_vars: &[u8]) -> u64 {
    use mysql_common::binlog::events::{StatusVarVal, StatusVarsIterator};
    StatusVarsIterator::new(status_vars)
        .find_map(|v| match v.get_value() {
            Ok(StatusVarVal::SqlMode(flags)) => Some(flags.0),
            _ => None,
        })
        .unwrap_or(0)
}

/// What a QUERY event's statement is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Replicated DDL, already split into one statement per table (or pair of tables).
    Ddl(Vec<DdlStmt>),
    /// A statement that is never replicated.
    Skip(SkipReason),
}

/// Why a statement is not replicated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// Nothing but whitespace and comments.
    Empty,
    /// `BEGIN`, `COMMIT`, `ROLLBACK`, `SAVEPOINT`, `XA ...`, `START TRANSACTION`.
    TransactionControl,
    /// `GRANT`, `REVOKE`, `CREATE|ALTER|DROP|RENAME USER`, roles, `SET PASSWORD`.
    AccountManagement,
    /// `SET ...` (session or global variables).
    SetVariable,
    /// `FLUSH`, `ANALYZE|OPTIMIZE|REPAIR|CHECK|CHECKSUM TABLE`, `RESET`, `PURGE`, caches.
    Maintenance,
    /// `INSTALL|UNINSTALL PLUGIN|COMPONENT`.
    Plugin,
    /// `CREATE|ALTER|DROP` of an object that is not a table, database or index: the
    /// object's keyword (`VIEW`, `TRIGGER`, `PROCEDURE`, ...).
    Object(&'static str),
    /// `CREATE TEMPORARY TABLE`, `DROP TEMPORARY TABLE`.
    TemporaryTable,
    /// Administrative or read-only statements (`SHOW`, `USE`, `SELECT`, `LOCK TABLES`, ...).
    Other,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Empty => f.write_str("empty statement"),
            SkipReason::TransactionControl => f.write_str("transaction control"),
            SkipReason::AccountManagement => f.write_str("account management"),
            SkipReason::SetVariable => f.write_str("SET statement"),
            SkipReason::Maintenance => f.write_str("maintenance statement"),
            SkipReason::Plugin => f.write_str("plugin or component statement"),
            SkipReason::Object(o) => write!(f, "{o} statement"),
            SkipReason::TemporaryTable => f.write_str("temporary table"),
            SkipReason::Other => f.write_str("statement without replicated effect"),
        }
    }
}

/// A statement that cannot be replicated. The task pauses at its position; the user resolves
/// it with `binlog skip|replace` or a binlog event filter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DdlError {
    /// The statement is malformed or truncated.
    #[error("cannot parse statement `{statement}`: {reason}")]
    Syntax {
        /// The statement (truncated).
        statement: String,
        /// What could not be understood.
        reason: String,
    },
    /// A statement that is understood but cannot be replicated.
    #[error("unsupported statement `{statement}`: {reason}")]
    Unsupported {
        /// The statement (truncated).
        statement: String,
        /// Why it cannot be replicated.
        reason: String,
    },
    /// A statement (possibly DDL) of a kind this module does not know.
    #[error("unrecognized statement `{statement}`: not a DDL Ferry can replicate")]
    Unrecognized {
        /// The statement (truncated).
        statement: String,
    },
}

/// Why `CREATE TABLE ... SELECT` is refused.
const CTAS: &str = "CREATE TABLE ... SELECT (logged as a statement: the source must use \
                    binlog_format=ROW)";

/// Longest statement text quoted in an error, in characters.
const ERROR_SQL_CHARS: usize = 200;

fn excerpt(sql: &str) -> String {
    let sql = sql.trim();
    match sql.char_indices().nth(ERROR_SQL_CHARS) {
        Some((cut, _)) => format!("{}...", &sql[..cut]),
        None => sql.to_string(),
    }
}

/// One piece of a replacement text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(&'static str),
    /// The (mapped) name `tables[i]`.
    Name(usize),
}

/// Replace `range` of the statement text by `with`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Edit {
    range: Range<usize>,
    with: Vec<Piece>,
}

/// One replicated DDL statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DdlStmt {
    kind: EventType,
    tables: Vec<TableName>,
    renamed: Option<usize>,
    like: Option<usize>,
    rows_follow: bool,
    /// The statement text the edits apply to (shared by the statements of a split).
    text: Arc<str>,
    edits: Vec<Edit>,
}

impl DdlStmt {
    /// The binlog event filter type of the statement.
    pub fn kind(&self) -> EventType {
        self.kind
    }

    /// The upstream tables the statement names: first the one it changes, then the new name
    /// of a rename, the source of `LIKE` or the table of `EXCHANGE PARTITION`. Database
    /// statements name one `(database, "")`. Never empty.
    pub fn tables(&self) -> &[TableName] {
        &self.tables
    }

    /// The table the statement changes (`(database, "")` for a database statement).
    pub fn table(&self) -> &TableName {
        &self.tables[0]
    }

    /// The new name given by `RENAME TABLE` or `ALTER TABLE ... RENAME`.
    pub fn renamed_to(&self) -> Option<&TableName> {
        self.renamed.and_then(|i| self.tables.get(i))
    }

    /// The source table of `CREATE TABLE ... LIKE`.
    pub fn like(&self) -> Option<&TableName> {
        self.like.and_then(|i| self.tables.get(i))
    }

    /// True for `CREATE|ALTER|DROP DATABASE`.
    pub fn is_database(&self) -> bool {
        matches!(
            self.kind,
            EventType::CreateDatabase | EventType::DropDatabase | EventType::AlterDatabase
        )
    }

    /// True when the statement drops its table or database.
    pub fn is_drop(&self) -> bool {
        matches!(self.kind, EventType::DropTable | EventType::DropDatabase)
    }

    /// True for MySQL's `CREATE TABLE ... START TRANSACTION`: the first event of a
    /// `CREATE TABLE ... SELECT` logged in row format, whose rows follow in the same
    /// transaction (the clause itself is not rendered).
    pub fn rows_follow(&self) -> bool {
        self.rows_follow
    }

    /// The statement for the downstream: every name is passed through `map` (once per entry
    /// of [`tables`](Self::tables), database names as `(database, "")`) and written
    /// backquoted and fully qualified (database statements use the mapped schema).
    pub fn render(&self, mut map: impl FnMut(&TableName) -> TableName) -> String {
        match self.try_render(|t| Ok::<_, Infallible>(map(t))) {
            Ok(sql) => sql,
            Err(never) => match never {},
        }
    }

    /// [`render`](Self::render) with a fallible `map` (such as a router that rejects a table
    /// matching two rules); the first error is returned.
    pub fn try_render<E>(
        &self,
        mut map: impl FnMut(&TableName) -> Result<TableName, E>,
    ) -> Result<String, E> {
        let names = self
            .tables
            .iter()
            .map(|t| {
                let to = map(t)?;
                Ok(if self.is_database() {
                    quote_ident(&to.schema)
                } else {
                    to.quoted()
                })
            })
            .collect::<Result<Vec<_>, E>>()?;
        let mut out = String::with_capacity(self.text.len() + 64);
        let mut at = 0;
        for e in &self.edits {
            out.push_str(self.text.get(at..e.range.start).unwrap_or_default());
            for p in &e.with {
                match p {
                    Piece::Text(s) => out.push_str(s),
                    Piece::Name(i) => out.push_str(names.get(*i).map_or("", String::as_str)),
                }
            }
            at = at.max(e.range.end);
        }
        out.push_str(self.text.get(at..).unwrap_or_default());
        Ok(out)
    }
}

/// Classifies `sql`, a QUERY event's statement whose default schema is `default_schema`
/// (empty when none), with the default `sql_mode`.
pub fn parse(sql: &str, default_schema: &str) -> Result<Parsed, DdlError> {
    parse_with_mode(sql, default_schema, SqlMode::default())
}

/// [`parse`] under the given `sql_mode` (from the QUERY event's status variables).
pub fn parse_with_mode(sql: &str, default_schema: &str, mode: SqlMode) -> Result<Parsed, DdlError> {
    let toks = lexer::tokenize(sql, mode).map_err(|reason| DdlError::Syntax {
        statement: excerpt(sql),
        reason,
    })?;
    parser::parse(sql, toks, default_schema)
}
