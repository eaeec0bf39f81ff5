//! What happens after an error: the one table of DESIGN.md §4.6.
//!
//! Errors are classified where they are made ([`TaskError::class`](super::TaskError::class),
//! [`ReaderError::class`](crate::reader::ReaderError::class), [`server_class`] for server
//! error codes); [`policy`] maps each [`ErrorClass`] to what every runner does with it (the
//! task actor, the binlog reader's reconnection loop, the relay writer) and to the
//! `Workaround` text and DM error code that `query-status` shows. No other place decides
//! whether an error is retried.

/// What kind of failure an error is. The first group is transient (retrying from the last
/// checkpoint may succeed), the second definite (an operator has to act).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The connection could not be made or was lost: I/O errors, a closed connection, a
    /// silent connection, "server has gone away" (2006), "lost connection" (2013), network
    /// read/write errors (1158–1161).
    Network,
    /// The server is shutting down or restarting, or killed the connection or the statement
    /// (1053, 1927, 1317).
    ServerRestart,
    /// The server refuses work for now: too many connections (1040), TiDB's PD/TiKV timeouts,
    /// busy TiKV, unavailable region (9001–9003, 9005).
    ServerBusy,
    /// The transaction lost a conflict: deadlock (1213), TiDB write conflicts (8002, 8005,
    /// 9007), schema changed during the transaction (8028).
    Conflict,
    /// A lock wait timed out (1205, TiDB's 9004).
    LockWait,
    /// The server is read-only, as during a failover (1290).
    ReadOnly,
    /// A stream or a run was cut short and can go on from the checkpoint: the upstream ended
    /// the binlog stream, the relay log is restarting, the full phase has to start again.
    Interrupted,
    /// A transient error that did not go away within the retry budget.
    Persistent,
    /// The configuration asks for something that cannot be done (including a binlog backend
    /// that cannot serve the source).
    Config,
    /// The upstream lacks a prerequisite: a privilege (1044, 1045, 1142, 1143, 1227), the
    /// binary log (1381), a readable binlog position.
    Prerequisite,
    /// A table, column or key is not as the statement expects (1049, 1050, 1051, 1054, 1060,
    /// 1061, 1068, 1072, 1091, 1136, 1146, 1176).
    Schema,
    /// The target refuses the data: duplicate key (1062), NULL, range, truncation, bad value,
    /// foreign key (1048, 1264, 1265, 1292, 1364, 1366, 1406, 1451, 1452, 1690), warnings
    /// while loading a chunk.
    Data,
    /// Replication is blocked at a binlog event until an operator decides (a DDL the target
    /// rejects, a filter rule with `action: Error`, a schema mismatch).
    Blocked,
    /// The binlog the task needs is gone: purged upstream (1236) and not in the relay log.
    BinlogPurged,
    /// The binlog cannot be followed as it is: checksum mismatch, an undecodable event, a
    /// relay log entry that does not decode.
    BinlogCorrupt,
    /// The local state store failed.
    Store,
    /// The work was stopped on purpose.
    Cancelled,
    /// A stage of the pipeline panicked (a bug in Ferry): the pipeline stops as a unit and
    /// is started again from the checkpoint.
    Panic,
    /// Any other definite failure (server errors not listed above, driver misuse).
    Other,
}

/// What a runner does after an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Start again from the last checkpoint, with backoff.
    Retry,
    /// Stop retrying and show the error until an operator resumes (the relay writer, which
    /// has no operator command to wait for, tries again rarely).
    Pause,
    /// End without retrying: nothing failed that needs fixing (the task was stopped).
    Stop,
}

/// Which runner shows the error: the `Workaround` text and the default DM code depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// The full phase (DM's Dump and Load units).
    Load,
    /// Incremental replication (DM's Sync unit).
    Sync,
    /// The relay log writer of a source.
    Relay,
}

/// A DM error code and the error class DM files it under (`ErrCode`, `ErrClass`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DmCode {
    /// `ErrCode`.
    pub code: u32,
    /// `ErrClass`.
    pub class: &'static str,
}

/// DM's "database driver error" (`DM-database-10001`).
const DM_DB_DRIVER: DmCode = DmCode {
    code: 10001,
    class: "database",
};

/// DM's "execute statement failed" (`DM-database-10006`).
const DM_DB_EXECUTE: DmCode = DmCode {
    code: 10006,
    class: "database",
};

/// What to do about one class of error at one component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// What the runner does.
    pub action: Action,
    /// The `Workaround` text of `query-status`.
    pub workaround: &'static str,
    /// DM's code for this kind of error, where DM has one.
    pub dm: Option<DmCode>,
}

