//! The relay log of one source (`enable-relay: true`), as one service: [`RelayService`].
//!
//! - A **writer** pulls the upstream binlog ([`ReconnectingSource`]) and appends every real
//!   event, raw, with the position after it, to the [`RelayLog`] in bounded, synced batches,
//!   before any task sees it. After a restart it resumes from the stored relay position (at the
//!   last transaction boundary, dropping what the relay already holds).
//! - Tasks read through [`RelayService::open`], which returns a [`RelaySource`]: a
//!   [`crate::reader::BinlogSource`] that yields exactly the events the upstream would send from the same
//!   start position, from the relay log when it holds them (so a task keeps replicating after
//!   the upstream purged its binlog), else from the upstream until the stream reaches the
//!   relay, where it switches over without a gap or a duplicate.
//! - **Purge**: `purge.interval` / `purge.expires` / `purge.remain-space` automatically, and
//!   [`RelayService::purge_before_file`] (DM's `purge-relay`), never deleting events a task
//!   still needs (the caller's `needed` floor) or an open reader has not read.
//! - [`RelayService::status`] gives DM's `relayStatus` object.
//!
//! The relay log holds the upstream's binlog files from the relay start (the real events, as
//! written): the artificial events a dump adds (fake rotates, the format description of a
//! dump starting mid-file, heartbeats) are not stored but rebuilt by readers from per-file
//! headers ([`header`]).

mod gtid_events;
mod header;
mod purge;
mod source;
mod status;
mod writer;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_config::{PurgeConfig, SourceConfig};
use ferry_model::{BinlogPosition, GtidSet, Location, PositionError, Stage};
use ferry_relay::{PurgeReport, RelayLog, Store, StoreError};
use mysql_async::prelude::Queryable;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::db::Endpoint;
use crate::metrics::relay::RelayMetrics;
use crate::reader::{Backoff, ReaderOptions, ReconnectingSource, StartFrom};

pub use purge::ManualPurge;
pub use source::RelaySource;

/// The minimum position still needed by the tasks of a source (their lowest checkpoint):
/// purges never delete an event that ends after it. `None`: no task needs any event.
pub type NeededFn = Arc<dyn Fn() -> Option<BinlogPosition> + Send + Sync>;

/// Free bytes of the file system holding a directory (`purge.remain-space`).
pub type DiskFreeFn = Arc<dyn Fn(&Path) -> std::io::Result<u64> + Send + Sync>;

/// How a relay runs: the source's relay keys plus tuning.
#[derive(Clone)]
pub struct RelayConfig {
    /// `enable-gtid`: `relay_binlog_gtid` applies instead of `relay_binlog_name`.
    pub enable_gtid: bool,
    /// `relay-binlog-name`: relay start file (offset 4), when the relay holds nothing yet.
    pub relay_binlog_name: String,
    /// `relay-binlog-gtid`: relay start GTID set, when the relay holds nothing yet.
    pub relay_binlog_gtid: String,
    /// `purge`: automatic purge.
    pub purge: PurgeConfig,
    /// Binlog dump options of the writer (its `server_id` must be unique among the upstream's
    /// replicas). Readers that read the upstream directly use `server_id + n` (n ≥ 1).
    pub reader: ReaderOptions,
    /// Reconnection delays of the writer (and of readers reading the upstream directly).
    pub backoff: Backoff,
    /// How often the upstream's current position (`masterBinlog`) is read.
    pub status_interval: Duration,
    /// Most events per append.
    pub batch_events: usize,
    /// Most raw bytes per append (one larger event still goes alone).
    pub batch_bytes: u64,
    /// Most raw bytes read from the upstream and not yet appended.
    pub buffer_bytes: u64,
    /// Free-space probe for `purge.remain-space` (default: `statvfs` of the store directory).
    pub disk_free: DiskFreeFn,
}

impl std::fmt::Debug for RelayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayConfig")
            .field("enable_gtid", &self.enable_gtid)
            .field("relay_binlog_name", &self.relay_binlog_name)
            .field("relay_binlog_gtid", &self.relay_binlog_gtid)
            .field("purge", &self.purge)
            .field("reader", &self.reader)
            .finish_non_exhaustive()
    }
}

