//! A writer: applies its share of a batch and its progress row in one downstream transaction.
//!
//! SQL generation is pure ([`statements`]); [`apply`] runs it.

use std::sync::Arc;

use futures::StreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use super::target::TargetInfo;
use crate::apply::{load_rows, DmlError, LoadRows};
use crate::db::Endpoint;
use crate::error::TaskError;
use crate::reader::{RowChange, RowValue};

/// Statements are sent to the server in multi-statement packets of about this size.
const PACKET_BYTES: usize = 1 << 20;
/// Longest single merged statement.
const STATEMENT_BYTES: usize = 512 * 1024;
/// Shortest run of inserts sent as `LOAD DATA` (shorter runs cost less as `INSERT` text,
/// which shares the multi-statement packets).
const LOAD_MIN_ROWS: usize = 16;
/// Most bytes of rows in one `LOAD DATA` stream.
const LOAD_BYTES: usize = 4 << 20;

/// One statement of a writer's transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stmt {
    /// SQL text.
    Sql(String),
    /// A `LOAD DATA LOCAL` with its rows.
    Load(LoadRows),
}

/// How a share is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteMode {
    /// DM's safe mode (`INSERT`→`REPLACE`, `UPDATE`→`DELETE`+`REPLACE`).
    pub safe: bool,
    /// Merge consecutive changes (`multiple-rows`).
    pub merge: bool,
    /// Runs of inserts as `LOAD DATA LOCAL` (the downstream allows `local_infile`).
    pub load: bool,
}

/// One row change for a target table.
#[derive(Debug, Clone)]
pub struct RowOp {
    /// The target table.
    pub target: Arc<TargetInfo>,
    /// The change (images in the target's column order).
    pub change: RowChange,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Insert,
    Delete,
    /// An update keeping its key, with a full after image: mergeable.
    KeyedUpdate,
    /// Any other update.
    Update,
}

fn kind(op: &RowOp) -> Kind {
    match (&op.change.before, &op.change.after) {
        (None, _) => Kind::Insert,
        (Some(_), None) => Kind::Delete,
        (Some(b), Some(a)) => {
            let t = &op.target.table;
            let keeps_key = t.has_key() && t.key().iter().all(|&k| b.get(k) == a.get(k));
            let full = t
                .columns()
                .iter()
                .zip(a.iter())
                .all(|(c, v)| c.generated || *v != RowValue::Absent);
            if keeps_key && full && a.len() == t.columns().len() && b.len() == a.len() {
                Kind::KeyedUpdate
            } else {
                Kind::Update
            }
        }
    }
}

/// The statements for `ops`, in order: consecutive changes of one table and kind are merged
/// into multi-row statements (same effect as applying them one by one), and long runs of
/// inserts become `LOAD DATA` streams when `mode.load`. `mode.merge == false`
/// (`multiple-rows: false`): one statement per change.
pub fn statements(ops: &[RowOp], mode: WriteMode) -> Result<Vec<Stmt>, DmlError> {
    let safe = mode.safe;
    let mut out = Vec::new();
    if !mode.merge {
        for o in ops {
            out.extend(
                o.target
                    .table
                    .change(&o.change, safe)?
                    .into_iter()
                    .map(Stmt::Sql),
            );
        }
        return Ok(out);
    }
    let mut i = 0;
    while i < ops.len() {
        let k = kind(&ops[i]);
        let t = &ops[i].target;
        let mut j = i + 1;
        while j < ops.len() && Arc::ptr_eq(&ops[j].target, t) && kind(&ops[j]) == k {
            j += 1;
        }
        let group = &ops[i..j];
        let table = &t.table;
        let sql = |v: Vec<String>| v.into_iter().map(Stmt::Sql);
        match k {
            Kind::Insert if mode.load && group.len() >= LOAD_MIN_ROWS => {
                push_loads(group, safe, &mut out)?;
            }
            Kind::Insert => out.extend(sql(table.merge_inserts(
                group.iter().filter_map(|o| o.change.after.as_deref()),
                safe,
                STATEMENT_BYTES,
            )?)),
            Kind::Delete => out.extend(sql(table.merge_deletes(
                group.iter().filter_map(|o| o.change.before.as_deref()),
                STATEMENT_BYTES,
            )?)),
            Kind::KeyedUpdate if !safe => out.extend(sql(table.merge_updates(
                group.iter().filter_map(|o| {
                    Some((o.change.before.as_deref()?, o.change.after.as_deref()?))
                }),
                STATEMENT_BYTES,
            )?)),
            Kind::KeyedUpdate | Kind::Update => {
                for o in group {
                    out.extend(sql(table.change(&o.change, safe)?));
                }
            }
        }
        i = j;
    }
    Ok(out)
}

