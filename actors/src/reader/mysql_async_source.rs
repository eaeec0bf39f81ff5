//! [`BinlogSource`] over `mysql_async`'s binlog stream (the default backend).
//!
//! What is added on top of the driver:
//! - MariaDB: `@mariadb_slave_capability=4`, so GTID events are sent as such (not rewritten
//!   into `BEGIN` queries), and their hand decoding (type 162);
//! - CRC32 verification of every checksummed event (the driver keeps the checksum only);
//! - 64-bit positions (the header's `log_pos` is 32-bit and wraps past 4 GiB);
//! - a heartbeat period and a read deadline derived from it.

use std::time::Duration;

use bytes::Bytes;
use ferry_model::{BinlogPosition, GtidSet};
use futures::StreamExt;
use mysql_async::binlog::events::{Event, EventData, RowsEventData};
use mysql_async::binlog::{BinlogChecksumAlg, EventFlags, EventType};
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStream, BinlogStreamRequest, Sid};

use super::value::convert_row;
use super::{BinlogSource, EventBody, ReaderError, RowChange, RowsKind, SourceEvent, StartFrom};
use crate::db::{Endpoint, Flavor, ServerInfo};

/// MariaDB `GTID_EVENT`.
const MARIADB_GTID_EVENT: u8 = 162;
/// MySQL `HEARTBEAT_LOG_EVENT_V2` (not decoded by the driver).
const HEARTBEAT_V2: u8 = 0x29;
/// MariaDB GTID flag: the group is a single statement without `COMMIT`/XID.
const FL_STANDALONE: u8 = 1;

/// How to open the stream.
#[derive(Debug, Clone)]
pub struct ReaderOptions {
    /// Server id announced to the upstream; must differ from every other replica's.
    pub server_id: u32,
    /// Heartbeat period asked of the upstream (it sends a heartbeat when idle that long).
    pub heartbeat: Duration,
    /// `next_event` fails (transient) when nothing arrives for this long; zero disables it.
    /// Should be a few heartbeat periods.
    pub read_timeout: Duration,
    /// Verify CRC32 checksums when the upstream writes them.
    pub verify_checksum: bool,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        Self {
            server_id: 429_496_729,
            heartbeat: Duration::from_secs(30),
            read_timeout: Duration::from_secs(90),
            verify_checksum: true,
        }
    }
}

/// Binlog events of one upstream through `mysql_async`.
pub struct MysqlAsyncSource {
    stream: BinlogStream,
    addr: String,
    info: ServerInfo,
    opts: ReaderOptions,
    /// Position after the last event.
    pos: BinlogPosition,
    /// A format description event was seen (before it, the driver does not know whether
    /// events end with a checksum).
    seen_fde: bool,
}

impl std::fmt::Debug for MysqlAsyncSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MysqlAsyncSource")
            .field("addr", &self.addr)
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

impl MysqlAsyncSource {
    /// Connects to `ep` and starts streaming at `start`: a file and an event boundary in it,
    /// or the first transaction missing from a GTID set (then [`Self::position`] has an empty
    /// file name until the first rotate).
    pub async fn start(
        ep: &Endpoint,
        start: impl Into<StartFrom>,
        opts: ReaderOptions,
    ) -> Result<Self, ReaderError> {
        let start = start.into();
        let mut conn = ep.connect(vec![]).await?;
        let info = ServerInfo::detect(&mut conn, ep).await?;
        let period_ns = u64::try_from(opts.heartbeat.as_nanos()).unwrap_or(u64::MAX);
        let mut setup = vec![
            // MySQL ≥ 8.0.26 reads `source_*`, older ones and MariaDB read `master_*`.
            format!("SET @master_heartbeat_period = {period_ns}"),
            format!("SET @source_heartbeat_period = {period_ns}"),
        ];
        if info.flavor == Flavor::Mariadb {
            // 4 = MARIA_SLAVE_CAPABILITY_GTID: GTID events are sent as they are.
            setup.push("SET @mariadb_slave_capability = 4".to_string());
        }
        let file = match &start {
            StartFrom::Position(p) => p.name.clone(),
            StartFrom::Gtid(_) => String::new(),
        };
        let mut req = BinlogStreamRequest::new(opts.server_id);
        let start = match start {
            StartFrom::Position(p) => {
                req = req.with_filename(file.as_bytes()).with_pos(p.pos);
                p
            }
            StartFrom::Gtid(gtid) => {
                let bad = |reason: String| ReaderError::Decode {
                    addr: ep.addr(),
                    pos: unknown_position(),
                    type_code: 0,
                    reason: format!("cannot start from GTID set {gtid}: {reason}"),
                };
                match (&gtid, info.flavor) {
                    (GtidSet::Mariadb(_), Flavor::Mariadb) => {
                        setup.push(format!("SET @slave_connect_state = '{gtid}'"));
                        setup.push("SET @slave_gtid_strict_mode = 1".to_string());
                        req = req.with_pos(4);
                    }
                    (GtidSet::Mysql(m), Flavor::Mysql) => {
                        req = req
                            .with_gtid()
                            .with_gtid_set(mysql_sids(m).map_err(bad)?)
                            .with_pos(4);
                    }
                    _ => return Err(bad(format!("not a {:?} GTID set", info.flavor))),
                }
                unknown_position()
            }
        };
        for stmt in &setup {
            conn.query_drop(stmt.as_str())
                .await
                .map_err(ep.sql_err(stmt.clone()))?;
        }
        let stream = conn
            .get_binlog_stream(req)
            .await
            .map_err(|source| ReaderError::Stream {
                addr: ep.addr(),
                pos: start.clone(),
                source: Box::new(source),
            })?;
        Ok(Self {
            stream,
            addr: ep.addr(),
            info,
            opts,
            pos: start,
            seen_fde: false,
        })
    }

