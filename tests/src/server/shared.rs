//! Ports handed out to servers, servers shared by a whole test binary, unique names.

use std::collections::HashSet;
use std::sync::{Mutex, Once, OnceLock};

use rand::Rng;

use super::lifecycle::TestServer;
use super::{DbKind, Role, PORT_RANGE};

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

pub(super) const SIGKILL: std::os::raw::c_int = 9;

extern "C" {
    fn atexit(cb: extern "C" fn()) -> std::os::raw::c_int;
    #[link_name = "kill"]
    pub(super) fn sys_kill(
        pid: std::os::raw::c_int,
        sig: std::os::raw::c_int,
    ) -> std::os::raw::c_int;
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
