//! `config task|source`, `get-config`, `config export` and `config import`: the stored
//! configurations with their passwords sealed (never in clear), imported on a fresh ferryd
//! that has the same key, where the task goes on replicating.

use std::path::{Path, PathBuf};

use rand::Rng;

use super::*;

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_then_import_on_a_fresh_daemon_with_the_key() {
    let up = shared(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let (db, file, pos) = fresh_db(up, "cfgx").await;
    let tag = db[db.len() - 4..].to_string();
    let user = format!("cfgx_{tag}");
    let password = format!("Export-Marker-{tag}-{}", rand::thread_rng().gen::<u32>());
    let mut c = up.conn().await;
    ferry_tests::data::create_user(&mut c, &user, &password, "").await;

    let root = tempfile::Builder::new()
        .prefix("ferry-cfgx-")
        .tempdir_in("/var/tmp")
        .unwrap();
    let mut a = Ferry::start(root.path().join("a"));
    let src = a.write_file(
        "source.yaml",
        &format!(
            "source-id: \"up\"\nfrom:\n  host: \"127.0.0.1\"\n  port: {}\n  user: \"{user}\"\n  password: \"${{UP_PW}}\"\n",
            up.port()
        ),
    );
    let out = a
        .ctl_env(
            &["operate-source", "create", path_str(&src)],
            &[("UP_PW", &password)],
        )
        .await;
    assert!(out.ok, "{out}");
    let task = format!("cfgx_{tag}");
    start_replicating(&a, &task, (up, down), (&db, &file, pos)).await;

    // One stored configuration: YAML, the password sealed.
    let v = a.ctl_ok(&["config", "source", "up"]).await;
    let cfg = v["cfg"].as_str().unwrap_or_default();
    assert!(
        cfg.contains("source-id") && cfg.contains("ferry:v1:"),
        "{cfg}"
    );
    assert!(!cfg.contains(&password), "{cfg}");
    let v = a.ctl_ok(&["get-config", "task", &task]).await;
    let cfg = v["cfg"].as_str().unwrap_or_default();
    assert!(
        cfg.contains(&task) && cfg.contains("mysql-instances"),
        "{cfg}"
    );
    let to = root.path().join("task-copy.yaml");
    let v = a
        .ctl_ok(&["get-config", "task", &task, "-f", path_str(&to)])
        .await;
    assert_eq!(v["cfg"], "", "{v}");
    assert!(std::fs::read_to_string(&to)
        .unwrap()
        .contains("mysql-instances"));
    a.ctl_refused(&["config", "task", "nope"], "task `nope` does not exist")
        .await;
    a.ctl_refused(
        &["get-config", "source", "nope"],
        "source `nope` does not exist",
    )
    .await;
    a.ctl_refused(
        &["get-config", "worker", "w1"],
        "invalid config type 'worker'",
    )
    .await;

    // Export: one file per source and task, nothing in clear.
    let dir = root.path().join("configs");
    let v = a.ctl_ok(&["config", "export", "-d", path_str(&dir)]).await;
    assert!(v["msg"].as_str().unwrap_or("").contains("succeed"), "{v}");
    let src_file = dir.join("sources").join("up.yaml");
    let task_path = dir.join("tasks").join(format!("{task}.yaml"));
    let all = files(&dir);
    assert_eq!(all.len(), 2, "{all:?}");
    for p in &all {
        let text = std::fs::read_to_string(p).unwrap();
        assert!(
            !text.contains(&password),
            "{} holds the password in clear",
            p.display()
        );
    }
    assert!(std::fs::read_to_string(&src_file)
        .unwrap()
        .contains("ferry:v1:"));
    assert!(task_path.exists());

    // A fresh daemon with the same key (the data dir's secret.key carried over).
    a.stop();
    let b_dir = root.path().join("b");
    std::fs::create_dir_all(&b_dir).unwrap();
    std::fs::copy(
        root.path().join("a").join("secret.key"),
        b_dir.join("secret.key"),
    )
    .unwrap();
    let b = Ferry::start(&b_dir);
    let v = b.ctl_ok(&["config", "import", "-d", path_str(&dir)]).await;
    assert!(v["msg"].as_str().unwrap_or("").contains("succeed"), "{v}");
    b.wait_stage(&task, "Running", WAIT).await;
    insert(up, &db, 2).await;
    wait_rows(down, &db, 2).await;
    // Again: what exists counts as imported.
    let v = b.ctl_ok(&["config", "import", "-d", path_str(&dir)]).await;
    assert_eq!(v["sources"][0]["existed"], true, "{v}");

    // A daemon with another key cannot open the sealed password: the import fails, naming it.
    let c_dir = root.path().join("c");
    let other = Ferry::start(&c_dir);
    let out = other.ctl(&["config", "import", "-d", path_str(&dir)]).await;
    assert!(!out.ok, "{out}");
    assert!(out.text().contains("fail to create sources"), "{out}");
    drop(other);
    b.ctl_ok(&["stop-task", &task]).await;
    drop(b);
    exec(&mut up.conn().await, &format!("DROP USER '{user}'@'%'")).await;
}
