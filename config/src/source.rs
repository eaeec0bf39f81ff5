//! `source.yaml`: one upstream MySQL/MariaDB (DM's `SourceConfig`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::db::DbConfig;
use crate::defaults::*;
use crate::enums::{BinlogBackend, Flavor};
use crate::quantity::parse_go_duration;
use crate::rules::BinlogEventRule;
use crate::yaml::null_as_default;

fn yes() -> bool {
    true
}

/// An upstream source, as registered by `operate-source create source.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SourceConfig {
    /// Unique id of the source (≤ 32 characters); required.
    #[serde(default, deserialize_with = "null_as_default")]
    pub source_id: String,
    /// When false, tasks on this source are not started.
    #[serde(default = "yes")]
    pub enable: bool,
    /// Replicate by GTID instead of file/position.
    #[serde(default)]
    pub enable_gtid: bool,
    /// Keep a local relay log of the upstream binlog.
    #[serde(default)]
    pub enable_relay: bool,
    /// Relay start file (`base.seq`), used when `enable-gtid` is false.
    #[serde(default, deserialize_with = "null_as_default")]
    pub relay_binlog_name: String,
    /// Relay start GTID set, used when `enable-gtid` is true.
    #[serde(default, deserialize_with = "null_as_default")]
    pub relay_binlog_gtid: String,
    /// Deprecated since DM v6.1 (the daemon's data-dir holds the relay log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_dir: Option<String>,
    /// `mysql` or `mariadb`; detected from the server when absent or `""` (as DM).
    #[serde(
        default,
        deserialize_with = "crate::soft::empty_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub flavor: Option<Flavor>,
    /// Replica server id; chosen at random when absent or 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_id: Option<u32>,
    /// Ferry extension (not in DM): the library that reads the binlog, `mysql_async` (the
    /// default, also spelled `default`) or `connector`.
    #[serde(default, skip_serializing_if = "BinlogBackend::is_default")]
    pub binlog_backend: BinlogBackend,
    /// Deprecated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charset: Option<String>,
    /// Deprecated; forced off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_fix_gtid: Option<bool>,
    /// Deprecated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta_dir: Option<String>,
    /// Deprecated; ignored.
    #[serde(default, skip_serializing)]
    pub tracer: Option<serde_json::Value>,
    /// Upstream connection.
    #[serde(default)]
    pub from: DbConfig,
    /// Relay log auto-purge.
    #[serde(default)]
    pub purge: PurgeConfig,
    /// Task auto-resume checker.
    #[serde(default)]
    pub checker: CheckerConfig,
    /// Case-sensitive matching of the source-level `filters`.
    #[serde(default)]
    pub case_sensitive: bool,
    /// Binlog event filters applied to every task of this source.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub filters: Vec<BinlogEventRule>,
}

impl Default for SourceConfig {
    fn default() -> Self {
        Self {
            source_id: String::new(),
            enable: DEFAULT_SOURCE_ENABLE,
            enable_gtid: false,
            enable_relay: false,
            relay_binlog_name: String::new(),
            relay_binlog_gtid: String::new(),
            relay_dir: None,
            flavor: None,
            server_id: None,
            binlog_backend: BinlogBackend::MysqlAsync,
            charset: None,
            auto_fix_gtid: None,
            meta_dir: None,
            tracer: None,
            from: DbConfig::default(),
            purge: PurgeConfig::default(),
            checker: CheckerConfig::default(),
            case_sensitive: false,
            filters: Vec::new(),
        }
    }
}

impl SourceConfig {
    /// The configured server id, None when DM would pick a random one (absent or 0).
    pub fn fixed_server_id(&self) -> Option<u32> {
        self.server_id.filter(|&id| id != 0)
    }
}

fn default_interval() -> i64 {
    DEFAULT_PURGE_INTERVAL
}
fn default_remain_space() -> i64 {
    DEFAULT_PURGE_REMAIN_SPACE
}

/// `purge`: relay log auto-purge. Active only if `interval` ≠ 0 and (`expires` ≠ 0 or
/// `remain-space` ≠ 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PurgeConfig {
    /// Check period, seconds.
    #[serde(default = "default_interval")]
    pub interval: i64,
    /// Purge files older than this many hours (0: never by age).
    #[serde(default)]
    pub expires: i64,
    /// Purge when free space falls below this many GiB.
    #[serde(default = "default_remain_space")]
    pub remain_space: i64,
}