    /// The upstream as detected when connecting.
    pub fn server(&self) -> &ServerInfo {
        &self.info
    }

    /// Position after the last event returned (the start position before the first).
    pub fn position(&self) -> &BinlogPosition {
        &self.pos
    }

    /// Closes the connection.
    pub async fn close(self) {
        let _ = self.stream.close().await;
    }

    async fn read(&mut self) -> Result<Option<SourceEvent>, ReaderError> {
        let next = if self.opts.read_timeout.is_zero() {
            self.stream.next().await
        } else {
            match tokio::time::timeout(self.opts.read_timeout, self.stream.next()).await {
                Ok(n) => n,
                Err(_) => {
                    return Err(ReaderError::Timeout {
                        addr: self.addr.clone(),
                        pos: self.pos.clone(),
                        secs: self.opts.read_timeout.as_secs(),
                    })
                }
            }
        };
        let event = match next {
            None => return Ok(None),
            Some(Err(source)) => {
                return Err(ReaderError::Stream {
                    addr: self.addr.clone(),
                    pos: self.pos.clone(),
                    source: Box::new(source),
                })
            }
            Some(Ok(e)) => e,
        };
        self.normalize(&event).map(Some)
    }

    fn decode_err(&self, type_code: u8, reason: impl std::fmt::Display) -> ReaderError {
        ReaderError::Decode {
            addr: self.addr.clone(),
            pos: self.pos.clone(),
            type_code,
            reason: reason.to_string(),
        }
    }

    /// Verifies the checksum, advances the position and converts the event.
    fn normalize(&mut self, event: &Event) -> Result<SourceEvent, ReaderError> {
        let header = event.header();
        let type_code = header.event_type_raw();
        let footer = event.footer();
        // Events unpacked from a compressed transaction payload carry no checksum and share
        // the position of the payload event, which covers them.
        let inner = !footer.get_checksum_enabled();
        let artificial = header.log_pos() == 0
            || header.flags().contains(EventFlags::LOG_EVENT_ARTIFICIAL_F)
            || type_code == EventType::HEARTBEAT_EVENT as u8
            || type_code == HEARTBEAT_V2;

        let crc32 = matches!(
            footer.get_checksum_alg(),
            Ok(Some(BinlogChecksumAlg::BINLOG_CHECKSUM_ALG_CRC32))
        );
        if self.opts.verify_checksum && crc32 && !inner {
            if let Some(stored) = event.checksum() {
                let stored = u32::from_le_bytes(stored);
                let computed = event.calc_checksum(BinlogChecksumAlg::BINLOG_CHECKSUM_ALG_CRC32);
                if stored != computed {
                    return Err(ReaderError::Checksum {
                        addr: self.addr.clone(),
                        pos: self.advance(header.event_size(), header.log_pos()),
                        type_code,
                        stored,
                        computed,
                    });
                }
            }
        }

        let body = if type_code == EventType::ROTATE_EVENT as u8 && !self.seen_fde {
            self.first_rotate(event)?
        } else {
            self.body(event, type_code)?
        };
        if type_code == EventType::FORMAT_DESCRIPTION_EVENT as u8 {
            self.seen_fde = true;
        }
        if let EventBody::Rotate { next } = &body {
            self.pos = next.clone();
        } else if !artificial && !inner {
            self.pos = self.advance(header.event_size(), header.log_pos());
        }
        Ok(SourceEvent {
            pos: self.pos.clone(),
            timestamp: header.timestamp(),
            server_id: header.server_id(),
            artificial,
            body,
        })
    }

