//! DM's defaults, as named constants (from DM's `dm/config/*.go`; see
//! `research/dm-features.md` §2–§3), plus the daemon's own.

// ---------- daemon (ferryd.yaml) ----------

/// `master-addr`: where ferryd serves its HTTP API and `/metrics` (DM-master's port).
pub const DEFAULT_MASTER_ADDR: &str = "127.0.0.1:8261";
/// `data-dir`: RocksDB store and relay log.
pub const DEFAULT_DATA_DIR: &str = "./ferry-data";
/// `log-level`.
pub const DEFAULT_LOG_LEVEL: &str = "info";
/// `log-format`.
pub const DEFAULT_LOG_FORMAT: &str = "text";

// ---------- database connections ----------

/// `from.port` / `target-database.port` when not given.
pub const DEFAULT_DB_PORT: u16 = 3306;

// ---------- source.yaml ----------

/// `source-id` may not be longer than this (DM's `MaxSourceIDLength`).
pub const MAX_SOURCE_ID_LENGTH: usize = 32;
/// `enable`.
pub const DEFAULT_SOURCE_ENABLE: bool = true;
/// `relay-dir` (deprecated in source.yaml; DM's code default).
pub const DEFAULT_RELAY_DIR: &str = "relay-dir";
/// `purge.interval`, seconds.
pub const DEFAULT_PURGE_INTERVAL: i64 = 3600;
/// `purge.expires`, hours (0 disables purge by age).
pub const DEFAULT_PURGE_EXPIRES: i64 = 0;
/// `purge.remain-space`, GiB.
pub const DEFAULT_PURGE_REMAIN_SPACE: i64 = 15;
/// `checker.check-enable`.
pub const DEFAULT_CHECKER_CHECK_ENABLE: bool = true;
/// `checker.backoff-rollback`.
pub const DEFAULT_CHECKER_BACKOFF_ROLLBACK: &str = "5m";
/// `checker.backoff-max`.
pub const DEFAULT_CHECKER_BACKOFF_MAX: &str = "5m";
/// Hidden `checker.check-interval`.
pub const DEFAULT_CHECKER_CHECK_INTERVAL: &str = "5s";
/// Hidden `checker.backoff-min`.
pub const DEFAULT_CHECKER_BACKOFF_MIN: &str = "1s";
/// Hidden `checker.backoff-jitter`.
pub const DEFAULT_CHECKER_BACKOFF_JITTER: bool = true;
/// Hidden `checker.backoff-factor`.
pub const DEFAULT_CHECKER_BACKOFF_FACTOR: f64 = 2.0;
/// DM's base for a random `server-id` when none is given (`MaxUint32 / 10`).
pub const DEFAULT_BASE_SERVER_ID: u32 = u32::MAX / 10;

// ---------- task.yaml: global ----------

/// `meta-schema`.
pub const DEFAULT_META_SCHEMA: &str = "dm_meta";
/// `online-ddl` (true in DM's code).
pub const DEFAULT_ONLINE_DDL: bool = true;
/// `clean-dump-file`.
pub const DEFAULT_CLEAN_DUMP_FILE: bool = true;
/// `collation_compatible`.
pub const DEFAULT_COLLATION_COMPATIBLE: &str = "loose";
/// Deprecated `heartbeat-update-interval`, seconds.
pub const DEFAULT_HEARTBEAT_UPDATE_INTERVAL: u64 = 1;
/// Deprecated `heartbeat-report-interval`, seconds.
pub const DEFAULT_HEARTBEAT_REPORT_INTERVAL: u64 = 10;

// ---------- mydumpers ----------

/// `threads`.
pub const DEFAULT_MYDUMPER_THREADS: u32 = 4;
/// `chunk-filesize`, MB.
pub const DEFAULT_CHUNK_FILESIZE: &str = "64";
/// `skip-tz-utc`.
pub const DEFAULT_SKIP_TZ_UTC: bool = true;
/// Legacy `mydumper-path`.
pub const DEFAULT_MYDUMPER_PATH: &str = "./bin/mydumper";
/// Rows per chunk that DM gives dumpling when `rows` is not set.
pub const DEFAULT_DUMP_ROWS_WHEN_UNSET: u64 = 200_000;

