//! Exactly-once under failures: a generated stream is replicated into the in-memory store
//! while a failure (an error, a crash after a commit, a crash before one) is injected at every
//! call in turn; the Sync unit restarts from the stored progress rows (with the same or
//! another number of writers) until a run completes. Each time the target tables must end
//! as the whole stream applied once, every change must have been committed exactly once, and
//! a further restart must apply nothing.

use std::collections::HashMap;

use super::super::applier::mem::{identity, Failure, MemApplier};
use super::super::progress::{self, Resume};
use super::replay::{Replay, Setup};
use super::stream::{Entry, Stream};
use crate::error::TaskError;

/// Runs allowed per scenario (each failure costs at most two).
const RUNS: usize = 8;

/// How the stream is read: (items per chunk, housekeeping after every chunk).
const READING: [(usize, bool); 3] = [(1, false), (4, false), (3, true)];

/// What a played scenario went through.
#[derive(Debug, Default)]
struct Played {
    /// Runs of the Sync unit.
    runs: usize,
    /// Restarts that read a partly applied batch again.
    partial: usize,
    /// ... with some of its shares already committed.
    partial_with_done: usize,
    /// ... split between another number of writers than the restarted run has.
    resplit: usize,
    /// Batches numbered by the last run.
    batches: u64,
}

/// Plays `stream` into a new store failing as `plan` says, restarting after every failure:
/// the first run as `first` sets up, later ones as `again` does.
async fn play(
    stream: &Stream,
    plan: &[(u64, Failure)],
    first: Setup,
    again: Setup,
) -> (MemApplier, Played) {
    let mut store = MemApplier::new(plan.iter().copied());
    let mut played = Played::default();
    loop {
        played.runs += 1;
        assert!(played.runs <= RUNS, "{plan:?}: no run completed");
        let setup = match played.runs {
            1 => first,
            _ => again,
        };
        let outcome: Result<u64, TaskError> = async {
            let mut replay = Replay::start(stream, &mut store, setup).await?;
            if let Some(r) = &replay.origin().recovery {
                played.partial += 1;
                played.partial_with_done += usize::from(!r.done.is_empty());
                played.resplit += usize::from(r.mark.workers != setup.writers);
            }
            replay.run().await?;
            Ok(replay.ledger().batch_no())
        }
        .await;
        match outcome {
            Ok(batches) => {
                played.batches = batches;
                store.no_more_failures();
                break;
            }
            Err(e) => {
                assert!(
                    store.violations().is_empty(),
                    "{plan:?}: {e}: {:?}",
                    store.violations()
                );
                store.restart();
            }
        }
    }
    (store, played)
}

/// The store holds the whole stream applied exactly once, and a restart applies nothing.
async fn check(stream: &Stream, store: &mut MemApplier, writers: usize, what: &str) {
    assert!(
        store.violations().is_empty(),
        "{what}: {:?}",
        store.violations()
    );
    assert_eq!(store.rows(), stream.expected(), "{what}: target tables");
    let changes: Vec<String> = stream.changes().map(identity).collect();
    for c in &changes {
        assert_eq!(store.applied().get(c), Some(&1), "{what}: {c}");
    }
    assert_eq!(
        store.applied().len(),
        changes.len(),
        "{what}: foreign changes"
    );
    match progress::resume(&store.progress()) {
        Resume::After { mark } | Resume::Partial { mark, .. } => {
            assert!(
                mark.end.same_place(&stream.end()),
                "{what}: ends at {}",
                mark.end
            );
        }
        Resume::Fresh => panic!("{what}: no progress recorded"),
    }
    let applied: HashMap<String, usize> = store.applied().clone();
    let rows = store.rows().clone();
    let setup = Setup {
        writers,
        max_rows: 3,
        chunk: 1,
        tick: false,
    };
    let mut replay = Replay::start(stream, store, setup)
        .await
        .unwrap_or_else(|e| panic!("{what}: restart: {e}"));
    replay
        .run()
        .await
        .unwrap_or_else(|e| panic!("{what}: restart: {e}"));
    assert_eq!(
        store.applied(),
        &applied,
        "{what}: the restart applied changes"
    );
    assert_eq!(store.rows(), &rows, "{what}: the restart changed rows");
}