    /// Position after an event of `size` bytes whose header says it ends at `log_pos`
    /// (32-bit): `pos + size` when it agrees, else `log_pos` with the high bits of `pos`.
    fn advance(&self, size: u32, log_pos: u32) -> BinlogPosition {
        let cur = self.pos.pos;
        let mut next = cur + u64::from(size);
        if next as u32 != log_pos {
            next = (cur & !0xFFFF_FFFF) | u64::from(log_pos);
            if next < cur {
                next += 1 << 32;
            }
        }
        BinlogPosition {
            name: self.pos.name.clone(),
            pos: next,
        }
    }

    /// The (fake) rotate the server sends before the format description: the driver cannot
    /// know yet whether it ends with a CRC32 (MariaDB appends one), so it is decoded here:
    /// `position u64 LE | file name [| crc32]`, the CRC being recognized by its value.
    fn first_rotate(&self, event: &Event) -> Result<EventBody, ReaderError> {
        let code = EventType::ROTATE_EVENT as u8;
        let data = event.data();
        let mut name = data
            .get(8..)
            .ok_or_else(|| self.decode_err(code, "rotate event too short"))?;
        if name.len() > 4 {
            let (body, crc) = data.split_at(data.len() - 4);
            let h = event.header();
            let mut bytes = Vec::with_capacity(19 + body.len());
            bytes.extend_from_slice(&h.timestamp().to_le_bytes());
            bytes.push(h.event_type_raw());
            bytes.extend_from_slice(&h.server_id().to_le_bytes());
            bytes.extend_from_slice(&h.event_size().to_le_bytes());
            bytes.extend_from_slice(&h.log_pos().to_le_bytes());
            bytes.extend_from_slice(&h.flags_raw().to_le_bytes());
            bytes.extend_from_slice(body);
            if crc32(&bytes).to_le_bytes() == crc {
                name = &name[..name.len() - 4];
            }
        }
        let pos = u64::from_le_bytes(data[..8].try_into().unwrap_or_default());
        let name = String::from_utf8_lossy(name).into_owned();
        let next = BinlogPosition::new(name, pos).map_err(|e| self.decode_err(code, e))?;
        Ok(EventBody::Rotate { next })
    }