impl RelayConfig {
    /// The relay settings of `source`, with default tuning; `server_id` is the writer's
    /// replica server id.
    pub fn from_source(source: &SourceConfig, server_id: u32) -> Self {
        Self {
            enable_gtid: source.enable_gtid,
            relay_binlog_name: source.relay_binlog_name.clone(),
            relay_binlog_gtid: source.relay_binlog_gtid.clone(),
            purge: source.purge.clone(),
            reader: ReaderOptions {
                server_id,
                ..ReaderOptions::default()
            },
            backoff: Backoff::default(),
            status_interval: Duration::from_secs(5),
            batch_events: 1024,
            batch_bytes: 16 << 20,
            buffer_bytes: 64 << 20,
            disk_free: Arc::new(purge::statvfs_free),
        }
    }
}

/// A relay service operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The state store failed.
    #[error("relay log of source `{source_id}`: {source}")]
    Store {
        /// The source.
        source_id: String,
        /// The store error.
        #[source]
        source: StoreError,
    },
    /// The relay configuration cannot be used.
    #[error("relay log of source `{source_id}`: {reason}")]
    Config {
        /// The source.
        source_id: String,
        /// What is wrong.
        reason: String,
    },
    /// A binlog file name is not of the form `base.NNNNNN`.
    #[error("relay log of source `{source_id}`: {source}")]
    FileName {
        /// The source.
        source_id: String,
        /// The parse error.
        #[source]
        source: PositionError,
    },
    /// The service is stopped.
    #[error("relay log of source `{source_id}` is stopped")]
    Stopped {
        /// The source.
        source_id: String,
    },
}

/// What the writer is doing, as readers see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum WriterState {
    /// Resolving its start, connecting.
    #[default]
    Starting,
    /// Pulling and appending.
    Running,
    /// Failed transiently; retrying.
    Retrying(String),
    /// Failed with an error that retrying does not fix (retried rarely).
    Failed(String),
    /// Stopped for good.
    Stopped,
}

/// What readers wait on: published by the writer after each append, by purges, on state
/// changes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Progress {
    /// Sequence number of the last appended event (0: none yet).
    pub last_seq: u64,
    /// End of the last appended event, or the relay start.
    pub relay_pos: Option<BinlogPosition>,
    /// The relay holds nothing ending at or before this.
    pub floor: Option<BinlogPosition>,
    /// Heartbeats received from the upstream so far.
    pub heartbeats: u64,
    /// Timestamp and server id of the last heartbeat.
    pub heartbeat: (u32, u32),
    /// The writer's state.
    pub writer: WriterState,
}

impl Progress {
    /// True when a reader can start at `p` from the relay log.
    pub fn holds(&self, p: &BinlogPosition) -> bool {
        matches!((&self.floor, &self.relay_pos), (Some(f), Some(r)) if f <= p && p <= r)
    }

    /// What the relay holds, for messages.
    pub fn describe(&self) -> String {
        match (&self.floor, &self.relay_pos) {
            (Some(f), Some(r)) if f == r => format!("empty, starting at {f}"),
            (Some(f), Some(r)) => format!("holds the events after {f} up to {r}"),
            _ => "not started".to_string(),
        }
    }
}

/// Status fields not derived from [`Progress`].
#[derive(Debug, Default)]
struct StatusState {
    /// The upstream's current position, refreshed every `status_interval`.
    master: Option<Location>,
    /// Executed GTID set at the relay's last transaction boundary.
    relay_gtid: Option<String>,
    /// The upstream's server UUID (MariaDB: `domain-server_id`).
    server_uuid: Option<String>,
    /// DM stage.
    stage: Option<Stage>,
    /// Last error and whether it is transient.
    error: Option<(String, bool)>,
}

