//! Live state of a subtask's Sync unit, shown by `query-status` in DM's `sync` shape.

use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use ferry_model::Location;

use super::point::SyncPoint;
use crate::dm_status::SyncStatusView;

/// Shared between the syncer (writes) and status queries (reads).
#[derive(Debug, Default)]
pub struct SyncStatus {
    inner: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    master: Option<Location>,
    syncer: Option<SyncPoint>,
    /// Timestamp of the oldest received event not yet applied.
    pending_ts: Option<u32>,
    total_rows: u64,
    recent: Option<(Instant, u64)>,
    recent_rps: u64,
    started: Option<Instant>,
    blocking_ddl: Option<String>,
    safe_mode: bool,
}

impl SyncStatus {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The upstream's current position.
    pub fn set_master(&self, loc: Location) {
        self.lock().master = Some(loc);
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
        let synced = match (&s.master, &s.syncer) {
            (Some(m), Some(p)) => m.binlog == p.pos && p.skip_rows == 0,
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
            binlog_type: "remote".to_string(),
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
