//! The batch ledger's rules, one at a time (the exhaustive crash tests are in
//! `exactly_once`).

use std::collections::BTreeSet;

use ferry_model::{BinlogPosition, TableName};

use super::super::assign;
use super::super::point::SyncPoint;
use super::super::progress::{BatchMark, Resume};
use super::ledger::{Ledger, LedgerError, Origin, Recovery};
use crate::causality::{CausalityKey, ChangeKeys};
use crate::reader::RowValue;

fn point(pos: u64, skip_rows: u64) -> SyncPoint {
    SyncPoint {
        pos: BinlogPosition::new("bin.000001", pos).unwrap(),
        gtid: None,
        skip_rows,
    }
}

fn key(k: i64) -> ChangeKeys {
    smallvec::smallvec![CausalityKey::new(
        &TableName::new("d", "t"),
        "PRIMARY",
        &[&RowValue::Int(k)]
    )
    .unwrap()]
}

fn mark(batch: u64, workers: usize, start: SyncPoint, end: SyncPoint) -> BatchMark {
    BatchMark {
        batch,
        workers,
        start,
        end,
    }
}

/// A ledger re-reading batch 5, split between `workers`, from 100 to `end`.
fn recovering(workers: usize, end: SyncPoint, done: &[usize]) -> Ledger<i64> {
    let m = mark(5, workers, point(100, 0), end);
    Ledger::new(
        Origin::resumed(Resume::Partial {
            mark: m,
            done: done.iter().copied().collect(),
        })
        .unwrap(),
    )
}

/// Adds the change `k` (keyed `k`) met `rows` changes into its transaction.
fn add(l: &mut Ledger<i64>, rows: u64, k: i64) {
    l.row(rows, 7);
    l.push(k, key(k));
}

#[test]
fn the_origin_follows_the_progress_rows() {
    assert_eq!(Origin::resumed(Resume::Fresh), None);
    let m = mark(4, 2, point(100, 0), point(200, 3));
    let after = Origin::resumed(Resume::After { mark: m.clone() }).unwrap();
    assert_eq!(
        (after.start, after.batch_no, after.recovery),
        (point(200, 3), 5, None)
    );
    let done = BTreeSet::from([1]);
    let partial = Origin::resumed(Resume::Partial {
        mark: m.clone(),
        done: done.clone(),
    })
    .unwrap();
    assert_eq!((partial.start, partial.batch_no), (point(100, 0), 4));
    assert_eq!(partial.recovery, Some(Recovery { mark: m, done }));
    assert_eq!(Origin::fresh(point(4, 0)).batch_no, 1);
}

#[test]
fn a_batch_is_numbered_split_by_causality_and_the_next_waits_for_its_commit() {
    let mut l = Ledger::new(Origin::fresh(point(100, 0)));
    for (rows, k) in (1..).zip([1, 2, 3, 1, 4, 5]) {
        add(&mut l, rows, k);
    }
    assert!(!l.ready(100), "inside a transaction");
    assert!(!l.boundary(point(200, 0), Some(9)).unwrap());
    assert!(l.ready(100));
    let keys: Vec<_> = [1, 2, 3, 1, 4, 5].map(key).to_vec();
    let owner = assign::assign(&keys, 3);
    let d = l.take_dispatch(3, true).unwrap().unwrap();
    assert_eq!(d.mark, mark(1, 3, point(100, 0), point(200, 0)));
    assert!(d.safe);
    for s in &d.shares {
        assert_eq!(s.writer, s.worker);
        let mine: Vec<i64> = [1, 2, 3, 1, 4, 5]
            .into_iter()
            .zip(&owner)
            .filter(|(_, &w)| w == s.worker)
            .map(|(k, _)| k)
            .collect();
        assert_eq!(
            s.ops, mine,
            "writer {}: its changes in batch order",
            s.worker
        );
    }
    assert_eq!(d.shares.iter().map(|s| s.ops.len()).sum::<usize>(), 6);
    assert_eq!(l.in_flight(), Some(&d.mark));
    assert_eq!(l.pending_ts(), Some(7));
    add(&mut l, 1, 9);
    assert!(!l.boundary(point(300, 0), None).unwrap());
    assert!(!l.ready(100) && !l.waiting(), "batch 1 is in flight");
    assert_eq!(
        l.take_dispatch(3, false).unwrap_err(),
        LedgerError::OutOfOrder("dispatch while a batch is in flight")
    );
    assert_eq!(l.written(), &point(100, 0));
    assert_eq!(l.committed(), Some((d.mark, 6)));
    assert_eq!(l.written(), &point(200, 0));
    let next = l.take_dispatch(3, false).unwrap().unwrap();
    assert_eq!(next.mark, mark(2, 3, point(200, 0), point(300, 0)));
}

#[test]
fn a_full_batch_is_cut_inside_its_transaction() {
    let mut l = Ledger::new(Origin::fresh(point(100, 2)));
    add(&mut l, 3, 1);
    assert!(!l.full(2));
    add(&mut l, 4, 2);
    assert!(l.full(2) && l.ready(2));
    let d = l.take_dispatch(1, false).unwrap().unwrap();
    assert_eq!(d.mark, mark(1, 1, point(100, 2), point(100, 4)));
    l.committed();
    add(&mut l, 5, 3);
    l.boundary(point(200, 0), Some(8)).unwrap();
    let d = l.take_dispatch(1, false).unwrap().unwrap();
    assert_eq!(d.mark, mark(2, 1, point(100, 4), point(200, 0)));
}

