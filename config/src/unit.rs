//! Settings of DM's processing units: `mydumpers` (dump), `loaders` (load), `syncers`
//! (binlog replication) and `validators` (continuous validation).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::defaults::*;
use crate::enums::{
    ImportMode, OnDuplicateLogical, OnDuplicatePhysical, PostOpLevel, ValidationMode,
};
use crate::extra_args::{DumpExtraArgs, ExtraArgsError};
use crate::quantity::{parse_byte_size, parse_go_duration};
use crate::source::{duration_or, nonzero_or};
use crate::yaml::null_as_default;

fn yes() -> bool {
    true
}

fn d_threads() -> u32 {
    DEFAULT_MYDUMPER_THREADS
}
fn d_chunk_filesize() -> String {
    DEFAULT_CHUNK_FILESIZE.to_string()
}

/// Dump settings (`mydumpers.NAME` or an instance's inline `mydumper`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MydumperConfig {
    /// Legacy path of the mydumper binary; not used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mydumper_path: Option<String>,
    /// Dump threads (also the precheck concurrency); 0 means dumpling's default, 4, as in DM.
    #[serde(default = "d_threads")]
    pub threads: u32,
    /// Target size of a dumped chunk; a bare number is MB. `""` means the default, 64 MB;
    /// `0` means no size limit (see [`MydumperConfig::chunk_filesize_limit`]).
    #[serde(default = "d_chunk_filesize", deserialize_with = "null_as_default")]
    pub chunk_filesize: String,
    /// Maximum size of one INSERT statement (dumpling `-S`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement_size: Option<u64>,
    /// Rows per chunk (dumpling `-r`); None when not set (see [`MydumperConfig::effective_rows`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// SQL condition applied to every dumped table.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub r#where: String,
    /// Do not set the session time zone to UTC while dumping.
    #[serde(default = "yes")]
    pub skip_tz_utc: bool,
    /// Extra dumpling arguments, e.g. `"--consistency none"` (see [`crate::extra_args`]).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub extra_args: String,
}

impl Default for MydumperConfig {
    fn default() -> Self {
        Self {
            mydumper_path: None,
            threads: DEFAULT_MYDUMPER_THREADS,
            chunk_filesize: DEFAULT_CHUNK_FILESIZE.to_string(),
            statement_size: None,
            rows: None,
            r#where: String::new(),
            skip_tz_utc: DEFAULT_SKIP_TZ_UTC,
            extra_args: String::new(),
        }
    }
}

impl MydumperConfig {
    /// `extra-args`, parsed.
    pub fn parsed_extra_args(&self) -> Result<DumpExtraArgs, ExtraArgsError> {
        crate::extra_args::parse_extra_args(&self.extra_args)
    }

    /// Rows per chunk: `rows`, else `-r/--rows` of `extra-args`, else DM's 200000.
    pub fn effective_rows(&self) -> u64 {
        self.rows
            .filter(|&r| r > 0)
            .or_else(|| self.parsed_extra_args().ok().and_then(|a| a.rows))
            .unwrap_or(DEFAULT_DUMP_ROWS_WHEN_UNSET)
    }

    /// `chunk-filesize` in bytes (a bare number is MB).
    pub fn chunk_filesize_bytes(&self) -> Result<u64, String> {
        parse_byte_size(&self.chunk_filesize, 1 << 20)
    }

    /// The size limit of a chunk in bytes, as dumpling reads `chunk-filesize`: None for `0`
    /// (no size limit: chunks are cut by rows only), the default (64 MB) for `""`.
    pub fn chunk_filesize_limit(&self) -> Result<Option<u64>, String> {
        let text = match self.chunk_filesize.trim() {
            "" => DEFAULT_CHUNK_FILESIZE,
            t => t,
        };
        parse_byte_size(text, 1 << 20).map(|b| Some(b).filter(|&b| b > 0))
    }

    /// `threads`, 0 meaning dumpling's default (4), as DM passes only positive values.
    pub fn effective_threads(&self) -> u32 {
        if self.threads == 0 {
            DEFAULT_MYDUMPER_THREADS
        } else {
            self.threads
        }
    }

    /// `statement-size`, None when unset or 0 (dumpling's default, as DM passes only
    /// positive values).
    pub fn effective_statement_size(&self) -> Option<u64> {
        self.statement_size.filter(|&s| s > 0)
    }
}

