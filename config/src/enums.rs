//! The fixed-word settings of DM's files (`task-mode`, `shard-mode`, `import-mode`, …).
//!
//! Words are matched case-insensitively (DM lower-cases most of them) and serialized in
//! DM's spelling. An unknown word is reported with the other errors of the file.
//!
//! DM's Go loader reads `""` (and `null`) as the zero value, which most settings take as
//! "use the default": those enums read `""` as their default (`empty` below), and the
//! optional ones (`flavor`, `on-duplicate-logical`) read it as unset through
//! `soft::empty_as_none`. `task-mode: ""` stays an error, as in DM.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An unknown word for a fixed-word setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} `{value}`: expected one of {allowed}")]
pub struct InvalidChoice {
    /// The setting.
    pub what: &'static str,
    /// The word given.
    pub value: String,
    /// The accepted words.
    pub allowed: String,
}

macro_rules! dm_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)?
        }
        $(default $default:ident)?
        $(empty $empty:ident)?
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in DM's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            const WORDS: &'static [&'static str] = &[$($text),+];

            /// DM's spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            fn from_word(text: &str) -> Option<Self> {
                let t = text.trim();
                $(
                    if t.is_empty() {
                        return Some($name::$empty);
                    }
                )?
                $(
                    if t.eq_ignore_ascii_case($text) {
                        return Some($name::$variant);
                    }
                )+
                None
            }
        }

        $(
            impl Default for $name {
                fn default() -> Self {
                    $name::$default
                }
            }
        )?

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = InvalidChoice;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::from_word(s).ok_or_else(|| InvalidChoice {
                    what: $what,
                    value: s.to_string(),
                    allowed: Self::WORDS.join(", "),
                })
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                crate::soft::deserialize_choice(
                    deserializer,
                    $what,
                    Self::from_word,
                    Self::WORDS,
                    Self::ALL[0],
                )
            }
        }

        impl crate::soft::Choice for $name {
            const WHAT: &'static str = $what;
            const WORDS: &'static [&'static str] = &[$($text),+];

            fn from_word(text: &str) -> Option<Self> {
                $name::from_word(text)
            }

            fn placeholder() -> Self {
                Self::ALL[0]
            }
        }
    };
}

dm_enum! {
    /// `task-mode`. DM also accepts its internal modes `dump`, `load` and `load&sync`.
    pub enum TaskMode ("task-mode") {
        /// Dump and load only.
        Full => "full",
        /// Binlog replication only.
        Incremental => "incremental",
        /// Full, then incremental.
        All => "all",
        /// Internal: dump only.
        Dump => "dump",
        /// Internal: load only.
        Load => "load",
        /// Internal: load, then incremental.
        LoadSync => "load&sync",
    }
}

impl TaskMode {
    /// True when the task dumps from the upstream.
    pub fn has_dump(self) -> bool {
        matches!(self, TaskMode::Full | TaskMode::All | TaskMode::Dump)
    }

    /// True when the task loads into the downstream.
    pub fn has_load(self) -> bool {
        matches!(
            self,
            TaskMode::Full | TaskMode::All | TaskMode::Load | TaskMode::LoadSync
        )
    }

    /// True when the task replicates the binlog.
    pub fn has_sync(self) -> bool {
        matches!(
            self,
            TaskMode::Incremental | TaskMode::All | TaskMode::LoadSync
        )
    }

    /// The public mode of the model crate (`dump`/`load` count as full, `load&sync` as all).
    pub fn to_model(self) -> ferry_model::stage::TaskMode {
        use ferry_model::stage::TaskMode as M;
        match self {
            TaskMode::Full | TaskMode::Dump | TaskMode::Load => M::Full,
            TaskMode::Incremental => M::Incremental,
            TaskMode::All | TaskMode::LoadSync => M::All,
        }
    }
}

