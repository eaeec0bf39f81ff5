//! Operator decisions on replicated statements (`ferryctl binlog skip|replace|list|revert`),
//! waiting for the statement they are meant for.

use std::sync::Mutex;

use ferry_model::BinlogPosition;

/// What the operator decided for a blocked statement (`ferryctl binlog skip|replace`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BinlogOp {
    /// Do not apply it.
    Skip,
    /// Apply these statements instead (run as written, with the statement's routed schema
    /// as the default database).
    Replace(Vec<String>),
}

impl BinlogOp {
    /// `skip` or `replace`.
    pub fn name(&self) -> &'static str {
        match self {
            BinlogOp::Skip => "skip",
            BinlogOp::Replace(_) => "replace",
        }
    }
}

/// A decision waiting for its statement (`binlog list`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingOp {
    /// Where the statement starts (`None`: the next statement met, i.e. the one the subtask
    /// is blocked on).
    pub at: Option<BinlogPosition>,
    /// The decision.
    pub op: BinlogOp,
}

/// Operator decisions waiting for their statement, per source.
#[derive(Debug, Default)]
pub struct BinlogOperators {
    ops: Mutex<Vec<(String, Option<BinlogPosition>, BinlogOp)>>,
}

impl BinlogOperators {
    fn ops(&self) -> std::sync::MutexGuard<'_, Vec<(String, Option<BinlogPosition>, BinlogOp)>> {
        self.ops.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a decision for the statement of `source` that starts at `at` (`None`: the
    /// next statement met, i.e. the one the task is blocked on after `resume-task`).
    pub fn set(&self, source: &str, at: Option<BinlogPosition>, op: BinlogOp) {
        let mut ops = self.ops();
        ops.retain(|(s, p, _)| !(s == source && *p == at));
        ops.push((source.to_string(), at, op));
    }

    /// Takes the decision for the statement of `source` starting at `at`, if any.
    pub fn take(&self, source: &str, at: &BinlogPosition) -> Option<BinlogOp> {
        let mut ops = self.ops();
        let i = ops
            .iter()
            .position(|(s, p, _)| s == source && p.as_ref() == Some(at))
            .or_else(|| ops.iter().position(|(s, p, _)| s == source && p.is_none()))?;
        Some(ops.remove(i).2)
    }

    /// True when a decision waits for the statement of `source` starting at `at` (or for
    /// the next statement met).
    pub fn has(&self, source: &str, at: &BinlogPosition) -> bool {
        self.ops()
            .iter()
            .any(|(s, p, _)| s == source && (p.is_none() || p.as_ref() == Some(at)))
    }

    /// Pending decisions (for status).
    pub fn pending(&self) -> usize {
        self.ops().len()
    }

    /// The decisions waiting on `source` (`binlog list`): with `from`, those for a statement
    /// at or after it (and the one for the next statement met); in position order, the
    /// decision for the next statement first.
    pub fn list(&self, source: &str, from: Option<&BinlogPosition>) -> Vec<PendingOp> {
        let mut out: Vec<PendingOp> = self
            .ops()
            .iter()
            .filter(|(s, p, _)| {
                s == source && from.is_none_or(|f| p.as_ref().is_none_or(|p| p >= f))
            })
            .map(|(_, at, op)| PendingOp {
                at: at.clone(),
                op: op.clone(),
            })
            .collect();
        out.sort_by(|a, b| a.at.cmp(&b.at));
        out
    }

    /// Withdraws the decision on `source` for the statement at `at` (`None`: the one for
    /// the next statement met) before it is used (`binlog revert`); the decision removed.
    pub fn revert(&self, source: &str, at: Option<&BinlogPosition>) -> Option<PendingOp> {
        let mut ops = self.ops();
        let i = ops
            .iter()
            .position(|(s, p, _)| s == source && p.as_ref() == at)?;
        let (_, at, op) = ops.remove(i);
        Some(PendingOp { at, op })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: u64) -> BinlogPosition {
        BinlogPosition::new("bin.000001", n).unwrap()
    }

    #[test]
    fn operator_decisions_match_their_position_or_the_next_statement() {
        let ops = BinlogOperators::default();
        ops.set("s", Some(p(100)), BinlogOp::Skip);
        ops.set("s", None, BinlogOp::Replace(vec!["SELECT 1".into()]));
        assert_eq!(ops.take("other", &p(100)), None);
        assert_eq!(ops.take("s", &p(100)), Some(BinlogOp::Skip));
        assert_eq!(
            ops.take("s", &p(200)),
            Some(BinlogOp::Replace(vec!["SELECT 1".into()]))
        );
        assert_eq!(ops.pending(), 0);
    }

    #[test]
    fn list_shows_a_sources_decisions_in_position_order_from_a_position() {
        let ops = BinlogOperators::default();
        ops.set("s", Some(p(300)), BinlogOp::Skip);
        ops.set(
            "s",
            Some(p(100)),
            BinlogOp::Replace(vec!["SELECT 1".into()]),
        );
        ops.set("s", None, BinlogOp::Skip);
        ops.set("t", Some(p(200)), BinlogOp::Skip);
        let at: Vec<Option<u64>> = ops
            .list("s", None)
            .iter()
            .map(|o| o.at.as_ref().map(|p| p.pos))
            .collect();
        assert_eq!(at, vec![None, Some(100), Some(300)]);
        let from: Vec<Option<u64>> = ops
            .list("s", Some(&p(150)))
            .iter()
            .map(|o| o.at.as_ref().map(|p| p.pos))
            .collect();
        assert_eq!(from, vec![None, Some(300)]);
        assert!(ops.list("u", None).is_empty());
        // A later decision for the same position replaces the earlier one.
        ops.set("s", Some(p(100)), BinlogOp::Skip);
        assert_eq!(ops.list("s", Some(&p(100)))[1].op, BinlogOp::Skip);
        assert_eq!(ops.pending(), 4);
    }

    #[test]
    fn revert_withdraws_only_the_named_decision_before_it_is_used() {
        let ops = BinlogOperators::default();
        ops.set("s", Some(p(100)), BinlogOp::Skip);
        ops.set("s", None, BinlogOp::Replace(vec!["SELECT 1".into()]));
        ops.set("t", Some(p(100)), BinlogOp::Skip);
        assert_eq!(ops.revert("s", Some(&p(999))), None);
        let gone = ops.revert("s", Some(&p(100))).expect("reverted");
        assert_eq!((gone.at, gone.op), (Some(p(100)), BinlogOp::Skip));
        // The statement at 100 now meets only the decision for the next statement.
        assert_eq!(
            ops.take("s", &p(100)),
            Some(BinlogOp::Replace(vec!["SELECT 1".into()]))
        );
        assert!(ops.revert("s", None).is_none());
        assert!(ops.has("t", &p(100)), "other sources keep theirs");
        assert_eq!(
            ops.revert("t", Some(&p(100))).map(|o| o.op),
            Some(BinlogOp::Skip)
        );
        assert_eq!(ops.pending(), 0);
    }
}
