//! The DDL barrier: a statement from the binlog drains the writers, advances the schema
//! history, is applied downstream (or skipped when a copy round holds it), and its position is
//! recorded before anything after it is written.

use ferry_model::TableName;

use super::super::ddl_apply;
use super::super::point::SyncPoint;
use super::{refused, Coordinator};
use crate::error::TaskError;

/// A statement met in the binlog.
pub(super) struct Met {
    /// Default schema.
    pub schema: String,
    /// Statement text.
    pub sql: String,
    /// Session `sql_mode` (binlog bits).
    pub sql_mode: u64,
    /// Point before it.
    pub before: SyncPoint,
    /// The boundary after it.
    pub point: SyncPoint,
    /// Event timestamp.
    pub timestamp: u32,
}

impl Coordinator<'_> {
    /// Applies the statement `m` as a barrier.
    pub(super) async fn statement(&mut self, m: Met) -> Result<(), TaskError> {
        let Met {
            schema,
            sql,
            sql_mode,
            before,
            point,
            timestamp,
        } = m;
        self.ledger.statement(&before).map_err(refused)?;
        self.dispatch().await?;
        self.drain().await?;
        let handling = std::time::Instant::now();
        self.status.set_pending(Some(timestamp));
        self.status.set_blocking_ddl(Some(sql.clone()));
        let tolerant = self.tolerant_ddl || self.safe();
        let stmt = ddl_apply::Statement {
            schema: &schema,
            sql: &sql,
            sql_mode,
            at: &before,
        };
        let decided = self.spec.operators.has(&self.spec.source_id, &before.pos);
        // A statement naming a table whose copy holds it is skipped as a whole (a
        // RENAME is one statement: applying part of it would leave names behind).
        let mut in_copy = false;
        if !self.copies.is_empty() {
            let mode = crate::ddl::SqlMode::from_bits(sql_mode);
            if let Ok(crate::ddl::Parsed::Ddl(stmts)) =
                crate::ddl::parse_with_mode(&sql, &schema, mode)
            {
                let tables: Vec<&TableName> = stmts.iter().flat_map(|s| s.tables()).collect();
                in_copy = tables.iter().any(|t| self.copies.in_copy(t, &before.pos));
                if !in_copy {
                    for t in tables {
                        self.reach_copy(t, &before.pos)?;
                    }
                }
            }
        }
        self.schemas
            .apply_ddl(self.spec, &stmt, &point, decided, in_copy)
            .await?;
        let gen_query = handling.elapsed().as_secs_f64();
        self.metrics.stages.gen_query.record(gen_query);
        let began = std::time::Instant::now();
        ddl_apply::apply(
            self.spec,
            self.ctl.conn(),
            &mut self.dialects,
            &stmt,
            tolerant,
            in_copy,
        )
        .await?;
        let took = began.elapsed().as_secs_f64();
        self.metrics.query_duration_time.record(took);
        self.metrics.stages.ddl_exec.record(took);
        self.tolerant_ddl = false;
        self.status.set_blocking_ddl(None);
        self.targets.clear();
        self.schemas.clear();
        self.ledger.after_statement(before, point);
        self.write_empty().await?;
        self.schemas.prune(&self.ledger.written().pos)?;
        Ok(())
    }
}
