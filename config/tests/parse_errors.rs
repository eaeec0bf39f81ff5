//! Errors of the YAML itself (unknown keys, wrong types, duplicate keys, syntax, unset
//! variables) name the file, line, column and key path, columns counted in the original
//! text; they do not stop the parse, so all errors of a file are reported together.

mod common;

use common::errors::*;
use common::*;
use ferry_config::{load_task_file, parse_source_str, ErrorKind};

#[test]
fn unknown_key_is_named_with_its_position() {
    let text = format!("{HEAD}mysql-instances:\n  - source-id: a\n    bogus-key: 1\n");
    let errs = task_errors(&text);
    assert_eq!(errs.len(), 1, "{errs}");
    assert_at(
        &errs,
        "mysql-instances[0].bogus-key",
        ErrorKind::UnknownKey,
        7,
        5,
    );
    assert!(errs.errors()[0]
        .message
        .contains("unknown field `bogus-key`"));
}

#[test]
fn wrong_type_points_at_the_value() {
    let text = format!("{HEAD}mysql-instances:\n  - source-id: a\n    mydumper-thread: abc\n");
    let errs = task_errors(&text);
    assert_at(
        &errs,
        "mysql-instances[0].mydumper-thread",
        ErrorKind::InvalidType,
        7,
        22,
    );
    assert_eq!(
        errs.to_string(),
        "task.yaml:7:22: mysql-instances[0].mydumper-thread: invalid value: expected a non-negative \
         integer (u32)"
    );
}

#[test]
fn duplicate_keys_are_errors() {
    let errs = task_errors(&format!("{HEAD}name: again\n"));
    assert_at(&errs, "name", ErrorKind::DuplicateKey, 5, 1);

    let text = format!(
        "{HEAD}mysql-instances:\n  - source-id: a\n    route-rules: [r1]\nroutes:\n  r1: \
         {{schema-pattern: a}}\n  r1: {{schema-pattern: b}}\n"
    );
    let errs = task_errors(&text);
    assert_at(&errs, "routes.r1", ErrorKind::DuplicateKey, 10, 3);
}

#[test]
fn syntax_errors_have_a_position() {
    let errs = task_errors("name: t\nmysql-instances:\n  - source-id: a\n   bad: [\n");
    let e = &errs.errors()[0];
    assert_eq!(e.kind, ErrorKind::Syntax);
    assert_eq!(e.line, Some(4));
    assert!(e.column.is_some());
}

#[test]
fn columns_after_a_placeholder_refer_to_the_original_text() {
    // The error is on the value after a substituted placeholder on the same line.
    let text = "source-id: x\nfrom: {host: \"${H}\", port: nope}\n";
    let env = env_of(&[("H", "a-much-longer-host-name.example.com")]);
    let errs = parse_source_str(text, "s.yaml", &env, None).unwrap_err();
    let e = &errs.errors()[0];
    assert_eq!(e.path, "from.port");
    assert_eq!(e.kind, ErrorKind::InvalidType);
    assert_eq!((e.line, e.column), (Some(2), Some(28)));
}

#[test]
fn files_are_named_by_their_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("task9.yaml");
    std::fs::write(&path, "name: t\ntask-mode: full\nbogus: 1\n").unwrap();
    let errs = load_task_file(&path, None).unwrap_err();
    let shown = errs.to_string();
    // The unknown key, and the missing target-database and mysql-instances with it.
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with(&format!("{}:3:1: bogus: unknown field", path.display()))),
        "{shown}"
    );
    let missing = load_task_file(&dir.path().join("absent.yaml"), None).unwrap_err();
    assert_eq!(missing.errors()[0].kind, ErrorKind::Io);
    assert!(missing.to_string().contains("absent.yaml"));
}

#[test]
fn columns_count_characters_not_bytes() {
    // Multi-byte characters before the offending value on the same line.
    let text =
        "source-id: x\nfrom: {user: \"数据库用户\", host: h, port: nope}\nflavor: {a: \"é\"}\n";
    let errs = parse_source_str(text, "s.yaml", &no_env, None).unwrap_err();
    let e = &errs.errors()[0];
    assert_eq!(e.path, "from.port");
    let expected = "from: {user: \"数据库用户\", host: h, port: "
        .chars()
        .count() as u64
        + 1;
    assert_eq!((e.line, e.column), (Some(2), Some(expected)));

    let text = "source-id: \"数据\"\nflavor: \"é\" # 注释\n";
    let errs = parse_source_str(text, "s.yaml", &no_env, None).unwrap_err();
    let e = errs.errors().iter().find(|e| e.path == "flavor").unwrap();
    assert_eq!(e.kind, ErrorKind::InvalidValue);
    assert_eq!((e.line, e.column), (Some(2), Some(9)));
}

