//! A running test server: start, stop, kill, restart, the reaper and cleanup on drop.

use std::fmt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use mysql_async::prelude::{FromRow, Queryable};
use mysql_async::{Conn, Opts, Pool};

use super::builder::TestServerBuilder;
use super::shared::release_port;
use super::shared::{sys_kill, SIGKILL};
use super::{dbs_dir, DbKind, Role};

pub(super) struct State {
    /// PID of the running server, `None` while stopped.
    pub(super) pid: Option<u32>,
    /// The process that stops the server if this test process dies without cleanup.
    pub(super) reaper: Option<Child>,
}

/// A running (or stopped, after [`TestServer::stop`]) test server. Stopped and its data
/// dir removed on drop.
pub struct TestServer {
    pub(super) kind: DbKind,
    pub(super) role: Role,
    pub(super) port: u16,
    pub(super) datadir: PathBuf,
    pub(super) options: TestServerBuilder,
    pub(super) state: Mutex<State>,
}

impl fmt::Debug for TestServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestServer")
            .field("kind", &self.kind)
            .field("role", &self.role)
            .field("port", &self.port)
            .field("pid", &self.pid())
            .field("datadir", &self.datadir)
            .finish()
    }
}

impl TestServer {
    /// Starts a server with the default options. Panics if it cannot.
    pub fn start(kind: DbKind, role: Role) -> TestServer {
        Self::builder(kind, role).start()
    }

    /// A builder, for `extra_cnf` and friends.
    pub fn builder(kind: DbKind, role: Role) -> TestServerBuilder {
        TestServerBuilder {
            kind,
            role,
            extra_cnf: Vec::new(),
            durable: false,
            buffer_pool: None,
        }
    }

