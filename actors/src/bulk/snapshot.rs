//! The full phase's start: the lock the consistency mode asks for, the start position, and
//! one consistent snapshot per dumper.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tracing::warn;

use super::tables::Selected;
use super::{init, BulkSpec, Consistency, UPSTREAM_INIT};
use crate::db::{read_position, Endpoint, Flavor, ServerInfo};
use crate::error::TaskError;
use ferry_model::Location;

/// Takes the lock the consistency mode asks for, reads the start position, opens one snapshot
/// per worker, and releases the lock.
pub(super) async fn lock_and_open_snapshots(
    spec: &BulkSpec,
    ctl: &mut Conn,
    info: &ServerInfo,
    tables: &[Selected],
    workers: &mut Vec<Conn>,
) -> Result<Location, TaskError> {
    let up = &spec.upstream;
    let mode = match spec.consistency {
        Consistency::Snapshot if info.flavor != Flavor::Tidb => {
            return Err(TaskError::Config(format!(
                "--consistency snapshot needs a TiDB upstream; {} is {}: use none, flush, lock or auto",
                up.addr(),
                info.version_text
            )))
        }
        Consistency::Snapshot => Consistency::None,
        Consistency::Auto => {
            match ctl.query_drop("FLUSH TABLES WITH READ LOCK").await {
                Ok(()) => Consistency::Flush,
                Err(e) => {
                    warn!(error = %e, "FLUSH TABLES WITH READ LOCK denied; falling back to LOCK TABLES");
                    lock_tables(ctl, up, tables).await?;
                    Consistency::Lock
                }
            }
        }
        Consistency::Flush => {
            ctl.query_drop("FLUSH TABLES WITH READ LOCK").await.map_err(up.sql_err(
                "FLUSH TABLES WITH READ LOCK (--consistency flush needs the RELOAD privilege; \
                 use --consistency none on Aurora/RDS)",
            ))?;
            Consistency::Flush
        }
        Consistency::Lock => {
            lock_tables(ctl, up, tables).await?;
            Consistency::Lock
        }
        Consistency::None => Consistency::None,
    };
    let result = async {
        let start = read_position(ctl, info, up).await?;
        for _ in 0..spec.threads.max(1) {
            workers.push(open_snapshot(up).await?);
        }
        Ok::<_, TaskError>(start)
    }
    .await;
    if mode != Consistency::None {
        ctl.query_drop("UNLOCK TABLES")
            .await
            .map_err(up.sql_err("UNLOCK TABLES"))?;
    }
    result
}

pub(super) async fn lock_tables(
    ctl: &mut Conn,
    up: &Endpoint,
    tables: &[Selected],
) -> Result<(), TaskError> {
    let list: Vec<String> = tables
        .iter()
        .map(|t| format!("{} READ", t.meta.name.quoted()))
        .collect();
    ctl.query_drop(format!("LOCK TABLES {}", list.join(", ")))
        .await
        .map_err(up.sql_err("LOCK TABLES (--consistency lock needs the LOCK TABLES privilege)"))
}

/// A dump connection with a consistent snapshot open.
pub(super) async fn open_snapshot(up: &Endpoint) -> Result<Conn, TaskError> {
    let mut c = up.connect(init(UPSTREAM_INIT)).await?;
    for stmt in [
        "SET SESSION character_set_results = binary",
        "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
        "START TRANSACTION /*!40108 WITH CONSISTENT SNAPSHOT */",
    ] {
        c.query_drop(stmt).await.map_err(up.sql_err(stmt))?;
    }
    Ok(c)
}
