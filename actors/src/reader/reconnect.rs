//! [`ReconnectingSource`]: a binlog source (either [`Backend`]) that reconnects after transient errors and
//! resumes right after the last event it passed on.

use std::time::Duration;

use ferry_model::BinlogPosition;

use super::{
    Backend, BinlogSource, ConnectorSource, EventDecoder, MysqlAsyncSource, RawEvent, ReaderError,
    ReaderOptions, SourceEvent, StartFrom, TxnTracker,
};
use crate::db::Endpoint;
use crate::error::Action;

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

/// The connection of a [`ReconnectingSource`].
#[derive(Debug)]
enum Inner {
    Mysql(Box<MysqlAsyncSource>),
    Connector(ConnectorSource),
}

/// Reads through [`MysqlAsyncSource`] (or [`ConnectorSource`] with
/// [`ReconnectingSource::with_backend`]), reconnecting on transient errors (and when the server
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
    src: Option<Inner>,
    /// Where a new connection starts: the start, then after the last complete transaction.
    resume: StartFrom,
    /// Position after the last real event passed on.
    last: Option<BinlogPosition>,
    /// Transaction boundaries of the events passed on.
    txn: TxnTracker,
    /// Connections made after the first.
    reconnects: u32,
    /// Events to drop after a reconnection.
    catching_up: bool,
    /// Decode row images (see [`EventDecoder::set_decode_rows`]).
    decode_rows: bool,
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
            txn: TxnTracker::default(),
            reconnects: 0,
            catching_up: false,
            decode_rows: true,
        }
    }

    /// Reads with `backend` instead of the default one (the connector backend cannot give
    /// raw events: [`Self::next_raw`] is refused with it).
    pub fn with_backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    /// See [`EventDecoder::set_decode_rows`]; applies to every connection (default backend).
    pub fn set_decode_rows(&mut self, on: bool) {
        self.decode_rows = on;
        if let Some(Inner::Mysql(src)) = self.src.as_mut() {
            src.set_decode_rows(on);
        }
    }

    /// Position after the last real event passed on.
    pub fn position(&self) -> Option<&BinlogPosition> {
        self.last.as_ref()
    }

    /// How many times the connection was made again.
    pub fn reconnects(&self) -> u32 {
        self.reconnects
    }

    /// True while inner events of a transaction payload remain to be returned (the stream
    /// cannot be handed over to another feed before they are).
    pub fn in_payload(&self) -> bool {
        matches!(&self.src, Some(Inner::Mysql(s)) if s.in_payload())
    }

    /// Returns the decoder that decoded the events passed on (its position, format
    /// description and table maps), to continue from another feed of the same binlog, and
    /// closes the connection in the background; `None` when not connected.
    pub fn into_decoder(mut self) -> Option<EventDecoder> {
        match self.src.take() {
            Some(Inner::Mysql(s)) => Some((*s).into_decoder()),
            _ => None,
        }
    }

    /// Closes the connection.
    pub async fn close(mut self) {
        match self.src.take() {
            Some(Inner::Mysql(s)) => (*s).close().await,
            Some(Inner::Connector(s)) => s.close().await,
            None => {}
        }
    }

    /// Connects (again), retrying with backoff the failures the policy retries
    /// ([`Action::Retry`]).
    async fn connect(&mut self, mut last_err: Option<ReaderError>) -> Result<(), ReaderError> {
        let mut delay = self.backoff.initial;
        for attempt in 0..self.backoff.attempts.max(1) {
            if last_err.is_some() || attempt > 0 {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(self.backoff.max);
            }
            let started = match self.backend {
                Backend::MysqlAsync => {
                    MysqlAsyncSource::start(&self.ep, self.resume.clone(), self.opts.clone())
                        .await
                        .map(|mut s| {
                            s.set_decode_rows(self.decode_rows);
                            Inner::Mysql(Box::new(s))
                        })
                }
                Backend::Connector => {
                    ConnectorSource::start(&self.ep, self.resume.clone(), self.opts.clone())
                        .await
                        .map(Inner::Connector)
                }
            };
            match started {
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
                Err(e) if e.action() == Action::Retry => {
                    tracing::warn!(upstream = %self.ep.addr(), error = %e, attempt, "binlog reconnect failed");
                    last_err = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| ReaderError::Timeout {
            addr: self.ep.addr(),
            pos: self.last.clone().unwrap_or_else(|| BinlogPosition {
                name: Default::default(),
                pos: 4,
            }),
            secs: 0,
        }))
    }

    /// The next event with its raw bytes (see [`MysqlAsyncSource::next_raw`]); refused with
    /// the connector backend.
    pub async fn next_raw(&mut self) -> Result<Option<RawEvent>, ReaderError> {
        if self.backend == Backend::Connector {
            return Err(ReaderError::Unsupported {
                addr: self.ep.addr(),
                backend: "connector",
                what: "raw events for the relay log (enable-relay)".to_string(),
            });
        }
        self.next_any().await
    }

    /// The next event (raw bytes only with the default backend).
    async fn next_any(&mut self) -> Result<Option<RawEvent>, ReaderError> {
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
            let next = match src {
                Inner::Mysql(s) => s.next_raw().await,
                Inner::Connector(s) => s
                    .next_event()
                    .await
                    .map(|e| e.map(|event| RawEvent { event, raw: None })),
            };
            let raw = match next {
                Ok(Some(raw)) => raw,
                Ok(None) => {
                    tracing::warn!(upstream = %self.ep.addr(), "binlog stream ended; reconnecting");
                    self.src = None;
                    pending = Some(self.ended());
                    continue;
                }
                Err(e) if e.action() == Action::Retry => {
                    tracing::warn!(upstream = %self.ep.addr(), error = %e, "binlog stream failed; reconnecting");
                    self.src = None;
                    pending = Some(e);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let ev = &raw.event;
            if self.catching_up {
                let caught_up = !ev.artificial && self.last.as_ref().is_none_or(|l| ev.pos > *l);
                if !caught_up {
                    continue;
                }
                self.catching_up = false;
            }
            if !ev.artificial {
                self.track(ev);
            }
            return Ok(Some(raw));
        }
    }

    /// The error reported when the stream ends (transient).
    fn ended(&self) -> ReaderError {
        ReaderError::Stream {
            addr: self.ep.addr(),
            pos: self.last.clone().unwrap_or_else(|| BinlogPosition {
                name: Default::default(),
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
        if self.txn.observe(&ev.body) {
            self.resume = StartFrom::Position(ev.pos.clone());
        }
        self.last = Some(ev.pos.clone());
    }
}

impl BinlogSource for ReconnectingSource {
    async fn next_event(&mut self) -> Result<Option<SourceEvent>, ReaderError> {
        Ok(self.next_any().await?.map(|r| r.event))
    }
}