    pub fn kind(&self) -> DbKind {
        self.kind
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// PID of the server process, `None` while it is stopped.
    pub fn pid(&self) -> Option<u32> {
        self.state().pid
    }

    pub fn datadir(&self) -> &Path {
        &self.datadir
    }

    /// `mysql://root@127.0.0.1:PORT` (root has an empty password).
    pub fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}", self.port)
    }

    /// Connection options for [`Self::url`].
    pub fn opts(&self) -> Opts {
        Opts::from_url(&self.url()).expect("valid url")
    }

    /// A new pool. mysql_async pools and connections belong to the tokio runtime they are
    /// used on first, and every `#[tokio::test]` has its own runtime, so nothing is
    /// cached here: keep the pool within one test (and `disconnect().await` it).
    pub fn pool(&self) -> Pool {
        Pool::new(self.opts())
    }

    /// A new connection; panics if it cannot connect.
    pub async fn conn(&self) -> Conn {
        match Conn::new(self.opts()).await {
            Ok(c) => c,
            Err(e) => panic!(
                "connecting to {} {} at {}: {e}",
                self.kind,
                self.role,
                self.url()
            ),
        }
    }

    /// Runs `sql` (one or more statements, text protocol) on a new connection; panics
    /// with the statement on error.
    pub async fn exec(&self, sql: &str) {
        let mut conn = self.conn().await;
        if let Err(e) = conn.query_drop(sql).await {
            panic!("{} at {}: {e}\nSQL: {sql}", self.kind, self.url());
        }
        let _ = conn.disconnect().await;
    }

    /// Runs a query (text protocol) on a new connection and returns all rows, e.g.
    /// `query_rows::<(String, u64)>(..)` or `query_rows::<mysql_async::Row>(..)`.
    pub async fn query_rows<T: FromRow + Send + 'static>(&self, sql: &str) -> Vec<T> {
        let mut conn = self.conn().await;
        let rows = match conn.query::<T, _>(sql).await {
            Ok(r) => r,
            Err(e) => panic!("{} at {}: {e}\nSQL: {sql}", self.kind, self.url()),
        };
        let _ = conn.disconnect().await;
        rows
    }

    /// Stops the server (clean shutdown, SIGTERM then SIGKILL after 60 s), keeping the
    /// data dir. Does nothing if it is stopped.
    pub fn stop(&self) {
        if self.state().pid.is_some() {
            if let Err(e) = self.run_stop(false) {
                panic!("{e}");
            }
        }
    }

    /// Kills the server with SIGKILL (a crash), by its PID. Does nothing if it is stopped.
    pub fn kill(&self) {
        let mut st = self.state();
        if let Some(pid) = st.pid.take() {
            // SAFETY: kill(2) on the PID start.sh reported for this server.
            let rc = unsafe { sys_kill(pid as std::os::raw::c_int, SIGKILL) };
            if rc != 0 {
                eprintln!(
                    "[ferry-tests] kill -KILL {pid}: {}",
                    std::io::Error::last_os_error()
                );
            }
            drop(st);
            // Wait until it is gone so that a restart can reuse the port and files. The
            // main thread turns zombie before the other threads have exited and closed
            // the sockets, so wait for the port too.
            let deadline = Instant::now() + Duration::from_secs(60);
            while (process_alive(pid) || !self.port_free()) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// True when nothing accepts connections on 127.0.0.1:port.
    fn port_free(&self) -> bool {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
        std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err()
    }

    /// Starts the server again on the same port and data dir (stopping it first if it
    /// runs). The PID changes.
    pub fn restart(&self) {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.port_free() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Err(e) = self.run_start() {
            panic!("restarting {} {}: {e}", self.kind, self.role);
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn run_start(&self) -> Result<(), String> {
        self.remove_stale_socket_lock();
        let script = dbs_dir().join("start.sh");
        // The server's temporary files in a directory of its own: MariaDB fails queries (or
        // crashes) when a temporary file of its own in the shared /tmp disappears.
        let tmpdir = PathBuf::from(format!("{}-tmp", self.datadir.display()));
        std::fs::create_dir_all(&tmpdir)
            .map_err(|e| format!("creating {}: {e}", tmpdir.display()))?;
        let mut extra = self.options.extra_cnf.clone();
        extra.push(format!("tmpdir={}", tmpdir.display()));
        let mut cmd = Command::new("bash");
        cmd.arg(&script)
            .arg(self.kind.as_str())
            .arg(self.port.to_string())
            .arg(&self.datadir)
            .arg(self.role.as_str())
            .stdin(Stdio::null())
            .env("DB_EXTRA_CNF", extra.join("\n"));
        if self.options.durable {
            cmd.env("DB_DURABLE", "1");
        } else {
            cmd.env_remove("DB_DURABLE");
        }
        if let Some(bp) = &self.options.buffer_pool {
            cmd.env("DB_BUFFER_POOL", bp);
        }
        let out = cmd
            .output()
            .map_err(|e| format!("running {}: {e}", script.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            return Err(format!(
                "start.sh {} {} {} failed ({}):\n{stderr}",
                self.kind,
                self.port,
                self.datadir.display(),
                out.status
            ));
        }
        let pid = stdout
            .lines()
            .last()
            .and_then(|l| l.trim().parse::<u32>().ok())
            .ok_or_else(|| {
                format!("start.sh printed no PID; stdout={stdout:?} stderr:\n{stderr}")
            })?;
        self.state().pid = Some(pid);
        Ok(())
    }

    /// After a crash, MySQL refuses to start while the PID in `mysqld.sock.lock` exists,
    /// and a killed server stays a zombie until init reaps it (seconds here). A lock whose
    /// process is gone or a zombie is stale: remove it.
    fn remove_stale_socket_lock(&self) {
        let lock = self.datadir.join("mysqld.sock.lock");
        if let Ok(text) = std::fs::read_to_string(&lock) {
            let owner = text.trim().parse::<u32>().ok();
            if !owner.is_some_and(process_alive) {
                let _ = std::fs::remove_file(&lock);
            }
        }
    }

    fn run_stop(&self, remove: bool) -> Result<(), String> {
        let script = dbs_dir().join("stop.sh");
        let mut cmd = Command::new("bash");
        cmd.arg(&script).arg(&self.datadir).stdin(Stdio::null());
        if remove {
            cmd.arg("--remove");
        }
        let out = cmd
            .output()
            .map_err(|e| format!("running {}: {e}", script.display()))?;
        self.state().pid = None;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "stop.sh {} failed ({}):\n{}",
                self.datadir.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// Stops the server, removes its data dir and ends its reaper. Never panics.
    pub(super) fn shutdown(&self) {
        if let Err(e) = self.run_stop(true) {
            eprintln!("[ferry-tests] {e}");
        }
        if let Some(mut reaper) = self.state().reaper.take() {
            let _ = reaper.kill();
            let _ = reaper.wait();
        }
    }

    /// A process, in its own process group (so a terminal's Ctrl-C does not reach it),
    /// that runs `stop.sh <datadir> --remove` once this test process is gone.
    pub(super) fn spawn_reaper(&self) {
        let script = r#"while kill -0 "$1" 2>/dev/null && [ -d "$3" ]; do sleep 0.5; done
[ -d "$3" ] && exec bash "$2" "$3" --remove"#;
        let child = Command::new("bash")
            .arg("-c")
            .arg(script)
            .arg("ferry-tests-reaper")
            .arg(std::process::id().to_string())
            .arg(dbs_dir().join("stop.sh"))
            .arg(&self.datadir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn();
        match child {
            Ok(c) => self.state().reaper = Some(c),
            Err(e) => eprintln!("[ferry-tests] could not start the reaper: {e}"),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown();
        release_port(self.port);
    }
}

/// True while `pid` exists and is not a zombie (a killed server whose parent, init,
/// has not reaped it yet is gone for our purposes).
fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // "pid (comm) S ...": the state follows the last ')'.
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']))
            .unwrap_or(false),
        Err(_) => false,
    }
}