fn d_pool_size() -> u32 {
    DEFAULT_POOL_SIZE
}
fn d_dir() -> String {
    DEFAULT_LOADER_DIR.to_string()
}
fn d_disk_quota() -> String {
    DEFAULT_DISK_QUOTA_PHYSICAL.to_string()
}
fn d_checksum() -> PostOpLevel {
    PostOpLevel::Required
}
fn d_analyze() -> PostOpLevel {
    PostOpLevel::Optional
}
fn checksum_level<'de, D: serde::Deserializer<'de>>(d: D) -> Result<PostOpLevel, D::Error> {
    crate::soft::choice_or(d, d_checksum())
}
fn analyze_level<'de, D: serde::Deserializer<'de>>(d: D) -> Result<PostOpLevel, D::Error> {
    crate::soft::choice_or(d, d_analyze())
}

/// Load settings (`loaders.NAME` or an instance's inline `loader`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LoaderConfig {
    /// Concurrent load workers (0 means the default, as in DM).
    #[serde(default = "d_pool_size")]
    pub pool_size: u32,
    /// Directory (or S3 URL) of dumped files in DM; Ferry streams without staging files.
    #[serde(default = "d_dir", deserialize_with = "null_as_default")]
    pub dir: String,
    /// Local sort directory of physical import (default, also for `""`: `dir`).
    #[serde(
        default,
        deserialize_with = "crate::soft::blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub sorting_dir_physical: Option<String>,
    /// `logical` (default), `physical` or `import-into`.
    #[serde(default)]
    pub import_mode: ImportMode,
    /// Deprecated name of `on-duplicate-logical` (`""`: not set).
    #[serde(
        default,
        deserialize_with = "crate::soft::empty_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub on_duplicate: Option<OnDuplicateLogical>,
    /// Conflict handling of logical import (None: not set, also for `""` as DM; see
    /// [`LoaderConfig::effective_on_duplicate`]).
    #[serde(
        default,
        deserialize_with = "crate::soft::empty_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub on_duplicate_logical: Option<OnDuplicateLogical>,
    /// Conflict handling of physical import.
    #[serde(default)]
    pub on_duplicate_physical: OnDuplicatePhysical,
    /// Disk quota of physical import (`"0"`: none).
    #[serde(default = "d_disk_quota", deserialize_with = "null_as_default")]
    pub disk_quota_physical: String,
    /// `ADMIN CHECKSUM TABLE` after physical import (`""`: `required`, as DM).
    #[serde(default = "d_checksum", deserialize_with = "checksum_level")]
    pub checksum_physical: PostOpLevel,
    /// `ANALYZE TABLE` after physical import (`""`: `optional`, as DM).
    #[serde(default = "d_analyze", deserialize_with = "analyze_level")]
    pub analyze: PostOpLevel,
    /// Physical import only: concurrency of sending KV data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_concurrency: Option<u32>,
    /// Physical import only: `gzip`/`gz` or empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compress_kv_pairs: Option<String>,
    /// Physical import only: PD addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pd_addr: Option<String>,
}

impl Default for LoaderConfig {
    fn default() -> Self {
        Self {
            pool_size: DEFAULT_POOL_SIZE,
            dir: DEFAULT_LOADER_DIR.to_string(),
            sorting_dir_physical: None,
            import_mode: ImportMode::Logical,
            on_duplicate: None,
            on_duplicate_logical: None,
            on_duplicate_physical: OnDuplicatePhysical::None,
            disk_quota_physical: DEFAULT_DISK_QUOTA_PHYSICAL.to_string(),
            checksum_physical: PostOpLevel::Required,
            analyze: PostOpLevel::Optional,
            range_concurrency: None,
            compress_kv_pairs: None,
            pd_addr: None,
        }
    }
}

impl LoaderConfig {
    /// The conflict handling of logical import: `on-duplicate-logical`, else the deprecated
    /// `on-duplicate`, else `replace`.
    pub fn effective_on_duplicate(&self) -> OnDuplicateLogical {
        self.on_duplicate_logical
            .or(self.on_duplicate)
            .unwrap_or_default()
    }
}

fn d_worker_count() -> u32 {
    DEFAULT_WORKER_COUNT
}
fn d_batch() -> u32 {
    DEFAULT_BATCH
}
fn d_queue_size() -> u32 {
    DEFAULT_QUEUE_SIZE
}
fn d_cfi() -> u64 {
    DEFAULT_CHECKPOINT_FLUSH_INTERVAL
}

