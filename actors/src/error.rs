//! Task errors, classified as DESIGN.md §4.6 asks: transient ones restart the pipeline from its
//! checkpoint; definite ones pause the task with a message that names what to fix.

use ferry_relay::StoreError;

/// Which side of the migration an error comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The source database.
    Upstream,
    /// The target database.
    Downstream,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Upstream => "upstream",
            Side::Downstream => "downstream",
        })
    }
}

/// Everything that can stop a task.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// Could not connect or log in.
    #[error("cannot connect to the {side} {addr}: {source}")]
    Connect {
        /// Which database.
        side: Side,
        /// `host:port`.
        addr: String,
        /// Driver error.
        #[source]
        source: mysql_async::Error,
    },
    /// A statement failed.
    #[error("{side} {addr}: {what}: {source}")]
    Sql {
        /// Which database.
        side: Side,
        /// `host:port`.
        addr: String,
        /// What we were doing (names the table / chunk / statement).
        what: String,
        /// Driver error.
        #[source]
        source: mysql_async::Error,
    },
    /// The upstream binlog position cannot be read: the full phase must not start without it.
    #[error("cannot read the upstream binlog position from {addr}: {reason}")]
    NoPosition {
        /// `host:port`.
        addr: String,
        /// Why.
        reason: String,
    },
    /// The configuration asks for something that cannot be done.
    #[error("{0}")]
    Config(String),
    /// Loading a chunk produced warnings: data would not be identical, so nothing is committed.
    #[error(
        "downstream {addr}: loading {what} produced {count} warning(s), rolled back: {detail}"
    )]
    LoadWarnings {
        /// `host:port`.
        addr: String,
        /// Table and chunk.
        what: String,
        /// Number of warnings.
        count: u16,
        /// The first warnings' text.
        detail: String,
    },
    /// Reading or interpreting the upstream binlog failed.
    #[error("{message}")]
    Binlog {
        /// What happened, with the position.
        message: String,
        /// Reconnecting and reading again from the checkpoint may succeed.
        transient: bool,
    },
    /// Replication cannot go on past a binlog event until an operator decides (a DDL the
    /// target rejects, a filter rule with `action: Error`, a schema mismatch).
    #[error("{0}")]
    Blocked(String),
    /// The local state store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The task was stopped while working.
    #[error("task was stopped")]
    Cancelled,
}

impl TaskError {
    /// True when retrying from the checkpoint may succeed (network trouble, server restart,
    /// deadlock, lock wait timeout).
    pub fn is_transient(&self) -> bool {
        let driver = match self {
            TaskError::Binlog { transient, .. } => return *transient,
            TaskError::Connect { source, .. } | TaskError::Sql { source, .. } => source,
            _ => return false,
        };
        match driver {
            mysql_async::Error::Io(_) => true,
            mysql_async::Error::Driver(d) => matches!(
                d,
                mysql_async::DriverError::ConnectionClosed
                    | mysql_async::DriverError::PoolDisconnected
            ),
            mysql_async::Error::Server(s) => matches!(
                s.code,
                // deadlock, lock wait timeout, server shutdown, connection killed, too many conns,
                // server gone away, lost connection, read-only (failover in progress)
                1213 | 1205 | 1053 | 1927 | 1040 | 2006 | 2013 | 1290 | 1317
            ),
            _ => false,
        }
    }
}
