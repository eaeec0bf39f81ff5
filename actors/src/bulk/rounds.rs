//! Copy rounds: how the full phase stays right when DDL changes tables under its copy.
//!
//! Every run of the full phase *opens a round*: it takes the lock of the consistency mode,
//! reads the position, opens its snapshots, and reads the table list and definitions on both
//! sides until they agree ([`open_round`]). The first round is at the start position and
//! copies every selected table. A later round opens when a run resumes, or when the copy met
//! a DDL: a table rebuilt or with a column renamed or dropped under its snapshot read
//! (`Table definition has changed`, `Unknown column`), a table gone, or a name that another
//! table was renamed onto (a swap: InnoDB's table id behind the name changed). At a later
//! round, a table is copied again from the round's snapshots ([`to_recopy`]) when
//!
//! * the table behind its name is another one (its id changed: swapped, rebuilt, truncated),
//! * its definition changed and chunks of it are still to be copied, or
//! * it was never copied (it appeared since: created, or renamed from another name).
//!
//! Its earlier copy is removed first ([`reset_tables`]: target re-created from the definition
//! at the round's position, its chunks forgotten locally and in the downstream ledger), and
//! the round is recorded with its position: replication skips the table's changes before it
//! (they are in the copy), and the schema history holds its definition from there on. Other
//! tables keep their copy and the position they were copied at; their remaining chunks are
//! read from the new snapshots, and replaying the binlog from their position in safe mode
//! makes them right, as after any resume.

use std::collections::{HashMap, HashSet};

use ferry_model::{BinlogPosition, Location, TableName};
use ferry_relay::{CheckpointStore, CopiedTable, CopyRound};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tracing::{info, warn};

use super::snapshot::lock_and_open_snapshots;
use super::tables::{prepare_target, select_tables, shape_of, shapes, Selected, START_ATTEMPTS};
use super::BulkSpec;
use crate::db::{Flavor, ServerInfo};
use crate::error::TaskError;
use crate::schema::TargetCaps;

/// How many rounds one run of the full phase opens before it gives up (a transient error:
/// the task retries later).
pub(super) const MAX_ROUNDS: u32 = 10;

/// A round's snapshots and the selected tables as they were at its position.
pub(super) struct Opening {
    /// The round's position.
    pub(super) at: Location,
    /// The selected tables at `at`.
    pub(super) tables: Vec<Selected>,
    /// One connection per dumper, each with a snapshot open.
    pub(super) workers: Vec<Conn>,
}

/// Opens a round: the lock, the position and the snapshots, with the table list and the
/// definitions read before and after, again until both readings agree.
pub(super) async fn open_round(
    spec: &BulkSpec,
    ctl: &mut Conn,
    info: &ServerInfo,
) -> Result<Opening, TaskError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let before = select_tables(spec, ctl).await?;
        let mut workers = Vec::with_capacity(spec.threads.max(1));
        let at = lock_and_open_snapshots(spec, ctl, info, &before, &mut workers).await?;
        let after = select_tables(spec, ctl).await?;
        if shapes(&before) == shapes(&after) {
            return Ok(Opening {
                at,
                tables: after,
                workers,
            });
        }
        if attempt >= START_ATTEMPTS {
            return Err(TaskError::Binlog {
                message: format!(
                    "the selected tables' definitions kept changing (DDL) while the full phase \
                     took a position for its snapshots ({attempt} attempts); retrying later"
                ),
                transient: true,
            });
        }
        warn!(
            attempt,
            "a DDL changed the selected tables while the snapshots were opened; reading them again"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100 * u64::from(attempt))).await;
    }
}

/// The record of `t` for a round.
pub(super) fn copied(t: &Selected, precreated: bool) -> CopiedTable {
    CopiedTable {
        table: t.meta.name.clone(),
        id: t.id,
        shape: shape_of(t),
        precreated,
    }
}

/// The latest record of every table copied by `rounds`.
pub(super) fn records(rounds: &[CopyRound]) -> HashMap<&TableName, &CopiedTable> {
    let mut out = HashMap::new();
    for r in rounds {
        for t in &r.tables {
            out.insert(&t.table, t);
        }
    }
    out
}

/// A selected table at a round's position, as [`to_recopy`] sees it.
#[derive(Debug)]
pub(super) struct Listed<'a> {
    pub(super) name: &'a TableName,
    pub(super) id: Option<u64>,
    pub(super) shape: String,
    /// It has chunks in the plan.
    pub(super) planned: bool,
    /// Some of its chunks are not committed yet (or it has none planned).
    pub(super) pending: bool,
}

