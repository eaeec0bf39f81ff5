//! `task.yaml`: a migration task (DM's `TaskConfig`), and the resolution of each
//! instance's effective unit settings and rules.

use std::collections::BTreeMap;

use ferry_model::gtid::GtidSet;
use ferry_model::position::BinlogPosition;
use serde::{Deserialize, Serialize};

use crate::db::DbConfig;
use crate::defaults::*;
use crate::enums::{CollationCompatible, MariaDbConversionMode, ShardMode, TaskMode};
use crate::rules::{BaListRule, BinlogEventRule, ExpressionFilter, RouteRule};
use crate::unit::{LoaderConfig, MydumperConfig, SyncerConfig, ValidatorConfig};
use crate::yaml::null_as_default;

fn yes() -> bool {
    true
}
fn d_meta_schema() -> String {
    DEFAULT_META_SCHEMA.to_string()
}

/// A task (`start-task task.yaml`). Keys, defaults and strictness as DM's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TaskConfig {
    /// Task name, globally unique; required.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// `full`, `incremental` or `all`; required (None only before validation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_mode: Option<TaskMode>,
    /// Deprecated: `true` means `shard-mode: pessimistic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_sharding: Option<bool>,
    /// Shard DDL coordination (see [`TaskConfig::effective_shard_mode`]).
    #[serde(default)]
    pub shard_mode: ShardMode,
    /// Optimistic mode only: type-2 DDL is an immediate error.
    #[serde(default)]
    pub strict_optimistic_shard_mode: bool,
    /// Precheck items to skip.
    #[serde(default, deserialize_with = "null_as_default")]
    pub ignore_checking_items: Vec<String>,
    /// Downstream schema of checkpoints.
    #[serde(default = "d_meta_schema", deserialize_with = "null_as_default")]
    pub meta_schema: String,
    /// Deprecated; forced off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_heartbeat: Option<bool>,
    /// Deprecated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_update_interval: Option<u64>,
    /// Deprecated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_report_interval: Option<u64>,
    /// Session `time_zone` of both ends; default (absent or `""`, as DM): the downstream's.
    #[serde(
        default,
        deserialize_with = "crate::soft::blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub timezone: Option<String>,
    /// Case-sensitive schema/table matching.
    #[serde(default)]
    pub case_sensitive: bool,
    /// `loose` or `strict` (note DM's underscore in the key).
    #[serde(default, rename = "collation_compatible")]
    pub collation_compatible: CollationCompatible,
    /// MariaDB schema conversion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mariadb2tidb: Option<MariaDb2TidbConfig>,
    /// Downstream connection; required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_database: Option<DbConfig>,
    /// Upstream sources of the task; at least one.
    #[serde(default, deserialize_with = "null_as_default")]
    pub mysql_instances: Vec<MysqlInstance>,
    /// gh-ost / pt-osc handling.
    #[serde(default = "yes")]
    pub online_ddl: bool,
    /// Regexes of shadow tables of other online DDL tools.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub shadow_table_rules: Vec<String>,
    /// Regexes of trash tables of other online DDL tools.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub trash_table_rules: Vec<String>,
    /// Deprecated: `gh-ost` or `pt`; sets `online-ddl`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online_ddl_scheme: Option<String>,
    /// Table routing rules by name.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub routes: BTreeMap<String, RouteRule>,
    /// Binlog event filter rules by name.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub filters: BTreeMap<String, BinlogEventRule>,
    /// Removed by DM: setting it is an error.
    #[serde(default, skip_serializing)]
    pub column_mappings: Option<serde_json::Value>,
    /// Row-value filters by name.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub expression_filter: BTreeMap<String, ExpressionFilter>,
    /// Deprecated alias of `block-allow-list` (used only when that is empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub black_white_list: Option<BTreeMap<String, BaListRule>>,
    /// Block/allow lists by name.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub block_allow_list: BTreeMap<String, BaListRule>,
    /// Dump settings by name (an entry may be `null`: the defaults, as DM).
    #[serde(
        default,
        deserialize_with = "crate::soft::map_null_values_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub mydumpers: BTreeMap<String, MydumperConfig>,
    /// Load settings by name (an entry may be `null`: the defaults).
    #[serde(
        default,
        deserialize_with = "crate::soft::map_null_values_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub loaders: BTreeMap<String, LoaderConfig>,
    /// Replication settings by name (an entry may be `null`: the defaults).
    #[serde(
        default,
        deserialize_with = "crate::soft::map_null_values_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub syncers: BTreeMap<String, SyncerConfig>,
    /// Validation settings by name.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub validators: BTreeMap<String, ValidatorConfig>,
    /// Delete dump files after load (Ferry keeps none).
    #[serde(default = "yes")]
    pub clean_dump_file: bool,
    /// Upstream SQL uses ANSI_QUOTES.
    #[serde(default)]
    pub ansi_quotes: bool,
    /// Deprecated: use `start-task --remove-meta`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_meta: Option<bool>,
    /// Experimental switches.
    #[serde(default)]
    pub experimental: ExperimentalConfig,
}