/// Commands to the writer.
pub(crate) enum Ctl {
    /// Stop for good.
    Stop,
    /// Restart the relay at a new start; only done while it has never appended anything.
    Restart(BinlogPosition, oneshot::Sender<bool>),
}

/// State shared by the service, its tasks and its readers.
pub(crate) struct Shared {
    pub source_id: String,
    pub ep: Endpoint,
    pub cfg: RelayConfig,
    pub store: Arc<Store>,
    pub needed: NeededFn,
    pub progress: watch::Sender<Progress>,
    status: Mutex<StatusState>,
    /// Open readers and the position each has read up to (a purge floor).
    readers: Mutex<HashMap<u64, BinlogPosition>>,
    /// Held by a purge from reading the floor to deleting, and by a reader's registration.
    pub purge_lock: tokio::sync::Mutex<()>,
    next_reader: AtomicU64,
    /// The relay's series (`dm_relay_*`).
    pub metrics: RelayMetrics,
}

impl Shared {
    /// Runs a store operation off the async threads.
    pub async fn blocking<T, F>(self: &Arc<Self>, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Store, &str) -> Result<T, StoreError> + Send + 'static,
    {
        let me = Arc::clone(self);
        match tokio::task::spawn_blocking(move || f(&me.store, &me.source_id)).await {
            Ok(r) => r,
            Err(e) => Err(StoreError::Corrupt {
                path: self.store.path().to_path_buf(),
                key: format!("relay/{}", self.source_id),
                reason: format!("store task failed: {e}"),
            }),
        }
    }

    pub fn store_err(&self, source: StoreError) -> RelayError {
        RelayError::Store {
            source_id: self.source_id.clone(),
            source,
        }
    }

    /// Registers a reader that has read up to `at`; returns its id.
    pub fn register_reader(&self, at: BinlogPosition) -> u64 {
        let id = self.next_reader.fetch_add(1, Ordering::Relaxed) + 1;
        lock(&self.readers).insert(id, at);
        id
    }

    /// Moves a reader's floor.
    pub fn reader_at(&self, id: u64, at: &BinlogPosition) {
        if let Some(p) = lock(&self.readers).get_mut(&id) {
            p.clone_from(at);
        }
    }

    /// Forgets a reader.
    pub fn unregister_reader(&self, id: u64) {
        lock(&self.readers).remove(&id);
    }

    /// The purge floor: the lowest of the tasks' needed position and the open readers'.
    pub fn needed_floor(&self) -> Option<BinlogPosition> {
        let readers = lock(&self.readers).values().min().cloned();
        match ((self.needed)(), readers) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Records the writer's stage and error.
    pub fn set_stage(&self, stage: Stage, error: Option<(String, bool)>) {
        let mut st = lock(&self.status);
        st.stage = Some(stage);
        st.error = error;
    }

    pub fn set_relay_gtid(&self, gtid: Option<String>) {
        lock(&self.status).relay_gtid = gtid;
    }

    pub fn set_master(&self, master: Location, uuid: Option<String>) {
        let mut st = lock(&self.status);
        st.master = Some(master);
        if uuid.is_some() {
            st.server_uuid = uuid;
        }
    }

    /// Publishes a change to readers.
    pub fn publish(&self, f: impl FnOnce(&mut Progress)) {
        self.progress.send_modify(f);
    }

    /// Options of a reader that reads the upstream directly (its own server id).
    pub fn reader_options(&self, reader_id: u64) -> ReaderOptions {
        let mut o = self.cfg.reader.clone();
        o.server_id = o
            .server_id
            .wrapping_add(u32::try_from(reader_id % 1_000_000).unwrap_or(1))
            .max(1);
        o
    }
}

/// Locks a mutex, ignoring poisoning (the data are plain values).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The relay log of one source: its writer, its purge, its readers. See the module docs.
pub struct RelayService {
    shared: Arc<Shared>,
    ctl: mpsc::Sender<Ctl>,
    shutdown: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// Serializes `open` decisions (a restart of an empty relay must not race a reader).
    open_lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for RelayService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayService")
            .field("source", &self.shared.source_id)
            .finish_non_exhaustive()
    }
}

