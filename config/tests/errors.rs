//! Each kind of error names the file, line, column and key path; all errors of a file are
//! reported together.

mod common;

use common::*;
use ferry_config::{
    load_task_file, parse_source_str, parse_task_str, ConfigError, ConfigErrors, ErrorKind,
};

fn task_errors(text: &str) -> ConfigErrors {
    parse_task_str(text, "task.yaml", &no_env, None).expect_err("the task must be rejected")
}

fn source_errors(text: &str) -> ConfigErrors {
    parse_source_str(text, "source.yaml", &no_env, None).expect_err("the source must be rejected")
}

fn at<'a>(errs: &'a ConfigErrors, path: &str) -> &'a ConfigError {
    errs.errors()
        .iter()
        .find(|e| e.path == path)
        .unwrap_or_else(|| panic!("no error at {path}:\n{errs}"))
}

fn assert_at(errs: &ConfigErrors, path: &str, kind: ErrorKind, line: u64, column: u64) {
    let e = at(errs, path);
    assert_eq!(e.kind, kind, "{e}");
    assert_eq!((e.line, e.column), (Some(line), Some(column)), "{e}");
    assert_eq!(e.origin, "task.yaml");
    assert!(
        e.to_string()
            .starts_with(&format!("task.yaml:{line}:{column}: {path}: ")),
        "{e}"
    );
}

const HEAD: &str = "name: t\ntask-mode: full\ntarget-database:\n  host: 127.0.0.1\n";

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
fn all_missing_and_invalid_values_are_reported_together() {
    let text = "\
name: \"\"
task-mode: fulll
shard-mode: sideways
collation_compatible: medium
target-database:
  port: 4000
mysql-instances: []
loaders:
  l:
    import-mode: bogus
";
    let errs = task_errors(text);
    assert_at(&errs, "name", ErrorKind::Missing, 1, 1);
    assert_at(&errs, "task-mode", ErrorKind::InvalidValue, 2, 12);
    assert_at(&errs, "shard-mode", ErrorKind::InvalidValue, 3, 13);
    assert_at(
        &errs,
        "collation_compatible",
        ErrorKind::InvalidValue,
        4,
        23,
    );
    assert_at(&errs, "target-database.host", ErrorKind::Missing, 5, 1);
    assert_at(&errs, "mysql-instances", ErrorKind::Missing, 7, 1);
    assert_at(
        &errs,
        "loaders.l.import-mode",
        ErrorKind::InvalidValue,
        10,
        18,
    );
    assert!(at(&errs, "task-mode").message.contains("`fulll`"));
    // One line per error, in file order.
    let shown = errs.to_string();
    assert_eq!(shown.lines().count(), errs.len());
    let lines: Vec<u64> = errs.errors().iter().filter_map(|e| e.line).collect();
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted);

    let errs = task_errors("mysql-instances:\n  - source-id: a\n");
    assert_eq!(at(&errs, "name").kind, ErrorKind::Missing);
    assert_eq!(at(&errs, "task-mode").kind, ErrorKind::Missing);
    assert_eq!(at(&errs, "target-database").kind, ErrorKind::Missing);
}