/// Binlog replication settings (`syncers.NAME` or an instance's inline `syncer`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SyncerConfig {
    /// Internal to DM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta_file: Option<String>,
    /// Downstream apply workers.
    #[serde(default = "d_worker_count")]
    pub worker_count: u32,
    /// Statements per downstream transaction.
    #[serde(default = "d_batch")]
    pub batch: u32,
    /// Internal queue size (0 means the default).
    #[serde(default = "d_queue_size")]
    pub queue_size: u32,
    /// Seconds between checkpoint flushes (0 means the default).
    #[serde(default = "d_cfi")]
    pub checkpoint_flush_interval: u64,
    /// Merge changes of the same row.
    #[serde(default)]
    pub compact: bool,
    /// Multi-row statements. Unset means on in Ferry (merging consecutive changes is
    /// faster and has the same effect); an explicit `false` writes one statement per row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiple_rows: Option<bool>,
    /// Deprecated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retry: Option<i64>,
    /// Deprecated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_fix_gtid: Option<bool>,
    /// Deprecated (set `enable-gtid` in source.yaml).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_gtid: Option<bool>,
    /// Deprecated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_detect: Option<bool>,
    /// Always use safe mode (`INSERT`→`REPLACE`, `UPDATE`→`DELETE`+`REPLACE`).
    #[serde(default)]
    pub safe_mode: bool,
    /// Length of automatic safe mode after a restart; default 2 × checkpoint-flush-interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safe_mode_duration: Option<String>,
    /// Deprecated: use the task-level `ansi-quotes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_ansi_quotes: Option<bool>,
}

impl Default for SyncerConfig {
    fn default() -> Self {
        Self {
            meta_file: None,
            worker_count: DEFAULT_WORKER_COUNT,
            batch: DEFAULT_BATCH,
            queue_size: DEFAULT_QUEUE_SIZE,
            checkpoint_flush_interval: DEFAULT_CHECKPOINT_FLUSH_INTERVAL,
            compact: false,
            multiple_rows: None,
            max_retry: None,
            auto_fix_gtid: None,
            enable_gtid: None,
            disable_detect: None,
            safe_mode: false,
            safe_mode_duration: None,
            enable_ansi_quotes: None,
        }
    }
}

impl SyncerConfig {
    /// `checkpoint-flush-interval`, 0 meaning the default.
    pub fn checkpoint_flush_interval(&self) -> Duration {
        let secs = if self.checkpoint_flush_interval == 0 {
            DEFAULT_CHECKPOINT_FLUSH_INTERVAL
        } else {
            self.checkpoint_flush_interval
        };
        Duration::from_secs(secs)
    }

    /// `safe-mode-duration`, or 2 × checkpoint-flush-interval when not set or empty.
    /// Zero means: do not enter automatic safe mode, report an error instead.
    pub fn safe_mode_duration(&self) -> Duration {
        match self.safe_mode_duration.as_deref().map(str::trim) {
            Some(text) if !text.is_empty() => duration_or(text, DEFAULT_SAFE_MODE_DURATION),
            _ => 2 * self.checkpoint_flush_interval(),
        }
    }

    /// `safe-mode-duration` when it is set (non-empty). Ferry's checkpoint is exact, so it
    /// needs no timed safe mode after a restart; an explicit duration is still honoured
    /// (safe mode for that long after each start).
    pub fn explicit_safe_mode_duration(&self) -> Option<Duration> {
        self.safe_mode_duration
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|_| self.safe_mode_duration())
    }

    /// The safe-mode-duration text DM would show (`"60s"` by default).
    pub(crate) fn safe_mode_duration_text(&self) -> String {
        match self.safe_mode_duration.as_deref().map(str::trim) {
            Some(text) if !text.is_empty() => text.to_string(),
            _ => format!("{}s", self.checkpoint_flush_interval().as_secs() * 2),
        }
    }

    /// Checks `safe-mode-duration`; returns the parse error text.
    pub(crate) fn check_safe_mode_duration(&self) -> Result<Duration, String> {
        match self.safe_mode_duration.as_deref().map(str::trim) {
            Some(text) if !text.is_empty() => parse_go_duration(text),
            _ => Ok(self.safe_mode_duration()),
        }
    }
}

