//! Writer progress rows in the downstream: `{meta-schema}.{task}_sync_progress`.
//!
//! Batches are numbered. Each writer commits its share of batch `k` together with its row
//! `(source, worker) → (k, start, end, writers)` in one downstream transaction, and batch
//! `k + 1` starts only when every writer has committed `k`. After a crash the rows therefore
//! say exactly which shares of the last batch are applied: the batch is read again from its
//! start, split the same way, and only the missing shares are applied (DESIGN.md §4.4).

use std::collections::BTreeSet;

use ferry_model::TableName;

use super::point::SyncPoint;
use crate::db::quote_str;

/// The progress table of `task`.
pub fn progress_table(meta_schema: &str, task: &str) -> TableName {
    TableName::new(meta_schema, format!("{task}_sync_progress"))
}

/// `CREATE TABLE IF NOT EXISTS` for the progress table.
pub fn create_sql(table: &TableName) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\
         source_id VARCHAR(64) NOT NULL, \
         worker INT NOT NULL, \
         batch BIGINT UNSIGNED NOT NULL, \
         workers INT NOT NULL, \
         start_point TEXT NOT NULL, \
         end_point TEXT NOT NULL, \
         binlog_name VARCHAR(255) NOT NULL, \
         binlog_pos BIGINT UNSIGNED NOT NULL, \
         binlog_gtid TEXT, \
         update_time TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, \
         PRIMARY KEY (source_id, worker))",
        table.quoted()
    )
}

/// What one batch's progress row says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchMark {
    /// Batch number.
    pub batch: u64,
    /// Writers the batch was split between.
    pub workers: usize,
    /// Where the batch starts.
    pub start: SyncPoint,
    /// Where it ends.
    pub end: SyncPoint,
}

/// `INSERT … ON DUPLICATE KEY UPDATE` of the rows of `workers` for `mark`.
pub fn upsert_sql(table: &TableName, source: &str, workers: &[usize], mark: &BatchMark) -> String {
    let start = serde_json::to_string(&mark.start).unwrap_or_default();
    let end = serde_json::to_string(&mark.end).unwrap_or_default();
    let gtid = match &mark.end.gtid {
        Some(g) => quote_str(&g.to_string()),
        None => "NULL".to_string(),
    };
    let mut sql = format!(
        "INSERT INTO {} (source_id, worker, batch, workers, start_point, end_point, binlog_name, \
         binlog_pos, binlog_gtid) VALUES ",
        table.quoted()
    );
    for (i, w) in workers.iter().enumerate() {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&format!(
            "({},{w},{},{},{},{},{},{},{gtid})",
            quote_str(source),
            mark.batch,
            mark.workers,
            quote_str(&start),
            quote_str(&end),
            quote_str(&mark.end.pos.name),
            mark.end.pos.pos,
        ));
    }
    sql.push_str(
        " ON DUPLICATE KEY UPDATE batch=VALUES(batch), workers=VALUES(workers), \
         start_point=VALUES(start_point), end_point=VALUES(end_point), \
         binlog_name=VALUES(binlog_name), binlog_pos=VALUES(binlog_pos), \
         binlog_gtid=VALUES(binlog_gtid)",
    );
    sql
}

/// `SELECT` of the rows of `source` (worker, batch, workers, start, end).
pub fn select_sql(table: &TableName, source: &str) -> String {
    format!(
        "SELECT worker, batch, workers, start_point, end_point FROM {} WHERE source_id = {}",
        table.quoted(),
        quote_str(source)
    )
}

/// One stored row.
#[derive(Debug, Clone)]
pub struct StoredRow {
    /// Writer number.
    pub worker: usize,
    /// What it last committed.
    pub mark: BatchMark,
}

/// Parses a stored row's text columns.
pub fn parse_row(
    worker: i64,
    batch: u64,
    workers: i64,
    start: &str,
    end: &str,
) -> Result<StoredRow, String> {
    let point = |s: &str| {
        serde_json::from_str::<SyncPoint>(s).map_err(|e| format!("unreadable point `{s}`: {e}"))
    };
    Ok(StoredRow {
        worker: usize::try_from(worker).map_err(|_| format!("bad worker number {worker}"))?,
        mark: BatchMark {
            batch,
            workers: usize::try_from(workers)
                .ok()
                .filter(|&w| w > 0)
                .ok_or_else(|| format!("bad writer count {workers}"))?,
            start: point(start)?,
            end: point(end)?,
        },
    })
}

/// Where to resume, from the stored rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// No row: start from the task's configured start.
    Fresh,
    /// Every share of the last batch is committed: continue after it.
    After {
        /// The last batch.
        mark: BatchMark,
    },
    /// Some shares of the last batch are missing: read it again and apply only those.
    Partial {
        /// The last batch.
        mark: BatchMark,
        /// Writers whose share is committed.
        done: BTreeSet<usize>,
    },
}

/// Decides how to resume from the stored rows of one source.
pub fn resume(rows: &[StoredRow]) -> Resume {
    let Some(last) = rows.iter().max_by_key(|r| r.mark.batch) else {
        return Resume::Fresh;
    };
    let mark = last.mark.clone();
    let done: BTreeSet<usize> = rows
        .iter()
        .filter(|r| r.mark.batch == mark.batch && r.worker < mark.workers)
        .map(|r| r.worker)
        .collect();
    if done.len() == mark.workers {
        Resume::After { mark }
    } else {
        Resume::Partial { mark, done }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_model::BinlogPosition;

    fn point(p: u64) -> SyncPoint {
        SyncPoint {
            pos: BinlogPosition::new("bin.000001", p).unwrap(),
            gtid: None,
            skip_rows: 0,
        }
    }

    fn row(worker: usize, batch: u64, workers: usize) -> StoredRow {
        StoredRow {
            worker,
            mark: BatchMark {
                batch,
                workers,
                start: point(batch * 100),
                end: point(batch * 100 + 100),
            },
        }
    }

    #[test]
    fn complete_last_batch_resumes_after_it() {
        let rows = vec![row(0, 5, 2), row(1, 5, 2), row(7, 2, 8)];
        assert!(matches!(resume(&rows), Resume::After { mark } if mark.batch == 5));
    }

    #[test]
    fn missing_shares_make_a_partial_batch() {
        let rows = vec![row(0, 5, 3), row(1, 4, 3), row(2, 5, 3)];
        match resume(&rows) {
            Resume::Partial { mark, done } => {
                assert_eq!(mark.batch, 5);
                assert_eq!(mark.start, point(500));
                assert_eq!(done.into_iter().collect::<Vec<_>>(), vec![0, 2]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(resume(&[]), Resume::Fresh);
    }

    #[test]
    fn rows_round_trip_through_their_text() {
        let r = row(1, 9, 4);
        let start = serde_json::to_string(&r.mark.start).unwrap();
        let end = serde_json::to_string(&r.mark.end).unwrap();
        let back = parse_row(1, 9, 4, &start, &end).unwrap();
        assert_eq!(back.mark, r.mark);
        let sql = upsert_sql(&progress_table("dm_meta", "t"), "s1", &[0, 1], &r.mark);
        assert!(
            sql.starts_with("INSERT INTO `dm_meta`.`t_sync_progress`"),
            "{sql}"
        );
        assert!(sql.contains("ON DUPLICATE KEY UPDATE"));
        assert!(parse_row(1, 9, 0, &start, &end).is_err());
        assert!(parse_row(1, 9, 2, "garbage", &end).is_err());
    }
}