/// The tables a later round copies again (see the module docs). `forced`: tables of a round
/// recorded but not reset before a crash.
pub(super) fn to_recopy(
    rounds: &[CopyRound],
    listed: &[Listed],
    forced: &HashSet<TableName>,
) -> Vec<TableName> {
    let rec = records(rounds);
    listed
        .iter()
        .filter(|l| {
            if forced.contains(l.name) {
                return true;
            }
            match rec.get(l.name) {
                // Never copied; a table planned without a record was planned before rounds
                // were recorded, and keeps that copy.
                None => !l.planned,
                Some(r) => {
                    let swapped = matches!((r.id, l.id), (Some(a), Some(b)) if a != b);
                    swapped || (l.pending && r.shape != l.shape)
                }
            }
        })
        .map(|l| l.name.clone())
        .collect()
}

/// Where replication takes over each table from the copy, after a full phase of several
/// rounds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyPositions {
    /// The full phase's start position.
    pub start: Option<BinlogPosition>,
    /// Per table copied by some round: the position of the last round that copied it.
    pub from: HashMap<TableName, BinlogPosition>,
    /// The position of the last round, when it is after the start.
    pub until: Option<BinlogPosition>,
}

impl CopyPositions {
    /// True when the change of `table` at `pos` is not to be replayed: the table was copied
    /// from a later position (its copy holds the change), or it never existed when a round
    /// took its position and `pos` is before the last round (it was created and gone between
    /// two rounds: nothing of it remains at the last round, and its statements may involve
    /// tables whose copies are later).
    pub fn in_copy(&self, table: &TableName, pos: &BinlogPosition) -> bool {
        self.until.as_ref().is_some_and(|until| pos < until)
            && self.from.get(table).is_none_or(|from| pos < from)
    }

    /// The position `table` was copied from, when a round after the start copied it.
    pub fn recopied_at(&self, table: &TableName) -> Option<&BinlogPosition> {
        let start = self.start.as_ref()?;
        self.from.get(table).filter(|p| *p > start)
    }

    /// True when no table needs any of this (a single round).
    pub fn is_empty(&self) -> bool {
        self.until.is_none()
    }
}

/// The [`CopyPositions`] of a full phase that started at `start` and ran `rounds`.
pub fn copy_positions(start: &Location, rounds: &[CopyRound]) -> CopyPositions {
    let mut out = CopyPositions {
        start: Some(start.binlog.clone()),
        ..Default::default()
    };
    for r in rounds.iter().filter(|r| r.reset_done) {
        for t in &r.tables {
            out.from.insert(t.table.clone(), r.start.binlog.clone());
        }
        if r.start.binlog > start.binlog && out.until.as_ref().is_none_or(|u| r.start.binlog > *u) {
            out.until = Some(r.start.binlog.clone());
        }
    }
    out
}

