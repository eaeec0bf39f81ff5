//! `ferryctl validate` on bad task and source files (offline: no daemon, no server):
//! every problem is reported on stderr with the file, `line:column` and key path, the
//! exit status is non-zero, and all the errors of a file are reported together.

use std::path::{Path, PathBuf};

use ferry_tests::ferry::{ferryctl, path_str, CtlOutput};

/// A valid full task; each case below breaks it in one place.
const BASE_TASK: &str = r#"name: "v-task"
task-mode: full
target-database:
  host: "127.0.0.1"
  port: 4000
  user: "root"
  password: ""
block-allow-list:
  ba:
    do-dbs: ["app"]
mydumpers:
  d:
    threads: 4
    extra-args: "--consistency none"
mysql-instances:
  - source-id: "s1"
    block-allow-list: "ba"
    mydumper-config-name: "d"
"#;

const BASE_SOURCE: &str = r#"source-id: "s1"
from:
  host: "${FERRY_TEST_HOST}"
  user: "root"
  password: ""
  port: 3306
"#;

/// Writes `text` as `dir/name`.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    p
}

/// 1-based (line, column) of the `nth` (0-based) occurrence of `needle` in `text`.
fn position(text: &str, needle: &str, nth: usize) -> (usize, usize) {
    let at = text
        .match_indices(needle)
        .nth(nth)
        .unwrap_or_else(|| panic!("{needle:?} #{nth} not in:\n{text}"))
        .0;
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, col)
}

/// Asserts that stderr has a line `file:line:col: path: ...` containing `words`.
#[track_caller]
fn assert_reported(out: &CtlOutput, file: &Path, at: (usize, usize), path: &str, words: &[&str]) {
    let prefix = format!("{}:{}:{}: {path}: ", file.display(), at.0, at.1);
    let line = out
        .stderr
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no error starting with `{prefix}`:\n{out}"));
    for w in words {
        assert!(line.contains(w), "`{w}` missing from `{line}`:\n{out}");
    }
}

async fn validate(files: &[&Path]) -> CtlOutput {
    let mut args = vec!["validate"];
    args.extend(files.iter().map(|f| path_str(f)));
    ferryctl(&args, &[("FERRY_TEST_HOST", "127.0.0.1")]).await
}

#[tokio::test]
async fn the_base_files_are_valid() {
    let dir = tempfile::tempdir().unwrap();
    let task = write(dir.path(), "task.yaml", BASE_TASK);
    let source = write(dir.path(), "source.yaml", BASE_SOURCE);
    let out = validate(&[&task, &source]).await;
    assert!(out.ok, "{out}");
    assert_eq!(out.json["result"], true, "{out}");
}

#[tokio::test]
async fn unknown_key() {
    let dir = tempfile::tempdir().unwrap();
    let text = BASE_TASK.replace(
        "    mydumper-config-name: \"d\"\n",
        "    mydumper-config-name: \"d\"\n    bogus-key: 1\n",
    );
    let f = write(dir.path(), "task.yaml", &text);
    let out = validate(&[&f]).await;
    assert!(!out.ok, "{out}");
    assert_reported(
        &out,
        &f,
        position(&text, "bogus-key", 0),
        "mysql-instances[0].bogus-key",
        &["bogus-key"],
    );
}

#[tokio::test]
async fn wrong_type() {
    let dir = tempfile::tempdir().unwrap();
    let text = BASE_TASK.replace("    threads: 4\n", "    threads: many\n");
    let f = write(dir.path(), "task.yaml", &text);
    let out = validate(&[&f]).await;
    assert!(!out.ok, "{out}");
    // The position of the value.
    assert_reported(
        &out,
        &f,
        position(&text, "many", 0),
        "mydumpers.d.threads",
        &[],
    );
}

