//! A compiled filter rule: where it applies (schema/table patterns), which events it matches
//! (its `events` list and `sql-pattern` regexes), and what it does with them (`action`).

use ferry_config::enums::FilterAction;
use ferry_config::BinlogEventRule;
use regex::Regex;

use super::event_type::{EventType, Kind};
use crate::rules::pattern::{Pattern, PatternError};

/// A filter rule could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum EventFilterError {
    /// `schema-pattern` or `table-pattern` is invalid.
    #[error("binlog event filter `{rule}`: {source}")]
    Pattern {
        /// Rule name.
        rule: String,
        /// The pattern error.
        source: PatternError,
    },
    /// `schema-pattern` is empty.
    #[error("binlog event filter `{rule}`: schema-pattern is required")]
    MissingSchemaPattern {
        /// Rule name.
        rule: String,
    },
    /// An entry of `events` is not a DM event name.
    #[error("binlog event filter `{rule}`: unknown event type `{event}`")]
    UnknownEvent {
        /// Rule name.
        rule: String,
        /// The name as written.
        event: String,
    },
    /// An entry of `sql-pattern` is not a valid regular expression.
    #[error("binlog event filter `{rule}`: invalid sql-pattern `{pattern}`: {reason}")]
    SqlPattern {
        /// Rule name.
        rule: String,
        /// The pattern as written.
        pattern: String,
        /// Why it does not compile.
        reason: String,
    },
    /// `action` is missing.
    #[error("binlog event filter `{rule}`: action is required (Do, Ignore or Error)")]
    MissingAction {
        /// Rule name.
        rule: String,
    },
}

/// One rule of an [`super::EventFilter`], compiled from its configuration.
#[derive(Debug, Clone)]
pub(super) struct Rule {
    /// The rule's name, reported by an `Error` decision.
    pub(super) name: String,
    schema: Pattern,
    /// `None` for a schema-level rule (empty `table-pattern`).
    table: Option<Pattern>,
    events: Vec<EventType>,
    sql: Vec<Regex>,
    /// What a match (or, for `Do`, a mismatch) does.
    pub(super) action: FilterAction,
}

