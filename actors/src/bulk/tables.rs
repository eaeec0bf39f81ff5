//! The full phase's tables: which upstream tables are selected, their definitions (and the
//! schema history seeded from them), their targets, and what happens when one disappears.

use std::collections::{HashMap, HashSet};

use ferry_model::{Location, TableName};
use ferry_relay::CheckpointStore;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tracing::{info, warn};

use super::{init, sql, BulkSpec, DOWNSTREAM_INIT};
use crate::db::Flavor;
use crate::error::TaskError;
use crate::history::model::{ParseMode, SchemaSet};
use crate::schema::{self, TableMeta, TargetCaps};

/// A selected table: its metadata, its definition and its downstream name.
#[derive(Clone)]
pub(super) struct Selected {
    pub(super) meta: TableMeta,
    pub(super) target: TableName,
    /// `SHOW CREATE TABLE` of the upstream table.
    pub(super) create_sql: String,
    /// InnoDB's id of the table behind the name, when readable ([`super::identity`]).
    pub(super) id: Option<u64>,
}

/// A table's definition without the moving `AUTO_INCREMENT=` counter.
pub(super) fn shape_of(t: &Selected) -> String {
    static COUNTER: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let counter =
        COUNTER.get_or_init(|| regex::Regex::new(r" AUTO_INCREMENT=\d+").expect("static regex"));
    counter.replace(&t.create_sql, "").into_owned()
}

/// How many times the full phase re-reads the table list and definitions when a DDL changed
/// them while it took its start position.
pub(super) const START_ATTEMPTS: u32 = 20;

/// True when `e` says that a table does not exist (dropped or renamed upstream).
pub(super) fn is_no_such_table(e: &TaskError) -> bool {
    matches!(e, TaskError::Sql { side: crate::error::Side::Upstream, source: mysql_async::Error::Server(s), .. } if s.code == 1146)
}

/// True when `e` says that a table's definition changed under a snapshot read: the table was
/// rebuilt or truncated after the snapshot (`ER_TABLE_DEF_CHANGED`, 1412), or a column the
/// copy reads was renamed or dropped (`ER_BAD_FIELD_ERROR`, 1054).
pub(super) fn is_definition_changed(e: &TaskError) -> bool {
    matches!(e, TaskError::Sql { side: crate::error::Side::Upstream, source: mysql_async::Error::Server(s), .. } if s.code == 1412 || s.code == 1054)
}

/// What the full phase compares to tell whether a DDL ran while it took its start position:
/// every selected table's name, identity and definition.
pub(super) fn shapes(tables: &[Selected]) -> Vec<(&TableName, Option<u64>, String)> {
    tables
        .iter()
        .map(|t| (&t.meta.name, t.id, shape_of(t)))
        .collect()
}

/// Lists upstream tables, applies the block-allow-list and routes, and reads each table's
/// definition. A table dropped or renamed while it is being read is left out (the binlog from
/// the start position holds its fate).
pub(super) async fn select_tables(
    spec: &BulkSpec,
    ctl: &mut Conn,
) -> Result<Vec<Selected>, TaskError> {
    let metas =
        schema::selected_tables(ctl, &spec.upstream, |s, t| spec.balist.allows_table(s, t)).await?;
    let mut out = Vec::with_capacity(metas.len());
    for meta in metas {
        let create_sql = match schema::show_create_table(ctl, &spec.upstream, &meta.name).await {
            Ok(sql) => sql,
            Err(e) if is_no_such_table(&e) => {
                info!(table = %meta.name, "table dropped or renamed while the table list was read; left to the binlog");
                continue;
            }
            Err(e) => return Err(e),
        };
        let target = spec
            .router
            .route(&meta.name)
            .map_err(|e| TaskError::Config(e.to_string()))?;
        out.push(Selected {
            meta,
            target,
            create_sql,
            id: None,
        });
    }
    let names: Vec<&TableName> = out.iter().map(|t| &t.meta.name).collect();
    match super::identity::table_ids(ctl, &names).await {
        Some(ids) => {
            for t in &mut out {
                t.id = ids.get(&t.meta.name).copied();
            }
        }
        None => {
            static WARNED: std::sync::Once = std::sync::Once::new();
            WARNED.call_once(|| warn!(source = %spec.source_id, "InnoDB table ids are not readable upstream (information_schema.INNODB_TABLES needs the PROCESS privilege): a table swapped in under a copied table's name during the copy cannot be detected"));
        }
    }
    if out.is_empty() {
        return Err(TaskError::Config(format!(
            "no upstream table of source `{}` matches the task's block-allow-list",
            spec.source_id
        )));
    }
    Ok(out)
}

