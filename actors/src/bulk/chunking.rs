//! Splits a table into chunks by its key, reading the key's boundaries from the upstream
//! (the arithmetic is in [`super::plan`]).

use ferry_model::{Chunk, ChunkBound, KeyValue};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value};

use tracing::warn;

use super::{plan, sql, BulkSpec};
use crate::error::TaskError;
use crate::schema::{self, TableMeta};

/// Splits a table into chunks.
pub(super) async fn plan_table(
    spec: &BulkSpec,
    ctl: &mut Conn,
    meta: &TableMeta,
) -> Result<Vec<Chunk>, TaskError> {
    let up = &spec.upstream;
    let rpc = plan::rows_per_chunk(meta, spec.rows, spec.chunk_filesize_mib);
    if meta.split_key.is_empty() {
        return Ok(plan::chunks_from_boundaries(meta, Vec::new()));
    }
    let key: Vec<&schema::Column> = meta.split_key.iter().map(|&i| &meta.columns[i]).collect();
    let order: Vec<String> = key
        .iter()
        .map(|c| ferry_model::table::quote_ident(&c.name))
        .collect();
    let what = format!("planning chunks of {}", meta.name);
    // Statistics can be stale (InnoDB reports 1 row for a table whose saved statistics say 0):
    // when they claim a single chunk, count for real, up to one chunk length.
    let stats_trusted = meta.est_rows > rpc;
    if !stats_trusted {
        let probe: Option<Row> = ctl
            .query_first(format!(
                "SELECT 1 FROM {} ORDER BY {} LIMIT 1 OFFSET {rpc}",
                meta.name.quoted(),
                order.join(", ")
            ))
            .await
            .map_err(up.sql_err(what.clone()))?;
        if probe.is_none() {
            return Ok(plan::chunks_from_boundaries(meta, Vec::new()));
        }
        warn!(table = %meta.name, est_rows = meta.est_rows, "table statistics are stale; walking the key to plan chunks");
    }
    if stats_trusted && key.len() == 1 && key[0].is_integer() {
        let k = &order[0];
        let row: Option<(Option<String>, Option<String>)> = ctl
            .query_first(format!(
                "SELECT MIN({k}), MAX({k}) FROM {}",
                meta.name.quoted()
            ))
            .await
            .map_err(up.sql_err(what))?;
        let Some((Some(min), Some(max))) = row else {
            return Ok(plan::chunks_from_boundaries(meta, Vec::new()));
        };
        let (Ok(min), Ok(max)) = (min.parse::<i128>(), max.parse::<i128>()) else {
            return Ok(plan::chunks_from_boundaries(meta, Vec::new()));
        };
        let bounds = plan::integer_boundaries(min, max, meta.est_rows, rpc)
            .into_iter()
            .map(plan::int_bound)
            .collect();
        return Ok(plan::chunks_from_boundaries(meta, bounds));
    }
    // Any other key, or statistics that cannot be trusted: walk the index, one chunk length
    // at a time (exact boundaries, one pass over the key).
    let cols = sql::key_tuple(&key);
    let mut bounds: Vec<ChunkBound> = Vec::new();
    loop {
        let mut q = format!("SELECT {} FROM {}", order.join(", "), meta.name.quoted());
        if let Some(last) = bounds.last() {
            let vals: Vec<String> = key
                .iter()
                .zip(last)
                .map(|(c, v)| sql::key_literal(c, v))
                .collect();
            let vals = if vals.len() == 1 {
                vals[0].clone()
            } else {
                format!("({})", vals.join(", "))
            };
            q.push_str(&format!(" WHERE {cols} > {vals}"));
        }
        q.push_str(&format!(
            " ORDER BY {} LIMIT 1 OFFSET {}",
            order.join(", "),
            rpc - 1
        ));
        let row: Option<Row> = ctl
            .query_first(&q)
            .await
            .map_err(up.sql_err(what.clone()))?;
        let Some(row) = row else { break };
        let values = row.unwrap_raw();
        let bound: ChunkBound = key
            .iter()
            .zip(values)
            .map(|(c, v)| key_value(c, v))
            .collect();
        bounds.push(bound);
        if bounds.len() > 1_000_000 {
            break;
        }
    }
    let mut chunks = plan::chunks_from_boundaries(meta, bounds);
    if !stats_trusted {
        for c in &mut chunks {
            c.estimated_rows = rpc;
        }
    }
    Ok(chunks)
}

pub(super) fn key_value(col: &schema::Column, v: Option<Value>) -> KeyValue {
    let bytes = match v {
        Some(Value::Bytes(b)) => b,
        Some(Value::Int(n)) => return KeyValue::Int(n),
        Some(Value::UInt(n)) => return KeyValue::UInt(n),
        Some(other) => other.as_sql(true).into_bytes(),
        None => Vec::new(),
    };
    if col.is_integer() {
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(n) = text.parse::<i64>() {
            return KeyValue::Int(n);
        }
        if let Ok(n) = text.parse::<u64>() {
            return KeyValue::UInt(n);
        }
    }
    KeyValue::Bytes(bytes)
}