impl Rule {
    /// Compiles the rule `name`. `case_sensitive = false` matches schema and table names
    /// case-insensitively; `sql-pattern` is always case-insensitive.
    pub(super) fn compile(
        name: &str,
        r: &BinlogEventRule,
        case_sensitive: bool,
    ) -> Result<Self, EventFilterError> {
        let rule = || name.to_string();
        if r.schema_pattern.is_empty() {
            return Err(EventFilterError::MissingSchemaPattern { rule: rule() });
        }
        let pattern = |p: &str| {
            Pattern::new(p, case_sensitive).map_err(|source| EventFilterError::Pattern {
                rule: rule(),
                source,
            })
        };
        let schema = pattern(&r.schema_pattern)?;
        let table = if r.table_pattern.is_empty() {
            None
        } else {
            Some(pattern(&r.table_pattern)?)
        };
        let events = r
            .events
            .iter()
            .map(|e| {
                e.parse::<EventType>()
                    .map_err(|_| EventFilterError::UnknownEvent {
                        rule: rule(),
                        event: e.clone(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let sql = r
            .sql_pattern
            .iter()
            .map(|p| {
                Regex::new(&format!("(?i){p}")).map_err(|e| EventFilterError::SqlPattern {
                    rule: rule(),
                    pattern: p.clone(),
                    reason: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let action = r
            .action
            .ok_or_else(|| EventFilterError::MissingAction { rule: rule() })?;
        Ok(Rule {
            name: rule(),
            schema,
            table,
            events,
            sql,
            action,
        })
    }

    /// True when the rule applies to `schema`.`table`: its schema pattern matches and it is
    /// schema-level or its table pattern matches.
    pub(super) fn applies(&self, schema: &str, table: &str) -> bool {
        self.schema.matches(schema) && self.table.as_ref().is_none_or(|t| t.matches(table))
    }

    /// The rule's checks on one event, each `Some(matched)` when it is made: the events check
    /// (skipped for an unclassified event), then the SQL check (skipped when `sql` is `None`
    /// or the rule has no `sql-pattern`). `sql` must not be empty.
    pub(super) fn checks(&self, event: EventType, sql: Option<&str>) -> [Option<bool>; 2] {
        let mut checks = [None, None];
        if event.kind() != Kind::Unknown {
            checks[0] = Some(events_match(&self.events, event));
        }
        if let Some(sql) = sql.filter(|_| !self.sql.is_empty()) {
            checks[1] = Some(self.sql.iter().any(|re| re.is_match(sql)));
        }
        checks
    }
}

/// DM's scan of a rule's `events` list (see the [`super`] module docs).
fn events_match(list: &[EventType], event: EventType) -> bool {
    let (dml, ddl) = (event.is_dml(), event.is_ddl());
    for &e in list {
        match e {
            EventType::All => return true,
            EventType::None => return false,
            EventType::AllDdl if ddl => return true,
            EventType::NoneDdl if ddl => return false,
            EventType::AllDml if dml => return true,
            EventType::NoneDml if dml => return false,
            EventType::IncompatibleDdlChanges if event.is_incompatible_ddl() => return true,
            _ if e == event => return true,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::event_filter::test_support::{compile_err, filter, rule};
    use crate::rules::event_filter::Decision;
    use EventType as E;

    #[test]
    fn compile_errors_name_the_rule() {
        let e = compile_err(rule(
            "db",
            "",
            &["insert", "upsert"],
            &[],
            FilterAction::Ignore,
        ));
        assert!(e.contains("bad-rule") && e.contains("`upsert`"), "{e}");
        let e = compile_err(rule(
            "db",
            "",
            &[],
            &["^DROP", "(unclosed"],
            FilterAction::Ignore,
        ));
        assert!(e.contains("bad-rule") && e.contains("(unclosed"), "{e}");
        let e = compile_err(rule("~(", "", &[], &[], FilterAction::Ignore));
        assert!(e.contains("bad-rule") && e.contains("~("), "{e}");
        let e = compile_err(rule("", "t", &[], &[], FilterAction::Ignore));
        assert!(e.contains("schema-pattern"), "{e}");
        let mut r = rule("db", "", &["all"], &[], FilterAction::Do);
        r.action = None;
        assert!(compile_err(r).contains("action is required"));
    }

    #[test]
    fn groups_and_none_order() {
        let ev = |list: &[E], e: E| events_match(list, e);
        assert!(ev(&[E::All], E::Insert) && ev(&[E::All], E::DropTable));
        assert!(ev(&[E::AllDml], E::Delete) && !ev(&[E::AllDml], E::CreateTable));
        assert!(ev(&[E::AllDdl], E::CreateTable) && ev(&[E::AllDdl], E::DropColumn));
        assert!(!ev(&[E::AllDdl], E::Update));
        assert!(ev(&[E::IncompatibleDdlChanges], E::DropColumn));
        assert!(ev(&[E::IncompatibleDdlChanges], E::RenameTable));
        assert!(!ev(&[E::IncompatibleDdlChanges], E::CreateTable));
        assert!(!ev(&[E::IncompatibleDdlChanges], E::Insert));
        assert!(!ev(&[], E::Insert));
        assert!(!ev(&[E::None, E::All], E::Insert));
        assert!(ev(&[E::Insert, E::None], E::Insert));
        assert!(!ev(&[E::NoneDml, E::Insert], E::Insert));
        assert!(ev(&[E::NoneDml, E::CreateTable], E::CreateTable));
        assert!(!ev(&[E::NoneDdl, E::AllDdl], E::DropTable));
        assert!(ev(&[E::NoneDdl, E::AllDml], E::Delete));
        assert!(ev(&[E::CreateDatabase], E::CreateDatabase));
        let f = filter(
            &[(
                "r",
                rule("db", "", &["create schema"], &[], FilterAction::Ignore),
            )],
            false,
        );
        assert_eq!(
            f.decide("db", "", E::CreateDatabase, None),
            Decision::Ignore
        );
    }
}
