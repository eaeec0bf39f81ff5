//! The process itself, read from `/proc/self` at each scrape (Linux): DM's
//! `dm_worker_cpu_usage` and Prometheus' standard `process_resident_memory_bytes`,
//! `process_open_fds` and `process_start_time_seconds`.

use std::sync::Mutex;
use std::time::Instant;

/// Linux's `USER_HZ`: the unit of the CPU times of `/proc/*/stat` (fixed by the ABI).
const USER_HZ: f64 = 100.0;

/// CPU seconds (user + system) and the start (in clock ticks after boot) from the text of
/// `/proc/self/stat`.
pub fn parse_stat(stat: &str) -> Option<(f64, u64)> {
    // The command name (field 2) is in parentheses and may hold spaces: fields after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_ascii_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, stime 15, starttime 22.
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    let start: u64 = f.get(19)?.parse().ok()?;
    Some(((utime + stime) as f64 / USER_HZ, start))
}

/// Resident bytes from the text of `/proc/self/status` (`VmRSS: N kB`).
pub fn parse_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_ascii_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Seconds since the epoch of the system's boot, from `/proc/stat` (`btime`).
fn boot_time() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("btime "))?;
    line.split_ascii_whitespace().nth(1)?.parse().ok()
}

/// The previous CPU sample, for the usage between two scrapes.
static LAST: Mutex<Option<(Instant, f64)>> = Mutex::new(None);

/// Sets the process gauges (called at each scrape).
pub fn publish() {
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
        if let Some((cpu, start_ticks)) = parse_stat(&stat) {
            let now = Instant::now();
            let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((t, c)) = *last {
                let secs = now.duration_since(t).as_secs_f64();
                if secs > 0.0 {
                    ::metrics::gauge!("dm_worker_cpu_usage").set((cpu - c) / secs * 100.0);
                }
            }
            *last = Some((now, cpu));
            if let Some(boot) = boot_time() {
                let start = boot as f64 + start_ticks as f64 / USER_HZ;
                ::metrics::gauge!("process_start_time_seconds").set(start);
            }
        }
    }
    if let Some(rss) = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| parse_rss(&s))
    {
        ::metrics::gauge!("process_resident_memory_bytes").set(rss as f64);
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        ::metrics::gauge!("process_open_fds").set(fds.count() as f64);
    }
}

pub(super) fn describe() {
    ::metrics::describe_gauge!(
        "dm_worker_cpu_usage",
        "the cpu usage of worker (percent of one core, between the last two scrapes)"
    );
    ::metrics::describe_gauge!(
        "process_resident_memory_bytes",
        "Resident memory size in bytes."
    );
    ::metrics::describe_gauge!("process_open_fds", "Number of open file descriptors.");
    ::metrics::describe_gauge!(
        "process_start_time_seconds",
        "Start time of the process since unix epoch in seconds."
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat_and_status_parse() {
        let stat = "1234 (ferry d) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 5000 1000 200 0";
        assert_eq!(parse_stat(stat), Some((3.0, 5000)));
        assert_eq!(
            parse_rss("Name:\tferryd\nVmRSS:\t  2048 kB\n"),
            Some(2 << 20)
        );
        assert_eq!(parse_rss("Name: x\n"), None);
        let real = std::fs::read_to_string("/proc/self/stat").unwrap();
        assert!(parse_stat(&real).is_some(), "{real}");
    }
}
