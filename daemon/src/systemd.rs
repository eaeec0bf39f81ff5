//! systemd's service protocol (`sd_notify(3)`), for `Type=notify` units: `READY=1` once the
//! API listens and the stored sources and tasks are restored, `RELOADING=1` … `READY=1` around
//! a reload, `STOPPING=1` at SIGTERM, and `WATCHDOG=1` every half `WatchdogSec` while the
//! runtime and the actor system answer (a wedged daemon stops pinging and systemd restarts
//! it). Without `NOTIFY_SOCKET` (not started by systemd) every call does nothing.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::Duration;

use tracing::{debug, warn};

/// Where the notifications go.
#[derive(Debug, Clone)]
enum Socket {
    /// A socket file.
    Path(PathBuf),
    /// A Linux abstract socket (`@name`).
    Abstract(Vec<u8>),
}

/// The service manager's notification socket, if ferryd runs under one.
#[derive(Debug, Clone, Default)]
pub struct Notifier {
    socket: Option<Socket>,
    watchdog: Option<Duration>,
}

impl Notifier {
    /// From the environment systemd sets: `NOTIFY_SOCKET`, and `WATCHDOG_USEC` (with
    /// `WATCHDOG_PID`, when set, naming this process).
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self::from_vars(
            var("NOTIFY_SOCKET"),
            var("WATCHDOG_USEC"),
            var("WATCHDOG_PID"),
            std::process::id(),
        )
    }

    fn from_vars(
        socket: Option<String>,
        watchdog_usec: Option<String>,
        watchdog_pid: Option<String>,
        pid: u32,
    ) -> Self {
        let socket = socket.map(|s| match s.strip_prefix('@') {
            Some(name) => Socket::Abstract(name.as_bytes().to_vec()),
            None => Socket::Path(PathBuf::from(s)),
        });
        let for_us = watchdog_pid.is_none_or(|p| p.trim() == pid.to_string());
        let watchdog = watchdog_usec
            .and_then(|u| u.trim().parse::<u64>().ok())
            .filter(|&u| u > 0 && for_us)
            .map(Duration::from_micros);
        Self { socket, watchdog }
    }

    /// How often to ping the watchdog (half its timeout), when systemd watches ferryd.
    pub fn watchdog_every(&self) -> Option<Duration> {
        self.socket.as_ref()?;
        self.watchdog.map(|t| t / 2)
    }

    /// Sends `state` (newline-separated `KEY=value` assignments).
    pub fn notify(&self, state: &str) {
        let Some(socket) = &self.socket else {
            return;
        };
        let sent = UnixDatagram::unbound().and_then(|sock| match socket {
            Socket::Path(p) => sock.send_to(state.as_bytes(), p),
            Socket::Abstract(name) => send_abstract(&sock, name, state.as_bytes()),
        });
        match sent {
            Ok(_) => debug!(state, "systemd notified"),
            Err(e) => warn!(state, error = %e, "cannot notify systemd"),
        }
    }

    /// Startup (or a reload) is complete.
    pub fn ready(&self, status: &str) {
        self.notify(&format!("READY=1\nSTATUS={status}"));
    }

    /// A reload starts (`READY=1` follows when it ends).
    pub fn reloading(&self) {
        self.notify(&format!("RELOADING=1\nMONOTONIC_USEC={}", monotonic_usec()));
    }

    /// The daemon is stopping.
    pub fn stopping(&self) {
        self.notify("STOPPING=1\nSTATUS=stopping: pausing tasks at a checkpoint");
    }

    /// The daemon is alive.
    pub fn watchdog(&self) {
        self.notify("WATCHDOG=1");
    }
}

fn send_abstract(sock: &UnixDatagram, name: &[u8], msg: &[u8]) -> std::io::Result<usize> {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
    sock.send_to_addr(msg, &addr)
}

/// `CLOCK_MONOTONIC` in microseconds (systemd matches a reload's `RELOADING=1` by it).
fn monotonic_usec() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    if rc != 0 {
        return 0;
    }
    (ts.tv_sec as u64) * 1_000_000 + (ts.tv_nsec as u64) / 1_000
}

/// Pings the watchdog every `every` while both the runtime (this task gets to run) and the
/// actor system (`arbiter` runs a probe within `every`) answer.
pub async fn watchdog(notifier: Notifier, every: Duration, arbiter: actix::ArbiterHandle) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let spawned = arbiter.spawn(async move {
            let _ = tx.send(());
        });
        match tokio::time::timeout(every, rx).await {
            Ok(Ok(())) if spawned => notifier.watchdog(),
            _ => warn!(
                "the actor system did not answer within {every:?}: the systemd watchdog is not pinged"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watchdog_is_ours_only_when_its_pid_is_ours_or_unset() {
        let n = Notifier::from_vars(Some("/run/x".into()), Some("4000000".into()), None, 7);
        assert_eq!(n.watchdog_every(), Some(Duration::from_secs(2)));
        let n = Notifier::from_vars(
            Some("/run/x".into()),
            Some("4000000".into()),
            Some("8".into()),
            7,
        );
        assert_eq!(n.watchdog_every(), None, "another process's watchdog");
        let n = Notifier::from_vars(None, Some("4000000".into()), None, 7);
        assert_eq!(n.watchdog_every(), None, "no socket, no pings");
        let n = Notifier::from_vars(Some("/run/x".into()), Some("zero".into()), None, 7);
        assert_eq!(n.watchdog_every(), None);
    }

    #[test]
    fn notifications_reach_a_socket_file_and_an_abstract_socket() {
        let dir = std::env::temp_dir().join(format!("ferry-sd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&path);
        let file = UnixDatagram::bind(&path).unwrap();
        let n = Notifier::from_vars(Some(path.display().to_string()), None, None, 1);
        n.ready("up");
        let mut buf = [0u8; 256];
        let len = file.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"READY=1\nSTATUS=up");

        use std::os::linux::net::SocketAddrExt;
        let name = format!("ferry-sd-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let abs = UnixDatagram::bind_addr(&addr).unwrap();
        let n = Notifier::from_vars(Some(format!("@{name}")), None, None, 1);
        n.stopping();
        let len = abs.recv(&mut buf).unwrap();
        assert!(buf[..len].starts_with(b"STOPPING=1"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
