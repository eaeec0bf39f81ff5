//! The DM binlog event types a filter rule names in `events`, and their classification
//! (DML, compatible DDL, incompatible DDL, groups).

use std::fmt;
use std::str::FromStr;

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
pub(super) enum Kind {
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

    pub(super) fn kind(self) -> Kind {
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

#[cfg(test)]
mod tests {
    use super::*;
    use EventType as E;

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
}
