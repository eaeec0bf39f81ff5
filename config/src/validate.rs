//! Semantic checks after parsing. Every problem of a file is collected (with its key path
//! and position) and reported together; deprecated keys give warnings.

use std::collections::{HashMap, HashSet};

use ferry_model::gtid::GtidSet;
use ferry_model::position::split_file_name;

use crate::daemon::{check_addr, DaemonConfig};
use crate::db::{DbConfig, Security};
use crate::defaults::{
    CHECKING_ITEMS, DEFAULT_BATCH, DEFAULT_META_SCHEMA, DEFAULT_WORKER_COUNT, FILTER_EVENTS,
    MAX_SOURCE_ID_LENGTH,
};
use crate::enums::{BinlogBackend, Flavor, ImportMode, ShardMode, TaskMode};
use crate::env::ColumnMap;
use crate::error::{ConfigError, ConfigErrors, ErrorKind, Warning};
use crate::pattern::{check_ba_pattern, check_regex, check_selector_pattern};
use crate::quantity::{parse_byte_size, parse_go_duration};
use crate::rules::{BaListRule, BinlogEventRule, ExpressionFilter, RouteRule};
use crate::secret::{decrypt_or_plaintext, Password, SecretKey};
use crate::source::SourceConfig;
use crate::task::{non_empty, parse_gtid, TaskConfig};
use crate::unit::{LoaderConfig, MydumperConfig, SyncerConfig, ValidatorConfig};
use crate::yaml::{is_under, join, parent, KeyIndex};

/// Collects the errors and warnings of one file, placing each at its key.
pub(crate) struct Report<'a> {
    origin: &'a str,
    index: &'a KeyIndex,
    columns: &'a ColumnMap,
    pub(crate) errors: Vec<ConfigError>,
    pub(crate) warnings: Vec<Warning>,
}

