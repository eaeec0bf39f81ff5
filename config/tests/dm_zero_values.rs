//! DM's own files (its integration tests, `dmctl config task|source` output) write unset
//! keys as zero values: `''`, `[]`, `0`, `null`. DM's Go loader reads them as the zero value
//! of the field, which means "unset: use the default or detect it". Every file of
//! `fixtures/dm_zero_values/` must load, with DM's effective values; what DM accepts with a
//! logged error and then ignores (a binlog event filter rule it cannot use) is a warning
//! naming the file, line, column and key.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use ferry_config::{
    detect_kind, load_source_file, load_task_file, parse_source_str, parse_task_str,
    CollationCompatible, ErrorKind, FileKind, FilterAction, ImportMode, Loaded, OnDuplicateLogical,
    OnDuplicatePhysical, PostOpLevel, ShardMode, SourceConfig, TaskConfig, TaskMode,
    ValidationMode, Warning,
};

const DIR: &str = "dm_zero_values";

fn path(name: &str) -> PathBuf {
    fixture(DIR).join(name)
}

fn source(name: &str) -> Loaded<SourceConfig> {
    load_source_file(&path(name), None).unwrap_or_else(|e| panic!("{name} is refused:\n{e}"))
}

fn task(name: &str) -> Loaded<TaskConfig> {
    load_task_file(&path(name), None).unwrap_or_else(|e| panic!("{name} is refused:\n{e}"))
}

/// The warning at `key`, checked to name the file and to sit at `line:column`.
fn warning<'a>(
    warnings: &'a [Warning],
    file: &str,
    key: &str,
    line: u64,
    column: u64,
) -> &'a Warning {
    let w = warnings
        .iter()
        .find(|w| w.path == key)
        .unwrap_or_else(|| panic!("no warning at {key}: {warnings:#?}"));
    assert!(w.origin.ends_with(file), "{w}");
    assert_eq!((w.line, w.column), (Some(line), Some(column)), "{w}");
    let shown = w.to_string();
    assert!(
        shown.contains(&format!("{file}:{line}:{column}: {key}: ")),
        "{shown}"
    );
    w
}

#[test]
fn every_file_is_accepted() {
    let mut names: Vec<String> = std::fs::read_dir(fixture(DIR))
        .expect("the fixture folder exists")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    assert!(names.len() >= 6, "{names:?}");
    for name in &names {
        let text = std::fs::read_to_string(path(name)).unwrap();
        let p = path(name);
        match detect_kind(&text) {
            FileKind::Source => {
                load_source_file(&p, None).unwrap_or_else(|e| panic!("{name} is refused:\n{e}"));
            }
            FileKind::Task => {
                load_task_file(&p, None).unwrap_or_else(|e| panic!("{name} is refused:\n{e}"));
            }
            FileKind::Daemon => panic!("{name} is neither a source nor a task"),
        }
    }
}

#[test]
fn source_zero_values_are_unset() {
    let loaded = source("source-zero-values.yaml");
    let s = &loaded.config;
    assert_eq!(s.flavor, None, "flavor: '' is detected from the server");
    assert_eq!(
        s.fixed_server_id(),
        None,
        "server-id: 0 is chosen at random"
    );
    assert_eq!(s.relay_binlog_name, "");
    assert_eq!(s.relay_binlog_gtid, "");
    assert!(s.enable && !s.enable_gtid && !s.enable_relay);
    assert_eq!(s.from.password.expose(), "");
    assert!(s.from.session.is_empty());
    assert_eq!(s.from.max_allowed_packet, None);
    assert!(
        s.from.security.is_none(),
        "a security block without any certificate means no TLS"
    );
    assert!(s.purge.is_active());
    assert_eq!(s.purge.expires, 0);
    // DM resets the hidden checker keys; their zero values are the defaults here.
    assert_eq!(s.checker.check_interval(), Duration::from_secs(5));
    assert_eq!(s.checker.backoff_min(), Duration::from_secs(1));
    assert_eq!(s.checker.backoff_factor(), 2.0);
    assert_eq!(s.checker.backoff_max(), Duration::from_secs(300));
    assert!(s.filters.is_empty());
    // Nothing DM ignores with an error: only the deprecation notes of the keys present.
    for w in &loaded.warnings {
        assert!(w.message.starts_with("deprecated"), "{w}");
    }
}