/// A run of inserts into one table as `LOAD DATA` streams of at most [`LOAD_BYTES`]; a part
/// whose rows have no exact field form is written as `INSERT` text instead.
fn push_loads(group: &[RowOp], safe: bool, out: &mut Vec<Stmt>) -> Result<(), DmlError> {
    let table = &group[0].target.table;
    let rows: Vec<&[crate::reader::RowValue]> = group
        .iter()
        .filter_map(|o| o.change.after.as_deref())
        .collect();
    let mut start = 0;
    while start < rows.len() {
        // Split by an estimate of the row size (the stream is about the size of the values).
        let mut end = start;
        let mut bytes = 0;
        while end < rows.len() && (end == start || bytes < LOAD_BYTES) {
            bytes += rows[end].iter().map(value_size).sum::<usize>();
            end += 1;
        }
        let part = &rows[start..end];
        match load_rows(table, part.iter().copied(), safe) {
            Some(l) => out.push(Stmt::Load(l)),
            None => out.extend(
                table
                    .merge_inserts(part.iter().copied(), safe, STATEMENT_BYTES)?
                    .into_iter()
                    .map(Stmt::Sql),
            ),
        }
        start = end;
    }
    Ok(())
}

fn value_size(v: &crate::reader::RowValue) -> usize {
    use crate::reader::RowValue as V;
    match v {
        V::Bytes(b) | V::Bit(b) => b.len() + 1,
        V::Decimal(d) => d.len() + 1,
        _ => 12,
    }
}

/// What [`apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Committed, with this many rows written through `LOAD DATA`.
    Committed(u64),
    /// A `LOAD DATA` raised warnings (with `LOCAL` the server turns errors such as duplicate
    /// keys or bad values into warnings): everything was rolled back; write the share again
    /// without loads, whose statements report such errors as errors.
    LoadWarned(u16),
}