/// Unknown keys, duplicates and wrong types do not stop the parse: every one of them is
/// reported, with the semantic errors of the rest of the file.
#[test]
fn parse_errors_do_not_hide_each_other_or_the_semantic_errors() {
    let text = format!(
        "{HEAD}\
mysql-instances:
  - source-id: a
    route-rules: [r1, nope]
    bogus-key: 1
    mydumper-config-name: d
  - source-id: b
    mydumper-thread: many
    source-id: c
routes:
  r1: {{schema-pattern: a, colour: red}}
  lonely: {{schema-pattern: b}}
mydumpers:
  d:
    threads: x
    extra: 1
syncers:
  s: {{worker-count: [1], max-retry: 3, nope: 2}}
name: again
"
    );
    let errs = task_errors(&text);
    let p = "mysql-instances";
    assert_at(
        &errs,
        &format!("{p}[0].route-rules[1]"),
        ErrorKind::UndefinedReference,
        7,
        23,
    );
    assert_at(
        &errs,
        &format!("{p}[0].bogus-key"),
        ErrorKind::UnknownKey,
        8,
        5,
    );
    assert_at(
        &errs,
        &format!("{p}[1].mydumper-thread"),
        ErrorKind::InvalidType,
        11,
        22,
    );
    assert_at(
        &errs,
        &format!("{p}[1].source-id"),
        ErrorKind::DuplicateKey,
        12,
        5,
    );
    assert_at(&errs, "routes.r1.colour", ErrorKind::UnknownKey, 14, 27);
    assert_at(&errs, "routes.lonely", ErrorKind::UnusedRule, 15, 3);
    assert_at(&errs, "mydumpers.d.threads", ErrorKind::InvalidType, 18, 14);
    assert_at(&errs, "mydumpers.d.extra", ErrorKind::UnknownKey, 19, 5);
    assert_at(
        &errs,
        "syncers.s.worker-count",
        ErrorKind::InvalidType,
        21,
        21,
    );
    assert_at(&errs, "syncers.s.nope", ErrorKind::UnknownKey, 21, 40);
    assert_at(&errs, "syncers.s", ErrorKind::UnusedRule, 21, 3);
    assert_at(&errs, "name", ErrorKind::DuplicateKey, 22, 1);
    // Nothing else: no error follows from a dropped value (the default mydumper threads,
    // syncer worker-count and instance thread count are fine).
    assert_eq!(errs.len(), 12, "{errs}");
    let lines: Vec<u64> = errs.errors().iter().filter_map(|e| e.line).collect();
    assert!(lines.windows(2).all(|w| w[0] <= w[1]), "{errs}");
}

/// A wrong type where a list of rule names is expected: the rules it named are not
/// reported as unused, and a wrongly typed item keeps the items after it checked.
#[test]
fn dropped_values_do_not_cause_errors_of_their_own() {
    let text = format!(
        "{HEAD}\
mysql-instances:
  - source-id: a
    route-rules: r1
  - \"b\"
  - source-id: c
    bogus: 1
routes:
  r1: {{schema-pattern: a}}
target-database:
  port: x
"
    );
    let errs = task_errors(&text);
    assert_at(
        &errs,
        "mysql-instances[0].route-rules",
        ErrorKind::InvalidType,
        7,
        18,
    );
    assert_at(&errs, "mysql-instances[1]", ErrorKind::InvalidType, 8, 5);
    assert_at(
        &errs,
        "mysql-instances[2].bogus",
        ErrorKind::UnknownKey,
        10,
        5,
    );
    assert_at(&errs, "target-database", ErrorKind::DuplicateKey, 13, 1);
    assert_eq!(errs.len(), 4, "{errs}");
}

/// An unset `${NAME}` names the key path of its value, and the rest of the file is checked
/// (without the errors an empty value would cause).
#[test]
fn unset_variables_have_a_key_path_and_do_not_hide_other_errors() {
    let text = "\
source-id: x
from:
  host: ${HOST}
  user: \"${USER_NAME}\"
  port: ${PORT}
  password: |
    p-${SECRET}
  colour: blue
flavor: ${FLAVOR}
filters: [${F}]
checker:
  backoff-max: 10x
";
    let errs = parse_source_str(text, "s.yaml", &no_env, None).unwrap_err();
    let shown: Vec<String> = errs.errors().iter().map(ToString::to_string).collect();
    let expected = [
        "s.yaml:3:9: from.host: environment variable `HOST`",
        "s.yaml:4:10: from.user: environment variable `USER_NAME`",
        "s.yaml:5:9: from.port: environment variable `PORT`",
        "s.yaml:7:7: from.password: environment variable `SECRET`",
        "s.yaml:8:3: from.colour: unknown field `colour`",
        "s.yaml:9:9: flavor: environment variable `FLAVOR`",
        "s.yaml:10:11: filters[0]: environment variable `F`",
        "s.yaml:12:3: checker.backoff-max: ",
    ];
    assert_eq!(shown.len(), expected.len(), "{errs}");
    for (line, want) in shown.iter().zip(expected) {
        assert!(
            line.starts_with(want),
            "`{line}` should start with `{want}`\n{errs}"
        );
    }
}
