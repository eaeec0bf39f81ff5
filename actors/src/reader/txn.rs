//! Transaction boundaries and executed GTID sets, followed event by event.

use ferry_model::GtidSet;

use super::decode::TRANSACTION_PAYLOAD;
use super::{EventBody, SourceEvent};

/// Follows transaction boundaries in a stream of real (non-artificial) events. Boundaries come
/// from XID and `COMMIT` (DESIGN.md §4.2), and from the end of a statement outside any
/// `BEGIN` (DDL, standalone MariaDB groups).
#[derive(Debug, Clone, Default)]
pub struct TxnTracker {
    /// Inside a transaction (since its GTID or `BEGIN`).
    in_txn: bool,
    /// Inside a transaction opened by `BEGIN`.
    begun: bool,
}

impl TxnTracker {
    /// Observes the next real event; true when the stream is at a transaction boundary after
    /// it (a new connection or reader may start right there).
    pub fn observe(&mut self, body: &EventBody) -> bool {
        match body {
            EventBody::MysqlGtid { .. } | EventBody::MariadbGtid { .. } => {
                self.in_txn = true;
                self.begun = false;
            }
            EventBody::TableMap { .. } | EventBody::Rows { .. } => self.in_txn = true,
            EventBody::Other { type_code } if *type_code == TRANSACTION_PAYLOAD => {
                self.in_txn = true;
            }
            b if b.is_begin() => {
                self.in_txn = true;
                self.begun = true;
            }
            b if b.ends_transaction() => self.in_txn = false,
            EventBody::Query { sql, .. } if !self.begun || sql.eq_ignore_ascii_case("ROLLBACK") => {
                self.in_txn = false;
            }
            _ => {}
        }
        if !self.in_txn {
            self.begun = false;
        }
        !self.in_txn
    }

    /// True inside a transaction.
    pub fn in_txn(&self) -> bool {
        self.in_txn
    }
}

/// The key of a MySQL GTID in [`GtidSet::Mysql`]: the lowercase server UUID, then `:tag`.
pub fn gtid_key(sid: &[u8; 16], tag: Option<&str>) -> String {
    let mut s = String::with_capacity(36 + tag.map_or(0, |t| t.len() + 1));
    for (i, b) in sid.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{b:02x}"));
    }
    if let Some(t) = tag {
        s.push(':');
        s.push_str(&t.to_ascii_lowercase());
    }
    s
}

/// The GTID of the transaction in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Gtid {
    Mysql(String, u64),
    Mariadb(u32, u32, u64),
}

/// Follows the executed GTID set along a stream: a transaction's GTID joins the set at the
/// transaction's end.
#[derive(Debug, Clone, Default)]
pub struct GtidTracker {
    set: Option<GtidSet>,
    pending: Option<Gtid>,
    txn: TxnTracker,
}

impl GtidTracker {
    /// A tracker starting from `set` (`None`: unknown, then nothing is tracked).
    pub fn new(set: Option<GtidSet>) -> Self {
        Self {
            set,
            pending: None,
            txn: TxnTracker::default(),
        }
    }

    /// The executed set after the last complete transaction, when known.
    pub fn set(&self) -> Option<&GtidSet> {
        self.set.as_ref()
    }

    /// Observes the next real event; true at a transaction boundary after it.
    pub fn observe(&mut self, ev: &SourceEvent) -> bool {
        match &ev.body {
            EventBody::MysqlGtid { sid, gno, tag } => {
                self.pending = Some(Gtid::Mysql(gtid_key(sid, tag.as_deref()), *gno));
            }
            EventBody::MariadbGtid {
                domain,
                server,
                seq,
                ..
            } => self.pending = Some(Gtid::Mariadb(*domain, *server, *seq)),
            _ => {}
        }
        let boundary = self.txn.observe(&ev.body);
        if boundary {
            if let (Some(g), Some(set)) = (self.pending.take(), self.set.as_mut()) {
                match g {
                    Gtid::Mysql(k, n) => set.add_mysql(&k, n),
                    Gtid::Mariadb(d, s, q) => set.add_mariadb(d, s, q),
                }
            }
        }
        boundary
    }

    /// True when the transaction in progress has a GTID that `set` contains.
    pub fn pending_in(&self, set: &GtidSet) -> bool {
        match &self.pending {
            Some(Gtid::Mysql(k, n)) => set.contains_mysql(k, *n),
            Some(Gtid::Mariadb(d, _, q)) => set.contains_mariadb(*d, *q),
            None => false,
        }
    }

    /// True inside a transaction.
    pub fn in_txn(&self) -> bool {
        self.txn.in_txn()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_model::BinlogPosition;

    fn ev(body: EventBody) -> SourceEvent {
        SourceEvent {
            pos: BinlogPosition::new("binlog.000001", 100).unwrap(),
            timestamp: 0,
            server_id: 1,
            artificial: false,
            body,
        }
    }

    #[test]
    fn formats_uuids_and_tags() {
        let sid = [
            0x3e, 0x11, 0xfa, 0x47, 0x71, 0xca, 0x11, 0xe1, 0x9e, 0x33, 0xc8, 0x0a, 0xa9, 0x42,
            0x95, 0x62,
        ];
        assert_eq!(gtid_key(&sid, None), "3e11fa47-71ca-11e1-9e33-c80aa9429562");
        assert_eq!(
            gtid_key(&sid, Some("Tag1")),
            "3e11fa47-71ca-11e1-9e33-c80aa9429562:tag1"
        );
    }

    #[test]
    fn gtids_join_the_set_at_commit() {
        let sid = [1u8; 16];
        let key = gtid_key(&sid, None);
        let mut t = GtidTracker::new(Some(GtidSet::Mysql(Default::default())));
        let gtid = ev(EventBody::MysqlGtid {
            sid,
            gno: 1,
            tag: None,
        });
        assert!(!t.observe(&gtid));
        assert!(t.pending_in(&GtidSet::parse_mysql(&format!("{key}:1")).unwrap()));
        assert!(!t.observe(&ev(EventBody::Query {
            schema: String::new(),
            sql: "BEGIN".into(),
            error_code: 0,
            status_vars: Default::default(),
        })));
        assert_eq!(t.set().unwrap().to_string(), "");
        assert!(t.observe(&ev(EventBody::Xid { xid: 1 })));
        assert_eq!(t.set().unwrap().to_string(), format!("{key}:1"));
        // DDL: GTID then the statement.
        t.observe(&ev(EventBody::MysqlGtid {
            sid,
            gno: 2,
            tag: None,
        }));
        assert!(t.observe(&ev(EventBody::Query {
            schema: String::new(),
            sql: "CREATE TABLE t (a INT)".into(),
            error_code: 0,
            status_vars: Default::default(),
        })));
        assert_eq!(t.set().unwrap().to_string(), format!("{key}:1-2"));
    }
}
