//! Applies a replicated statement (DDL) downstream: filter, route, execute.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tracing::{info, warn};

use super::point::SyncPoint;
use super::SyncSpec;
use crate::error::TaskError;
use crate::rules::always_skipped;

/// Error codes meaning "already done", accepted when the statement may have been applied
/// before a crash: table/database exists or not, duplicate column/key, cannot drop.
const ALREADY_DONE: &[u16] = &[1007, 1008, 1050, 1051, 1060, 1061, 1091, 1146, 1054, 1826];

/// Applies the statement `sql` (default schema `schema`) found at `at`.
pub async fn apply(
    spec: &SyncSpec,
    conn: &mut Conn,
    schema: &str,
    sql: &str,
    at: &SyncPoint,
    tolerant: bool,
) -> Result<(), TaskError> {
    if always_skipped(sql) {
        info!(at = %at, sql, "statement skipped");
        return Ok(());
    }
    if !schema.is_empty() && !spec.balist.allows_schema(schema) {
        return Ok(());
    }
    let target_schema = spec.router.route_schema(schema);
    if !target_schema.is_empty() {
        let use_db = format!("USE {}", ferry_model::table::quote_ident(&target_schema));
        if let Err(e) = conn.query_drop(&use_db).await {
            warn!(error = %e, "cannot select the statement's schema");
        }
    }
    match conn.query_drop(sql).await {
        Ok(()) => {
            info!(at = %at, sql, "DDL applied");
            Ok(())
        }
        Err(mysql_async::Error::Server(e)) if tolerant && ALREADY_DONE.contains(&e.code) => {
            warn!(at = %at, sql, error = %e.message, "DDL already applied before the restart");
            Ok(())
        }
        Err(e) => Err(TaskError::Blocked(format!(
            "the downstream {} rejected the DDL at {at}: `{sql}`: {e}. Fix the downstream or \
             resolve it with `binlog skip` / `binlog replace`, then resume-task",
            spec.downstream.addr()
        ))),
    }
}
