//! DM's binlog event filter (`filters`): drop, keep or refuse binlog events by schema/table,
//! event type and DDL text, plus the statements DM always skips.
//!
//! Pure logic, compiled once from the task configuration.
//!
//! # Rules
//!
//! * **Applicability.** A rule applies to an event when its `schema-pattern` matches the
//!   event's schema and either its `table-pattern` is empty (a *schema-level* rule, which
//!   applies to every table of the matching schemas and to schema DDL) or its `table-pattern`
//!   matches the event's table. A DDL without a table (`CREATE DATABASE`, ...) is decided with
//!   `table = ""`, so it meets schema-level rules and table-level rules whose pattern matches
//!   the empty name (`*`). SQL the parser cannot attribute to any table is decided with
//!   `schema = ""`, `table = ""`: only rules whose schema pattern matches the empty name,
//!   in practice `schema-pattern: "*"`, can filter it.
//! * **Names** are compared case-insensitively unless the task is `case-sensitive`.
//! * **Events.** A rule's `events` list is scanned in order: `all` matches every event,
//!   `all dml`/`all ddl` every DML/DDL event, `incompatible ddl changes` every DDL that is
//!   not one of the "compatible" kinds (see [`EventType::is_incompatible_ddl`]), a concrete
//!   name matches itself; `none`, `none ddl` (for DDL) and `none dml` (for DML) stop the scan
//!   with "no match" (so `[insert, none]` matches inserts but `[none, insert]` matches nothing).
//!   An event of an unclassified kind ([`EventType::Unclassified`]) skips the events check.
//! * **SQL.** `sql-pattern` entries are regular expressions, matched case-insensitively
//!   anywhere in the statement text; they are only checked when the event carries SQL (DDL)
//!   and the rule has at least one pattern.
//! * **Actions.** For each applicable rule, the events check and then the SQL check each
//!   give a verdict:
//!   - `Ignore`: a match drops the event;
//!   - `Error`: a match reports an error naming the rule;
//!   - `Do`: a *mismatch* drops the event (so a `Do` rule with an empty `events` list drops
//!     every classified event, as in DM).
//!
//!   Any other outcome lets the event through.
//! * **Precedence.** When several rules apply, a drop beats an error, which beats letting the
//!   event through: Ignore > Error > Do. With no applicable rule the event is kept.

mod always_skipped;
mod event_type;
mod rule;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;

use ferry_config::enums::FilterAction;
use ferry_config::BinlogEventRule;

pub use always_skipped::always_skipped;
pub use event_type::{EventType, UnknownEventType};
pub use rule::EventFilterError;
use rule::Rule;

/// The filter's verdict on one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Replicate the event.
    Do,
    /// Drop the event.
    Ignore,
    /// Stop the task: the named `Error` rule matched.
    Error(String),
}

/// Compiled binlog event filter rules of one task instance (see the module docs for the
/// semantics).
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    rules: Vec<Rule>,
}

impl EventFilter {
    /// Compiles named rules (in configuration order). `case_sensitive = false` matches schema
    /// and table names case-insensitively; `sql-pattern` is always case-insensitive.
    pub fn new(
        rules: &[(&str, &BinlogEventRule)],
        case_sensitive: bool,
    ) -> Result<Self, EventFilterError> {
        let rules = rules
            .iter()
            .map(|(name, r)| Rule::compile(name, r, case_sensitive))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { rules })
    }

    /// True when there are no rules (every event is kept).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Decides one event. `table` is `""` for schema-level DDL; `schema` and `table` are both
    /// `""` for SQL that cannot be attributed to a table. `sql` is the statement text of a DDL
    /// (`None` or empty for row events). An `Error` decision names the first applicable
    /// `Error` rule in configuration order.
    pub fn decide(
        &self,
        schema: &str,
        table: &str,
        event: EventType,
        sql: Option<&str>,
    ) -> Decision {
        let sql = sql.filter(|s| !s.is_empty());
        let mut error: Option<&str> = None;
        for rule in self.rules.iter().filter(|r| r.applies(schema, table)) {
            for matched in rule.checks(event, sql).into_iter().flatten() {
                match (rule.action, matched) {
                    (FilterAction::Ignore, true) | (FilterAction::Do, false) => {
                        return Decision::Ignore
                    }
                    (FilterAction::Error, true) => {
                        error.get_or_insert(&rule.name);
                    }
                    _ => {}
                }
            }
        }
        match error {
            Some(name) => Decision::Error(name.to_string()),
            None => Decision::Do,
        }
    }
}
