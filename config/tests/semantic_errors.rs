//! Errors of the semantic checks (missing and invalid values, undefined, duplicate and unused
//! rules, conflicts, patterns, positions) name the file, line, column and key path; all
//! errors of a file are reported together.

mod common;

use common::errors::*;
use common::*;
use ferry_config::{parse_source_str, parse_task_str, ErrorKind};

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
