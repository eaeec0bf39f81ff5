//! The Sync unit's use of the schema history: row images are read against the upstream
//! table's definition at their position and written to the target by column name; each DDL
//! advances the history before it is applied downstream.

use std::collections::HashMap;
use std::sync::Arc;

use ferry_model::{BinlogPosition, TableName};
use mysql_async::Conn;
use tracing::{info, warn};

use super::column_map::{self, ColumnMap};
use super::history::SchemaHistory;
use super::point::SyncPoint;
use super::target::TargetInfo;
use super::SyncSpec;
use crate::error::TaskError;
use crate::fx_hash::FxBuild;
use crate::history::model::{ParseMode, SchemaSet, TableSchema};
use crate::schema;

/// How to resolve a history that cannot be read or advanced.
const FIX: &str = "set the table's upstream definition as of that position with `ferryctl \
                   binlog-schema update`, or exclude the table, then resume-task";

/// The schema history of a running Sync unit, and what it decided per upstream table.
pub struct SchemaTracker<'a> {
    history: SchemaHistory<'a>,
    /// Per upstream table: the target as written from it and where its columns go.
    mapped: HashMap<TableName, (Arc<TargetInfo>, ColumnMap), FxBuild>,
    /// Tables whose definition was read from the upstream as it is now (not as of their
    /// position), with the upstream position then: a DDL before it may already be in it.
    read_now: HashMap<TableName, BinlogPosition, FxBuild>,
    up: Option<Conn>,
}

impl<'a> SchemaTracker<'a> {
    /// Tracks with `history`.
    pub fn new(history: SchemaHistory<'a>) -> Self {
        Self {
            history,
            mapped: HashMap::default(),
            read_now: HashMap::default(),
            up: None,
        }
    }

    /// Forgets the per-table decisions (after a DDL).
    pub fn clear(&mut self) {
        self.mapped.clear();
    }

    /// Takes the definition `table` was copied with at `at` (a table copied again by a later
    /// round of the full phase, whose changes before `at` were skipped).
    pub fn reload(&mut self, table: &TableName, at: &BinlogPosition) -> Result<(), TaskError> {
        self.mapped.remove(table);
        self.read_now.remove(table);
        self.history.reload_table(table, at)
    }

    /// The target as written from `source` and where its columns go, when decided since
    /// the last DDL (the common case: one lookup per row).
    pub fn mapped(&self, source: &TableName) -> Option<(Arc<TargetInfo>, ColumnMap)> {
        self.mapped.get(source).map(|(t, m)| (t.clone(), m.clone()))
    }

    /// Decides the target as written from `source` and where its columns go (callers look
    /// in [`mapped`](Self::mapped) first), from `target`, the target table as it is.
    /// `table_map` is the rows event's table map: its number of columns and, with
    /// `binlog_row_metadata=FULL`, their names (checked against the history).
    pub async fn map_row(
        &mut self,
        spec: &SyncSpec,
        source: &TableName,
        target: Arc<TargetInfo>,
        table_map: (u64, Option<&[String]>),
        at: &SyncPoint,
    ) -> Result<(Arc<TargetInfo>, ColumnMap), TaskError> {
        let (columns, names) = table_map;
        let def = self.definition(spec, source, &target, columns, at).await?;
        if u64::try_from(def.columns.len()).ok() != Some(columns) {
            return Err(TaskError::Blocked(format!(
                "replicating {source} at {at}: the binlog row has {columns} columns but the \
                 schema history defines {source} with {} ({}); {FIX}",
                def.columns.len(),
                column_list(&def)
            )));
        }
        if let Some(names) = names.filter(|n| !same_names(n, &def)) {
            let binlog: Vec<String> = names
                .iter()
                .map(|n| ferry_model::table::quote_ident(n))
                .collect();
            return Err(TaskError::Blocked(format!(
                "replicating {source} at {at}: the binlog's table map names the columns \
                 ({}) but the schema history defines {source} with ({}); {FIX}",
                binlog.join(", "),
                column_list(&def)
            )));
        }
        let map = column_map::build(source, &def, &target).map_err(|e| {
            TaskError::Blocked(format!(
                "replicating {source} at {at}: {e} (upstream columns: {}); add the column to \
                 the target, or exclude the table, then resume-task",
                column_list(&def)
            ))
        })?;
        let written = match &map {
            ColumnMap::Identity => target,
            ColumnMap::ByName(_) => {
                info!(table = %source, target = %target.table.name(), "rows are written to the target by column name (its columns differ from the upstream's)");
                column_map::restrict(&target, &map).map_err(TaskError::Config)?
            }
        };
        self.mapped
            .insert(source.clone(), (written.clone(), map.clone()));
        Ok((written, map))
    }

