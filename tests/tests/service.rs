//! ferryd as a systemd service: the `sd_notify` sequence (READY, WATCHDOG pings, RELOADING …
//! READY around SIGHUP, STOPPING at SIGTERM), SIGHUP's reload (log level in place, log file
//! reopened, an invalid file refused while everything keeps running), and the unit file
//! checked by `systemd-analyze verify`.

use std::io::Write;
use std::net::TcpStream;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ferry_tests::ferry::{bin, send_signal, SIGHUP, SIGTERM};
use ferry_tests::reserve_port;

/// Receives notifications until one starts with `prefix` (skipping watchdog pings unless
/// they are what is awaited); panics after `within`.
fn expect(sock: &UnixDatagram, prefix: &str, within: Duration, seen: &mut Vec<String>) -> String {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        sock.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        let Ok(n) = sock.recv(&mut buf) else { break };
        let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
        seen.push(msg.clone());
        if msg.starts_with(prefix) {
            return msg;
        }
    }
    panic!("no `{prefix}` notification within {within:?}; received: {seen:?}");
}

fn write_config(path: &Path, port: u16, dir: &Path, level: &str) {
    let mut f = std::fs::File::create(path).unwrap();
    write!(
        f,
        "master-addr: \"127.0.0.1:{port}\"\ndata-dir: \"{}\"\nlog-level: \"{level}\"\nlog-file: \"{}\"\n",
        dir.join("data").display(),
        dir.join("ferryd.log").display()
    )
    .unwrap();
}

fn wait_for_text(path: &Path, text: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if std::fs::read_to_string(path).is_ok_and(|s| s.contains(text)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "`{text}` not in {} within {within:?}:\n{}",
        path.display(),
        std::fs::read_to_string(path).unwrap_or_default()
    );
}

fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    panic!("ferryd did not exit within {within:?} after SIGTERM");
}

#[test]
fn systemd_notifications_watchdog_and_sighup_reload() {
    let dir = tempfile::tempdir().unwrap();
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    let port = reserve_port().unwrap();
    let config = dir.path().join("ferryd.yaml");
    write_config(&config, port, dir.path(), "info");
    let log = dir.path().join("ferryd.log");
    let mut child = Command::new(bin("ferryd"))
        .arg("--config")
        .arg(&config)
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "400000")
        .env_remove("WATCHDOG_PID")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut seen = Vec::new();

    let ready = expect(&sock, "READY=1", Duration::from_secs(30), &mut seen);
    assert!(
        ready.contains(&format!("listening on 127.0.0.1:{port}")),
        "{ready}"
    );
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_ok(),
        "READY=1 comes after the API listens"
    );
    // Every 200 ms (half of WATCHDOG_USEC) while the daemon is healthy.
    for _ in 0..3 {
        expect(&sock, "WATCHDOG=1", Duration::from_secs(5), &mut seen);
    }

    // Reload: the level goes to debug in place, and the log file moved away by logrotate is
    // reopened at its path.
    write_config(&config, port, dir.path(), "debug");
    std::fs::rename(&log, dir.path().join("ferryd.log.1")).unwrap();
    send_signal(pid, SIGHUP);
    let reloading = expect(&sock, "RELOADING=1", Duration::from_secs(10), &mut seen);
    assert!(reloading.contains("MONOTONIC_USEC="), "{reloading}");
    let ready = expect(&sock, "READY=1", Duration::from_secs(10), &mut seen);
    assert!(ready.contains("STATUS=reloaded"), "{ready}");
    wait_for_text(&log, "log level changed", Duration::from_secs(10));
    // Debug lines now appear (each watchdog ping logs one).
    wait_for_text(&log, "systemd notified", Duration::from_secs(10));

    // An invalid file is refused as a whole: the daemon keeps running and says why.
    std::fs::write(&config, "master-addr: \"127.0.0.1:1\"\nlog-level: loud\n").unwrap();
    send_signal(pid, SIGHUP);
    expect(&sock, "RELOADING=1", Duration::from_secs(10), &mut seen);
    let ready = expect(&sock, "READY=1", Duration::from_secs(10), &mut seen);
    assert!(ready.contains("reload failed"), "{ready}");
    assert!(
        ready.contains("log-level"),
        "the error names the key: {ready}"
    );
    wait_for_text(&log, "reload refused", Duration::from_secs(10));
    expect(&sock, "WATCHDOG=1", Duration::from_secs(5), &mut seen);
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_ok(),
        "still serving"
    );

    send_signal(pid, SIGTERM);
    expect(&sock, "STOPPING=1", Duration::from_secs(10), &mut seen);
    let status = wait_exit(&mut child, Duration::from_secs(30));
    assert!(status.success(), "{status}");
}

#[test]
fn the_unit_file_passes_systemd_analyze_verify() {
    let Ok(out) = Command::new("systemd-analyze").arg("--version").output() else {
        panic!("systemd-analyze is missing (scripts/install-deps.sh installs systemd)");
    };
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../systemd/ferryd.service"
    ))
    .unwrap();
    assert!(unit.contains("Type=notify") && unit.contains("WatchdogSec="));
    let ferryd = bin("ferryd");
    let unit = unit.replace("/usr/local/bin/ferryd", &ferryd.display().to_string());
    let path = dir.path().join("ferryd.service");
    std::fs::write(&path, unit).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && text.trim().is_empty(), "{text}");
}
