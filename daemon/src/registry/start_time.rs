//! `start-task --start-time` and `check-task --start-time` (DM's `TaskCliArgs.StartTime`).
//!
//! As DM: the time applies to `incremental` tasks and takes precedence over `meta` and over
//! the checkpoint. It is resolved once, at `start-task`, to the position before the first
//! upstream transaction at or after it ([`ferry_actors::start_time`]), and stored as the
//! instance's `meta` (DM puts a placeholder there too). A checkpoint the task already has is
//! dropped; when it is later than the new start, the Sync unit replays in safe mode until
//! past it (DM: "safe mode until the replication passes the checkpoint").

use ferry_actors::start_time::{find_position, StartTime};
use ferry_actors::subtask::Subtask;
use ferry_config::{Meta, TaskConfig};
use ferry_model::{Location, TaskMode};
use ferry_relay::CheckpointStore;
use tracing::info;

use super::{ApiError, Registry};
use crate::wire::FileUpload;

/// The `--start-time` of `up`, checked against the task: the format (DM's message) and the
/// mode (only `incremental`).
pub(super) fn parse(up: &FileUpload, cfg: &TaskConfig) -> Result<Option<StartTime>, ApiError> {
    let Some(text) = up.start_time.as_deref().filter(|t| !t.trim().is_empty()) else {
        return Ok(None);
    };
    let when = StartTime::parse(text).map_err(ApiError::bad)?;
    let mode = ferry_actors::subtask::task_mode(cfg);
    if mode != TaskMode::Incremental {
        return Err(ApiError::bad(format!(
            "--start-time {text}: task `{}` has task-mode {}, but a start time applies to \
             task-mode incremental only (a full/all task replicates from the position of its \
             own dump; use task-mode incremental after the data is copied)",
            cfg.name,
            mode_name(mode)
        )));
    }
    Ok(Some(when))
}

fn mode_name(mode: TaskMode) -> &'static str {
    match mode {
        TaskMode::Full => "full",
        TaskMode::All => "all",
        TaskMode::Incremental => "incremental",
    }
}

impl Registry {
    /// Resolves `--start-time` for every subtask and sets each instance's `meta` to the
    /// position found; drops a checkpoint the task has and records it as the safe-mode end.
    /// An error names the source and the time (DM's "too late" message).
    pub(super) async fn apply_start_time(
        &self,
        cfg: &mut TaskConfig,
        subtasks: &[Subtask],
        text: &str,
        when: StartTime,
    ) -> Result<(), ApiError> {
        let mut found = Vec::new();
        for sub in subtasks {
            let f = find_position(&sub.sync.upstream, text, when)
                .await
                .map_err(|e| ApiError::bad(format!("source `{}`: {e}", sub.source_id)))?;
            found.push(f);
        }
        let mut dropped = false;
        for (sub, f) in subtasks.iter().zip(&found) {
            let old = ferry_actors::sync::applied_until(&sub.sync)
                .await
                .map_err(|e| ApiError::bad(e.to_string()))?;
            if let Some(old) = old {
                if !dropped {
                    self.drop_progress(cfg, sub).await?;
                    dropped = true;
                }
                if old.pos > f.position {
                    let at = Location {
                        binlog: old.pos.clone(),
                        gtid: old.gtid.clone(),
                    };
                    self.store
                        .put_full_end(&cfg.name, &sub.source_id, &at)
                        .map_err(|e| ApiError::internal(e.to_string()))?;
                    info!(task = %cfg.name, source = %sub.source_id, checkpoint = %old.pos,
                        start = %f.position, "--start-time before the checkpoint: safe mode until past it");
                }
            }
            if let Some(inst) = cfg
                .mysql_instances
                .iter_mut()
                .find(|i| i.source_id == sub.source_id)
            {
                inst.meta = Some(Meta {
                    binlog_name: Some(f.position.name.to_string()),
                    binlog_pos: Some(f.position.pos),
                    binlog_gtid: None,
                });
            }
            info!(task = %cfg.name, source = %sub.source_id, start_time = text,
                at = %f.position, before_oldest = f.before_first, "replication starts at the start time");
        }
        Ok(())
    }

    /// Drops the task's progress rows (its checkpoint): `--start-time` replaces it.
    async fn drop_progress(&self, cfg: &TaskConfig, sub: &Subtask) -> Result<(), ApiError> {
        use mysql_async::prelude::Queryable;
        let down = &sub.sync.downstream;
        let progress = ferry_actors::sync::progress_table(&cfg.meta_schema, &cfg.name);
        let mut c = down
            .connect(Vec::new())
            .await
            .map_err(|e| ApiError::bad(e.to_string()))?;
        c.query_drop(format!("DROP TABLE IF EXISTS {}", progress.quoted()))
            .await
            .map_err(|e| ApiError::bad(format!("{}: dropping {progress}: {e}", down.addr())))?;
        info!(task = %cfg.name, "checkpoint replaced by --start-time");
        Ok(())
    }
}
