//! Single values: Go durations, binlog positions (GTID sets, file names), timezones.

use ferry_model::gtid::GtidSet;
use ferry_model::position::split_file_name;

use super::report::Report;
use crate::enums::Flavor;
use crate::error::ErrorKind;
use crate::quantity::parse_go_duration;
use crate::task::parse_gtid;

pub(super) fn duration(r: &mut Report, path: &str, text: &str) -> Option<std::time::Duration> {
    match parse_go_duration(text) {
        Ok(d) => Some(d),
        Err(e) => {
            r.error(path, ErrorKind::InvalidValue, e);
            None
        }
    }
}

pub(super) fn check_gtid(r: &mut Report, path: &str, text: &str, flavor: Option<Flavor>) {
    let result = match flavor {
        Some(Flavor::Mysql) => GtidSet::parse_mysql(text)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Some(Flavor::Mariadb) => GtidSet::parse_mariadb(text)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        None => parse_gtid(text).map(|_| ()),
    };
    if let Err(e) = result {
        r.error(path, ErrorKind::InvalidValue, e);
    }
}

pub(super) fn check_binlog_name(r: &mut Report, path: &str, name: &str) {
    if let Err(e) = split_file_name(name) {
        r.error(path, ErrorKind::InvalidValue, e.to_string());
    }
}

/// DM accepts a UTC offset (`+08:00`) or a zone name (`Asia/Shanghai`, `UTC`, `Local`).
pub(super) fn check_timezone(tz: &str) -> Result<(), String> {
    let t = tz.trim();
    let bytes = t.as_bytes();
    let offset = (bytes.first() == Some(&b'+') || bytes.first() == Some(&b'-'))
        && t[1..].split_once(':').is_some_and(|(h, m)| {
            !h.is_empty()
                && h.len() <= 2
                && m.len() == 2
                && h.bytes().all(|b| b.is_ascii_digit())
                && m.bytes().all(|b| b.is_ascii_digit())
        });
    if offset || matches!(t, "UTC" | "Local" | "SYSTEM") {
        return Ok(());
    }
    let name_ok = !t.is_empty()
        && t.split('/').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+'))
        });
    if !name_ok {
        return Err(format!("invalid timezone `{tz}`"));
    }
    let zoneinfo = std::path::Path::new("/usr/share/zoneinfo");
    if zoneinfo.is_dir() && !zoneinfo.join(t).is_file() {
        return Err(format!("unknown timezone `{tz}`"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timezones() {
        assert!(check_timezone("+08:00").is_ok());
        assert!(check_timezone("-5:30").is_ok());
        assert!(check_timezone("UTC").is_ok());
        assert!(
            check_timezone("Asia/Shanghai").is_ok()
                || !std::path::Path::new("/usr/share/zoneinfo").is_dir()
        );
        assert!(check_timezone("not a zone").is_err());
        assert!(check_timezone("+8").is_err());
    }
}
