//! GTID sets of both flavours: MySQL (`uuid[:tag]:a-b:c`) and MariaDB (`domain-server-seq`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::small_map::SmallMap;

/// Closed intervals of MySQL transaction numbers, sorted and disjoint (the first inline).
pub type Intervals = SmallVec<[(u64, u64); 1]>;

/// A MySQL GTID set: per server (the lowercase UUID, then `:tag` for tagged GTIDs) its
/// intervals. Copying a set of one server with one interval allocates nothing.
pub type MysqlGtids = SmallMap<Arc<str>, Intervals>;

/// A MariaDB GTID position: per replication domain the last `(server_id, seq_no)`.
pub type MariadbGtids = SmallMap<u32, (u32, u64)>;

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
    Mysql(MysqlGtids),
    /// MariaDB: per replication domain the last `(server_id, seq_no)`.
    Mariadb(MariadbGtids),
}

impl GtidSet {
    /// True when no transaction is in the set.
    pub fn is_empty(&self) -> bool {
        match self {
            GtidSet::Mysql(m) => m.is_empty(),
            GtidSet::Mariadb(m) => m.is_empty(),
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
        let mut set = MysqlGtids::default();
        for (key, mut v) in out {
            v.sort_unstable();
            let mut merged = Intervals::with_capacity(v.len());
            for &(a, b) in v.iter() {
                match merged.last_mut() {
                    Some(last) if a <= last.1 + 1 => last.1 = last.1.max(b),
                    _ => merged.push((a, b)),
                }
            }
            set.insert(key.into(), merged);
        }
        Ok(GtidSet::Mysql(set))
    }

    /// Parses a MariaDB GTID list such as `0-13307-5,1-2-30`.
    pub fn parse_mariadb(text: &str) -> Result<Self, GtidError> {
        let err = |reason: &str| GtidError {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let mut out = MariadbGtids::default();
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

impl GtidSet {
    /// Adds one MySQL transaction `key:gno` (`key` is the lowercase server UUID, followed by
    /// `:tag` for a tagged GTID, as the keys of [`GtidSet::Mysql`]). No-op on a MariaDB set.
    pub fn add_mysql(&mut self, key: &str, gno: u64) {
        let GtidSet::Mysql(m) = self else {
            return;
        };
        let ivs = m.get_or_insert_with(key, || key.into());
        // Index of the first interval that ends at or after gno - 1 (may absorb gno).
        let i = ivs.partition_point(|&(_, b)| b.saturating_add(1) < gno);
        match ivs.get(i).copied() {
            Some((a, b)) if a <= gno && gno <= b => {}
            Some((a, b)) if b.saturating_add(1) == gno => {
                ivs[i] = (a, gno);
                // Merge with the next interval when they now touch.
                if let Some(&(na, nb)) = ivs.get(i + 1) {
                    if na == gno.saturating_add(1) {
                        ivs[i] = (a, nb);
                        ivs.remove(i + 1);
                    }
                }
            }
            Some((a, b)) if gno.saturating_add(1) == a => ivs[i] = (gno, b),
            _ => ivs.insert(i, (gno, gno)),
        }
    }

    /// Records a MariaDB GTID `domain-server-seq` as the last one of its domain. No-op on a
    /// MySQL set.
    pub fn add_mariadb(&mut self, domain: u32, server: u32, seq: u64) {
        if let GtidSet::Mariadb(m) = self {
            m.insert(domain, (server, seq));
        }
    }

    /// True when the MySQL transaction `key:gno` is in the set.
    pub fn contains_mysql(&self, key: &str, gno: u64) -> bool {
        match self {
            GtidSet::Mysql(m) => m
                .get(key)
                .is_some_and(|ivs| ivs.iter().any(|&(a, b)| a <= gno && gno <= b)),
            GtidSet::Mariadb(_) => false,
        }
    }

    /// True when the MariaDB GTID `domain-*-seq` is at or before the set's position in its
    /// domain (MariaDB GTID positions are one sequence number per domain).
    pub fn contains_mariadb(&self, domain: u32, seq: u64) -> bool {
        match self {
            GtidSet::Mariadb(m) => m.get(&domain).is_some_and(|&(_, s)| seq <= s),
            GtidSet::Mysql(_) => false,
        }
    }

    /// Parses a set of either flavour: MariaDB's `domain-server-seq` list when it parses as
    /// one, else a MySQL set.
    pub fn parse_any(text: &str) -> Result<Self, GtidError> {
        match Self::parse_mariadb(text) {
            Ok(set) if !text.contains(':') => Ok(set),
            _ => Self::parse_mysql(text),
        }
    }
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
    fn mysql_add_merges_intervals() {
        let u = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
        let mut s = GtidSet::parse_mysql(&format!("{u}:1-3:7-8")).unwrap();
        s.add_mysql(u, 2);
        assert_eq!(s.to_string(), format!("{u}:1-3:7-8"));
        s.add_mysql(u, 5);
        assert_eq!(s.to_string(), format!("{u}:1-3:5:7-8"));
        s.add_mysql(u, 4);
        assert_eq!(s.to_string(), format!("{u}:1-5:7-8"));
        s.add_mysql(u, 6);
        assert_eq!(s.to_string(), format!("{u}:1-8"));
        s.add_mysql(u, 10);
        s.add_mysql(&format!("{u}:tag"), 1);
        assert_eq!(s.to_string(), format!("{u}:1-8:10,{u}:tag:1"));
        assert!(s.contains_mysql(u, 8) && !s.contains_mysql(u, 9));
        let mut e = GtidSet::Mysql(Default::default());
        e.add_mysql(u, 3);
        e.add_mysql(u, 1);
        e.add_mysql(u, 2);
        assert_eq!(e.to_string(), format!("{u}:1-3"));
    }

    #[test]
    fn mariadb_add_and_contains() {
        let mut s = GtidSet::parse_mariadb("0-1-5").unwrap();
        s.add_mariadb(0, 2, 6);
        s.add_mariadb(1, 2, 1);
        assert_eq!(s.to_string(), "0-2-6,1-2-1");
        assert!(s.contains_mariadb(0, 6) && !s.contains_mariadb(0, 7) && !s.contains_mariadb(2, 1));
        assert_eq!(GtidSet::parse_any("0-2-6,1-2-1").unwrap(), s);
        assert!(matches!(
            GtidSet::parse_any("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-2").unwrap(),
            GtidSet::Mysql(_)
        ));
    }

    #[test]
    fn sets_keep_their_json_form() {
        // Checkpoints written before the sets were kept inline read back the same.
        let u = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
        let json = format!(r#"{{"flavor":"mysql","set":{{"{u}":[[1,5],[7,7]],"{u}:t":[[2,3]]}}}}"#);
        let s: GtidSet = serde_json::from_str(&json).unwrap();
        assert_eq!(s.to_string(), format!("{u}:1-5:7,{u}:t:2-3"));
        assert_eq!(serde_json::to_string(&s).unwrap(), json);
        let m = GtidSet::parse_mariadb("0-1-5,2-3-9").unwrap();
        let json = r#"{"flavor":"mariadb","set":{"0":[1,5],"2":[3,9]}}"#;
        assert_eq!(serde_json::to_string(&m).unwrap(), json);
        assert_eq!(serde_json::from_str::<GtidSet>(json).unwrap(), m);
    }

    #[test]
    fn mariadb_lists_round_trip() {
        let s = GtidSet::parse_mariadb("1-2-30, 0-13307-5").unwrap();
        assert_eq!(s.to_string(), "0-13307-5,1-2-30");
        assert!(GtidSet::parse_mariadb("").unwrap().is_empty());
    }
}