/// Calls a failure-free run makes.
async fn calls(stream: &Stream, setup: Setup) -> u64 {
    let (store, _) = play(stream, &[], setup, setup).await;
    store.calls()
}

#[tokio::test]
async fn without_failures_every_change_is_applied_once_in_many_batches() {
    for seed in [1, 7, 42] {
        let stream = Stream::generate(seed, 40);
        let cut = stream.entries().iter().any(|e| match e {
            Entry::Txn(c) => c.iter().filter(|c| !c.filtered).count() > 3,
            _ => false,
        });
        assert!(cut, "seed {seed}: no transaction is cut");
        for writers in [1, 2, 3, 5] {
            for (chunk, tick) in READING {
                let setup = Setup {
                    writers,
                    max_rows: 3,
                    chunk,
                    tick,
                };
                let (mut store, played) = play(&stream, &[], setup, setup).await;
                assert_eq!(played.runs, 1);
                assert!(played.batches > 15, "seed {seed}: {played:?}");
                check(&stream, &mut store, writers, &format!("seed {seed}")).await;
            }
        }
    }
}

#[tokio::test]
async fn a_failure_at_any_call_is_recovered_exactly_once() {
    let mut scenarios = 0;
    let mut total = Played::default();
    for seed in [1, 7, 42] {
        let stream = Stream::generate(seed, 40);
        for (chunk, tick) in READING {
            let first = Setup {
                writers: 3,
                max_rows: 3,
                chunk,
                tick,
            };
            for k in 0..calls(&stream, first).await {
                for failure in Failure::ALL {
                    // Restarted with another number of writers, max_rows changes too.
                    for (writers, max_rows) in [(3, 3), (1, 2), (2, 5), (5, 2)] {
                        let again = Setup {
                            writers,
                            max_rows,
                            ..first
                        };
                        let plan = [(k, failure)];
                        let (mut store, played) = play(&stream, &plan, first, again).await;
                        let what = format!("seed {seed}, {plan:?}, {first:?}, then {again:?}");
                        assert!(played.runs >= 2, "{what}: the failure did not happen");
                        check(&stream, &mut store, writers, &what).await;
                        scenarios += 1;
                        total.partial += played.partial;
                        total.partial_with_done += played.partial_with_done;
                        total.resplit += played.resplit;
                    }
                }
            }
        }
    }
    assert!(scenarios > 1000, "{scenarios} scenarios");
    assert!(total.partial_with_done > 100, "{total:?}");
    assert!(total.resplit > 100, "{total:?}");
}

#[tokio::test]
async fn a_second_failure_while_recovering_is_recovered_too() {
    let stream = Stream::generate(7, 30);
    let first = Setup {
        writers: 3,
        max_rows: 3,
        chunk: 2,
        tick: true,
    };
    let mut scenarios = 0;
    let mut twice = 0;
    let mut partial_with_done = 0;
    for k in 0..calls(&stream, first).await {
        for a in Failure::ALL {
            for d in 1..=8 {
                for b in Failure::ALL {
                    let plan = [(k, a), (k + d, b)];
                    let again = Setup {
                        writers: 2,
                        max_rows: 2,
                        chunk: 1,
                        tick: false,
                    };
                    let (mut store, played) = play(&stream, &plan, first, again).await;
                    check(&stream, &mut store, 2, &format!("{plan:?}")).await;
                    scenarios += 1;
                    twice += usize::from(played.runs >= 3);
                    partial_with_done += played.partial_with_done;
                }
            }
        }
    }
    assert!(scenarios > 1000, "{scenarios} scenarios");
    assert!(
        twice > 1000,
        "{twice} of {scenarios} scenarios failed twice"
    );
    assert!(partial_with_done > 100, "{partial_with_done}");
}
