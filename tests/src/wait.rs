//! Polling instead of sleeping.

use std::fmt::Display;
use std::future::Future;
use std::time::{Duration, Instant};

/// Polls `cond` until it returns true; panics after `timeout` with
/// `timed out after ..: <what>`. Polls every 20 ms at first, backing off to 500 ms.
pub async fn wait_until<F, Fut>(timeout: Duration, what: impl Display, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    wait_for(timeout, what, || {
        let fut = cond();
        async move { fut.await.then_some(()) }
    })
    .await
}

/// Polls `f` until it returns `Some(value)` and returns that value; panics after
/// `timeout` like [`wait_until`].
pub async fn wait_for<T, F, Fut>(timeout: Duration, what: impl Display, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    let mut pause = Duration::from_millis(20);
    let mut polls = 0u64;
    loop {
        polls += 1;
        if let Some(v) = f().await {
            return v;
        }
        let elapsed = start.elapsed();
        if elapsed >= timeout {
            panic!(
                "timed out after {:.1}s ({polls} polls) waiting for: {what}",
                elapsed.as_secs_f64()
            );
        }
        tokio::time::sleep(pause.min(timeout - elapsed)).await;
        pause = (pause * 2).min(Duration::from_millis(500));
    }
}
