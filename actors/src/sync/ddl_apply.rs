//! Applies a replicated statement (DDL) downstream: classify, filter, route, execute — or
//! what the operator decided with `binlog skip|replace`.

use ferry_model::table::quote_ident;
use ferry_model::TableName;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tracing::{info, warn};

use super::operators::BinlogOp;
use super::point::SyncPoint;
use super::SyncSpec;
use crate::ddl::{self, Parsed};
use crate::error::TaskError;
use crate::rules::Decision;

/// Error codes meaning "already done", accepted when the statement may have been applied
/// before a crash: database/table exists or not, duplicate column/key, cannot drop.
const ALREADY_DONE: &[u16] = &[1007, 1008, 1050, 1051, 1054, 1060, 1061, 1091, 1146, 1826];

/// One statement to run downstream.
struct Todo {
    /// Default database (routed).
    default_db: String,
    /// The statement.
    sql: String,
    /// For a pair of `RENAME TABLE`: the routed names (all the pairs of one statement run
    /// as one, see [`super::rename`]).
    rename: Option<(TableName, TableName)>,
}

/// A replicated statement as the binlog holds it.
#[derive(Debug, Clone, Copy)]
pub struct Statement<'a> {
    /// Default schema (may be empty).
    pub schema: &'a str,
    /// Statement text.
    pub sql: &'a str,
    /// Session `sql_mode` it was written under (binlog bits).
    pub sql_mode: u64,
    /// Where it starts.
    pub at: &'a SyncPoint,
}

