//! `task.yaml`: the task-level keys, the global rule and unit sections, the unused rules,
//! and the syncer options refused with `foreign_key_checks=1`.

use std::collections::{HashMap, HashSet};

use super::connection::db;
use super::instance::{instance, Uses};
use super::report::Report;
use super::rules::{ba_rule, expression_filter, filter_rule, route_rule};
use super::units::{loader, mydumper, syncer, validator};
use super::values::check_timezone;
use crate::defaults::{CHECKING_ITEMS, DEFAULT_META_SCHEMA};
use crate::enums::ShardMode;
use crate::error::ErrorKind;
use crate::pattern::check_regex;
use crate::secret::SecretKey;
use crate::task::TaskConfig;
use crate::unit::SyncerConfig;
use crate::yaml::join;

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