// ---------- loaders ----------

/// `pool-size`.
pub const DEFAULT_POOL_SIZE: u32 = 16;
/// `dir`.
pub const DEFAULT_LOADER_DIR: &str = "./dumped_data";
/// `disk-quota-physical`.
pub const DEFAULT_DISK_QUOTA_PHYSICAL: &str = "0";

// ---------- syncers ----------

/// `worker-count`.
pub const DEFAULT_WORKER_COUNT: u32 = 16;
/// `batch`.
pub const DEFAULT_BATCH: u32 = 100;
/// `queue-size`.
pub const DEFAULT_QUEUE_SIZE: u32 = 1024;
/// `checkpoint-flush-interval`, seconds.
pub const DEFAULT_CHECKPOINT_FLUSH_INTERVAL: u64 = 30;
/// `safe-mode-duration` (2 × the default `checkpoint-flush-interval`).
pub const DEFAULT_SAFE_MODE_DURATION: &str = "60s";

// ---------- validators ----------

/// `worker-count`.
pub const DEFAULT_VALIDATOR_WORKER_COUNT: u32 = 4;
/// `validate-interval`.
pub const DEFAULT_VALIDATOR_VALIDATE_INTERVAL: &str = "10s";
/// `check-interval`.
pub const DEFAULT_VALIDATOR_CHECK_INTERVAL: &str = "5s";
/// `row-error-delay`.
pub const DEFAULT_VALIDATOR_ROW_ERROR_DELAY: &str = "30m";
/// `meta-flush-interval`.
pub const DEFAULT_VALIDATOR_META_FLUSH_INTERVAL: &str = "5m";
/// `batch-query-size`.
pub const DEFAULT_VALIDATOR_BATCH_QUERY_SIZE: u32 = 100;
/// `max-pending-row-size`.
pub const DEFAULT_VALIDATOR_MAX_PENDING_ROW_SIZE: &str = "500m";
/// `max-pending-row-count` (DM: `MaxInt32`).
pub const DEFAULT_VALIDATOR_MAX_PENDING_ROW_COUNT: u64 = i32::MAX as u64;

/// DM's precheck items that `ignore-checking-items` may name (`dm/config/checking_item.go`).
pub const CHECKING_ITEMS: &[&str] = &[
    "all",
    "dump_privilege",
    "replication_privilege",
    "version",
    "server_id",
    "binlog_enable",
    "binlog_format",
    "binlog_row_image",
    "table_schema",
    "schema_of_shard_tables",
    "auto_increment_ID",
    "online_ddl",
    "binlog_db",
    "meta_position",
    "conn_number",
    "target_privilege",
    "empty_region",
    "region_distribution",
    "downstream_version",
    "free_space",
    "downstream_mutex_features",
];

/// Event names of binlog event filter rules (`pkg/binlog-filter`), matched case-insensitively.
pub const FILTER_EVENTS: &[&str] = &[
    "all",
    "all dml",
    "all ddl",
    "none",
    "none ddl",
    "none dml",
    "incompatible ddl changes",
    "insert",
    "update",
    "delete",
    "create database",
    "create schema",
    "drop database",
    "drop schema",
    "alter database",
    "alter schema",
    "create table",
    "drop table",
    "truncate table",
    "rename table",
    "create index",
    "drop index",
    "create view",
    "drop view",
    "alter table",
    "add table partition",
    "drop table partition",
    "truncate table partition",
    "reorganize table partition",
    "rebuild table partition",
    "coalesce table partition",
    "split table partition",
    "exchange table partition",
    "alter table partitioning",
    "remove table partitioning",
    "add foreign key",
    "drop foreign key",
    "value range decrease",
    "precision decrease",
    "modify column",
    "rename column",
    "rename index",
    "drop column",
    "drop primary key",
    "drop unique key",
    "modify default value",
    "modify constraint",
    "modify columns order",
    "modify charset",
    "modify collation",
    "remove auto increment",
    "modify storage engine",
    "modify schema charset and collate",
    "modify table charset and collate",
    "modify table comment",
    "recover table",
    "add column",
    "set default value",
    "rebase auto id",
    "add primary key",
    "alter index visibility",
    "alter ttl info",
    "alter ttl remove",
    "multi schema change",
];
