//! The supervisor of a subtask's pipeline: runs it, and after an error or a panic decides
//! by the error policy ([`crate::error::policy`]) whether to run it again from the
//! checkpoint (with backoff, within the retry budget) or to pause the subtask.

use std::sync::Mutex;
use std::time::Duration;

use ferry_model::Stage;
use futures::FutureExt;
use tracing::{error, warn};

use crate::error::{Action, ErrorClass, TaskError};
use crate::task::{lock, Backoff, SubtaskState};

/// The supervisor of one subtask: runs `attempt` (one run of its pipeline, from the
/// checkpoint) and, after an error or a panic, decides by the error policy whether to run it
/// again (with backoff, within the retry budget) or to pause; records the outcome in `state`.
pub(crate) async fn supervise<F, Fut>(state: &Mutex<SubtaskState>, backoff: Backoff, mut attempt: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), TaskError>>,
{
    let mut tries = 0u32;
    let mut wait = backoff.min;
    loop {
        let began = std::time::Instant::now();
        let result = std::panic::AssertUnwindSafe(attempt())
            .catch_unwind()
            .await
            .unwrap_or_else(|payload| Err(crate::stages::panicked("subtask", payload.as_ref())));
        if began.elapsed() > Duration::from_secs(60) {
            // It made progress: a later transient error starts a fresh retry series.
            tries = 0;
            wait = backoff.min;
        }
        let retry = {
            let mut st = lock(state);
            match result {
                Ok(()) => {
                    st.stage = Stage::Finished;
                    st.error = None;
                    st.error_is_fatal = false;
                    st.error_class = None;
                    false
                }
                Err(e) => {
                    let class = e.class();
                    // The table decides; the retry budget bounds its retries.
                    let retry = match class.action() {
                        Action::Retry if tries < backoff.max_attempts => true,
                        Action::Retry | Action::Pause | Action::Stop => false,
                    };
                    st.error = Some(e.to_string());
                    if retry {
                        tries += 1;
                        warn!(error = %e, ?class, attempt = tries, wait_s = wait.as_secs(), "transient error; resuming from the checkpoint");
                        st.error_class = Some(class);
                    } else {
                        error!(error = %e, ?class, "subtask paused");
                        st.stage = Stage::Paused;
                        st.error_is_fatal = true;
                        st.error_class = Some(if class.is_transient() {
                            ErrorClass::Persistent
                        } else {
                            class
                        });
                    }
                    retry
                }
            }
        };
        if !retry {
            return;
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(backoff.max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use ferry_model::Unit;

    use crate::bulk::BulkProgress;
    use crate::sync::SyncStatus;

    fn state() -> Mutex<SubtaskState> {
        Mutex::new(SubtaskState {
            source_id: "s1".into(),
            stage: Stage::Running,
            unit: Unit::Sync,
            error: None,
            error_is_fatal: false,
            error_class: None,
            progress: Arc::new(BulkProgress::default()),
            start: None,
            sync: Arc::new(SyncStatus::default()),
        })
    }

    fn quick(max_attempts: u32) -> Backoff {
        Backoff {
            min: Duration::from_millis(1),
            max: Duration::from_millis(2),
            max_attempts,
        }
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    #[test]
    fn a_panicking_run_is_restarted_and_can_then_finish() {
        let st = state();
        let mut runs = 0;
        rt().block_on(supervise(&st, quick(3), || {
            runs += 1;
            let first = runs == 1;
            async move {
                if first {
                    panic!("writer bug");
                }
                Ok(())
            }
        }));
        assert_eq!(runs, 2, "restarted once after the panic");
        let st = lock(&st);
        assert_eq!(st.stage, Stage::Finished);
        assert!(st.error.is_none());
    }

    #[test]
    fn transient_errors_are_retried_within_the_budget_then_pause_as_persistent() {
        let st = state();
        let mut runs = 0;
        rt().block_on(supervise(&st, quick(3), || {
            runs += 1;
            async {
                Err(TaskError::Binlog {
                    message: "stream ended".into(),
                    transient: true,
                })
            }
        }));
        assert_eq!(runs, 4, "the first run and three retries");
        let st = lock(&st);
        assert_eq!(st.stage, Stage::Paused);
        assert!(st.error_is_fatal);
        assert_eq!(st.error_class, Some(ErrorClass::Persistent));
        assert_eq!(st.error.as_deref(), Some("stream ended"));
    }

    #[test]
    fn a_definite_error_pauses_at_once_and_panics_keep_being_reported() {
        let st = state();
        let mut runs = 0;
        rt().block_on(supervise(&st, quick(5), || {
            runs += 1;
            async { Err(TaskError::Blocked("DDL rejected".into())) }
        }));
        assert_eq!(runs, 1);
        assert_eq!(lock(&st).error_class, Some(ErrorClass::Blocked));

        let st = state();
        let mut runs = 0;
        rt().block_on(supervise(&st, quick(2), || {
            runs += 1;
            async {
                if std::hint::black_box(true) {
                    panic!("always");
                }
                Ok(())
            }
        }));
        assert_eq!(
            runs, 3,
            "a panic is retried within the budget like a transient error"
        );
        let st = lock(&st);
        assert_eq!(st.stage, Stage::Paused);
        assert!(
            st.error
                .as_deref()
                .is_some_and(|e| e.contains("subtask") && e.contains("always")),
            "{:?}",
            st.error
        );
    }
}
