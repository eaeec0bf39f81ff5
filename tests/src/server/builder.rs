//! Options of a server to start, and starting it on a free port.

use std::sync::Mutex;

use super::lifecycle::State;
use super::lifecycle::TestServer;
use super::shared::reserve_port;
use super::{DbKind, Role, DATA_ROOT, START_ATTEMPTS};

/// Options of a server to start; see [`TestServer::builder`].
#[derive(Debug, Clone)]
pub struct TestServerBuilder {
    pub(super) kind: DbKind,
    pub(super) role: Role,
    pub(super) extra_cnf: Vec<String>,
    pub(super) durable: bool,
    pub(super) buffer_pool: Option<String>,
}

impl TestServerBuilder {
    /// Adds one `[mysqld]` line (passed to `start.sh` through `DB_EXTRA_CNF`), e.g.
    /// `"binlog_transaction_compression=ON"`. May be called several times.
    pub fn extra_cnf(mut self, line: impl Into<String>) -> Self {
        self.extra_cnf.push(line.into());
        self
    }

    /// Keeps the servers' default fsync-per-commit settings (`DB_DURABLE=1`).
    pub fn durable(mut self, durable: bool) -> Self {
        self.durable = durable;
        self
    }

    /// `innodb_buffer_pool_size` (`DB_BUFFER_POOL`, default 64M).
    pub fn buffer_pool(mut self, size: impl Into<String>) -> Self {
        self.buffer_pool = Some(size.into());
        self
    }

    /// Starts the server; panics with `start.sh`'s messages if it cannot.
    pub fn start(self) -> TestServer {
        match self.try_start() {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    /// Starts the server on a free port, retrying with another port when the chosen
    /// one turned out to be taken.
    pub fn try_start(self) -> Result<TestServer, String> {
        std::fs::create_dir_all(DATA_ROOT).map_err(|e| format!("creating {DATA_ROOT}: {e}"))?;
        let mut last_err = String::new();
        for _ in 0..START_ATTEMPTS {
            let port = reserve_port()?;
            let role = match self.role {
                Role::Upstream => "up",
                Role::Downstream => "down",
            };
            let datadir = tempfile::Builder::new()
                .prefix(&format!("{}-{role}-{port}-", self.kind))
                .tempdir_in(DATA_ROOT)
                .map_err(|e| format!("creating a data dir under {DATA_ROOT}: {e}"))?
                .keep();
            let server = TestServer {
                kind: self.kind,
                role: self.role,
                port,
                datadir,
                options: self.clone(),
                state: Mutex::new(State {
                    pid: None,
                    reaper: None,
                }),
            };
            match server.run_start() {
                Ok(()) => {
                    server.spawn_reaper();
                    return Ok(server);
                }
                Err(e) => {
                    let port_taken = e.contains("already in use")
                        || e.contains("another mysqld server running on port");
                    // Drop removes the half-made data dir.
                    drop(server);
                    if !port_taken {
                        return Err(e);
                    }
                    last_err = e;
                }
            }
        }
        Err(format!(
            "could not start {} {}: every port tried was taken; last error:\n{last_err}",
            self.kind, self.role
        ))
    }
}
