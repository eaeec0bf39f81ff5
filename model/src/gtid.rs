//! GTID sets of both flavours: MySQL (`uuid[:tag]:a-b:c`) and MariaDB (`domain-server-seq`).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A GTID set could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid GTID set `{text}`: {reason}")]
pub struct GtidError {
    /// The text given.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

/// An executed-GTID set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "flavor", content = "set", rename_all = "lowercase")]
pub enum GtidSet {
    /// MySQL: per (server uuid, tag) a sorted list of closed intervals.
    Mysql(BTreeMap<String, Vec<(u64, u64)>>),
    /// MariaDB: per replication domain the last `(server_id, seq_no)`.
    Mariadb(BTreeMap<u32, (u32, u64)>),
}

impl GtidSet {
    /// True when no transaction is in the set.
    pub fn is_empty(&self) -> bool {
        match self {
            GtidSet::Mysql(m) => m.is_empty(),
            GtidSet::Mariadb(m) => m.is_empty(),
        }
    }

    /// Adds MySQL transaction `gno` of server `sid` (16 raw UUID bytes) to the set; a MariaDB
    /// set becomes a MySQL one.
    pub fn add_mysql(&mut self, sid: [u8; 16], gno: u64) {
        if !matches!(self, GtidSet::Mysql(_)) {
            *self = GtidSet::Mysql(BTreeMap::new());
        }
        let GtidSet::Mysql(m) = self else { return };
        let h = hex_lower(&sid);
        let key = format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        );
        let ivs = m.entry(key).or_default();
        // Fast path: the next transaction of the last interval.
        if let Some(last) = ivs.last_mut() {
            if gno == last.1 + 1 {
                last.1 = gno;
                return;
            }
            if gno >= last.0 && gno <= last.1 {
                return;
            }
        }
        ivs.push((gno, gno));
        ivs.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(ivs.len());
        for &(a, b) in ivs.iter() {
            match merged.last_mut() {
                Some(l) if a <= l.1.saturating_add(1) => l.1 = l.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        *ivs = merged;
    }

    /// Records MariaDB GTID `domain-server-seq` as the last of its domain; a MySQL set becomes
    /// a MariaDB one.
    pub fn add_mariadb(&mut self, domain: u32, server: u32, seq: u64) {
        if !matches!(self, GtidSet::Mariadb(_)) {
            *self = GtidSet::Mariadb(BTreeMap::new());
        }
        if let GtidSet::Mariadb(m) = self {
            m.insert(domain, (server, seq));
        }
    }

    /// Parses a MySQL `Executed_Gtid_Set` (newlines allowed, as the server prints it).
    pub fn parse_mysql(text: &str) -> Result<Self, GtidError> {
        let err = |reason: &str| GtidError {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let mut out: BTreeMap<String, Vec<(u64, u64)>> = BTreeMap::new();
        let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        for part in cleaned.split(',').filter(|p| !p.is_empty()) {
            let mut fields = part.split(':');
            let uuid = fields.next().unwrap_or_default().to_ascii_lowercase();
            if uuid.len() != 36 || uuid.chars().filter(|c| *c == '-').count() != 4 {
                return Err(err("a server UUID must have 36 characters"));
            }
            let mut tag = String::new();
            let mut any = false;
            for f in fields {
                if f.chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                {
                    tag = f.to_ascii_lowercase();
                    continue;
                }
                let (a, b) = match f.split_once('-') {
                    Some((a, b)) => (a, b),
                    None => (f, f),
                };
                let a: u64 = a
                    .parse()
                    .map_err(|_| err("interval start is not a number"))?;
                let b: u64 = b.parse().map_err(|_| err("interval end is not a number"))?;
                if a == 0 || b < a {
                    return Err(err("intervals must be 1-based and ascending"));
                }
                let key = if tag.is_empty() {
                    uuid.clone()
                } else {
                    format!("{uuid}:{tag}")
                };
                out.entry(key).or_default().push((a, b));
                any = true;
            }
            if !any {
                return Err(err("a server UUID needs at least one interval"));
            }
        }
        for v in out.values_mut() {
            v.sort_unstable();
            let mut merged: Vec<(u64, u64)> = Vec::with_capacity(v.len());
            for &(a, b) in v.iter() {
                match merged.last_mut() {
                    Some(last) if a <= last.1 + 1 => last.1 = last.1.max(b),
                    _ => merged.push((a, b)),
                }
            }
            *v = merged;
        }
        Ok(GtidSet::Mysql(out))
    }

    /// Parses a MariaDB GTID list such as `0-13307-5,1-2-30`.
    pub fn parse_mariadb(text: &str) -> Result<Self, GtidError> {
        let err = |reason: &str| GtidError {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let mut out = BTreeMap::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let mut it = part.splitn(3, '-');
            let (Some(d), Some(s), Some(q)) = (it.next(), it.next(), it.next()) else {
                return Err(err("expected domain-server-seq"));
            };
            let d: u32 = d.parse().map_err(|_| err("domain is not a number"))?;
            let s: u32 = s.parse().map_err(|_| err("server id is not a number"))?;
            let q: u64 = q.parse().map_err(|_| err("sequence is not a number"))?;
            if out.insert(d, (s, q)).is_some() {
                return Err(err("a domain appears twice"));
            }
        }
        Ok(GtidSet::Mariadb(out))
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

impl fmt::Display for GtidSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GtidSet::Mysql(m) => {
                let mut first = true;
                for (sid, ivs) in m {
                    if !first {
                        f.write_str(",")?;
                    }
                    first = false;
                    f.write_str(sid)?;
                    for (a, b) in ivs {
                        if a == b {
                            write!(f, ":{a}")?;
                        } else {
                            write!(f, ":{a}-{b}")?;
                        }
                    }
                }
                Ok(())
            }
            GtidSet::Mariadb(m) => {
                let parts: Vec<String> =
                    m.iter().map(|(d, (s, q))| format!("{d}-{s}-{q}")).collect();
                f.write_str(&parts.join(","))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_sets_merge_and_print_canonically() {
        let s = GtidSet::parse_mysql(
            "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5:6-7,\n3e11fa47-71ca-11e1-9e33-c80aa9429562:9",
        )
        .unwrap();
        assert_eq!(s.to_string(), "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-7:9");
    }

    #[test]
    fn mysql_tagged_gtids_are_kept_apart() {
        let s = GtidSet::parse_mysql("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-3:mytag:1-2").unwrap();
        assert_eq!(
            s.to_string(),
            "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-3,3e11fa47-71ca-11e1-9e33-c80aa9429562:mytag:1-2"
        );
    }

    #[test]
    fn bad_sets_are_rejected() {
        assert!(GtidSet::parse_mysql("nope:1-2").is_err());
        assert!(GtidSet::parse_mysql("3e11fa47-71ca-11e1-9e33-c80aa9429562:5-2").is_err());
        assert!(GtidSet::parse_mariadb("0-1").is_err());
        assert!(GtidSet::parse_mariadb("0-1-2,0-1-3").is_err());
    }

    #[test]
    fn adding_transactions_extends_intervals() {
        let mut s = GtidSet::parse_mysql("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-3").unwrap();
        let sid = [
            0x3e, 0x11, 0xfa, 0x47, 0x71, 0xca, 0x11, 0xe1, 0x9e, 0x33, 0xc8, 0x0a, 0xa9, 0x42,
            0x95, 0x62,
        ];
        s.add_mysql(sid, 4);
        s.add_mysql(sid, 6);
        assert_eq!(s.to_string(), "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-4:6");
        s.add_mysql(sid, 5);
        assert_eq!(s.to_string(), "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-6");
        let mut m = GtidSet::parse_mariadb("0-1-5").unwrap();
        m.add_mariadb(0, 2, 6);
        m.add_mariadb(1, 2, 1);
        assert_eq!(m.to_string(), "0-2-6,1-2-1");
    }

    #[test]
    fn mariadb_lists_round_trip() {
        let s = GtidSet::parse_mariadb("1-2-30, 0-13307-5").unwrap();
        assert_eq!(s.to_string(), "0-13307-5,1-2-30");
        assert!(GtidSet::parse_mariadb("").unwrap().is_empty());
    }
}