fn d_v_workers() -> u32 {
    DEFAULT_VALIDATOR_WORKER_COUNT
}
fn d_validate_interval() -> String {
    DEFAULT_VALIDATOR_VALIDATE_INTERVAL.to_string()
}
fn d_v_check_interval() -> String {
    DEFAULT_VALIDATOR_CHECK_INTERVAL.to_string()
}
fn d_row_error_delay() -> String {
    DEFAULT_VALIDATOR_ROW_ERROR_DELAY.to_string()
}
fn d_meta_flush() -> String {
    DEFAULT_VALIDATOR_META_FLUSH_INTERVAL.to_string()
}
fn d_batch_query() -> u32 {
    DEFAULT_VALIDATOR_BATCH_QUERY_SIZE
}
fn d_pending_size() -> String {
    DEFAULT_VALIDATOR_MAX_PENDING_ROW_SIZE.to_string()
}
fn d_pending_count() -> u64 {
    DEFAULT_VALIDATOR_MAX_PENDING_ROW_COUNT
}

/// Continuous validation settings (`validators.NAME`). Durations are Go duration strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ValidatorConfig {
    /// `none` (default), `fast` or `full`.
    #[serde(default)]
    pub mode: ValidationMode,
    /// Validation workers.
    #[serde(default = "d_v_workers")]
    pub worker_count: u32,
    /// Period of a validation round.
    #[serde(default = "d_validate_interval")]
    pub validate_interval: String,
    /// Period of re-checking failed rows.
    #[serde(default = "d_v_check_interval")]
    pub check_interval: String,
    /// A row failing for this long is reported.
    #[serde(default = "d_row_error_delay")]
    pub row_error_delay: String,
    /// Period of saving validator state.
    #[serde(default = "d_meta_flush")]
    pub meta_flush_interval: String,
    /// Rows per downstream query.
    #[serde(default = "d_batch_query")]
    pub batch_query_size: u32,
    /// Memory limit of pending rows (`"500m"`).
    #[serde(default = "d_pending_size")]
    pub max_pending_row_size: String,
    /// Count limit of pending rows.
    #[serde(default = "d_pending_count")]
    pub max_pending_row_count: u64,
}

impl Default for ValidatorConfig {
    fn default() -> Self {
        Self {
            mode: ValidationMode::None,
            worker_count: DEFAULT_VALIDATOR_WORKER_COUNT,
            validate_interval: d_validate_interval(),
            check_interval: d_v_check_interval(),
            row_error_delay: d_row_error_delay(),
            meta_flush_interval: d_meta_flush(),
            batch_query_size: DEFAULT_VALIDATOR_BATCH_QUERY_SIZE,
            max_pending_row_size: d_pending_size(),
            max_pending_row_count: DEFAULT_VALIDATOR_MAX_PENDING_ROW_COUNT,
        }
    }
}

impl ValidatorConfig {
    /// `validate-interval` as a duration (zero: the default, as DM's `Adjust`).
    pub fn validate_interval(&self) -> Duration {
        let d = DEFAULT_VALIDATOR_VALIDATE_INTERVAL;
        nonzero_or(duration_or(&self.validate_interval, d), d)
    }

    /// `check-interval` as a duration (zero: the default).
    pub fn check_interval(&self) -> Duration {
        let d = DEFAULT_VALIDATOR_CHECK_INTERVAL;
        nonzero_or(duration_or(&self.check_interval, d), d)
    }

    /// `row-error-delay` as a duration (zero: the default).
    pub fn row_error_delay(&self) -> Duration {
        let d = DEFAULT_VALIDATOR_ROW_ERROR_DELAY;
        nonzero_or(duration_or(&self.row_error_delay, d), d)
    }

    /// `meta-flush-interval` as a duration (zero: the default).
    pub fn meta_flush_interval(&self) -> Duration {
        let d = DEFAULT_VALIDATOR_META_FLUSH_INTERVAL;
        nonzero_or(duration_or(&self.meta_flush_interval, d), d)
    }

    /// `max-pending-row-size` in bytes (`""`: the default, 500m).
    pub fn max_pending_row_size_bytes(&self) -> u64 {
        parse_byte_size(&self.max_pending_row_size, 1)
            .or_else(|_| parse_byte_size(DEFAULT_VALIDATOR_MAX_PENDING_ROW_SIZE, 1))
            .unwrap_or(0)
    }