/// `experimental`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ExperimentalConfig {
    /// Flush checkpoints asynchronously.
    #[serde(default)]
    pub async_checkpoint_flush: bool,
}

/// `mariadb2tidb`: conversion of MariaDB-only schema features.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MariaDb2TidbConfig {
    /// `auto` (MariaDB sources only), `on` or `off`.
    #[serde(default)]
    pub mode: MariaDbConversionMode,
    /// Rules to enable.
    #[serde(default, deserialize_with = "null_as_default")]
    pub enabled_rules: Vec<String>,
    /// Rules to disable.
    #[serde(default, deserialize_with = "null_as_default")]
    pub disabled_rules: Vec<String>,
    /// Fail on conversion errors (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict_mode: Option<bool>,
}

/// One upstream of a task (`mysql-instances[i]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MysqlInstance {
    /// Id of a registered source; required.
    #[serde(default, deserialize_with = "null_as_default")]
    pub source_id: String,
    /// Start point of an incremental task when no checkpoint exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Names of `filters` rules.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub filter_rules: Vec<String>,
    /// Deprecated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column_mapping_rules: Option<Vec<String>>,
    /// Names of `routes` rules.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub route_rules: Vec<String>,
    /// Names of `expression-filter` rules.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub expression_filters: Vec<String>,
    /// Deprecated alias of `block-allow-list`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub black_white_list: Option<String>,
    /// Name of a `block-allow-list` rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_allow_list: Option<String>,
    /// Name of a `mydumpers` entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mydumper_config_name: Option<String>,
    /// Inline dump settings (exclusive with `mydumper-config-name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mydumper: Option<MydumperConfig>,
    /// Overrides `threads`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mydumper_thread: Option<u32>,
    /// Name of a `loaders` entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loader_config_name: Option<String>,
    /// Inline load settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loader: Option<LoaderConfig>,
    /// Overrides `pool-size`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loader_thread: Option<u32>,
    /// Name of a `syncers` entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub syncer_config_name: Option<String>,
    /// Inline replication settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub syncer: Option<SyncerConfig>,
    /// Overrides `worker-count`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub syncer_thread: Option<u32>,
    /// Name of a `validators` entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validator_config_name: Option<String>,
}

/// `meta` of an instance: where an incremental task starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Meta {
    /// Binlog file (`base.seq`, e.g. `mysql-bin-changelog.000003`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binlog_name: Option<String>,
    /// Offset in the file (64-bit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binlog_pos: Option<u64>,
    /// GTID set (MySQL or MariaDB form), for sources with `enable-gtid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binlog_gtid: Option<String>,
}

impl Meta {
    /// The file position, if `binlog-name` is set (pos defaults to 4, the first event; a
    /// position below 4, as `binlog-pos: 0`, is 4 too, as DM's binlog client does).
    pub fn position(&self) -> Option<BinlogPosition> {
        let name = non_empty(&self.binlog_name)?;
        BinlogPosition::new(name, self.binlog_pos.unwrap_or(4).max(4)).ok()
    }

    /// The GTID set, if `binlog-gtid` is set and parses (MySQL form first, then MariaDB).
    pub fn gtid_set(&self) -> Option<GtidSet> {
        parse_gtid(non_empty(&self.binlog_gtid)?).ok()
    }
}

/// Parses a GTID set in MySQL form, or failing that in MariaDB form.
pub(crate) fn parse_gtid(text: &str) -> Result<GtidSet, String> {
    GtidSet::parse_mysql(text)
        .or_else(|mysql_err| GtidSet::parse_mariadb(text).map_err(|_| mysql_err.to_string()))
}

