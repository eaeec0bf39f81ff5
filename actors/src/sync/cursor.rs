//! Turns the normalized binlog event stream into what the syncer acts on: row changes with
//! the point right after each, transaction ends, DDL statements and position advances.
//!
//! Pure logic: tracks table maps, transaction boundaries (XID / `COMMIT`, never GTID events,
//! DESIGN.md §4.2) and the executed GTID set.

use std::collections::HashMap;
use std::sync::Arc;

use ferry_model::{BinlogPosition, GtidSet, TableName};

use super::point::SyncPoint;
use crate::fx_hash::FxBuild;
use crate::reader::{gtid_key, EventBody, RowChange, RowsKind, SourceEvent};

/// What one binlog event means to the syncer.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// One row change. The point right after it is the last boundary the cursor reported
    /// (the previous `Commit`, `Advance` or `Statement` point, else the start) with
    /// `skip_rows = rows`: positions inside a transaction count its changes.
    Row {
        /// Upstream table (shared by the rows of a table map).
        table: Arc<TableName>,
        /// Columns in the table map.
        columns: u64,
        /// Column names in the table map (`binlog_row_metadata=FULL`).
        names: Option<Arc<[String]>>,
        /// Insert, update or delete.
        kind: RowsKind,
        /// The images.
        change: RowChange,
        /// Changes of its transaction up to and including this one.
        rows: u64,
        /// Event timestamp.
        timestamp: u32,
        /// The downstream table, named by the router stage (`None` as the cursor reads it).
        target: Option<Arc<TableName>>,
    },
    /// A row change the filter stage dropped (block-allow-list or an `Ignore` rule): only its
    /// place in the transaction is kept, for positions.
    Skipped {
        /// Upstream table.
        table: Arc<TableName>,
        /// Changes of its transaction up to and including this one.
        rows: u64,
        /// Event timestamp.
        timestamp: u32,
    },
    /// A row change an event filter rule with action `Error` refuses: the task stops here.
    Refused {
        /// Upstream table.
        table: Arc<TableName>,
        /// The kind of change (`insert`, `update`, `delete`).
        event: crate::rules::EventType,
        /// The rule's name.
        rule: String,
        /// Changes of its transaction up to and including this one.
        rows: u64,
        /// Event timestamp.
        timestamp: u32,
    },
    /// A transaction ended (XID or `COMMIT`) at `point`.
    Commit {
        /// The boundary after the transaction.
        point: SyncPoint,
        /// Event timestamp.
        timestamp: u32,
    },
    /// A statement outside any transaction (DDL and the like).
    Statement {
        /// Default schema.
        schema: String,
        /// Statement text.
        sql: String,
        /// The session `sql_mode` the statement was written under (binlog bit flags, from
        /// the event's status variables; 0 when absent).
        sql_mode: u64,
        /// Point before it (boxed, as `point`: statements are rare, and every item is as
        /// large as the largest kind).
        before: Box<SyncPoint>,
        /// The boundary after it.
        point: Box<SyncPoint>,
        /// Event timestamp.
        timestamp: u32,
    },
    /// The stream moved to a new boundary without a transaction (rotate, format description).
    Advance {
        /// The new boundary.
        point: SyncPoint,
    },
    /// A heartbeat: the upstream is alive and has nothing more for now.
    Heartbeat,
}

/// What a table map said: the table, its number of columns and (with
/// `binlog_row_metadata=FULL`) their names.
type MappedTable = (Arc<TableName>, u64, Option<Arc<[String]>>);

/// A binlog event that cannot be interpreted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("binlog event ending at {pos}: {what}")]
pub struct CursorError {
    /// Position after the event.
    pub pos: BinlogPosition,
    /// What is wrong.
    pub what: String,
}

#[derive(Debug, Clone)]
enum PendingGtid {
    /// A MySQL GTID: its transaction number; its server UUID and tag are those of
    /// the cursor's `mysql_sid`.
    Mysql(u64),
    Mariadb(u32, u32, u64),
}

/// The server UUID and tag of the last MySQL GTID, with its key in the GTID set: formatted
/// once per server, not once per transaction.
#[derive(Debug, Clone)]
struct MysqlSid {
    sid: [u8; 16],
    tag: Option<String>,
    key: String,
}

