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
    /// CA certificate (PEM) that API clients' certificates must be signed by (DM-master's
    /// `ssl-ca`); without it clients need no certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_ca: Option<PathBuf>,
    /// The API's TLS certificate chain (PEM, leaf first); with `ssl-key`, the API speaks HTTPS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_cert: Option<PathBuf>,
    /// The private key (PEM) of `ssl-cert`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_key: Option<PathBuf>,
    /// File holding the bearer token every API request must carry
    /// (`Authorization: Bearer <token>`); `ferryctl` reads it from `--api-token-file` or
    /// `FERRY_API_TOKEN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_token_path: Option<PathBuf>,
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
            ssl_ca: None,
            ssl_cert: None,
            ssl_key: None,
            api_token_path: None,
        }
    }
}

impl DaemonConfig {
    /// True when `master-addr` binds to a loopback address only (127.0.0.0/8, `::1`,
    /// `localhost`).
    pub fn api_is_loopback(&self) -> bool {
        let host = self
            .master_addr
            .rsplit_once(':')
            .map_or(self.master_addr.as_str(), |(h, _)| h)
            .trim_start_matches('[')
            .trim_end_matches(']');
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// Problems of the API's protection, each as (key, message): a `master-addr` beyond
    /// loopback needs TLS (`ssl-cert` + `ssl-key`) and a bearer token (`api-token-path`);
    /// `ssl-cert` and `ssl-key` go together, and `ssl-ca` needs them.
    pub fn api_protection_problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let tls = self.ssl_cert.is_some() && self.ssl_key.is_some();
        match (&self.ssl_cert, &self.ssl_key) {
            (Some(_), None) => out.push(("ssl-key", "ssl-cert is set without ssl-key".into())),
            (None, Some(_)) => out.push(("ssl-cert", "ssl-key is set without ssl-cert".into())),
            _ => {}
        }
        if self.ssl_ca.is_some() && !tls {
            out.push((
                "ssl-ca",
                "ssl-ca (client certificates) needs ssl-cert and ssl-key (the API's own TLS)"
                    .into(),
            ));
        }
        // An address that is not host:port is reported as such, not as exposed.
        if check_addr(&self.master_addr).is_ok() && !self.api_is_loopback() {
            let mut missing = Vec::new();
            if !tls {
                missing.push("ssl-cert and ssl-key (TLS)");
            }
            if self.api_token_path.is_none() {
                missing.push("api-token-path (a bearer token)");
            }
            if !missing.is_empty() {
                out.push((
                    "master-addr",
                    format!(
                        "`{}` is reachable beyond this machine: the API then needs {}; \
                         set them, or bind to 127.0.0.1",
                        self.master_addr,
                        missing.join(" and ")
                    ),
                ));
            }
        }
        out
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
    fn an_api_beyond_loopback_needs_tls_and_a_token() {
        let mut d = DaemonConfig::default();
        assert!(d.api_is_loopback());
        assert!(d.api_protection_problems().is_empty());
        for a in ["127.0.0.2:8261", "[::1]:8261", "localhost:8261"] {
            d.master_addr = a.into();
            assert!(d.api_is_loopback(), "{a}");
        }
        d.master_addr = "0.0.0.0:8261".into();
        assert!(!d.api_is_loopback());
        let p = d.api_protection_problems();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].0, "master-addr");
        assert!(p[0].1.contains("ssl-cert and ssl-key") && p[0].1.contains("api-token-path"));
        d.ssl_cert = Some("c.pem".into());
        let p = d.api_protection_problems();
        assert_eq!(p[0].0, "ssl-key");
        d.ssl_key = Some("k.pem".into());
        let p = d.api_protection_problems();
        assert_eq!(p.len(), 1);
        assert!(!p[0].1.contains("ssl-cert") && p[0].1.contains("api-token-path"));
        d.api_token_path = Some("token".into());
        assert!(d.api_protection_problems().is_empty());
        d.master_addr = "[::]:8261".into();
        assert!(!d.api_is_loopback());
        assert!(d.api_protection_problems().is_empty());
        d.ssl_key = None;
        d.ssl_ca = Some("ca.pem".into());
        let keys: Vec<_> = d.api_protection_problems().iter().map(|p| p.0).collect();
        assert_eq!(keys, ["ssl-key", "ssl-ca", "master-addr"]);
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
