//! A writer: applies its share of a batch and its progress row in one downstream transaction.
//!
//! SQL generation is pure ([`statements`]); [`apply`] runs it.

use std::sync::Arc;
use std::time::Instant;

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use super::target::TargetInfo;
use crate::apply::DmlError;
use crate::db::Endpoint;
use crate::error::TaskError;
use crate::metrics::syncer::WriterMetrics;
use crate::reader::{RowChange, RowValue};

/// Statements are sent to the server in multi-statement packets of about this size.
const PACKET_BYTES: usize = 1 << 20;
/// Longest single merged statement.
const STATEMENT_BYTES: usize = 512 * 1024;

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

/// The statements for `ops` (one writer's share of a batch, committed as one transaction).
/// With `merge` (`multiple-rows`, the default), a share whose tables allow it is folded to
/// one net change per key and written as one multi-row delete, update and insert per table
/// ([`super::fold`]); otherwise consecutive changes of one table and kind are merged into
/// multi-row statements, in order. Either way the effect is that of applying the changes one
/// by one. `safe`: DM's safe mode (`INSERT`→`REPLACE`, `UPDATE`→`DELETE`+`REPLACE`, or a
/// `REPLACE` of the new row when the key is kept). `merge: false`: one statement per change.
pub fn statements(ops: &[RowOp], safe: bool, merge: bool) -> Result<Vec<String>, DmlError> {
    let mut out = Vec::new();
    if !merge {
        for o in ops {
            out.extend(o.target.table.change(&o.change, safe)?);
        }
        return Ok(out);
    }
    if let Some(folded) = super::fold::fold(ops, safe) {
        for f in folded {
            let table = &f.target.table;
            if !f.deletes.is_empty() {
                out.extend(table.merge_deletes(f.deletes.iter().copied(), STATEMENT_BYTES)?);
            }
            if !f.updates.is_empty() {
                if safe {
                    out.extend(table.merge_inserts(
                        f.updates.iter().map(|(_, a)| *a),
                        true,
                        STATEMENT_BYTES,
                    )?);
                } else {
                    out.extend(table.merge_updates(f.updates.iter().copied(), STATEMENT_BYTES)?);
                }
            }
            if !f.inserts.is_empty() {
                out.extend(table.merge_inserts(
                    f.inserts.iter().copied(),
                    safe,
                    STATEMENT_BYTES,
                )?);
            }
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
        match k {
            Kind::Insert => out.extend(table.merge_inserts(
                group.iter().filter_map(|o| o.change.after.as_deref()),
                safe,
                STATEMENT_BYTES,
            )?),
            Kind::Delete => out.extend(table.merge_deletes(
                group.iter().filter_map(|o| o.change.before.as_deref()),
                STATEMENT_BYTES,
            )?),
            Kind::KeyedUpdate if !safe => out.extend(table.merge_updates(
                group.iter().filter_map(|o| {
                    Some((o.change.before.as_deref()?, o.change.after.as_deref()?))
                }),
                STATEMENT_BYTES,
            )?),
            Kind::KeyedUpdate | Kind::Update => {
                for o in group {
                    out.extend(table.change(&o.change, safe)?);
                }
            }
        }
        i = j;
    }
    Ok(out)
}

/// Applies `stmts` then `progress` in one transaction on `conn`, rolling back on error.
pub async fn apply(
    conn: &mut Conn,
    ep: &Endpoint,
    stmts: &[String],
    progress: &str,
    what: &str,
    metrics: &WriterMetrics,
) -> Result<(), TaskError> {
    let result = async {
        // Sized for what is sent (at most one packet's worth): a share is usually far
        // smaller than a packet, and a large allocation per share costs more than its bytes.
        let need = "START TRANSACTION;COMMIT;".len()
            + stmts.iter().map(|s| s.len() + 1).sum::<usize>()
            + progress.len();
        let mut packet = String::with_capacity(need.min(PACKET_BYTES + 4096));
        packet.push_str("START TRANSACTION");
        for s in stmts
            .iter()
            .map(String::as_str)
            .chain(std::iter::once(progress))
        {
            if packet.len() + s.len() > PACKET_BYTES && !packet.is_empty() {
                let sent = Instant::now();
                conn.query_drop(std::mem::take(&mut packet))
                    .await
                    .map_err(ep.sql_err(what.to_string()))?;
                metrics.packet(sent.elapsed());
            }
            if !packet.is_empty() {
                packet.push(';');
            }
            packet.push_str(s);
        }
        packet.push_str(";COMMIT");
        let sent = Instant::now();
        conn.query_drop(packet)
            .await
            .map_err(ep.sql_err(what.to_string()))?;
        metrics.packet(sent.elapsed());
        Ok(())
    }
    .await;
    if result.is_err() {
        let sent = Instant::now();
        let _ = conn.query_drop("ROLLBACK").await;
        metrics.rolled_back(sent.elapsed());
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
            keys: TableKeys::new(name.clone(), vec![]),
            wide_key: CausalityKey::new(&name, "", &[]).unwrap(),
            row_keys: Vec::new(),
        })
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
        let s = statements(&ops, false, true).unwrap();
        assert_eq!(s.len(), 3, "{s:?}");
        assert!(s[0].starts_with("INSERT INTO `d`.`t`"), "{}", s[0]);
        assert!(s[1].contains("ON DUPLICATE KEY UPDATE"), "{}", s[1]);
        assert!(s[2].starts_with("INSERT INTO"), "{}", s[2]);
    }

    #[test]
    fn key_changing_updates_and_safe_mode_are_not_merged_as_upserts() {
        let t = target(true);
        let s = statements(&[upd(&t, 1, 5)], false, true).unwrap();
        assert!(s[0].starts_with("UPDATE"), "{s:?}");
        let s = statements(&[ins(&t, 1), upd(&t, 1, 1)], true, true).unwrap();
        assert!(s[0].starts_with("REPLACE"), "{s:?}");
        assert!(s.iter().any(|x| x.starts_with("DELETE")), "{s:?}");
        let k = target(false);
        let s = statements(&[upd(&k, 1, 1)], false, true).unwrap();
        assert!(
            s[0].starts_with("UPDATE") && s[0].ends_with("LIMIT 1"),
            "{s:?}"
        );
    }

    #[test]
    fn multiple_rows_false_writes_one_statement_per_change() {
        let t = target(true);
        let ops = vec![ins(&t, 1), ins(&t, 2), upd(&t, 1, 1), upd(&t, 2, 2)];
        let s = statements(&ops, false, false).unwrap();
        assert_eq!(s.len(), 4, "{s:?}");
        assert!(
            s[0].starts_with("INSERT") && !s[0].contains("),("),
            "{}",
            s[0]
        );
        assert!(s[2].starts_with("UPDATE"), "{}", s[2]);
    }
}