/// The state machine. Feed it every event in order with [`Cursor::feed`].
#[derive(Debug)]
pub struct Cursor {
    tables: HashMap<u64, MappedTable, FxBuild>,
    /// Last transaction boundary.
    boundary: BinlogPosition,
    gtid: Option<GtidSet>,
    /// Inside a transaction (since its GTID event or `BEGIN`).
    in_txn: bool,
    /// The transaction was opened by `BEGIN` (or a non-standalone MariaDB GTID).
    begun: bool,
    pending: Option<PendingGtid>,
    /// The server of the last MySQL GTID.
    mysql_sid: Option<MysqlSid>,
    /// Row changes seen in the current transaction.
    rows: u64,
    /// Changes of the first transaction to suppress (resuming inside it).
    skip_first: u64,
}

impl Cursor {
    /// A cursor positioned at `start` (a boundary plus changes already applied).
    pub fn new(start: &SyncPoint) -> Self {
        Self {
            tables: HashMap::default(),
            boundary: start.pos.clone(),
            gtid: start.gtid.clone(),
            in_txn: false,
            begun: false,
            pending: None,
            mysql_sid: None,
            rows: 0,
            skip_first: start.skip_rows,
        }
    }

    /// The last boundary passed, with its GTID set.
    pub fn point(&self) -> SyncPoint {
        SyncPoint {
            pos: self.boundary.clone(),
            gtid: self.gtid.clone(),
            skip_rows: 0,
        }
    }

    /// True inside a transaction.
    pub fn in_transaction(&self) -> bool {
        self.in_txn
    }

    fn apply_pending(&mut self) {
        match self.pending.take() {
            Some(PendingGtid::Mysql(gno)) => {
                if let Some(m) = &self.mysql_sid {
                    self.gtid
                        .get_or_insert_with(|| GtidSet::Mysql(Default::default()))
                        .add_mysql(&m.key, gno);
                }
            }
            Some(PendingGtid::Mariadb(d, s, q)) => {
                self.gtid
                    .get_or_insert_with(|| GtidSet::Mariadb(Default::default()))
                    .add_mariadb(d, s, q);
            }
            None => {}
        }
    }

    fn end_txn(&mut self, pos: BinlogPosition) {
        self.apply_pending();
        self.boundary = pos;
        self.in_txn = false;
        self.begun = false;
        self.rows = 0;
        self.skip_first = 0;
    }