#[test]
fn source_tls_bytes_as_dm_writes_them() {
    let s = source("source-tls-bytes.yaml").config;
    assert_eq!(s.flavor, None);
    let sec = s.from.security.as_ref().expect("the CA makes it TLS");
    assert_eq!(
        sec.ca_pem().unwrap(),
        b"-----BEGIN CERTIFICATE-----".to_vec()
    );
    assert_eq!(sec.ssl_ca, None, "ssl-ca: \"\" is no file");
    assert_eq!((&sec.ssl_cert, &sec.ssl_key), (&None, &None));
    assert_eq!(sec.key_pem(), None, "ssl-key-bytes: [] is none");
    assert_eq!(sec.cert_pem(), None, "ssl-cert-bytes: ~ is none");
    assert!(sec.cert_allowed_cn.is_empty());
    // Plain PEM text works too, and a byte out of range is a type error.
    let text = "source-id: s\nfrom:\n  host: h\n  security:\n    ssl-ca-bytes: \"-----BEGIN\"\n";
    let s = parse_source_str(text, "s.yaml", &no_env, None)
        .unwrap()
        .config;
    assert_eq!(
        s.from.security.unwrap().ca_pem().unwrap(),
        b"-----BEGIN".to_vec()
    );
    let text = "source-id: s\nfrom:\n  host: h\n  security:\n    ssl-ca-bytes: [45, 300]\n";
    let errs = parse_source_str(text, "s.yaml", &no_env, None).unwrap_err();
    assert_eq!(
        errs.errors()[0].path,
        "from.security.ssl-ca-bytes[1]",
        "{errs}"
    );
}

#[test]
fn source_filter_rules_dm_ignores_are_warnings() {
    let file = "source-filters-ignored.yaml";
    let loaded = source(file);
    let w = &loaded.warnings;
    let typo = warning(w, file, "filters[1].events[0]", 21, 14);
    assert!(
        typo.message.starts_with(
            "unknown event type `drop tabel`; DM logs an error and ignores this whole filter rule"
        ),
        "{typo}"
    );
    let action = warning(w, file, "filters[2].action", 26, 13);
    assert!(
        action
            .message
            .starts_with("invalid filter action `Skip`: expected one of Do, Ignore, Error"),
        "{action}"
    );
    assert_eq!(w.len(), 2, "{w:#?}");
    // The two unusable rules are dropped, as DM drops them; "" is DM's no-op event.
    let f = &loaded.config.filters;
    assert_eq!(f.len(), 2, "{f:#?}");
    assert_eq!(f[0].table_pattern, "t_1");
    assert_eq!(f[1].table_pattern, "t_4");
    assert_eq!(f[1].events, vec!["all dml"]);
    assert_eq!(f[1].action, Some(FilterAction::Do));
}