impl<'a> Report<'a> {
    pub(crate) fn new(origin: &'a str, index: &'a KeyIndex, columns: &'a ColumnMap) -> Self {
        Self {
            origin,
            index,
            columns,
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn locate(&self, path: &str) -> (Option<u64>, Option<u64>) {
        match self.index.nearest_position(path) {
            Some(p) => (
                Some(p.line),
                Some(self.columns.original_column(p.line, p.column)),
            ),
            None => (None, None),
        }
    }

    /// Records an error at `path` (placed at the key, or its nearest present ancestor).
    pub(crate) fn error(
        &mut self,
        path: impl Into<String>,
        kind: ErrorKind,
        msg: impl Into<String>,
    ) {
        let path = path.into();
        let (line, column) = self.locate(&path);
        self.errors.push(ConfigError {
            origin: self.origin.to_string(),
            line,
            column,
            path,
            kind,
            message: msg.into(),
        });
    }

    /// Records a warning at `path`.
    pub(crate) fn warn(&mut self, path: impl Into<String>, msg: impl Into<String>) {
        let path = path.into();
        let (line, column) = self.locate(&path);
        self.warnings.push(Warning {
            origin: self.origin.to_string(),
            line,
            column,
            path,
            message: msg.into(),
        });
    }

    /// Warns that `path` is deprecated, if the file has it.
    fn deprecated(&mut self, path: &str, present: bool, advice: &str) {
        if present {
            self.warn(path, format!("deprecated and ignored by Ferry{advice}"));
        }
    }

    /// The errors, sorted by position, or the warnings when there is none.
    pub(crate) fn finish(self) -> Result<Vec<Warning>, ConfigErrors> {
        let mut warnings = self.warnings;
        warnings.sort_by_key(|w| (w.line.unwrap_or(u64::MAX), w.column.unwrap_or(0)));
        if self.errors.is_empty() {
            Ok(warnings)
        } else {
            let mut e = ConfigErrors(self.errors);
            e.sort();
            Err(e)
        }
    }
}

/// True when semantic error `e` may only come from a value that was dropped (wrong type)
/// or emptied (unset variable), at one of the key paths `damaged`; such an error is left
/// out, as the value's own error is reported.
pub(crate) fn caused_by_damage(e: &ConfigError, damaged: &[&str]) -> bool {
    damaged.iter().any(|d| {
        is_under(&e.path, d)
            // `meta` needs a position: its dropped `binlog-pos` does not count.
            || (e.kind == ErrorKind::Missing && parent(d) == Some(e.path.as_str()))
            // A dropped reference (or instance) leaves the rules it named unused.
            || (e.kind == ErrorKind::UnusedRule && names_rules(d))
            // A dropped rule (`routes.r1`) or section (`routes`) is not defined for the
            // instances naming it.
            || (e.kind == ErrorKind::UndefinedReference && dropped_definition(e, d))
    })
}

/// True when key path `d` is `mysql-instances`, one of its items, or a rule reference in one.
fn names_rules(d: &str) -> bool {
    const REFERENCES: &[&str] = &[
        "route-rules",
        "filter-rules",
        "expression-filters",
        "column-mapping-rules",
        "block-allow-list",
        "black-white-list",
        "mydumper-config-name",
        "loader-config-name",
        "syncer-config-name",
        "validator-config-name",
    ];
    let Some(rest) = d.strip_prefix("mysql-instances") else {
        return false;
    };
    let rest = rest.trim_start_matches(|c: char| c == '[' || c == ']' || c.is_ascii_digit());
    match rest.strip_prefix('.') {
        None => rest.is_empty(),
        Some(key) => REFERENCES.iter().any(|r| is_under(key, r)),
    }
}

fn dropped_definition(e: &ConfigError, d: &str) -> bool {
    match parent(d) {
        Some("") => {
            e.message.contains(d)
                || (d == "black-white-list" && e.message.contains("block-allow-list"))
        }
        Some(section) if !section.contains(['.', '[']) => {
            let name = &d[section.len() + 1..];
            e.message.contains(&format!("`{name}`"))
        }
        _ => false,
    }
}

// ---------------------------------------------------------------- shared pieces

/// Checks a connection and decrypts its password in place.
fn db(r: &mut Report, path: &str, db: &mut DbConfig, key: Option<&SecretKey>) {
    if db.host.trim().is_empty() {
        r.error(join(path, "host"), ErrorKind::Missing, "host is required");
    }
    if db.port == 0 {
        r.error(
            join(path, "port"),
            ErrorKind::InvalidValue,
            "port must not be 0",
        );
    }
    r.deprecated(
        &join(path, "max-allowed-packet"),
        db.max_allowed_packet.is_some(),
        " (the value is read from the server)",
    );
    match decrypt_or_plaintext(key, db.password.expose()) {
        Ok(p) => db.password = Password::new(p),
        Err(e) => r.error(join(path, "password"), ErrorKind::Secret, e.to_string()),
    }
    // A block without any certificate (`security: {}`, or DM's own output `ssl-ca: ""`,
    // `ssl-ca-bytes: []`, …) means no TLS, as in DM.
    if db.security.as_ref().is_some_and(Security::is_empty) {
        if db
            .security
            .as_ref()
            .is_some_and(|s| !s.cert_allowed_cn.is_empty())
        {
            r.warn(
                join(path, "security.cert-allowed-cn"),
                "ignored: no certificate is given, so the connection does not use TLS",
            );
        }
        db.security = None;
    }
    if let Some(sec) = &db.security {
        let sec_path = join(path, "security");
        for (name, value) in [
            ("ssl-ca-base64", &sec.ssl_ca_base64),
            ("ssl-key-base64", &sec.ssl_key_base64),
            ("ssl-cert-base64", &sec.ssl_cert_base64),
        ] {
            use base64::Engine as _;
            if let Some(v) = value.as_ref().filter(|v| !v.is_empty()) {
                if base64::engine::general_purpose::STANDARD
                    .decode(v.trim())
                    .is_err()
                {
                    r.error(
                        join(&sec_path, name),
                        ErrorKind::InvalidValue,
                        "not valid base64",
                    );
                }
            }
        }
    }
}

/// Checks a binlog event filter rule as DM's binlog-filter does when it builds the filter
/// (`pkg/binlog-filter`, `NewBinlogEvent`): a rule it cannot use (empty or invalid pattern,
/// unknown event type, invalid `sql-pattern`, missing or invalid `action`) is logged and
/// ignored, and the file is accepted. Ferry warns at the place of each problem and returns
/// false: the caller drops the rule. Blank event names (DM's no-op "null event") are
/// removed from the rule.
fn filter_rule(r: &mut Report, path: &str, rule: &mut BinlogEventRule) -> bool {
    fn unusable(r: &mut Report, at: String, problem: String) {
        r.warn(
            at,
            format!(
                "{problem}; DM logs an error and ignores this whole filter rule, so does Ferry"
            ),
        );
    }
    let mut usable = true;
    if rule.schema_pattern.is_empty() {
        unusable(
            r,
            join(path, "schema-pattern"),
            "schema-pattern is empty".into(),
        );
        usable = false;
    }
    for (key, pat) in [
        ("schema-pattern", &rule.schema_pattern),
        ("table-pattern", &rule.table_pattern),
    ] {
        if let Err(e) = check_selector_pattern(pat) {
            unusable(r, join(path, key), e);
            usable = false;
        }
    }
    for (j, ev) in rule.events.iter().enumerate() {
        let ev = ev.trim();
        if !ev.is_empty() && !FILTER_EVENTS.iter().any(|k| k.eq_ignore_ascii_case(ev)) {
            unusable(
                r,
                format!("{path}.events[{j}]"),
                format!("unknown event type `{ev}`"),
            );
            usable = false;
        }
    }
    for (j, pat) in rule.sql_pattern.iter().enumerate() {
        if let Err(e) = check_regex(pat) {
            unusable(r, format!("{path}.sql-pattern[{j}]"), e);
            usable = false;
        }
    }
    if rule.action.is_none() {
        let key = join(path, "action");
        // A present but invalid action was already reported while parsing.
        if !r.index.contains(&key) {
            unusable(r, key, "no action (Do, Ignore or Error)".into());
        }
        usable = false;
    }
    rule.events.retain(|e| !e.trim().is_empty());
    usable
}

fn duration(r: &mut Report, path: &str, text: &str) -> Option<std::time::Duration> {
    match parse_go_duration(text) {
        Ok(d) => Some(d),
        Err(e) => {
            r.error(path, ErrorKind::InvalidValue, e);
            None
        }
    }
}

fn check_gtid(r: &mut Report, path: &str, text: &str, flavor: Option<Flavor>) {
    let result = match flavor {
        Some(Flavor::Mysql) => GtidSet::parse_mysql(text)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Some(Flavor::Mariadb) => GtidSet::parse_mariadb(text)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        None => parse_gtid(text).map(|_| ()),
    };
    if let Err(e) = result {
        r.error(path, ErrorKind::InvalidValue, e);
    }
}

fn check_binlog_name(r: &mut Report, path: &str, name: &str) {
    if let Err(e) = split_file_name(name) {
        r.error(path, ErrorKind::InvalidValue, e.to_string());
    }
}

// ---------------------------------------------------------------- source.yaml

/// Checks a source and decrypts its password.
pub(crate) fn source(cfg: &mut SourceConfig, r: &mut Report, key: Option<&SecretKey>) {
    let id = cfg.source_id.trim();
    if id.is_empty() {
        r.error("source-id", ErrorKind::Missing, "source-id is required");
    } else if cfg.source_id.len() > MAX_SOURCE_ID_LENGTH {
        r.error(
            "source-id",
            ErrorKind::InvalidValue,
            format!(
                "source-id `{}` is longer than {MAX_SOURCE_ID_LENGTH} characters",
                cfg.source_id
            ),
        );
    }
    if !cfg.relay_binlog_name.is_empty() {
        check_binlog_name(r, "relay-binlog-name", &cfg.relay_binlog_name);
        if cfg.enable_gtid {
            r.warn(
                "relay-binlog-name",
                "ignored: enable-gtid is true, so the relay starts from relay-binlog-gtid",
            );
        }
    }
    if !cfg.relay_binlog_gtid.is_empty() {
        check_gtid(r, "relay-binlog-gtid", &cfg.relay_binlog_gtid, cfg.flavor);
        if !cfg.enable_gtid {
            r.warn(
                "relay-binlog-gtid",
                "ignored: enable-gtid is false, so the relay starts from relay-binlog-name",
            );
        }
    }
    r.deprecated(
        "relay-dir",
        cfg.relay_dir.is_some(),
        " (the relay log lives in the daemon's data-dir)",
    );
    r.deprecated("charset", cfg.charset.is_some(), "");
    r.deprecated("auto-fix-gtid", cfg.auto_fix_gtid.is_some(), "");
    r.deprecated("meta-dir", cfg.meta_dir.is_some(), "");
    r.deprecated("tracer", cfg.tracer.is_some(), "");
    db(r, "from", &mut cfg.from, key);
    if cfg.binlog_backend == BinlogBackend::Connector {
        let refuse = |what: &str| {
            format!(
                "binlog backend `connector` does not support {what}; use the default backend \
                 (binlog-backend: mysql_async)"
            )
        };
        if cfg.from.security.is_some() {
            r.error(
                "binlog-backend",
                ErrorKind::InvalidValue,
                refuse("TLS (from.security)"),
            );
        }
        if cfg.from.password.is_empty() {
            r.error(
                "binlog-backend",
                ErrorKind::InvalidValue,
                refuse("logging in without a password (empty from.password)"),
            );
        }
        if cfg.enable_gtid && cfg.flavor == Some(Flavor::Mariadb) {
            r.error(
                "binlog-backend",
                ErrorKind::InvalidValue,
                refuse("MariaDB GTID (enable-gtid with flavor mariadb)"),
            );
        }
    }
    for (name, v) in [
        ("purge.interval", cfg.purge.interval),
        ("purge.expires", cfg.purge.expires),
        ("purge.remain-space", cfg.purge.remain_space),
    ] {
        if v < 0 {
            r.error(name, ErrorKind::InvalidValue, "must not be negative");
        }
    }
    let c = cfg.checker.clone();
    duration(r, "checker.backoff-rollback", &c.backoff_rollback);
    duration(r, "checker.check-interval", &c.check_interval);
    let max = duration(r, "checker.backoff-max", &c.backoff_max);
    // The hidden `backoff-min` (like `check-interval` and `backoff-factor`) is reset to its
    // default by DM; a zero value means that default here too.
    let min = duration(r, "checker.backoff-min", &c.backoff_min).map(|_| c.backoff_min());
    if let (Some(max), Some(min)) = (max, min) {
        if max < min {
            r.error(
                "checker.backoff-max",
                ErrorKind::InvalidValue,
                format!(
                    "backoff-max ({}) is smaller than backoff-min ({min:?})",
                    c.backoff_max
                ),
            );
        }
    }
    if c.backoff_factor < 0.0 || !c.backoff_factor.is_finite() {
        r.error(
            "checker.backoff-factor",
            ErrorKind::InvalidValue,
            "must be a positive number (0 means the default, 2)",
        );
    }
    let mut keep = Vec::with_capacity(cfg.filters.len());
    for (i, rule) in cfg.filters.iter_mut().enumerate() {
        keep.push(filter_rule(r, &format!("filters[{i}]"), rule));
    }
    let mut keep = keep.into_iter();
    cfg.filters.retain(|_| keep.next().unwrap_or(true));
}

// ---------------------------------------------------------------- task.yaml

/// Names used by instances, to find the unused global rules.
#[derive(Default)]
struct Uses {
    routes: HashSet<String>,
    filters: HashSet<String>,
    exprs: HashSet<String>,
    ba: HashSet<String>,
    mydumpers: HashSet<String>,
    loaders: HashSet<String>,
    syncers: HashSet<String>,
    validators: HashSet<String>,
}

/// Checks a task and decrypts the downstream password.
pub(crate) fn task(cfg: &mut TaskConfig, r: &mut Report, key: Option<&SecretKey>) {
    if cfg.name.trim().is_empty() {
        r.error(
            "name",
            ErrorKind::Missing,
            "name is required (a unique task name)",
        );
    }
    if cfg.task_mode.is_none() {
        r.error(
            "task-mode",
            ErrorKind::Missing,
            "task-mode is required: full, incremental or all",
        );
    }
    if cfg.meta_schema.trim().is_empty() {
        cfg.meta_schema = DEFAULT_META_SCHEMA.to_string();
    }
    if let Some(s) = cfg.is_sharding {
        r.warn(
            "is-sharding",
            if s {
                "deprecated: use `shard-mode: pessimistic` (taken as such)"
            } else {
                "deprecated: use shard-mode"
            },
        );
    }
    if cfg.strict_optimistic_shard_mode && cfg.effective_shard_mode() != ShardMode::Optimistic {
        r.error(
            "strict-optimistic-shard-mode",
            ErrorKind::Conflict,
            "strict-optimistic-shard-mode needs `shard-mode: optimistic`",
        );
    }
    match &cfg.column_mappings {
        Some(v) if !is_empty_json(v) => r.error(
            "column-mappings",
            ErrorKind::Removed,
            "column-mappings was removed by DM and is not supported; use routes with \
             extract-table/extract-schema/extract-source instead",
        ),
        Some(_) => r.warn(
            "column-mappings",
            "removed by DM; the empty value is ignored",
        ),
        None => {}
    }
    for (j, item) in cfg.ignore_checking_items.iter().enumerate() {
        if !CHECKING_ITEMS.contains(&item.as_str()) {
            r.error(
                format!("ignore-checking-items[{j}]"),
                ErrorKind::InvalidValue,
                format!(
                    "unknown checking item `{item}`: expected one of {}",
                    CHECKING_ITEMS.join(", ")
                ),
            );
        }
    }
    if let Some(scheme) = cfg.online_ddl_scheme.clone() {
        match scheme.as_str() {
            "gh-ost" | "pt" => {
                cfg.online_ddl = true;
                r.warn(
                    "online-ddl-scheme",
                    "deprecated: use `online-ddl: true` (gh-ost and pt are both handled)",
                );
            }
            "" => r.warn("online-ddl-scheme", "deprecated: use online-ddl"),
            other => r.error(
                "online-ddl-scheme",
                ErrorKind::InvalidValue,
                format!("invalid online-ddl-scheme `{other}`: expected gh-ost or pt"),
            ),
        }
    }
    r.deprecated("enable-heartbeat", cfg.enable_heartbeat.is_some(), "");
    r.deprecated(
        "heartbeat-update-interval",
        cfg.heartbeat_update_interval.is_some(),
        "",
    );
    r.deprecated(
        "heartbeat-report-interval",
        cfg.heartbeat_report_interval.is_some(),
        "",
    );
    r.deprecated(
        "remove-meta",
        cfg.remove_meta.is_some(),
        " (use `start-task --remove-meta`)",
    );
    if let Some(tz) = &cfg.timezone {
        if let Err(e) = check_timezone(tz) {
            r.error("timezone", ErrorKind::InvalidValue, e);
        }
    }
    match cfg.target_database.as_mut() {
        None => r.error(
            "target-database",
            ErrorKind::Missing,
            "target-database is required",
        ),
        Some(t) => db(r, "target-database", t, key),
    }
    if cfg.mysql_instances.is_empty() {
        r.error(
            "mysql-instances",
            ErrorKind::Missing,
            "at least one mysql-instances entry is required",
        );
    }
    for (j, rule) in cfg.shadow_table_rules.iter().enumerate() {
        if let Err(e) = check_regex(rule) {
            r.error(
                format!("shadow-table-rules[{j}]"),
                ErrorKind::InvalidValue,
                e,
            );
        }
    }
    for (j, rule) in cfg.trash_table_rules.iter().enumerate() {
        if let Err(e) = check_regex(rule) {
            r.error(
                format!("trash-table-rules[{j}]"),
                ErrorKind::InvalidValue,
                e,
            );
        }
    }

    // Global rule sets.
    for (name, rule) in &cfg.routes {
        route_rule(r, &format!("routes.{name}"), rule);
    }
    // Rules DM would ignore are dropped at the end, once the references to them are
    // checked (DM checks the references on the rules as written).
    let mut ignored_filters = Vec::new();
    for (name, rule) in cfg.filters.iter_mut() {
        if !filter_rule(r, &format!("filters.{name}"), rule) {
            ignored_filters.push(name.clone());
        }
    }
    for (name, rule) in &cfg.expression_filter {
        expression_filter(r, &format!("expression-filter.{name}"), rule);
    }
    if let Some(old) = &cfg.black_white_list {
        if cfg.block_allow_list.is_empty() {
            r.warn(
                "black-white-list",
                "deprecated: rename it to block-allow-list",
            );
        } else {
            r.warn(
                "black-white-list",
                "deprecated and ignored because block-allow-list is set",
            );
        }
        for (name, rule) in old {
            ba_rule(r, &format!("black-white-list.{name}"), rule);
        }
    }
    for (name, rule) in &cfg.block_allow_list {
        ba_rule(r, &format!("block-allow-list.{name}"), rule);
    }
    for (name, m) in &cfg.mydumpers {
        mydumper(r, &format!("mydumpers.{name}"), m);
    }
    for (name, l) in &cfg.loaders {
        loader(r, &format!("loaders.{name}"), l);
    }
    for (name, s) in &cfg.syncers {
        syncer(r, &format!("syncers.{name}"), s);
    }
    for (name, v) in &cfg.validators {
        validator(r, &format!("validators.{name}"), v);
    }

    let mut uses = Uses::default();
    let mut seen_sources: HashMap<String, usize> = HashMap::new();
    for i in 0..cfg.mysql_instances.len() {
        instance(cfg, i, r, &mut uses, &mut seen_sources);
    }

    unused(r, "routes", "route rule", cfg.routes.keys(), &uses.routes);
    unused(
        r,
        "filters",
        "filter rule",
        cfg.filters.keys(),
        &uses.filters,
    );
    unused(
        r,
        "expression-filter",
        "expression filter",
        cfg.expression_filter.keys(),
        &uses.exprs,
    );
    unused(
        r,
        "mydumpers",
        "mydumpers entry",
        cfg.mydumpers.keys(),
        &uses.mydumpers,
    );
    unused(
        r,
        "loaders",
        "loaders entry",
        cfg.loaders.keys(),
        &uses.loaders,
    );
    unused(
        r,
        "syncers",
        "syncers entry",
        cfg.syncers.keys(),
        &uses.syncers,
    );
    unused(
        r,
        "validators",
        "validators entry",
        cfg.validators.keys(),
        &uses.validators,
    );
    let ba_section = if cfg.block_allow_list.is_empty() && cfg.black_white_list.is_some() {
        "black-white-list"
    } else {
        "block-allow-list"
    };
    for name in cfg.ba_lists().keys() {
        if !uses.ba.contains(name) {
            r.warn(
                format!("{ba_section}.{name}"),
                format!("block-allow-list rule `{name}` is not used by any mysql-instances entry"),
            );
        }
    }

    foreign_key_mode(cfg, r);
    for name in ignored_filters {
        cfg.filters.remove(&name);
    }
}

fn is_empty_json(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Null => true,
        serde_json::Value::Object(m) => m.is_empty(),
        serde_json::Value::Array(a) => a.is_empty(),
        serde_json::Value::String(s) => s.is_empty(),
        _ => false,
    }
}

fn unused<'k>(
    r: &mut Report,
    section: &str,
    what: &str,
    names: impl Iterator<Item = &'k String>,
    used: &HashSet<String>,
) {
    for name in names {
        if !used.contains(name) {
            r.error(
                format!("{section}.{name}"),
                ErrorKind::UnusedRule,
                format!("{what} `{name}` is defined but not used by any mysql-instances entry"),
            );
        }
    }
}