    /// Interprets one event; appends what it means to `out`.
    pub fn feed(&mut self, ev: SourceEvent, out: &mut Vec<Item>) -> Result<(), CursorError> {
        let err = |what: String| CursorError {
            pos: ev.pos.clone(),
            what,
        };
        match ev.body {
            EventBody::Rotate { next } => {
                // A rotate is never inside a transaction in a well-formed binlog; the fake
                // rotate at the start names the file being read.
                if !self.in_txn {
                    if next.name != self.boundary.name || next.pos >= self.boundary.pos {
                        self.boundary = next;
                    }
                    out.push(Item::Advance {
                        point: self.point(),
                    });
                }
            }
            EventBody::Heartbeat => out.push(Item::Heartbeat),
            EventBody::MysqlGtid { sid, gno, tag } => {
                self.in_txn = true;
                self.begun = false;
                self.rows = 0;
                let known = self
                    .mysql_sid
                    .as_ref()
                    .is_some_and(|m| m.sid == sid && m.tag == tag);
                if !known {
                    let key = gtid_key(&sid, tag.as_deref());
                    self.mysql_sid = Some(MysqlSid { sid, tag, key });
                }
                self.pending = Some(PendingGtid::Mysql(gno));
            }
            EventBody::MariadbGtid {
                domain,
                server,
                seq,
                standalone,
                ..
            } => {
                self.in_txn = true;
                self.begun = !standalone;
                self.rows = 0;
                self.pending = Some(PendingGtid::Mariadb(domain, server, seq));
            }
            EventBody::TableMap {
                table_id,
                table,
                columns,
                names,
            } => {
                self.tables.insert(table_id, (table, columns, names));
            }
            EventBody::Rows {
                kind,
                table_id,
                changes,
                ..
            } => {
                let (table, columns, names) =
                    self.tables.get(&table_id).cloned().ok_or_else(|| {
                        err(format!("rows event for unknown table id {table_id}"))
                    })?;
                if !self.in_txn {
                    // Row events without BEGIN (should not happen): treat as a transaction.
                    self.in_txn = true;
                    self.begun = true;
                }
                for change in changes {
                    self.rows += 1;
                    if self.rows <= self.skip_first {
                        continue;
                    }
                    out.push(Item::Row {
                        table: table.clone(),
                        columns,
                        names: names.clone(),
                        kind,
                        change,
                        rows: self.rows,
                        timestamp: ev.timestamp,
                        target: None,
                    });
                }
            }
            EventBody::Xid { .. } => {
                self.end_txn(ev.pos);
                out.push(Item::Commit {
                    point: self.point(),
                    timestamp: ev.timestamp,
                });
            }
            EventBody::Query {
                schema,
                sql,
                status_vars,
                ..
            } => {
                let trimmed = sql.trim();
                if trimmed.eq_ignore_ascii_case("BEGIN") {
                    self.in_txn = true;
                    self.begun = true;
                    self.rows = 0;
                } else if trimmed.eq_ignore_ascii_case("COMMIT")
                    || trimmed.eq_ignore_ascii_case("ROLLBACK")
                {
                    self.end_txn(ev.pos);
                    out.push(Item::Commit {
                        point: self.point(),
                        timestamp: ev.timestamp,
                    });
                } else if self.begun {
                    // A statement inside a transaction (e.g. SAVEPOINT): nothing to apply.
                } else {
                    let before = self.point();
                    self.end_txn(ev.pos);
                    out.push(Item::Statement {
                        schema,
                        sql,
                        sql_mode: crate::ddl::binlog_sql_mode(&status_vars),
                        before: Box::new(before),
                        point: Box::new(self.point()),
                        timestamp: ev.timestamp,
                    });
                }
            }
            EventBody::FormatDescription { .. } | EventBody::Other { .. } => {
                if !self.in_txn
                    && !ev.artificial
                    && ev.pos.name == self.boundary.name
                    && ev.pos.pos > self.boundary.pos
                {
                    self.boundary = ev.pos;
                    out.push(Item::Advance {
                        point: self.point(),
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::RowValue;
    use bytes::Bytes;

    #[test]
    fn an_item_is_no_larger_than_a_row_change_item() {
        // Every item is as large as the largest kind, and the reader moves millions of them
        // a second: the rare statement keeps its points boxed.
        let row = std::mem::size_of::<RowChange>() + 64;
        assert!(
            std::mem::size_of::<Item>() <= row,
            "{} bytes",
            std::mem::size_of::<Item>()
        );
    }

    fn pos(p: u64) -> BinlogPosition {
        BinlogPosition::new("bin.000001", p).unwrap()
    }

    fn ev(p: u64, body: EventBody) -> SourceEvent {
        SourceEvent {
            pos: pos(p),
            timestamp: 7,
            server_id: 1,
            artificial: false,
            body,
        }
    }

    fn query(sql: &str) -> EventBody {
        EventBody::Query {
            schema: "db".into(),
            sql: sql.into(),
            error_code: 0,
            status_vars: Bytes::new(),
        }
    }

    fn rows(n: i64) -> EventBody {
        EventBody::Rows {
            kind: RowsKind::Insert,
            table_id: 5,
            rows: n as usize,
            stmt_end: true,
            changes: (0..n)
                .map(|i| RowChange {
                    before: None,
                    after: Some(vec![RowValue::Int(i)]),
                })
                .collect(),
            raw: Bytes::new(),
        }
    }

    fn map() -> EventBody {
        EventBody::TableMap {
            table_id: 5,
            table: Arc::new(TableName::new("db", "t")),
            columns: 1,
            names: None,
        }
    }

    fn txn(c: &mut Cursor, start: u64, n: i64, out: &mut Vec<Item>) {
        c.feed(ev(start + 10, query("BEGIN")), out).unwrap();
        c.feed(ev(start + 20, map()), out).unwrap();
        c.feed(ev(start + 30, rows(n)), out).unwrap();
        c.feed(ev(start + 40, EventBody::Xid { xid: 1 }), out)
            .unwrap();
    }

    #[test]
    fn rows_carry_points_inside_their_transaction_and_commits_end_it() {
        let mut c = Cursor::new(&SyncPoint {
            pos: pos(100),
            gtid: None,
            skip_rows: 0,
        });
        let mut out = Vec::new();
        txn(&mut c, 100, 3, &mut out);
        assert_eq!(out.len(), 4);
        match &out[1] {
            Item::Row { rows, table, .. } => {
                assert_eq!(c.point().pos, pos(140), "the commit moved the boundary");
                assert_eq!(*rows, 2);
                assert_eq!(**table, TableName::new("db", "t"));
            }
            other => panic!("{other:?}"),
        }
        match &out[3] {
            Item::Commit { point, .. } => {
                assert_eq!(point.pos, pos(140));
                assert_eq!(point.skip_rows, 0);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn resuming_inside_a_transaction_skips_the_applied_changes_once() {
        let mut c = Cursor::new(&SyncPoint {
            pos: pos(100),
            gtid: None,
            skip_rows: 2,
        });
        let mut out = Vec::new();
        txn(&mut c, 100, 3, &mut out);
        txn(&mut c, 140, 3, &mut out);
        let rows: Vec<u64> = out
            .iter()
            .filter_map(|i| match i {
                Item::Row { rows, .. } => Some(*rows),
                _ => None,
            })
            .collect();
        assert_eq!(rows, vec![3, 1, 2, 3]);
    }

    #[test]
    fn ddl_after_a_gtid_is_a_statement_and_gtids_accumulate() {
        let mut c = Cursor::new(&SyncPoint {
            pos: pos(100),
            gtid: Some(GtidSet::parse_mariadb("0-1-5").unwrap()),
            skip_rows: 0,
        });
        let mut out = Vec::new();
        c.feed(
            ev(
                120,
                EventBody::MariadbGtid {
                    domain: 0,
                    server: 1,
                    seq: 6,
                    standalone: true,
                    flags: 1,
                },
            ),
            &mut out,
        )
        .unwrap();
        c.feed(ev(150, query("ALTER TABLE t ADD c INT")), &mut out)
            .unwrap();
        match &out[0] {
            Item::Statement {
                before, point, sql, ..
            } => {
                assert_eq!(before.pos, pos(100));
                assert_eq!(point.pos, pos(150));
                assert_eq!(point.gtid.as_ref().unwrap().to_string(), "0-1-6");
                assert!(sql.starts_with("ALTER"));
            }
            other => panic!("{other:?}"),
        }
        // A non-standalone MariaDB GTID opens a transaction without BEGIN.
        c.feed(
            ev(
                170,
                EventBody::MariadbGtid {
                    domain: 0,
                    server: 1,
                    seq: 7,
                    standalone: false,
                    flags: 0,
                },
            ),
            &mut out,
        )
        .unwrap();
        c.feed(ev(180, map()), &mut out).unwrap();
        c.feed(ev(190, rows(1)), &mut out).unwrap();
        c.feed(ev(200, EventBody::Xid { xid: 2 }), &mut out)
            .unwrap();
        assert!(matches!(&out[2], Item::Commit { point, .. }
            if point.gtid.as_ref().unwrap().to_string() == "0-1-7" && point.pos == pos(200)));
    }

    #[test]
    fn mysql_gtids_of_several_servers_and_tags_accumulate() {
        let mut c = Cursor::new(&SyncPoint {
            pos: pos(100),
            gtid: None,
            skip_rows: 0,
        });
        let mut out = Vec::new();
        let (a, b) = ([0x11u8; 16], [0x22u8; 16]);
        let gtids: [([u8; 16], Option<&str>, u64); 6] = [
            (a, None, 1),
            (b, None, 7),
            (a, None, 2),
            (a, Some("Tag"), 3),
            (a, None, 4),
            (b, None, 8),
        ];
        let mut want = GtidSet::Mysql(Default::default());
        for (n, (sid, tag, gno)) in gtids.into_iter().enumerate() {
            let at = 200 + 10 * n as u64;
            let g = EventBody::MysqlGtid {
                sid,
                gno,
                tag: tag.map(str::to_string),
            };
            c.feed(ev(at + 1, g), &mut out).unwrap();
            c.feed(ev(at + 2, query("BEGIN")), &mut out).unwrap();
            c.feed(ev(at + 3, EventBody::Xid { xid: 1 }), &mut out)
                .unwrap();
            want.add_mysql(&gtid_key(&sid, tag), gno);
            assert_eq!(c.point().gtid.as_ref(), Some(&want));
        }
        assert_eq!(
            want.to_string(),
            "11111111-1111-1111-1111-111111111111:1-2:4,\
             11111111-1111-1111-1111-111111111111:tag:3,\
             22222222-2222-2222-2222-222222222222:7-8"
        );
    }

    #[test]
    fn rows_of_an_unknown_table_are_an_error() {
        let mut c = Cursor::new(&SyncPoint {
            pos: pos(4),
            gtid: None,
            skip_rows: 0,
        });
        let mut out = Vec::new();
        c.feed(ev(10, query("BEGIN")), &mut out).unwrap();
        let e = c.feed(ev(20, rows(1)), &mut out).unwrap_err();
        assert!(e.what.contains("unknown table id 5"), "{e}");
    }

    #[test]
    fn rotate_moves_the_boundary_to_the_next_file() {
        let mut c = Cursor::new(&SyncPoint {
            pos: pos(500),
            gtid: None,
            skip_rows: 0,
        });
        let mut out = Vec::new();
        c.feed(
            ev(
                520,
                EventBody::Rotate {
                    next: BinlogPosition::new("bin.000002", 4).unwrap(),
                },
            ),
            &mut out,
        )
        .unwrap();
        assert_eq!(c.point().pos.to_string(), "(bin.000002, 4)");
    }
}