/// Seeds the schema history with the definitions read at the start position (before the
/// start is recorded: a crash in between seeds again at the next start position).
pub(super) fn seed_history(
    spec: &BulkSpec,
    store: &dyn CheckpointStore,
    tables: &[&Selected],
    start: &Location,
) -> Result<(), TaskError> {
    let mut seed = Vec::with_capacity(tables.len());
    for t in tables {
        match SchemaSet::parse_create_table(&t.create_sql, ParseMode::default()) {
            Ok(def) => seed.push((t.meta.name.clone(), Some(def))),
            // Read again from the upstream when replication first meets the table.
            Err(e) => {
                warn!(table = %t.meta.name, error = %e, "the table's definition is not in the schema history")
            }
        }
    }
    let mut history = crate::sync::history::SchemaHistory::load(
        store,
        &spec.task,
        &spec.source_id,
        &start.binlog,
    )?;
    history.record(seed, &start.binlog)
}

/// Drops the target tables of upstream tables that were dropped or renamed after the start
/// position, before or while they were copied: a partial copy must not stay behind. The
/// binlog replays their fate (a `DROP`, or a `RENAME` whose new name is copied); their rows
/// before it are skipped while catching up, as their target is missing. A target that
/// another selected table also feeds (a merge route) is kept.
pub(super) async fn drop_gone_targets(
    spec: &BulkSpec,
    live: &HashMap<TableName, &Selected>,
    gone: &[TableName],
) -> Result<(), TaskError> {
    let down = &spec.downstream;
    let mut dctl = down.connect(init(DOWNSTREAM_INIT)).await?;
    let mut dropped = HashSet::new();
    for t in gone {
        let target = spec
            .router
            .route(t)
            .map_err(|e| TaskError::Config(e.to_string()))?;
        let shared = live
            .iter()
            .any(|(name, sel)| name != t && sel.target == target);
        if shared || !dropped.insert(target.clone()) {
            continue;
        }
        let sql = format!("DROP TABLE IF EXISTS {}", target.quoted());
        dctl.query_drop(&sql).await.map_err(down.sql_err(format!(
            "dropping {target}, whose upstream table {t} is gone"
        )))?;
        warn!(table = %t, target = %target, "upstream table dropped or renamed during the full phase: its partial copy is dropped downstream; the binlog replays what became of it");
    }
    Ok(())
}

/// Creates the meta schema, the ledger, and every target schema and table.
pub(super) async fn prepare_target(
    spec: &BulkSpec,
    dctl: &mut Conn,
    from: Flavor,
    caps: &TargetCaps,
    tables: &[&Selected],
) -> Result<(), TaskError> {
    let down = &spec.downstream;
    let ledger = sql::ledger_table(&spec.meta_schema, &spec.task);
    for stmt in [
        schema::create_database_sql(&spec.meta_schema),
        sql::create_ledger(&ledger),
    ] {
        dctl.query_drop(&stmt)
            .await
            .map_err(down.sql_err(format!("creating {ledger}")))?;
    }
    let mut created_schemas = HashSet::new();
    let mut created_tables = HashSet::new();
    for t in tables {
        if created_schemas.insert(t.target.schema.clone()) {
            dctl.query_drop(schema::create_database_sql(&t.target.schema))
                .await
                .map_err(down.sql_err(format!("creating database `{}`", t.target.schema)))?;
        }
        if !created_tables.insert(t.target.clone()) {
            continue;
        }
        if t.meta.split_key.is_empty() {
            warn!(table = %t.meta.name, "table has no primary key nor NOT NULL unique key: copied as one stream");
        }
        let adapted =
            schema::adapt_create_table(&t.create_sql, &t.target, from, caps).map_err(|e| {
                TaskError::Config(format!(
                    "creating table {} (from upstream {}): {e}",
                    t.target, t.meta.name
                ))
            })?;
        for change in &adapted.changes {
            warn!(table = %t.meta.name, target = %t.target, change = %change, "adapted the table definition for the downstream");
        }
        dctl.query_drop(&adapted.sql)
            .await
            .map_err(down.sql_err(format!(
                "creating table {} (from upstream {}): {}",
                t.target, t.meta.name, adapted.sql
            )))?;
    }
    Ok(())
}

/// The targets of `tables` that exist downstream.
pub(super) async fn existing_targets(
    spec: &BulkSpec,
    dctl: &mut Conn,
    tables: &[&Selected],
) -> Result<HashSet<TableName>, TaskError> {
    let mut out = HashSet::new();
    for t in tables {
        let found: Option<String> = dctl
            .exec_first(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                (&t.target.schema, &t.target.table),
            )
            .await
            .map_err(spec.downstream.sql_err(format!("looking for {}", t.target)))?;
        if found.is_some() {
            out.insert(t.target.clone());
        }
    }
    Ok(out)
}
