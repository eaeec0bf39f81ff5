//! `conn_number`: DM's `dumper_conn_number_checker` (upstream) and
//! `loader_conn_number_checker` (downstream) — the connections a task opens against each
//! server's `max_connections` and what is already in use.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use super::{grants, CheckItem, State};
use crate::db::Endpoint;
use crate::subtask::Subtask;

/// DM's description of both checkers.
const DESC: &str = "check if connetion concurrency exceeds database's maximum connection limit";
/// DM's instruction.
const INSTRUCTION: &str = "You need to set a larger max_connection, or adjust the configuration of DM \
     such as reducing the worker count of sycner and reducing the pool size of the dumper and loader.";

/// Connections the full phase opens on the upstream: DM's `threads + 2` (one to plan, one
/// for consistency control).
pub fn upstream_needed(sub: &Subtask) -> u64 {
    sub.bulk.threads as u64 + 2
}

/// Connections the task opens on the downstream: per subtask, the load (`pool-size` + 1 for
/// its checkpoint, DM's loader formula) or the sync (`worker-count` + 2: writers, progress
/// and DDL; DM's syncer formula), whichever its mode uses more of, since one subtask's
/// phases run one after the other while subtasks run side by side.
pub fn downstream_needed(subs: &[Subtask]) -> u64 {
    subs.iter()
        .map(|s| {
            let load = if s.mode.has_full() {
                s.bulk.pool_size as u64 + 1
            } else {
                0
            };
            let sync = if s.mode.has_sync() {
                s.sync.worker_count as u64 + 2
            } else {
                0
            };
            load.max(sync)
        })
        .sum()
}

/// The verdict from the numbers (pure): fail when the server can never open that many, warn
/// when it cannot now (`used` is `None` when it could not be counted).
pub fn verdict(max: u64, used: Option<u64>, needed: u64, who: &str) -> (State, Option<String>) {
    if max == 0 {
        // TiDB: unlimited.
        return (State::Success, None);
    }
    if needed > max {
        return (
            State::Fail,
            Some(format!(
                "checked database's max_connections: {max} is less than the number {who} needs: {needed}"
            )),
        );
    }
    let used = used.unwrap_or(0);
    if max.saturating_sub(used) < needed {
        return (
            State::Warn,
            Some(format!(
                "database's max_connections: {max}, used_connections: {used}, available_connections: {} is less than {who} needs: {needed}",
                max.saturating_sub(used)
            )),
        );
    }
    (State::Success, None)
}

/// Runs the check against `conn` (`ep`), for `needed` connections of `who`.
pub async fn check(
    conn: &mut Conn,
    ep: &Endpoint,
    needed: u64,
    who: &str,
    side: &str,
) -> CheckItem {
    let mut item = CheckItem::new("conn_number", format!("{DESC} ({side} {})", ep.addr()))
        .with_extra(format!("address of db instance - {}", ep.addr()));
    let max: Result<Option<(String, u64)>, _> = conn
        .query_first("SHOW GLOBAL VARIABLES LIKE 'max_connections'")
        .await;
    let max = match max {
        Ok(Some((_, m))) => m,
        Ok(None) => return item.fail(format!("{}: max_connections is not set", ep.addr()), ""),
        Err(e) => return item.fail(format!("{}: reading max_connections: {e}", ep.addr()), ""),
    };
    // Counting the connections in use needs PROCESS (else SHOW PROCESSLIST lists only the
    // user's own); without it DM warns and counts none.
    let mut used = None;
    let can_count = match grants(conn, ep).await {
        Ok(g) => g.has_global("PROCESS") || g.has_global("SUPER"),
        Err(_) => false,
    };
    if can_count {
        match conn.query::<mysql_async::Row, _>("SHOW PROCESSLIST").await {
            // This connection is not one the task will hold.
            Ok(rows) => used = Some((rows.len() as u64).saturating_sub(1)),
            Err(e) => return item.fail(format!("{}: SHOW PROCESSLIST: {e}", ep.addr()), ""),
        }
    } else {
        item.state = State::Warn;
        item.errors.push(format!(
            "lack of PROCESS global (*.*) privilege on {}: the connections in use are not counted",
            ep.addr()
        ));
        item.instruction = "GRANT PROCESS ON *.* TO the user".to_string();
    }
    let (state, msg) = verdict(max, used, needed, who);
    if let Some(msg) = msg {
        if state == State::Fail || item.state != State::Fail {
            item.state = state;
        }
        item.errors.push(msg);
        item.instruction = INSTRUCTION.to_string();
    }
    item
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fails_over_the_limit_warns_over_what_is_free() {
        assert_eq!(verdict(100, Some(10), 20, "dumper"), (State::Success, None));
        let (s, m) = verdict(10, Some(0), 19, "loader");
        assert_eq!(s, State::Fail);
        assert_eq!(
            m.unwrap(),
            "checked database's max_connections: 10 is less than the number loader needs: 19"
        );
        let (s, m) = verdict(30, Some(20), 19, "loader");
        assert_eq!(s, State::Warn);
        assert_eq!(
            m.unwrap(),
            "database's max_connections: 30, used_connections: 20, available_connections: 10 is less than loader needs: 19"
        );
        // Uncounted use: only the limit itself.
        assert_eq!(verdict(30, None, 19, "x"), (State::Success, None));
        // TiDB's 0 means unlimited.
        assert_eq!(verdict(0, Some(5), 1000, "x"), (State::Success, None));
    }
}
