//! Drives the real `ferryd` daemon and the `ferryctl` CLI from tests.
//!
//! * [`Ferry::start`] spawns `ferryd` on a free port with its state in a data dir, and
//!   waits (polling `/status`, with a deadline) until its API answers.
//! * [`Ferry::ctl`] runs `ferryctl --master-addr ... <args>` and returns its exit status,
//!   its JSON answer and its stderr ([`CtlOutput`]).
//! * [`Ferry::kill9`] crashes the daemon (SIGKILL by PID), [`Ferry::restart`] starts it
//!   again on the same data dir and port, [`Ferry::wait_stage`] polls `query-status`.
//! * Dropping a [`Ferry`] stops the daemon (SIGTERM, then SIGKILL after a deadline, by
//!   PID). When the test is failing, the tail of the daemon's log is printed first.
//!
//! The binaries are the ones Cargo built next to the test executable
//! (`<target>/<profile>/ferryd`), so `CARGO_TARGET_DIR` and the profile are respected;
//! `FERRYD_BIN` / `FERRYCTL_BIN` override them. Build them with `cargo build --bins`.

use std::fmt;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::server::{release_port, reserve_port, TestServer, DATA_ROOT};

/// How long `ferryd` may take to answer `/status` after it is spawned.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a SIGTERM'd `ferryd` may take to exit before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);
/// Lines of the daemon log printed when a test fails.
const LOG_TAIL_LINES: usize = 80;

const SIGKILL: i32 = 9;
/// SIGTERM's number.
pub const SIGTERM: i32 = 15;
/// SIGHUP's number.
pub const SIGHUP: i32 = 1;

extern "C" {
    #[link_name = "kill"]
    fn sys_kill(pid: std::os::raw::c_int, sig: std::os::raw::c_int) -> std::os::raw::c_int;
}

/// Sends signal `sig` to `pid`, a child this process spawned and has not reaped.
pub fn send_signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) on the PID of a child this process spawned and has not reaped.
    unsafe {
        sys_kill(pid as std::os::raw::c_int, sig);
    }
}

/// Path of one of the workspace binaries (`ferryd`, `ferryctl`); panics with a hint when
/// it has not been built.
pub fn bin(name: &str) -> PathBuf {
    let var = format!("{}_BIN", name.to_ascii_uppercase());
    if let Some(p) = std::env::var_os(&var) {
        return PathBuf::from(p);
    }
    // The test executable is <target>/<profile>/deps/<test>-<hash>.
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        if let Some(profile_dir) = exe.parent().and_then(Path::parent) {
            candidates.push(profile_dir.join(name));
        }
    }
    // The workspace's target dir (`CARGO_TARGET_DIR` is relative to the workspace root).
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(|t| workspace.join(t))
        .unwrap_or_else(|| workspace.join("target"));
    candidates.push(target.join("debug").join(name));
    for c in &candidates {
        if c.is_file() {
            return c.clone();
        }
    }
    panic!(
        "the `{name}` binary is missing (looked at {candidates:?}): run `cargo build --bins` \
         (or `cargo build -p ferry-daemon --bins`) before the end-to-end tests, or set {var}"
    );
}

/// What `ferryctl` answered.
#[derive(Debug, Clone)]
pub struct CtlOutput {
    /// Exit status 0.
    pub ok: bool,
    /// stdout parsed as JSON (`Value::Null` when it is not JSON, e.g. empty).
    pub json: Value,
    /// stdout as text.
    pub stdout: String,
    /// stderr as text.
    pub stderr: String,
    /// The command, for messages.
    pub command: String,
}

impl CtlOutput {
    /// stdout and stderr together, for searching a message wherever it was printed.
    pub fn text(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

impl fmt::Display for CtlOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "`{}` -> {}",
            self.command,
            if self.ok { "exit 0" } else { "failed" }
        )?;
        writeln!(f, "--- stdout:\n{}", self.stdout.trim_end())?;
        write!(f, "--- stderr:\n{}", self.stderr.trim_end())
    }
}

/// Runs `ferryctl <args>` (no daemon address added) with extra environment variables.
pub async fn ferryctl(args: &[&str], env: &[(&str, &str)]) -> CtlOutput {
    let exe = bin("ferryctl");
    let mut cmd = tokio::process::Command::new(&exe);
    cmd.args(args)
        .stdin(Stdio::null())
        .env_remove("DM_MASTER_ADDR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = match tokio::time::timeout(Duration::from_secs(300), cmd.output()).await {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => panic!("running {}: {e}", exe.display()),
        Err(_) => panic!("ferryctl {args:?} did not finish within 300 s"),
    };
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    CtlOutput {
        ok: out.status.success(),
        json: serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stdout,
        stderr,
        command: format!("ferryctl {}", args.join(" ")),
    }
}

