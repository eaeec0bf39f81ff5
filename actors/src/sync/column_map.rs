//! Rows written by column name: how an upstream table's row images (in the column order of
//! the schema history) land in a target table that may have more columns, another order, or
//! be the merge of several upstream tables (DESIGN.md §4.5).

use std::sync::Arc;

use ferry_model::table::quote_ident;
use ferry_model::TableName;

use super::target::TargetInfo;
use crate::causality::TableKeys;
use crate::history::model::TableSchema;
use crate::reader::{RowChange, RowValue};

/// Where each target column's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnMap {
    /// Same columns in the same order: images pass unchanged.
    Identity,
    /// Per target column, the upstream column it takes its value from (`None`: the target's
    /// own column, left to its default).
    ByName(Arc<[Option<usize>]>),
}

/// Matches the columns of upstream table `source` (defined by `schema`) with those of the
/// target `target` by name (case-insensitively, as MySQL compares column names). Every
/// upstream column that is not generated must exist in the target.
pub fn build(
    source: &TableName,
    schema: &TableSchema,
    target: &TargetInfo,
) -> Result<ColumnMap, String> {
    let cols = target.table.columns();
    let mut map: Vec<Option<usize>> = vec![None; cols.len()];
    for (i, c) in schema.columns.iter().enumerate() {
        match cols
            .iter()
            .position(|t| t.name.eq_ignore_ascii_case(&c.name))
        {
            Some(t) => map[t] = Some(i),
            None if c.generated => {}
            None => {
                return Err(format!(
                    "column {} of the upstream table {source} is not in the target table {}",
                    quote_ident(&c.name),
                    target.table.name()
                ))
            }
        }
    }
    let identity =
        cols.len() == schema.columns.len() && map.iter().enumerate().all(|(t, s)| *s == Some(t));
    Ok(if identity {
        ColumnMap::Identity
    } else {
        ColumnMap::ByName(map.into())
    })
}

/// The target as written from one upstream table: the target's own columns are left to their
/// defaults and never compared; keys that use them cannot identify rows.
pub fn restrict(target: &TargetInfo, map: &ColumnMap) -> Result<Arc<TargetInfo>, String> {
    let ColumnMap::ByName(map) = map else {
        return Err("an identity map needs no restricted target".into());
    };
    let written = |i: usize| map.get(i).is_some_and(Option::is_some);
    // Rows are identified by the first identifying key made of written columns (a target
    // with its own auto-increment primary key and the upstream key as a unique key), else
    // by every written column.
    let key = std::iter::once(target.table.key().to_vec())
        .filter(|k| !k.is_empty())
        .chain(target.row_keys.iter().cloned())
        .find(|k| k.iter().all(|&c| written(c)))
        .unwrap_or_default();
    let table = target
        .table
        .written_through(written, key)
        .map_err(|e| e.to_string())?;
    let indexes = target
        .keys
        .indexes()
        .iter()
        .filter(|k| k.columns.iter().all(|&c| written(c)))
        .cloned()
        .collect();
    let keys = TableKeys::new(target.keys.table().clone(), indexes);
    Ok(Arc::new(TargetInfo {
        table,
        keys,
        wide_key: target.wide_key.clone(),
        row_keys: Vec::new(),
    }))
}

