//! DDL rendered for the downstream's dialect (MySQL, MariaDB, TiDB).
//!
//! A statement replicated from one server family to another may use syntax the target does
//! not have, or that means something else there. [`render_for_target`] rewrites such parts,
//! working on the tokens of [`super::lexer`], so that string literals, comments and quoted
//! identifiers are never rewritten by accident; every rewrite is reported in
//! [`Rendered::rewrites`] (the caller logs them). What has no faithful rendering is a
//! [`DialectError::Unsupported`] naming what the target lacks; the caller pauses the task
//! and the user resolves it with `binlog skip|replace`.
//!
//! Checked against MySQL 9.7 and MariaDB 10.11:
//!
//! | upstream → target | written | rendered |
//! |---|---|---|
//! | any → any | `COLLATE x` the target does not know | [`TargetCaps::map_collation`] (`utf8mb4_0900_*` ↔ `utf8mb4_uca1400_*`, ...) |
//! | MySQL → MariaDB | `c->'$.p'`, `c->>'$.p'` (anywhere: generated columns, `CHECK`, `DEFAULT (...)`) | `json_extract(c, '$.p')`, `json_unquote(json_extract(c, '$.p'))` |
//! | MySQL → MariaDB | `/*!80023 INVISIBLE */` and other 5-digit version comments ≥ 50700 that MySQL ran | the plain text (MariaDB skips such comments) |
//! | MySQL → MariaDB | `SRID n` column attribute | dropped (MariaDB has no SRID constraint; the values are unchanged) |
//! | MySQL → MariaDB | `[DEFAULT] ENCRYPTION='N'` | dropped (`'Y'` is unsupported: MariaDB encrypts through its own plugins and `ENCRYPTED=YES`) |
//! | MySQL → MariaDB | index `INVISIBLE` / `VISIBLE`, `ALTER INDEX i INVISIBLE` | `IGNORED` / nothing, `ALTER INDEX i IGNORED` (MariaDB 10.6+) |
//! | MySQL → MariaDB | column `VISIBLE` | dropped (the default; MariaDB only knows `INVISIBLE`) |
//! | MySQL → MariaDB | `CHECK (...) ENFORCED` | `CHECK (...)` |
//! | MySQL → MariaDB | `CHECK (...) NOT ENFORCED` | the constraint is dropped: MariaDB has no unenforced constraints, and enforcing it could reject rows the upstream accepted; an unenforced constraint never changes data |
//! | MySQL → MariaDB | `DROP CHECK c` | `DROP CONSTRAINT IF EXISTS c` (it may be one that was not created) |
//! | MySQL → MariaDB | functional key parts `((expr))`, `ALTER CHECK c [NOT] ENFORCED`, `ALTER COLUMN c SET [IN]VISIBLE` | unsupported |
//! | MariaDB → MySQL, TiDB | `ALGORITHM=NOCOPY` | dropped (the other algorithms and `LOCK=` are kept: both accept them) |
//! | MariaDB → MySQL | `IF [NOT] EXISTS` on `ADD`/`DROP`/`CHANGE`/`MODIFY` of an `ALTER TABLE`, `CREATE INDEX IF NOT EXISTS`, `DROP INDEX IF EXISTS` | dropped (TiDB has them) |
//! | MariaDB → MySQL, TiDB | `COMPRESSED[=zlib]` column attribute | dropped (`ROW_FORMAT=COMPRESSED` is kept) |
//! | MariaDB → MySQL, TiDB | `PERSISTENT` generated column | `STORED` |
//! | MariaDB → MySQL, TiDB | index `IGNORED` / `NOT IGNORED`, `ALTER INDEX i [NOT] IGNORED` | `INVISIBLE` / `VISIBLE` |
//! | MariaDB → MySQL, TiDB | `/*M!...*/` comments, and 6-digit version comments | the plain text (MySQL skips them) |
//! | MariaDB → MySQL, TiDB | 5-digit version comments ≥ 50700 (MariaDB skipped them) | removed |
//! | MariaDB → MySQL | `DEFAULT f()` (as `SHOW CREATE TABLE` writes it) | `DEFAULT (f())`, except `CURRENT_TIMESTAMP`/`NOW`/`LOCALTIME[STAMP]` |
//! | MariaDB → MySQL | `DEFAULT 'x'` on a `TEXT`/`BLOB`/`JSON`/spatial column | `DEFAULT ('x')` |
//! | MariaDB → MySQL, TiDB | system versioning, application-time periods, types `INET4`, `INET6`, `UUID`, `XMLTYPE`, `VECTOR` | unsupported |
//!
//! MariaDB's `JSON` is kept as written: MariaDB logs `ADD COLUMN j JSON` as it was typed (its
//! alias for `LONGTEXT` with `CHECK (json_valid(j))`), and MySQL creates a real JSON column
//! that accepts every valid document the upstream can hold. Between servers of the same
//! family only collations change.

use std::ops::Range;

use mysql_async::Conn;

use super::lexer::{self, Kind, Token};
use super::{excerpt, SqlMode};
use crate::db::{Endpoint, Flavor, ServerInfo};
use crate::error::TaskError;
use crate::schema::TargetCaps;

/// A statement rendered for the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The statement to run downstream.
    pub sql: String,
    /// What was changed, human-readable, one entry per rewrite (empty: the statement is
    /// unchanged).
    pub rewrites: Vec<String>,
}

/// A statement that cannot be rendered for the target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialectError {
    /// The target has no equivalent of part of the statement.
    #[error("{what}; statement `{statement}`")]
    Unsupported {
        /// What the target lacks.
        what: String,
        /// The statement (truncated).
        statement: String,
    },
    /// The statement cannot be tokenized.
    #[error("cannot read statement `{statement}`: {reason}")]
    Unreadable {
        /// The statement (truncated).
        statement: String,
        /// Why.
        reason: String,
    },
}

/// The two ends of a replication, for rendering its DDL.
#[derive(Debug, Clone)]
pub struct Dialects {
    /// The upstream's family.
    pub from: Flavor,
    /// What the downstream accepts.
    pub to: TargetCaps,
}

impl Dialects {
    /// Identifies the upstream (`SELECT VERSION()`) and the downstream behind `down_conn`
    /// (its family and collations).
    pub async fn detect(
        up: &Endpoint,
        down_conn: &mut Conn,
        down: &Endpoint,
    ) -> Result<Self, TaskError> {
        let mut up_conn = up.connect(Vec::new()).await?;
        let from = ServerInfo::detect(&mut up_conn, up).await?.flavor;
        drop(up_conn);
        let flavor = ServerInfo::detect(down_conn, down).await?.flavor;
        let to = TargetCaps::detect(down_conn, down, flavor).await?;
        Ok(Self { from, to })
    }

    /// [`render_for_target`] between these ends.
    pub fn render(&self, sql: &str, mode: SqlMode) -> Result<Rendered, DialectError> {
        render_for_target(sql, self.from, &self.to, mode)
    }
}

/// Renders the DDL `sql`, written on a `from` server under `mode`, for the target `to`.
pub fn render_for_target(
    sql: &str,
    from: Flavor,
    to: &TargetCaps,
    mode: SqlMode,
) -> Result<Rendered, DialectError> {
    let toks = lexer::tokenize(sql, mode).map_err(|reason| DialectError::Unreadable {
        statement: excerpt(sql),
        reason: reason.to_string(),
    })?;
    let mut r = Renderer {
        sql,
        from,
        to,
        toks: Vec::new(),
        edits: Vec::new(),
        rewrites: Vec::new(),
    };
    r.comments(toks);
    r.collations();
    if from != to.flavor {
        r.statement()?;
    }
    Ok(r.finish())
}

