//! The seed guide's source1.yaml and task1.yaml.

use super::*;

// ---------------------------------------------------------------------------------------
// 3. The seed guide's files, verbatim except the ports.
// ---------------------------------------------------------------------------------------

/// `config/tests/fixtures/<name>`.
fn seed_file(name: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../config/tests/fixtures")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Replaces the value of every `port:` line (keeping indentation and comments).
fn with_port(text: &str, port: u16) -> String {
    let mut replaced = 0;
    let out: Vec<String> = text
        .lines()
        .map(|l| {
            let t = l.trim_start();
            if let Some(rest) = t.strip_prefix("port:") {
                replaced += 1;
                let indent = &l[..l.len() - t.len()];
                let comment = rest.find('#').map(|i| &rest[i..]).unwrap_or("");
                format!("{indent}port: {port} {comment}")
                    .trim_end()
                    .to_string()
            } else {
                l.to_string()
            }
        })
        .collect();
    assert_eq!(replaced, 1, "one port line expected in:\n{text}");
    out.join("\n") + "\n"
}

const SEED_ENV: &[(&str, &str)] = &[
    ("host", "127.0.0.1"),
    ("username", "root"),
    ("password", ""),
];

/// source1.yaml + task1.yaml (task-mode full, selects test_db.test_table): check-task,
/// start-task, Finished, and only test_table is copied.
#[tokio::test]
async fn seed_task1_copies_only_test_table() {
    let up = shared(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let mut u = up.conn().await;
    for sql in [
        "CREATE DATABASE IF NOT EXISTS test_db",
        "DROP TABLE IF EXISTS test_db.test_table, test_db.other_table",
        "CREATE TABLE test_db.test_table (id INT PRIMARY KEY, name VARCHAR(50), \
         created DATETIME(6), amount DECIMAL(12,2))",
        "CREATE TABLE test_db.other_table (id INT PRIMARY KEY, v VARCHAR(10))",
        "INSERT INTO test_db.other_table VALUES (1, 'no'), (2, 'never')",
    ] {
        exec(&mut u, sql).await;
    }
    exec(
        &mut u,
        &format!(
            "INSERT INTO test_db.test_table SELECT n, CONCAT('name ', n), \
             TIMESTAMP('2024-01-01 00:00:00.123456') + INTERVAL n HOUR, n * 1.25 FROM {}",
            seed_seq()
        ),
    )
    .await;

    let ferry = Ferry::start_temp("seed1");
    let source = ferry.write_file(
        "source1.yaml",
        &with_port(&seed_file("source1.yaml"), up.port()),
    );
    let task = ferry.write_file(
        "task1.yaml",
        &with_port(&seed_file("task1.yaml"), down.port()),
    );
    let (source, task) = (path_str(&source), path_str(&task));

    let created = ferry
        .ctl_env(&["operate-source", "create", source], SEED_ENV)
        .await;
    assert!(created.ok, "{created}");
    let shown = ferry.ctl_ok(&["operate-source", "show"]).await;
    assert_eq!(shown["sources"][0]["source"], "Aurora-A", "{shown:#}");

    let check = ferry.ctl_env(&["check-task", task], SEED_ENV).await;
    assert!(check.ok, "{check}");
    assert_eq!(check.json["result"], true, "{check}");
    assert_eq!(check.json["summary"]["failed"], 0, "{check}");
    let items = check.json["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!items.is_empty(), "{check}");
    for item in &items {
        assert_ne!(item["state"], "fail", "{item:#}");
    }

    let started = ferry.ctl_env(&["start-task", task], SEED_ENV).await;
    assert!(started.ok, "{started}");
    ferry.wait_stage("task1", "Finished", FINISH).await;

    let mut d = down.conn().await;
    assert_eq!(list_tables(&mut d, "test_db").await, ["test_table"]);
    let rows = assert_tables_equal(
        &mut u,
        &mut d,
        ("test_db", "test_table"),
        ("test_db", "test_table"),
    )
    .await;
    assert_eq!(rows, 1000);
}

fn seed_seq() -> String {
    seq(1000)
}
