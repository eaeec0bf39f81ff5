//! DM's full task template and files using every key parse; deprecated keys warn.

mod common;

use common::*;
use ferry_config::extra_args::Consistency;
use ferry_config::{
    load_daemon_file, load_source_file, load_task_file, parse_source_str, parse_task_str,
    CollationCompatible, FilterAction, Flavor, ImportMode, LogFormat, LogLevel, OnDuplicateLogical,
    OnDuplicatePhysical, PostOpLevel, ShardMode, TaskMode, ValidationMode, Warning,
};
use std::time::Duration;

fn warned(warnings: &[Warning], path: &str) -> bool {
    warnings.iter().any(|w| w.path == path)
}

#[test]
fn dm_full_template_parses() {
    let loaded = load_task_file(&fixture("task-full-template.yaml"), None).unwrap();
    let t = &loaded.config;
    assert_eq!(t.name, "test");
    assert_eq!(t.task_mode, Some(TaskMode::All));
    assert_eq!(t.shard_mode, ShardMode::Pessimistic);
    assert_eq!(t.timezone.as_deref(), Some("Asia/Shanghai"));
    assert_eq!(t.collation_compatible, CollationCompatible::Loose);
    let target = t.target().unwrap();
    assert_eq!(target.session_var("TIDB_SKIP_UTF8_CHECK"), Some("1"));
    assert_eq!(
        target.security.as_ref().unwrap().ssl_ca.as_deref(),
        Some("/path/to/ca.pem")
    );
    // Not a ferry:v1 value and no key: taken as plaintext, as DM does.
    assert_eq!(target.password.expose(), "/Q7B9DizNLLTTfiZHv9WoEAKamfpIUs=");
    assert_eq!(t.instance_routes(0).len(), 2);
    assert_eq!(t.instance_filters(0)[0].action, Some(FilterAction::Ignore));
    assert_eq!(t.instance_expression_filters(0)[0].table, "tbl");
    assert_eq!(
        t.instance_block_allow_list(0).unwrap().do_dbs[0],
        "~^test.*"
    );
    assert!(t.instance_block_allow_list(1).is_none());
    let l = t.instance_loader(0);
    assert_eq!(l.analyze, PostOpLevel::Off);
    assert_eq!(l.sorting_dir_physical.as_deref(), Some("./dumped_data"));
    let s = t.instance_syncer(0);
    assert_eq!(s.multiple_rows, Some(true));
    assert_eq!(s.safe_mode_duration(), Duration::from_secs(60));
    let v = t.instance_validator(0);
    assert_eq!(v.mode, ValidationMode::Full);
    assert_eq!(v.row_error_delay(), Duration::from_secs(1800));
    assert_eq!(t.instance_validator(1).mode, ValidationMode::None);
    let meta = t.mysql_instances[0].meta.as_ref().unwrap();
    assert!(meta.gtid_set().is_some());
    // Instance 2 uses the defaults with thread overrides.
    assert_eq!(t.instance_mydumper(1).threads, 4);
    assert_eq!(t.instance_loader(1).pool_size, 16);
    assert_eq!(t.instance_syncer(1).worker_count, 16);

    let w = &loaded.warnings;
    for path in [
        "online-ddl-scheme",
        "target-database.max-allowed-packet",
        "syncers.global.enable-ansi-quotes",
        "mysql-instances[0].meta",
        "block-allow-list.bw-rule-2",
    ] {
        assert!(warned(w, path), "no warning for {path}: {w:#?}");
    }
    for warning in w {
        assert!(warning.origin.ends_with("task-full-template.yaml"));
        assert!(warning.line.is_some(), "{warning}");
    }
}

