//! The copy of one chunk: the dump (rows read from a snapshot, encoded into blocks) and the
//! load (the blocks streamed into one downstream transaction, `LOAD DATA LOCAL` or
//! multi-row `INSERT`, with the chunk's ledger row). The stages that run them are in
//! [`super::group`].

use std::collections::HashMap;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use ferry_model::{Chunk, ChunkId, TableName};
use futures::{StreamExt, TryStreamExt};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Pool, Row, Value};
use std::sync::atomic::Ordering::Relaxed;
use tokio::sync::{mpsc, oneshot};

use super::encode::LoadFormat;
use super::tables::Selected;
use super::{encode, sql, BulkProgress, OnDuplicate, BLOCK_BYTES, INSERT_STATEMENT_BYTES};
use crate::db::{Endpoint, Flavor};
use crate::error::TaskError;
use crate::schema;

/// What every chunk copy shares.
pub(crate) struct CopyCtx {
    pub(crate) task: String,
    pub(crate) source_id: String,
    pub(super) upstream: Endpoint,
    pub(super) downstream: Endpoint,
    pub(super) flavor: Flavor,
    pub(super) format: LoadFormat,
    pub(super) on_duplicate: OnDuplicate,
    pub(super) user_where: Option<String>,
    pub(super) ledger: TableName,
    pub(super) tables: HashMap<TableName, Arc<Selected>>,
    /// The upstream has `CAST(... AS DOUBLE)`.
    pub(super) cast_double: bool,
    /// Tables found gone (dropped or renamed) while their chunks were copied.
    pub(super) gone: std::sync::Mutex<Vec<TableName>>,
    /// Tables whose definition changed under their snapshot read (a rebuild, a renamed or
    /// dropped column), with the error: their remaining chunks wait for the next round.
    pub(super) changed: std::sync::Mutex<Vec<(TableName, String)>>,
    /// Chunks committed: (chunk, (rows, bytes)).
    pub(super) committed: std::sync::Mutex<Vec<(ChunkId, (u64, u64))>>,
}

pub(super) type Block = std::io::Result<Bytes>;

/// Reads a chunk's rows and sends them as encoded blocks; returns (rows, bytes).
pub(super) async fn dump_chunk(
    up: &mut Conn,
    ctx: &CopyCtx,
    sel: &Selected,
    chunk: &Chunk,
    tx: mpsc::Sender<Block>,
    progress: &BulkProgress,
) -> Result<(u64, u64), TaskError> {
    let meta = &sel.meta;
    let query = sql::select_chunk(
        meta,
        chunk.lower.as_ref(),
        chunk.upper.as_ref(),
        ctx.user_where.as_deref(),
        ctx.cast_double,
    );
    let kinds: Vec<schema::ValueKind> = meta.copied_columns().map(|c| c.kind()).collect();
    let json_convert = ctx.flavor != Flavor::Mariadb;
    let prefix = sql::insert_prefix(meta, &sel.target, ctx.on_duplicate);
    let what = format!("dumping chunk {} of {}", chunk.id.ordinal, meta.name);
    let fail = |e: mysql_async::Error| {
        let err = ctx.upstream.sql_err(what.clone())(e);
        // Make the loader's stream fail so that its transaction rolls back.
        let _ = tx.try_send(Err(std::io::Error::other(err.to_string())));
        err
    };
    let mut result = up.query_iter(&query).await.map_err(fail)?;
    let mut rows_stream = match result.stream::<Row>().await.map_err(fail)? {
        Some(s) => s,
        None => return Ok((0, 0)),
    };
    let mut buf = BytesMut::with_capacity(BLOCK_BYTES + 64 * 1024);
    let (mut rows, mut bytes, mut rows_reported, mut in_stmt) = (0u64, 0u64, 0u64, 0usize);
    let mut loader_gone = false;
    while let Some(row) = rows_stream.try_next().await.map_err(fail)? {
        let values = row.unwrap_raw();
        let refs = values.iter().map(|v| match v {
            Some(Value::Bytes(b)) => Some(b.as_slice()),
            _ => None,
        });
        match ctx.format {
            LoadFormat::LoadData => encode::encode_load_data_row(refs, &mut buf),
            LoadFormat::Insert => {
                buf.extend_from_slice(if in_stmt == 0 {
                    prefix.as_bytes()
                } else {
                    b","
                });
                encode::encode_values_row(refs, &kinds, json_convert, &mut buf);
                in_stmt += 1;
            }
        }
        rows += 1;
        let limit = match ctx.format {
            LoadFormat::LoadData => BLOCK_BYTES,
            LoadFormat::Insert => INSERT_STATEMENT_BYTES,
        };
        if buf.len() >= limit {
            bytes += buf.len() as u64;
            progress.dumped_bytes.fetch_add(buf.len() as u64, Relaxed);
            progress
                .dumped_rows
                .fetch_add(rows - rows_reported, Relaxed);
            rows_reported = rows;
            in_stmt = 0;
            if tx.send(Ok(buf.split().freeze())).await.is_err() {
                loader_gone = true;
                break;
            }
        }
    }
    drop(rows_stream);
    drop(result);
    if !buf.is_empty() && !loader_gone {
        bytes += buf.len() as u64;
        progress.dumped_bytes.fetch_add(buf.len() as u64, Relaxed);
        let _ = tx.send(Ok(buf.split().freeze())).await;
    }
    progress
        .dumped_rows
        .fetch_add(rows - rows_reported, Relaxed);
    Ok((rows, bytes))
}