/// The value of an optional name, None when absent or empty (DM treats `""` as unset).
pub(crate) fn non_empty(name: &Option<String>) -> Option<&str> {
    name.as_deref().filter(|s| !s.is_empty())
}

impl Default for TaskConfig {
    fn default() -> Self {
        Self {
            name: String::new(),
            task_mode: None,
            is_sharding: None,
            shard_mode: ShardMode::Disabled,
            strict_optimistic_shard_mode: false,
            ignore_checking_items: Vec::new(),
            meta_schema: DEFAULT_META_SCHEMA.to_string(),
            enable_heartbeat: None,
            heartbeat_update_interval: None,
            heartbeat_report_interval: None,
            timezone: None,
            case_sensitive: false,
            collation_compatible: CollationCompatible::Loose,
            mariadb2tidb: None,
            target_database: None,
            mysql_instances: Vec::new(),
            online_ddl: DEFAULT_ONLINE_DDL,
            shadow_table_rules: Vec::new(),
            trash_table_rules: Vec::new(),
            online_ddl_scheme: None,
            routes: BTreeMap::new(),
            filters: BTreeMap::new(),
            column_mappings: None,
            expression_filter: BTreeMap::new(),
            black_white_list: None,
            block_allow_list: BTreeMap::new(),
            mydumpers: BTreeMap::new(),
            loaders: BTreeMap::new(),
            syncers: BTreeMap::new(),
            validators: BTreeMap::new(),
            clean_dump_file: DEFAULT_CLEAN_DUMP_FILE,
            ansi_quotes: false,
            remove_meta: None,
            experimental: ExperimentalConfig::default(),
        }
    }
}

impl MysqlInstance {
    /// The block/allow list name: `block-allow-list`, else the deprecated `black-white-list`.
    pub fn ba_list_name(&self) -> Option<&str> {
        non_empty(&self.block_allow_list).or_else(|| non_empty(&self.black_white_list))
    }
}

impl TaskConfig {
    /// `task-mode` (validated to be present, so `Full` is only a fallback).
    pub fn mode(&self) -> TaskMode {
        self.task_mode.unwrap_or(TaskMode::Full)
    }

    /// The shard mode in effect: `shard-mode`, or `pessimistic` for the deprecated
    /// `is-sharding: true`.
    pub fn effective_shard_mode(&self) -> ShardMode {
        match (self.shard_mode, self.is_sharding) {
            (ShardMode::Disabled, Some(true)) => ShardMode::Pessimistic,
            (m, _) => m,
        }
    }

    /// The downstream connection (validated to be present).
    pub fn target(&self) -> Option<&DbConfig> {
        self.target_database.as_ref()
    }

    /// The block/allow lists in effect: `block-allow-list`, or `black-white-list` when the
    /// former is empty (as DM).
    pub fn ba_lists(&self) -> &BTreeMap<String, BaListRule> {
        match &self.black_white_list {
            Some(old) if self.block_allow_list.is_empty() => old,
            _ => &self.block_allow_list,
        }
    }

    /// The effective dump settings of instance `i`: the named `mydumpers` entry, or the
    /// inline block, or the defaults; then `mydumper-thread` overrides `threads`.
    /// Defaults for an index out of range.
    pub fn instance_mydumper(&self, i: usize) -> MydumperConfig {
        let Some(inst) = self.mysql_instances.get(i) else {
            return MydumperConfig::default();
        };
        let mut cfg = non_empty(&inst.mydumper_config_name)
            .and_then(|n| self.mydumpers.get(n))
            .or(inst.mydumper.as_ref())
            .cloned()
            .unwrap_or_default();
        if cfg.chunk_filesize.trim().is_empty() {
            cfg.chunk_filesize = DEFAULT_CHUNK_FILESIZE.to_string();
        }
        if let Some(t) = inst.mydumper_thread.filter(|&t| t != 0) {
            cfg.threads = t;
        }
        cfg.threads = cfg.effective_threads();
        if cfg.statement_size == Some(0) {
            cfg.statement_size = None;
        }
        if cfg.rows == Some(0) {
            cfg.rows = None;
        }
        cfg
    }