impl Default for PurgeConfig {
    fn default() -> Self {
        Self {
            interval: DEFAULT_PURGE_INTERVAL,
            expires: DEFAULT_PURGE_EXPIRES,
            remain_space: DEFAULT_PURGE_REMAIN_SPACE,
        }
    }
}

impl PurgeConfig {
    /// True when auto-purge runs at all.
    pub fn is_active(&self) -> bool {
        self.interval != 0 && (self.expires != 0 || self.remain_space != 0)
    }
}

fn d_rollback() -> String {
    DEFAULT_CHECKER_BACKOFF_ROLLBACK.to_string()
}
fn d_backoff_max() -> String {
    DEFAULT_CHECKER_BACKOFF_MAX.to_string()
}
fn d_check_interval() -> String {
    DEFAULT_CHECKER_CHECK_INTERVAL.to_string()
}
fn d_backoff_min() -> String {
    DEFAULT_CHECKER_BACKOFF_MIN.to_string()
}
fn d_factor() -> f64 {
    DEFAULT_CHECKER_BACKOFF_FACTOR
}

/// `checker`: automatic resume of paused tasks, with exponential backoff. Durations are
/// Go duration strings (`"5m"`); the last four keys are hidden in DM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CheckerConfig {
    /// Resume paused tasks automatically.
    #[serde(default = "yes")]
    pub check_enable: bool,
    /// Backoff shrinks after running this long without error.
    #[serde(default = "d_rollback")]
    pub backoff_rollback: String,
    /// Longest wait between two resumes.
    #[serde(default = "d_backoff_max")]
    pub backoff_max: String,
    /// How often paused tasks are looked at.
    #[serde(default = "d_check_interval")]
    pub check_interval: String,
    /// Shortest wait between two resumes.
    #[serde(default = "d_backoff_min")]
    pub backoff_min: String,
    /// Randomize waits.
    #[serde(default = "yes")]
    pub backoff_jitter: bool,
    /// Backoff growth factor.
    #[serde(default = "d_factor")]
    pub backoff_factor: f64,
}

impl Default for CheckerConfig {
    fn default() -> Self {
        Self {
            check_enable: DEFAULT_CHECKER_CHECK_ENABLE,
            backoff_rollback: d_rollback(),
            backoff_max: d_backoff_max(),
            check_interval: d_check_interval(),
            backoff_min: d_backoff_min(),
            backoff_jitter: DEFAULT_CHECKER_BACKOFF_JITTER,
            backoff_factor: DEFAULT_CHECKER_BACKOFF_FACTOR,
        }
    }
}

impl CheckerConfig {
    /// `backoff-rollback` as a duration (validated at load time; the default if unparsable).
    pub fn backoff_rollback(&self) -> Duration {
        duration_or(&self.backoff_rollback, DEFAULT_CHECKER_BACKOFF_ROLLBACK)
    }

    /// `backoff-max` as a duration.
    pub fn backoff_max(&self) -> Duration {
        duration_or(&self.backoff_max, DEFAULT_CHECKER_BACKOFF_MAX)
    }

    /// `check-interval` as a duration (zero means the default, 5s: DM always uses it).
    pub fn check_interval(&self) -> Duration {
        nonzero_or(
            duration_or(&self.check_interval, DEFAULT_CHECKER_CHECK_INTERVAL),
            DEFAULT_CHECKER_CHECK_INTERVAL,
        )
    }

    /// `backoff-min` as a duration (zero means the default, 1s: DM always uses it).
    pub fn backoff_min(&self) -> Duration {
        nonzero_or(
            duration_or(&self.backoff_min, DEFAULT_CHECKER_BACKOFF_MIN),
            DEFAULT_CHECKER_BACKOFF_MIN,
        )
    }

    /// `backoff-factor` (zero means the default, 2: DM always uses it).
    pub fn backoff_factor(&self) -> f64 {
        if self.backoff_factor > 0.0 && self.backoff_factor.is_finite() {
            self.backoff_factor
        } else {
            DEFAULT_CHECKER_BACKOFF_FACTOR
        }
    }
}

/// `d`, or the Go duration `default` when `d` is zero (DM's zero value: unset).
pub(crate) fn nonzero_or(d: Duration, default: &str) -> Duration {
    if d.is_zero() {
        duration_or(default, default)
    } else {
        d
    }
}

/// Parses a Go duration known to be valid (checked at load); falls back to `default`.
pub(crate) fn duration_or(text: &str, default: &str) -> Duration {
    parse_go_duration(text)
        .or_else(|_| parse_go_duration(default))
        .unwrap_or(Duration::ZERO)
}
