//! Task errors, classified as DESIGN.md §4.6 asks: transient ones restart the pipeline from its
//! checkpoint; definite ones pause the task with a message that names what to fix.
//!
//! Each error knows its [`ErrorClass`] ([`TaskError::class`]); what happens next, and what
//! `query-status` tells the operator, is decided by the one table in [`policy`]
//! ([`policy::policy`]).

pub mod policy;

use ferry_relay::StoreError;

pub use self::policy::{Action, Component, ErrorClass, Policy};
use crate::reader::ReaderError;

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
    /// A stage of the pipeline panicked (a bug): the pipeline stopped as a unit.
    #[error("the {stage} stage failed unexpectedly: {message}")]
    StagePanicked {
        /// Which stage (`reader`, `writer-2`, `sync`, ...).
        stage: String,
        /// The panic's message.
        message: String,
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
    /// Reading the binlog (from the upstream or the relay log) failed; the reader's error is
    /// kept whole so that its class decides. The message of a purged binlog names the fix.
    #[error("{}", read_message(.source))]
    Read {
        /// The reader's error.
        #[source]
        source: Box<ReaderError>,
    },
}

/// The message of [`TaskError::Read`]: the reader's, followed by the table's workaround when
/// the binlog is gone (the operator sees it in the message too, not only in `Workaround`).
fn read_message(e: &ReaderError) -> String {
    match e.class() {
        ErrorClass::BinlogPurged => format!(
            "{e}. {}",
            ErrorClass::BinlogPurged.policy(Component::Sync).workaround
        ),
        _ => e.to_string(),
    }
}

impl TaskError {
    /// Reading the binlog failed with `e` (see [`TaskError::Read`]).
    pub fn read(e: ReaderError) -> Self {
        TaskError::Read {
            source: Box::new(e),
        }
    }

    /// What kind of failure this is (see [`policy::policy`]).
    pub fn class(&self) -> ErrorClass {
        match self {
            TaskError::Connect { source, .. } | TaskError::Sql { source, .. } => {
                policy::driver_class(source)
            }
            TaskError::NoPosition { .. } => ErrorClass::Prerequisite,
            TaskError::Config(_) => ErrorClass::Config,
            TaskError::LoadWarnings { .. } => ErrorClass::Data,
            TaskError::Binlog {
                transient: true, ..
            } => ErrorClass::Interrupted,
            TaskError::Binlog {
                transient: false, ..
            } => ErrorClass::BinlogCorrupt,
            TaskError::Blocked(_) => ErrorClass::Blocked,
            TaskError::Store(_) => ErrorClass::Store,
            TaskError::Cancelled => ErrorClass::Cancelled,
            TaskError::StagePanicked { .. } => ErrorClass::Panic,
            TaskError::Read { source } => source.class(),
        }
    }

    /// What the runner does after this error (the table's action for its class).
    pub fn action(&self) -> Action {
        self.class().action()
    }

    /// True when retrying from the checkpoint may succeed (network trouble, server restart,
    /// deadlock, lock wait timeout): the table's action for the class is [`Action::Retry`].
    pub fn is_transient(&self) -> bool {
        self.action() == Action::Retry
    }
}

#[cfg(test)]
mod tests {
    use ferry_model::BinlogPosition;

    use super::*;

    fn server(code: u16) -> mysql_async::Error {
        mysql_async::Error::Server(mysql_async::ServerError {
            code,
            message: format!("error {code}"),
            state: "HY000".into(),
        })
    }

    fn sql(source: mysql_async::Error) -> TaskError {
        TaskError::Sql {
            side: Side::Downstream,
            addr: "db:4000".into(),
            what: "applying a batch".into(),
            source,
        }
    }

    fn stream(source: mysql_async::Error) -> ReaderError {
        ReaderError::Stream {
            addr: "up:3306".into(),
            pos: BinlogPosition {
                name: "mysql-bin.001236".into(),
                pos: 1236,
            },
            source: Box::new(source),
        }
    }