dm_enum! {
    /// `shard-mode`: `""` (no shard DDL coordination), `pessimistic` or `optimistic`.
    pub enum ShardMode ("shard-mode") {
        /// No shard DDL coordination (`""`, the default).
        Disabled => "",
        /// DM's pessimistic shard DDL lock.
        Pessimistic => "pessimistic",
        /// DM's optimistic shard DDL coordination.
        Optimistic => "optimistic",
    }
    default Disabled
}

dm_enum! {
    /// `collation_compatible` (`""`: `loose`, as DM).
    pub enum CollationCompatible ("collation_compatible") {
        /// Leave `CREATE` statements as they are (default).
        Loose => "loose",
        /// Append the upstream default collation to `CREATE` statements.
        Strict => "strict",
    }
    default Loose
    empty Loose
}

dm_enum! {
    /// `flavor` of a source.
    pub enum Flavor ("flavor") {
        /// MySQL (and Aurora MySQL).
        Mysql => "mysql",
        /// MariaDB.
        Mariadb => "mariadb",
    }
}

dm_enum! {
    /// `loaders.*.import-mode`. `sql` and `loader` are DM's legacy names of `logical`;
    /// `""` is `logical`, as DM.
    pub enum ImportMode ("import-mode") {
        /// Plain SQL into the downstream (default).
        Logical => "logical",
        /// TiDB Lightning's local backend (SST ingest).
        Physical => "physical",
        /// TiDB's `IMPORT INTO` (single source only).
        ImportInto => "import-into",
        /// Legacy name of `logical`.
        Sql => "sql",
        /// Legacy name of `logical`.
        Loader => "loader",
    }
    default Logical
    empty Logical
}

impl ImportMode {
    /// The mode that applies: the legacy names mean `logical`.
    pub fn effective(self) -> ImportMode {
        match self {
            ImportMode::Sql | ImportMode::Loader => ImportMode::Logical,
            m => m,
        }
    }
}

dm_enum! {
    /// `loaders.*.on-duplicate-logical` (and the older `on-duplicate`).
    pub enum OnDuplicateLogical ("on-duplicate-logical") {
        /// Replace the existing row (default).
        Replace => "replace",
        /// Keep the existing row.
        Ignore => "ignore",
        /// Stop with an error.
        Error => "error",
    }
    default Replace
}

dm_enum! {
    /// `loaders.*.on-duplicate-physical` (`""`: `none`, as DM).
    pub enum OnDuplicatePhysical ("on-duplicate-physical") {
        /// Do not resolve conflicts (default).
        None => "none",
        /// Move conflicting rows aside and pause the task.
        Manual => "manual",
    }
    default None
    empty None
}

dm_enum! {
    /// `loaders.*.checksum-physical` and `loaders.*.analyze`.
    pub enum PostOpLevel ("post-import operation level") {
        /// Run it; failure pauses the task.
        Required => "required",
        /// Run it; failure is a warning.
        Optional => "optional",
        /// Do not run it.
        Off => "off",
    }
}

dm_enum! {
    /// `validators.*.mode` (`""`: `none`, as DM).
    pub enum ValidationMode ("validator mode") {
        /// No validation (default).
        None => "none",
        /// Check that each row reached the downstream.
        Fast => "fast",
        /// Check every column of each row.
        Full => "full",
    }
    default None
    empty None
}

dm_enum! {
    /// `action` of a binlog event filter rule.
    pub enum FilterAction ("filter action") {
        /// Keep only matching events.
        Do => "Do",
        /// Drop matching events.
        Ignore => "Ignore",
        /// Stop with an error on matching events.
        Error => "Error",
    }
}

dm_enum! {
    /// `mariadb2tidb.mode` (`""`: `auto`, as DM).
    pub enum MariaDbConversionMode ("mariadb2tidb mode") {
        /// Convert for MariaDB sources only (default).
        Auto => "auto",
        /// Always convert.
        On => "on",
        /// Never convert.
        Off => "off",
    }
    default Auto
    empty Auto
}