#[test]
fn every_task_key_parses_with_its_value() {
    let loaded = load_task_file(&fixture("task-all-keys.yaml"), None).unwrap();
    let t = &loaded.config;
    assert_eq!(t.effective_shard_mode(), ShardMode::Optimistic);
    assert!(t.strict_optimistic_shard_mode);
    assert_eq!(t.collation_compatible, CollationCompatible::Strict);
    assert!(t.case_sensitive && !t.clean_dump_file);
    assert!(t.experimental.async_checkpoint_flush);
    assert_eq!(t.shadow_table_rules.len(), 1);
    let r = t.instance_routes(0)[0];
    assert_eq!(r.extract_source.as_ref().unwrap().target_column, "c_source");
    let d = t.instance_mydumper(0);
    assert_eq!(d.threads, 2, "mydumper-thread overrides threads");
    assert_eq!(d.rows, Some(10000));
    assert_eq!(d.statement_size, Some(1000000));
    assert_eq!(d.r#where, "id > 0");
    let args = d.parsed_extra_args().unwrap();
    assert_eq!(args.consistency, Some(Consistency::Flush));
    assert_eq!(args.unknown, vec!["--no-views"]);
    let l = t.instance_loader(0);
    assert_eq!(l.pool_size, 3, "loader-thread overrides pool-size");
    assert_eq!(l.import_mode, ImportMode::Logical, "sql means logical");
    assert_eq!(l.on_duplicate_logical, Some(OnDuplicateLogical::Replace));
    assert_eq!(l.on_duplicate_physical, OnDuplicatePhysical::Manual);
    assert_eq!(l.checksum_physical, PostOpLevel::Optional);
    let s = t.instance_syncer(0);
    assert_eq!(s.worker_count, 5, "syncer-thread overrides worker-count");
    assert_eq!((s.batch, s.queue_size), (200, 2048));
    assert_eq!(s.safe_mode_duration(), Duration::from_secs(90));
    assert!(s.safe_mode && s.compact && s.multiple_rows == Some(true));
    assert_eq!(t.instance_validator(0).mode, ValidationMode::Fast);
    // Inline blocks of the second instance.
    assert_eq!(t.instance_mydumper(1).threads, 1);
    assert_eq!(
        t.instance_loader(1).pool_size,
        16,
        "pool-size 0 means the default"
    );
    let s2 = t.instance_syncer(1);
    assert_eq!(s2.worker_count, 4);
    assert_eq!(s2.safe_mode_duration.as_deref(), Some("20s"));
    assert!(t.mysql_instances[0]
        .meta
        .as_ref()
        .unwrap()
        .gtid_set()
        .is_some());

    let w = &loaded.warnings;
    for path in [
        "is-sharding",
        "enable-heartbeat",
        "heartbeat-update-interval",
        "heartbeat-report-interval",
        "online-ddl-scheme",
        "remove-meta",
        "black-white-list",
        "target-database.max-allowed-packet",
        "mydumpers.d1.mydumper-path",
        "mydumpers.d1.extra-args",
        "loaders.l1.import-mode",
        "loaders.l1.on-duplicate",
        "syncers.s1.max-retry",
        "syncers.s1.auto-fix-gtid",
        "syncers.s1.enable-gtid",
        "syncers.s1.disable-detect",
        "syncers.s1.enable-ansi-quotes",
        "syncers.s1.meta-file",
        "mysql-instances[0].black-white-list",
        "mysql-instances[0].column-mapping-rules",
        "mysql-instances[0].meta",
    ] {
        assert!(warned(w, path), "no warning for {path}: {w:#?}");
    }
    let bwl = w.iter().find(|w| w.path == "black-white-list").unwrap();
    assert_eq!((bwl.line, bwl.column), (Some(71), Some(1)));
    assert!(bwl
        .to_string()
        .contains("task-all-keys.yaml:71:1: black-white-list: "));
}

#[test]
fn every_source_key_parses_and_deprecated_ones_warn() {
    let loaded = load_source_file(&fixture("source-all-keys.yaml"), None).unwrap();
    let s = &loaded.config;
    assert_eq!(s.flavor, Some(Flavor::Mysql));
    assert_eq!(s.fixed_server_id(), Some(101));
    assert!(s.enable_gtid && s.enable_relay);
    assert_eq!(s.purge.expires, 24);
    assert!(s.purge.is_active());
    assert_eq!(s.checker.backoff_max(), Duration::from_secs(300));
    assert_eq!(s.checker.backoff_min(), Duration::from_secs(1));
    assert_eq!(s.filters[0].action, Some(FilterAction::Ignore));
    let sec = s.from.security.as_ref().unwrap();
    assert_eq!(
        sec.key_pem().unwrap(),
        b"-----BEGIN PRIVATE KEY-----".to_vec()
    );
    let dbg = format!("{s:?}");
    assert!(!dbg.contains("BEGIN PRIVATE KEY"), "{dbg}");
    for path in [
        "relay-dir",
        "charset",
        "auto-fix-gtid",
        "meta-dir",
        "tracer",
        "from.max-allowed-packet",
    ] {
        assert!(warned(&loaded.warnings, path), "no warning for {path}");
    }
    let json = serde_json::to_value(s).unwrap();
    assert_eq!(json["source-id"], "mysql-replica-01");
    assert_eq!(json["from"]["password"], "******");
    assert!(json.get("tracer").is_none());
}

#[test]
fn daemon_file_loads() {
    let d = load_daemon_file(&fixture("ferryd.yaml")).unwrap().config;
    assert_eq!(d.master_addr, "0.0.0.0:8261");
    assert_eq!(d.log_level, LogLevel::Debug);
    assert_eq!(d.log_format, LogFormat::Json);
    assert_eq!(
        d.secret_key_path.as_deref(),
        Some(std::path::Path::new("/etc/ferry/secret.key"))
    );
    // Beyond loopback: accepted because TLS and a token are set.
    assert_eq!(
        d.api_token_path.as_deref(),
        Some(std::path::Path::new("/etc/ferry/api-token"))
    );
    assert!(d.ssl_cert.is_some() && d.ssl_key.is_some() && d.ssl_ca.is_some());
    let text = std::fs::read_to_string(fixture("ferryd.yaml")).unwrap();
    let open = text
        .lines()
        .filter(|l| !l.starts_with("api-token-path"))
        .collect::<Vec<_>>()
        .join("\n");
    let e = ferry_config::parse_daemon_str(&open, "open.yaml", &no_env).unwrap_err();
    assert_eq!(e.errors()[0].path, "master-addr", "{e}");
    assert!(e.to_string().contains("api-token-path"), "{e}");
    let empty = ferry_config::parse_daemon_str("", "empty.yaml", &no_env).unwrap();
    assert_eq!(empty.config, ferry_config::DaemonConfig::default());
    let bad = ferry_config::parse_daemon_str(
        "master-addr: nowhere\nlog-level: loud\nbogus: 1\n",
        "d.yaml",
        &no_env,
    )
    .unwrap_err();
    // All three, not only the unknown key.
    let paths: Vec<&str> = bad.errors().iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["master-addr", "log-level", "bogus"], "{bad}");
}

#[test]
fn configs_round_trip_through_json() {
    let t = parse_task_str(&read_fixture("task-all-keys.yaml"), "t", &no_env, None)
        .unwrap()
        .config;
    let json = serde_json::to_value(&t).unwrap();
    assert_eq!(json["collation_compatible"], "strict");
    assert_eq!(json["task-mode"], "all");
    assert_eq!(json["filters"]["f1"]["action"], "Ignore");
    let back: ferry_config::TaskConfig = serde_json::from_value(json).unwrap();
    assert_eq!(back.mysql_instances, t.mysql_instances);
    assert_eq!(back.loaders, t.loaders);

    let s = parse_source_str(&read_fixture("source1.yaml"), "s", &seed_env(), None)
        .unwrap()
        .config;
    let back: ferry_config::SourceConfig =
        serde_json::from_value(serde_json::to_value(&s).unwrap()).unwrap();
    assert_eq!(back.source_id, s.source_id);
    assert_eq!(back.from.password.expose(), "******");
}
