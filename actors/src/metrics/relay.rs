//! DM's `dm_relay_*` series: the relay log of a source (`enable-relay`).
//!
//! DM runs one relay per worker, so its relay series have no source label; ferryd runs one
//! per source with relay enabled, so every series here also has `source_id` (DM's queries,
//! which match on `instance`, still work with one relay source; Ferry's rules and dashboards
//! match on `source_id` too).

use std::path::Path;

use ::metrics::{Counter, Histogram};
use ferry_model::BinlogPosition;

use super::probe::Level;
use super::{exponential, Labels};

/// The index of the relay log's one sub-directory (DM: `<server-uuid>.000001` until the
/// upstream server changes).
pub const SUB_DIR_INDEX: u32 = 1;

pub(super) fn buckets() -> Vec<(&'static str, Vec<f64>)> {
    let duration = exponential(0.000005, 2.0, 25);
    vec![
        ("dm_relay_read_binlog_duration", duration.clone()),
        ("dm_relay_read_transform_duration", duration.clone()),
        ("dm_relay_write_duration", duration),
        ("dm_relay_write_size", exponential(16.0, 2.0, 20)),
    ]
}

/// The relay series of one source, built when its relay service starts.
#[derive(Debug)]
pub struct RelayMetrics {
    source: String,
    /// Index of the file the relay log has written up to (`node="relay"`).
    relay_file: Level,
    /// Position in that file.
    relay_pos: Level,
    /// Read time of one event from the upstream.
    pub read_binlog_duration: Histogram,
    /// Time to prepare a read event for the relay log (the mean of one write's events).
    pub read_transform_duration: Histogram,
    /// Time of one write (one synced append of a batch of events) to the relay log.
    pub write_duration: Histogram,
    /// Bytes of one write to the relay log.
    pub write_size: Histogram,
    /// Writes to the relay log that failed.
    pub write_error_count: Counter,
    /// Reads of the upstream's binlog that failed.
    pub read_error_count: Counter,
    /// Relay log events found corrupt when read back.
    pub data_corruption: Counter,
    exit_resumable: Counter,
    exit_fatal: Counter,
}

fn with(labels: &Labels, k: &'static str, v: &str) -> Labels {
    let mut l = labels.clone();
    l.push((k, v.to_string()));
    l
}