#[test]
fn task_printed_by_dm_has_dm_defaults() {
    let loaded = task("task-get-config.yaml");
    let t = &loaded.config;
    assert_eq!(t.task_mode, Some(TaskMode::All));
    assert_eq!(t.timezone, None, "timezone: \"\" is the downstream's");
    assert_eq!(t.collation_compatible, CollationCompatible::Loose);
    assert_eq!(t.effective_shard_mode(), ShardMode::Disabled);
    assert_eq!(t.meta_schema, "dm_meta");
    let m2t = t.mariadb2tidb.as_ref().unwrap();
    assert_eq!(m2t.mode, ferry_config::enums::MariaDbConversionMode::Auto);
    assert_eq!(m2t.strict_mode, None);
    let target = t.target().unwrap();
    assert_eq!(target.password.expose(), "******");
    assert!(target.security.is_none());
    let inst = &t.mysql_instances[0];
    assert!(inst.meta.is_none() && inst.mydumper.is_none());
    assert_eq!(inst.ba_list_name(), Some("balist-01"));

    let d = t.instance_mydumper(0);
    assert_eq!(d.threads, 4, "threads: 0 is dumpling's default");
    assert_eq!(d.chunk_filesize, "64");
    assert_eq!(d.chunk_filesize_limit().unwrap(), Some(64 << 20));
    assert_eq!((d.rows, d.statement_size), (None, None));
    assert_eq!(d.effective_rows(), 200_000);

    let l = t.instance_loader(0);
    assert_eq!(l.pool_size, 16, "pool-size: 0 is the default");
    assert_eq!(l.import_mode, ImportMode::Logical);
    assert_eq!(l.on_duplicate, None);
    assert_eq!(l.on_duplicate_logical, Some(OnDuplicateLogical::Replace));
    assert_eq!(l.on_duplicate_physical, OnDuplicatePhysical::None);
    assert_eq!(l.checksum_physical, PostOpLevel::Required);
    assert_eq!(l.analyze, PostOpLevel::Optional);
    assert_eq!(l.sorting_dir_physical, None);

    let s = t.instance_syncer(0);
    assert_eq!((s.worker_count, s.batch), (16, 100));
    assert_eq!((s.queue_size, s.checkpoint_flush_interval), (1024, 30));
    assert_eq!(s.safe_mode_duration.as_deref(), Some("60s"));
    assert_eq!(s.multiple_rows, Some(false));

    let v = t.instance_validator(0);
    assert_eq!(v.mode, ValidationMode::None);
    assert_eq!((v.worker_count, v.batch_query_size), (4, 100));
    assert_eq!(v.validate_interval(), Duration::from_secs(10));
    assert_eq!(v.check_interval(), Duration::from_secs(5));
    assert_eq!(v.row_error_delay(), Duration::from_secs(30 * 60));
    assert_eq!(v.meta_flush_interval(), Duration::from_secs(5 * 60));
    assert_eq!(v.max_pending_row_size, "500m");
    assert_eq!(v.max_pending_row_size_bytes(), 500 << 20);
    assert_eq!(v.max_pending_row_count, i32::MAX as u64);

    // No warning about a value DM would drop: only deprecation notes of keys present.
    for w in &loaded.warnings {
        assert!(
            w.message.contains("deprecated") || w.message.contains("removed by DM"),
            "{w}"
        );
    }
}

#[test]
fn task_zero_unit_settings_and_null_entries_are_defaults() {
    let file = "task-incremental-zero-units.yaml";
    let loaded = task(file);
    let t = &loaded.config;
    assert_eq!(t.task_mode, Some(TaskMode::Incremental));
    assert_eq!(t.timezone, None);
    assert_eq!(t.collation_compatible, CollationCompatible::Loose);
    assert!(
        t.target().unwrap().security.is_none(),
        "ssl-ca/ssl-cert/ssl-key all \"\""
    );

    // binlog-pos: 0 starts at 4, the first event, as DM's binlog client does.
    let m0 = t.mysql_instances[0].meta.as_ref().unwrap();
    let pos = m0.position().unwrap();
    assert_eq!((pos.name.as_str(), pos.pos), ("mysql-bin.000003", 4));
    assert!(m0.gtid_set().is_none(), "binlog-gtid: \"\" is unset");
    let m1 = t.mysql_instances[1].meta.as_ref().unwrap();
    assert!(m1.position().is_none(), "binlog-name: \"\" is unset");
    assert!(m1.gtid_set().is_some());

    // `mydumpers: {global: }`, `loaders: {global: null}`, `syncers: {global: ~}`: defaults.
    assert_eq!(
        t.instance_mydumper(0),
        ferry_config::MydumperConfig::default()
    );
    assert!(t.mydumpers.contains_key("global"));
    let l0 = t.instance_loader(0);
    assert_eq!(l0.pool_size, 16);
    assert_eq!(l0.on_duplicate_logical, Some(OnDuplicateLogical::Replace));
    let s0 = t.instance_syncer(0);
    assert_eq!((s0.worker_count, s0.batch, s0.queue_size), (16, 100, 1024));

    // Inline zero values of the second instance.
    let d1 = t.instance_mydumper(1);
    assert_eq!(d1.threads, 4);
    assert_eq!(
        d1.chunk_filesize_limit().unwrap(),
        None,
        "chunk-filesize: 0 is no size limit (dumpling)"
    );
    let l1 = t.instance_loader(1);
    assert_eq!((l1.pool_size, l1.import_mode), (16, ImportMode::Logical));
    let s1 = t.instance_syncer(1);
    assert_eq!(s1.worker_count, 16, "worker-count: 0 is the default");
    assert_eq!(
        s1.batch, 1,
        "batch: 0 is one change per transaction, as in DM"
    );

    // Those two are worth a word: DM would fail with 0 workers.
    let w = &loaded.warnings;
    let workers = warning(w, file, "mysql-instances[1].syncer.worker-count", 45, 7);
    assert!(
        workers.message.contains("Ferry uses the default, 16"),
        "{workers}"
    );
    warning(w, file, "mysql-instances[1].syncer.batch", 46, 7);
}

