//! One `mysql-instances` entry of `task.yaml`: its source, its start position, and the
//! rules and unit configurations it names.

use std::collections::{HashMap, HashSet};

use super::report::Report;
use super::units::{loader, mydumper, syncer};
use super::values::{check_binlog_name, check_gtid};
use crate::defaults::MAX_SOURCE_ID_LENGTH;
use crate::enums::TaskMode;
use crate::error::ErrorKind;
use crate::task::{non_empty, TaskConfig};
use crate::yaml::join;

/// Names used by instances, to find the unused global rules.
#[derive(Default)]
pub(super) struct Uses {
    pub(super) routes: HashSet<String>,
    pub(super) filters: HashSet<String>,
    pub(super) exprs: HashSet<String>,
    pub(super) ba: HashSet<String>,
    pub(super) mydumpers: HashSet<String>,
    pub(super) loaders: HashSet<String>,
    pub(super) syncers: HashSet<String>,
    pub(super) validators: HashSet<String>,
}

pub(super) fn instance(
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
