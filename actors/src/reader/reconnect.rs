//! [`ReconnectingSource`]: a binlog source (of either [`Backend`]) that reconnects after
//! transient errors and resumes right after the last event it passed on.

use std::time::Duration;

use ferry_model::BinlogPosition;

use super::StartFrom;
use super::{AnySource, Backend, BinlogSource, EventBody, ReaderError, ReaderOptions, SourceEvent};
use crate::db::Endpoint;

/// Reconnection delays: `initial`, doubled after each failed attempt up to `max`, for at most
/// `attempts` attempts per outage.
#[derive(Debug, Clone)]
pub struct Backoff {
    /// Delay before the first attempt.
    pub initial: Duration,
    /// Largest delay.
    pub max: Duration,
    /// Attempts before giving up (the last error is returned).
    pub attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(200),
            max: Duration::from_secs(10),
            attempts: 10,
        }
    }
}

/// Reads through an [`AnySource`] (the default backend unless [`Self::with_backend`]),
/// reconnecting on transient errors (and when the server
/// ends the stream, which a blocking dump never does normally).
///
/// A reconnection restarts at the last transaction boundary passed on (so that the table maps
/// of a transaction cut in the middle are read again) and drops the events up to the last one
/// passed on, and the artificial events met on the way: every real event is passed on exactly
/// once, in order.
#[derive(Debug)]
pub struct ReconnectingSource {
    ep: Endpoint,
    opts: ReaderOptions,
    backoff: Backoff,
    backend: Backend,
    src: Option<AnySource>,
    /// Where a new connection starts: the start, then after the last complete transaction.
    resume: StartFrom,
    /// Position after the last real event passed on.
    last: Option<BinlogPosition>,
    /// Inside a transaction (since its GTID or `BEGIN`).
    in_txn: bool,
    /// Inside a transaction opened by `BEGIN`.
    begun: bool,
    /// Connections made after the first.
    reconnects: u32,
    /// Events to drop after a reconnection.
    catching_up: bool,
}

impl ReconnectingSource {
    /// A source that connects on the first [`BinlogSource::next_event`].
    pub fn new(
        ep: Endpoint,
        start: impl Into<StartFrom>,
        opts: ReaderOptions,
        backoff: Backoff,
    ) -> Self {
        Self {
            ep,
            opts,
            backoff,
            backend: Backend::MysqlAsync,
            src: None,
            resume: start.into(),
            last: None,
            in_txn: false,
            begun: false,
            reconnects: 0,
            catching_up: false,
        }
    }

    /// Reads with `backend` instead of the default one.
    pub fn with_backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    /// Position after the last real event passed on.
    pub fn position(&self) -> Option<&BinlogPosition> {
        self.last.as_ref()
    }

    /// How many times the connection was made again.
    pub fn reconnects(&self) -> u32 {
        self.reconnects
    }

    /// Closes the connection.
    pub async fn close(mut self) {
        if let Some(src) = self.src.take() {
            src.close().await;
        }
    }

    /// Connects (again), retrying transient failures with backoff.
    async fn connect(&mut self, mut last_err: Option<ReaderError>) -> Result<(), ReaderError> {
        let mut delay = self.backoff.initial;
        for attempt in 0..self.backoff.attempts.max(1) {
            if last_err.is_some() || attempt > 0 {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(self.backoff.max);
            }
            let start = AnySource::start(
                self.backend,
                &self.ep,
                self.resume.clone(),
                self.opts.clone(),
            );
            match start.await {
                Ok(src) => {
                    if last_err.is_some() {
                        self.reconnects += 1;
                        self.catching_up = self.last.is_some();
                        tracing::info!(
                            upstream = %self.ep.addr(),
                            resume = ?self.resume,
                            "binlog stream reconnected"
                        );
                    }
                    self.src = Some(src);
                    return Ok(());
                }
                Err(e) if e.is_transient() => {
                    tracing::warn!(upstream = %self.ep.addr(), error = %e, attempt, "binlog reconnect failed");
                    last_err = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| ReaderError::Timeout {
            addr: self.ep.addr(),
            pos: self.last.clone().unwrap_or_else(|| BinlogPosition {
                name: String::new(),
                pos: 4,
            }),
            secs: 0,
        }))
    }

    async fn read(&mut self) -> Result<Option<SourceEvent>, ReaderError> {
        let mut pending: Option<ReaderError> = None;
        loop {
            if self.src.is_none() {
                let first = self.reconnects == 0 && self.last.is_none() && pending.is_none();
                self.connect(if first {
                    None
                } else {
                    Some(pending.take().unwrap_or_else(|| self.ended()))
                })
                .await?;
            }
            let Some(src) = self.src.as_mut() else {
                continue;
            };
            let ev = match src.next_event().await {
                Ok(Some(ev)) => ev,
                Ok(None) => {
                    tracing::warn!(upstream = %self.ep.addr(), "binlog stream ended; reconnecting");
                    self.src = None;
                    pending = Some(self.ended());
                    continue;
                }
                Err(e) if e.is_transient() => {
                    tracing::warn!(upstream = %self.ep.addr(), error = %e, "binlog stream failed; reconnecting");
                    self.src = None;
                    pending = Some(e);
                    continue;
                }
                Err(e) => return Err(e),
            };
            if self.catching_up {
                let caught_up = !ev.artificial && self.last.as_ref().is_none_or(|l| ev.pos > *l);
                if !caught_up {
                    continue;
                }
                self.catching_up = false;
            }
            if !ev.artificial {
                self.track(&ev);
            }
            return Ok(Some(ev));
        }
    }

    /// The error reported when the stream ends (transient).
    fn ended(&self) -> ReaderError {
        ReaderError::Stream {
            addr: self.ep.addr(),
            pos: self.last.clone().unwrap_or_else(|| BinlogPosition {
                name: String::new(),
                pos: 4,
            }),
            source: Box::new(mysql_async::Error::Driver(
                mysql_async::DriverError::ConnectionClosed,
            )),
        }
    }

    /// Follows transaction boundaries: after a real event outside any transaction, a new
    /// connection may start right there.
    fn track(&mut self, ev: &SourceEvent) {
        match &ev.body {
            EventBody::MysqlGtid { .. } | EventBody::MariadbGtid { .. } => {
                self.in_txn = true;
                self.begun = false;
            }
            EventBody::TableMap { .. } | EventBody::Rows { .. } => self.in_txn = true,
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
            self.resume = StartFrom::Position(ev.pos.clone());
        }
        self.last = Some(ev.pos.clone());
    }
}

impl BinlogSource for ReconnectingSource {
    fn next_event(
        &mut self,
    ) -> impl std::future::Future<Output = Result<Option<SourceEvent>, ReaderError>> + Send {
        self.read()
    }
}
