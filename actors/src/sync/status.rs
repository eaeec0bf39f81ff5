//! Live state of a subtask's Sync unit, shown by `query-status` in DM's `sync` shape.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;

use ferry_model::Location;

use super::point::SyncPoint;
use crate::dm_status::SyncStatusView;
use crate::metrics::syncer::{binlog_bytes_between, Remaining};

/// Shared between the syncer (writes) and status queries (reads).
#[derive(Debug, Default)]
pub struct SyncStatus {
    inner: Mutex<State>,
    /// Asks the poller to read the upstream's position now.
    refresh: Notify,
    /// Wakes those waiting for a read of the upstream's position.
    read_done: Notify,
}

#[derive(Debug, Default)]
struct State {
    master: Option<Location>,
    /// When the last read of the upstream's position (successful or not) began.
    master_read_at: Option<Instant>,
    syncer: Option<SyncPoint>,
    /// Timestamp of the oldest received event not yet applied.
    pending_ts: Option<u32>,
    total_rows: u64,
    recent: Option<(Instant, u64)>,
    recent_rps: u64,
    started: Option<Instant>,
    blocking_ddl: Option<String>,
    safe_mode: bool,
    /// The upstream's binlog files and their sizes (`SHOW BINARY LOGS`, read now and then).
    binlog_files: Vec<(String, u64)>,
    /// The remaining-time estimate (`dm_syncer_remaining_time`).
    remaining: Remaining,
    /// The reader reads the source's relay log (DM's `binlogType: local`), not the upstream.
    reads_relay: bool,
}

impl SyncStatus {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Where the reader reads: the source's relay log (`true`) or the upstream.
    pub fn set_reads_relay(&self, relay: bool) {
        self.lock().reads_relay = relay;
    }

    /// The upstream's position, read by a read that began at `began`.
    pub fn set_master(&self, loc: Location, began: Instant) {
        {
            let mut s = self.lock();
            s.master = Some(loc);
            s.master_read_at = Some(began);
        }
        self.read_done.notify_waiters();
    }

    /// A read of the upstream's position begun at `began` failed: whoever waits for a read
    /// stops waiting (the position shown stays the last one read).
    pub fn master_unread(&self, began: Instant) {
        self.lock().master_read_at = Some(began);
        self.read_done.notify_waiters();
    }

    /// Waits until the poller is asked to read the upstream's position (or `every` passed).
    pub async fn next_master_read(&self, every: Duration) {
        let _ = tokio::time::timeout(every, self.refresh.notified()).await;
    }

    /// Has the upstream's position read now (by the poller) and waits up to `within` for
    /// that read to end; false when none began after this call and ended within that time.
    /// A failed read ends the wait too: the position shown is then an older one, and
    /// `synced` compares with it.
    pub async fn refresh_master(&self, within: Duration) -> bool {
        let asked = Instant::now();
        self.refresh.notify_one();
        let fresh = async {
            loop {
                let done = self.read_done.notified();
                tokio::pin!(done);
                done.as_mut().enable();
                if self.lock().master_read_at.is_some_and(|t| t >= asked) {
                    return;
                }
                done.await;
            }
        };
        tokio::time::timeout(within, fresh).await.is_ok()
    }

    /// A batch (or DDL) ending at `point`, with `rows` changes and the timestamp of its last
    /// event, is committed downstream.
    pub fn applied(&self, point: &SyncPoint, rows: u64) {
        let mut s = self.lock();
        s.syncer = Some(point.clone());
        s.total_rows += rows;
        let now = Instant::now();
        s.started.get_or_insert(now);
        match s.recent {
            Some((t, n)) if now.duration_since(t).as_secs_f64() >= 5.0 => {
                let secs = now.duration_since(t).as_secs_f64();
                s.recent_rps = ((s.total_rows - n) as f64 / secs) as u64;
                s.recent = Some((now, s.total_rows));
            }
            None => s.recent = Some((now, s.total_rows)),
            _ => {}
        }
    }

    /// Where the syncer stands (after a restart, before any new batch).
    pub fn set_syncer(&self, point: &SyncPoint) {
        self.lock().syncer = Some(point.clone());
    }

    /// Timestamp of the oldest received event not yet applied (`None`: all applied).
    pub fn set_pending(&self, ts: Option<u32>) {
        self.lock().pending_ts = ts;
    }

    /// The DDL the syncer is blocked on, if any.
    pub fn set_blocking_ddl(&self, ddl: Option<String>) {
        self.lock().blocking_ddl = ddl;
    }

    /// Safe mode on or off.
    pub fn set_safe_mode(&self, on: bool) {
        self.lock().safe_mode = on;
    }

    /// The upstream's binlog files and their sizes.
    pub fn set_binlog_files(&self, files: Vec<(String, u64)>) {
        self.lock().binlog_files = files;
    }

    /// Seconds the syncer needs to reach the upstream's position at the rate it went through
    /// the binlog since the last call (DM's remaining time); `None` while not known.
    pub fn remaining_seconds(&self) -> Option<f64> {
        let mut guard = self.lock();
        let s = &mut *guard;
        let (Some(m), Some(p)) = (&s.master, &s.syncer) else {
            return None;
        };
        let behind = binlog_bytes_between(&s.binlog_files, &p.pos, &m.binlog)?;
        s.remaining
            .update(Instant::now(), &p.pos, behind, &s.binlog_files)
    }