impl RelayService {
    /// Starts the relay of `source_id` from `ep` into `store`. Where it starts: the stored
    /// relay position after a restart; else `relay-binlog-gtid` (with `enable-gtid`) or
    /// `relay-binlog-name`; else `needed()` (the tasks' lowest checkpoint); else the upstream's
    /// current position (and then, while nothing was appended and no reader is open, the first
    /// [`Self::open`] at an earlier position moves the start there). Must be called inside a
    /// tokio runtime.
    pub async fn start(
        source_id: &str,
        ep: Endpoint,
        cfg: RelayConfig,
        store: Arc<Store>,
        needed: NeededFn,
    ) -> Result<Self, RelayError> {
        if cfg.enable_gtid && !cfg.relay_binlog_gtid.trim().is_empty() {
            GtidSet::parse_any(&cfg.relay_binlog_gtid).map_err(|e| RelayError::Config {
                source_id: source_id.to_string(),
                reason: format!("relay-binlog-gtid: {e}"),
            })?;
        }
        if !cfg.enable_gtid && !cfg.relay_binlog_name.trim().is_empty() {
            BinlogPosition::new(cfg.relay_binlog_name.trim(), 4).map_err(|source| {
                RelayError::FileName {
                    source_id: source_id.to_string(),
                    source,
                }
            })?;
        }
        let (progress, _) = watch::channel(Progress::default());
        let shared = Arc::new(Shared {
            source_id: source_id.to_string(),
            ep,
            cfg,
            store,
            needed,
            progress,
            status: Mutex::new(StatusState::default()),
            readers: Mutex::new(HashMap::new()),
            purge_lock: tokio::sync::Mutex::new(()),
            next_reader: AtomicU64::new(0),
            metrics: RelayMetrics::new(source_id),
        });
        // Where the relay starts, recorded before returning so that readers opened right
        // away see it; the writer retries when this fails.
        if let Err(e) = writer::prepare(&shared).await {
            tracing::warn!(source = %source_id, error = %e, "relay start not resolved yet; retrying");
        }
        let stats = shared
            .blocking(|s, src| s.stats(src))
            .await
            .map_err(|e| shared.store_err(e))?;
        if let Some(rp) = &stats.relay_position {
            shared.set_relay_gtid(rp.gtid.clone());
        }
        shared.set_stage(Stage::Running, None);
        let (ctl, ctl_rx) = mpsc::channel(8);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let tasks = vec![
            tokio::spawn(writer::run(Arc::clone(&shared), ctl_rx)),
            tokio::spawn(status::status_loop(
                Arc::clone(&shared),
                shutdown_rx.clone(),
            )),
            tokio::spawn(purge::run(Arc::clone(&shared), shutdown_rx)),
        ];
        Ok(Self {
            shared,
            ctl,
            shutdown,
            tasks: Mutex::new(tasks),
            open_lock: tokio::sync::Mutex::new(()),
        })
    }

    /// The source id.
    pub fn source_id(&self) -> &str {
        &self.shared.source_id
    }

    /// A task-side stream of the source's binlog starting at `start` (see [`RelaySource`]).
    ///
    /// From a position: read from the relay log when it holds the position; else from the
    /// upstream, switching to the relay log once the stream reaches it. From a GTID set: from
    /// the upstream (which selects the transactions), switching to the relay log once the
    /// stream reaches it; the transactions in the set are skipped there too.
    pub async fn open(&self, start: impl Into<StartFrom>) -> Result<RelaySource, RelayError> {
        let start = start.into();
        let _guard = self.open_lock.lock().await;
        if self.shared.progress.borrow().writer == WriterState::Stopped {
            return Err(RelayError::Stopped {
                source_id: self.shared.source_id.clone(),
            });
        }
        if let StartFrom::Position(p) = &start {
            self.maybe_move_start(p).await?;
        }
        Ok(RelaySource::open(Arc::clone(&self.shared), start).await)
    }