impl Policy {
    /// `ErrCode` and `ErrClass` for `query-status`: DM's code where it has one, else the
    /// code Ferry reports for the component (retried or not).
    pub fn code(&self, at: Component) -> DmCode {
        if let Some(dm) = self.dm {
            return dm;
        }
        let retried = self.action == Action::Retry;
        match at {
            Component::Load | Component::Sync => DmCode {
                code: if retried { 10006 } else { 34019 },
                class: if at == Component::Sync {
                    "sync-unit"
                } else {
                    "load-unit"
                },
            },
            Component::Relay => DmCode {
                code: if retried { 30001 } else { 30002 },
                class: "relay-unit",
            },
        }
    }
}

/// The operator's way out, as the table names it; [`Remedy::text`] words it per component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Remedy {
    /// Nothing to do: Ferry retries.
    Retrying,
    /// Fix what the message names, then resume.
    FixAndResume,
    /// The binlog is gone: relay log for next time, or copy everything again.
    RecoverBinlog,
    /// Nothing failed: resume when wanted.
    Resume,
    /// A bug: Ferry restarts from the checkpoint; the log tells what to report.
    Report,
}

/// Operator texts (the `Workaround` of `query-status`).
mod text {
    pub(super) const RETRYING: &str = "transient error: Ferry is retrying from the checkpoint";
    pub(super) const RELAY_RETRYING: &str =
        "transient error: the relay is reconnecting to the upstream";
    pub(super) const FIX_SYNC: &str = "fix the cause, then `resume-task` (replication resumes \
         exactly from the checkpoint); for a DDL the target rejects use `binlog skip` / \
         `binlog replace`";
    pub(super) const FIX_LOAD: &str =
        "fix the cause, then `resume-task` (committed chunks are not copied again)";
    pub(super) const FIX_RELAY: &str =
        "fix the cause; the relay retries every minute (or restart the source)";
    pub(super) const RECOVER_BINLOG: &str = "The upstream no longer has the binlog file the \
         task needs (purged?): enable the relay log on the source (enable-relay: true) before \
         binlogs expire, or start the task again with --remove-meta and task-mode: all";
    pub(super) const REPORT: &str = "internal error (a bug in Ferry): the pipeline was \
         restarted from the checkpoint; please report it with the ferryd log";
    pub(super) const RESUME: &str =
        "the task was stopped while working: `resume-task` runs it again from the checkpoint";
}

impl Remedy {
    /// The text shown at `at`.
    const fn text(self, at: Component) -> &'static str {
        use Component::{Load, Relay, Sync};
        match (self, at) {
            (Remedy::Retrying, Relay) => text::RELAY_RETRYING,
            (Remedy::Retrying, Load | Sync) => text::RETRYING,
            (Remedy::Report, _) => text::REPORT,
            (Remedy::FixAndResume | Remedy::RecoverBinlog | Remedy::Resume, Relay) => {
                text::FIX_RELAY
            }
            (Remedy::FixAndResume, Sync) => text::FIX_SYNC,
            (Remedy::FixAndResume, Load) => text::FIX_LOAD,
            (Remedy::RecoverBinlog, Load | Sync) => text::RECOVER_BINLOG,
            (Remedy::Resume, Load | Sync) => text::RESUME,
        }
    }
}

/// The table: action, remedy and DM code of each class.
const fn row(class: ErrorClass) -> (Action, Remedy, Option<DmCode>) {
    use Action::{Pause, Retry, Stop};
    use ErrorClass as C;
    match class {
        C::Network | C::ServerRestart => (Retry, Remedy::Retrying, Some(DM_DB_DRIVER)),
        C::ServerBusy | C::Conflict | C::LockWait | C::ReadOnly => {
            (Retry, Remedy::Retrying, Some(DM_DB_EXECUTE))
        }
        C::Interrupted => (Retry, Remedy::Retrying, None),
        C::Panic => (Retry, Remedy::Report, None),
        C::Schema | C::Data => (Pause, Remedy::FixAndResume, Some(DM_DB_EXECUTE)),
        C::Persistent
        | C::Config
        | C::Prerequisite
        | C::Blocked
        | C::BinlogCorrupt
        | C::Store
        | C::Other => (Pause, Remedy::FixAndResume, None),
        C::BinlogPurged => (Pause, Remedy::RecoverBinlog, None),
        C::Cancelled => (Stop, Remedy::Resume, None),
    }
}

/// What to do about an error of `class` met at `at`.
pub const fn policy(class: ErrorClass, at: Component) -> Policy {
    let (action, remedy, dm) = row(class);
    Policy {
        action,
        workaround: remedy.text(at),
        dm,
    }
}