/// `GET path` on the HTTP API at `addr` (HTTP/1.0): the whole response, headers included.
pub fn http_get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connecting to {addr}: {e}"));
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap_or_else(|e| panic!("GET {path} on {addr}: {e}"));
    let mut resp = String::new();
    s.read_to_string(&mut resp)
        .unwrap_or_else(|e| panic!("GET {path} on {addr}: {e}"));
    resp
}

/// The `from:` block of a source file for a test server (root, empty password).
pub fn source_yaml(source_id: &str, server: &TestServer) -> String {
    format!(
        "source-id: \"{source_id}\"\nfrom:\n  host: \"127.0.0.1\"\n  port: {}\n  user: \"root\"\n  password: \"\"\n",
        server.port()
    )
}

/// A `task-mode: full` task file towards `down` (root, empty password); `rest` is the rest
/// of the file (rules, unit configs, `mysql-instances`).
pub fn task_yaml(name: &str, down: &TestServer, rest: &str) -> String {
    format!(
        "name: \"{name}\"\ntask-mode: full\ntarget-database:\n  host: \"127.0.0.1\"\n  port: {}\n  user: \"root\"\n  password: \"\"\n{rest}",
        down.port()
    )
}

/// A running (or crashed) `ferryd`.
pub struct Ferry {
    data_dir: PathBuf,
    /// Removed on a successful drop; kept when the test fails.
    temp: Option<tempfile::TempDir>,
    port: u16,
    child: Option<Child>,
}

impl fmt::Debug for Ferry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ferry")
            .field("addr", &self.addr())
            .field("pid", &self.pid())
            .field("data_dir", &self.data_dir)
            .finish()
    }
}