#[tokio::test]
async fn duplicate_key() {
    let dir = tempfile::tempdir().unwrap();
    let text = BASE_TASK.replace("task-mode: full\n", "task-mode: full\nname: \"again\"\n");
    let f = write(dir.path(), "task.yaml", &text);
    let out = validate(&[&f]).await;
    assert!(!out.ok, "{out}");
    assert_reported(&out, &f, position(&text, "name:", 1), "name", &[]);
}

#[tokio::test]
async fn undefined_block_allow_list() {
    let dir = tempfile::tempdir().unwrap();
    let text = BASE_TASK.replace(
        "    block-allow-list: \"ba\"\n",
        "    block-allow-list: \"nope\"\n",
    );
    // `ba` is now unused, which DM does not report for block-allow-list rules.
    let f = write(dir.path(), "task.yaml", &text);
    let out = validate(&[&f]).await;
    assert!(!out.ok, "{out}");
    assert_reported(
        &out,
        &f,
        position(&text, "block-allow-list: \"nope\"", 0),
        "mysql-instances[0].block-allow-list",
        &["nope"],
    );
}

#[tokio::test]
async fn unused_global_rule() {
    let dir = tempfile::tempdir().unwrap();
    let text = BASE_TASK.replace(
        "mydumpers:\n",
        "routes:\n  lonely:\n    schema-pattern: \"app\"\n    target-schema: \"x\"\nmydumpers:\n",
    );
    let f = write(dir.path(), "task.yaml", &text);
    let out = validate(&[&f]).await;
    assert!(!out.ok, "{out}");
    assert_reported(&out, &f, position(&text, "lonely", 0), "routes.lonely", &[]);
}

/// An unset `${NAME}` names the file, the placeholder's position, the key path (`from.user`)
/// and the variable.
#[tokio::test]
async fn unset_variable_names_the_key_path() {
    let dir = tempfile::tempdir().unwrap();
    let text = BASE_SOURCE.replace(
        "  user: \"root\"\n",
        "  user: \"${FERRY_TEST_UNSET_USER}\"\n",
    );
    let f = write(dir.path(), "source.yaml", &text);
    let out = validate(&[&f]).await;
    assert!(!out.ok, "{out}");
    assert_reported(
        &out,
        &f,
        position(&text, "${FERRY_TEST_UNSET_USER}", 0),
        "from.user",
        &["FERRY_TEST_UNSET_USER"],
    );
}

/// A duplicate key must not hide the other errors of the file.
#[tokio::test]
async fn duplicate_key_does_not_hide_other_errors() {
    let dir = tempfile::tempdir().unwrap();
    let text = BASE_TASK
        .replace("task-mode: full\n", "task-mode: full\nname: \"again\"\n")
        .replace("    threads: 4\n", "    threads: many\n");
    let f = write(dir.path(), "task.yaml", &text);
    let out = validate(&[&f]).await;
    assert!(!out.ok, "{out}");
    assert_reported(&out, &f, position(&text, "name:", 1), "name", &[]);
    assert_reported(
        &out,
        &f,
        position(&text, "many", 0),
        "mydumpers.d.threads",
        &[],
    );
}

/// An unset `${NAME}` must not hide the other errors of the file.
#[tokio::test]
async fn unset_variable_does_not_hide_other_errors() {
    let dir = tempfile::tempdir().unwrap();
    let text = BASE_SOURCE
        .replace(
            "  user: \"root\"\n",
            "  user: \"${FERRY_TEST_UNSET_USER}\"\n",
        )
        .replace("  port: 3306\n", "  port: 3306\n  colour: blue\n");
    let f = write(dir.path(), "source.yaml", &text);
    let out = validate(&[&f]).await;
    assert!(!out.ok, "{out}");
    assert_reported(&out, &f, position(&text, "colour", 0), "from.colour", &[]);
    assert!(out.stderr.contains("FERRY_TEST_UNSET_USER"), "{out}");
}

