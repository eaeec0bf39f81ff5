//! DM's `relayStatus`: the upstream's current position, refreshed in the background, and the
//! status object of [`RelayService::relay_status`] (as JSON: [`RelayService::status`]).

use std::sync::Arc;
use std::time::Duration;

use ferry_model::Stage;
use mysql_async::prelude::Queryable;
use serde_json::Value;
use tokio::sync::watch;

use super::{lock, RelayService, Shared, WriterState};
use crate::db::{read_position, Flavor, ServerInfo};
use crate::dm_status::{ProcessResult, RelayStatus};
use crate::error::{policy, Action, Component};

impl RelayService {
    /// DM's `relayStatus`: `masterBinlog`, `masterBinlogGtid`, `relaySubDir`, `relayBinlog`,
    /// `relayBinlogGtid`, `relayCatchUpMaster`, `stage`, `result`.
    pub fn relay_status(&self) -> RelayStatus {
        let progress = self.shared.progress.borrow().clone();
        let st = lock(&self.shared.status);
        let master = st.master.as_ref();
        let relay = progress.relay_pos.as_ref();
        let catch_up = match (master, relay) {
            (Some(m), Some(r)) => *r >= m.binlog,
            _ => false,
        };
        let stage = match (&progress.writer, st.stage) {
            (WriterState::Stopped, _) => Stage::Stopped,
            (WriterState::Failed(_), _) => Stage::Paused,
            (_, Some(s)) => s,
            (_, None) => Stage::New,
        };
        let result = st.error.as_ref().map(|(msg, retrying)| {
            // The relay's status keeps only whether the writer retries: the table's row for
            // that action gives the code and the workaround.
            let action = if *retrying {
                Action::Retry
            } else {
                Action::Pause
            };
            let policy = policy::unclassified(action, Component::Relay);
            ProcessResult::error(msg.clone(), &policy, Component::Relay)
        });
        RelayStatus {
            master_binlog: master.map(|m| m.binlog.to_string()).unwrap_or_default(),
            master_binlog_gtid: master
                .and_then(|m| m.gtid.as_ref())
                .map(|g| g.to_string())
                .unwrap_or_default(),
            relay_sub_dir: st
                .server_uuid
                .as_ref()
                .map(|u| format!("{u}.000001"))
                .unwrap_or_default(),
            relay_binlog: relay.map(|r| r.to_string()).unwrap_or_default(),
            relay_binlog_gtid: st.relay_gtid.clone().unwrap_or_default(),
            relay_catch_up_master: catch_up,
            stage,
            result,
        }
    }

    /// [`RelayService::relay_status`] as a JSON value.
    pub fn status(&self) -> Value {
        // Only strings, booleans and unit variants: serializing cannot fail.
        serde_json::to_value(self.relay_status()).unwrap_or(Value::Null)
    }
}

/// Refreshes the upstream's current position (`masterBinlog`) until shut down.
pub(super) async fn status_loop(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let mut conn: Option<(mysql_async::Conn, ServerInfo)> = None;
    let mut uuid: Option<String> = None;
    let mut tick =
        tokio::time::interval(shared.cfg.status_interval.max(Duration::from_millis(100)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => break,
        }
        if *shutdown.borrow() {
            break;
        }
        shared.metrics.space(shared.store.path());
        let ep = &shared.ep;
        if conn.is_none() {
            match ep.connect(vec![]).await {
                Ok(mut c) => match ServerInfo::detect(&mut c, ep).await {
                    Ok(info) => conn = Some((c, info)),
                    Err(e) => {
                        tracing::debug!(source = %shared.source_id, error = %e, "relay status")
                    }
                },
                Err(e) => tracing::debug!(source = %shared.source_id, error = %e, "relay status"),
            }
        }
        let Some((c, info)) = conn.as_mut() else {
            continue;
        };
        if uuid.is_none() {
            let q = match info.flavor {
                Flavor::Mariadb => "SELECT CONCAT(@@gtid_domain_id, '-', @@server_id)",
                _ => "SELECT @@server_uuid",
            };
            uuid = c.query_first::<String, _>(q).await.ok().flatten();
        }
        match read_position(c, info, ep).await {
            Ok(loc) => {
                shared.metrics.master_at(&loc.binlog);
                if let Some(u) = &uuid {
                    shared
                        .metrics
                        .sub_dir(&format!("{}:{}", ep.host, ep.port), u);
                }
                shared.set_master(loc, uuid.clone())
            }
            Err(e) => {
                tracing::debug!(source = %shared.source_id, error = %e, "relay status");
                conn = None;
            }
        }
    }
    if let Some((c, _)) = conn {
        let _ = c.disconnect().await;
    }
}
