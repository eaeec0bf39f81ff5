//! Relay purge: automatic (`purge.interval`, `purge.expires`, `purge.remain-space`) and
//! manual (`purge-relay --filename`). Every purge stops at the floor of what tasks still need
//! and open readers have not read ([`Shared::needed_floor`]).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ferry_model::BinlogPosition;
use ferry_relay::{PurgeReport, RelayLog};
use tokio::sync::watch;

use super::{RelayError, Shared};

/// What a manual purge did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualPurge {
    /// Events deleted.
    pub report: PurgeReport,
    /// The floor that was honoured (tasks' lowest checkpoint or an open reader), if any:
    /// events ending after it were kept even when before the requested file.
    pub needed: Option<BinlogPosition>,
    /// The relay holds nothing ending at or before this now.
    pub floor: Option<BinlogPosition>,
}

/// Free bytes of the file system of `dir` (`statvfs`: blocks available to unprivileged users).
pub(super) fn statvfs_free(dir: &Path) -> std::io::Result<u64> {
    let st = rustix::fs::statvfs(dir)?;
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

/// Runs the automatic purge every `purge.interval` seconds while it is active.
pub(super) async fn run(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let cfg = &shared.cfg.purge;
    if !cfg.is_active() || cfg.interval < 0 {
        return;
    }
    let period = Duration::from_secs(cfg.interval.unsigned_abs());
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => break,
        }
        if *shutdown.borrow() {
            break;
        }
        match auto(&shared).await {
            Ok(r) if r.count > 0 => tracing::info!(
                source = %shared.source_id,
                events = r.count,
                bytes = r.bytes,
                to = ?r.purged_to.as_ref().map(|p| p.to_string()),
                "relay log purged"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(source = %shared.source_id, error = %e, "relay purge failed"),
        }
    }
}

/// One automatic pass: by age (`expires`, hours), then by free space (`remain-space`, GiB).
pub(super) async fn auto(shared: &Arc<Shared>) -> Result<PurgeReport, RelayError> {
    let _purging = shared.purge_lock.lock().await;
    let cfg = shared.cfg.purge.clone();
    let needed = shared.needed_floor();
    let disk_free = Arc::clone(&shared.cfg.disk_free);
    let report = shared
        .blocking(move |s, src| {
            let mut total = PurgeReport::default();
            let mut add = |r: PurgeReport| {
                total.count += r.count;
                total.bytes += r.bytes;
                if r.purged_to.is_some() {
                    total.purged_to = r.purged_to;
                }
            };
            if cfg.expires > 0 {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                add(s.purge_expired(src, now, cfg.expires.unsigned_abs(), needed.as_ref())?);
            }
            if cfg.remain_space > 0 {
                let want = cfg.remain_space.unsigned_abs().saturating_mul(1 << 30);
                match disk_free(s.path()) {
                    Ok(free) if free < want => {
                        add(s.purge_bytes(src, want - free, needed.as_ref())?);
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(
                        source = src,
                        dir = %s.path().display(),
                        error = %e,
                        "cannot read the free space of the data dir; remain-space purge skipped"
                    ),
                }
            }
            Ok(total)
        })
        .await
        .map_err(|e| shared.store_err(e))?;
    if report.count > 0 {
        publish_floor(shared).await?;
    }
    Ok(report)
}

/// `purge-relay --filename <file>`.
pub(super) async fn before_file(
    shared: &Arc<Shared>,
    file: &str,
) -> Result<ManualPurge, RelayError> {
    let _purging = shared.purge_lock.lock().await;
    let needed = shared.needed_floor();
    let n = needed.clone();
    let f = file.to_string();
    let report = shared
        .blocking(move |s, src| s.purge_before_file(src, &f, n.as_ref()))
        .await
        .map_err(|e| shared.store_err(e))?;
    let floor = publish_floor(shared).await?;
    tracing::info!(
        source = %shared.source_id,
        before = file,
        events = report.count,
        needed = ?needed.as_ref().map(|p| p.to_string()),
        "purge-relay"
    );
    Ok(ManualPurge {
        report,
        needed,
        floor,
    })
}

/// Publishes the relay floor after a purge; returns it.
async fn publish_floor(shared: &Arc<Shared>) -> Result<Option<BinlogPosition>, RelayError> {
    let stats = shared
        .blocking(|s, src| s.stats(src))
        .await
        .map_err(|e| shared.store_err(e))?;
    let floor = stats.floor.clone();
    shared.publish(|p| p.floor = stats.floor);
    Ok(floor)
}