impl Ferry {
    /// Starts `ferryd` on a free port with its state in `data_dir` (created if needed).
    pub fn start(data_dir: impl AsRef<Path>) -> Ferry {
        let data_dir = data_dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&data_dir)
            .unwrap_or_else(|e| panic!("creating {}: {e}", data_dir.display()));
        let mut last = String::new();
        for _ in 0..5 {
            let port = reserve_port().unwrap_or_else(|e| panic!("{e}"));
            let mut f = Ferry {
                data_dir: data_dir.clone(),
                temp: None,
                port,
                child: None,
            };
            match f.spawn() {
                Ok(()) => return f,
                Err(e) => {
                    last = e;
                    // Drop releases the port; nothing runs.
                }
            }
        }
        panic!("could not start ferryd: {last}");
    }

    /// Starts `ferryd` with a fresh data dir under `/var/tmp/ferry-tests`, removed when the
    /// daemon is dropped at the end of a passing test (kept for inspection otherwise).
    pub fn start_temp(prefix: &str) -> Ferry {
        std::fs::create_dir_all(DATA_ROOT).unwrap_or_else(|e| panic!("{DATA_ROOT}: {e}"));
        let dir = tempfile::Builder::new()
            .prefix(&format!("ferryd-{prefix}-"))
            .tempdir_in(DATA_ROOT)
            .unwrap_or_else(|e| panic!("creating a data dir under {DATA_ROOT}: {e}"));
        let mut f = Ferry::start(dir.path());
        f.temp = Some(dir);
        f
    }

    /// `127.0.0.1:PORT` of the API.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The state directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The daemon's log file.
    pub fn log_path(&self) -> PathBuf {
        self.data_dir.join("ferryd.log")
    }

    /// PID of the running daemon.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The last `n` lines of the daemon log and of its stdout/stderr.
    pub fn log_tail(&self, n: usize) -> String {
        let mut out = String::new();
        for (label, path) in [
            ("ferryd.log", self.log_path()),
            ("ferryd stdout/stderr", self.data_dir.join("ferryd.out")),
        ] {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let from = lines.len().saturating_sub(n);
            out.push_str(&format!(
                "----- last {} line(s) of {label} ({}) -----\n",
                lines.len() - from,
                path.display()
            ));
            for l in &lines[from..] {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }

    fn spawn(&mut self) -> Result<(), String> {
        let exe = bin("ferryd");
        let out_path = self.data_dir.join("ferryd.out");
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&out_path)
            .map_err(|e| format!("{}: {e}", out_path.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("{}: {e}", out_path.display()))?;
        let child = Command::new(&exe)
            .arg("--master-addr")
            .arg(self.addr())
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--log-file")
            .arg(self.log_path())
            .env_remove("NOTIFY_SOCKET")
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("spawning {}: {e}", exe.display()))?;
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        let mut pause = Duration::from_millis(10);
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                return Err(format!(
                    "ferryd exited at start ({status}):\n{}",
                    self.log_tail(20)
                ));
            }
            if self.http_status_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let tail = self.log_tail(20);
                self.terminate(Duration::ZERO);
                return Err(format!(
                    "ferryd did not answer /status on {} within {START_TIMEOUT:?}:\n{tail}",
                    self.addr()
                ));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }

    /// True when `GET /status` answers 200.
    fn http_status_ok(&self) -> bool {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        if s.write_all(b"GET /status HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .is_err()
        {
            return false;
        }
        let mut resp = String::new();
        let _ = s.read_to_string(&mut resp);
        resp.starts_with("HTTP/1.0 200") || resp.starts_with("HTTP/1.1 200")
    }

    /// SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit status if it exited by
    /// itself in time.
    fn terminate(&mut self, grace: Duration) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        if grace > Duration::ZERO {
            send_signal(child.id(), SIGTERM);
            let deadline = Instant::now() + grace;
            while Instant::now() < deadline {
                if let Ok(Some(st)) = child.try_wait() {
                    return Some(st);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            eprintln!(
                "[ferry-tests] ferryd {} did not stop within {grace:?} of SIGTERM: killing it",
                child.id()
            );
        }
        send_signal(child.id(), SIGKILL);
        let _ = child.wait();
        None
    }

    /// Graceful stop (SIGTERM); panics if the daemon does not exit cleanly in time.
    pub fn stop(&mut self) {
        match self.terminate(STOP_TIMEOUT) {
            Some(st) if st.success() => {}
            Some(st) => panic!("ferryd exited with {st} on SIGTERM\n{}", self.log_tail(40)),
            None => panic!(
                "ferryd did not stop within {STOP_TIMEOUT:?} of SIGTERM\n{}",
                self.log_tail(40)
            ),
        }
    }

    /// Crashes the daemon: SIGKILL by PID, and waits until it is gone.
    pub fn kill9(&mut self) {
        self.terminate(Duration::ZERO);
    }

    /// Starts the daemon again (same data dir, same port), stopping it first (SIGTERM) if
    /// it runs.
    pub fn restart(&mut self) {
        if self.child.is_some() {
            self.stop();
        }
        let mut last = String::new();
        for _ in 0..20 {
            match self.spawn() {
                Ok(()) => return,
                Err(e) => {
                    last = e;
                    std::thread::sleep(Duration::from_millis(250));
                }
            }
        }
        panic!("could not restart ferryd on {}: {last}", self.addr());
    }

    /// Writes `text` to `<data dir>/<name>` and returns its path (for `ferryctl` files).
    pub fn write_file(&self, name: &str, text: &str) -> PathBuf {
        let dir = self.data_dir.join("files");
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        p
    }

    /// `ferryctl --master-addr <this daemon> <args>`.
    pub async fn ctl(&self, args: &[&str]) -> CtlOutput {
        self.ctl_env(args, &[]).await
    }

    /// [`Self::ctl`] with extra environment variables (for `${NAME}` placeholders).
    pub async fn ctl_env(&self, args: &[&str], env: &[(&str, &str)]) -> CtlOutput {
        let addr = self.addr();
        let mut full = vec!["--master-addr", addr.as_str()];
        full.extend_from_slice(args);
        ferryctl(&full, env).await
    }

    /// [`Self::ctl`], panicking (with the output and the daemon log) unless it succeeds.
    pub async fn ctl_ok(&self, args: &[&str]) -> Value {
        let out = self.ctl(args).await;
        if !out.ok || out.json.get("result") != Some(&Value::Bool(true)) {
            panic!("{out}\n{}", self.log_tail(30));
        }
        out.json
    }

    /// [`Self::ctl`], panicking unless it fails with a message containing `needle`.
    pub async fn ctl_refused(&self, args: &[&str], needle: &str) -> CtlOutput {
        let out = self.ctl(args).await;
        assert!(
            !out.ok && out.text().contains(needle),
            "want `{needle}`: {out}"
        );
        out
    }

    /// Registers a test server as source `source_id` (`operate-source create`).
    pub async fn add_source(&self, source_id: &str, server: &TestServer) {
        let file = self.write_file(
            &format!("source-{source_id}.yaml"),
            &source_yaml(source_id, server),
        );
        self.ctl_ok(&["operate-source", "create", path_str(&file)])
            .await;
    }

    /// Writes a task file, runs `check-task` and `start-task` (both must succeed) and
    /// waits until the task is `Finished`; returns its `query-status`.
    pub async fn run_full_task(&self, name: &str, yaml: &str, timeout: Duration) -> Value {
        let file = self.write_file(&format!("{name}.yaml"), yaml);
        let f = path_str(&file);
        self.ctl_ok(&["check-task", f]).await;
        self.ctl_ok(&["start-task", f]).await;
        self.wait_stage(name, "Finished", timeout).await
    }

    /// `GET path` on this ferryd's HTTP API: the whole response, headers included.
    pub fn http_get(&self, path: &str) -> String {
        http_get(&self.addr(), path)
    }

    /// `query-status <task>` answer, or `None` when the command fails.
    pub async fn query_status(&self, task: &str) -> Option<Value> {
        let out = self.ctl(&["query-status", task]).await;
        out.ok.then_some(out.json)
    }

    /// Waits (up to 60 s) until a subtask of `task` is paused by an error; returns its
    /// message.
    pub async fn wait_paused_error(&self, task: &str) -> String {
        crate::wait::wait_for(
            Duration::from_secs(60),
            format!("{task} paused by an error"),
            || async {
                let st = self.query_status(task).await?;
                let subs = subtasks(&st);
                let s = subs.iter().find(|s| s["stage"] == "Paused")?;
                s["result"]["errors"][0]["Message"]
                    .as_str()
                    .map(str::to_string)
            },
        )
        .await
    }

    /// Polls `query-status <task>` until every subtask is in `stage` (`Running`, `Paused`,
    /// `Finished`, ...); returns the last answer. Panics at once when a subtask is paused
    /// by an error (unless `Paused` is awaited), and after `timeout`, with the daemon log.
    pub async fn wait_stage(&self, task: &str, stage: &str, timeout: Duration) -> Value {
        let start = Instant::now();
        let mut pause = Duration::from_millis(50);
        let mut last;
        loop {
            let out = self.ctl(&["query-status", task]).await;
            if out.ok {
                let subs = subtasks(&out.json);
                if !subs.is_empty() && subs.iter().all(|s| s["stage"] == stage) {
                    return out.json;
                }
                if stage != "Paused" {
                    if let Some(s) = subs
                        .iter()
                        .find(|s| s["stage"] == "Paused" && !s["result"].is_null())
                    {
                        panic!(
                            "task `{task}` was paused by an error while waiting for {stage}:\n{}\n{}",
                            serde_json::to_string_pretty(s).unwrap_or_default(),
                            self.log_tail(LOG_TAIL_LINES)
                        );
                    }
                }
                last = out.json;
            } else {
                last = Value::String(out.to_string());
            }
            if start.elapsed() >= timeout {
                panic!(
                    "timed out after {timeout:?} waiting for task `{task}` to be {stage}; last status:\n{}\n{}",
                    serde_json::to_string_pretty(&last).unwrap_or_default(),
                    self.log_tail(LOG_TAIL_LINES)
                );
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }
}

/// The `subTaskStatus` objects of a `query-status <task>` answer, all sources together.
pub fn subtasks(status: &Value) -> Vec<Value> {
    status["sources"]
        .as_array()
        .map(|srcs| {
            srcs.iter()
                .flat_map(|s| {
                    s["subTaskStatus"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                        .into_iter()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A path as `&str` (test paths are UTF-8).
pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

impl Drop for Ferry {
    fn drop(&mut self) {
        let failing = std::thread::panicking();
        if failing {
            eprintln!(
                "[ferry-tests] ferryd {} (pid {:?}) of a failing test:\n{}",
                self.addr(),
                self.pid(),
                self.log_tail(LOG_TAIL_LINES)
            );
        }
        let status = self.terminate(STOP_TIMEOUT);
        release_port(self.port);
        // A daemon that crashes on its way out (SIGSEGV, SIGABRT, SIGBUS, SIGILL, SIGFPE)
        // fails the test that started it.
        if let Some(sig) = status.and_then(|st| std::os::unix::process::ExitStatusExt::signal(&st))
        {
            if !failing && [4, 6, 7, 8, 11].contains(&sig) {
                panic!(
                    "ferryd {} died of signal {sig} when stopped (SIGTERM)\n{}",
                    self.addr(),
                    self.log_tail(40)
                );
            }
        }
        if let Some(dir) = self.temp.take() {
            if failing {
                eprintln!(
                    "[ferry-tests] keeping ferryd's data dir {}",
                    dir.keep().display()
                );
            }
        }
    }
}