    /// The effective load settings of instance `i` (`loader-thread` overrides `pool-size`;
    /// a `pool-size` of 0 means the default, as DM).
    pub fn instance_loader(&self, i: usize) -> LoaderConfig {
        let Some(inst) = self.mysql_instances.get(i) else {
            return LoaderConfig::default();
        };
        let mut cfg = non_empty(&inst.loader_config_name)
            .and_then(|n| self.loaders.get(n))
            .or(inst.loader.as_ref())
            .cloned()
            .unwrap_or_default();
        if cfg.pool_size == 0 {
            cfg.pool_size = DEFAULT_POOL_SIZE;
        }
        if let Some(t) = inst.loader_thread.filter(|&t| t != 0) {
            cfg.pool_size = t;
        }
        cfg.import_mode = cfg.import_mode.effective();
        cfg.on_duplicate_logical = Some(cfg.effective_on_duplicate());
        cfg
    }

    /// The syncer settings instance `i` declares (`syncer-config-name`, else `syncer`), as
    /// written, without defaults filled in.
    pub fn declared_syncer(&self, i: usize) -> Option<&SyncerConfig> {
        let inst = self.mysql_instances.get(i)?;
        non_empty(&inst.syncer_config_name)
            .and_then(|n| self.syncers.get(n))
            .or(inst.syncer.as_ref())
    }

    /// The effective replication settings of instance `i` (`syncer-thread` overrides
    /// `worker-count`; zero `queue-size`/`checkpoint-flush-interval` mean the defaults;
    /// `safe-mode-duration` is filled in). A `worker-count` of 0, which DM accepts and then
    /// fails with, is the default (16); a `batch` of 0 is 1, which is how DM runs it.
    pub fn instance_syncer(&self, i: usize) -> SyncerConfig {
        let Some(inst) = self.mysql_instances.get(i) else {
            return SyncerConfig::default();
        };
        let mut cfg = self.declared_syncer(i).cloned().unwrap_or_default();
        if cfg.queue_size == 0 {
            cfg.queue_size = DEFAULT_QUEUE_SIZE;
        }
        if cfg.checkpoint_flush_interval == 0 {
            cfg.checkpoint_flush_interval = DEFAULT_CHECKPOINT_FLUSH_INTERVAL;
        }
        cfg.safe_mode_duration = Some(cfg.safe_mode_duration_text());
        if let Some(t) = inst.syncer_thread.filter(|&t| t != 0) {
            cfg.worker_count = t;
        }
        if cfg.worker_count == 0 {
            cfg.worker_count = DEFAULT_WORKER_COUNT;
        }
        cfg.batch = cfg.batch.max(1);
        cfg
    }

    /// The validation settings of instance `i` (mode `none` unless it names a validator),
    /// zero values replaced by the defaults ([`ValidatorConfig::adjusted`]).
    pub fn instance_validator(&self, i: usize) -> ValidatorConfig {
        self.mysql_instances
            .get(i)
            .and_then(|inst| non_empty(&inst.validator_config_name))
            .and_then(|n| self.validators.get(n))
            .map(ValidatorConfig::adjusted)
            .unwrap_or_default()
    }

    /// The block/allow list of instance `i`, if it names one.
    pub fn instance_block_allow_list(&self, i: usize) -> Option<&BaListRule> {
        let name = self.mysql_instances.get(i)?.ba_list_name()?;
        self.ba_lists().get(name)
    }

    /// The routing rules of instance `i`, in the instance's order.
    pub fn instance_routes(&self, i: usize) -> Vec<&RouteRule> {
        self.mysql_instances
            .get(i)
            .map(|inst| {
                inst.route_rules
                    .iter()
                    .filter_map(|n| self.routes.get(n))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The binlog event filters of instance `i`, in the instance's order.
    pub fn instance_filters(&self, i: usize) -> Vec<&BinlogEventRule> {
        self.mysql_instances
            .get(i)
            .map(|inst| {
                inst.filter_rules
                    .iter()
                    .filter_map(|n| self.filters.get(n))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The expression filters of instance `i`, in the instance's order.
    pub fn instance_expression_filters(&self, i: usize) -> Vec<&ExpressionFilter> {
        self.mysql_instances
            .get(i)
            .map(|inst| {
                inst.expression_filters
                    .iter()
                    .filter_map(|n| self.expression_filter.get(n))
                    .collect()
            })
            .unwrap_or_default()
    }
}