    /// These settings with DM's zero values replaced by the defaults, as DM's
    /// `ValidatorConfig.Adjust` does: `mode: ""` is `none` (done when parsing), a
    /// `worker-count`, `batch-query-size` or `max-pending-row-count` of 0 and a zero
    /// duration mean the default, and so does an empty `max-pending-row-size`.
    pub fn adjusted(&self) -> ValidatorConfig {
        let text = |t: &str, d: &str| match parse_go_duration(t) {
            Ok(v) if !v.is_zero() => t.to_string(),
            _ => d.to_string(),
        };
        let or = |v: u32, d: u32| if v == 0 { d } else { v };
        ValidatorConfig {
            mode: self.mode,
            worker_count: or(self.worker_count, DEFAULT_VALIDATOR_WORKER_COUNT),
            validate_interval: text(&self.validate_interval, DEFAULT_VALIDATOR_VALIDATE_INTERVAL),
            check_interval: text(&self.check_interval, DEFAULT_VALIDATOR_CHECK_INTERVAL),
            row_error_delay: text(&self.row_error_delay, DEFAULT_VALIDATOR_ROW_ERROR_DELAY),
            meta_flush_interval: text(
                &self.meta_flush_interval,
                DEFAULT_VALIDATOR_META_FLUSH_INTERVAL,
            ),
            batch_query_size: or(self.batch_query_size, DEFAULT_VALIDATOR_BATCH_QUERY_SIZE),
            max_pending_row_size: match self.max_pending_row_size.trim() {
                "" => DEFAULT_VALIDATOR_MAX_PENDING_ROW_SIZE.to_string(),
                s => s.to_string(),
            },
            max_pending_row_count: if self.max_pending_row_count == 0 {
                DEFAULT_VALIDATOR_MAX_PENDING_ROW_COUNT
            } else {
                self.max_pending_row_count
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_dms() {
        let m = MydumperConfig::default();
        assert_eq!(m.threads, 4);
        assert_eq!(m.chunk_filesize, "64");
        assert_eq!(m.rows, None);
        assert_eq!(m.effective_rows(), 200_000);
        assert_eq!(m.chunk_filesize_bytes().unwrap(), 64 << 20);
        assert!(m.skip_tz_utc);
        let l = LoaderConfig::default();
        assert_eq!((l.pool_size, l.dir.as_str()), (16, "./dumped_data"));
        assert_eq!(l.import_mode, ImportMode::Logical);
        assert_eq!(l.effective_on_duplicate(), OnDuplicateLogical::Replace);
        assert_eq!(l.checksum_physical, PostOpLevel::Required);
        assert_eq!(l.analyze, PostOpLevel::Optional);
        let s = SyncerConfig::default();
        assert_eq!((s.worker_count, s.batch, s.queue_size), (16, 100, 1024));
        assert_eq!(s.checkpoint_flush_interval(), Duration::from_secs(30));
        assert_eq!(s.safe_mode_duration(), Duration::from_secs(60));
        assert_eq!(s.safe_mode_duration_text(), "60s");
        assert!(s.multiple_rows.is_none() && !s.compact && !s.safe_mode);
        let v = ValidatorConfig::default();
        assert_eq!(v.mode, ValidationMode::None);
        assert_eq!(v.row_error_delay(), Duration::from_secs(1800));
        assert_eq!(v.max_pending_row_size_bytes(), 500 << 20);
    }

    #[test]
    fn safe_mode_duration_follows_flush_interval() {
        let s = SyncerConfig {
            checkpoint_flush_interval: 10,
            ..SyncerConfig::default()
        };
        assert_eq!(s.safe_mode_duration(), Duration::from_secs(20));
        assert_eq!(
            s.explicit_safe_mode_duration(),
            None,
            "unset: no timed safe mode"
        );
        let s = SyncerConfig {
            safe_mode_duration: Some("1m30s".into()),
            ..SyncerConfig::default()
        };
        assert_eq!(s.safe_mode_duration(), Duration::from_secs(90));
        assert_eq!(
            s.explicit_safe_mode_duration(),
            Some(Duration::from_secs(90))
        );
        let s = SyncerConfig {
            safe_mode_duration: Some("  ".into()),
            ..SyncerConfig::default()
        };
        assert_eq!(s.explicit_safe_mode_duration(), None, "empty is unset");
    }

    #[test]
    fn rows_from_extra_args() {
        let m = MydumperConfig {
            extra_args: "--consistency none -r 5000".into(),
            ..MydumperConfig::default()
        };
        assert_eq!(m.effective_rows(), 5000);
        let m = MydumperConfig { rows: Some(7), ..m };
        assert_eq!(m.effective_rows(), 7);
    }
}