#[test]
fn references_duplicates_and_unused_rules() {
    let text = format!(
        "{HEAD}\
mysql-instances:
  - source-id: a
    route-rules: [r1, nope, r1]
    filter-rules: [f-missing]
    block-allow-list: no-list
    expression-filters: [e-missing]
    mydumper-config-name: d-missing
    loader-config-name: l-missing
    syncer-config-name: s-missing
    validator-config-name: v-missing
  - source-id: a
    mydumper-config-name: d1
    mydumper: {{threads: 2}}
routes:
  r1: {{schema-pattern: a}}
  unused-route: {{schema-pattern: b}}
mydumpers:
  d1: {{threads: 1}}
syncers:
  lonely: {{}}
"
    );
    let errs = task_errors(&text);
    let p = "mysql-instances[0]";
    assert_at(
        &errs,
        &format!("{p}.route-rules[1]"),
        ErrorKind::UndefinedReference,
        7,
        23,
    );
    assert_at(
        &errs,
        &format!("{p}.route-rules[2]"),
        ErrorKind::DuplicateReference,
        7,
        29,
    );
    assert_at(
        &errs,
        &format!("{p}.filter-rules[0]"),
        ErrorKind::UndefinedReference,
        8,
        20,
    );
    assert_at(
        &errs,
        &format!("{p}.block-allow-list"),
        ErrorKind::UndefinedReference,
        9,
        5,
    );
    assert_at(
        &errs,
        &format!("{p}.expression-filters[0]"),
        ErrorKind::UndefinedReference,
        10,
        26,
    );
    for (key, line) in [
        ("mydumper-config-name", 11),
        ("loader-config-name", 12),
        ("syncer-config-name", 13),
        ("validator-config-name", 14),
    ] {
        assert_at(
            &errs,
            &format!("{p}.{key}"),
            ErrorKind::UndefinedReference,
            line,
            5,
        );
    }
    assert_at(
        &errs,
        "mysql-instances[1].source-id",
        ErrorKind::Conflict,
        15,
        5,
    );
    assert_at(
        &errs,
        "mysql-instances[1].mydumper",
        ErrorKind::Conflict,
        17,
        5,
    );
    assert_at(&errs, "routes.unused-route", ErrorKind::UnusedRule, 20, 3);
    assert_at(&errs, "syncers.lonely", ErrorKind::UnusedRule, 24, 3);
    assert!(at(&errs, &format!("{p}.route-rules[1]"))
        .message
        .contains("`nope`"));
}

#[test]
fn removed_and_conflicting_settings() {
    let text = format!(
        "{HEAD}\
mysql-instances:
  - source-id: a
    syncer-config-name: s
syncers:
  s:
    safe-mode: true
    safe-mode-duration: \"0s\"
column-mappings:
  rule: {{schema-pattern: a}}
"
    );
    let errs = task_errors(&text);
    assert_at(
        &errs,
        "syncers.s.safe-mode-duration",
        ErrorKind::Conflict,
        11,
        5,
    );
    assert_at(&errs, "column-mappings", ErrorKind::Removed, 12, 1);
}

#[test]
fn meta_positions_and_gtids_are_checked() {
    let text = "name: t\ntask-mode: incremental\ntarget-database: {host: h}\nmysql-instances:\n  \
                - source-id: a\n    meta:\n      binlog-name: mysql-bin\n      binlog-gtid: \
                \"not-a-gtid\"\n  - source-id: b\n    meta: {binlog-pos: 4}\n";
    let errs = task_errors(text);
    assert_at(
        &errs,
        "mysql-instances[0].meta.binlog-name",
        ErrorKind::InvalidValue,
        7,
        7,
    );
    assert_at(
        &errs,
        "mysql-instances[0].meta.binlog-gtid",
        ErrorKind::InvalidValue,
        8,
        7,
    );
    assert_at(&errs, "mysql-instances[1].meta", ErrorKind::Missing, 10, 5);
    assert!(at(&errs, "mysql-instances[0].meta.binlog-name")
        .message
        .contains("base.NNNNNN"));

    // Both GTID forms are accepted.
    for gtid in ["3ccc475b-2343-11e7-be21-6c0b84d59f30:1-14", "0-1-100"] {
        let ok = format!(
            "name: t\ntask-mode: incremental\ntarget-database: {{host: h}}\nmysql-instances:\n  \
             - source-id: a\n    meta: {{binlog-gtid: \"{gtid}\"}}\n"
        );
        parse_task_str(&ok, "t", &no_env, None).unwrap();
    }
}