/// A versioned comment `/*!NNNNN ... */` or `/*M!NNNNNN ... */`.
#[derive(Debug)]
struct ExecComment {
    /// `/*!NNNNN`.
    open: Range<usize>,
    /// `*/`.
    close: Range<usize>,
    version: Option<u32>,
    mariadb_only: bool,
}

impl ExecComment {
    /// True when a server of `flavor` runs the comment's content.
    fn runs_on(&self, flavor: Flavor) -> bool {
        match (flavor, self.mariadb_only, self.version) {
            (Flavor::Mariadb, true, _) => true,
            (_, true, _) => false,
            (_, false, None) => true,
            // MariaDB skips MySQL 5.7+ version comments (checked: 50700 and 80000 skipped,
            // 50699 and 100000 run).
            (Flavor::Mariadb, false, Some(v)) => !(50700..100_000).contains(&v),
            // MySQL reads a 6-digit version as 10.0.0+: newer than itself.
            (_, false, Some(v)) => v < 100_000,
        }
    }

    fn text<'a>(&self, sql: &'a str) -> &'a str {
        sql.get(self.open.start..self.close.end).unwrap_or_default()
    }
}

/// Finds the versioned comments between the tokens (the lexer keeps their content as tokens
/// and skips the markers).
fn exec_comments(sql: &str, toks: &[Token]) -> Vec<ExecComment> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut open: Option<(Range<usize>, Option<u32>, bool)> = None;
    let mut gaps: Vec<Range<usize>> = Vec::with_capacity(toks.len() + 1);
    let mut at = 0;
    for t in toks {
        gaps.push(at..t.span.start);
        at = t.span.end;
    }
    gaps.push(at..sql.len());
    for gap in gaps {
        let mut i = gap.start;
        while i < gap.end {
            let c = b[i];
            let next = b.get(i + 1).copied();
            if c == b'#' || (c == b'-' && next == Some(b'-')) {
                i = sql[i..gap.end].find('\n').map_or(gap.end, |p| i + p + 1);
            } else if c == b'/' && next == Some(b'*') {
                let bang = match (b.get(i + 2), b.get(i + 3)) {
                    (Some(b'!'), _) => Some((3, false)),
                    (Some(b'M'), Some(b'!')) => Some((4, true)),
                    _ => None,
                };
                match bang {
                    Some((skip, mariadb_only)) if open.is_none() => {
                        let start = i;
                        i += skip;
                        let digits = i;
                        while i < gap.end && b[i].is_ascii_digit() {
                            i += 1;
                        }
                        let version = sql[digits..i].parse().ok();
                        open = Some((start..i, version, mariadb_only));
                    }
                    _ => {
                        let end = sql[i + 2..gap.end]
                            .find("*/")
                            .map_or(gap.end, |p| i + 2 + p + 2);
                        i = end;
                    }
                }
            } else if c == b'*' && next == Some(b'/') {
                if let Some((o, version, mariadb_only)) = open.take() {
                    out.push(ExecComment {
                        open: o,
                        close: i..i + 2,
                        version,
                        mariadb_only,
                    });
                }
                i += 2;
            } else {
                i += 1;
            }
        }
    }
    out
}

const COLUMN_TYPES_BLOB: &[&str] = &[
    "TINYTEXT",
    "TEXT",
    "MEDIUMTEXT",
    "LONGTEXT",
    "TINYBLOB",
    "BLOB",
    "MEDIUMBLOB",
    "LONGBLOB",
    "JSON",
    "GEOMETRY",
    "POINT",
    "LINESTRING",
    "POLYGON",
    "MULTIPOINT",
    "MULTILINESTRING",
    "MULTIPOLYGON",
    "GEOMETRYCOLLECTION",
];

/// Types only MariaDB has.
const MARIADB_TYPES: &[&str] = &["INET4", "INET6", "UUID", "XMLTYPE", "VECTOR"];

/// Functions MySQL accepts unparenthesized as a column default.
const MYSQL_BARE_DEFAULTS: &[&str] = &["CURRENT_TIMESTAMP", "NOW", "LOCALTIME", "LOCALTIMESTAMP"];

/// Words that start an index or constraint element rather than a column.
const INDEX_WORDS: &[&str] = &[
    "PRIMARY",
    "KEY",
    "INDEX",
    "UNIQUE",
    "FULLTEXT",
    "SPATIAL",
    "FOREIGN",
    "CONSTRAINT",
    "CHECK",
];

struct Renderer<'a> {
    sql: &'a str,
    from: Flavor,
    to: &'a TargetCaps,
    /// Tokens that the upstream ran (those of skipped versioned comments are left out).
    toks: Vec<Token>,
    edits: Vec<(Range<usize>, String)>,
    rewrites: Vec<String>,
}