    fn body(&self, event: &Event, type_code: u8) -> Result<EventBody, ReaderError> {
        if type_code == MARIADB_GTID_EVENT {
            return decode_mariadb_gtid(event.data(), event.header().server_id())
                .ok_or_else(|| self.decode_err(type_code, "MariaDB GTID event too short"));
        }
        if type_code == HEARTBEAT_V2 {
            return Ok(EventBody::Heartbeat);
        }
        let data = event
            .read_data()
            .map_err(|e| self.decode_err(type_code, e))?;
        let Some(data) = data else {
            return Ok(EventBody::Other { type_code });
        };
        Ok(match data {
            EventData::RotateEvent(r) => {
                let next = BinlogPosition::new(r.name().into_owned(), r.position())
                    .map_err(|e| self.decode_err(type_code, e))?;
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
            EventData::TableMapEvent(t) => EventBody::TableMap {
                table_id: t.table_id(),
                schema: t.database_name().into_owned(),
                table: t.table_name().into_owned(),
                columns: t.columns_count(),
            },
            EventData::RowsEvent(r) => self.rows(&r, event, type_code)?,
            EventData::GtidEvent(g) => EventBody::MysqlGtid {
                sid: g.sid(),
                gno: g.gno(),
            },
            EventData::HeartbeatEvent => EventBody::Heartbeat,
            _ => EventBody::Other { type_code },
        })
    }

    fn rows(
        &self,
        r: &RowsEventData<'_>,
        event: &Event,
        type_code: u8,
    ) -> Result<EventBody, ReaderError> {
        let kind = match r {
            RowsEventData::WriteRowsEventV1(_) | RowsEventData::WriteRowsEvent(_) => {
                RowsKind::Insert
            }
            RowsEventData::UpdateRowsEventV1(_)
            | RowsEventData::UpdateRowsEvent(_)
            | RowsEventData::PartialUpdateRowsEvent(_) => RowsKind::Update,
            RowsEventData::DeleteRowsEventV1(_) | RowsEventData::DeleteRowsEvent(_) => {
                RowsKind::Delete
            }
        };
        let table_id = r.table_id();
        let tme = self
            .stream
            .get_tme(table_id)
            .ok_or_else(|| self.decode_err(type_code, format!("no table map for id {table_id}")))?;
        let table = format!(
            "`{}`.`{}` (table id {table_id})",
            tme.database_name(),
            tme.table_name()
        );
        // The driver indexes column metadata without bounds checks in places: a malformed
        // event must not bring the process down.
        let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let n = usize::try_from(r.num_columns()).unwrap_or(usize::MAX);
            let mut changes = Vec::new();
            for (i, row) in r.rows(tme).enumerate() {
                let (before, after) = row.map_err(|e| format!("row {i}: {e}"))?;
                let before = before
                    .map(|b| {
                        let bits = r.columns_before_image().into_iter().flatten();
                        convert_row(b, bits.map(|b| *b), n)
                    })
                    .transpose()
                    .map_err(|e| format!("row {i}, before image, {e}"))?;
                let after = after
                    .map(|a| {
                        let bits = r.columns_after_image().into_iter().flatten();
                        convert_row(a, bits.map(|b| *b), n)
                    })
                    .transpose()
                    .map_err(|e| format!("row {i}, after image, {e}"))?;
                changes.push(RowChange { before, after });
            }
            Ok::<_, String>(changes)
        }));
        let changes = match decoded {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return Err(self.decode_err(type_code, format!("{table}: {e}"))),
            Err(_) => {
                return Err(self.decode_err(type_code, format!("{table}: malformed rows event")))
            }
        };
        Ok(EventBody::Rows {
            kind,
            table_id,
            rows: changes.len(),
            changes,
            stmt_end: r
                .flags()
                .contains(mysql_async::binlog::RowsEventFlags::STMT_END),
            raw: Bytes::copy_from_slice(event.data()),
        })
    }
}

/// The position before the first rotate of a stream started from a GTID set.
fn unknown_position() -> BinlogPosition {
    BinlogPosition {
        name: String::new(),
        pos: 4,
    }
}

/// A MySQL GTID set as the driver's `Sid`s (our intervals are closed, theirs half-open).
fn mysql_sids(
    set: &std::collections::BTreeMap<String, Vec<(u64, u64)>>,
) -> Result<Vec<Sid<'static>>, String> {
    let mut out = Vec::with_capacity(set.len());
    for (key, ivs) in set {
        let mut text = key.clone();
        for &(a, b) in ivs {
            if b == u64::MAX {
                return Err(format!("interval {a}-{b} of {key} is too large"));
            }
            text.push_str(&format!(":{a}-{b}"));
        }
        out.push(text.parse::<Sid<'static>>().map_err(|e| e.to_string())?);
    }
    Ok(out)
}

/// CRC-32 (IEEE, reflected), as binlog checksums use.
pub(super) fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Decodes a MariaDB GTID event body: `seq_no u64 LE | domain_id u32 LE | flags u8 | ...`.
pub(super) fn decode_mariadb_gtid(data: &[u8], server: u32) -> Option<EventBody> {
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

impl BinlogSource for MysqlAsyncSource {
    fn next_event(
        &mut self,
    ) -> impl std::future::Future<Output = Result<Option<SourceEvent>, ReaderError>> + Send {
        self.read()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_mariadb_gtid() {
        let mut d = Vec::new();
        d.extend_from_slice(&42u64.to_le_bytes());
        d.extend_from_slice(&7u32.to_le_bytes());
        d.push(FL_STANDALONE | 8);
        assert_eq!(
            decode_mariadb_gtid(&d, 3),
            Some(EventBody::MariadbGtid {
                domain: 7,
                server: 3,
                seq: 42,
                standalone: true,
                flags: 9
            })
        );
        assert_eq!(decode_mariadb_gtid(&d[..12], 3), None);
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
