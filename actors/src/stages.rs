//! The running stages of one pipeline, supervised as a unit.
//!
//! Each stage is a task on the runtime that owns its state and its inbox. [`Stages`] holds
//! them: [`Stages::run`] drives the pipeline's main stage (the one whose result is the
//! pipeline's) while watching the others, and a panic in any stage ends the pipeline with
//! [`TaskError::StagePanicked`]. Dropping `Stages` aborts every stage still running, so a
//! pipeline never leaves a stage behind: the supervisor (the task actor) then starts a fresh
//! pipeline from the checkpoint, with backoff, as the error policy says.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;

use futures::FutureExt;
use tokio::task::{Id, JoinSet};
use tracing::{error, Instrument};

use crate::error::TaskError;

/// The stages of one pipeline.
#[derive(Default)]
pub struct Stages {
    set: JoinSet<()>,
    names: HashMap<Id, String>,
}

impl Stages {
    /// No stages yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts stage `name` (`reader`, `writer-0`, ...) on the current runtime.
    pub fn spawn(
        &mut self,
        name: impl Into<String>,
        stage: impl Future<Output = ()> + Send + 'static,
    ) {
        let name = name.into();
        let span = tracing::info_span!("stage", name = %name);
        let handle = self.set.spawn(stage.instrument(span));
        self.names.insert(handle.id(), name);
    }

    /// Runs `main` (the stage whose result is the pipeline's, on this task) until it ends or
    /// another stage panics. A stage that ends normally is not a failure (a reader ends after
    /// handing its error to the next stage). When `main` fails, the other stages are stopped
    /// and, if one of them had panicked (and so caused the failure), its panic is the error
    /// returned: it says more than "stopped".
    pub async fn run(
        &mut self,
        main: impl Future<Output = Result<(), TaskError>>,
    ) -> Result<(), TaskError> {
        let main = std::panic::AssertUnwindSafe(main).catch_unwind();
        tokio::pin!(main);
        let result = tokio::select! {
            r = &mut main => match r {
                Ok(r) => r,
                Err(payload) => Err(panicked("main", payload.as_ref())),
            },
            e = self.first_panic() => Err(e),
        };
        match result {
            Err(e) if !matches!(e, TaskError::StagePanicked { .. }) => {
                Err(self.stop_all().await.unwrap_or(e))
            }
            other => other,
        }
    }

    /// Waits until a stage panics (forever if none does).
    async fn first_panic(&mut self) -> TaskError {
        loop {
            match self.set.join_next_with_id().await {
                Some(Err(e)) if e.is_panic() => {
                    let name = self.names.remove(&e.id()).unwrap_or_default();
                    let payload = e.into_panic();
                    return panicked(&name, payload.as_ref());
                }
                Some(Ok((id, ()))) => {
                    self.names.remove(&id);
                }
                Some(Err(e)) => {
                    self.names.remove(&e.id());
                }
                None => std::future::pending::<()>().await,
            }
        }
    }

    /// Aborts every stage and waits for them to end; the first that had panicked, if any.
    async fn stop_all(&mut self) -> Option<TaskError> {
        self.set.abort_all();
        let mut first = None;
        while let Some(r) = self.set.join_next_with_id().await {
            if let Err(e) = r {
                let name = self.names.remove(&e.id()).unwrap_or_default();
                if e.is_panic() && first.is_none() {
                    first = Some(panicked(&name, e.into_panic().as_ref()));
                }
            }
        }
        self.names.clear();
        first
    }
}

/// The error of stage `stage` that panicked with `payload`.
pub fn panicked(stage: &str, payload: &(dyn Any + Send)) -> TaskError {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic without a message".to_string());
    error!(stage, %message, "stage panicked: the pipeline stops and restarts from the checkpoint");
    TaskError::StagePanicked {
        stage: stage.to_string(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
    }

    /// Sets its flag when dropped (the stage holding it was aborted or ended).
    struct DropFlag(Arc<AtomicBool>);
    impl Drop for DropFlag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_panicking_stage_ends_the_pipeline_and_the_others_are_aborted() {
        rt().block_on(async {
            let dropped = Arc::new(AtomicBool::new(false));
            let mut stages = Stages::new();
            let flag = DropFlag(dropped.clone());
            stages.spawn("poller", async move {
                let _flag = flag;
                std::future::pending::<()>().await;
            });
            let (go, wait) = tokio::sync::oneshot::channel::<()>();
            stages.spawn("writer-1", async move {
                let _ = wait.await;
                panic!("share 7 is broken");
            });
            let main = async move {
                let _ = go.send(());
                std::future::pending::<Result<(), TaskError>>().await
            };
            let err = tokio::time::timeout(Duration::from_secs(30), stages.run(main))
                .await
                .expect("the panic ends the pipeline")
                .unwrap_err();
            match &err {
                TaskError::StagePanicked { stage, message } => {
                    assert_eq!(stage, "writer-1");
                    assert_eq!(message, "share 7 is broken");
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(err.action(), crate::error::Action::Retry);
            assert!(
                !dropped.load(Ordering::SeqCst),
                "still running before the drop"
            );
            drop(stages);
            // Aborted tasks are dropped by the runtime: poll for it.
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while !dropped.load(Ordering::SeqCst) {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the poller was not aborted"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
    }

    #[test]
    fn a_panic_in_the_main_stage_is_an_error_not_an_unwind() {
        rt().block_on(async {
            let mut stages = Stages::new();
            let main = async {
                if std::hint::black_box(true) {
                    panic!("coordinator bug");
                }
                Ok(())
            };
            let err = stages.run(main).await.unwrap_err();
            assert!(
                matches!(&err, TaskError::StagePanicked { stage, message } if stage == "main" && message == "coordinator bug"),
                "{err:?}"
            );
        });
    }

    #[test]
    fn a_main_failure_caused_by_a_stage_panic_reports_the_panic() {
        rt().block_on(async {
            let mut stages = Stages::new();
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            stages.spawn("reader", async move {
                let _tx = tx;
                panic!("bad event");
            });
            // The main stage sees its input close (the reader's sender dropped by the unwind)
            // and fails with a plain error; the panic is what is reported.
            let main = async move {
                let _ = rx.await;
                Err(TaskError::Cancelled)
            };
            let err = stages.run(main).await.unwrap_err();
            assert!(
                matches!(&err, TaskError::StagePanicked { stage, .. } if stage == "reader"),
                "{err:?}"
            );
        });
    }

    #[test]
    fn stages_that_end_normally_are_not_failures() {
        rt().block_on(async {
            let mut stages = Stages::new();
            stages.spawn("reader", async {});
            stages.spawn("writer-0", async {});
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            stages.spawn("signal", async move {
                let _ = tx.send(());
            });
            let main = async move {
                let _ = rx.await;
                Ok(())
            };
            stages.run(main).await.unwrap();
        });
    }
}
