//! `start-task --start-time`: the binlog position of the first transaction at or after a time,
//! as DM's `binlogPosFinder` finds it (dm/pkg/binlog/pos_finder.go): a binary search over the
//! upstream's binlog files by the timestamp of each file's first event, then a scan of the
//! file found for the first transaction start (GTID event, `BEGIN`, or a statement outside a
//! transaction) whose timestamp is at or after the time.
//!
//! The pure parts (time parsing, the file choice, the boundary scan) are here; the lookup
//! against a server is in [`lookup`].

mod lookup;

pub(crate) use lookup::lookup_server_id;
pub use lookup::{find_position, upstream_utc_offset, Found};

/// DM's message for a time after the last transaction (`ErrConfigStartTimeTooLate`).
pub fn too_late(text: &str) -> String {
    format!("start-time {text} is too late, no binlog location matches it")
}

/// A `--start-time` value: a civil date and time, with the UTC offset when it was written
/// (else it is read in the upstream's time zone, as DM does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartTime {
    /// Seconds since the epoch of the civil time taken as UTC.
    civil_secs: i64,
    /// Offset east of UTC written with the time (`Z`, `+08:00`, `-0530`), in seconds.
    pub offset: Option<i32>,
}

impl StartTime {
    /// Parses `2021-10-21 00:01:00` or `2021-10-21T00:01:00`, optionally followed by `Z`,
    /// `+HH:MM` or `+HHMM` (DM's `ParseStartTime`); anything else is an error naming the value
    /// and the accepted forms.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "error while parse start-time `{text}`, expected in the format like \
                 '2006-01-02 15:04:05' or '2006-01-02T15:04:05' (optionally with Z, +08:00 \
                 or +0800)"
            )
        };
        let t = text.trim();
        let b = t.as_bytes();
        if b.len() < 19 || !t.is_char_boundary(19) {
            return Err(bad());
        }
        let (civil, zone) = t.split_at(19);
        let c = civil.as_bytes();
        let sep_ok = c[4] == b'-'
            && c[7] == b'-'
            && (c[10] == b' ' || c[10] == b'T')
            && c[13] == b':'
            && c[16] == b':';
        if !sep_ok {
            return Err(bad());
        }
        let num = |r: std::ops::Range<usize>| -> Result<i64, String> {
            let s = &civil[r];
            if s.bytes().all(|x| x.is_ascii_digit()) {
                s.parse().map_err(|_| bad())
            } else {
                Err(bad())
            }
        };
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo)
            || d < 1
            || d > days_in_month(y, mo)
            || h > 23
            || mi > 59
            || s > 59
        {
            return Err(bad());
        }
        let offset = match zone {
            "" => None,
            "Z" | "z" => Some(0),
            z => Some(parse_offset(z).ok_or_else(bad)?),
        };
        Ok(Self {
            civil_secs: days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s,
            offset,
        })
    }

    /// Seconds since the epoch, the time read with its own offset, else with `upstream_offset`
    /// (seconds east of UTC of the upstream's time zone).
    pub fn unix(&self, upstream_offset: i32) -> i64 {
        self.civil_secs - i64::from(self.offset.unwrap_or(upstream_offset))
    }
}

