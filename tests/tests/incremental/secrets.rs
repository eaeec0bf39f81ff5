//! Passwords at rest and in output: without `secret-key-path` ferryd seals them with a key it
//! generates in the data dir (mode 0600); no file of the data dir, no log line, no API answer
//! and no metric holds a password in clear, and a restart still reads them.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::*;
use ferry_tests::data::count_rows;

/// Every file under `dir`, recursively.
fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_are_sealed_at_rest_and_never_shown() {
    let up = shared(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let db = unique_db_name("secret");
    let tag = &db[db.len() - 4..];
    let user = format!("sealed_{tag}");
    let password = format!("Sealed-Marker-{tag}-{}", rand::thread_rng().gen::<u32>());
    let q = quote_ident(&db);
    let mut c = up.conn().await;
    ferry_tests::data::create_user(&mut c, &user, &password, "").await;
    create_database(&mut c, &db).await;
    exec(&mut c, &format!("CREATE TABLE {q}.t (id INT PRIMARY KEY)")).await;
    exec(&mut c, &format!("INSERT INTO {q}.t VALUES (1)")).await;

    let mut ferry = Ferry::start_temp("secret");
    let src = ferry.write_file(
        "source.yaml",
        &format!(
            "source-id: \"up\"\nfrom:\n  host: \"127.0.0.1\"\n  port: {}\n  user: \"{user}\"\n  password: \"{password}\"\n",
            up.port()
        ),
    );
    ferry
        .ctl_ok(&["operate-source", "create", path_str(&src)])
        .await;
    // The submitted file itself is the test's, not ferryd's: remove it before looking.
    std::fs::remove_file(&src).unwrap();
    let task = format!("secret_{tag}");
    let f = ferry.write_file("task.yaml", &task_file(&task, "all", down, "up", &db, ""));
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;
    wait_caught_up(&ferry, &task, up, CATCH_UP).await;

    let key = ferry.data_dir().join("secret.key");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the generated key is private");

    let mut shown: Vec<(String, String)> = vec![
        (
            "operate-source show".into(),
            ferry.ctl(&["operate-source", "show"]).await.to_string(),
        ),
        (
            "query-status TASK".into(),
            ferry.ctl(&["query-status", &task]).await.to_string(),
        ),
        (
            "query-status".into(),
            ferry.ctl(&["query-status"]).await.to_string(),
        ),
        ("/metrics".into(), ferry.http_get("/metrics")),
        ("/status".into(), ferry.http_get("/status")),
    ];
    let mut all = Vec::new();
    files(ferry.data_dir(), &mut all);
    assert!(
        all.len() > 3,
        "the data dir holds the store and the log: {all:?}"
    );
    for p in &all {
        let text = String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
        shown.push((p.display().to_string(), text));
    }
    for (what, text) in &shown {
        assert!(
            !text.contains(&password),
            "the password is in clear in {what}"
        );
    }

    // A restart reads the sealed password with the same key and replicates on.
    ferry.restart();
    exec(&mut c, &format!("INSERT INTO {q}.t VALUES (2)")).await;
    wait_caught_up(&ferry, &task, up, CATCH_UP).await;
    assert_eq!(count_rows(&mut down.conn().await, &db, "t").await, 2);
    ferry.ctl_ok(&["stop-task", &task]).await;
    exec(&mut c, &format!("DROP USER '{user}'@'%'")).await;
}
