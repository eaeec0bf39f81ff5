//! Which semantic errors only come from a value the parse already reported (dropped for
//! a wrong type, or emptied for an unset variable).

use crate::error::{ConfigError, ErrorKind};
use crate::yaml::{is_under, parent};

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