#[test]
fn a_recovered_batch_keeps_its_number_and_split_and_skips_committed_shares() {
    let ks: Vec<i64> = (1..=12).collect();
    let owner = assign::assign(&ks.iter().map(|&k| key(k)).collect::<Vec<_>>(), 4);
    let done = [owner[0]];
    let mut l = recovering(4, point(200, 0), &done);
    for (rows, &k) in (1..).zip(&ks) {
        add(&mut l, rows, k);
        assert!(!l.recovery_end().unwrap());
    }
    assert!(!l.full(3), "a recovered batch is never cut");
    assert!(!l.ready(3) && !l.waiting(), "nor sent before its end");
    assert!(l.take_dispatch(2, false).unwrap().is_none());
    assert!(l.boundary(point(200, 0), Some(9)).unwrap(), "its end");
    let d = l.take_dispatch(2, false).unwrap().unwrap();
    assert_eq!(d.mark, mark(5, 4, point(100, 0), point(200, 0)));
    let sent: BTreeSet<usize> = d.shares.iter().map(|s| s.worker).collect();
    let expected: BTreeSet<usize> = owner.iter().copied().filter(|w| *w != done[0]).collect();
    assert_eq!(sent, expected);
    for s in &d.shares {
        assert_eq!(
            s.writer,
            s.worker % 2,
            "writer {} goes to {}",
            s.worker,
            s.writer
        );
    }
    assert!(!l.recovering());
    assert_eq!(
        l.committed().map(|(_, rows)| rows),
        Some(12),
        "committed shares count"
    );
    add(&mut l, 1, 1);
    l.boundary(point(300, 0), None).unwrap();
    let d = l.take_dispatch(2, false).unwrap().unwrap();
    assert_eq!(d.mark, mark(6, 2, point(200, 0), point(300, 0)));
}

#[test]
fn passing_the_recovered_end_without_meeting_it_is_refused() {
    // Batch 5 was cut after the second change of the transaction at 100; now it has one.
    let mut l = recovering(2, point(100, 2), &[]);
    add(&mut l, 1, 1);
    assert!(!l.recovery_end().unwrap());
    let e = l.boundary(point(200, 0), Some(9)).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "re-reading batch 5 ({} to {}): passed {} without meeting its end; the binlog \
             differs from when the batch was written",
            point(100, 0),
            point(100, 2),
            point(200, 0)
        )
    );
    // A row past the end is refused as well.
    let mut l = recovering(2, point(200, 0), &[]);
    l.boundary(point(300, 0), None).unwrap_err();
    let mut l = recovering(2, point(100, 1), &[]);
    add(&mut l, 2, 1);
    assert!(matches!(
        l.recovery_end(),
        Err(LedgerError::PassedEnd(p)) if p.at == point(100, 2)
    ));
}

#[test]
fn an_empty_recovered_batch_completes_at_its_end() {
    let mut l = recovering(3, point(300, 0), &[0]);
    l.row(1, 7); // filtered out
    assert!(!l.recovery_end().unwrap());
    assert!(!l.boundary(point(200, 0), Some(7)).unwrap());
    assert!(l.boundary(point(300, 0), None).unwrap());
    assert!(l.take_dispatch(2, false).unwrap().is_none());
    assert!(!l.recovering());
    assert_eq!((l.batch_no(), l.start()), (6, &point(300, 0)));
    assert_eq!(l.in_flight(), None);
    // Nothing was written for it: the next empty mark records its end.
    assert!(l.empty_due());
    let e = l.take_empty_mark(2).unwrap();
    assert_eq!(e.mark, mark(6, 2, point(300, 0), point(300, 0)));
}

#[test]
fn a_statement_inside_a_recovered_batch_is_refused() {
    let mut l = recovering(2, point(300, 0), &[]);
    add(&mut l, 1, 1);
    l.boundary(point(200, 0), Some(1)).unwrap();
    let e = l.statement(&point(200, 0)).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "re-reading the last batch: met a statement at {} before the batch end; the \
             binlog differs from when the batch was written",
            point(200, 0)
        )
    );
}

#[test]
fn an_empty_mark_covers_every_writer() {
    let mut l = Ledger::<i64>::new(Origin::fresh(point(100, 0)));
    assert!(!l.empty_due(), "nothing to record");
    l.boundary(point(200, 0), Some(1)).unwrap();
    assert!(l.empty_due());
    // A statement between 200 and 300.
    l.statement(&point(200, 0)).unwrap();
    assert!(l.take_dispatch(3, false).unwrap().is_none());
    l.after_statement(point(200, 0), point(300, 0));
    let e = l.take_empty_mark(3).unwrap();
    assert_eq!(e.mark, mark(1, 3, point(200, 0), point(300, 0)));
    assert_eq!(e.workers, vec![0, 1, 2]);
    assert!(l.take_empty_mark(3).is_err(), "in flight");
    assert_eq!(l.committed(), Some((e.mark, 0)));
    assert_eq!((l.written(), l.batch_no()), (&point(300, 0), 2));
    assert!(!l.empty_due());
    add(&mut l, 1, 1);
    assert!(l.take_empty_mark(3).is_err(), "the batch has changes");
    assert!(l.waiting());
}
