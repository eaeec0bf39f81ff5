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

use std::collections::HashSet;
use std::fmt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, Once, OnceLock};
use std::time::{Duration, Instant};

use mysql_async::prelude::{FromRow, Queryable};
use mysql_async::{Conn, Opts, Pool};
use rand::Rng;

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

/// Options of a server to start; see [`TestServer::builder`].
#[derive(Debug, Clone)]
pub struct TestServerBuilder {
    kind: DbKind,
    role: Role,
    extra_cnf: Vec<String>,
    durable: bool,
    buffer_pool: Option<String>,
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

struct State {
    /// PID of the running server, `None` while stopped.
    pid: Option<u32>,
    /// The process that stops the server if this test process dies without cleanup.
    reaper: Option<Child>,
}

/// A running (or stopped, after [`TestServer::stop`]) test server. Stopped and its data
/// dir removed on drop.
pub struct TestServer {
    kind: DbKind,
    role: Role,
    port: u16,
    datadir: PathBuf,
    options: TestServerBuilder,
    state: Mutex<State>,
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

    fn run_start(&self) -> Result<(), String> {
        self.remove_stale_socket_lock();
        let script = dbs_dir().join("start.sh");
        let mut cmd = Command::new("bash");
        cmd.arg(&script)
            .arg(self.kind.as_str())
            .arg(self.port.to_string())
            .arg(&self.datadir)
            .arg(self.role.as_str())
            .stdin(Stdio::null())
            .env("DB_EXTRA_CNF", self.options.extra_cnf.join("\n"));
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
    fn shutdown(&self) {
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
    fn spawn_reaper(&self) {
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

/// Ports handed out by this process and not yet released.
fn reserved_ports() -> &'static Mutex<HashSet<u16>> {
    static PORTS: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    PORTS.get_or_init(|| Mutex::new(HashSet::new()))
}

/// Picks a port that is free on 127.0.0.1 (checked by binding it, then releasing it)
/// and not handed out to another server of this process. Give it back with
/// [`release_port`] when done (servers do it on drop).
pub fn reserve_port() -> Result<u16, String> {
    let mut rng = rand::thread_rng();
    for _ in 0..1000 {
        let port = rng.gen_range(PORT_RANGE);
        let mut reserved = reserved_ports().lock().unwrap_or_else(|p| p.into_inner());
        if reserved.contains(&port) {
            continue;
        }
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            reserved.insert(port);
            return Ok(port);
        }
    }
    Err("no free port found on 127.0.0.1".to_string())
}

/// Returns a port taken with [`reserve_port`].
pub fn release_port(port: u16) {
    reserved_ports()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&port);
}

static SHARED: [OnceLock<TestServer>; 4] = [
    OnceLock::new(),
    OnceLock::new(),
    OnceLock::new(),
    OnceLock::new(),
];

const SIGKILL: std::os::raw::c_int = 9;

extern "C" {
    fn atexit(cb: extern "C" fn()) -> std::os::raw::c_int;
    #[link_name = "kill"]
    fn sys_kill(pid: std::os::raw::c_int, sig: std::os::raw::c_int) -> std::os::raw::c_int;
}

extern "C" fn stop_shared_servers() {
    // A panic must not unwind out of an extern "C" fn.
    let _ = std::panic::catch_unwind(|| {
        for slot in &SHARED {
            if let Some(server) = slot.get() {
                server.shutdown();
            }
        }
    });
}

/// A server shared by every test of this test binary (one per kind and role), started
/// on first use and stopped when the process exits (an `atexit` handler; the reaper
/// covers a process that is killed). Tests sharing it must use their own databases:
/// see [`crate::unique_db_name`]. Do not `stop`/`restart`/`kill` a shared server: use
/// your own [`TestServer`] for fault tests.
pub fn shared(kind: DbKind, role: Role) -> &'static TestServer {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // SAFETY: registers a plain `extern "C" fn()`; atexit is thread-safe.
        let rc = unsafe { atexit(stop_shared_servers) };
        assert_eq!(rc, 0, "atexit failed");
    });
    let idx = match (kind, role) {
        (DbKind::Mysql, Role::Upstream) => 0,
        (DbKind::Mysql, Role::Downstream) => 1,
        (DbKind::Mariadb, Role::Upstream) => 2,
        (DbKind::Mariadb, Role::Downstream) => 3,
    };
    SHARED[idx].get_or_init(|| TestServer::start(kind, role))
}

/// A database name unique within this process and unlikely to clash across processes:
/// `<prefix>_<pid>_<counter>_<random>`, lower case, at most 64 characters. Characters
/// of `prefix` other than `[a-z0-9_]` become `_`.
pub fn unique_db_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let r: u16 = rand::thread_rng().gen();
    let clean: String = prefix
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(32)
        .collect();
    format!("{clean}_{}_{n}_{r:04x}", std::process::id())
}
