//! `source.yaml`.

use super::connection::db;
use super::report::Report;
use super::rules::filter_rule;
use super::values::{check_binlog_name, check_gtid, duration};
use crate::defaults::MAX_SOURCE_ID_LENGTH;
use crate::enums::{BinlogBackend, Flavor};
use crate::error::ErrorKind;
use crate::secret::SecretKey;
use crate::source::SourceConfig;

/// Checks a source and decrypts its password.
pub(crate) fn source(cfg: &mut SourceConfig, r: &mut Report, key: Option<&SecretKey>) {
    let id = cfg.source_id.trim();
    if id.is_empty() {
        r.error("source-id", ErrorKind::Missing, "source-id is required");
    } else if cfg.source_id.len() > MAX_SOURCE_ID_LENGTH {
        r.error(
            "source-id",
            ErrorKind::InvalidValue,
            format!(
                "source-id `{}` is longer than {MAX_SOURCE_ID_LENGTH} characters",
                cfg.source_id
            ),
        );
    }
    if !cfg.relay_binlog_name.is_empty() {
        check_binlog_name(r, "relay-binlog-name", &cfg.relay_binlog_name);
        if cfg.enable_gtid {
            r.warn(
                "relay-binlog-name",
                "ignored: enable-gtid is true, so the relay starts from relay-binlog-gtid",
            );
        }
    }
    if !cfg.relay_binlog_gtid.is_empty() {
        check_gtid(r, "relay-binlog-gtid", &cfg.relay_binlog_gtid, cfg.flavor);
        if !cfg.enable_gtid {
            r.warn(
                "relay-binlog-gtid",
                "ignored: enable-gtid is false, so the relay starts from relay-binlog-name",
            );
        }
    }
    r.deprecated(
        "relay-dir",
        cfg.relay_dir.is_some(),
        " (the relay log lives in the daemon's data-dir)",
    );
    r.deprecated("charset", cfg.charset.is_some(), "");
    r.deprecated("auto-fix-gtid", cfg.auto_fix_gtid.is_some(), "");
    r.deprecated("meta-dir", cfg.meta_dir.is_some(), "");
    r.deprecated("tracer", cfg.tracer.is_some(), "");
    db(r, "from", &mut cfg.from, key);
    if cfg.binlog_backend == BinlogBackend::Connector {
        let refuse = |what: &str| {
            format!(
                "binlog backend `connector` does not support {what}; use the default backend \
                 (binlog-backend: mysql_async)"
            )
        };
        if cfg.from.security.is_some() {
            r.error(
                "binlog-backend",
                ErrorKind::InvalidValue,
                refuse("TLS (from.security)"),
            );
        }
        if cfg.from.password.is_empty() {
            r.error(
                "binlog-backend",
                ErrorKind::InvalidValue,
                refuse("logging in without a password (empty from.password)"),
            );
        }
        if cfg.enable_gtid && cfg.flavor == Some(Flavor::Mariadb) {
            r.error(
                "binlog-backend",
                ErrorKind::InvalidValue,
                refuse("MariaDB GTID (enable-gtid with flavor mariadb)"),
            );
        }
    }
    for (name, v) in [
        ("purge.interval", cfg.purge.interval),
        ("purge.expires", cfg.purge.expires),
        ("purge.remain-space", cfg.purge.remain_space),
    ] {
        if v < 0 {
            r.error(name, ErrorKind::InvalidValue, "must not be negative");
        }
    }
    let c = cfg.checker.clone();
    duration(r, "checker.backoff-rollback", &c.backoff_rollback);
    duration(r, "checker.check-interval", &c.check_interval);
    let max = duration(r, "checker.backoff-max", &c.backoff_max);
    // The hidden `backoff-min` (like `check-interval` and `backoff-factor`) is reset to its
    // default by DM; a zero value means that default here too.
    let min = duration(r, "checker.backoff-min", &c.backoff_min).map(|_| c.backoff_min());
    if let (Some(max), Some(min)) = (max, min) {
        if max < min {
            r.error(
                "checker.backoff-max",
                ErrorKind::InvalidValue,
                format!(
                    "backoff-max ({}) is smaller than backoff-min ({min:?})",
                    c.backoff_max
                ),
            );
        }
    }
    if c.backoff_factor < 0.0 || !c.backoff_factor.is_finite() {
        r.error(
            "checker.backoff-factor",
            ErrorKind::InvalidValue,
            "must be a positive number (0 means the default, 2)",
        );
    }
    let mut keep = Vec::with_capacity(cfg.filters.len());
    for (i, rule) in cfg.filters.iter_mut().enumerate() {
        keep.push(filter_rule(r, &format!("filters[{i}]"), rule));
    }
    let mut keep = keep.into_iter();
    cfg.filters.retain(|_| keep.next().unwrap_or(true));
}