impl RelayMetrics {
    /// The series of the relay of `source`.
    pub fn new(source: &str) -> Self {
        let s: Labels = vec![("source_id", source.to_string())];
        let relay = with(&s, "node", "relay");
        let counter = |name: &'static str| {
            let c = ::metrics::counter!(name, &s);
            c.increment(0);
            c
        };
        let exit = |resumable: &str| {
            let c = ::metrics::counter!(
                "dm_relay_exit_with_error_count",
                &with(&s, "resumable_err", resumable)
            );
            c.increment(0);
            c
        };
        Self {
            source: source.to_string(),
            relay_file: Level::named("dm_relay_binlog_file", &relay),
            relay_pos: Level::named("dm_relay_binlog_pos", &relay),
            read_binlog_duration: ::metrics::histogram!("dm_relay_read_binlog_duration", &s),
            read_transform_duration: ::metrics::histogram!("dm_relay_read_transform_duration", &s),
            write_duration: ::metrics::histogram!("dm_relay_write_duration", &s),
            write_size: ::metrics::histogram!("dm_relay_write_size", &s),
            write_error_count: counter("dm_relay_write_error_count"),
            read_error_count: counter("dm_relay_read_error_count"),
            data_corruption: counter("dm_relay_data_corruption"),
            exit_resumable: exit("true"),
            exit_fatal: exit("false"),
        }
    }

    /// The relay log holds the events up to `p`.
    pub fn relay_at(&self, p: &BinlogPosition) {
        self.relay_file.set(super::file_index(&p.name));
        self.relay_pos.set(p.pos as f64);
    }

    /// The upstream is at `p` (read by the relay's status loop, which runs every few
    /// seconds: the gauge is set directly).
    pub fn master_at(&self, p: &BinlogPosition) {
        let l = [
            ("source_id", self.source.clone()),
            ("node", "master".to_string()),
        ];
        ::metrics::gauge!("dm_relay_binlog_file", &l).set(super::file_index(&p.name));
        ::metrics::gauge!("dm_relay_binlog_pos", &l).set(p.pos as f64);
    }

    /// The upstream `node` (`host:port`) has server UUID `uuid`: DM's `sub_dir_index` of the
    /// relay sub-directory `<uuid>.000001`. ferryd's relay log of a source is one store that
    /// is never split by upstream server, so the index is always 1. Set by the status loop
    /// (every few seconds: the gauge is set directly).
    pub fn sub_dir(&self, node: &str, uuid: &str) {
        let l = [
            ("source_id", self.source.clone()),
            ("node", node.to_string()),
            ("uuid", format!("{uuid}.{:06}", SUB_DIR_INDEX)),
        ];
        ::metrics::gauge!("dm_relay_sub_dir_index", &l).set(SUB_DIR_INDEX as f64);
    }

    /// A session of the relay writer ended with an error; `resumable` when it is retried.
    pub fn exit_with_error(&self, resumable: bool) {
        if resumable {
            self.exit_resumable.increment(1);
        } else {
            self.exit_fatal.increment(1);
        }
    }

    /// Sets `dm_relay_space` from the file system holding `dir`.
    pub fn space(&self, dir: &Path) {
        match disk_space(dir) {
            Ok((capacity, available)) => {
                for (kind, v) in [("capacity", capacity), ("available", available)] {
                    let l = [
                        ("source_id", self.source.clone()),
                        ("type", kind.to_string()),
                    ];
                    ::metrics::gauge!("dm_relay_space", &l).set(v as f64);
                }
            }
            Err(e) => {
                tracing::debug!(source = %self.source, dir = %dir.display(), error = %e, "relay space")
            }
        }
    }
}

/// (capacity, available) bytes of the file system holding `dir` (`available`: for
/// unprivileged users, as `df`).
pub fn disk_space(dir: &Path) -> std::io::Result<(u64, u64)> {
    let st = rustix::fs::statvfs(dir)?;
    Ok((
        st.f_blocks.saturating_mul(st.f_frsize),
        st.f_bavail.saturating_mul(st.f_frsize),
    ))
}

pub(super) fn describe() {
    use ::metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_gauge!(
        "dm_relay_binlog_pos",
        "current binlog pos in current binlog file"
    );
    describe_gauge!("dm_relay_binlog_file", "current binlog file index");
    describe_gauge!(
        "dm_relay_space",
        "the space of storage for relay component (type: capacity, available)"
    );
    describe_counter!(
        "dm_relay_data_corruption",
        "counter of relay log data corruption"
    );
    describe_histogram!(
        "dm_relay_write_size",
        "write relay log size (bytes of one write: a synced batch of events)"
    );
    describe_histogram!(
        "dm_relay_write_duration",
        "bucketed histogram of write time (s) of single relay log write (a synced batch of events)"
    );
    describe_counter!("dm_relay_write_error_count", "write relay log error count");
    describe_counter!(
        "dm_relay_read_error_count",
        "read binlog from master error count"
    );
    describe_histogram!(
        "dm_relay_read_binlog_duration",
        "bucketed histogram of read time (s) of single binlog event from the master."
    );
    describe_histogram!(
        "dm_relay_read_transform_duration",
        "bucketed histogram of transform time (s) of single binlog event (the mean of the events of one relay log write)."
    );
    describe_gauge!(
        "dm_relay_sub_dir_index",
        "current relay sub directory index (always 1: one relay log per source)"
    );
    describe_counter!(
        "dm_relay_exit_with_error_count",
        "counter of relay unit exits with error"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_disk_of_a_directory_has_room() {
        let (capacity, available) = disk_space(Path::new(".")).unwrap();
        assert!(capacity > 0 && available <= capacity);
    }
}
