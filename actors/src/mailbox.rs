//! Typed mailboxes between pipeline stages, bounded by message count **and** by bytes.
//!
//! A stage owns the receiving half ([`Inbox`]); the stage before it holds the sending half
//! ([`Outbox`]). Sending waits while the mailbox holds `count` messages or `bytes` bytes of
//! them, so a slow stage slows the ones before it instead of letting memory grow: with the
//! bounds of every mailbox of a pipeline, its peak memory is known. Messages carry batches
//! (the items of the binlog events ready to read, a writer's share of a batch, a chunk to
//! load), so a hop costs one channel operation per batch.
//!
//! The byte bound is a semaphore of `bytes` permits: a message takes its weight in permits
//! before it is queued and gives them back when the receiver takes it. A message heavier than
//! the whole budget still passes, alone.

use std::sync::Arc;

use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

/// How many bytes a message stands for in its mailbox (an estimate of the memory it holds).
pub trait Weigh {
    /// Estimated bytes.
    fn weight(&self) -> usize;
}

/// The bounds of one mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Most messages queued.
    pub count: usize,
    /// Most bytes of messages queued (by [`Weigh::weight`]).
    pub bytes: usize,
}

impl Bounds {
    /// Bounds of `count` messages and `bytes` bytes (each at least 1).
    pub const fn new(count: usize, bytes: usize) -> Self {
        Self { count, bytes }
    }

    fn permits(&self) -> usize {
        self.bytes
            .clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize))
    }
}

/// The receiver is gone: the message was not delivered (it is handed back).
#[derive(Debug, thiserror::Error)]
#[error("the {mailbox} mailbox is closed")]
pub struct Closed<T> {
    /// The mailbox's name.
    pub mailbox: &'static str,
    /// The message that was not delivered.
    pub message: T,
}

/// Creates a mailbox named `name` (for logs and errors) with `bounds`.
pub fn mailbox<T: Weigh>(name: &'static str, bounds: Bounds) -> (Outbox<T>, Inbox<T>) {
    let (tx, rx) = mpsc::channel(bounds.count.max(1));
    let permits = bounds.permits();
    let budget = Arc::new(Semaphore::new(permits));
    (
        Outbox {
            name,
            tx,
            budget,
            permits,
        },
        Inbox { rx },
    )
}

/// The sending half of a mailbox (cloneable: several senders may feed one stage).
pub struct Outbox<T> {
    name: &'static str,
    tx: mpsc::Sender<(T, OwnedSemaphorePermit)>,
    budget: Arc<Semaphore>,
    permits: usize,
}

impl<T> Clone for Outbox<T> {
    fn clone(&self) -> Self {
        Self {
            name: self.name,
            tx: self.tx.clone(),
            budget: self.budget.clone(),
            permits: self.permits,
        }
    }
}

impl<T: Weigh> Outbox<T> {
    /// Queues `message`, waiting while the mailbox is full (by count or by bytes).
    pub async fn send(&self, message: T) -> Result<(), Closed<T>> {
        let want = message.weight().clamp(1, self.permits);
        // `want` fits u32: `permits` does.
        let want = u32::try_from(want).unwrap_or(u32::MAX);
        let permit = match self.budget.clone().acquire_many_owned(want).await {
            Ok(p) => p,
            Err(_) => {
                return Err(Closed {
                    mailbox: self.name,
                    message,
                })
            }
        };
        self.tx
            .send((message, permit))
            .await
            .map_err(|mpsc::error::SendError((message, _))| Closed {
                mailbox: self.name,
                message,
            })
    }

    /// The mailbox's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// True when the receiving stage is gone.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// The mailbox's bounds as applied: (messages, bytes).
    pub fn capacity(&self) -> (usize, usize) {
        (self.tx.max_capacity(), self.permits)
    }

    /// A reader of how full the mailbox is now, (messages, bytes) queued, that does not keep
    /// it open (`None` once every sender or the receiver is gone): what `/metrics` shows.
    pub fn fill_probe(&self) -> impl Fn() -> Option<(usize, usize)> + Send + Sync + 'static
    where
        T: Send + 'static,
    {
        let tx = self.tx.downgrade();
        let budget = Arc::downgrade(&self.budget);
        let permits = self.permits;
        move || {
            let budget = budget.upgrade()?;
            let tx = tx.upgrade()?;
            if tx.is_closed() {
                return None;
            }
            Some((
                tx.max_capacity().saturating_sub(tx.capacity()),
                permits.saturating_sub(budget.available_permits()),
            ))
        }
    }
}

/// The receiving half of a mailbox, owned by one stage.
pub struct Inbox<T> {
    rx: mpsc::Receiver<(T, OwnedSemaphorePermit)>,
}

impl<T> Inbox<T> {
    /// The next message; `None` once every sender is gone and the mailbox is empty.
    pub async fn recv(&mut self) -> Option<T> {
        self.rx.recv().await.map(|(m, _permit)| m)
    }

    /// The next message if one is queued now.
    pub fn try_recv(&mut self) -> Option<T> {
        self.rx.try_recv().ok().map(|(m, _permit)| m)
    }

    /// Messages queued now.
    pub fn len(&self) -> usize {
        self.rx.len()
    }

    /// True when nothing is queued now.
    pub fn is_empty(&self) -> bool {
        self.rx.is_empty()
    }

    /// This inbox shared by several instances of one stage (a pool of loaders): each message
    /// goes to the one that asks first.
    pub fn shared(self) -> SharedInbox<T> {
        SharedInbox {
            inner: Arc::new(tokio::sync::Mutex::new(self)),
        }
    }
}

/// An inbox served by several instances of one stage ([`Inbox::shared`]).
pub struct SharedInbox<T> {
    inner: Arc<tokio::sync::Mutex<Inbox<T>>>,
}