    /// The definition of `source` in the history, read from the upstream (or, when it no
    /// longer exists there, taken from the target) when the history does not have it yet.
    async fn definition(
        &mut self,
        spec: &SyncSpec,
        source: &TableName,
        target: &TargetInfo,
        columns: u64,
        at: &SyncPoint,
    ) -> Result<TableSchema, TaskError> {
        if let Some(def) = self.history.table(source) {
            return Ok(def.clone());
        }
        let def = match self.read_upstream(spec, source).await? {
            Some(def) => def,
            None => {
                // Gone upstream since: the target's columns are the best witness left.
                let cols = target.table.columns();
                if u64::try_from(cols.len()).ok() != Some(columns) {
                    return Err(TaskError::Blocked(format!(
                        "replicating {source} at {at}: the table is not in the schema history \
                         and no longer exists upstream, and the target {} has {} columns for \
                         {columns} in the binlog row; {FIX}",
                        target.table.name(),
                        cols.len()
                    )));
                }
                warn!(table = %source, at = %at, "table not in the schema history and gone upstream: its columns are taken from the target");
                let names: Vec<String> = cols
                    .iter()
                    .map(|c| format!("{} int", ferry_model::table::quote_ident(&c.name)))
                    .collect();
                SchemaSet::parse_create_table(
                    &format!("CREATE TABLE t ({})", names.join(", ")),
                    ParseMode::default(),
                )
                .map_err(|e| TaskError::Config(e.to_string()))?
            }
        };
        let from = self
            .history
            .first_definition_from(source)
            .cloned()
            .unwrap_or_else(|| at.pos.clone());
        self.history
            .record(vec![(source.clone(), Some(def.clone()))], &from)?;
        Ok(def)
    }

    /// `SHOW CREATE TABLE` of `table` on the upstream, modelled; `None` when it does not
    /// exist. Remembers the upstream position it was read at.
    async fn read_upstream(
        &mut self,
        spec: &SyncSpec,
        table: &TableName,
    ) -> Result<Option<TableSchema>, TaskError> {
        let up = &spec.upstream;
        let conn = match &mut self.up {
            Some(c) => c,
            None => self
                .up
                .insert(up.connect(vec!["SET SESSION sql_mode = ''".into()]).await?),
        };
        let sql = match schema::show_create_table(conn, up, table).await {
            Ok(sql) => sql,
            Err(TaskError::Sql {
                source: mysql_async::Error::Server(e),
                ..
            }) if e.code == 1146 => return Ok(None),
            Err(e) => {
                self.up = None;
                return Err(e);
            }
        };
        let info = crate::db::ServerInfo::detect(conn, up).await?;
        let now = crate::db::read_position(conn, &info, up).await?;
        info!(table = %table, upstream_at = %now, "schema history: definition read from the upstream as it is now");
        self.read_now.insert(table.clone(), now.binlog);
        SchemaSet::parse_create_table(&sql, ParseMode::default())
            .map(Some)
            .map_err(|e| {
                TaskError::Blocked(format!(
                    "the upstream definition of {table} cannot be read into the schema history: \
                     {e}; {FIX}"
                ))
            })
    }

    /// Advances the history by the statement `sql` found at `before` .. `after`. A
    /// statement the history cannot apply pauses the task, unless the operator already
    /// decided for it (`has_operator`) or the definitions it touches were read from the
    /// upstream after it (they already include it).
    pub async fn apply_ddl(
        &mut self,
        spec: &SyncSpec,
        stmt: &super::ddl_apply::Statement<'_>,
        after: &SyncPoint,
        has_operator: bool,
        in_copy: bool,
    ) -> Result<(), TaskError> {
        let tracked = |t: &TableName| spec.balist.allows_table(&t.schema, &t.table);
        let needs = match self.history.apply_ddl(
            stmt.sql,
            stmt.schema,
            stmt.sql_mode,
            &tracked,
            &after.pos,
        ) {
            Ok(needs) => needs,
            Err(e) if in_copy => {
                info!(at = %stmt.at, error = %e, "the schema history cannot apply a statement on a table copied again later; its definition comes from that copy");
                return Ok(());
            }
            Err(e) if has_operator || self.history.take_operator_definitions() => {
                warn!(at = %stmt.at, error = %e, "the schema history cannot apply the statement the operator decided for; the history keeps its definitions");
                return Ok(());
            }
            Err(e) if self.read_now.values().any(|now| stmt.at.pos < *now) => {
                warn!(at = %stmt.at, error = %e, "the schema history cannot apply the statement: taken as already in the definitions read from the upstream after it");
                return Ok(());
            }
            Err(e) => {
                return Err(TaskError::Blocked(format!(
                    "statement at {}: {e}; {FIX} (or `ferryctl binlog skip`)",
                    stmt.at
                )))
            }
        };
        for t in needs {
            let def = self.read_upstream(spec, &t).await?;
            self.history.record(vec![(t, def)], &after.pos)?;
        }
        Ok(())
    }

    /// Forgets history versions no restart from `committed` can choose.
    pub fn prune(&self, committed: &BinlogPosition) -> Result<(), TaskError> {
        self.history.prune(committed)
    }

    /// Tables defined in the history now, and table versions stored.
    pub fn size(&self) -> (usize, usize) {
        self.history.size()
    }
}

/// True when `names` (from the binlog) are the history's column names, in order.
fn same_names(names: &[String], def: &TableSchema) -> bool {
    names.len() == def.columns.len()
        && names
            .iter()
            .zip(&def.columns)
            .all(|(n, c)| n.eq_ignore_ascii_case(&c.name))
}

fn column_list(def: &TableSchema) -> String {
    def.columns
        .iter()
        .map(|c| ferry_model::table::quote_ident(&c.name))
        .collect::<Vec<_>>()
        .join(", ")
}
