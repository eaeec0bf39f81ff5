//! The rules a task (or a source, for binlog event filters) defines: routes, binlog event
//! filters, expression filters and block-allow-lists.

use super::report::Report;
use crate::defaults::FILTER_EVENTS;
use crate::error::ErrorKind;
use crate::pattern::{check_ba_pattern, check_regex, check_selector_pattern};
use crate::rules::{BaListRule, BinlogEventRule, ExpressionFilter, RouteRule};
use crate::yaml::join;

/// Checks a binlog event filter rule as DM's binlog-filter does when it builds the filter
/// (`pkg/binlog-filter`, `NewBinlogEvent`): a rule it cannot use (empty or invalid pattern,
/// unknown event type, invalid `sql-pattern`, missing or invalid `action`) is logged and
/// ignored, and the file is accepted. Ferry warns at the place of each problem and returns
/// false: the caller drops the rule. Blank event names (DM's no-op "null event") are
/// removed from the rule.
pub(super) fn filter_rule(r: &mut Report, path: &str, rule: &mut BinlogEventRule) -> bool {
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

pub(super) fn route_rule(r: &mut Report, path: &str, rule: &RouteRule) {
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

pub(super) fn expression_filter(r: &mut Report, path: &str, f: &ExpressionFilter) {
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

pub(super) fn ba_rule(r: &mut Report, path: &str, rule: &BaListRule) {
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