fn instance(
    cfg: &TaskConfig,
    i: usize,
    r: &mut Report,
    uses: &mut Uses,
    seen_sources: &mut HashMap<String, usize>,
) {
    let inst = &cfg.mysql_instances[i];
    let p = format!("mysql-instances[{i}]");
    let at = |k: &str| join(&p, k);
    let mode = cfg.task_mode;

    if inst.source_id.trim().is_empty() {
        r.error(at("source-id"), ErrorKind::Missing, "source-id is required");
    } else {
        if inst.source_id.len() > MAX_SOURCE_ID_LENGTH {
            r.error(
                at("source-id"),
                ErrorKind::InvalidValue,
                format!("source-id is longer than {MAX_SOURCE_ID_LENGTH} characters"),
            );
        }
        if let Some(first) = seen_sources.get(&inst.source_id) {
            r.error(
                at("source-id"),
                ErrorKind::Conflict,
                format!(
                    "source-id `{}` is already used by mysql-instances[{first}]",
                    inst.source_id
                ),
            );
        } else {
            seen_sources.insert(inst.source_id.clone(), i);
        }
    }

    match &inst.meta {
        Some(meta) => {
            let name = non_empty(&meta.binlog_name);
            let gtid = non_empty(&meta.binlog_gtid);
            if name.is_none() && gtid.is_none() {
                r.error(
                    at("meta"),
                    ErrorKind::Missing,
                    "meta needs binlog-name (and binlog-pos) or binlog-gtid",
                );
            }
            if let Some(name) = name {
                check_binlog_name(r, &at("meta.binlog-name"), name);
            }
            if let Some(g) = gtid {
                check_gtid(r, &at("meta.binlog-gtid"), g, None);
            }
            if meta.binlog_pos.is_some_and(|p| p != 0) && name.is_none() {
                r.warn(at("meta.binlog-pos"), "ignored without binlog-name");
            }
            if matches!(
                mode,
                Some(TaskMode::Full | TaskMode::All | TaskMode::Dump | TaskMode::Load)
            ) {
                r.warn(
                    at("meta"),
                    "not used: a full/all task starts replication from the position of its dump",
                );
            }
        }
        None => {
            if mode == Some(TaskMode::Incremental) {
                r.warn(
                    &p,
                    "no meta: replication starts from the checkpoint if any, else from \
                     `start-task --start-time`, else from the upstream's current position",
                );
            }
        }
    }

    references(
        r,
        &at("route-rules"),
        "route rule",
        "routes",
        &inst.route_rules,
        |n| cfg.routes.contains_key(n),
        &mut uses.routes,
    );
    references(
        r,
        &at("filter-rules"),
        "filter rule",
        "filters",
        &inst.filter_rules,
        |n| cfg.filters.contains_key(n),
        &mut uses.filters,
    );
    references(
        r,
        &at("expression-filters"),
        "expression filter",
        "expression-filter",
        &inst.expression_filters,
        |n| cfg.expression_filter.contains_key(n),
        &mut uses.exprs,
    );
    if let Some(rules) = &inst.column_mapping_rules {
        r.warn(
            at("column-mapping-rules"),
            "deprecated and ignored by Ferry",
        );
        duplicates(r, &at("column-mapping-rules"), rules);
    }

    // Block/allow list.
    if inst.black_white_list.is_some() {
        if non_empty(&inst.block_allow_list).is_some() {
            r.warn(
                at("black-white-list"),
                "deprecated and ignored because block-allow-list is set",
            );
        } else {
            r.warn(
                at("black-white-list"),
                "deprecated: rename it to block-allow-list",
            );
        }
    }
    if let Some(name) = inst.ba_list_name() {
        let key = if non_empty(&inst.block_allow_list).is_some() {
            "block-allow-list"
        } else {
            "black-white-list"
        };
        if cfg.ba_lists().contains_key(name) {
            uses.ba.insert(name.to_string());
        } else {
            r.error(
                at(key),
                ErrorKind::UndefinedReference,
                format!("block-allow-list rule `{name}` is not defined"),
            );
        }
    }

    // Unit configurations: a name or an inline block, not both.
    unit_ref(
        r,
        &p,
        ("mydumper-config-name", "mydumper", "mydumpers"),
        non_empty(&inst.mydumper_config_name),
        inst.mydumper.is_some(),
        |n| cfg.mydumpers.contains_key(n),
        &mut uses.mydumpers,
    );
    if let Some(m) = &inst.mydumper {
        mydumper(r, &at("mydumper"), m);
    }
    unit_ref(
        r,
        &p,
        ("loader-config-name", "loader", "loaders"),
        non_empty(&inst.loader_config_name),
        inst.loader.is_some(),
        |n| cfg.loaders.contains_key(n),
        &mut uses.loaders,
    );
    if let Some(l) = &inst.loader {
        loader(r, &at("loader"), l);
    }
    unit_ref(
        r,
        &p,
        ("syncer-config-name", "syncer", "syncers"),
        non_empty(&inst.syncer_config_name),
        inst.syncer.is_some(),
        |n| cfg.syncers.contains_key(n),
        &mut uses.syncers,
    );
    if let Some(s) = &inst.syncer {
        syncer(r, &at("syncer"), s);
    }
    if let Some(name) = non_empty(&inst.validator_config_name) {
        if cfg.validators.contains_key(name) {
            uses.validators.insert(name.to_string());
        } else {
            r.error(
                at("validator-config-name"),
                ErrorKind::UndefinedReference,
                format!("validators entry `{name}` is not defined"),
            );
        }
    }
}

