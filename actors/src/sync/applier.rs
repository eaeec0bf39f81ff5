//! The sink of the Sync unit: where shares of batches and progress rows are committed.
//!
//! [`Applier`] is what the exactly-once protocol needs from the downstream (DESIGN.md §4.4):
//! a writer's share of a batch and its progress row committed as one atomic unit, the mark of
//! a batch without rows recorded for several writers, and the stored progress rows read back.
//! [`MySqlApplier`] is the real one; the unit tests use an in-memory one that fails and
//! crashes on demand (`mem`).

#[cfg(test)]
pub(super) mod mem;

use ferry_model::TableName;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use super::progress::{self, BatchMark, StoredRow};
use super::writer::{self, RowOp};
use super::SyncSpec;
use crate::db::Endpoint;
use crate::error::TaskError;
use crate::metrics::syncer::WriterMetrics;

/// The downstream as the exactly-once protocol sees it.
pub(crate) trait Applier {
    /// Applies `ops`, writer `worker`'s share of the batch `mark` (`safe`: safe mode),
    /// together with that writer's progress row recording `mark`, as one atomic unit: either
    /// all of it is committed or none of it.
    async fn apply_share(
        &mut self,
        worker: usize,
        mark: &BatchMark,
        ops: &[RowOp],
        safe: bool,
    ) -> Result<(), TaskError>;

    /// Records `mark`, a batch without rows, as the progress of each writer in `workers`
    /// (atomically).
    async fn record_empty(&mut self, workers: &[usize], mark: &BatchMark) -> Result<(), TaskError>;

    /// The stored progress rows of the source.
    async fn stored(&mut self) -> Result<Vec<StoredRow>, TaskError>;
}

/// The downstream MySQL/TiDB, through one connection.
pub(crate) struct MySqlApplier {
    conn: Conn,
    ep: Endpoint,
    /// The progress table.
    table: TableName,
    source: String,
    /// `multiple-rows`: merge changes into multi-row statements.
    merge: bool,
    /// The writer's series.
    metrics: WriterMetrics,
}

impl MySqlApplier {
    /// The downstream of `spec` through `conn`.
    pub fn new(conn: Conn, spec: &SyncSpec) -> Self {
        Self {
            conn,
            ep: spec.downstream.clone(),
            table: progress::progress_table(&spec.meta_schema, &spec.task),
            source: spec.source_id.clone(),
            merge: spec.multiple_rows,
            metrics: WriterMetrics::noop(),
        }
    }

    /// Records the writer's transactions and jobs into `metrics`.
    pub fn with_metrics(mut self, metrics: WriterMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// The connection, for everything else (schema reads, DDL).
    pub fn conn(&mut self) -> &mut Conn {
        &mut self.conn
    }
}

impl Applier for MySqlApplier {
    async fn apply_share(
        &mut self,
        worker: usize,
        mark: &BatchMark,
        ops: &[RowOp],
        safe: bool,
    ) -> Result<(), TaskError> {
        let what = format!(
            "applying batch {} ({} to {}), writer {worker}",
            mark.batch, mark.start, mark.end
        );
        let stmts = writer::statements(ops, safe, self.merge)
            .map_err(|e| TaskError::Blocked(format!("{what}: {e}")))?;
        let progress = progress::upsert_sql(&self.table, &self.source, &[worker], mark);
        let began = std::time::Instant::now();
        let m = &self.metrics;
        let result = writer::apply(&mut self.conn, &self.ep, &stmts, &progress, &what, m).await;
        self.metrics
            .share(ops, stmts.len(), began.elapsed(), result.is_ok());
        result
    }

    async fn record_empty(&mut self, workers: &[usize], mark: &BatchMark) -> Result<(), TaskError> {
        let sql = progress::upsert_sql(&self.table, &self.source, workers, mark);
        self.conn.query_drop(sql).await.map_err(
            self.ep
                .sql_err(format!("recording progress at {}", mark.end)),
        )
    }

    async fn stored(&mut self) -> Result<Vec<StoredRow>, TaskError> {
        let table = &self.table;
        let rows: Vec<(i64, u64, i64, String, String)> = self
            .conn
            .query(progress::select_sql(table, &self.source))
            .await
            .map_err(self.ep.sql_err(format!("reading {table}")))?;
        rows.iter()
            .map(|(w, b, n, s, e)| progress::parse_row(*w, *b, *n, s, e))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TaskError::Config(format!("{table} holds an unreadable row: {e}")))
    }
}