/// Reference errors are collected: an undefined block-allow-list, an undefined
/// mydumper config, a rule listed twice and an unused rule, all reported together.
#[tokio::test]
async fn reference_errors_are_reported_together() {
    let dir = tempfile::tempdir().unwrap();
    let text = BASE_TASK
        .replace(
            "mydumpers:\n",
            "routes:\n  lonely:\n    schema-pattern: \"app\"\n    target-schema: \"x\"\n  r1:\n    schema-pattern: \"app\"\n    target-schema: \"y\"\nmydumpers:\n",
        )
        .replace(
            "    block-allow-list: \"ba\"\n    mydumper-config-name: \"d\"\n",
            "    block-allow-list: \"nope\"\n    route-rules: [\"r1\", \"r1\"]\n    mydumper-config-name: \"d2\"\n",
        );
    let f = write(dir.path(), "task.yaml", &text);
    let out = validate(&[&f]).await;
    assert!(!out.ok, "{out}");
    assert_reported(&out, &f, position(&text, "lonely", 0), "routes.lonely", &[]);
    let (line, col) = position(&text, "  d:\n", 0);
    assert_reported(&out, &f, (line, col + 2), "mydumpers.d", &[]);
    assert_reported(
        &out,
        &f,
        position(&text, "block-allow-list: \"nope\"", 0),
        "mysql-instances[0].block-allow-list",
        &["nope"],
    );
    assert_reported(
        &out,
        &f,
        position(&text, "\"r1\"", 1),
        "mysql-instances[0].route-rules[1]",
        &[],
    );
    assert_reported(
        &out,
        &f,
        position(&text, "mydumper-config-name: \"d2\"", 0),
        "mysql-instances[0].mydumper-config-name",
        &["d2"],
    );
}

/// A wrong type, an unknown key, an undefined reference and an unused rule in one task
/// file, plus a bad source file in the same call: every error is reported, one line
/// each, in file order.
#[tokio::test]
async fn several_errors_are_all_reported() {
    let dir = tempfile::tempdir().unwrap();
    let text = BASE_TASK
        .replace("    threads: 4\n", "    threads: many\n")
        .replace(
            "mydumpers:\n",
            "routes:\n  lonely:\n    schema-pattern: \"app\"\n    target-schema: \"x\"\nmydumpers:\n",
        )
        .replace(
            "    block-allow-list: \"ba\"\n    mydumper-config-name: \"d\"\n",
            "    block-allow-list: \"nope\"\n    mydumper-config-name: \"d\"\n    bogus-key: 1\n",
        );
    let f = write(dir.path(), "task.yaml", &text);
    let source_text = BASE_SOURCE.replace("  port: 3306\n", "  port: 3306\n  colour: blue\n");
    let s = write(dir.path(), "source.yaml", &source_text);
    let out = validate(&[&f, &s]).await;
    assert!(!out.ok, "{out}");
    let cases: &[(&str, usize, &str)] = &[
        ("lonely", 0, "routes.lonely"),
        ("many", 0, "mydumpers.d.threads"),
        (
            "block-allow-list: \"nope\"",
            0,
            "mysql-instances[0].block-allow-list",
        ),
        ("bogus-key", 0, "mysql-instances[0].bogus-key"),
    ];
    let task_lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with(path_str(&f)))
        .collect();
    for (needle, nth, path) in cases {
        assert_reported(&out, &f, position(&text, needle, *nth), path, &[]);
    }
    assert_eq!(task_lines.len(), cases.len(), "{out}");
    // In file order.
    let lines: Vec<usize> = task_lines
        .iter()
        .map(|l| {
            l[path_str(&f).len() + 1..]
                .split(':')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        })
        .collect();
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted, "{out}");
    // The other file's error too.
    assert_reported(
        &out,
        &s,
        position(&source_text, "colour", 0),
        "from.colour",
        &[],
    );
    // The JSON answer lists each file's errors.
    let files = out.json["files"].as_array().cloned().unwrap_or_default();
    assert_eq!(files.len(), 2, "{out}");
    assert_eq!(files[0]["result"], false, "{out}");
    assert_eq!(
        files[0]["errors"].as_array().map(Vec::len),
        Some(cases.len()),
        "{out}"
    );
}
