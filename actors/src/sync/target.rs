//! What the writers know about a target table, read from the downstream.
//!
//! The downstream table is the schema tracker: DDL is a barrier (applied downstream before
//! any later row), so the target table's columns are those of the upstream table *as of the
//! binlog position being applied* (DESIGN.md §4.5), in the same order. The cache is dropped at
//! every DDL.

use std::collections::HashMap;
use std::sync::Arc;

use ferry_model::TableName;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use crate::apply::TargetTable;
use crate::causality::{CausalityKey, ChangeKeys, KeyIndex, TableKeys};
use crate::db::Endpoint;
use crate::error::TaskError;
use crate::fx_hash::FxBuild;
use crate::schema;

/// A target table ready for writing.
#[derive(Debug)]
pub struct TargetInfo {
    /// SQL generation.
    pub table: TargetTable,
    /// Primary and unique keys (causality).
    pub keys: TableKeys,
    /// Key shared by every change of the table, for tables without keys.
    pub wide_key: CausalityKey,
    /// The keys that identify a row (primary key, then unique keys over NOT NULL columns),
    /// as column positions.
    pub row_keys: Vec<Vec<usize>>,
}

impl TargetInfo {
    /// Number of columns.
    pub fn width(&self) -> usize {
        self.table.columns().len()
    }

    /// The causality keys of a change (never empty).
    pub fn keys_of(&self, change: &crate::reader::RowChange) -> ChangeKeys {
        if self.keys.indexes().is_empty() {
            return smallvec::smallvec![self.wide_key.clone()];
        }
        let k = crate::causality::row_keys(&self.keys, change);
        if k.is_empty() {
            smallvec::smallvec![self.wide_key.clone()]
        } else {
            k
        }
    }
}

/// Cache of target tables.
#[derive(Debug, Default)]
pub struct TargetCache {
    tables: HashMap<TableName, Arc<TargetInfo>, FxBuild>,
}

impl TargetCache {
    /// Forgets everything (after a DDL).
    pub fn clear(&mut self) {
        self.tables.clear();
    }

    /// The target table `name`, read from the downstream the first time; `None` when it does
    /// not exist there.
    pub async fn get(
        &mut self,
        conn: &mut Conn,
        ep: &Endpoint,
        name: &TableName,
        json_convert: bool,
    ) -> Result<Option<Arc<TargetInfo>>, TaskError> {
        if let Some(t) = self.tables.get(name) {
            return Ok(Some(t.clone()));
        }
        let meta = schema::table_meta(conn, ep, name).await?;
        if meta.columns.is_empty() {
            return Ok(None);
        }
        let stats: Vec<(String, u8, String)> = conn
            .exec(
                "SELECT INDEX_NAME, CAST(NON_UNIQUE AS UNSIGNED), COLUMN_NAME \
                 FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
                 ORDER BY INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX",
                (&name.schema, &name.table),
            )
            .await
            .map_err(ep.sql_err(format!("reading the keys of {name}")))?;
        let mut indexes: Vec<KeyIndex> = Vec::new();
        let mut broken: Vec<String> = Vec::new();
        for (index, non_unique, col) in stats {
            if non_unique != 0 {
                continue;
            }
            let Some(pos) = meta.columns.iter().position(|c| c.name == col) else {
                // An expression index part: the index cannot be used as a key.
                broken.push(index);
                continue;
            };
            match indexes.last_mut() {
                Some(k) if k.name == index => k.columns.push(pos),
                _ => indexes.push(KeyIndex::new(index, vec![pos])),
            }
        }
        indexes.retain(|k| !broken.contains(&k.name));
        let row_keys = indexes
            .iter()
            .filter(|k| k.columns.iter().all(|&c| meta.columns[c].not_null))
            .map(|k| k.columns.clone())
            .collect();
        let keys = TableKeys::new(name.clone(), indexes);
        let info = Arc::new(TargetInfo {
            table: TargetTable::from_meta(&meta, name.clone(), json_convert),
            keys,
            wide_key: CausalityKey::new(name, "", &[])
                .ok_or_else(|| TaskError::Config(format!("cannot build a key for {name}")))?,
            row_keys,
        });
        self.tables.insert(name.clone(), info.clone());
        Ok(Some(info))
    }
}