/// Checks a list of rule names: each defined, none twice.
fn references(
    r: &mut Report,
    path: &str,
    what: &str,
    section: &str,
    names: &[String],
    defined: impl Fn(&str) -> bool,
    used: &mut HashSet<String>,
) {
    for (j, name) in names.iter().enumerate() {
        if defined(name) {
            used.insert(name.clone());
        } else {
            r.error(
                format!("{path}[{j}]"),
                ErrorKind::UndefinedReference,
                format!("{what} `{name}` is not defined in {section}"),
            );
        }
    }
    duplicates(r, path, names);
}

fn duplicates(r: &mut Report, path: &str, names: &[String]) {
    let mut seen = HashSet::new();
    for (j, name) in names.iter().enumerate() {
        if !seen.insert(name.as_str()) {
            r.error(
                format!("{path}[{j}]"),
                ErrorKind::DuplicateReference,
                format!("`{name}` is listed twice"),
            );
        }
    }
}

fn unit_ref(
    r: &mut Report,
    p: &str,
    (name_key, inline_key, section): (&str, &str, &str),
    name: Option<&str>,
    has_inline: bool,
    defined: impl Fn(&str) -> bool,
    used: &mut HashSet<String>,
) {
    let Some(name) = name else { return };
    if has_inline {
        r.error(
            join(p, inline_key),
            ErrorKind::Conflict,
            format!("set either {name_key} or an inline {inline_key} block, not both"),
        );
    }
    if defined(name) {
        used.insert(name.to_string());
    } else {
        r.error(
            join(p, name_key),
            ErrorKind::UndefinedReference,
            format!("{section} entry `{name}` is not defined"),
        );
    }
}