/// Applies `stmts` then `progress` in one transaction on `conn`, rolling back on error.
pub async fn apply(
    conn: &mut Conn,
    ep: &Endpoint,
    stmts: &[Stmt],
    progress: &str,
    what: &str,
) -> Result<Applied, TaskError> {
    let mut loaded = 0;
    let result = async {
        let mut packet = String::with_capacity(PACKET_BYTES + 4096);
        packet.push_str("START TRANSACTION");
        for stmt in stmts {
            let s = match stmt {
                Stmt::Sql(s) => s.as_str(),
                Stmt::Load(load) => {
                    if !packet.is_empty() {
                        conn.query_drop(std::mem::take(&mut packet))
                            .await
                            .map_err(ep.sql_err(what.to_string()))?;
                    }
                    let data = load.data.clone();
                    conn.set_infile_handler(async move {
                        Ok(futures::stream::once(async move { Ok(data) }).boxed())
                    });
                    conn.query_drop(&load.sql)
                        .await
                        .map_err(ep.sql_err(format!("{what} (LOAD DATA of {} rows)", load.rows)))?;
                    let warnings = conn.get_warnings();
                    if warnings > 0 {
                        return Ok(Applied::LoadWarned(warnings));
                    }
                    loaded += load.rows as u64;
                    continue;
                }
            };
            if packet.len() + s.len() > PACKET_BYTES && !packet.is_empty() {
                conn.query_drop(std::mem::take(&mut packet))
                    .await
                    .map_err(ep.sql_err(what.to_string()))?;
            }
            if !packet.is_empty() {
                packet.push(';');
            }
            packet.push_str(s);
        }
        if !packet.is_empty() {
            packet.push(';');
        }
        packet.push_str(progress);
        packet.push_str(";COMMIT");
        conn.query_drop(packet)
            .await
            .map_err(ep.sql_err(what.to_string()))?;
        Ok(Applied::Committed(loaded))
    }
    .await;
    if !matches!(result, Ok(Applied::Committed(_))) {
        let _ = conn.query_drop("ROLLBACK").await;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::{TargetColumn, TargetTable};
    use crate::causality::{CausalityKey, TableKeys};
    use ferry_model::TableName;

    fn target(keyed: bool) -> Arc<TargetInfo> {
        let name = TableName::new("d", "t");
        Arc::new(TargetInfo {
            table: TargetTable::new(
                name.clone(),
                vec![TargetColumn::new("id"), TargetColumn::new("v")],
                if keyed { vec![0] } else { vec![] },
                false,
            )
            .unwrap(),
            keys: TableKeys {
                table: name.clone(),
                indexes: vec![],
            },
            wide_key: CausalityKey::new(&name, "", &[]).unwrap(),
        })
    }

    fn sql(ops: &[RowOp], safe: bool, merge: bool) -> Vec<String> {
        let mode = WriteMode {
            safe,
            merge,
            load: false,
        };
        statements(ops, mode)
            .unwrap()
            .into_iter()
            .map(|s| match s {
                Stmt::Sql(s) => s,
                Stmt::Load(l) => panic!("unexpected load {l:?}"),
            })
            .collect()
    }

    fn ins(t: &Arc<TargetInfo>, id: i64) -> RowOp {
        RowOp {
            target: t.clone(),
            change: RowChange {
                before: None,
                after: Some(vec![RowValue::Int(id), RowValue::Int(0)]),
            },
        }
    }

    fn upd(t: &Arc<TargetInfo>, id: i64, new_id: i64) -> RowOp {
        RowOp {
            target: t.clone(),
            change: RowChange {
                before: Some(vec![RowValue::Int(id), RowValue::Int(0)]),
                after: Some(vec![RowValue::Int(new_id), RowValue::Int(1)]),
            },
        }
    }

    #[test]
    fn consecutive_changes_merge_and_order_is_kept() {
        let t = target(true);
        let ops = vec![
            ins(&t, 1),
            ins(&t, 2),
            upd(&t, 1, 1),
            upd(&t, 2, 2),
            ins(&t, 3),
        ];
        let s = sql(&ops, false, true);
        assert_eq!(s.len(), 3, "{s:?}");
        assert!(s[0].starts_with("INSERT INTO `d`.`t`"), "{}", s[0]);
        assert!(s[1].contains("ON DUPLICATE KEY UPDATE"), "{}", s[1]);
        assert!(s[2].starts_with("INSERT INTO"), "{}", s[2]);
    }

    #[test]
    fn key_changing_updates_and_safe_mode_are_not_merged_as_upserts() {
        let t = target(true);
        let s = sql(&[upd(&t, 1, 5)], false, true);
        assert!(s[0].starts_with("UPDATE"), "{s:?}");
        let s = sql(&[ins(&t, 1), upd(&t, 1, 1)], true, true);
        assert!(s[0].starts_with("REPLACE"), "{s:?}");
        assert!(s.iter().any(|x| x.starts_with("DELETE")), "{s:?}");
        let k = target(false);
        let s = sql(&[upd(&k, 1, 1)], false, true);
        assert!(
            s[0].starts_with("UPDATE") && s[0].ends_with("LIMIT 1"),
            "{s:?}"
        );
    }

    #[test]
    fn multiple_rows_false_writes_one_statement_per_change() {
        let t = target(true);
        let ops = vec![ins(&t, 1), ins(&t, 2), upd(&t, 1, 1), upd(&t, 2, 2)];
        let s = sql(&ops, false, false);
        assert_eq!(s.len(), 4, "{s:?}");
        assert!(
            s[0].starts_with("INSERT") && !s[0].contains("),("),
            "{}",
            s[0]
        );
        assert!(s[2].starts_with("UPDATE"), "{}", s[2]);
    }

    #[test]
    fn long_insert_runs_become_loads_and_short_ones_stay_inserts() {
        let t = target(true);
        let mode = WriteMode {
            safe: false,
            merge: true,
            load: true,
        };
        let mut ops: Vec<RowOp> = (0..LOAD_MIN_ROWS as i64).map(|i| ins(&t, i)).collect();
        ops.push(upd(&t, 1, 1));
        ops.extend((100..103).map(|i| ins(&t, i)));
        let s = statements(&ops, mode).unwrap();
        assert_eq!(s.len(), 3, "{s:?}");
        match &s[0] {
            Stmt::Load(l) => {
                assert_eq!(l.rows, LOAD_MIN_ROWS);
                assert!(l.data.starts_with(b"0\t0\n1\t0\n"), "{:?}", l.data);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&s[1], Stmt::Sql(x) if x.contains("ON DUPLICATE KEY UPDATE")));
        assert!(matches!(&s[2], Stmt::Sql(x) if x.starts_with("INSERT INTO")));
        // A row without an exact field form falls back to INSERT text.
        let mut odd = ops[..LOAD_MIN_ROWS].to_vec();
        odd[3].change.after.as_mut().unwrap()[1] = RowValue::Absent;
        let s = statements(&odd, mode).unwrap();
        assert!(s.iter().all(|x| matches!(x, Stmt::Sql(_))), "{s:?}");
    }
}