    /// The upstream's position (as last read) and the syncer's.
    pub fn positions(
        &self,
    ) -> (
        Option<ferry_model::BinlogPosition>,
        Option<ferry_model::BinlogPosition>,
    ) {
        let s = self.lock();
        (
            s.master.as_ref().map(|m| m.binlog.clone()),
            s.syncer.as_ref().map(|p| p.pos.clone()),
        )
    }

    /// The syncer's point.
    pub fn syncer(&self) -> Option<SyncPoint> {
        self.lock().syncer.clone()
    }

    /// Seconds behind the upstream: the age of the oldest event received and not yet applied
    /// (0 when everything received is applied).
    pub fn seconds_behind(&self) -> u64 {
        let s = self.lock();
        seconds_behind(&s)
    }

    /// DM's `sync` object.
    pub fn view(&self) -> SyncStatusView {
        let s = self.lock();
        let loc = |l: Option<&Location>| -> (String, String) {
            match l {
                Some(l) => (
                    l.binlog.to_string(),
                    l.gtid.as_ref().map(|g| g.to_string()).unwrap_or_default(),
                ),
                None => (String::new(), String::new()),
            }
        };
        let (master, master_gtid) = loc(s.master.as_ref());
        let syncer_loc = s.syncer.as_ref().map(SyncPoint::location);
        let (syncer, syncer_gtid) = loc(syncer_loc.as_ref());
        // Everything up to the upstream's position (as last read: `query-status` has it read
        // first) is applied.
        let synced = match (&s.master, &s.syncer) {
            (Some(m), Some(p)) => p.pos >= m.binlog && p.skip_rows == 0 && s.pending_ts.is_none(),
            _ => false,
        };
        let total_rps = match s.started {
            Some(t) if t.elapsed().as_secs() > 0 => s.total_rows / t.elapsed().as_secs(),
            _ => 0,
        };
        SyncStatusView {
            master_binlog: master,
            master_binlog_gtid: master_gtid,
            syncer_binlog: syncer,
            syncer_binlog_gtid: syncer_gtid,
            blocking_ddls: s.blocking_ddl.iter().cloned().collect(),
            unresolved_groups: Vec::new(),
            synced,
            binlog_type: if s.reads_relay { "local" } else { "remote" }.to_string(),
            seconds_behind_master: seconds_behind(&s).to_string(),
            block_ddl_owner: String::new(),
            conflict_msg: String::new(),
            total_rows: s.total_rows.to_string(),
            total_rps: total_rps.to_string(),
            recent_rps: s.recent_rps.to_string(),
            safe_mode: s.safe_mode,
        }
    }
}

fn seconds_behind(s: &State) -> u64 {
    let Some(ts) = s.pending_ts.filter(|&t| t > 0) else {
        return 0;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    now.saturating_sub(u64::from(ts))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ferry_model::BinlogPosition;

    use super::*;

    fn loc(pos: u64) -> Location {
        Location {
            binlog: BinlogPosition::new("bin.000001", pos).unwrap(),
            gtid: None,
        }
    }

    #[tokio::test]
    async fn a_refresh_waits_for_a_read_that_began_after_it() {
        let status = Arc::new(SyncStatus::default());
        // No poller: the refresh gives up after its time.
        assert!(!status.refresh_master(Duration::from_millis(50)).await);
        // A stale read (begun before the ask) does not count.
        let stale = Instant::now();
        let poller = {
            let status = status.clone();
            tokio::spawn(async move {
                let mut pos = 100;
                loop {
                    status.next_master_read(Duration::from_secs(60)).await;
                    pos += 100;
                    status.set_master(loc(pos), Instant::now());
                }
            })
        };
        status.set_master(loc(50), stale);
        assert!(status.refresh_master(Duration::from_secs(10)).await);
        assert_eq!(status.view().master_binlog, "(bin.000001, 200)");
        assert!(status.refresh_master(Duration::from_secs(10)).await);
        assert_eq!(status.view().master_binlog, "(bin.000001, 300)");
        poller.abort();
    }

    #[tokio::test]
    async fn a_failed_read_ends_the_wait_and_keeps_the_last_position() {
        let status = Arc::new(SyncStatus::default());
        status.set_master(loc(100), Instant::now());
        let poller = {
            let status = status.clone();
            tokio::spawn(async move {
                loop {
                    status.next_master_read(Duration::from_secs(60)).await;
                    status.master_unread(Instant::now());
                }
            })
        };
        let asked = Instant::now();
        assert!(status.refresh_master(Duration::from_secs(30)).await);
        assert!(
            asked.elapsed() < Duration::from_secs(10),
            "not held to the timeout"
        );
        assert_eq!(status.view().master_binlog, "(bin.000001, 100)");
        poller.abort();
    }

    #[test]
    fn synced_means_applied_up_to_the_upstream_position_with_nothing_pending() {
        let s = SyncStatus::default();
        s.set_master(loc(300), Instant::now());
        s.set_syncer(&SyncPoint::at(loc(200)));
        assert!(!s.view().synced, "behind");
        s.set_syncer(&SyncPoint::at(loc(300)));
        assert!(s.view().synced);
        s.set_pending(Some(1));
        assert!(!s.view().synced, "an event received and not applied");
        s.set_pending(None);
        s.set_syncer(&SyncPoint::at(loc(400)));
        assert!(s.view().synced, "past the position read");
    }
}