fn route_rule(r: &mut Report, path: &str, rule: &RouteRule) {
    if rule.schema_pattern.is_empty() {
        r.error(
            join(path, "schema-pattern"),
            ErrorKind::Missing,
            "schema-pattern is required",
        );
    }
    for (key, pat) in [
        ("schema-pattern", &rule.schema_pattern),
        ("table-pattern", &rule.table_pattern),
    ] {
        if let Err(e) = check_selector_pattern(pat) {
            r.error(join(path, key), ErrorKind::InvalidValue, e);
        }
    }
    let extractors = [
        (
            "extract-table",
            "table-regexp",
            rule.extract_table
                .as_ref()
                .map(|e| (&e.table_regexp, &e.target_column)),
        ),
        (
            "extract-schema",
            "schema-regexp",
            rule.extract_schema
                .as_ref()
                .map(|e| (&e.schema_regexp, &e.target_column)),
        ),
        (
            "extract-source",
            "source-regexp",
            rule.extract_source
                .as_ref()
                .map(|e| (&e.source_regexp, &e.target_column)),
        ),
    ];
    for (section, re_key, ext) in extractors {
        let Some((re, column)) = ext else { continue };
        let ep = join(path, section);
        if column.is_empty() {
            r.error(
                join(&ep, "target-column"),
                ErrorKind::Missing,
                "target-column is required",
            );
        }
        if re.starts_with('~') {
            r.error(
                join(&ep, re_key),
                ErrorKind::InvalidValue,
                "is already a regex and must not start with `~`",
            );
        } else if let Err(e) = check_regex(re) {
            r.error(join(&ep, re_key), ErrorKind::InvalidValue, e);
        }
    }
}