    #[test]
    fn driver_failures_and_retryable_server_codes_are_retried() {
        let io = mysql_async::Error::Io(mysql_async::IoError::Io(std::io::Error::from(
            std::io::ErrorKind::BrokenPipe,
        )));
        let connect = TaskError::Connect {
            side: Side::Upstream,
            addr: "up:3306".into(),
            source: io,
        };
        assert_eq!(connect.action(), Action::Retry);
        let closed = sql(mysql_async::Error::Driver(
            mysql_async::DriverError::ConnectionClosed,
        ));
        assert!(closed.is_transient());
        for code in [1213, 1205, 1053, 1927, 1040, 2006, 2013, 1290, 1317] {
            assert_eq!(sql(server(code)).action(), Action::Retry, "{code}");
            assert_eq!(stream(server(code)).action(), Action::Retry, "{code}");
        }
        for code in [1146, 1054, 1062] {
            let e = sql(server(code));
            assert_eq!(e.action(), Action::Pause, "{code}");
            assert!(!e.is_transient(), "{code}");
        }
    }

    #[test]
    fn each_variant_has_its_class() {
        let cases = [
            (TaskError::Config("bad route".into()), ErrorClass::Config),
            (
                TaskError::Blocked("DDL rejected".into()),
                ErrorClass::Blocked,
            ),
            (
                TaskError::NoPosition {
                    addr: "up:3306".into(),
                    reason: "log_bin=OFF".into(),
                },
                ErrorClass::Prerequisite,
            ),
            (
                TaskError::LoadWarnings {
                    addr: "db:4000".into(),
                    what: "t chunk 1".into(),
                    count: 1,
                    detail: "truncated".into(),
                },
                ErrorClass::Data,
            ),
            (
                TaskError::Binlog {
                    message: "stream ended".into(),
                    transient: true,
                },
                ErrorClass::Interrupted,
            ),
            (
                TaskError::Binlog {
                    message: "bad event".into(),
                    transient: false,
                },
                ErrorClass::BinlogCorrupt,
            ),
            (TaskError::Cancelled, ErrorClass::Cancelled),
            (
                TaskError::read(stream(server(1236))),
                ErrorClass::BinlogPurged,
            ),
            (
                TaskError::read(ReaderError::relay(
                    "s1",
                    "restarting",
                    ErrorClass::Interrupted,
                )),
                ErrorClass::Interrupted,
            ),
            (
                TaskError::read(ReaderError::Setup(Box::new(sql(server(1045))))),
                ErrorClass::Prerequisite,
            ),
        ];
        for (e, class) in cases {
            assert_eq!(e.class(), class, "{e}");
        }
        assert_eq!(TaskError::Cancelled.action(), Action::Stop);
    }

    #[test]
    fn config_and_blocked_pause_with_the_workaround() {
        for e in [
            TaskError::Config("bad route".into()),
            TaskError::Blocked("DDL rejected".into()),
        ] {
            let p = e.class().policy(Component::Sync);
            assert_eq!(p.action, Action::Pause);
            assert!(p.workaround.contains("`resume-task`"), "{}", p.workaround);
            assert!(p.workaround.contains("`binlog skip`"), "{}", p.workaround);
        }
    }

    #[test]
    fn a_purged_binlog_names_the_fix_in_the_message_and_nothing_else_does() {
        let purged = TaskError::read(stream(server(1236)));
        let text = purged.to_string();
        assert!(text.contains("error 1236"), "{text}");
        assert!(text.contains("enable-relay: true"), "{text}");
        assert!(text.contains("--remove-meta"), "{text}");
        assert!(!purged.is_transient());
        // A position that merely contains "1236" is not a purge (the old text match was).
        let lost = TaskError::read(stream(server(2013)));
        let text = lost.to_string();
        assert!(text.contains("mysql-bin.001236"), "{text}");
        assert!(!text.contains("enable-relay"), "{text}");
        assert!(lost.is_transient());
    }
}