impl Renderer<'_> {
    fn note(&mut self, what: impl Into<String>) {
        let what = what.into();
        if !self.rewrites.contains(&what) {
            self.rewrites.push(what);
        }
    }

    fn unsupported(&self, what: impl Into<String>) -> DialectError {
        DialectError::Unsupported {
            what: what.into(),
            statement: excerpt(self.sql),
        }
    }

    fn target(&self) -> &'static str {
        flavor_name(self.to.flavor)
    }

    fn kw(&self, i: usize, kw: &str) -> bool {
        self.toks.get(i).is_some_and(|t| t.is_kw(kw))
    }

    fn punct(&self, i: usize, c: u8) -> bool {
        self.toks.get(i).is_some_and(|t| t.kind == Kind::Punct(c))
    }

    fn text(&self, i: usize) -> &str {
        self.toks
            .get(i)
            .and_then(|t| self.sql.get(t.span.clone()))
            .unwrap_or_default()
    }

    /// The text from token `a` to token `b` (inclusive).
    fn text_range(&self, a: usize, b: usize) -> &str {
        match (self.toks.get(a), self.toks.get(b)) {
            (Some(x), Some(y)) => self.sql.get(x.span.start..y.span.end).unwrap_or_default(),
            _ => "",
        }
    }

    fn replace(&mut self, i: usize, with: impl Into<String>) {
        if let Some(t) = self.toks.get(i) {
            self.edits.push((t.span.clone(), with.into()));
        }
    }

    /// Removes tokens `a..b` and the whitespace before them.
    fn remove(&mut self, a: usize, b: usize) {
        if a >= b || b > self.toks.len() {
            return;
        }
        let mut start = self.toks[a].span.start;
        let floor = if a == 0 { 0 } else { self.toks[a - 1].span.end };
        let bytes = self.sql.as_bytes();
        while start > floor && bytes[start - 1].is_ascii_whitespace() {
            start -= 1;
        }
        self.edits
            .push((start..self.toks[b - 1].span.end, String::new()));
    }

    /// Removes the list element `a..b` with one comma next to it.
    fn remove_element(&mut self, a: usize, b: usize) {
        if self.punct(b, b',') {
            let end = self
                .toks
                .get(b + 1)
                .map_or(self.toks[b].span.end, |t| t.span.start);
            self.edits
                .push((self.toks[a].span.start..end, String::new()));
        } else if a > 0 && self.punct(a - 1, b',') {
            self.remove(a - 1, b);
        } else {
            self.remove(a, b);
        }
    }

    /// The index of the `)` that closes the `(` at `open` (or the end).
    fn close_of(&self, open: usize) -> usize {
        let mut depth = 0usize;
        for i in open..self.toks.len() {
            if self.punct(i, b'(') {
                depth += 1;
            } else if self.punct(i, b')') {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i;
                }
            }
        }
        self.toks.len()
    }

    /// Splits `a..b` at commas outside parentheses.
    fn split(&self, a: usize, b: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut depth = 0usize;
        let mut start = a;
        for i in a..b {
            if self.punct(i, b'(') {
                depth += 1;
            } else if self.punct(i, b')') {
                depth = depth.saturating_sub(1);
            } else if depth == 0 && self.punct(i, b',') {
                out.push((start, i));
                start = i + 1;
            }
        }
        if start < b {
            out.push((start, b));
        }
        out
    }

    /// Tokens `a..b` at parenthesis depth 0 (relative to `a`).
    fn top_level(&self, a: usize, b: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut depth = 0usize;
        for i in a..b {
            if self.punct(i, b'(') {
                if depth == 0 {
                    out.push(i);
                }
                depth += 1;
            } else if self.punct(i, b')') {
                depth = depth.saturating_sub(1);
            } else if depth == 0 {
                out.push(i);
            }
        }
        out
    }

    /// Resolves the versioned comments the two servers read differently, and keeps the tokens
    /// the upstream ran.
    fn comments(&mut self, toks: Vec<Token>) {
        let cross = self.from != self.to.flavor;
        let comments = exec_comments(self.sql, &toks);
        let mut dead: Vec<Range<usize>> = Vec::new();
        for c in &comments {
            let up = c.runs_on(self.from);
            let down = c.runs_on(self.to.flavor);
            if !up {
                dead.push(c.open.start..c.close.end);
            }
            if !cross || up == down {
                continue;
            }
            let text = excerpt(c.text(self.sql));
            let bytes = self.sql.as_bytes();
            // The opening `/*!NNNNN` goes with the blanks before it.
            let mut open = c.open.start;
            let floor = toks
                .iter()
                .map(|t| t.span.end)
                .filter(|&e| e <= open)
                .max()
                .unwrap_or(0);
            while open > floor && bytes[open - 1].is_ascii_whitespace() {
                open -= 1;
            }
            if up {
                // The closing `*/` goes with the blanks before it.
                let floor = toks
                    .iter()
                    .map(|t| t.span.end)
                    .filter(|&e| e <= c.close.start)
                    .max()
                    .unwrap_or(c.open.end)
                    .max(c.open.end);
                let mut close = c.close.start;
                while close > floor && bytes[close - 1].is_ascii_whitespace() {
                    close -= 1;
                }
                self.edits.push((open..c.open.end, String::new()));
                self.edits.push((close..c.close.end, String::new()));
                self.note(format!(
                    "versioned comment `{text}` made plain text ({} ran it, {} would skip it)",
                    flavor_name(self.from),
                    self.target()
                ));
            } else {
                self.edits.push((open..c.close.end, String::new()));
                self.note(format!(
                    "versioned comment `{text}` removed ({} skipped it, {} would run it)",
                    flavor_name(self.from),
                    self.target()
                ));
            }
        }
        self.toks = toks
            .into_iter()
            .filter(|t| !dead.iter().any(|d| d.contains(&t.span.start)))
            .collect();
    }

    /// `COLLATE x` where the target lacks `x`.
    fn collations(&mut self) {
        for i in 0..self.toks.len() {
            if !self.kw(i, "COLLATE") {
                continue;
            }
            let n = if self.punct(i + 1, b'=') {
                i + 2
            } else {
                i + 1
            };
            let Some(t) = self.toks.get(n) else { continue };
            let (name, quote) = match t.kind {
                Kind::Word | Kind::Quoted => (t.ident.clone(), t.kind == Kind::Quoted),
                Kind::Str => {
                    let raw = self.text(n);
                    (raw[1..raw.len().saturating_sub(1)].to_string(), true)
                }
                Kind::Punct(_) => continue,
            };
            // MariaDB 10.10+ accepts UCA 14 collations without their character set.
            let full = if name.to_ascii_lowercase().starts_with("uca1400_") {
                format!("utf8mb4_{name}")
            } else {
                name.clone()
            };
            let new = match self.to.map_collation(&full) {
                Some(new) => new,
                None if full != name
                    && !self.to.collations.contains(&name.to_ascii_lowercase()) =>
                {
                    full
                }
                None => continue,
            };
            let text = if quote {
                let q = &self.text(n)[..1];
                format!("{q}{new}{q}")
            } else {
                new.clone()
            };
            self.replace(n, text);
            self.note(format!(
                "collation {name} → {new} ({} has no {name})",
                self.target()
            ));
        }
    }

    fn statement(&mut self) -> Result<(), DialectError> {
        let to_mariadb = self.to.flavor == Flavor::Mariadb;
        let from_mariadb = self.from == Flavor::Mariadb;
        if to_mariadb {
            self.json_arrows()?;
            self.encryption()?;
        }
        if from_mariadb {
            for i in 0..self.toks.len() {
                if self.kw(i, "SYSTEM") && self.kw(i + 1, "VERSIONING")
                    || self.kw(i, "PERIOD") && self.kw(i + 1, "FOR")
                    || self.kw(i, "ROW")
                        && (self.kw(i + 1, "START") || self.kw(i + 1, "END"))
                        && i > 0
                        && self.kw(i - 1, "AS")
                {
                    return Err(self.unsupported(format!(
                        "{} has no system-versioned tables or application-time periods \
                         (`{}`)",
                        self.target(),
                        self.text_range(i, i + 1)
                    )));
                }
            }
        }
        if self.kw(0, "CREATE") {
            let mut i = 1;
            if self.kw(i, "OR") && self.kw(i + 1, "REPLACE") {
                i += 2;
            }
            if self.kw(i, "TABLE") {
                return self.create_table(i + 1);
            }
            while ["UNIQUE", "FULLTEXT", "SPATIAL", "ONLINE", "OFFLINE"]
                .iter()
                .any(|k| self.kw(i, k))
            {
                i += 1;
            }
            if self.kw(i, "INDEX") || self.kw(i, "KEY") {
                return self.create_index(i + 1);
            }
        } else if self.kw(0, "ALTER") {
            let mut i = 1;
            while self.kw(i, "ONLINE") || self.kw(i, "IGNORE") {
                i += 1;
            }
            if self.kw(i, "TABLE") {
                return self.alter_table(i + 1);
            }
        } else if self.kw(0, "DROP") && self.kw(1, "INDEX") {
            self.if_exists(2);
            let end = self.toks.len();
            self.algorithm_tokens(2, end);
        }
        Ok(())
    }

    /// `IF [NOT] EXISTS` at `i`, dropped for MySQL; returns the index after it.
    fn if_exists(&mut self, i: usize) -> usize {
        let len = if self.kw(i, "IF") && self.kw(i + 1, "NOT") && self.kw(i + 2, "EXISTS") {
            3
        } else if self.kw(i, "IF") && self.kw(i + 1, "EXISTS") {
            2
        } else {
            return i;
        };
        if self.to.flavor == Flavor::Mysql {
            let text = self.text_range(i, i + len - 1).to_string();
            self.remove(i, i + len);
            self.note(format!(
                "`{text}` dropped (MySQL has no `{text}` in this clause; a change the upstream \
                 skipped because it was already done pauses the task downstream)"
            ));
        }
        i + len
    }

    /// Skips a (qualified) table name at `i`.
    fn skip_name(&self, i: usize) -> usize {
        let mut i = i + 1;
        while self.punct(i, b'.') {
            i += 2;
        }
        i
    }

    fn create_table(&mut self, i: usize) -> Result<(), DialectError> {
        let i = self.skip_name(self.skip_if_exists(i));
        if !self.punct(i, b'(') {
            return Ok(());
        }
        let close = self.close_of(i);
        for (a, b) in self.split(i + 1, close) {
            self.element(a, b)?;
        }
        let end = self.toks.len();
        self.table_options(close + 1, end);
        Ok(())
    }

    fn skip_if_exists(&self, i: usize) -> usize {
        if self.kw(i, "IF") && self.kw(i + 1, "NOT") && self.kw(i + 2, "EXISTS") {
            i + 3
        } else if self.kw(i, "IF") && self.kw(i + 1, "EXISTS") {
            i + 2
        } else {
            i
        }
    }

    /// One element of a `CREATE TABLE` list or of `ADD (...)`: a column, an index or a
    /// constraint.
    fn element(&mut self, a: usize, b: usize) -> Result<(), DialectError> {
        if a >= b {
            return Ok(());
        }
        if self.toks[a].kind == Kind::Word && INDEX_WORDS.iter().any(|k| self.kw(a, k)) {
            return self.index_element(a, b, (a, b));
        }
        if self.kw(a, "PERIOD") {
            return Ok(()); // refused in `statement`
        }
        self.column(a, b)
    }

    /// An index or constraint definition `a..b` (an element of its list).
    /// `element`: the list element to remove with it (the whole `ADD ...` of an ALTER).
    fn index_element(
        &mut self,
        a: usize,
        b: usize,
        element: (usize, usize),
    ) -> Result<(), DialectError> {
        let mut i = a;
        if self.kw(i, "CONSTRAINT") {
            i += 1;
            i = self.if_exists(i);
            if !self.kw(i, "CHECK")
                && !self.kw(i, "PRIMARY")
                && !self.kw(i, "UNIQUE")
                && !self.kw(i, "FOREIGN")
            {
                i += 1; // the constraint's name
            }
        }
        if self.kw(i, "CHECK") {
            return self.check_clause(i, b, Some(element));
        }
        // The key part list: the first parenthesis.
        let Some(open) = (i..b).find(|&j| self.punct(j, b'(')) else {
            return Ok(());
        };
        // `ADD INDEX IF NOT EXISTS i (...)`, `ADD FOREIGN KEY IF NOT EXISTS f (...)`.
        if let Some(f) = (i..open).find(|&j| self.kw(j, "IF")) {
            self.if_exists(f);
        }
        if self.kw(i, "FOREIGN") {
            return Ok(());
        }
        let close = self.close_of(open);
        self.key_parts(open, close)?;
        self.index_options(close + 1, b);
        Ok(())
    }

    fn key_parts(&mut self, open: usize, close: usize) -> Result<(), DialectError> {
        if self.to.flavor != Flavor::Mariadb {
            return Ok(());
        }
        for (a, _) in self.split(open + 1, close) {
            if self.punct(a, b'(') {
                return Err(self.unsupported(format!(
                    "MariaDB has no functional key parts (index on the expression `{}`); \
                     a generated column would change the table's shape",
                    self.text_range(a, self.close_of(a))
                )));
            }
        }
        Ok(())
    }

    /// `VISIBLE`, `INVISIBLE`, `IGNORED`, `NOT IGNORED` after the key parts.
    fn index_options(&mut self, a: usize, b: usize) {
        let top = self.top_level(a, b);
        for (k, &i) in top.iter().enumerate() {
            match self.to.flavor {
                Flavor::Mariadb if self.kw(i, "INVISIBLE") => {
                    self.replace(i, "IGNORED");
                    self.note("invisible index → IGNORED (MariaDB's name for it)");
                }
                Flavor::Mariadb if self.kw(i, "VISIBLE") => {
                    self.remove(i, i + 1);
                    self.note(
                        "`VISIBLE` index option dropped (the default; MariaDB lacks the word)",
                    );
                }
                Flavor::Mysql | Flavor::Tidb if self.kw(i, "IGNORED") => {
                    let not = k > 0 && self.kw(top[k - 1], "NOT");
                    if not {
                        self.remove(top[k - 1], top[k - 1] + 1);
                        self.replace(i, "VISIBLE");
                    } else {
                        self.replace(i, "INVISIBLE");
                    }
                    self.note(format!(
                        "{}IGNORED index → {}VISIBLE ({}'s name for it)",
                        if not { "NOT " } else { "" },
                        if not { "" } else { "IN" },
                        self.target()
                    ));
                }
                _ => {}
            }
        }
        self.algorithm_tokens(a, b);
    }

    /// `CHECK (expr) [NOT] ENFORCED` at `i` (up to `b`); `element`: the list element the
    /// constraint is (`None` for a column's constraint, which is removed alone).
    fn check_clause(
        &mut self,
        i: usize,
        b: usize,
        element: Option<(usize, usize)>,
    ) -> Result<(), DialectError> {
        if self.to.flavor != Flavor::Mariadb || !self.punct(i + 1, b'(') {
            return Ok(());
        }
        let close = self.close_of(i + 1);
        let e = close + 1;
        if e < b && self.kw(e, "ENFORCED") {
            self.remove(e, e + 1);
            self.note(
                "`ENFORCED` dropped from a CHECK constraint (the default; MariaDB lacks the word)",
            );
        } else if e + 1 < b && self.kw(e, "NOT") && self.kw(e + 1, "ENFORCED") {
            let text = excerpt(self.text_range(element.map_or(i, |x| x.0), e + 1));
            match element {
                Some((a, b)) => self.remove_element(a, b),
                None => self.remove(i, e + 2),
            }
            self.note(format!(
                "unenforced constraint `{text}` dropped (MariaDB has no NOT ENFORCED; an \
                 unenforced constraint never rejects a row, enforcing it could)"
            ));
        }
        Ok(())
    }

    /// A column definition `a..b`: name, type, attributes.
    fn column(&mut self, a: usize, b: usize) -> Result<(), DialectError> {
        let ty = a + 1;
        if ty >= b {
            return Ok(());
        }
        let type_name = self.toks[ty].ident.to_ascii_uppercase();
        if self.from == Flavor::Mariadb
            && self.toks[ty].kind == Kind::Word
            && MARIADB_TYPES.contains(&type_name.as_str())
        {
            return Err(self.unsupported(format!(
                "{} has no {type_name} type (column {}); replace the statement with one using \
                 a type the target has",
                self.target(),
                self.text(a)
            )));
        }
        let mut i = ty + 1;
        if self.punct(i, b'(') {
            i = self.close_of(i) + 1;
        }
        let blob = COLUMN_TYPES_BLOB.contains(&type_name.as_str());
        let top = self.top_level(i, b);
        let mut k = 0;
        while k < top.len() {
            let t = top[k];
            let word = |kw: &str| self.kw(t, kw);
            if word("VISIBLE") && self.to.flavor == Flavor::Mariadb {
                self.remove(t, t + 1);
                self.note(
                    "`VISIBLE` column attribute dropped (the default; MariaDB lacks the word)",
                );
            } else if word("SRID") && self.to.flavor == Flavor::Mariadb {
                let end = if top
                    .get(k + 1)
                    .is_some_and(|&n| self.toks[n].kind == Kind::Word)
                {
                    k += 1;
                    top[k] + 1
                } else {
                    t + 1
                };
                let text = self.text_range(t, end - 1).to_string();
                self.remove(t, end);
                self.note(format!(
                    "`{text}` dropped (MariaDB has no SRID constraint; the values are unchanged)"
                ));
            } else if word("COMPRESSED") && self.from == Flavor::Mariadb {
                let mut end = t + 1;
                if self.punct(end, b'=') && top.get(k + 2) == Some(&(end + 1)) {
                    end += 2;
                    k += 2;
                }
                let text = self.text_range(t, end - 1).to_string();
                self.remove(t, end);
                self.note(format!(
                    "`{text}` column attribute dropped ({} stores the column uncompressed)",
                    self.target()
                ));
            } else if word("PERSISTENT") && self.from == Flavor::Mariadb {
                self.replace(t, "STORED");
                self.note(format!(
                    "PERSISTENT generated column → STORED ({}'s word)",
                    self.target()
                ));
            } else if word("CHECK") {
                self.check_clause(t, b, None)?;
            } else if word("DEFAULT")
                && self.from == Flavor::Mariadb
                && self.to.flavor == Flavor::Mysql
            {
                self.mysql_default(t, b, blob);
            }
            k += 1;
        }
        Ok(())
    }

    /// MariaDB's `DEFAULT f()` and `DEFAULT 'x'` on a BLOB-like column, parenthesized.
    fn mysql_default(&mut self, t: usize, b: usize, blob: bool) {
        let v = t + 1;
        if v >= b {
            return;
        }
        let tok = &self.toks[v];
        let func = tok.kind == Kind::Word && self.punct(v + 1, b'(');
        if func {
            if MYSQL_BARE_DEFAULTS.iter().any(|f| tok.is_kw(f)) {
                return;
            }
            let close = self.close_of(v + 1);
            let text = self.text_range(v, close).to_string();
            self.replace(v, format!("({}", self.text(v)));
            self.edits.push((
                self.toks[close].span.end..self.toks[close].span.end,
                ")".to_string(),
            ));
            self.note(format!(
                "default `{text}` parenthesized (MySQL takes an expression default only in \
                 parentheses)"
            ));
            return;
        }
        let literal_end = match tok.kind {
            Kind::Str => Some(v),
            Kind::Word
                if !tok.is_kw("NULL") && tok.ident.starts_with(|c: char| c.is_ascii_digit()) =>
            {
                Some(v)
            }
            Kind::Punct(b'-') if self.toks.get(v + 1).is_some_and(|n| n.kind == Kind::Word) => {
                Some(v + 1)
            }
            _ => None,
        };
        if let (true, Some(end)) = (blob, literal_end) {
            let text = self.text_range(v, end).to_string();
            let span = self.toks[v].span.start..self.toks[end].span.end;
            self.edits.push((span, format!("({text})")));
            self.note(format!(
                "default {text} of a BLOB/TEXT/JSON/spatial column parenthesized (MySQL takes \
                 only an expression default there)"
            ));
        }
    }

    /// Table options after a `CREATE TABLE` list.
    fn table_options(&mut self, a: usize, b: usize) {
        self.algorithm_tokens(a, b);
    }

    /// `ALGORITHM [=] NOCOPY` inside `a..b` (not a list element): removed for MySQL and TiDB.
    fn algorithm_tokens(&mut self, a: usize, b: usize) {
        if self.to.flavor == Flavor::Mariadb {
            return;
        }
        for i in a..b {
            if let Some(end) = self.nocopy_at(i) {
                if end <= b {
                    self.remove(i, end);
                    self.note_nocopy();
                }
            }
        }
    }

    fn nocopy_at(&self, i: usize) -> Option<usize> {
        if !self.kw(i, "ALGORITHM") {
            return None;
        }
        let v = if self.punct(i + 1, b'=') {
            i + 2
        } else {
            i + 1
        };
        self.kw(v, "NOCOPY").then_some(v + 1)
    }

    fn note_nocopy(&mut self) {
        self.note(format!(
            "`ALGORITHM=NOCOPY` dropped ({} has no NOCOPY; it chooses the algorithm)",
            self.target()
        ));
    }

    fn create_index(&mut self, i: usize) -> Result<(), DialectError> {
        let i = self.if_exists(i);
        let Some(on) = (i..self.toks.len()).find(|&j| self.kw(j, "ON")) else {
            return Ok(());
        };
        let Some(open) = (on..self.toks.len()).find(|&j| self.punct(j, b'(')) else {
            return Ok(());
        };
        let close = self.close_of(open);
        self.key_parts(open, close)?;
        let end = self.toks.len();
        self.index_options(close + 1, end);
        Ok(())
    }

    fn alter_table(&mut self, i: usize) -> Result<(), DialectError> {
        let mut i = self.skip_name(self.skip_if_exists(i));
        if self.kw(i, "NOWAIT") {
            i += 1;
        } else if self.kw(i, "WAIT") {
            i += 2;
        }
        let end = self.toks.len();
        for (a, b) in self.split(i, end) {
            self.alter_spec(a, b)?;
        }
        Ok(())
    }

    fn alter_spec(&mut self, a: usize, b: usize) -> Result<(), DialectError> {
        let to_mariadb = self.to.flavor == Flavor::Mariadb;
        if self.nocopy_at(a) == Some(b) {
            if !to_mariadb {
                self.remove_element(a, b);
                self.note_nocopy();
            }
            return Ok(());
        }
        let first = self.toks[a].ident.to_ascii_uppercase();
        match first.as_str() {
            "ADD" => {
                let mut i = a + 1;
                if self.kw(i, "COLUMN") {
                    i += 1;
                }
                if self.toks.get(i).is_some_and(|t| t.kind == Kind::Word)
                    && INDEX_WORDS.iter().any(|k| self.kw(i, k))
                {
                    return self.index_element(i, b, (a, b));
                }
                i = self.if_exists(i);
                if self.punct(i, b'(') {
                    let close = self.close_of(i);
                    for (x, y) in self.split(i + 1, close) {
                        self.element(x, y)?;
                    }
                    return Ok(());
                }
                if self.kw(i, "PARTITION") {
                    self.if_exists(i + 1);
                    return Ok(());
                }
                self.column(i, b)
            }
            "MODIFY" | "CHANGE" => {
                let mut i = a + 1;
                if self.kw(i, "COLUMN") {
                    i += 1;
                }
                i = self.if_exists(i);
                if first == "CHANGE" {
                    i += 1;
                }
                self.column(i, b)
            }
            "DROP" => {
                let mut i = a + 1;
                if to_mariadb && self.kw(i, "CHECK") {
                    self.replace(i, "CONSTRAINT IF EXISTS");
                    self.note(
                        "DROP CHECK → DROP CONSTRAINT IF EXISTS (MariaDB's form; the \
                         constraint may be an unenforced one that was not created)",
                    );
                    return Ok(());
                }
                while [
                    "COLUMN",
                    "INDEX",
                    "KEY",
                    "FOREIGN",
                    "CONSTRAINT",
                    "PARTITION",
                ]
                .iter()
                .any(|k| self.kw(i, k))
                {
                    i += 1;
                }
                self.if_exists(i);
                Ok(())
            }
            "RENAME" => {
                if self.kw(a + 1, "COLUMN") || self.kw(a + 1, "INDEX") || self.kw(a + 1, "KEY") {
                    self.if_exists(a + 2);
                }
                Ok(())
            }
            "ALTER" => self.alter_alter(a, b),
            _ => {
                self.algorithm_tokens(a, b);
                Ok(())
            }
        }
    }

    /// `ALTER INDEX`, `ALTER COLUMN`, `ALTER CHECK|CONSTRAINT`.
    fn alter_alter(&mut self, a: usize, b: usize) -> Result<(), DialectError> {
        let to_mariadb = self.to.flavor == Flavor::Mariadb;
        if self.kw(a + 1, "INDEX") || self.kw(a + 1, "KEY") {
            let v = a + 3;
            let (old, new) = match self.to.flavor {
                Flavor::Mariadb if self.kw(v, "INVISIBLE") => ("INVISIBLE", "IGNORED"),
                Flavor::Mariadb if self.kw(v, "VISIBLE") => ("VISIBLE", "NOT IGNORED"),
                Flavor::Mysql | Flavor::Tidb if self.kw(v, "IGNORED") => ("IGNORED", "INVISIBLE"),
                Flavor::Mysql | Flavor::Tidb if self.kw(v, "NOT") && self.kw(v + 1, "IGNORED") => {
                    self.remove(v + 1, v + 2);
                    ("NOT IGNORED", "VISIBLE")
                }
                _ => return Ok(()),
            };
            self.replace(v, new);
            self.note(format!(
                "ALTER INDEX ... {old} → {new} ({}'s words)",
                self.target()
            ));
            return Ok(());
        }
        if to_mariadb && (self.kw(a + 1, "CHECK") || self.kw(a + 1, "CONSTRAINT")) {
            return Err(self.unsupported(format!(
                "MariaDB cannot switch a constraint between enforced and not enforced (`{}`)",
                self.text_range(a, b - 1)
            )));
        }
        let col = if self.kw(a + 1, "COLUMN") {
            a + 2
        } else {
            a + 1
        };
        if to_mariadb
            && self.kw(col + 1, "SET")
            && (self.kw(col + 2, "VISIBLE") || self.kw(col + 2, "INVISIBLE"))
        {
            return Err(self.unsupported(format!(
                "MariaDB has no `{}`: it changes visibility only with MODIFY and the whole \
                 column definition",
                self.text_range(a, b - 1)
            )));
        }
        Ok(())
    }

    /// `->` and `->>` (MySQL's JSON shorthands) for MariaDB.
    fn json_arrows(&mut self) -> Result<(), DialectError> {
        let mut i = 0;
        while i + 1 < self.toks.len() {
            let adjacent = |x: &Token, y: &Token| x.span.end == y.span.start;
            let (t0, t1) = (&self.toks[i], &self.toks[i + 1]);
            if !(t0.kind == Kind::Punct(b'-') && t1.kind == Kind::Punct(b'>') && adjacent(t0, t1)) {
                i += 1;
                continue;
            }
            let unquote = self
                .toks
                .get(i + 2)
                .is_some_and(|t2| t2.kind == Kind::Punct(b'>') && adjacent(t1, t2));
            let path = if unquote { i + 3 } else { i + 2 };
            // The left side is a column name, possibly qualified.
            let mut start = i;
            if start > 0 && self.toks[start - 1].is_ident() {
                start -= 1;
                while start >= 2 && self.punct(start - 1, b'.') && self.toks[start - 2].is_ident() {
                    start -= 2;
                }
            }
            let ok = start < i && self.toks.get(path).is_some_and(|t| t.kind == Kind::Str);
            if !ok {
                return Err(self.unsupported(format!(
                    "MariaDB has no `->` operator, and `{}` is not `column->'path'`",
                    self.text_range(start.min(i), path.min(self.toks.len() - 1))
                )));
            }
            let col = self.text_range(start, i - 1).to_string();
            let p = self.text(path).to_string();
            let (from_text, with) = if unquote {
                (
                    format!("{col}->>{p}"),
                    format!("json_unquote(json_extract({col}, {p}))"),
                )
            } else {
                (format!("{col}->{p}"), format!("json_extract({col}, {p})"))
            };
            let span = self.toks[start].span.start..self.toks[path].span.end;
            self.edits.push((span, with.clone()));
            self.note(format!(
                "`{from_text}` → `{with}` (MariaDB has no `->`/`->>`)"
            ));
            i = path + 1;
        }
        Ok(())
    }

    /// MySQL's `[DEFAULT] ENCRYPTION [=] 'N'|'Y'` option.
    fn encryption(&mut self) -> Result<(), DialectError> {
        for i in 0..self.toks.len() {
            if !self.kw(i, "ENCRYPTION") {
                continue;
            }
            let v = if self.punct(i + 1, b'=') {
                i + 2
            } else {
                i + 1
            };
            if self.toks.get(v).is_none_or(|t| t.kind != Kind::Str) {
                continue;
            }
            let start = if i > 0 && self.kw(i - 1, "DEFAULT") {
                i - 1
            } else {
                i
            };
            let value = self.text(v).to_ascii_uppercase();
            let text = self.text_range(start, v).to_string();
            if value.contains('N') {
                // `, ENCRYPTION='N'` in an ALTER list takes its comma along.
                if start > 0 && self.punct(start - 1, b',') {
                    self.remove(start - 1, v + 1);
                } else {
                    self.remove(start, v + 1);
                }
                self.note(format!(
                    "`{text}` dropped (MariaDB has no such option; not encrypting is its default)"
                ));
            } else {
                return Err(self.unsupported(format!(
                    "MariaDB has no `{text}` (it encrypts through its key management plugins \
                     and `ENCRYPTED=YES`)"
                )));
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Rendered {
        if self.edits.is_empty() {
            return Rendered {
                sql: self.sql.to_string(),
                rewrites: self.rewrites,
            };
        }
        // Sorted by start, insertions first, then the longer first: an edit inside another
        // one is dropped.
        self.edits.sort_by(|a, b| {
            a.0.start
                .cmp(&b.0.start)
                .then((!a.0.is_empty()).cmp(&!b.0.is_empty()))
                .then(b.0.end.cmp(&a.0.end))
        });
        let mut out = String::with_capacity(self.sql.len() + 32);
        let mut at = 0;
        for (range, with) in &self.edits {
            if range.start < at {
                continue;
            }
            out.push_str(self.sql.get(at..range.start).unwrap_or_default());
            out.push_str(with);
            at = range.end;
        }
        out.push_str(self.sql.get(at..).unwrap_or_default());
        Rendered {
            sql: out,
            rewrites: self.rewrites,
        }
    }
}

fn flavor_name(f: Flavor) -> &'static str {
    match f {
        Flavor::Mysql => "MySQL",
        Flavor::Mariadb => "MariaDB",
        Flavor::Tidb => "TiDB",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(flavor: Flavor) -> TargetCaps {
        let colls: &[&str] = match flavor {
            Flavor::Mariadb => &[
                "utf8mb4_general_ci",
                "utf8mb4_bin",
                "utf8mb4_unicode_520_ci",
                "utf8mb4_uca1400_ai_ci",
                "utf8mb4_uca1400_as_cs",
                "latin1_swedish_ci",
            ],
            _ => &[
                "utf8mb4_general_ci",
                "utf8mb4_bin",
                "utf8mb4_0900_ai_ci",
                "utf8mb4_0900_as_cs",
                "utf8mb4_unicode_520_ci",
                "latin1_swedish_ci",
            ],
        };
        TargetCaps {
            flavor,
            collations: colls.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn my2md(sql: &str) -> Rendered {
        render_for_target(
            sql,
            Flavor::Mysql,
            &caps(Flavor::Mariadb),
            SqlMode::default(),
        )
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    fn md2my(sql: &str) -> Rendered {
        render_for_target(
            sql,
            Flavor::Mariadb,
            &caps(Flavor::Mysql),
            SqlMode::default(),
        )
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    fn md2tidb(sql: &str) -> Rendered {
        render_for_target(
            sql,
            Flavor::Mariadb,
            &caps(Flavor::Tidb),
            SqlMode::default(),
        )
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    fn unsupported(sql: &str, from: Flavor, to: Flavor) -> String {
        match render_for_target(sql, from, &caps(to), SqlMode::default()) {
            Err(e @ DialectError::Unsupported { .. }) => e.to_string(),
            other => panic!("{sql}: expected unsupported, got {other:?}"),
        }
    }

    #[test]
    fn json_arrows_become_functions_for_mariadb() {
        let r = my2md(
            "CREATE TABLE `d`.`t` (j JSON, v INT AS (j->'$.a') VIRTUAL, \
             w VARCHAR(9) AS (`t`.`j`->>\"$.b\") STORED, CHECK (j -> '$.c' > 0), \
             x INT DEFAULT (j->'$.d'))",
        );
        assert_eq!(
            r.sql,
            "CREATE TABLE `d`.`t` (j JSON, v INT AS (json_extract(j, '$.a')) VIRTUAL, \
             w VARCHAR(9) AS (json_unquote(json_extract(`t`.`j`, \"$.b\"))) STORED, \
             CHECK (json_extract(j, '$.c') > 0), x INT DEFAULT (json_extract(j, '$.d')))"
        );
        assert_eq!(r.rewrites.len(), 4, "{:?}", r.rewrites);
        // Strings, comments and quoted names keep their arrows; so does MySQL.
        let s = "ALTER TABLE t ADD COLUMN `a->b` INT DEFAULT 1 COMMENT 'x->\\'y' /* j->'$' */";
        assert_eq!(my2md(s).sql, s);
        let s = "ALTER TABLE t ADD COLUMN v INT AS (j->'$.a')";
        let same = render_for_target(s, Flavor::Mysql, &caps(Flavor::Mysql), SqlMode::default());
        assert_eq!(same.unwrap().sql, s);
        // `a - > b` and other shapes.
        assert!(unsupported(
            "ALTER TABLE t ADD v INT AS ((j)->'$')",
            Flavor::Mysql,
            Flavor::Mariadb
        )
        .contains("`->`"));
    }

    #[test]
    fn ansi_quotes_are_identifiers() {
        let mode = SqlMode {
            ansi_quotes: true,
            no_backslash_escapes: false,
        };
        let r = render_for_target(
            "ALTER TABLE \"t\" ADD v INT AS (\"j\"->'$.a')",
            Flavor::Mysql,
            &caps(Flavor::Mariadb),
            mode,
        )
        .unwrap();
        assert_eq!(
            r.sql,
            "ALTER TABLE \"t\" ADD v INT AS (json_extract(\"j\", '$.a'))"
        );
    }

    #[test]
    fn collations_follow_the_target() {
        let r = my2md(
            "CREATE TABLE t (a VARCHAR(5) COLLATE utf8mb4_0900_ai_ci, b CHAR(1) COLLATE 'utf8mb4_0900_bin', \
             c TEXT COMMENT 'COLLATE utf8mb4_0900_ai_ci') DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_as_cs",
        );
        assert_eq!(
            r.sql,
            "CREATE TABLE t (a VARCHAR(5) COLLATE utf8mb4_uca1400_ai_ci, b CHAR(1) COLLATE 'utf8mb4_bin', \
             c TEXT COMMENT 'COLLATE utf8mb4_0900_ai_ci') DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_uca1400_as_cs"
        );
        assert_eq!(r.rewrites.len(), 3);
        let r = md2my("ALTER TABLE t MODIFY a TEXT COLLATE uca1400_ai_ci, CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_uca1400_ai_ci");
        assert_eq!(
            r.sql,
            "ALTER TABLE t MODIFY a TEXT COLLATE utf8mb4_0900_ai_ci, CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci"
        );
        // Same family: only collations the target lacks.
        let s = "ALTER TABLE t ADD c INT, ALGORITHM=NOCOPY, ADD COLUMN IF NOT EXISTS x TEXT COLLATE utf8mb4_0900_ai_ci";
        let r = render_for_target(
            s,
            Flavor::Mariadb,
            &caps(Flavor::Mariadb),
            SqlMode::default(),
        )
        .unwrap();
        assert_eq!(r.sql, s.replace("0900", "uca1400"));
    }

    #[test]
    fn mysql_versioned_comments_are_resolved_for_mariadb() {
        let r = my2md(
            "CREATE TABLE `g` (`p` point NOT NULL /*!80003 SRID 4326 */, `a` int /*!80023 INVISIBLE */, \
             KEY `ia` (`a`) /*!80000 INVISIBLE */) ENGINE=InnoDB /*!80016 DEFAULT ENCRYPTION='N' */ \
             /*!50100 PARTITION BY HASH (a) */",
        );
        assert_eq!(
            r.sql,
            "CREATE TABLE `g` (`p` point NOT NULL, `a` int INVISIBLE, \
             KEY `ia` (`a`) IGNORED) ENGINE=InnoDB \
             /*!50100 PARTITION BY HASH (a) */"
        );
        assert!(
            r.rewrites.iter().any(|w| w.contains("SRID 4326")),
            "{:?}",
            r.rewrites
        );
        assert!(
            r.rewrites.iter().any(|w| w.contains("IGNORED")),
            "{:?}",
            r.rewrites
        );
        assert!(unsupported(
            "CREATE TABLE t (a int) ENCRYPTION='Y'",
            Flavor::Mysql,
            Flavor::Mariadb
        )
        .contains("ENCRYPTED=YES"));
        let r = my2md("CREATE DATABASE d /*!40100 DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci */ /*!80016 DEFAULT ENCRYPTION='N' */");
        assert_eq!(
            r.sql,
            "CREATE DATABASE d /*!40100 DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_uca1400_ai_ci */"
        );
    }

    #[test]
    fn mariadb_versioned_comments_are_resolved_for_mysql() {
        let r = md2my("ALTER TABLE t ADD a INT /*M!100301 INVISIBLE */ /*!50700 COMMENT 'x' */");
        assert_eq!(r.sql, "ALTER TABLE t ADD a INT INVISIBLE");
        assert_eq!(r.rewrites.len(), 2);
        // The content MariaDB skipped is not rendered, nor refused.
        let r = md2my("ALTER TABLE t ADD a INT /*!80000 , ADD v INET6 */");
        assert_eq!(r.sql, "ALTER TABLE t ADD a INT");
    }

    #[test]
    fn invisible_indexes_and_columns() {
        let r = my2md(
            "ALTER TABLE t ADD INDEX i (a) INVISIBLE, ADD UNIQUE KEY u (b) VISIBLE COMMENT 'INVISIBLE', \
             ADD COLUMN c INT INVISIBLE, ADD COLUMN e INT VISIBLE, ALTER INDEX j VISIBLE, ALTER INDEX k INVISIBLE",
        );
        assert_eq!(
            r.sql,
            "ALTER TABLE t ADD INDEX i (a) IGNORED, ADD UNIQUE KEY u (b) COMMENT 'INVISIBLE', \
             ADD COLUMN c INT INVISIBLE, ADD COLUMN e INT, ALTER INDEX j NOT IGNORED, ALTER INDEX k IGNORED"
        );
        let r = md2my("ALTER TABLE t ADD INDEX i (a) IGNORED, ALTER INDEX j NOT IGNORED, ALTER INDEX k IGNORED");
        assert_eq!(
            r.sql,
            "ALTER TABLE t ADD INDEX i (a) INVISIBLE, ALTER INDEX j VISIBLE, ALTER INDEX k INVISIBLE"
        );
        let r = md2my("CREATE INDEX i ON t (a) IGNORED");
        assert_eq!(r.sql, "CREATE INDEX i ON t (a) INVISIBLE");
        let r = my2md("CREATE INDEX i ON t (a) INVISIBLE");
        assert_eq!(r.sql, "CREATE INDEX i ON t (a) IGNORED");
        assert!(unsupported(
            "ALTER TABLE t ALTER COLUMN c SET INVISIBLE",
            Flavor::Mysql,
            Flavor::Mariadb
        )
        .contains("MODIFY"));
    }

    #[test]
    fn alter_index_visible_for_mariadb_is_not_ignored() {
        // `ALTER INDEX j VISIBLE` must stay a valid statement.
        let r = my2md("ALTER TABLE t ALTER INDEX j VISIBLE");
        assert_eq!(r.sql, "ALTER TABLE t ALTER INDEX j NOT IGNORED");
    }

    #[test]
    fn functional_indexes_are_unsupported_on_mariadb() {
        for s in [
            "CREATE TABLE t (a INT, KEY f ((a + 1)))",
            "ALTER TABLE t ADD INDEX f ((lower(b)), a)",
            "CREATE INDEX f ON t ((json_value(j, '$.a' RETURNING CHAR(10))))",
        ] {
            let e = unsupported(s, Flavor::Mysql, Flavor::Mariadb);
            assert!(e.contains("functional key parts") && e.contains(s), "{e}");
        }
        // Prefix key parts are no expressions.
        assert_eq!(
            my2md("ALTER TABLE t ADD INDEX p (b(10), a)").sql,
            "ALTER TABLE t ADD INDEX p (b(10), a)"
        );
    }

    #[test]
    fn check_constraints_for_mariadb() {
        let r = my2md(
            "CREATE TABLE t (a INT CHECK (a > 0) ENFORCED, b INT CHECK (b < 5) NOT ENFORCED, \
             CONSTRAINT c1 CHECK (a < 10) NOT ENFORCED, CONSTRAINT c2 CHECK (a <> 3))",
        );
        assert_eq!(
            r.sql,
            "CREATE TABLE t (a INT CHECK (a > 0), b INT, CONSTRAINT c2 CHECK (a <> 3))"
        );
        assert_eq!(r.rewrites.len(), 3, "{:?}", r.rewrites);
        let r = my2md("ALTER TABLE t ADD CONSTRAINT c3 CHECK (a > 1) NOT ENFORCED, DROP CHECK c1");
        assert_eq!(r.sql, "ALTER TABLE t DROP CONSTRAINT IF EXISTS c1");
        assert!(unsupported(
            "ALTER TABLE t ALTER CHECK c2 NOT ENFORCED",
            Flavor::Mysql,
            Flavor::Mariadb
        )
        .contains("enforced"));
        // MariaDB → MySQL: both have CHECK.
        let s = "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0)";
        assert_eq!(md2my(s).sql, s);
    }

    #[test]
    fn algorithm_and_lock_clauses() {
        let s = "ALTER TABLE t ADD c INT, ALGORITHM=INSTANT, LOCK=NONE";
        assert_eq!(my2md(s).sql, s);
        for (s, want) in [
            (
                "ALTER TABLE t ADD c INT, ALGORITHM=NOCOPY",
                "ALTER TABLE t ADD c INT",
            ),
            (
                "ALTER TABLE t ALGORITHM = NOCOPY, ADD c INT, LOCK=NONE",
                "ALTER TABLE t ADD c INT, LOCK=NONE",
            ),
            (
                "ALTER TABLE t ADD c INT, ALGORITHM=INPLACE",
                "ALTER TABLE t ADD c INT, ALGORITHM=INPLACE",
            ),
            (
                "CREATE INDEX i ON t (a) ALGORITHM=NOCOPY LOCK=NONE",
                "CREATE INDEX i ON t (a) LOCK=NONE",
            ),
            ("DROP INDEX i ON t ALGORITHM NOCOPY", "DROP INDEX i ON t"),
        ] {
            let r = md2my(s);
            assert_eq!(r.sql, want);
            assert_eq!(r.rewrites.len(), usize::from(s != want), "{:?}", r.rewrites);
        }
        assert_eq!(
            md2tidb("ALTER TABLE t ADD c INT, ALGORITHM=NOCOPY").sql,
            "ALTER TABLE t ADD c INT"
        );
        // The word in a string or a name is no clause.
        let s = "ALTER TABLE t ADD `ALGORITHM` INT COMMENT 'ALGORITHM=NOCOPY'";
        assert_eq!(md2my(s).sql, s);
    }

    #[test]
    fn if_exists_in_alter_for_mysql() {
        let r = md2my(
            "ALTER TABLE t ADD COLUMN IF NOT EXISTS a INT, DROP COLUMN IF EXISTS b, \
             ADD INDEX IF NOT EXISTS i (a), DROP INDEX IF EXISTS j, MODIFY IF EXISTS c TEXT, \
             CHANGE COLUMN IF EXISTS d e INT, ADD CONSTRAINT IF NOT EXISTS k CHECK (a > 0), \
             DROP FOREIGN KEY IF EXISTS f",
        );
        assert_eq!(
            r.sql,
            "ALTER TABLE t ADD COLUMN a INT, DROP COLUMN b, ADD INDEX i (a), DROP INDEX j, \
             MODIFY c TEXT, CHANGE COLUMN d e INT, ADD CONSTRAINT k CHECK (a > 0), DROP FOREIGN KEY f"
        );
        assert_eq!(
            md2my("CREATE INDEX IF NOT EXISTS i ON t (a)").sql,
            "CREATE INDEX i ON t (a)"
        );
        assert_eq!(
            md2my("DROP INDEX IF EXISTS i ON t").sql,
            "DROP INDEX i ON t"
        );
        // The table's own IF [NOT] EXISTS stays (Ferry adds it), and TiDB has them all.
        let s = "CREATE TABLE IF NOT EXISTS `d`.`t` (a INT)";
        assert_eq!(md2my(s).sql, s);
        let s = "ALTER TABLE t ADD COLUMN IF NOT EXISTS a INT";
        assert_eq!(md2tidb(s).sql, s);
    }

    #[test]
    fn mariadb_column_attributes_for_mysql() {
        let r = md2my(
            "CREATE TABLE t (id INT PRIMARY KEY, b BLOB COMPRESSED, c VARCHAR(9) COMPRESSED=zlib DEFAULT 'x', \
             v INT AS (id + 1) PERSISTENT, d DATE DEFAULT curdate(), e DATETIME DEFAULT current_timestamp(), \
             u VARCHAR(40) DEFAULT uuid(), t TEXT DEFAULT 'abc', n MEDIUMTEXT DEFAULT NULL, \
             k INT DEFAULT -1) ROW_FORMAT=COMPRESSED",
        );
        assert_eq!(
            r.sql,
            "CREATE TABLE t (id INT PRIMARY KEY, b BLOB, c VARCHAR(9) DEFAULT 'x', \
             v INT AS (id + 1) STORED, d DATE DEFAULT (curdate()), e DATETIME DEFAULT current_timestamp(), \
             u VARCHAR(40) DEFAULT (uuid()), t TEXT DEFAULT ('abc'), n MEDIUMTEXT DEFAULT NULL, \
             k INT DEFAULT -1) ROW_FORMAT=COMPRESSED"
        );
        assert_eq!(r.rewrites.len(), 6, "{:?}", r.rewrites);
    }

    #[test]
    fn mariadb_only_features_are_unsupported() {
        for (s, what) in [
            (
                "CREATE TABLE t (a INT) WITH SYSTEM VERSIONING",
                "system-versioned",
            ),
            ("ALTER TABLE t ADD SYSTEM VERSIONING", "system-versioned"),
            ("ALTER TABLE t ADD COLUMN ip INET6", "INET6"),
            ("CREATE TABLE t (id INT, u UUID NOT NULL)", "UUID"),
            ("ALTER TABLE t MODIFY a inet4", "INET4"),
            (
                "CREATE TABLE t (s DATE, e DATE, PERIOD FOR p (s, e))",
                "periods",
            ),
        ] {
            let e = unsupported(s, Flavor::Mariadb, Flavor::Mysql);
            assert!(e.contains(what) && e.contains("MySQL"), "{e}");
        }
        // Names and functions are not types.
        let s = "CREATE TABLE t (uuid VARCHAR(36) DEFAULT (uuid()), inet6 INT)";
        assert_eq!(md2my(s).sql, s);
        // MariaDB's JSON alias is kept: MySQL has a JSON type.
        let s = "ALTER TABLE t ADD COLUMN j JSON";
        assert_eq!(md2my(s).sql, s);
    }

    #[test]
    fn other_statements_are_untouched() {
        for s in [
            "DROP TABLE IF EXISTS `a`.`b`",
            "RENAME TABLE `a`.`b` TO `a`.`c`",
            "TRUNCATE TABLE `a`.`b`",
            "CREATE TABLE `a`.`b` LIKE `a`.`c`",
        ] {
            assert_eq!(my2md(s).sql, s);
            assert_eq!(md2my(s).sql, s);
        }
    }
}