#[test]
fn task_filter_rules_dm_ignores_are_warnings() {
    let file = "task-filters-ignored.yaml";
    let loaded = task(file);
    let w = &loaded.warnings;
    let suffix = "; DM logs an error and ignores this whole filter rule, so does Ferry";
    let typo = warning(w, file, "filters.typo-event.events[1]", 32, 24);
    assert_eq!(
        typo.message,
        format!("unknown event type `delete from`{suffix}")
    );
    let action = warning(w, file, "filters.bad-action.action", 38, 13);
    assert!(
        action.message.starts_with("invalid filter action ``"),
        "{action}"
    );
    let sql = warning(w, file, "filters.bad-sql.sql-pattern[0]", 41, 19);
    assert!(sql.message.ends_with(suffix), "{sql}");
    // A missing action is placed at the rule.
    let none = warning(w, file, "filters.no-action.action", 43, 3);
    assert!(none.message.starts_with("no action"), "{none}");
    assert_eq!(w.len(), 4, "{w:#?}");

    // The rules are dropped (the references to them are not errors, as in DM).
    let t = &loaded.config;
    assert_eq!(t.filters.keys().collect::<Vec<_>>(), ["user-filter-1"]);
    let kept = t.instance_filters(0);
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].events, vec!["truncate table", "drop table"]);
    assert_eq!(kept[0].action, Some(FilterAction::Ignore));
}

/// Zero values are accepted; strictness stays for what DM refuses too.
#[test]
fn strictness_is_kept() {
    let good = "name: t\ntask-mode: full\ntarget-database: {host: h}\nmysql-instances:\n  - source-id: a\n";
    parse_task_str(good, "t.yaml", &no_env, None).unwrap();
    let refused = |extra: &str, key: &str, kind: ErrorKind| {
        let text = format!("{good}{extra}");
        let errs = parse_task_str(&text, "t.yaml", &no_env, None)
            .expect_err(&format!("`{extra}` must be refused"));
        let e = errs
            .errors()
            .iter()
            .find(|e| e.path == key)
            .unwrap_or_else(|| panic!("no error at {key}: {errs}"));
        assert_eq!(e.kind, kind, "{e}");
        assert!(e.line.is_some() && e.column.is_some(), "{e}");
    };
    // An unknown key, even next to zero values.
    refused(
        "timezone: ''\ntidb: {backend: tidb}\n",
        "tidb",
        ErrorKind::UnknownKey,
    );
    // A number field given "" (DM's YAML library refuses it too).
    refused(
        "syncers: {s: {worker-count: ''}}\n",
        "syncers.s.worker-count",
        ErrorKind::InvalidType,
    );
    // DM's own refusals of zero values: an empty duration, a meta without any position,
    // an unknown precheck item.
    refused(
        "validators: {v: {validate-interval: ''}}\n",
        "validators.v.validate-interval",
        ErrorKind::InvalidValue,
    );
    refused(
        "collation_compatible: medium\n",
        "collation_compatible",
        ErrorKind::InvalidValue,
    );
    refused(
        "ignore-checking-items: [bogus]\n",
        "ignore-checking-items[0]",
        ErrorKind::InvalidValue,
    );
    let text = good.replace("task-mode: full", "task-mode: ''");
    let errs = parse_task_str(&text, "t.yaml", &no_env, None).unwrap_err();
    assert_eq!(
        errs.errors()[0].path,
        "task-mode",
        "task-mode: '' is refused by DM too"
    );
    let text = good.replace("task-mode: full", "task-mode: incremental")
        + "    meta: {binlog-name: '', binlog-gtid: ''}\n";
    let errs = parse_task_str(&text, "t.yaml", &no_env, None).unwrap_err();
    assert_eq!(errs.errors()[0].path, "mysql-instances[0].meta", "{errs}");
    // A flavor that is neither empty nor known.
    let errs = parse_source_str(
        "source-id: s\nfrom: {host: h}\nflavor: oracle\n",
        "s.yaml",
        &no_env,
        None,
    )
    .unwrap_err();
    assert_eq!(errs.errors()[0].path, "flavor");
}