/// Fails the chunk (rolling it back) when the last statement left warnings: a warning means a
/// value was changed on its way in. With `on-duplicate-logical: ignore`, duplicate-key
/// warnings (1062) are the requested behaviour and are not counted.
pub(super) async fn check_warnings(
    conn: &mut Conn,
    ctx: &CopyCtx,
    what: &str,
) -> Result<(), TaskError> {
    let count = conn.get_warnings();
    if count == 0 {
        return Ok(());
    }
    let down = &ctx.downstream;
    let shown: Vec<(String, u32, String)> = conn
        .query("SHOW WARNINGS")
        .await
        .map_err(down.sql_err(format!("SHOW WARNINGS after loading {what}")))?;
    let relevant: Vec<&(String, u32, String)> = shown
        .iter()
        .filter(|(_, code, _)| !(ctx.on_duplicate == OnDuplicate::Ignore && *code == 1062))
        .collect();
    if relevant.is_empty() && ctx.on_duplicate == OnDuplicate::Ignore {
        return Ok(());
    }
    let _ = conn.query_drop("ROLLBACK").await;
    Err(TaskError::LoadWarnings {
        addr: down.addr(),
        what: what.to_string(),
        count,
        detail: relevant
            .iter()
            .take(5)
            .map(|(l, c, m)| format!("{l} {c}: {m}"))
            .collect::<Vec<_>>()
            .join("; "),
    })
}

/// Loads a chunk's stream in one transaction, together with its ledger row.
pub(super) async fn load_chunk(
    ctx: &CopyCtx,
    pool: &Pool,
    sel: &Selected,
    chunk: &Chunk,
    mut rx: mpsc::Receiver<Block>,
    done_rx: oneshot::Receiver<(u64, u64)>,
    what: &str,
) -> Result<(), TaskError> {
    let down = &ctx.downstream;
    let err = |e| down.sql_err(format!("loading {what}"))(e);
    let mut conn = pool.get_conn().await.map_err(|source| TaskError::Connect {
        side: down.side,
        addr: down.addr(),
        source,
    })?;
    conn.query_drop("BEGIN").await.map_err(err)?;
    match ctx.format {
        LoadFormat::LoadData => {
            let stream = futures::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|item| (item, rx))
            });
            conn.set_infile_handler(async move { Ok(stream.boxed()) });
            let stmt = sql::load_data(&sel.meta, &sel.target, ctx.flavor, ctx.on_duplicate);
            conn.query_drop(&stmt).await.map_err(err)?;
            check_warnings(&mut conn, ctx, what).await?;
        }
        LoadFormat::Insert => {
            while let Some(block) = rx.recv().await {
                let Ok(block) = block else { break };
                conn.query_drop(String::from_utf8_lossy(&block).as_ref())
                    .await
                    .map_err(err)?;
                check_warnings(&mut conn, ctx, what).await?;
            }
        }
    }
    // The dump must have ended cleanly; otherwise nothing of this chunk is committed.
    let Ok((rows, bytes)) = done_rx.await else {
        let _ = conn.query_drop("ROLLBACK").await;
        return Err(TaskError::Cancelled);
    };
    conn.exec_drop(
        format!(
            "INSERT INTO {} (source_id, cp_schema, cp_table, chunk, row_count, byte_count) \
             VALUES (?, ?, ?, ?, ?, ?)",
            ctx.ledger.quoted()
        ),
        (
            &ctx.source_id,
            &chunk.id.table.schema,
            &chunk.id.table.table,
            chunk.id.ordinal,
            rows,
            bytes,
        ),
    )
    .await
    .map_err(err)?;
    conn.query_drop("COMMIT").await.map_err(err)?;
    Ok(())
}