/// Removes the earlier copy of the tables of `round` so that they are copied again: their
/// chunks are forgotten (locally and in the downstream ledger `ledger`), and their targets
/// re-created from the definition at the round's position (emptied, when the user created
/// them). A target that other selected tables also feed (a merge route) cannot be emptied:
/// the task pauses if the table already has rows in it.
#[allow(clippy::too_many_arguments)]
pub(super) async fn reset_tables(
    spec: &BulkSpec,
    store: &dyn CheckpointStore,
    dctl: &mut Conn,
    ledger: &TableName,
    round: &CopyRound,
    listed: &[Selected],
    copied_before: &HashSet<TableName>,
    (from, caps): (Flavor, &TargetCaps),
) -> Result<(), TaskError> {
    let down = &spec.downstream;
    let names: HashSet<&TableName> = round.tables.iter().map(|t| &t.table).collect();
    let by_name: HashMap<&TableName, &Selected> =
        listed.iter().map(|t| (&t.meta.name, t)).collect();
    let tables: Vec<TableName> = round.tables.iter().map(|t| t.table.clone()).collect();
    store.delete_chunks_done(&spec.task, &spec.source_id, &tables)?;
    let mut recreate = Vec::new();
    for rec in &round.tables {
        let t = &rec.table;
        dctl.exec_drop(
            format!(
                "DELETE FROM {} WHERE source_id = ? AND cp_schema = ? AND cp_table = ?",
                ledger.quoted()
            ),
            (&spec.source_id, &t.schema, &t.table),
        )
        .await
        .map_err(down.sql_err(format!("forgetting the copied chunks of {t} in {ledger}")))?;
        let Some(sel) = by_name.get(t) else { continue };
        let shared_with = listed
            .iter()
            .find(|o| o.target == sel.target && !names.contains(&o.meta.name));
        if let Some(other) = shared_with {
            if copied_before.contains(t) {
                return Err(TaskError::Blocked(format!(
                    "{t} changed (DDL) while the full phase copied it into {}, which {} also \
                     feeds (routes): a merged target cannot be copied again table by table; \
                     run such DDL before or after the copy, then start the task again with \
                     `start-task --remove-meta` after emptying the target tables",
                    sel.target, other.meta.name
                )));
            }
            continue;
        }
        if rec.precreated {
            let sql = format!("TRUNCATE TABLE {}", sel.target.quoted());
            dctl.query_drop(&sql)
                .await
                .map_err(down.sql_err(format!("emptying {} to copy {t} again", sel.target)))?;
            warn!(table = %t, target = %sel.target, "copying again into the target the user created (its definition is kept)");
        } else {
            let sql = format!("DROP TABLE IF EXISTS {}", sel.target.quoted());
            dctl.query_drop(&sql)
                .await
                .map_err(down.sql_err(format!("dropping {} to copy {t} again", sel.target)))?;
            recreate.push(*sel);
        }
        info!(table = %t, target = %sel.target, at = %round.start, "copying the table again from this position");
    }
    prepare_target(spec, dctl, from, caps, &recreate).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_model::BinlogPosition;

    fn name(t: &str) -> TableName {
        TableName::new("d", t)
    }

    fn round(at: u64, tables: &[(&str, Option<u64>, &str)]) -> CopyRound {
        CopyRound {
            start: Location {
                binlog: BinlogPosition::new("binlog.000001", at).unwrap(),
                gtid: None,
            },
            tables: tables
                .iter()
                .map(|(t, id, shape)| CopiedTable {
                    table: name(t),
                    id: *id,
                    shape: shape.to_string(),
                    precreated: false,
                })
                .collect(),
            reset_done: true,
        }
    }

    #[test]
    fn tables_copied_again_are_the_swapped_the_changed_with_chunks_left_and_the_new() {
        let rounds = [round(
            100,
            &[("a", Some(1), "A"), ("b", Some(2), "B"), ("c", None, "C")],
        )];
        let names: Vec<TableName> = ["a", "b", "c", "e", "f", "g"].map(name).to_vec();
        let l = |i: usize, id, shape: &str, planned, pending| Listed {
            name: &names[i],
            id,
            shape: shape.into(),
            planned,
            pending,
        };
        let listed = [
            // swapped in: another id behind the name, though the same definition
            l(0, Some(9), "A", true, false),
            // altered, but copied completely: the binlog replays the ALTER
            l(1, Some(2), "B2", true, false),
            // altered with chunks left (ids unknown)
            l(2, None, "C2", true, true),
            // appeared since the first round
            l(3, Some(5), "E", false, true),
            // planned before rounds were recorded: kept
            l(4, Some(6), "F", true, true),
            // a round recorded but not reset before a crash
            l(5, Some(7), "G", true, true),
        ];
        let forced: HashSet<TableName> = [name("g")].into();
        let got = to_recopy(&rounds, &listed, &forced);
        assert_eq!(got, [name("a"), name("c"), name("e"), name("g")]);
        // Unchanged tables are not copied again.
        let same = [
            l(0, Some(1), "A", true, true),
            l(1, Some(2), "B", true, true),
        ];
        assert!(to_recopy(&rounds, &same, &HashSet::new()).is_empty());
    }

    #[test]
    fn changes_before_a_tables_copy_are_skipped_and_so_are_tables_between_rounds() {
        let mut later = round(300, &[("a", None, ""), ("b", None, "")]);
        let rounds = vec![
            round(100, &[("a", None, ""), ("b", None, ""), ("c", None, "")]),
            later.clone(),
            round(500, &[("b", None, "")]),
        ];
        let start = rounds[0].start.clone();
        let p = copy_positions(&start, &rounds);
        let at = |n: u64| BinlogPosition::new("binlog.000001", n).unwrap();
        assert_eq!(p.until, Some(at(500)));
        assert_eq!(p.recopied_at(&name("a")), Some(&at(300)));
        assert_eq!(p.recopied_at(&name("b")), Some(&at(500)));
        assert_eq!(p.recopied_at(&name("c")), None);
        assert!(p.in_copy(&name("a"), &at(200)) && !p.in_copy(&name("a"), &at(300)));
        assert!(p.in_copy(&name("b"), &at(400)) && !p.in_copy(&name("b"), &at(500)));
        assert!(!p.in_copy(&name("c"), &at(150)));
        // Never there when a round took its position: skipped until the last round.
        assert!(p.in_copy(&name("x"), &at(450)) && !p.in_copy(&name("x"), &at(500)));
        // A round not reset does not count; a single round skips nothing.
        later.reset_done = false;
        let p = copy_positions(&start, &[rounds[0].clone(), later]);
        assert!(p.is_empty());
        assert!(!p.in_copy(&name("x"), &at(200)));
    }
}