dm_enum! {
    /// `log-level` of the daemon.
    pub enum LogLevel ("log-level") {
        /// Everything.
        Trace => "trace",
        /// Debugging detail.
        Debug => "debug",
        /// Normal operation (default).
        Info => "info",
        /// Problems that do not stop anything.
        Warn => "warn",
        /// Failures.
        Error => "error",
    }
    default Info
}

dm_enum! {
    /// `log-format` of the daemon.
    pub enum LogFormat ("log-format") {
        /// Human-readable lines (default).
        Text => "text",
        /// One JSON object per line.
        Json => "json",
    }
    default Text
}

/// `binlog-backend` of a source (a Ferry extension; DM has no such key): the client
/// library that reads the upstream binlog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BinlogBackend {
    /// `mysql_async` (also spelled `default`): TLS, MariaDB GTID, partial JSON, tagged GTIDs.
    #[default]
    MysqlAsync,
    /// `mysql-binlog-connector-rust`: no TLS and no MariaDB GTID start.
    Connector,
}

impl BinlogBackend {
    /// Every value.
    pub const ALL: &'static [BinlogBackend] =
        &[BinlogBackend::MysqlAsync, BinlogBackend::Connector];
    /// The accepted words (`default` means `mysql_async`).
    const WORDS: &'static [&'static str] = &["mysql_async", "default", "connector"];

    /// The canonical spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            BinlogBackend::MysqlAsync => "mysql_async",
            BinlogBackend::Connector => "connector",
        }
    }

    /// True for the default backend (the key is then left out when serializing).
    pub fn is_default(&self) -> bool {
        *self == BinlogBackend::MysqlAsync
    }

    fn from_word(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "mysql_async" | "default" => Some(BinlogBackend::MysqlAsync),
            "connector" => Some(BinlogBackend::Connector),
            _ => None,
        }
    }
}

impl fmt::Display for BinlogBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BinlogBackend {
    type Err = InvalidChoice;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_word(s).ok_or_else(|| InvalidChoice {
            what: "binlog-backend",
            value: s.to_string(),
            allowed: Self::WORDS.join(", "),
        })
    }
}

impl Serialize for BinlogBackend {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for BinlogBackend {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::soft::deserialize_choice(
            deserializer,
            "binlog-backend",
            Self::from_word,
            Self::WORDS,
            BinlogBackend::MysqlAsync,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_case_insensitive_and_round_trip() {
        assert_eq!("FULL".parse::<TaskMode>().unwrap(), TaskMode::Full);
        assert_eq!("load&sync".parse::<TaskMode>().unwrap(), TaskMode::LoadSync);
        assert_eq!("do".parse::<FilterAction>().unwrap(), FilterAction::Do);
        assert_eq!(FilterAction::Ignore.to_string(), "Ignore");
        assert_eq!("".parse::<ShardMode>().unwrap(), ShardMode::Disabled);
        let e = "fulll".parse::<TaskMode>().unwrap_err();
        assert!(e.to_string().contains("full, incremental, all"));
        assert_eq!(ImportMode::Sql.effective(), ImportMode::Logical);
        assert!(TaskMode::LoadSync.has_sync() && !TaskMode::LoadSync.has_dump());
        assert_eq!(
            "Default".parse::<BinlogBackend>().unwrap(),
            BinlogBackend::MysqlAsync
        );
        assert_eq!(
            "connector".parse::<BinlogBackend>().unwrap(),
            BinlogBackend::Connector
        );
        assert_eq!(BinlogBackend::default().to_string(), "mysql_async");
        let e = "tokio".parse::<BinlogBackend>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid binlog-backend `tokio`: expected one of mysql_async, default, connector"
        );
    }

    #[test]
    fn json_round_trip() {
        let v = serde_json::to_value(TaskMode::Incremental).unwrap();
        assert_eq!(v, serde_json::json!("incremental"));
        let back: TaskMode = serde_json::from_value(v).unwrap();
        assert_eq!(back, TaskMode::Incremental);
        assert!(serde_json::from_value::<TaskMode>(serde_json::json!("nope")).is_err());
    }
}
