//! Operator commands on a running task: `pause-task` / `resume-task` (of the whole task or of
//! some sources' subtasks) and `binlog skip|replace|list|revert`.

use actix::{Handler, Message};
use ferry_model::{BinlogPosition, Stage};

use super::{lock, TaskActor};
use crate::subtask::Subtask;
use crate::sync::{BinlogOp, PendingOp};

/// Pause subtasks (stop working, keep checkpoints): those of `sources`, every one when empty.
/// Answers the sources whose subtask was running and is now paused.
#[derive(Message, Default)]
#[rtype(result = "Result<Vec<String>, String>")]
pub struct Pause {
    /// Only these sources' subtasks (`-s`).
    pub sources: Vec<String>,
}

impl Handler<Pause> for TaskActor {
    type Result = Result<Vec<String>, String>;

    fn handle(&mut self, msg: Pause, _: &mut Self::Context) -> Self::Result {
        let mut paused = Vec::new();
        for i in self.select(&msg.sources)? {
            let mut st = lock(&self.states[i]);
            if st.stage != Stage::Running {
                continue;
            }
            if let Some(h) = self.runners[i].take() {
                h.abort();
            }
            st.stage = Stage::Paused;
            paused.push(st.source_id.clone());
        }
        if !paused.is_empty() {
            self.report();
        }
        Ok(paused)
    }
}

/// Resume paused subtasks from their checkpoints: those of `sources`, every one when empty.
/// Answers the sources whose subtask was resumed.
#[derive(Message, Default)]
#[rtype(result = "Result<Vec<String>, String>")]
pub struct Resume {
    /// Only these sources' subtasks (`-s`).
    pub sources: Vec<String>,
}

impl Handler<Resume> for TaskActor {
    type Result = Result<Vec<String>, String>;

    fn handle(&mut self, msg: Resume, _: &mut Self::Context) -> Self::Result {
        let which: Vec<usize> = self
            .select(&msg.sources)?
            .into_iter()
            .filter(|&i| lock(&self.states[i]).stage == Stage::Paused && !self.is_running(i))
            .collect();
        self.start_subtasks(&which);
        Ok(which
            .iter()
            .map(|&i| self.subtasks[i].source_id.clone())
            .collect())
    }
}

/// `binlog skip|replace`: an operator decision for a blocked statement; a subtask paused by an
/// error that it applies to resumes so that the decision is used.
#[derive(Message)]
#[rtype(result = "Result<usize, String>")]
pub struct SetBinlogOp {
    /// Only this source's subtask (`None`: every subtask).
    pub source: Option<String>,
    /// Position of the statement (`None`: the statement the subtask is blocked on).
    pub at: Option<BinlogPosition>,
    /// The decision.
    pub op: BinlogOp,
}

impl TaskActor {
    /// The subtasks `binlog` acts on: that of `source`, or every one; an error when there is
    /// none or the task does not replicate the binlog.
    fn binlog_subtasks(&self, source: Option<&String>) -> Result<Vec<usize>, String> {
        let which: Vec<usize> = (0..self.subtasks.len())
            .filter(|&i| source.is_none_or(|s| *s == self.subtasks[i].source_id))
            .collect();
        if which.is_empty() {
            return Err(format!(
                "task `{}` has no subtask on source `{}`",
                self.name,
                source.cloned().unwrap_or_default()
            ));
        }
        if which.iter().any(|&i| !self.subtasks[i].mode.has_sync()) {
            return Err(format!(
                "task `{}` has no binlog replication (task-mode full)",
                self.name
            ));
        }
        Ok(which)
    }

    /// `f` of each subtask `binlog` acts on ([`Self::binlog_subtasks`]), with its source.
    fn each_binlog_subtask<T>(
        &self,
        source: Option<&String>,
        f: impl Fn(&Subtask) -> T,
    ) -> Result<Vec<(String, T)>, String> {
        Ok(self
            .binlog_subtasks(source)?
            .into_iter()
            .map(|i| {
                let sub = &self.subtasks[i];
                (sub.source_id.clone(), f(sub))
            })
            .collect())
    }
}

impl Handler<SetBinlogOp> for TaskActor {
    type Result = Result<usize, String>;

    fn handle(&mut self, msg: SetBinlogOp, _: &mut Self::Context) -> Self::Result {
        let which = self.binlog_subtasks(msg.source.as_ref())?;
        for &i in &which {
            let sub = &self.subtasks[i];
            sub.sync
                .operators
                .set(&sub.source_id, msg.at.clone(), msg.op.clone());
        }
        // As in DM, a subtask paused by an error resumes to use the decision; one paused by
        // `pause-task` stays paused (`binlog list` shows the decision until it is used).
        let paused: Vec<usize> = which
            .iter()
            .copied()
            .filter(|&i| {
                let st = lock(&self.states[i]);
                st.stage == Stage::Paused && st.error_is_fatal && !self.is_running(i)
            })
            .collect();
        self.start_subtasks(&paused);
        Ok(which.len())
    }
}

/// `binlog list`: the decisions waiting, per source (from `from` on, see
/// [`crate::sync::BinlogOperators::list`]).
#[derive(Message)]
#[rtype(result = "Result<Vec<(String, Vec<PendingOp>)>, String>")]
pub struct ListBinlogOps {
    /// Only this source's subtask.
    pub source: Option<String>,
    /// Only decisions for statements at or after this position.
    pub from: Option<BinlogPosition>,
}

impl Handler<ListBinlogOps> for TaskActor {
    type Result = Result<Vec<(String, Vec<PendingOp>)>, String>;

    fn handle(&mut self, msg: ListBinlogOps, _: &mut Self::Context) -> Self::Result {
        self.each_binlog_subtask(msg.source.as_ref(), |sub| {
            sub.sync.operators.list(&sub.source_id, msg.from.as_ref())
        })
    }
}

/// `binlog revert`: withdraws the decision for the statement at `at` (`None`: the one for the
/// next statement met) before it is used. Answers, per source, the decision withdrawn.
#[derive(Message)]
#[rtype(result = "Result<Vec<(String, Option<PendingOp>)>, String>")]
pub struct RevertBinlogOp {
    /// Only this source's subtask.
    pub source: Option<String>,
    /// The decision's position.
    pub at: Option<BinlogPosition>,
}

impl Handler<RevertBinlogOp> for TaskActor {
    type Result = Result<Vec<(String, Option<PendingOp>)>, String>;

    fn handle(&mut self, msg: RevertBinlogOp, _: &mut Self::Context) -> Self::Result {
        self.each_binlog_subtask(msg.source.as_ref(), |sub| {
            sub.sync.operators.revert(&sub.source_id, msg.at.as_ref())
        })
    }
}
