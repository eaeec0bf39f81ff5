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
//!
//! The rules live with the part of a statement they rewrite:
//!
//! - `renderer`: the statement's tokens and the edits made to them;
//! - `versioned`: versioned comments (`/*!NNNNN ... */`, `/*M!NNNNNN ... */`);
//! - `collation`: `COLLATE x` for the target's collations;
//! - `statement`: which statement it is (`CREATE TABLE`, `CREATE INDEX`, `ALTER TABLE`,
//!   `DROP INDEX`) and its clauses;
//! - `column`: column definitions (types, attributes, defaults);
//! - `index`: index and constraint definitions (key parts, visibility, `CHECK`);
//! - `algorithm`: `ALGORITHM=NOCOPY`;
//! - `json_arrow`: MySQL's `->`/`->>`;
//! - `encryption`: MySQL's `ENCRYPTION=` option.

mod algorithm;
mod collation;
mod column;
mod encryption;
mod index;
mod json_arrow;
mod renderer;
mod statement;
#[cfg(test)]
mod tests;
mod versioned;

use mysql_async::Conn;

use super::lexer;
use super::{excerpt, SqlMode};
use crate::db::{Endpoint, Flavor, ServerInfo};
use crate::error::TaskError;
use crate::schema::TargetCaps;
use renderer::Renderer;

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
        reason,
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

fn flavor_name(f: Flavor) -> &'static str {
    match f {
        Flavor::Mysql => "MySQL",
        Flavor::Mariadb => "MariaDB",
        Flavor::Tidb => "TiDB",
    }
}