/// Applies the statement `stmt`.
pub async fn apply(
    spec: &SyncSpec,
    conn: &mut Conn,
    dialects: &mut Option<ddl::dialect::Dialects>,
    stmt: &Statement<'_>,
    tolerant: bool,
    in_copy: bool,
) -> Result<(), TaskError> {
    let Statement {
        schema,
        sql,
        sql_mode,
        at,
    } = *stmt;
    let blocked = |what: String| {
        TaskError::Blocked(format!(
            "{what} (statement at {at}: `{}`); resolve it with `ferryctl binlog skip {} -b {}:{}` \
             or `binlog replace`, a binlog event filter, or by fixing the downstream, then \
             resume-task",
            truncate(sql),
            spec.task,
            at.pos.name,
            at.pos.pos
        ))
    };
    let op = spec.operators.take(&spec.source_id, &at.pos);
    if let Some(BinlogOp::Skip) = op {
        warn!(at = %at, sql, "statement skipped by the operator (binlog skip)");
        return Ok(());
    }
    if in_copy {
        info!(at = %at, sql, "statement not applied: it names a table copied from a later position by the full phase (its effect is in that copy) or one that existed only between two rounds of the copy");
        return Ok(());
    }
    let parsed = match ddl::parse_with_mode(sql, schema, ddl::SqlMode::from_bits(sql_mode)) {
        Ok(p) => p,
        Err(e) if op.is_none() => return Err(blocked(format!("cannot replicate: {e}"))),
        Err(_) => Parsed::Skip(ddl::SkipReason::Other),
    };
    let stmts = match parsed {
        Parsed::Skip(reason) if op.is_none() => {
            info!(at = %at, sql, %reason, "statement not replicated");
            return Ok(());
        }
        Parsed::Skip(_) => Vec::new(),
        Parsed::Ddl(stmts) => stmts,
    };
    let route = |n: &TableName| -> Result<TableName, TaskError> {
        if n.table.is_empty() {
            Ok(TableName::new(spec.router.route_schema(&n.schema), ""))
        } else {
            spec.router
                .route(n)
                .map_err(|e| TaskError::Config(format!("routing {n}: {e}")))
        }
    };
    // Which of the split statements pass the block-allow-list and the filters.
    let mut todo: Vec<Todo> = Vec::new();
    for stmt in &stmts {
        let t = stmt.table();
        let allowed = if stmt.is_database() {
            spec.balist.allows_schema(&t.schema)
        } else {
            spec.balist.allows_table(&t.schema, &t.table)
        };
        if !allowed {
            continue;
        }
        match spec
            .filter
            .decide(&t.schema, &t.table, stmt.kind(), Some(sql))
        {
            Decision::Ignore => {
                info!(at = %at, sql, "statement dropped by a binlog event filter");
                continue;
            }
            Decision::Error(rule) => {
                return Err(blocked(format!(
                    "binlog event filter rule `{rule}` (action: Error) refuses it"
                )))
            }
            Decision::Do => {}
        }
        let default_db = route(&TableName::new(t.schema.clone(), ""))?.schema;
        let rename = match stmt.renamed_to() {
            Some(to) if stmt.kind() == crate::rules::EventType::RenameTable => {
                Some((route(t)?, route(to)?))
            }
            _ => None,
        };
        todo.push(Todo {
            default_db,
            sql: stmt.try_render(route)?,
            rename,
        });
    }
    let operator_sql = matches!(op, Some(BinlogOp::Replace(_)));
    if let Some(BinlogOp::Replace(replacement)) = op {
        let default_db = todo
            .first()
            .map(|t| t.default_db.clone())
            .unwrap_or_else(|| spec.router.route_schema(schema));
        warn!(at = %at, sql, ?replacement, "statement replaced by the operator (binlog replace)");
        todo = replacement
            .into_iter()
            .map(|sql| Todo {
                default_db: default_db.clone(),
                sql,
                rename: None,
            })
            .collect();
    }
    // The pairs of a RENAME TABLE: one statement, applied once.
    if !operator_sql && !todo.is_empty() && todo.iter().all(|t| t.rename.is_some()) {
        let pairs: Vec<(TableName, TableName)> =
            todo.iter().filter_map(|t| t.rename.clone()).collect();
        match super::rename::apply_atomic(spec, conn, &at.pos, &pairs).await? {
            super::rename::Renamed::Applied | super::rename::Renamed::AlreadyApplied => {
                return Ok(());
            }
            super::rename::Renamed::Refused(mysql_async::Error::Server(e))
                if tolerant && ALREADY_DONE.contains(&e.code) =>
            {
                warn!(at = %at, sql, error = %e.message,
                    "RENAME TABLE refused as a whole (replayed after a restart or in safe mode): its pairs are applied one by one");
            }
            super::rename::Renamed::Refused(e) => {
                return Err(blocked(format!(
                    "the downstream {} rejected the rename: {e}",
                    spec.downstream.addr()
                )))
            }
        }
    }
    // The statement keeps the meaning it had upstream: its text is read downstream under the
    // same quoting, escaping and operator rules (the rest of the writer's session sql_mode
    // stays).
    let modes = ddl::parsing_mode_names(sql_mode);
    if !modes.is_empty() && !todo.is_empty() {
        let set = format!(
            "SET SESSION sql_mode = '{},{}'",
            super::WRITER_SQL_MODE,
            modes.join(",")
        );
        conn.query_drop(&set)
            .await
            .map_err(spec.downstream.sql_err(set.clone()))?;
        info!(at = %at, sql_mode = %modes.join(","), "DDL written under a non-default sql_mode: applied downstream under the same mode");
    }
    // Rendered for the downstream's dialect, all before any runs (an operator's replacement
    // runs as written).
    if !operator_sql && !todo.is_empty() {
        let dialects = match dialects {
            Some(d) => d,
            None => dialects.insert(
                ddl::dialect::Dialects::detect(&spec.upstream, conn, &spec.downstream).await?,
            ),
        };
        for Todo { sql: stmt, .. } in todo.iter_mut() {
            let r = dialects
                .render(stmt, ddl::SqlMode::from_bits(sql_mode))
                .map_err(|e| blocked(format!("cannot render it for the downstream: {e}")))?;
            for rewrite in &r.rewrites {
                warn!(at = %at, sql = %stmt, rewrite = %rewrite, "DDL rendered for the downstream");
            }
            *stmt = r.sql;
        }
    }
    for Todo {
        default_db,
        sql: stmt,
        ..
    } in todo
    {
        if !default_db.is_empty() {
            // The database may not exist (yet, or any more): names are qualified anyway.
            let _ = conn
                .query_drop(format!("USE {}", quote_ident(&default_db)))
                .await;
        }
        match conn.query_drop(&stmt).await {
            Ok(()) => info!(at = %at, sql = %stmt, "DDL applied"),
            Err(mysql_async::Error::Server(e)) if tolerant && ALREADY_DONE.contains(&e.code) => {
                warn!(at = %at, sql = %stmt, error = %e.message,
                    "DDL already applied (replayed after a restart or in safe mode)");
            }
            Err(e @ (mysql_async::Error::Io(_) | mysql_async::Error::Driver(_))) => {
                return Err(spec.downstream.sql_err(format!(
                    "applying the DDL at {at}: `{}`",
                    truncate(&stmt)
                ))(e))
            }
            Err(e) => {
                return Err(blocked(format!(
                    "the downstream {} rejected `{}`: {e}",
                    spec.downstream.addr(),
                    truncate(&stmt)
                )))
            }
        }
    }
    if !modes.is_empty() {
        let reset = format!("SET SESSION sql_mode = '{}'", super::WRITER_SQL_MODE);
        conn.query_drop(&reset)
            .await
            .map_err(spec.downstream.sql_err(reset.clone()))?;
    }
    Ok(())
}

fn truncate(s: &str) -> String {
    const MAX: usize = 300;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}