#[test]
fn patterns_are_checked_as_re2() {
    let text = format!(
        "{HEAD}\
mysql-instances:
  - source-id: a
    block-allow-list: ba
    filter-rules: [f]
    route-rules: [r]
block-allow-list:
  ba:
    do-dbs: [\"~^a(\", \"~^t(?!mp)\"]
    do-tables: [{{db-name: x, tbl-name: \"~(a)\\\\1\"}}]
filters:
  f: {{schema-pattern: \"a*b\", events: [\"insert\", \"explode\"], sql-pattern: [\"(\"], action: Do}}
routes:
  r: {{schema-pattern: s, extract-table: {{table-regexp: \"~t\", target-column: c}}}}
shadow-table-rules: [\"^_(?=x)\"]
"
    );
    let errs = task_errors(&text);
    let e = at(&errs, "block-allow-list.ba.do-dbs[0]");
    assert_eq!((e.line, e.column), (Some(12), Some(14)));
    assert!(e.message.contains("invalid regex"), "{e}");
    let e = at(&errs, "block-allow-list.ba.do-dbs[1]");
    assert!(e.message.contains("lookaround"), "{e}");
    assert!(at(&errs, "block-allow-list.ba.do-tables[0].tbl-name")
        .message
        .contains("backreference"));
    // A binlog event filter rule DM cannot use is logged and ignored by DM, not refused:
    // its problems are warnings (see `filter_rules_dm_cannot_use_warn`).
    assert!(
        !errs.errors().iter().any(|e| e.path.starts_with("filters.")),
        "{errs}"
    );
    assert!(at(&errs, "routes.r.extract-table.table-regexp")
        .message
        .contains("must not start with `~`"));
    assert!(at(&errs, "shadow-table-rules[0]")
        .message
        .contains("lookaround"));
}

#[test]
fn source_errors_are_collected() {
    let text = "\
source-id: a-source-id-that-is-far-too-long-for-dm
flavor: oracle
relay-binlog-name: binlog
enable-gtid: true
relay-binlog-gtid: \"zzz\"
from:
  port: 3306
checker:
  backoff-max: 10x
filters:
  - schema-pattern: \"\"
    action: Explode
";
    let errs = source_errors(text);
    let find = |p: &str| {
        errs.errors()
            .iter()
            .find(|e| e.path == p)
            .unwrap_or_else(|| panic!("no error at {p}: {errs}"))
    };
    assert_eq!(find("source-id").line, Some(1));
    assert!(find("source-id").message.contains("longer than 32"));
    assert_eq!(
        (find("flavor").line, find("flavor").column),
        (Some(2), Some(9))
    );
    assert_eq!(find("relay-binlog-name").line, Some(3));
    assert_eq!(find("relay-binlog-gtid").line, Some(5));
    assert_eq!(find("from.host").kind, ErrorKind::Missing);
    assert_eq!(find("from.host").line, Some(6));
    assert_eq!(find("checker.backoff-max").line, Some(9));
    // The unusable filter rule is not an error: DM logs it and ignores the rule.
    assert!(
        !errs.errors().iter().any(|e| e.path.starts_with("filters")),
        "{errs}"
    );
    for e in errs.errors() {
        assert_eq!(e.origin, "source.yaml");
    }
}

#[test]
fn filter_rules_dm_cannot_use_warn() {
    // The filter of `patterns_are_checked_as_re2`, in an otherwise valid task.
    let text = format!(
        "{HEAD}\
mysql-instances:
  - source-id: a
    filter-rules: [f, ok]
filters:
  f: {{schema-pattern: \"a*b\", events: [\"insert\", \"explode\"], sql-pattern: [\"(\"], action: Do}}
  ok: {{schema-pattern: a, events: [\"all dml\"], action: Ignore}}
"
    );
    let loaded = parse_task_str(&text, "task.yaml", &no_env, None).unwrap();
    let w = |path: &str| {
        loaded
            .warnings
            .iter()
            .find(|w| w.path == path)
            .unwrap_or_else(|| panic!("no warning at {path}: {:#?}", loaded.warnings))
    };
    let pattern = w("filters.f.schema-pattern");
    assert_eq!((pattern.line, pattern.column), (Some(9), Some(7)));
    assert!(w("filters.f.events[1]").to_string().starts_with(
        "task.yaml:9:49: filters.f.events[1]: unknown event type `explode`; DM logs an error \
         and ignores this whole filter rule"
    ));
    assert_eq!(w("filters.f.sql-pattern[0]").line, Some(9));
    // The rule is dropped; the other one stays.
    let t = &loaded.config;
    assert!(!t.filters.contains_key("f"));
    assert_eq!(t.instance_filters(0).len(), 1);

    // The same in source.yaml, where an invalid action is also only a warning.
    let text = "\
source-id: s
from: {host: h}
filters:
  - schema-pattern: \"\"
    action: Explode
  - schema-pattern: db
    action: Ignore
";
    let loaded = parse_source_str(text, "source.yaml", &no_env, None).unwrap();
    let shown: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert!(
        shown[0].starts_with("source.yaml:4:5: filters[0].schema-pattern: schema-pattern is empty"),
        "{shown:#?}"
    );
    assert!(
        shown[1].starts_with(
            "source.yaml:5:13: filters[0].action: invalid filter action `Explode`: expected one \
             of Do, Ignore, Error"
        ),
        "{shown:#?}"
    );
    assert_eq!(loaded.config.filters.len(), 1);
    assert_eq!(loaded.config.filters[0].schema_pattern, "db");
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

#[test]
fn binlog_backend_is_checked_and_defaults_to_mysql_async() {
    use ferry_config::BinlogBackend;
    let base =
        "source-id: s\nfrom:\n  host: 127.0.0.1\n  port: 3306\n  user: root\n  password: pw\n";
    let parsed = parse_source_str(base, "source.yaml", &no_env, None).expect("valid");
    assert_eq!(parsed.config.binlog_backend, BinlogBackend::MysqlAsync);
    // The default is left out of the stored form (DM has no such key).
    let json = serde_json::to_value(&parsed.config).unwrap();
    assert!(json.get("binlog-backend").is_none(), "{json}");
    for (word, want) in [
        ("connector", BinlogBackend::Connector),
        ("default", BinlogBackend::MysqlAsync),
        ("MySQL_Async", BinlogBackend::MysqlAsync),
    ] {
        let text = format!("{base}binlog-backend: {word}\n");
        let parsed = parse_source_str(&text, "source.yaml", &no_env, None).expect(word);
        assert_eq!(parsed.config.binlog_backend, want, "{word}");
    }

    // An unknown word is named with its key and position.
    let errs = source_errors(&format!("{base}binlog-backend: tokio\n"));
    let e = errs
        .errors()
        .iter()
        .find(|e| e.path == "binlog-backend")
        .unwrap_or_else(|| panic!("no error at binlog-backend: {errs}"));
    assert_eq!((e.line, e.column), (Some(7), Some(17)), "{e}");
    assert!(
        e.message.contains(
            "invalid binlog-backend `tokio`: expected one of mysql_async, default, connector"
        ),
        "{e}"
    );

    // Combinations the connector cannot serve are refused at the key.
    let tls = "source-id: s\nbinlog-backend: connector\nfrom:\n  host: h\n  user: u\n  \
               password: pw\n  security:\n    ssl-ca: /ca.pem\n";
    let errs = source_errors(tls);
    assert_eq!(errs.len(), 1, "{errs}");
    let e = &errs.errors()[0];
    assert_eq!(
        (e.path.as_str(), e.line),
        ("binlog-backend", Some(2)),
        "{e}"
    );
    assert!(
        e.message.contains("does not support TLS (from.security)"),
        "{e}"
    );
    let gtid = "source-id: s\nflavor: mariadb\nenable-gtid: true\nbinlog-backend: connector\n\
                from:\n  host: h\n  user: u\n  password: pw\n";
    let errs = source_errors(gtid);
    assert_eq!(errs.len(), 1, "{errs}");
    assert_eq!(errs.errors()[0].path, "binlog-backend");
    assert!(
        errs.errors()[0]
            .message
            .contains("does not support MariaDB GTID (enable-gtid"),
        "{errs}"
    );
    // The crate cannot log in without a password.
    let no_password = base.replace("  password: pw\n", "");
    let errs = source_errors(&format!("{no_password}binlog-backend: connector\n"));
    assert_eq!(errs.len(), 1, "{errs}");
    assert_eq!(errs.errors()[0].path, "binlog-backend");
    assert!(
        errs.errors()[0]
            .message
            .contains("without a password (empty from.password)"),
        "{errs}"
    );
    // MySQL GTID is served.
    let mysql_gtid = gtid.replace("mariadb", "mysql");
    parse_source_str(&mysql_gtid, "source.yaml", &no_env, None).expect("MySQL GTID is fine");
}