/// The policy shown for an error whose class was not kept, only what was done about it (the
/// relay's status records whether it retries; a pause restored from the daemon's state keeps
/// only its message).
pub const fn unclassified(action: Action, at: Component) -> Policy {
    let remedy = match action {
        Action::Retry => Remedy::Retrying,
        Action::Pause | Action::Stop => Remedy::FixAndResume,
    };
    Policy {
        action,
        workaround: remedy.text(at),
        dm: None,
    }
}

impl ErrorClass {
    /// What runners do after an error of this class (the same at every component).
    pub const fn action(self) -> Action {
        row(self).0
    }

    /// What to do about an error of this class met at `at` (see [`policy`]).
    pub const fn policy(self, at: Component) -> Policy {
        policy(self, at)
    }

    /// True when retrying from the checkpoint may succeed.
    pub const fn is_transient(self) -> bool {
        matches!(self.action(), Action::Retry)
    }
}

/// The class of a MySQL / MariaDB / TiDB server error code.
pub const fn server_class(code: u16) -> ErrorClass {
    use ErrorClass as C;
    match code {
        // Server gone away, lost connection (client codes some proxies relay), network
        // read/write errors and timeouts.
        2006 | 2013 | 1158..=1161 => C::Network,
        // Server shutdown, connection killed (MariaDB), query interrupted.
        1053 | 1927 | 1317 => C::ServerRestart,
        // Too many connections; TiDB: PD timeout, TiKV timeout, TiKV busy, region unavailable.
        1040 | 9001 | 9002 | 9003 | 9005 => C::ServerBusy,
        // Deadlock; TiDB: write conflicts, schema changed during the transaction.
        1213 | 8002 | 8005 | 9007 | 8028 => C::Conflict,
        // Lock wait timeout; TiDB: resolve lock timeout.
        1205 | 9004 => C::LockWait,
        // `--read-only` (failover in progress).
        1290 => C::ReadOnly,
        // Fatal error reading the binlog: purged, or not there.
        1236 => C::BinlogPurged,
        1044 | 1045 | 1142 | 1143 | 1227 | 1381 => C::Prerequisite,
        1049 | 1050 | 1051 | 1054 | 1060 | 1061 | 1068 | 1072 | 1091 | 1136 | 1146 | 1176 => {
            C::Schema
        }
        1048 | 1062 | 1264 | 1265 | 1292 | 1364 | 1366 | 1406 | 1451 | 1452 | 1690 => C::Data,
        _ => C::Other,
    }
}