impl<T> Clone for SharedInbox<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<T> SharedInbox<T> {
    /// The next message; `None` once every sender is gone and the mailbox is empty.
    pub async fn recv(&self) -> Option<T> {
        self.inner.lock().await.recv().await
    }
}

impl<T: Weigh> Weigh for Vec<T> {
    fn weight(&self) -> usize {
        self.iter().map(Weigh::weight).sum::<usize>() + std::mem::size_of::<Self>()
    }
}

impl<T: Weigh, E> Weigh for Result<T, E> {
    fn weight(&self) -> usize {
        match self {
            Ok(v) => v.weight(),
            Err(_) => std::mem::size_of::<E>(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::time::Duration;

    /// A test message weighing its number.
    #[derive(Debug)]
    pub(crate) struct Msg(pub usize);
    impl Weigh for Msg {
        fn weight(&self) -> usize {
            self.0
        }
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    /// True when `fut` is still pending after the runtime ran everything else it could.
    async fn blocks<F: std::future::Future>(fut: F) -> bool {
        tokio::pin!(fut);
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        futures::poll!(fut.as_mut()).is_pending()
    }

    #[test]
    fn the_count_bound_holds_senders_back() {
        rt().block_on(async {
            let (tx, mut rx) = mailbox::<Msg>("test", Bounds::new(2, 1 << 20));
            tx.send(Msg(1)).await.unwrap();
            tx.send(Msg(1)).await.unwrap();
            assert!(blocks(tx.send(Msg(1))).await, "a third message must wait");
            assert_eq!(rx.len(), 2);
            rx.recv().await.unwrap();
            tx.send(Msg(1)).await.unwrap();
            assert_eq!(rx.len(), 2);
        });
    }

    #[test]
    fn the_byte_bound_holds_senders_back_until_the_receiver_takes() {
        rt().block_on(async {
            let (tx, mut rx) = mailbox::<Msg>("test", Bounds::new(100, 1000));
            tx.send(Msg(600)).await.unwrap();
            assert!(blocks(tx.send(Msg(600))).await, "600 + 600 > 1000 bytes");
            let sender = {
                let tx = tx.clone();
                tokio::spawn(async move { tx.send(Msg(600)).await.is_ok() })
            };
            assert_eq!(rx.recv().await.unwrap().0, 600);
            assert!(tokio::time::timeout(Duration::from_secs(10), sender)
                .await
                .expect("the sender goes on once bytes are freed")
                .unwrap());
            assert_eq!(rx.recv().await.unwrap().0, 600);
        });
    }

    #[test]
    fn a_message_heavier_than_the_budget_passes_alone() {
        rt().block_on(async {
            let (tx, mut rx) = mailbox::<Msg>("test", Bounds::new(10, 100));
            tx.send(Msg(5000)).await.unwrap();
            assert!(
                blocks(tx.send(Msg(1))).await,
                "the heavy one holds the whole budget"
            );
            assert_eq!(rx.recv().await.unwrap().0, 5000);
            tx.send(Msg(1)).await.unwrap();
            assert_eq!(rx.try_recv().unwrap().0, 1);
            assert!(rx.is_empty());
        });
    }

    #[test]
    fn a_closed_mailbox_hands_the_message_back() {
        rt().block_on(async {
            let (tx, rx) = mailbox::<Msg>("writer-0", Bounds::new(1, 10));
            drop(rx);
            assert!(tx.is_closed());
            let err = tx.send(Msg(7)).await.unwrap_err();
            assert_eq!(err.message.0, 7);
            assert_eq!(err.to_string(), "the writer-0 mailbox is closed");
        });
    }

    #[test]
    fn the_receiver_sees_the_end_when_senders_are_gone() {
        rt().block_on(async {
            let (tx, mut rx) = mailbox::<Msg>("test", Bounds::new(4, 100));
            tx.send(Msg(3)).await.unwrap();
            drop(tx);
            assert_eq!(rx.recv().await.unwrap().0, 3);
            assert!(rx.recv().await.is_none());
        });
    }

    #[tokio::test]
    async fn a_shared_inbox_hands_each_message_to_one_instance() {
        let (tx, rx) = mailbox::<Msg>("shared", Bounds::new(8, 1 << 20));
        let rx = rx.shared();
        let (a, b) = (rx.clone(), rx.clone());
        let take = |r: SharedInbox<Msg>| {
            tokio::spawn(async move {
                let mut got = Vec::new();
                while let Some(Msg(n)) = r.recv().await {
                    got.push(n);
                }
                got
            })
        };
        let (ta, tb) = (take(a), take(b));
        drop(rx);
        for n in 0..100 {
            tx.send(Msg(n)).await.unwrap();
        }
        drop(tx);
        let mut all = ta.await.unwrap();
        all.extend(tb.await.unwrap());
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn the_fill_probe_sees_what_is_queued_and_lets_the_mailbox_close() {
        rt().block_on(async {
            let (tx, mut rx) = mailbox::<Msg>("test", Bounds::new(4, 1000));
            let fill = tx.fill_probe();
            assert_eq!(tx.capacity(), (4, 1000));
            assert_eq!(fill(), Some((0, 0)));
            tx.send(Msg(300)).await.unwrap();
            tx.send(Msg(200)).await.unwrap();
            assert_eq!(fill(), Some((2, 500)));
            rx.recv().await.unwrap();
            assert_eq!(fill(), Some((1, 200)));
            drop(tx);
            assert_eq!(rx.recv().await.unwrap().0, 200);
            assert!(rx.recv().await.is_none(), "the probe does not keep it open");
            assert_eq!(fill(), None);
        });
    }
}
