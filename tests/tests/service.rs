//! ferryd as a systemd service: the `sd_notify` sequence (READY, WATCHDOG pings, RELOADING …
//! READY around SIGHUP, STOPPING at SIGTERM), SIGHUP's reload (log level in place, log file
//! reopened, an invalid file refused while everything keeps running), and the unit file
//! checked by `systemd-analyze verify`.

use std::io::Write;
use std::net::TcpStream;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ferry_tests::child::{wait_exit, Spawned};
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

#[test]
fn systemd_notifications_watchdog_and_sighup_reload() {
    let dir = tempfile::tempdir().unwrap();
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    let port = reserve_port().unwrap();
    let config = dir.path().join("ferryd.yaml");
    write_config(&config, port, dir.path(), "info");
    let log = dir.path().join("ferryd.log");
    let mut daemon = Spawned(
        Command::new(bin("ferryd"))
            .arg("--config")
            .arg(&config)
            .env("NOTIFY_SOCKET", &sock_path)
            .env("WATCHDOG_USEC", "400000")
            .env_remove("WATCHDOG_PID")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pid = daemon.0.id();
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
    let status = wait_exit(&mut daemon.0, Duration::from_secs(30));
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

/// The `/status` answer of the ferryd on `port`.
fn status(port: u16) -> serde_json::Value {
    let resp = ferry_tests::ferry::http_get(&format!("127.0.0.1:{port}"), "/status");
    let body = resp.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {resp}"))
}

/// `source-dir` / `task-dir`: applied at start-up and at each SIGHUP. A file added is started,
/// a changed one restarted from its checkpoint, a removed one stopped, an unchanged one left
/// alone; an invalid file refuses the whole reload, shown by `/status`; what ferryd applied
/// survives a restart.
#[test]
fn source_and_task_folders_are_reconciled_at_start_and_on_sighup() {
    use ferry_tests::ferry::{source_yaml, task_yaml};
    use ferry_tests::{shared, unique_db_name, DbKind, Role};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let up = shared(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let (db1, db2) = (unique_db_name("fold"), unique_db_name("fold"));
    rt.block_on(async {
        let mut c = up.conn().await;
        for db in [&db1, &db2] {
            ferry_tests::create_database(&mut c, db).await;
            ferry_tests::data::exec(
                &mut c,
                &format!("CREATE TABLE `{db}`.t (id INT PRIMARY KEY)"),
            )
            .await;
            ferry_tests::data::exec(&mut c, &format!("INSERT INTO `{db}`.t VALUES (1), (2)")).await;
        }
    });
    let task = |name: &str, db: &str, batch: u32| {
        task_yaml(
            name,
            down,
            &format!(
                "block-allow-list:\n  bal:\n    do-dbs: [\"{db}\"]\nsyncers:\n  s:\n    batch: {batch}\n\
                 mysql-instances:\n  - source-id: \"fup\"\n    block-allow-list: \"bal\"\n    syncer-config-name: \"s\"\n"
            ),
        )
        .replace("task-mode: full", "task-mode: all")
    };
    let (t1, t2) = (format!("{db1}_t"), format!("{db2}_t"));

    let dir = tempfile::tempdir().unwrap();
    let (sources, tasks) = (dir.path().join("sources"), dir.path().join("tasks"));
    std::fs::create_dir_all(&sources).unwrap();
    std::fs::create_dir_all(&tasks).unwrap();
    std::fs::write(sources.join("up.yaml"), source_yaml("fup", up)).unwrap();
    std::fs::write(tasks.join("t1.yaml"), task(&t1, &db1, 100)).unwrap();
    let port = reserve_port().unwrap();
    let config = dir.path().join("ferryd.yaml");
    std::fs::write(
        &config,
        format!(
            "master-addr: \"127.0.0.1:{port}\"\ndata-dir: \"{}\"\nlog-file: \"{}\"\nsource-dir: \"{}\"\ntask-dir: \"{}\"\n",
            dir.path().join("data").display(),
            dir.path().join("ferryd.log").display(),
            sources.display(),
            tasks.display()
        ),
    )
    .unwrap();
    let start = || {
        Spawned(
            Command::new(bin("ferryd"))
                .arg("--config")
                .arg(&config)
                .env_remove("NOTIFY_SOCKET")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        )
    };
    let ctl = |args: &[&str]| -> serde_json::Value {
        let out = Command::new(bin("ferryctl"))
            .env_remove("DM_MASTER_ADDR")
            .stdin(Stdio::null())
            .arg("--master-addr")
            .arg(format!("127.0.0.1:{port}"))
            .args(args)
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
    };
    let stage = |name: &str| -> Option<String> {
        let st = ctl(&["query-status", name]);
        st["sources"][0]["subTaskStatus"][0]["stage"]
            .as_str()
            .map(str::to_string)
    };
    let wait = |what: &str, cond: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if cond() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "timed out waiting for {what}; /status: {}\nlog:\n{}",
            status(port),
            std::fs::read_to_string(dir.path().join("ferryd.log")).unwrap_or_default()
        );
    };
    let folders_ok = || status(port)["folders"]["result"] == serde_json::json!(true);
    // Each clean application of the folders ends with this line.
    let applied = |n: usize| {
        std::fs::read_to_string(dir.path().join("ferryd.log"))
            .unwrap_or_default()
            .matches("source-dir / task-dir applied")
            .count()
            >= n
    };

    // Start-up applies the folders.
    let mut child = start();
    wait("the folders applied at start-up", &|| applied(1));
    wait("t1 running", &|| stage(&t1).as_deref() == Some("Running"));
    wait("/status says so", &folders_ok);

    // A task added and one changed: t2 starts, t1 restarts; the source is left alone.
    std::fs::write(tasks.join("t2.yaml"), task(&t2, &db2, 100)).unwrap();
    std::fs::write(tasks.join("t1.yaml"), task(&t1, &db1, 50)).unwrap();
    send_signal(child.0.id(), SIGHUP);
    wait("the reload applied", &|| applied(2));
    wait("t2 running", &|| stage(&t2).as_deref() == Some("Running"));
    wait("/status says so", &folders_ok);
    let log = std::fs::read_to_string(dir.path().join("ferryd.log")).unwrap();
    assert!(
        log.contains("task stopped (task-dir)") && !log.contains("source stopped"),
        "t1 restarted, the source untouched:\n{log}"
    );
    assert_eq!(stage(&t1).as_deref(), Some("Running"));

    // An invalid file refuses the whole reload: t2's removal waits too.
    std::fs::remove_file(tasks.join("t2.yaml")).unwrap();
    std::fs::write(
        tasks.join("t3.yaml"),
        "name: \"t3\"\ntask-mode: all\nbogus-key: 1\n",
    )
    .unwrap();
    send_signal(child.0.id(), SIGHUP);
    wait("the reload refused", &|| {
        status(port)["folders"]["msg"]
            .as_str()
            .is_some_and(|m| m.contains("t3.yaml") && m.contains("bogus-key"))
    });
    assert_eq!(stage(&t2).as_deref(), Some("Running"), "nothing changed");

    std::fs::remove_file(tasks.join("t3.yaml")).unwrap();
    send_signal(child.0.id(), SIGHUP);
    wait("the reload applied", &|| applied(3));
    assert!(stage(&t2).is_none(), "t2 stopped");
    wait("/status says so", &folders_ok);

    // A restart changes nothing: t1 is restored by the store and left alone by the folders.
    send_signal(child.0.id(), SIGTERM);
    assert!(wait_exit(&mut child.0, Duration::from_secs(30)).success());
    let before = std::fs::read_to_string(dir.path().join("data/folders.json")).unwrap();
    let mut child = start();
    wait("t1 running again", &|| {
        stage(&t1).as_deref() == Some("Running")
    });
    wait("folders applied at start", &|| applied(4));
    wait("/status says so", &folders_ok);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("data/folders.json")).unwrap(),
        before
    );
    assert!(stage(&t2).is_none());
    rt.block_on(async {
        let mut d = down.conn().await;
        assert_eq!(ferry_tests::data::count_rows(&mut d, &db1, "t").await, 2);
        assert_eq!(ferry_tests::data::count_rows(&mut d, &db2, "t").await, 2);
    });

    // The source's file and its task's file removed together: both stop.
    std::fs::remove_file(tasks.join("t1.yaml")).unwrap();
    std::fs::remove_file(sources.join("up.yaml")).unwrap();
    send_signal(child.0.id(), SIGHUP);
    wait("the removal applied", &|| applied(5));
    wait("/status says so", &folders_ok);
    assert!(stage(&t1).is_none(), "t1 stopped");
    let shown = ctl(&["operate-source", "show"]).to_string();
    assert!(!shown.contains("fup"), "the source stopped: {shown}");
    send_signal(child.0.id(), SIGTERM);
    assert!(wait_exit(&mut child.0, Duration::from_secs(30)).success());
}