fn parse_offset(z: &str) -> Option<i32> {
    let sign = match z.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = z[1..].chars().filter(|c| *c != ':').collect();
    let colon_ok = match z.len() {
        6 => z.as_bytes()[3] == b':',
        5 => true,
        _ => false,
    };
    if !colon_ok || digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let h: i32 = digits[..2].parse().ok()?;
    let m: i32 = digits[2..].parse().ok()?;
    if h > 14 || m > 59 {
        return None;
    }
    Some(sign * (h * 3600 + m * 60))
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Which file the scan starts in, from the first-event timestamps of the files in order
/// (DM's `initTargetBinlogFile`): the last file whose first event is before `target`, or the
/// first file when none is (`before_first`: the time precedes every binlog the upstream still
/// has, and replication starts at its first event). `first_ts(i)` is asked of O(log n) files.
pub fn choose_file<E>(
    n: usize,
    target: u32,
    mut first_ts: impl FnMut(usize) -> Result<u32, E>,
) -> Result<Option<FileChoice>, E> {
    let mut search = FileSearch::new(n, target);
    while let Some(i) = search.probe() {
        let ts = first_ts(i)?;
        search.record(ts);
    }
    Ok(search.choice())
}

/// The binary search of [`choose_file`] one step at a time (the lookup asks the server for
/// each probed file's first timestamp).
#[derive(Debug, Clone)]
pub struct FileSearch {
    n: usize,
    target: u32,
    lo: usize,
    hi: usize,
}

impl FileSearch {
    /// A search over `n` files for `target`.
    pub fn new(n: usize, target: u32) -> Self {
        Self {
            n,
            target,
            lo: 0,
            hi: n,
        }
    }

    /// The file whose first timestamp is needed next; `None` when the search is done.
    pub fn probe(&self) -> Option<usize> {
        (self.lo < self.hi).then(|| (self.lo + self.hi) / 2)
    }

    /// Records the first timestamp of the file [`Self::probe`] returned.
    pub fn record(&mut self, first_ts: u32) {
        let Some(mid) = self.probe() else { return };
        // Looks for the first file whose first event is at or after the target.
        if first_ts >= self.target {
            self.hi = mid;
        } else {
            self.lo = mid + 1;
        }
    }

    /// The file to scan (`None` when there are no files).
    pub fn choice(&self) -> Option<FileChoice> {
        if self.n == 0 {
            return None;
        }
        Some(if self.lo == 0 {
            FileChoice {
                index: 0,
                before_first: true,
            }
        } else {
            FileChoice {
                index: self.lo - 1,
                before_first: false,
            }
        })
    }
}

/// The file [`choose_file`] picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileChoice {
    /// Index in the file list.
    pub index: usize,
    /// The time precedes the first event of the first file.
    pub before_first: bool,
}

/// An event of the scanned file, as far as the scan needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanEvent {
    /// A GTID event (MySQL GTID or anonymous GTID, MariaDB GTID): a transaction starts.
    Gtid,
    /// `BEGIN`.
    Begin,
    /// `COMMIT` query (non-transactional engines) or an XID event: a transaction ends.
    Commit,
    /// Any other statement (a DDL outside a transaction starts and ends one).
    Statement,
    /// Anything else (rows, table maps, format description, ...).
    Other,
}

/// The boundary scan of one file (DM's `checkTransactionBoundaryEvent`): feed the events in
/// order with their header timestamp; the answer is the position before the first
/// transaction start at or after the target.
#[derive(Debug, Clone, Default)]
pub struct BoundaryScan {
    target: u32,
    saw_gtid: bool,
    in_txn: bool,
}

impl BoundaryScan {
    /// A scan for the first transaction at or after `target` (seconds since the epoch).
    pub fn new(target: u32) -> Self {
        Self {
            target,
            ..Self::default()
        }
    }

    /// True when `ev`, with header timestamp `ts`, starts a transaction at or after the
    /// target: replication starts right before it.
    pub fn is_start(&mut self, ev: ScanEvent, ts: u32) -> bool {
        let begins = match ev {
            ScanEvent::Gtid => {
                self.saw_gtid = true;
                true
            }
            // With GTID events, the GTID event is the start and queries inside are not.
            _ if self.saw_gtid => false,
            ScanEvent::Begin => {
                self.in_txn = true;
                true
            }
            ScanEvent::Commit => {
                self.in_txn = false;
                false
            }
            ScanEvent::Statement => !self.in_txn,
            ScanEvent::Other => false,
        };
        if ev == ScanEvent::Commit {
            self.in_txn = false;
        }
        begins && ts >= self.target
    }
}

#[cfg(test)]
mod tests;
