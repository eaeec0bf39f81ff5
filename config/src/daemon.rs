//! `ferryd.yaml`: the daemon's own settings (DESIGN.md §5). Key names follow DM-master /
//! DM-worker where they exist. Relative paths are relative to the daemon's working
//! directory, as in DM.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::defaults::{DEFAULT_DATA_DIR, DEFAULT_MASTER_ADDR};
use crate::enums::{LogFormat, LogLevel};

fn d_master_addr() -> String {
    DEFAULT_MASTER_ADDR.to_string()
}
fn d_data_dir() -> PathBuf {
    PathBuf::from(DEFAULT_DATA_DIR)
}

/// The daemon configuration. Command-line flags override it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DaemonConfig {
    /// `host:port` of the HTTP API and `/metrics`.
    #[serde(default = "d_master_addr")]
    pub master_addr: String,
    /// RocksDB store (checkpoints, relay log, registered sources and tasks).
    #[serde(default = "d_data_dir")]
    pub data_dir: PathBuf,
    /// `trace`, `debug`, `info` (default), `warn`, `error`.
    #[serde(default)]
    pub log_level: LogLevel,
    /// Log file; standard error when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_file: Option<PathBuf>,
    /// `text` (default) or `json`.
    #[serde(default)]
    pub log_format: LogFormat,
    /// Key file (64 hex characters) for encrypted passwords.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_path: Option<PathBuf>,
    /// Folder of source YAML files applied at start and on SIGHUP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_dir: Option<PathBuf>,
    /// Folder of task YAML files applied at start and on SIGHUP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_dir: Option<PathBuf>,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        Self {
            master_addr: d_master_addr(),
            data_dir: d_data_dir(),
            log_level: LogLevel::default(),
            log_file: None,
            log_format: LogFormat::default(),
            secret_key_path: None,
            source_dir: None,
            task_dir: None,
        }
    }
}

/// Checks a `host:port` address; returns a message when it is not one.
pub(crate) fn check_addr(addr: &str) -> Result<(), String> {
    let (host, port) = addr
        .rsplit_once(':')
        .ok_or_else(|| format!("`{addr}` is not of the form host:port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(format!("`{addr}` has no host"));
    }
    port.parse::<u16>()
        .map_err(|_| format!("`{addr}` has an invalid port `{port}`"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let d = DaemonConfig::default();
        assert_eq!(d.master_addr, "127.0.0.1:8261");
        assert_eq!(d.data_dir, PathBuf::from("./ferry-data"));
        assert_eq!(d.log_level, LogLevel::Info);
        assert_eq!(d.log_format, LogFormat::Text);
    }

    #[test]
    fn addresses() {
        assert!(check_addr("127.0.0.1:8261").is_ok());
        assert!(check_addr("[::1]:8261").is_ok());
        assert!(check_addr("0.0.0.0:99999").is_err());
        assert!(check_addr("8261").is_err());
        assert!(check_addr(":8261").is_err());
    }
}