/// The class of a driver error.
pub fn driver_class(e: &mysql_async::Error) -> ErrorClass {
    match e {
        mysql_async::Error::Io(_) => ErrorClass::Network,
        mysql_async::Error::Driver(
            mysql_async::DriverError::ConnectionClosed | mysql_async::DriverError::PoolDisconnected,
        ) => ErrorClass::Network,
        mysql_async::Error::Server(s) => server_class(s.code),
        mysql_async::Error::Url(_) => ErrorClass::Config,
        _ => ErrorClass::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [ErrorClass; 19] = [
        ErrorClass::Network,
        ErrorClass::ServerRestart,
        ErrorClass::ServerBusy,
        ErrorClass::Conflict,
        ErrorClass::LockWait,
        ErrorClass::ReadOnly,
        ErrorClass::Interrupted,
        ErrorClass::Persistent,
        ErrorClass::Config,
        ErrorClass::Prerequisite,
        ErrorClass::Schema,
        ErrorClass::Data,
        ErrorClass::Blocked,
        ErrorClass::BinlogPurged,
        ErrorClass::BinlogCorrupt,
        ErrorClass::Store,
        ErrorClass::Cancelled,
        ErrorClass::Panic,
        ErrorClass::Other,
    ];
    const COMPONENTS: [Component; 3] = [Component::Load, Component::Sync, Component::Relay];

    fn intended(class: ErrorClass) -> Action {
        use ErrorClass as C;
        match class {
            C::Network
            | C::ServerRestart
            | C::ServerBusy
            | C::Conflict
            | C::LockWait
            | C::ReadOnly
            | C::Interrupted
            | C::Panic => Action::Retry,
            C::Cancelled => Action::Stop,
            C::Persistent
            | C::Config
            | C::Prerequisite
            | C::Schema
            | C::Data
            | C::Blocked
            | C::BinlogPurged
            | C::BinlogCorrupt
            | C::Store
            | C::Other => Action::Pause,
        }
    }

    #[test]
    fn each_class_maps_to_its_action_everywhere() {
        for class in ALL {
            for at in COMPONENTS {
                let p = policy(class, at);
                assert_eq!(p.action, intended(class), "{class:?} at {at:?}");
                assert_eq!(p.action, class.action(), "{class:?} at {at:?}");
                assert!(!p.workaround.is_empty(), "{class:?} at {at:?}");
            }
        }
    }

    #[test]
    fn retried_classes_say_so_and_paused_ones_name_the_fix() {
        for class in ALL {
            let sync = policy(class, Component::Sync).workaround;
            let relay = policy(class, Component::Relay).workaround;
            if class == ErrorClass::Panic {
                // Retried, but a bug to report.
                assert_eq!(sync, text::REPORT);
                assert_eq!(relay, text::REPORT);
            } else if class.is_transient() {
                assert_eq!(sync, text::RETRYING);
                assert_eq!(relay, text::RELAY_RETRYING);
            } else {
                assert!(!sync.starts_with("transient"), "{class:?}: {sync}");
                assert_eq!(relay, text::FIX_RELAY, "{class:?}");
            }
        }
    }

    #[test]
    fn config_and_blocked_pause_with_the_fix() {
        for class in [ErrorClass::Config, ErrorClass::Blocked] {
            let sync = policy(class, Component::Sync);
            assert_eq!(sync.action, Action::Pause);
            assert_eq!(
                sync.workaround,
                "fix the cause, then `resume-task` (replication resumes exactly from the \
                 checkpoint); for a DDL the target rejects use `binlog skip` / `binlog replace`"
            );
            let load = policy(class, Component::Load);
            assert_eq!(load.action, Action::Pause);
            assert_eq!(
                load.workaround,
                "fix the cause, then `resume-task` (committed chunks are not copied again)"
            );
        }
        let purged = policy(ErrorClass::BinlogPurged, Component::Sync);
        assert_eq!(purged.action, Action::Pause);
        assert!(purged.workaround.contains("enable-relay: true"));
        assert!(purged.workaround.contains("--remove-meta"));
    }

    #[test]
    fn server_codes() {
        for code in [1213, 1205, 1053, 1927, 1040, 2006, 2013, 1290, 1317] {
            assert_eq!(
                server_class(code).action(),
                Action::Retry,
                "{code} is retried"
            );
        }
        for code in [9001, 9002, 9003, 9004, 9005, 9007, 8005, 8028, 1158, 1161] {
            assert!(server_class(code).is_transient(), "{code} is retried");
        }
        for code in [1146, 1054, 1062, 1236, 1045, 1064, 1406, 1452, 0] {
            assert_eq!(server_class(code).action(), Action::Pause, "{code} pauses");
        }
        assert_eq!(server_class(1146), ErrorClass::Schema);
        assert_eq!(server_class(1054), ErrorClass::Schema);
        assert_eq!(server_class(1062), ErrorClass::Data);
        assert_eq!(server_class(1236), ErrorClass::BinlogPurged);
        assert_eq!(server_class(1045), ErrorClass::Prerequisite);
    }

    #[test]
    fn driver_errors() {
        let io = mysql_async::Error::Io(mysql_async::IoError::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset,
        )));
        assert_eq!(driver_class(&io), ErrorClass::Network);
        let closed = mysql_async::Error::Driver(mysql_async::DriverError::ConnectionClosed);
        assert_eq!(driver_class(&closed), ErrorClass::Network);
        let pool = mysql_async::Error::Driver(mysql_async::DriverError::PoolDisconnected);
        assert_eq!(driver_class(&pool).action(), Action::Retry);
        let other = mysql_async::Error::Driver(mysql_async::DriverError::NestedTransaction);
        assert_eq!(driver_class(&other).action(), Action::Pause);
        let server = |code| {
            mysql_async::Error::Server(mysql_async::ServerError {
                code,
                message: String::new(),
                state: String::new(),
            })
        };
        assert_eq!(driver_class(&server(1213)).action(), Action::Retry);
        assert_eq!(driver_class(&server(1146)).action(), Action::Pause);
    }

    #[test]
    fn dm_codes() {
        let net = policy(ErrorClass::Network, Component::Sync);
        assert_eq!(net.code(Component::Sync), DM_DB_DRIVER);
        let blocked = policy(ErrorClass::Blocked, Component::Sync);
        assert_eq!(
            blocked.code(Component::Sync),
            DmCode {
                code: 34019,
                class: "sync-unit"
            }
        );
        let relay = unclassified(Action::Retry, Component::Relay);
        assert_eq!(relay.workaround, text::RELAY_RETRYING);
        assert_eq!(relay.code(Component::Relay).code, 30001);
        let paused = unclassified(Action::Pause, Component::Relay);
        assert_eq!(paused.workaround, text::FIX_RELAY);
        assert_eq!(paused.code(Component::Relay).code, 30002);
        let interrupted = policy(ErrorClass::Interrupted, Component::Load);
        assert_eq!(
            interrupted.code(Component::Load),
            DmCode {
                code: 10006,
                class: "load-unit"
            }
        );
    }
}
