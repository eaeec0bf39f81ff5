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

use std::fmt;
use std::str::FromStr;

use ferry_config::enums::FilterAction;
use ferry_config::BinlogEventRule;
use regex::Regex;

use super::pattern::{Pattern, PatternError};

/// Declares [`EventType`] with its DM name(s).
macro_rules! event_types {
    ($( $(#[$m:meta])* $variant:ident => $name:literal $(| $alias:literal)* ),+ $(,)?) => {
        /// A DM binlog event type, as named in a filter rule's `events`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventType {
            $( $(#[$m])* $variant, )+
            /// A DDL whose kind could not be classified (DM's empty event type): only
            /// `sql-pattern` can filter it. It has no name and cannot be written in a rule.
            Unclassified,
        }

        impl EventType {
            /// Every nameable event type, groups included (not [`EventType::Unclassified`]).
            pub const ALL: &'static [EventType] = &[$(EventType::$variant),+];

            /// The canonical DM name (`""` for [`EventType::Unclassified`]).
            pub fn as_str(self) -> &'static str {
                match self {
                    $( EventType::$variant => $name, )+
                    EventType::Unclassified => "",
                }
            }

            fn from_name(name: &str) -> Option<Self> {
                match name {
                    $( $name $(| $alias)* => Some(EventType::$variant), )+
                    _ => None,
                }
            }
        }
    };
}

event_types! {
    /// Group: every event.
    All => "all",
    /// Group: every DML event.
    AllDml => "all dml",
    /// Group: every DDL event.
    AllDdl => "all ddl",
    /// Group: no event (same as an empty list).
    None => "none",
    /// Group: no DDL event.
    NoneDdl => "none ddl",
    /// Group: no DML event.
    NoneDml => "none dml",
    /// Group: every DDL that is not one of the compatible kinds.
    IncompatibleDdlChanges => "incompatible ddl changes",
    /// Row insert.
    Insert => "insert",
    /// Row update.
    Update => "update",
    /// Row delete.
    Delete => "delete",
    /// `CREATE DATABASE` / `CREATE SCHEMA`.
    CreateDatabase => "create database" | "create schema",
    /// `DROP DATABASE` / `DROP SCHEMA`.
    DropDatabase => "drop database" | "drop schema",
    /// `ALTER DATABASE` / `ALTER SCHEMA`.
    AlterDatabase => "alter database" | "alter schema",
    /// `CREATE TABLE`.
    CreateTable => "create table",
    /// `DROP TABLE`.
    DropTable => "drop table",
    /// `TRUNCATE TABLE`.
    TruncateTable => "truncate table",
    /// `RENAME TABLE`.
    RenameTable => "rename table",
    /// `CREATE INDEX`.
    CreateIndex => "create index",
    /// `DROP INDEX`.
    DropIndex => "drop index",
    /// `CREATE VIEW`.
    CreateView => "create view",
    /// `DROP VIEW`.
    DropView => "drop view",
    /// `ALTER TABLE` (not further classified).
    AlterTable => "alter table",
    /// `ALTER TABLE ... ADD PARTITION`.
    AddTablePartition => "add table partition",
    /// `ALTER TABLE ... DROP PARTITION`.
    DropTablePartition => "drop table partition",
    /// `ALTER TABLE ... TRUNCATE PARTITION`.
    TruncateTablePartition => "truncate table partition",
    /// `ALTER TABLE ... REORGANIZE PARTITION`.
    ReorganizeTablePartition => "reorganize table partition",
    /// `ALTER TABLE ... REBUILD PARTITION`.
    RebuildTablePartition => "rebuild table partition",
    /// `ALTER TABLE ... COALESCE PARTITION`.
    CoalesceTablePartition => "coalesce table partition",
    /// `ALTER TABLE ... SPLIT PARTITION` (TiDB).
    SplitTablePartition => "split table partition",
    /// `ALTER TABLE ... EXCHANGE PARTITION`.
    ExchangeTablePartition => "exchange table partition",
    /// `ALTER TABLE ... PARTITION BY`.
    AlterTablePartitioning => "alter table partitioning",
    /// `ALTER TABLE ... REMOVE PARTITIONING`.
    RemoveTablePartitioning => "remove table partitioning",
    /// `ADD FOREIGN KEY`.
    AddForeignKey => "add foreign key",
    /// `DROP FOREIGN KEY`.
    DropForeignKey => "drop foreign key",
    /// A column type whose value range shrinks.
    ValueRangeDecrease => "value range decrease",
    /// A column type whose precision shrinks.
    PrecisionDecrease => "precision decrease",
    /// `MODIFY`/`CHANGE COLUMN`.
    ModifyColumn => "modify column",
    /// `RENAME COLUMN`.
    RenameColumn => "rename column",
    /// `RENAME INDEX`.
    RenameIndex => "rename index",
    /// `DROP COLUMN`.
    DropColumn => "drop column",
    /// `DROP PRIMARY KEY`.
    DropPrimaryKey => "drop primary key",
    /// Dropping a unique key.
    DropUniqueKey => "drop unique key",
    /// Changing a column default.
    ModifyDefaultValue => "modify default value",
    /// Changing a constraint.
    ModifyConstraint => "modify constraint",
    /// `FIRST`/`AFTER` column moves.
    ModifyColumnsOrder => "modify columns order",
    /// Changing a column charset.
    ModifyCharset => "modify charset",
    /// Changing a column collation.
    ModifyCollation => "modify collation",
    /// Removing `AUTO_INCREMENT`.
    RemoveAutoIncrement => "remove auto increment",
    /// `ENGINE = ...`.
    ModifyStorageEngine => "modify storage engine",
    /// `ALTER DATABASE ... CHARSET/COLLATE`.
    ModifySchemaCharsetAndCollate => "modify schema charset and collate",
    /// `ALTER TABLE ... CHARSET/COLLATE`.
    ModifyTableCharsetAndCollate => "modify table charset and collate",
    /// `ALTER TABLE ... COMMENT`.
    ModifyTableComment => "modify table comment",
    /// `RECOVER TABLE` (TiDB).
    RecoverTable => "recover table",
    /// `ADD COLUMN`.
    AddColumn => "add column",
    /// `ALTER COLUMN ... SET DEFAULT`.
    SetDefaultValue => "set default value",
    /// `AUTO_INCREMENT = n` / `AUTO_ID_CACHE`.
    RebaseAutoId => "rebase auto id",
    /// `ADD PRIMARY KEY`.
    AddPrimaryKey => "add primary key",
    /// `ALTER INDEX ... VISIBLE/INVISIBLE`.
    AlterIndexVisibility => "alter index visibility",
    /// `TTL = ...` (TiDB).
    AlterTtlInfo => "alter ttl info",
    /// `REMOVE TTL` (TiDB).
    AlterTtlRemove => "alter ttl remove",
    /// Several changes in one `ALTER TABLE`.
    MultiSchemaChange => "multi schema change",
}

/// An event name in a rule is not one DM knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown binlog event type `{0}`")]
pub struct UnknownEventType(pub String);

impl FromStr for EventType {
    type Err = UnknownEventType;

    /// Parses a DM event name; case and surrounding whitespace are ignored, aliases
    /// (`create schema`, ...) map to their canonical type.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        EventType::from_name(&norm).ok_or_else(|| UnknownEventType(s.to_string()))
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of event a concrete [`EventType`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dml,
    CompatibleDdl,
    IncompatibleDdl,
    /// Groups and [`EventType::Unclassified`]: the events check is skipped.
    Unknown,
}

impl EventType {
    /// True for the group names (`all`, `none dml`, `incompatible ddl changes`, ...).
    pub fn is_group(self) -> bool {
        use EventType::*;
        matches!(
            self,
            All | AllDml | AllDdl | None | NoneDdl | NoneDml | IncompatibleDdlChanges
        )
    }

    /// True for row events (`insert`, `update`, `delete`).
    pub fn is_dml(self) -> bool {
        matches!(
            self,
            EventType::Insert | EventType::Update | EventType::Delete
        )
    }

    /// True for concrete DDL types (groups and [`EventType::Unclassified`] excluded).
    pub fn is_ddl(self) -> bool {
        matches!(self.kind(), Kind::CompatibleDdl | Kind::IncompatibleDdl)
    }

    /// True for DDL covered by `incompatible ddl changes`: every concrete DDL except
    /// `create database`, `alter database`, `create table`, `create index`, `create view`,
    /// `drop view`, `alter table` and `add table partition` (DM's classification).
    pub fn is_incompatible_ddl(self) -> bool {
        self.kind() == Kind::IncompatibleDdl
    }

    fn kind(self) -> Kind {
        use EventType::*;
        match self {
            Insert | Update | Delete => Kind::Dml,
            CreateDatabase | AlterDatabase | CreateTable | CreateIndex | CreateView | DropView
            | AlterTable | AddTablePartition => Kind::CompatibleDdl,
            All
            | AllDml
            | AllDdl
            | None
            | NoneDdl
            | NoneDml
            | IncompatibleDdlChanges
            | Unclassified => Kind::Unknown,
            _ => Kind::IncompatibleDdl,
        }
    }
}

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

#[derive(Debug, Clone)]
struct Rule {
    name: String,
    schema: Pattern,
    table: Option<Pattern>,
    events: Vec<EventType>,
    sql: Vec<Regex>,
    action: FilterAction,
}

impl Rule {
    fn applies(&self, schema: &str, table: &str) -> bool {
        self.schema.matches(schema) && self.table.as_ref().is_none_or(|t| t.matches(table))
    }
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
        let mut out = Vec::with_capacity(rules.len());
        for (name, r) in rules {
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
            out.push(Rule {
                name: rule(),
                schema,
                table,
                events,
                sql,
                action,
            });
        }
        Ok(Self { rules: out })
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
        let classified = event.kind() != Kind::Unknown;
        let mut error: Option<&str> = None;
        for rule in self.rules.iter().filter(|r| r.applies(schema, table)) {
            let mut checks = [None, None];
            if classified {
                checks[0] = Some(events_match(&rule.events, event));
            }
            if let Some(sql) = sql.filter(|_| !rule.sql.is_empty()) {
                checks[1] = Some(rule.sql.iter().any(|re| re.is_match(sql)));
            }
            for matched in checks.into_iter().flatten() {
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

/// DM's scan of a rule's `events` list (see the module docs).
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

/// True for statements DM always skips without applying them downstream: `SAVEPOINT`,
/// `FLUSH`, `OPTIMIZE`/`ANALYZE`/`REPAIR TABLE`, `DROP TEMPORARY TABLE`, `CREATE`/`ALTER`/
/// `DROP` of triggers, procedures, functions, events, views and tablespaces (with any
/// `OR REPLACE`, `ALGORITHM=`, `DEFINER=`, `SQL SECURITY`, `AGGREGATE`, `UNDO` modifiers),
/// `GRANT`, `REVOKE` and `CREATE`/`ALTER`/`RENAME`/`DROP USER`.
///
/// Keywords are case-insensitive; leading whitespace and comments (`/* */`, `-- `, `#`) are
/// ignored and MySQL versioned comments (`/*!40005 TEMPORARY */`) are read as plain SQL.
pub fn always_skipped(sql: &str) -> bool {
    let tokens = leading_tokens(sql, 48);
    let t = |i: usize| tokens.get(i).map(String::as_str).unwrap_or("");
    const OBJECTS: &[&str] = &[
        "TRIGGER",
        "PROCEDURE",
        "FUNCTION",
        "EVENT",
        "VIEW",
        "TABLESPACE",
        "USER",
    ];
    match t(0) {
        "SAVEPOINT" | "FLUSH" | "GRANT" | "REVOKE" => true,
        "OPTIMIZE" | "ANALYZE" | "REPAIR" => {
            let k = usize::from(matches!(t(1), "NO_WRITE_TO_BINLOG" | "LOCAL")) + 1;
            matches!(t(k), "TABLE" | "TABLES")
        }
        "RENAME" => t(1) == "USER",
        "DROP" => {
            (t(1) == "TEMPORARY" && matches!(t(2), "TABLE" | "TABLES"))
                || OBJECTS.contains(&t(skip_modifiers(&t, 1)))
        }
        "CREATE" | "ALTER" => OBJECTS.contains(&t(skip_modifiers(&t, 1))),
        _ => false,
    }
}

/// Skips the clauses that may sit between `CREATE`/`ALTER`/`DROP` and the object keyword.
fn skip_modifiers<'a>(t: &impl Fn(usize) -> &'a str, mut k: usize) -> usize {
    loop {
        match t(k) {
            "OR" if t(k + 1) == "REPLACE" => k += 2,
            "ALGORITHM" if t(k + 1) == "=" => k += 3,
            "SQL" if t(k + 1) == "SECURITY" => k += 3,
            "AGGREGATE" | "UNDO" => k += 1,
            "DEFINER" if t(k + 1) == "=" => {
                k += 3; // DEFINER = user
                if t(k) == "@" {
                    k += 2; // @host
                } else if t(k) == "(" && t(k + 1) == ")" {
                    k += 2; // CURRENT_USER()
                }
            }
            _ => return k,
        }
    }
}

/// The first `max` tokens of `sql`: words upper-cased, quoted strings/identifiers whole,
/// other characters one by one; comments skipped, versioned-comment markers dropped.
fn leading_tokens(sql: &str, max: usize) -> Vec<String> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() && out.len() < max {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'/' && next == Some(b'*') {
            if b.get(i + 2) == Some(&b'!') {
                i += 3;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            } else {
                i = sql[i + 2..].find("*/").map_or(b.len(), |p| i + 2 + p + 2);
            }
        } else if c == b'*' && next == Some(b'/') {
            i += 2; // end of a versioned comment
        } else if c == b'#'
            || (c == b'-'
                && next == Some(b'-')
                && b.get(i + 2).is_none_or(|d| d.is_ascii_whitespace()))
        {
            i = sql[i..].find('\n').map_or(b.len(), |p| i + p + 1);
        } else if matches!(c, b'\'' | b'"' | b'`') {
            let start = i;
            i += 1;
            while i < b.len() {
                if b[i] == b'\\' && c != b'`' {
                    i += 2;
                } else if b[i] == c {
                    if b.get(i + 1) == Some(&c) {
                        i += 2;
                    } else {
                        i += 1;
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            let end = i.min(b.len());
            out.push(sql[start..end].to_string());
        } else if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80 {
            let start = i;
            while i < b.len()
                && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'$') || b[i] >= 0x80)
            {
                i += 1;
            }
            out.push(sql[start..i].to_ascii_uppercase());
        } else {
            out.push((c as char).to_string());
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use EventType as E;

    fn rule(
        schema: &str,
        table: &str,
        events: &[&str],
        sql: &[&str],
        action: FilterAction,
    ) -> BinlogEventRule {
        BinlogEventRule {
            schema_pattern: schema.into(),
            table_pattern: table.into(),
            events: events.iter().map(|s| s.to_string()).collect(),
            sql_pattern: sql.iter().map(|s| s.to_string()).collect(),
            action: Some(action),
        }
    }

    fn filter(rules: &[(&str, BinlogEventRule)], case_sensitive: bool) -> EventFilter {
        let named: Vec<(&str, &BinlogEventRule)> = rules.iter().map(|(n, r)| (*n, r)).collect();
        EventFilter::new(&named, case_sensitive).unwrap()
    }

    fn compile_err(r: BinlogEventRule) -> String {
        EventFilter::new(&[("bad-rule", &r)], false)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn parses_every_name_and_alias() {
        for e in EventType::ALL {
            assert_eq!(e.as_str().parse::<EventType>().unwrap(), *e);
            assert_eq!(e.to_string(), e.as_str());
        }
        assert_eq!(
            EventType::ALL.len(),
            ferry_config::defaults::FILTER_EVENTS.len() - 3
        );
        assert_eq!("create schema".parse::<E>().unwrap(), E::CreateDatabase);
        assert_eq!("DROP  Schema ".parse::<E>().unwrap(), E::DropDatabase);
        assert_eq!("alter schema".parse::<E>().unwrap(), E::AlterDatabase);
        assert_eq!("All DML".parse::<E>().unwrap(), E::AllDml);
        let err = "drop everything".parse::<E>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown binlog event type `drop everything`"
        );
        assert!("".parse::<E>().is_err());
        for name in ferry_config::defaults::FILTER_EVENTS {
            assert!(name.parse::<E>().is_ok(), "{name}");
        }
    }

    #[test]
    fn classification() {
        assert!(E::Insert.is_dml() && !E::Insert.is_ddl());
        assert!(E::CreateTable.is_ddl() && !E::CreateTable.is_incompatible_ddl());
        assert!(E::DropTable.is_incompatible_ddl());
        assert!(E::TruncateTable.is_incompatible_ddl());
        assert!(E::AddColumn.is_incompatible_ddl());
        assert!(!E::AddTablePartition.is_incompatible_ddl());
        assert!(E::All.is_group() && E::IncompatibleDdlChanges.is_group());
        assert!(!E::Unclassified.is_ddl() && !E::Unclassified.is_group());
    }

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
    fn no_rules_keeps_everything() {
        let f = EventFilter::default();
        assert!(f.is_empty());
        assert_eq!(
            f.decide("a", "b", E::DropTable, Some("DROP TABLE b")),
            Decision::Do
        );
    }

    /// DM docs: "filter out all deletion operations in sharded tables".
    #[test]
    fn docs_ignore_deletes_and_drops_in_shards() {
        let f = filter(
            &[
                (
                    "filter-table-rule",
                    rule(
                        "test_*",
                        "t_*",
                        &["truncate table", "drop table", "delete"],
                        &[],
                        FilterAction::Ignore,
                    ),
                ),
                (
                    "filter-schema-rule",
                    rule("test_*", "", &["drop database"], &[], FilterAction::Ignore),
                ),
            ],
            false,
        );
        assert_eq!(f.decide("test_1", "t_1", E::Delete, None), Decision::Ignore);
        assert_eq!(
            f.decide("test_1", "t_1", E::TruncateTable, Some("TRUNCATE t_1")),
            Decision::Ignore
        );
        assert_eq!(f.decide("test_1", "t_1", E::Insert, None), Decision::Do);
        assert_eq!(f.decide("test_1", "x_1", E::Delete, None), Decision::Do);
        assert_eq!(
            f.decide("test_1", "", E::DropDatabase, Some("DROP DATABASE test_1")),
            Decision::Ignore
        );
        assert_eq!(f.decide("prod", "t_1", E::Delete, None), Decision::Do);
        // The schema-level rule also applies to tables of matching schemas.
        assert_eq!(
            f.decide("test_1", "x", E::DropDatabase, None),
            Decision::Ignore
        );
    }

    /// DM docs: "only migrate DML operations of sharded schemas".
    #[test]
    fn docs_do_only_dml() {
        let f = filter(
            &[
                (
                    "do-table-rule",
                    rule(
                        "test_*",
                        "t_*",
                        &["create table", "all dml"],
                        &[],
                        FilterAction::Do,
                    ),
                ),
                (
                    "do-schema-rule",
                    rule("test_*", "", &["create database"], &[], FilterAction::Do),
                ),
            ],
            false,
        );
        assert_eq!(
            f.decide(
                "test_1",
                "",
                E::CreateDatabase,
                Some("CREATE DATABASE test_1")
            ),
            Decision::Do
        );
        assert_eq!(
            f.decide("test_1", "", E::DropDatabase, Some("DROP DATABASE test_1")),
            Decision::Ignore
        );
        // Both rules apply to a table event: the schema rule's `Do` only keeps `create database`.
        assert_eq!(f.decide("test_1", "t_1", E::Insert, None), Decision::Ignore);
        let only_table = filter(
            &[(
                "do-table-rule",
                rule(
                    "test_*",
                    "t_*",
                    &["create table", "all dml"],
                    &[],
                    FilterAction::Do,
                ),
            )],
            false,
        );
        assert_eq!(
            only_table.decide("test_1", "t_1", E::Insert, None),
            Decision::Do
        );
        assert_eq!(
            only_table.decide("test_1", "t_1", E::Update, None),
            Decision::Do
        );
        assert_eq!(
            only_table.decide(
                "test_1",
                "t_1",
                E::CreateTable,
                Some("CREATE TABLE t_1 (a int)")
            ),
            Decision::Do
        );
        assert_eq!(
            only_table.decide(
                "test_1",
                "t_1",
                E::AlterTable,
                Some("ALTER TABLE t_1 ENGINE=x")
            ),
            Decision::Ignore
        );
        assert_eq!(
            only_table.decide("test_1", "u", E::AlterTable, None),
            Decision::Do
        );
    }

    /// DM docs: "filter out SQL statements that TiDB does not support" (procedures).
    #[test]
    fn docs_sql_pattern_on_unparsed_sql() {
        let f = filter(
            &[(
                "filter-procedure-rule",
                rule(
                    "*",
                    "",
                    &[],
                    &["^DROP\\s+PROCEDURE", "^CREATE\\s+PROCEDURE"],
                    FilterAction::Ignore,
                ),
            )],
            false,
        );
        assert_eq!(
            f.decide(
                "",
                "",
                E::Unclassified,
                Some("create procedure p() begin end")
            ),
            Decision::Ignore
        );
        assert_eq!(
            f.decide("", "", E::Unclassified, Some("DROP  PROCEDURE p")),
            Decision::Ignore
        );
        assert_eq!(
            f.decide("", "", E::Unclassified, Some("ALTER PROCEDURE p")),
            Decision::Do
        );
        // A rule on a named schema never sees SQL without schema.
        let named = filter(
            &[("r", rule("db", "", &["all"], &["."], FilterAction::Ignore))],
            false,
        );
        assert_eq!(
            named.decide("", "", E::Unclassified, Some("whatever")),
            Decision::Do
        );
        // `*` also matches the empty table name, so a `*`/`*` rule sees schema-less SQL too.
        let star = filter(
            &[(
                "r",
                rule("*", "*", &[], &["^GARBAGE"], FilterAction::Ignore),
            )],
            false,
        );
        assert_eq!(
            star.decide("", "", E::Unclassified, Some("garbage here")),
            Decision::Ignore
        );
    }

    #[test]
    fn sql_pattern_is_case_insensitive_and_unanchored() {
        let f = filter(
            &[(
                "no-fk",
                rule("db", "*", &[], &["foreign\\s+key"], FilterAction::Ignore),
            )],
            true,
        );
        let sql = "ALTER TABLE t ADD CONSTRAINT c FOREIGN KEY (a) REFERENCES u(a)";
        assert_eq!(
            f.decide("db", "t", E::AddForeignKey, Some(sql)),
            Decision::Ignore
        );
        assert_eq!(
            f.decide("db", "t", E::AddColumn, Some("ALTER TABLE t ADD b int")),
            Decision::Do
        );
        // Row events carry no SQL: sql-pattern never matches them.
        assert_eq!(f.decide("db", "t", E::Insert, None), Decision::Do);
        assert_eq!(f.decide("db", "t", E::Insert, Some("")), Decision::Do);
    }

    #[test]
    fn do_requires_both_events_and_sql() {
        let f = filter(
            &[(
                "r",
                rule("db", "t", &["all ddl"], &["^ALTER"], FilterAction::Do),
            )],
            false,
        );
        assert_eq!(
            f.decide("db", "t", E::AddColumn, Some("alter table t add c int")),
            Decision::Do
        );
        assert_eq!(
            f.decide("db", "t", E::DropTable, Some("DROP TABLE t")),
            Decision::Ignore
        );
        assert_eq!(f.decide("db", "t", E::Insert, None), Decision::Ignore);
        // An unclassified DDL skips the events check but not the SQL check.
        assert_eq!(
            f.decide("db", "t", E::Unclassified, Some("ALTER something")),
            Decision::Do
        );
        assert_eq!(
            f.decide("db", "t", E::Unclassified, Some("CREATE something")),
            Decision::Ignore
        );
        // A `Do` rule with no events drops every classified event.
        let empty = filter(&[("r", rule("db", "", &[], &[], FilterAction::Do))], false);
        assert_eq!(empty.decide("db", "t", E::Insert, None), Decision::Ignore);
        assert_eq!(
            empty.decide("db", "t", E::Unclassified, Some("x")),
            Decision::Do
        );
    }

    #[test]
    fn error_action() {
        let f = filter(
            &[(
                "no-drops",
                rule(
                    "db",
                    "*",
                    &["drop table", "truncate table"],
                    &[],
                    FilterAction::Error,
                ),
            )],
            false,
        );
        assert_eq!(
            f.decide("db", "t", E::DropTable, Some("DROP TABLE t")),
            Decision::Error("no-drops".into())
        );
        assert_eq!(f.decide("db", "t", E::Insert, None), Decision::Do);
    }

    #[test]
    fn precedence_ignore_error_do() {
        let keep = ("keep", rule("db", "*", &["all"], &[], FilterAction::Do));
        let err = (
            "err",
            rule("db", "", &["drop table"], &[], FilterAction::Error),
        );
        let err2 = (
            "err2",
            rule("*", "t", &["all ddl"], &[], FilterAction::Error),
        );
        let ign = (
            "ign",
            rule(
                "d?",
                "t",
                &["incompatible ddl changes"],
                &[],
                FilterAction::Ignore,
            ),
        );
        let f = filter(
            &[keep.clone(), err.clone(), err2.clone(), ign.clone()],
            false,
        );
        assert_eq!(f.decide("db", "t", E::DropTable, None), Decision::Ignore);
        assert_eq!(
            f.decide("db", "u", E::DropTable, None),
            Decision::Error("err".into())
        );
        assert_eq!(
            f.decide("db", "t", E::CreateTable, None),
            Decision::Error("err2".into())
        );
        assert_eq!(f.decide("db", "t", E::Insert, None), Decision::Do);
        // Order of rules does not change the outcome.
        let g = filter(&[ign, err2, err, keep], false);
        assert_eq!(g.decide("db", "t", E::DropTable, None), Decision::Ignore);
        assert_eq!(
            g.decide("db", "u", E::DropTable, None),
            Decision::Error("err".into())
        );
        // A `Do` rule's drop outranks an `Error` rule.
        let h = filter(
            &[
                ("err", rule("db", "*", &["all"], &[], FilterAction::Error)),
                (
                    "only-dml",
                    rule("db", "*", &["all dml"], &[], FilterAction::Do),
                ),
            ],
            false,
        );
        assert_eq!(h.decide("db", "t", E::DropTable, None), Decision::Ignore);
        assert_eq!(
            h.decide("db", "t", E::Insert, None),
            Decision::Error("err".into())
        );
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

    #[test]
    fn case_sensitivity_and_regex_patterns() {
        let r = || {
            vec![(
                "r",
                rule("Test_*", "T?", &["insert"], &[], FilterAction::Ignore),
            )]
        };
        let ci = filter(&r(), false);
        assert_eq!(ci.decide("TEST_1", "t1", E::Insert, None), Decision::Ignore);
        let cs = filter(&r(), true);
        assert_eq!(cs.decide("TEST_1", "t1", E::Insert, None), Decision::Do);
        assert_eq!(cs.decide("Test_1", "T1", E::Insert, None), Decision::Ignore);
        let re = filter(
            &[(
                "r",
                rule(
                    "~^shard_\\d+$",
                    "~^log",
                    &["all"],
                    &[],
                    FilterAction::Ignore,
                ),
            )],
            false,
        );
        assert_eq!(
            re.decide("SHARD_12", "log_2024", E::Update, None),
            Decision::Ignore
        );
        assert_eq!(re.decide("shard_x", "log", E::Update, None), Decision::Do);
    }

    #[test]
    fn always_skipped_statements() {
        for sql in [
            "SAVEPOINT sp1",
            "flush tables",
            "  FLUSH PRIVILEGES",
            "OPTIMIZE TABLE t",
            "optimize no_write_to_binlog table t",
            "ANALYZE TABLE t",
            "repair table t quick",
            "DROP TEMPORARY TABLE IF EXISTS t",
            "DROP /*!40005 TEMPORARY */ TABLE IF EXISTS `t`",
            "CREATE DEFINER=`root`@`localhost` TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET @x=1",
            "create definer = 'root'@'%' trigger tr after update on t for each row begin end",
            "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET @x=1",
            "CREATE OR REPLACE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET @x=1",
            "DROP TRIGGER IF EXISTS tr",
            "CREATE DEFINER=CURRENT_USER() PROCEDURE p() BEGIN END",
            "CREATE DEFINER=CURRENT_USER PROCEDURE p() BEGIN END",
            "ALTER PROCEDURE p COMMENT 'x'",
            "DROP PROCEDURE p",
            "CREATE FUNCTION f() RETURNS INT RETURN 1",
            "CREATE AGGREGATE FUNCTION f RETURNS STRING SONAME 'x.so'",
            "ALTER FUNCTION f COMMENT 'x'",
            "DROP FUNCTION IF EXISTS f",
            "CREATE EVENT e ON SCHEDULE EVERY 1 HOUR DO SELECT 1",
            "ALTER DEFINER=root@localhost EVENT e DISABLE",
            "DROP EVENT e",
            "CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`%` SQL SECURITY DEFINER VIEW v AS SELECT 1",
            "CREATE OR REPLACE VIEW v AS SELECT 1",
            "ALTER VIEW v AS SELECT 2",
            "DROP VIEW IF EXISTS v",
            "CREATE TABLESPACE ts ADD DATAFILE 'ts.ibd'",
            "CREATE UNDO TABLESPACE u ADD DATAFILE 'u.ibu'",
            "ALTER TABLESPACE ts RENAME TO ts2",
            "DROP TABLESPACE ts",
            "GRANT SELECT ON *.* TO 'u'@'%'",
            "REVOKE ALL PRIVILEGES ON db.* FROM u",
            "CREATE USER 'u'@'%' IDENTIFIED BY 'p'",
            "ALTER USER u IDENTIFIED BY 'p'",
            "RENAME USER a TO b",
            "DROP USER IF EXISTS u",
            "/* comment */ savepoint x",
            "-- note\n  # other\n\tGRANT ALL ON db.* TO u",
            "/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`%`*/ /*!50003 TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET @x=1 */",
        ] {
            assert!(always_skipped(sql), "{sql}");
        }
        for sql in [
            "",
            "   ",
            "/* only a comment */",
            "CREATE TABLE t (a int)",
            "CREATE OR REPLACE TABLE t (a int)",
            "CREATE TEMPORARY TABLE t (a int)",
            "DROP TABLE t",
            "DROP TABLE `trigger`",
            "ALTER TABLE t ADD COLUMN view int",
            "CREATE DATABASE events",
            "RENAME TABLE a TO b",
            "INSERT INTO t VALUES (1)",
            "TRUNCATE TABLE t",
            "CREATE INDEX i ON t (a)",
            "ALTER TABLE t ANALYZE PARTITION p0",
            "-- GRANT ALL ON *.* TO u\nCREATE TABLE t (a int)",
            "CREATE DEFINER=`x` TABLE t",
            "SAVEPOINTS",
            "ALTER DATABASE db CHARACTER SET utf8mb4",
        ] {
            assert!(!always_skipped(sql), "{sql}");
        }
    }

    #[test]
    fn tokenizer_handles_quotes_and_unicode() {
        let t = leading_tokens(
            "create definer='a''b\\'c'@'%' trigger `t``x` -- c\nnäme",
            16,
        );
        assert_eq!(
            t,
            [
                "CREATE",
                "DEFINER",
                "=",
                "'a''b\\'c'",
                "@",
                "'%'",
                "TRIGGER",
                "`t``x`",
                "NäME"
            ]
        );
        assert_eq!(leading_tokens("'unterminated é", 4), ["'unterminated é"]);
        assert_eq!(leading_tokens("/* unterminated", 4), Vec::<String>::new());
        assert_eq!(leading_tokens("a b c d", 2), ["A", "B"]);
    }
}
