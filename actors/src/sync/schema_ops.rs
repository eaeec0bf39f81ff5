//! `binlog-schema list|update|delete`: the operator reads or repairs a table's definition in
//! the schema history of a (task, source), at the position the task resumes from.

use ferry_model::table::quote_ident;
use ferry_model::{BinlogPosition, TableName};
use ferry_relay::CheckpointStore;

use super::history::SchemaHistory;
use super::{resume_point, SyncSpec};
use crate::error::TaskError;
use crate::history::model::{KeyKind, ParseMode, SchemaSet, TableSchema};

/// Where the operator reads and writes: the task's resume position (before anything is
/// replicated: the full phase's start, else `meta`).
async fn at(spec: &SyncSpec, store: &dyn CheckpointStore) -> Result<BinlogPosition, TaskError> {
    if let Some(p) = resume_point(spec).await? {
        return Ok(p.pos);
    }
    let full = store.full_phase(&spec.task, &spec.source_id)?;
    full.start
        .map(|l| l.binlog)
        .or_else(|| spec.meta_position.clone())
        .ok_or_else(|| {
            TaskError::Config(format!(
                "task `{}` has no start position on source `{}` yet (no checkpoint, no full \
                 phase, no meta): its schema history starts with replication",
                spec.task, spec.source_id
            ))
        })
}

/// The definition of `table` in the history at the task's resume position, as
/// `CREATE TABLE` (`None`: the history does not have the table).
pub async fn table_schema(
    spec: &SyncSpec,
    store: &dyn CheckpointStore,
    table: &TableName,
) -> Result<Option<String>, TaskError> {
    let at = at(spec, store).await?;
    let history = SchemaHistory::load(store, &spec.task, &spec.source_id, &at)?;
    Ok(history.table(table).map(|s| create_table_sql(table, s)))
}

/// Sets the definition of `table` from the `CREATE TABLE` statement `sql`, from the task's
/// resume position on. The next statement the history cannot apply to it is taken as already
/// included.
pub async fn set_table_schema(
    spec: &SyncSpec,
    store: &dyn CheckpointStore,
    table: &TableName,
    sql: &str,
) -> Result<String, TaskError> {
    let def = SchemaSet::parse_create_table(sql, ParseMode::default())
        .map_err(|e| TaskError::Config(format!("the new definition of {table}: {e}")))?;
    let at = at(spec, store).await?;
    let mut history = SchemaHistory::load(store, &spec.task, &spec.source_id, &at)?;
    history.record_by_operator(vec![(table.clone(), Some(def.clone()))], &at)?;
    Ok(create_table_sql(table, &def))
}

/// Removes `table` from the history from the task's resume position on (it is read again
/// from the upstream when replication meets it).
pub async fn delete_table_schema(
    spec: &SyncSpec,
    store: &dyn CheckpointStore,
    table: &TableName,
) -> Result<(), TaskError> {
    let at = at(spec, store).await?;
    let mut history = SchemaHistory::load(store, &spec.task, &spec.source_id, &at)?;
    history.record_by_operator(vec![(table.clone(), None)], &at)
}

/// `CREATE TABLE` text of a modelled table: columns and keys (what the history keeps).
pub fn create_table_sql(table: &TableName, s: &TableSchema) -> String {
    let mut parts: Vec<String> = s
        .columns
        .iter()
        .map(|c| {
            let mut p = format!("  {} {}", quote_ident(&c.name), c.data_type);
            if let Some(cs) = &c.charset {
                p.push_str(&format!(" CHARACTER SET {cs}"));
            }
            if let Some(co) = &c.collation {
                p.push_str(&format!(" COLLATE {co}"));
            }
            if !c.nullable {
                p.push_str(" NOT NULL");
            }
            if c.generated {
                // The history keeps that it is generated, not its expression.
                p.push_str(" GENERATED ALWAYS AS (NULL) VIRTUAL");
            }
            if c.invisible {
                p.push_str(" /*!80023 INVISIBLE */");
            }
            p
        })
        .collect();
    for k in &s.keys {
        let cols: Vec<String> = k
            .columns
            .iter()
            .map(|c| match c {
                Some(c) => quote_ident(c),
                None => "(/* expression */ NULL)".into(),
            })
            .collect();
        let kind = match k.kind {
            KeyKind::Primary => "PRIMARY KEY".to_string(),
            KeyKind::Unique => format!("UNIQUE KEY {}", quote_ident(&k.name)),
            KeyKind::Index => format!("KEY {}", quote_ident(&k.name)),
            KeyKind::Fulltext => format!("FULLTEXT KEY {}", quote_ident(&k.name)),
            KeyKind::Spatial => format!("SPATIAL KEY {}", quote_ident(&k.name)),
        };
        parts.push(format!("  {kind} ({})", cols.join(",")));
    }
    format!(
        "CREATE TABLE {} (\n{}\n)",
        table.quoted(),
        parts.join(",\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rendered_definition_reads_back_the_same() {
        let sql = "CREATE TABLE `t` (`id` bigint unsigned NOT NULL, `na me` varchar(20) \
                   CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL, `n` int, \
                   `g` int AS (`n` + 1) STORED, PRIMARY KEY (`id`), UNIQUE KEY `u` (`na me`), KEY `k` (`n`,`id`))";
        let s = SchemaSet::parse_create_table(sql, ParseMode::default()).unwrap();
        let text = create_table_sql(&TableName::new("d", "t"), &s);
        assert!(text.starts_with("CREATE TABLE `d`.`t` ("), "{text}");
        let again = SchemaSet::parse_create_table(&text, ParseMode::default()).unwrap();
        assert_eq!(again.columns, s.columns);
        assert_eq!(again.keys, s.keys);
    }
}
