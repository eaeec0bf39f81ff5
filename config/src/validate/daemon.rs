//! The daemon configuration.

use super::report::Report;
use crate::daemon::{check_addr, DaemonConfig};
use crate::error::ErrorKind;

/// Checks the daemon configuration.
pub(crate) fn daemon(cfg: &DaemonConfig, r: &mut Report) {
    if let Err(e) = check_addr(&cfg.master_addr) {
        r.error("master-addr", ErrorKind::InvalidValue, e);
    }
    for (key, msg) in cfg.api_protection_problems() {
        r.error(key, ErrorKind::InvalidValue, msg);
    }
    if cfg.data_dir.as_os_str().is_empty() {
        r.error("data-dir", ErrorKind::InvalidValue, "must not be empty");
    }
}