    /// First open before anything was appended: restart the relay at `p` when it is earlier
    /// than the relay start and no reader is open.
    async fn maybe_move_start(&self, p: &BinlogPosition) -> Result<(), RelayError> {
        let (floor, appended) = {
            let pr = self.shared.progress.borrow();
            (pr.floor.clone(), pr.last_seq > 0)
        };
        let earlier = floor.as_ref().is_some_and(|f| p < f);
        if !earlier || appended || !lock(&self.shared.readers).is_empty() {
            return Ok(());
        }
        let stats = self
            .shared
            .blocking(|s, src| s.stats(src))
            .await
            .map_err(|e| self.shared.store_err(e))?;
        if stats.next_seq > 1 || !self.upstream_has(p).await {
            return Ok(());
        }
        let (tx, rx) = oneshot::channel();
        if self.ctl.send(Ctl::Restart(p.clone(), tx)).await.is_err() {
            return Err(RelayError::Stopped {
                source_id: self.shared.source_id.clone(),
            });
        }
        if rx.await.unwrap_or(false) {
            tracing::info!(source = %self.shared.source_id, start = %p,
                "relay log moved to the first reader's start");
        }
        Ok(())
    }

    /// True when the upstream still has binlog file `p.name`, at least `p.pos` bytes long.
    async fn upstream_has(&self, p: &BinlogPosition) -> bool {
        let ep = &self.shared.ep;
        let Ok(mut conn) = ep.connect(vec![]).await else {
            return false;
        };
        let rows: Result<Vec<mysql_async::Row>, _> = conn.query("SHOW BINARY LOGS").await;
        let _ = conn.disconnect().await;
        rows.map(|rows| {
            rows.iter().any(|r| {
                let name = r.get_opt::<String, _>(0).and_then(Result::ok);
                let size = r.get_opt::<u64, _>(1).and_then(Result::ok);
                name.as_deref() == Some(p.name.as_str()) && size.is_some_and(|s| p.pos <= s)
            })
        })
        .unwrap_or(false)
    }

    /// DM's `purge-relay --filename`: deletes the relay events before the start of `file`,
    /// but none a task still needs or an open reader has not read.
    pub async fn purge_before_file(&self, file: &str) -> Result<ManualPurge, RelayError> {
        BinlogPosition::new(file, 4).map_err(|source| RelayError::FileName {
            source_id: self.shared.source_id.clone(),
            source,
        })?;
        purge::before_file(&self.shared, file).await
    }

    /// One automatic purge pass now (what `purge.interval` runs periodically).
    pub async fn purge_now(&self) -> Result<PurgeReport, RelayError> {
        purge::auto(&self.shared).await
    }

    /// Stops the writer, the purge and the status refresh, and waits for them: after it
    /// returns, another service may start on the same source and store. Open readers fail
    /// (transiently) once they have read what the relay holds; [`Self::open`] fails.
    pub async fn stop(&self) {
        let _ = self.shutdown.send(true);
        let _ = self.ctl.send(Ctl::Stop).await;
        let tasks: Vec<_> = lock(&self.tasks).drain(..).collect();
        for t in tasks {
            let _ = t.await;
        }
        self.shared.publish(|p| p.writer = WriterState::Stopped);
        self.shared.set_stage(Stage::Stopped, None);
    }
}

impl Drop for RelayService {
    /// Aborts the tasks without waiting (an append in progress still completes): prefer
    /// [`RelayService::stop`] before starting another service on the same source.
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        let _ = self.ctl.try_send(Ctl::Stop);
        for t in lock(&self.tasks).iter() {
            t.abort();
        }
        self.shared.publish(|p| p.writer = WriterState::Stopped);
    }
}

/// A [`ReconnectingSource`] for reading the upstream directly.
pub(crate) fn upstream_source(
    shared: &Shared,
    start: StartFrom,
    reader_id: u64,
) -> ReconnectingSource {
    ReconnectingSource::new(
        shared.ep.clone(),
        start,
        shared.reader_options(reader_id),
        shared.cfg.backoff.clone(),
    )
}