fn expression_filter(r: &mut Report, path: &str, f: &ExpressionFilter) {
    if f.schema.is_empty() {
        r.error(
            join(path, "schema"),
            ErrorKind::Missing,
            "schema is required",
        );
    }
    if f.table.is_empty() {
        r.error(join(path, "table"), ErrorKind::Missing, "table is required");
    }
    let set = |o: &Option<String>| o.as_deref().is_some_and(|s| !s.is_empty());
    let kinds = [
        set(&f.insert_value_expr),
        set(&f.update_old_value_expr) || set(&f.update_new_value_expr),
        set(&f.delete_value_expr),
    ];
    if kinds.iter().filter(|k| **k).count() > 1 {
        r.error(
            path,
            ErrorKind::Conflict,
            "an expression filter takes only one kind of expression: insert, update or delete",
        );
    }
}

fn ba_rule(r: &mut Report, path: &str, rule: &BaListRule) {
    for (key, list) in [("do-dbs", &rule.do_dbs), ("ignore-dbs", &rule.ignore_dbs)] {
        for (j, pat) in list.iter().enumerate() {
            if let Err(e) = check_ba_pattern(pat) {
                r.error(format!("{path}.{key}[{j}]"), ErrorKind::InvalidValue, e);
            }
        }
    }
    for (key, list) in [
        ("do-tables", &rule.do_tables),
        ("ignore-tables", &rule.ignore_tables),
    ] {
        for (j, t) in list.iter().enumerate() {
            for (k, pat) in [("db-name", &t.db_name), ("tbl-name", &t.tbl_name)] {
                if let Err(e) = check_ba_pattern(pat) {
                    r.error(format!("{path}.{key}[{j}].{k}"), ErrorKind::InvalidValue, e);
                }
            }
        }
    }
}

