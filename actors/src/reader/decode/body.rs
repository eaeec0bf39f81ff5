//! Event bodies: the driver's parsed event data (row images included) into [`EventBody`].

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use bytes::Bytes;
use ferry_model::{BinlogPosition, TableName};
use mysql_async::binlog::events::{Event, EventData, RowsEventData, TableMapEvent};
use mysql_async::binlog::BinlogChecksumAlg;

use super::{
    parse, EventDecoder, MappedTable, Scratch, FL_STANDALONE, HEARTBEAT_V2, MARIADB_GTID_EVENT,
    MAX_MAPPED_TABLES,
};
use crate::reader::rows::{decode_rows, TablePlan};
use crate::reader::{EventBody, ReaderError, RowsKind};

impl EventDecoder {
    pub(super) fn body(&mut self, event: &Event, type_code: u8) -> Result<EventBody, ReaderError> {
        if type_code == MARIADB_GTID_EVENT {
            return decode_mariadb_gtid(event.data(), event.header().server_id())
                .ok_or_else(|| self.err(type_code, "MariaDB GTID event too short"));
        }
        if type_code == HEARTBEAT_V2 {
            return Ok(EventBody::Heartbeat);
        }
        let data = match parse(|| event.read_data()) {
            Ok(d) => d,
            Err(e) => {
                // The driver may have taken a table map this decoder could not read: forget
                // what was derived from table maps rather than risk a stale one.
                self.scratch.tables.clear();
                return Err(self.err(type_code, e));
            }
        };
        let Some(data) = data else {
            return Ok(EventBody::Other { type_code });
        };
        Ok(match data {
            EventData::RotateEvent(r) => {
                let next = BinlogPosition::new(r.name().into_owned(), r.position())
                    .map_err(|e| self.err(type_code, e))?;
                EventBody::Rotate { next }
            }
            EventData::FormatDescriptionEvent(f) => EventBody::FormatDescription {
                server_version: f.server_version().trim_end_matches('\0').to_string(),
                crc32: matches!(
                    f.footer().get_checksum_alg(),
                    Ok(Some(BinlogChecksumAlg::BINLOG_CHECKSUM_ALG_CRC32))
                ),
            },
            EventData::QueryEvent(q) => EventBody::Query {
                schema: q.schema().into_owned(),
                sql: q.query().into_owned(),
                error_code: q.error_code(),
                status_vars: Bytes::copy_from_slice(q.status_vars_raw()),
            },
            EventData::XidEvent(x) => EventBody::Xid { xid: x.xid },
            EventData::TableMapEvent(t) => self.table_map(t.into_owned(), event.data()),
            EventData::RowsEvent(r) => {
                rows_body(&mut self.scratch, self.decode_rows, &r, event.data(), None)
                    .map_err(|e| self.err(type_code, e))?
            }
            EventData::GtidEvent(g) => EventBody::MysqlGtid {
                sid: g.sid(),
                gno: g.gno(),
                tag: g.tag().map(|t| t.to_string()),
            },
            EventData::HeartbeatEvent => EventBody::Heartbeat,
            _ => EventBody::Other { type_code },
        })
    }

    /// The body of table map `t` (event data `map`), remembered for the rows events that
    /// follow it.
    pub(super) fn table_map(&mut self, t: TableMapEvent<'static>, map: &[u8]) -> EventBody {
        let id = t.table_id();
        if let Some(body) = self.remembered_map(id, map) {
            return body;
        }
        if self.scratch.tables.len() >= MAX_MAPPED_TABLES {
            self.scratch.tables.clear();
        }
        let names = column_names(&t);
        let table = Arc::new(TableName::new(t.database_name(), t.table_name()));
        let body = EventBody::TableMap {
            table_id: id,
            table: table.clone(),
            columns: t.columns_count(),
            names: names.clone(),
        };
        self.scratch.tables.insert(
            id,
            MappedTable {
                map: map.to_vec(),
                tme: t,
                table,
                names,
                plan: None,
            },
        );
        body
    }

    /// The body of table map `map` of table id `id` when the id is mapped by the same bytes
    /// as last time (every transaction maps its tables again): nothing to parse.
    pub(super) fn remembered_map(&self, id: u64, map: &[u8]) -> Option<EventBody> {
        let m = self.scratch.tables.get(&id).filter(|m| m.map == map)?;
        Some(EventBody::TableMap {
            table_id: id,
            table: m.table.clone(),
            columns: m.tme.columns_count(),
            names: m.names.clone(),
        })
    }
}

