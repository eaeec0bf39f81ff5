//! Throw-away MySQL 9.7 / MariaDB 10.11 servers for tests, started and stopped with the
//! scripts of `../shared/dbs` (`start.sh`, `stop.sh`).
//!
//! * Every server gets a free port on 127.0.0.1 and its own data dir under
//!   `/var/tmp/ferry-tests/` (short, because of the unix socket path limit).
//! * A [`TestServer`] is stopped (by the PID in its pid file, via `stop.sh <datadir>
//!   --remove`, never by process name) when it is dropped.
//! * [`shared`] servers live for the whole test binary and are stopped by an `atexit`
//!   handler when the process exits normally (libtest returns from `main` or calls
//!   `process::exit`, both run `atexit` handlers).
//! * As a safety net for processes that die without running destructors (SIGKILL, a
//!   timeout of the test runner, Ctrl-C), every server also gets a tiny *reaper*: a
//!   `bash` loop in its own process group that waits for the test process to disappear
//!   and then runs `stop.sh <datadir> --remove`. A dropped server kills its reaper.
//!
//! Starting is synchronous (it runs `start.sh`, 0.5-9 s): call it directly from
//! `#[tokio::test]` functions; it only blocks that test's runtime.

mod builder;
mod lifecycle;
mod shared;

pub use builder::TestServerBuilder;
pub use lifecycle::TestServer;
pub use shared::{release_port, reserve_port, shared, unique_db_name};

use std::fmt;
use std::path::{Path, PathBuf};

/// Root of all test data dirs.
pub const DATA_ROOT: &str = "/var/tmp/ferry-tests";

/// Ports are drawn from this range, below Linux's default ephemeral range (32768-60999),
/// so that a port we pick cannot be taken meanwhile by the local end of some outgoing
/// connection. Each candidate is checked by binding it first.
const PORT_RANGE: std::ops::Range<u16> = 20000..32000;

/// How many (port, start) attempts before giving up.
const START_ATTEMPTS: usize = 8;

/// Server flavour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DbKind {
    /// MySQL 9.7 from `/opt/mysql-sid`.
    Mysql,
    /// MariaDB 10.11 from Debian.
    Mariadb,
}

impl DbKind {
    /// The name `start.sh` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            DbKind::Mysql => "mysql",
            DbKind::Mariadb => "mariadb",
        }
    }
}

impl fmt::Display for DbKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the server is configured for (see `shared/dbs/README.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Binary log on, ROW format, full row image and metadata; MySQL: GTID mode on.
    Upstream,
    /// Binary log off.
    Downstream,
}

impl Role {
    /// The name `start.sh` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Upstream => "upstream",
            Role::Downstream => "downstream",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `../shared/dbs`, resolved from this crate's manifest dir (`<X>/main/tests`).
pub fn dbs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/dbs")
}