impl ColumnMap {
    /// The change with its images in target column order.
    pub fn apply(&self, change: RowChange) -> RowChange {
        match self {
            ColumnMap::Identity => change,
            ColumnMap::ByName(map) => {
                let remap = |img: Vec<RowValue>| -> Vec<RowValue> {
                    map.iter()
                        .map(|s| match s {
                            Some(i) => img.get(*i).cloned().unwrap_or(RowValue::Absent),
                            None => RowValue::Absent,
                        })
                        .collect()
                };
                RowChange {
                    before: change.before.map(remap),
                    after: change.after.map(remap),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::{TargetColumn, TargetTable};
    use crate::causality::{CausalityKey, KeyIndex};
    use crate::history::model::{ParseMode, SchemaSet};

    fn target(cols: &[&str], key: Vec<usize>) -> TargetInfo {
        let name = TableName::new("d", "t");
        TargetInfo {
            table: TargetTable::new(
                name.clone(),
                cols.iter().map(|c| TargetColumn::new(*c)).collect(),
                key.clone(),
                false,
            )
            .unwrap(),
            keys: TableKeys::new(name.clone(), vec![KeyIndex::new("PRIMARY", key)]),
            wide_key: CausalityKey::new(&name, "", &[]).unwrap(),
            row_keys: Vec::new(),
        }
    }

    fn upstream(sql: &str) -> TableSchema {
        SchemaSet::parse_create_table(sql, ParseMode::default()).unwrap()
    }

    fn int(i: i64) -> RowValue {
        RowValue::Int(i)
    }

    #[test]
    fn same_columns_pass_unchanged() {
        let s = upstream("CREATE TABLE t (id int primary key, a int)");
        let t = target(&["id", "A"], vec![0]);
        assert_eq!(
            build(&TableName::new("u", "t"), &s, &t),
            Ok(ColumnMap::Identity)
        );
    }

    #[test]
    fn other_order_and_extra_target_columns_map_by_name() {
        let s = upstream("CREATE TABLE t (id int primary key, a int, b int)");
        let t = target(&["extra_id", "b", "id", "a"], vec![0]);
        let m = build(&TableName::new("u", "t"), &s, &t).unwrap();
        assert_eq!(
            m,
            ColumnMap::ByName(vec![None, Some(2), Some(0), Some(1)].into())
        );
        let c = m.apply(RowChange {
            before: None,
            after: Some(vec![int(1), int(2), int(3)]),
        });
        assert_eq!(c.after.unwrap(), [RowValue::Absent, int(3), int(1), int(2)]);
        // The target's key is its own column: rows are identified by the written columns.
        let r = restrict(&t, &m).unwrap();
        assert!(!r.table.has_key());
        assert!(r.keys.indexes().is_empty());
        assert!(r.table.columns()[0].generated);
        let sql = r
            .table
            .delete(&[RowValue::Absent, int(3), int(1), int(2)])
            .unwrap();
        assert!(!sql.contains("extra_id"), "{sql}");
        assert!(sql.contains("`id` <=> 1"), "{sql}");
        let ins = r
            .table
            .insert(&[RowValue::Absent, int(3), int(1), int(2)], false)
            .unwrap();
        assert!(ins.contains("(`b`,`id`,`a`)"), "{ins}");
    }

    #[test]
    fn a_key_of_written_columns_stays() {
        let s = upstream("CREATE TABLE t (id int primary key, a int)");
        let t = target(&["a", "note", "id"], vec![2]);
        let m = build(&TableName::new("u", "t"), &s, &t).unwrap();
        let r = restrict(&t, &m).unwrap();
        assert_eq!(r.table.key(), [2]);
        assert_eq!(r.keys.indexes().len(), 1);
    }

    #[test]
    fn a_unique_key_of_written_columns_identifies_rows_when_the_primary_key_is_the_targets_own() {
        let s = upstream("CREATE TABLE t (id int primary key, a int)");
        let mut t = target(&["row_id", "id", "a"], vec![0]);
        t.row_keys = vec![vec![0], vec![1]];
        let m = build(&TableName::new("u", "t"), &s, &t).unwrap();
        let r = restrict(&t, &m).unwrap();
        assert_eq!(r.table.key(), [1]);
        let sql = r.table.delete(&[RowValue::Absent, int(7), int(1)]).unwrap();
        assert!(sql.ends_with("WHERE `id` = 7"), "{sql}");
    }

    #[test]
    fn an_upstream_column_the_target_lacks_names_both_tables() {
        let s = upstream("CREATE TABLE t (id int primary key, a int, gone int)");
        let t = target(&["id", "a"], vec![0]);
        let e = build(&TableName::new("u", "t"), &s, &t).unwrap_err();
        assert!(
            e.contains("`gone`") && e.contains("`u`.`t`") && e.contains("`d`.`t`"),
            "{e}"
        );
    }

    #[test]
    fn upstream_generated_columns_need_no_target_column() {
        let s = upstream("CREATE TABLE t (id int primary key, g int AS (id + 1) VIRTUAL)");
        let t = target(&["id"], vec![0]);
        let m = build(&TableName::new("u", "t"), &s, &t).unwrap();
        assert_eq!(m, ColumnMap::ByName(vec![Some(0)].into()));
    }
}
