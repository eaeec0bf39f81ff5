//! Unit configurations, global or inline: mydumper, loader, syncer, validator.

use super::report::Report;
use super::values::duration;
use crate::defaults::{DEFAULT_BATCH, DEFAULT_WORKER_COUNT};
use crate::enums::ImportMode;
use crate::error::ErrorKind;
use crate::quantity::parse_byte_size;
use crate::unit::{LoaderConfig, MydumperConfig, SyncerConfig, ValidatorConfig};
use crate::yaml::join;

pub(super) fn mydumper(r: &mut Report, path: &str, m: &MydumperConfig) {
    // `threads: 0` is dumpling's default (4), as in DM; `chunk-filesize: ""` is 64 MB.
    if !m.chunk_filesize.trim().is_empty() {
        if let Err(e) = m.chunk_filesize_bytes() {
            r.error(join(path, "chunk-filesize"), ErrorKind::InvalidValue, e);
        }
    }
    r.deprecated(&join(path, "mydumper-path"), m.mydumper_path.is_some(), "");
    match m.parsed_extra_args() {
        Err(e) => r.error(
            join(path, "extra-args"),
            ErrorKind::InvalidValue,
            e.to_string(),
        ),
        Ok(args) => {
            if !args.unknown.is_empty() {
                r.warn(
                    join(path, "extra-args"),
                    format!(
                        "ignored by Ferry: {} (understood: --consistency, --where, -r/--rows, \
                         --snapshot)",
                        args.unknown
                            .iter()
                            .map(|a| format!("`{a}`"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                );
            }
        }
    }
}

pub(super) fn loader(r: &mut Report, path: &str, l: &LoaderConfig) {
    if matches!(l.import_mode, ImportMode::Sql | ImportMode::Loader) {
        r.warn(
            join(path, "import-mode"),
            format!("`{}` is a legacy name of `logical`", l.import_mode),
        );
    }
    if l.on_duplicate.is_some() {
        r.warn(
            join(path, "on-duplicate"),
            "deprecated: use on-duplicate-logical",
        );
    }
    if let Err(e) = parse_byte_size(&l.disk_quota_physical, 1) {
        if !l.disk_quota_physical.trim().is_empty() {
            r.error(
                join(path, "disk-quota-physical"),
                ErrorKind::InvalidValue,
                e,
            );
        }
    }
    if let Some(c) = &l.compress_kv_pairs {
        if !matches!(c.to_ascii_lowercase().as_str(), "" | "gzip" | "gz") {
            r.error(
                join(path, "compress-kv-pairs"),
                ErrorKind::InvalidValue,
                format!("invalid compress-kv-pairs `{c}`: expected gzip, gz or \"\""),
            );
        }
    }
}

pub(super) fn syncer(r: &mut Report, path: &str, s: &SyncerConfig) {
    if s.worker_count == 0 {
        r.warn(
            join(path, "worker-count"),
            format!(
                "0 workers cannot apply any change (DM accepts it, then fails at the first row \
                 change); Ferry uses the default, {DEFAULT_WORKER_COUNT}, unless syncer-thread \
                 is set"
            ),
        );
    }
    if s.batch == 0 {
        r.warn(
            join(path, "batch"),
            format!(
                "0 writes each row change in its own downstream transaction, as DM does (the \
                 default is {DEFAULT_BATCH})"
            ),
        );
    }
    match s.check_safe_mode_duration() {
        Err(e) => r.error(join(path, "safe-mode-duration"), ErrorKind::InvalidValue, e),
        Ok(d) if d.is_zero() && s.safe_mode => r.error(
            join(path, "safe-mode-duration"),
            ErrorKind::Conflict,
            "safe-mode: true conflicts with safe-mode-duration \"0s\" (which disables \
             automatic safe mode)",
        ),
        Ok(_) => {}
    }
    r.deprecated(&join(path, "max-retry"), s.max_retry.is_some(), "");
    r.deprecated(&join(path, "auto-fix-gtid"), s.auto_fix_gtid.is_some(), "");
    r.deprecated(
        &join(path, "enable-gtid"),
        s.enable_gtid.is_some(),
        " (set enable-gtid in source.yaml)",
    );
    r.deprecated(
        &join(path, "disable-detect"),
        s.disable_detect.is_some(),
        "",
    );
    r.deprecated(
        &join(path, "enable-ansi-quotes"),
        s.enable_ansi_quotes.is_some(),
        " (use the task-level ansi-quotes)",
    );
    r.deprecated(&join(path, "meta-file"), s.meta_file.is_some(), "");
}

pub(super) fn validator(r: &mut Report, path: &str, v: &ValidatorConfig) {
    for (key, text) in [
        ("validate-interval", &v.validate_interval),
        ("check-interval", &v.check_interval),
        ("row-error-delay", &v.row_error_delay),
        ("meta-flush-interval", &v.meta_flush_interval),
    ] {
        duration(r, &join(path, key), text);
    }
    // Zero values (`""`, `0`, `0s`) mean DM's defaults (`ValidatorConfig.Adjust`).
    if !v.max_pending_row_size.trim().is_empty() {
        if let Err(e) = parse_byte_size(&v.max_pending_row_size, 1) {
            r.error(
                join(path, "max-pending-row-size"),
                ErrorKind::InvalidValue,
                e,
            );
        }
    }
}
