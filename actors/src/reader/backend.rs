//! Backend selection: [`Backend`] names the binlog client of a source (its
//! `binlog-backend` setting) and [`AnySource`] holds either backend behind one type.

use ferry_model::BinlogPosition;

use super::{
    BinlogSource, ConnectorSource, MysqlAsyncSource, ReaderError, ReaderOptions, SourceEvent,
    StartFrom,
};
use crate::db::{Endpoint, ServerInfo};

/// The binlog client of a source: `mysql_async` (the default, also spelled `default`) or
/// `connector`. Parsed with [`std::str::FromStr`]; the same type as the source setting
/// `binlog-backend`.
pub use ferry_config::BinlogBackend as Backend;

/// A binlog stream from either backend.
#[derive(Debug)]
pub enum AnySource {
    /// The default backend.
    MysqlAsync(Box<MysqlAsyncSource>),
    /// The `mysql-binlog-connector-rust` backend.
    Connector(ConnectorSource),
}

impl AnySource {
    /// Connects to `ep` with `backend` and starts streaming at `start` (see
    /// [`MysqlAsyncSource::start`] and [`ConnectorSource::start`], which refuses what it
    /// cannot serve).
    pub async fn start(
        backend: Backend,
        ep: &Endpoint,
        start: impl Into<StartFrom>,
        opts: ReaderOptions,
    ) -> Result<Self, ReaderError> {
        Ok(match backend {
            Backend::MysqlAsync => {
                AnySource::MysqlAsync(Box::new(MysqlAsyncSource::start(ep, start, opts).await?))
            }
            Backend::Connector => {
                AnySource::Connector(ConnectorSource::start(ep, start, opts).await?)
            }
        })
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        match self {
            AnySource::MysqlAsync(_) => Backend::MysqlAsync,
            AnySource::Connector(_) => Backend::Connector,
        }
    }

    /// The upstream as detected when connecting.
    pub fn server(&self) -> &ServerInfo {
        match self {
            AnySource::MysqlAsync(s) => s.server(),
            AnySource::Connector(s) => s.server(),
        }
    }

    /// Position after the last event returned (the start position before the first).
    pub fn position(&self) -> &BinlogPosition {
        match self {
            AnySource::MysqlAsync(s) => s.position(),
            AnySource::Connector(s) => s.position(),
        }
    }

    /// Closes the connection.
    pub async fn close(self) {
        match self {
            AnySource::MysqlAsync(s) => (*s).close().await,
            AnySource::Connector(s) => s.close().await,
        }
    }
}

impl BinlogSource for AnySource {
    async fn next_event(&mut self) -> Result<Option<SourceEvent>, ReaderError> {
        match self {
            AnySource::MysqlAsync(s) => s.next_event().await,
            AnySource::Connector(s) => s.next_event().await,
        }
    }
}