fn mydumper(r: &mut Report, path: &str, m: &MydumperConfig) {
    // `threads: 0` is dumpling's default (4), as in DM; `chunk-filesize: ""` is 64 MB.
    if !m.chunk_filesize.trim().is_empty() {
        if let Err(e) = m.chunk_filesize_bytes() {
            r.error(join(path, "chunk-filesize"), ErrorKind::InvalidValue, e);
        }
    }
    r.deprecated(&join(path, "mydumper-path"), m.mydumper_path.is_some(), "");
    match m.parsed_extra_args() {
        Err(e) => r.error(
            join(path, "extra-args"),
            ErrorKind::InvalidValue,
            e.to_string(),
        ),
        Ok(args) => {
            if !args.unknown.is_empty() {
                r.warn(
                    join(path, "extra-args"),
                    format!(
                        "ignored by Ferry: {} (understood: --consistency, --where, -r/--rows, \
                         --snapshot)",
                        args.unknown
                            .iter()
                            .map(|a| format!("`{a}`"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                );
            }
        }
    }
}

fn loader(r: &mut Report, path: &str, l: &LoaderConfig) {
    if matches!(l.import_mode, ImportMode::Sql | ImportMode::Loader) {
        r.warn(
            join(path, "import-mode"),
            format!("`{}` is a legacy name of `logical`", l.import_mode),
        );
    }
    if l.on_duplicate.is_some() {
        r.warn(
            join(path, "on-duplicate"),
            "deprecated: use on-duplicate-logical",
        );
    }
    if let Err(e) = parse_byte_size(&l.disk_quota_physical, 1) {
        if !l.disk_quota_physical.trim().is_empty() {
            r.error(
                join(path, "disk-quota-physical"),
                ErrorKind::InvalidValue,
                e,
            );
        }
    }
    if let Some(c) = &l.compress_kv_pairs {
        if !matches!(c.to_ascii_lowercase().as_str(), "" | "gzip" | "gz") {
            r.error(
                join(path, "compress-kv-pairs"),
                ErrorKind::InvalidValue,
                format!("invalid compress-kv-pairs `{c}`: expected gzip, gz or \"\""),
            );
        }
    }
}

fn syncer(r: &mut Report, path: &str, s: &SyncerConfig) {
    if s.worker_count == 0 {
        r.warn(
            join(path, "worker-count"),
            format!(
                "0 workers cannot apply any change (DM accepts it, then fails at the first row \
                 change); Ferry uses the default, {DEFAULT_WORKER_COUNT}, unless syncer-thread \
                 is set"
            ),
        );
    }
    if s.batch == 0 {
        r.warn(
            join(path, "batch"),
            format!(
                "0 writes each row change in its own downstream transaction, as DM does (the \
                 default is {DEFAULT_BATCH})"
            ),
        );
    }
    match s.check_safe_mode_duration() {
        Err(e) => r.error(join(path, "safe-mode-duration"), ErrorKind::InvalidValue, e),
        Ok(d) if d.is_zero() && s.safe_mode => r.error(
            join(path, "safe-mode-duration"),
            ErrorKind::Conflict,
            "safe-mode: true conflicts with safe-mode-duration \"0s\" (which disables \
             automatic safe mode)",
        ),
        Ok(_) => {}
    }
    r.deprecated(&join(path, "max-retry"), s.max_retry.is_some(), "");
    r.deprecated(&join(path, "auto-fix-gtid"), s.auto_fix_gtid.is_some(), "");
    r.deprecated(
        &join(path, "enable-gtid"),
        s.enable_gtid.is_some(),
        " (set enable-gtid in source.yaml)",
    );
    r.deprecated(
        &join(path, "disable-detect"),
        s.disable_detect.is_some(),
        "",
    );
    r.deprecated(
        &join(path, "enable-ansi-quotes"),
        s.enable_ansi_quotes.is_some(),
        " (use the task-level ansi-quotes)",
    );
    r.deprecated(&join(path, "meta-file"), s.meta_file.is_some(), "");
}

fn validator(r: &mut Report, path: &str, v: &ValidatorConfig) {
    for (key, text) in [
        ("validate-interval", &v.validate_interval),
        ("check-interval", &v.check_interval),
        ("row-error-delay", &v.row_error_delay),
        ("meta-flush-interval", &v.meta_flush_interval),
    ] {
        duration(r, &join(path, key), text);
    }
    // Zero values (`""`, `0`, `0s`) mean DM's defaults (`ValidatorConfig.Adjust`).
    if !v.max_pending_row_size.trim().is_empty() {
        if let Err(e) = parse_byte_size(&v.max_pending_row_size, 1) {
            r.error(
                join(path, "max-pending-row-size"),
                ErrorKind::InvalidValue,
                e,
            );
        }
    }
}

/// DM ≥ 8.5.6: with `foreign_key_checks=1` downstream, `compact` and `multiple-rows` are
/// refused (they reorder changes across tables).
fn foreign_key_mode(cfg: &TaskConfig, r: &mut Report) {
    let on = cfg
        .target_database
        .as_ref()
        .and_then(|t| t.session_var("foreign_key_checks"))
        .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "on" | "true"));
    if !on {
        return;
    }
    let mut blocks: Vec<(String, &SyncerConfig)> = cfg
        .syncers
        .iter()
        .map(|(n, s)| (format!("syncers.{n}"), s))
        .collect();
    for (i, inst) in cfg.mysql_instances.iter().enumerate() {
        if let Some(s) = &inst.syncer {
            blocks.push((format!("mysql-instances[{i}].syncer"), s));
        }
    }
    for (path, s) in blocks {
        for (key, set) in [
            ("compact", s.compact),
            ("multiple-rows", s.multiple_rows == Some(true)),
        ] {
            if set {
                r.error(
                    join(&path, key),
                    ErrorKind::Conflict,
                    format!("{key} cannot be used with session foreign_key_checks=1"),
                );
            }
        }
    }
}

/// DM accepts a UTC offset (`+08:00`) or a zone name (`Asia/Shanghai`, `UTC`, `Local`).
fn check_timezone(tz: &str) -> Result<(), String> {
    let t = tz.trim();
    let bytes = t.as_bytes();
    let offset = (bytes.first() == Some(&b'+') || bytes.first() == Some(&b'-'))
        && t[1..].split_once(':').is_some_and(|(h, m)| {
            !h.is_empty()
                && h.len() <= 2
                && m.len() == 2
                && h.bytes().all(|b| b.is_ascii_digit())
                && m.bytes().all(|b| b.is_ascii_digit())
        });
    if offset || matches!(t, "UTC" | "Local" | "SYSTEM") {
        return Ok(());
    }
    let name_ok = !t.is_empty()
        && t.split('/').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+'))
        });
    if !name_ok {
        return Err(format!("invalid timezone `{tz}`"));
    }
    let zoneinfo = std::path::Path::new("/usr/share/zoneinfo");
    if zoneinfo.is_dir() && !zoneinfo.join(t).is_file() {
        return Err(format!("unknown timezone `{tz}`"));
    }
    Ok(())
}

// ---------------------------------------------------------------- daemon

/// Checks the daemon configuration.
pub(crate) fn daemon(cfg: &DaemonConfig, r: &mut Report) {
    if let Err(e) = check_addr(&cfg.master_addr) {
        r.error("master-addr", ErrorKind::InvalidValue, e);
    }
    if cfg.data_dir.as_os_str().is_empty() {
        r.error("data-dir", ErrorKind::InvalidValue, "must not be empty");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timezones() {
        assert!(check_timezone("+08:00").is_ok());
        assert!(check_timezone("-5:30").is_ok());
        assert!(check_timezone("UTC").is_ok());
        assert!(
            check_timezone("Asia/Shanghai").is_ok()
                || !std::path::Path::new("/usr/share/zoneinfo").is_dir()
        );
        assert!(check_timezone("not a zone").is_err());
        assert!(check_timezone("+8").is_err());
    }
}