/// The rows of rows event `r` (event data `data`, a slice of `owner` when given) into
/// [`EventBody::Rows`], by the table map remembered in `scratch`; errors are the reasons of
/// [`EventDecoder::err`]. Free of the decoder (its parts are passed) so that `r` may borrow
/// the decoder's format description.
pub(super) fn rows_body(
    scratch: &mut Scratch,
    decode: bool,
    r: &RowsEventData<'_>,
    data: &[u8],
    owner: Option<&Bytes>,
) -> Result<EventBody, String> {
    let kind = match r {
        RowsEventData::WriteRowsEventV1(_) | RowsEventData::WriteRowsEvent(_) => RowsKind::Insert,
        RowsEventData::UpdateRowsEventV1(_)
        | RowsEventData::UpdateRowsEvent(_)
        | RowsEventData::PartialUpdateRowsEvent(_) => RowsKind::Update,
        RowsEventData::DeleteRowsEventV1(_) | RowsEventData::DeleteRowsEvent(_) => RowsKind::Delete,
    };
    let table_id = r.table_id();
    let stmt_end = r
        .flags()
        .contains(mysql_async::binlog::RowsEventFlags::STMT_END);
    if !decode {
        return Ok(EventBody::Rows {
            kind,
            table_id,
            rows: 0,
            stmt_end,
            changes: Vec::new(),
            raw: Bytes::new(),
        });
    }
    let Scratch {
        tables,
        before,
        after,
    } = scratch;
    let mapped = tables
        .get_mut(&table_id)
        .ok_or_else(|| format!("no table map for id {table_id}"))?;
    let tme = &mapped.tme;
    // Only for errors: not built for every event.
    let table = || {
        format!(
            "`{}`.`{}` (table id {table_id})",
            tme.database_name(),
            tme.table_name()
        )
    };
    let shared = matches!(r, RowsEventData::PartialUpdateRowsEvent(_));
    // The column plan of the table map, made once per table map.
    let cached = mapped.plan.clone();
    // The driver indexes column metadata without bounds checks in places: a malformed
    // event must not bring the process down.
    let decoded = catch_unwind(AssertUnwindSafe(|| {
        if r.num_columns() != tme.columns_count() {
            return Err(format!(
                "the rows event has {} columns, its table map {}",
                r.num_columns(),
                tme.columns_count()
            ));
        }
        let plan = match cached {
            Some(p) => p,
            None => Arc::new(TablePlan::new(tme)?),
        };
        let before = r.columns_before_image().map(|b| {
            before.clear();
            before.extend(b.iter().map(|x| *x));
            &before[..]
        });
        let after = r.columns_after_image().map(|b| {
            after.clear();
            after.extend(b.iter().map(|x| *x));
            &after[..]
        });
        decode_rows(&plan, r.rows_data(), before, after, shared).map(|rows| (rows, plan))
    }));
    let changes = match decoded {
        Ok(Ok((c, plan))) => {
            mapped.plan.get_or_insert(plan);
            c
        }
        Ok(Err(e)) => return Err(format!("{}: {e}", table())),
        Err(_) => return Err(format!("{}: malformed rows event", table())),
    };
    Ok(EventBody::Rows {
        kind,
        table_id,
        rows: changes.len(),
        changes,
        stmt_end,
        raw: match owner {
            Some(o) => o.slice_ref(data),
            None => Bytes::copy_from_slice(data),
        },
    })
}

/// Decodes a MariaDB GTID event body: `seq_no u64 LE | domain_id u32 LE | flags u8 | ...`.
pub(in crate::reader) fn decode_mariadb_gtid(data: &[u8], server: u32) -> Option<EventBody> {
    let seq = u64::from_le_bytes(data.get(0..8)?.try_into().ok()?);
    let domain = u32::from_le_bytes(data.get(8..12)?.try_into().ok()?);
    let flags = *data.get(12)?;
    Some(EventBody::MariadbGtid {
        domain,
        server,
        seq,
        standalone: flags & FL_STANDALONE != 0,
        flags,
    })
}

/// The column names of a table map's optional metadata (`binlog_row_metadata=FULL`).
fn column_names(t: &mysql_common::binlog::events::TableMapEvent<'_>) -> Option<Arc<[String]>> {
    use mysql_common::binlog::events::OptionalMetadataField;
    t.iter_optional_meta().find_map(|f| match f {
        Ok(OptionalMetadataField::ColumnName(names)) => names
            .iter_names()
            .map(|n| n.ok().map(|n| n.name().into_owned()))
            .collect::<Option<Vec<String>>>()
            .map(Arc::from),
        _ => None,
    })
}
