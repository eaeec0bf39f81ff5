//! Ferry's own binlog dump connection: log in, set the session up, register as a replica,
//! ask for the binlog, then read event packets straight into one buffer.
//!
//! Why not the driver's binlog stream: `mysql_async` parses every event into its own types
//! (a copy of the event, a copy of the format description, each table map parsed and kept)
//! and Ferry then rebuilds the raw bytes to decode them its own way and to store them in the
//! relay log: three copies and a dozen allocations per event, a quarter of ferryd's CPU in a
//! catch-up (BENCHMARKS.md). Here an event is a [`Bytes`] slice of the buffer the socket
//! filled: no copy, no allocation per event, and one clock read per socket read instead of
//! one per event for the idle deadline.
//!
//! What it does not do is left to the driver ([`OpenError::Unsupported`]): TLS and
//! authentication plugins other than `mysql_native_password` and `caching_sha2_password`.
//! Errors are the driver's types ([`mysql_async::Error`]), so they are classified (retry or
//! pause, DM's workaround text) exactly as the driver's are.

mod auth;
mod frame;

use std::borrow::Cow;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use mysql_common::constants::CapabilityFlags;
use mysql_common::io::ParseBuf;
use mysql_common::packets::binlog_request::BinlogRequest;
use mysql_common::packets::{
    AuthPlugin, AuthSwitchRequest, ComRegisterSlave, ErrPacket, HandshakePacket, HandshakeResponse,
};
use mysql_common::proto::MySerialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::db::{Endpoint, CONNECT_TIMEOUT};

/// Bytes asked of each socket read (more when a packet is longer).
const READ_CHUNK: usize = 256 << 10;

/// Largest packet the server may send (what the client announces; the dump thread itself
/// sends events of any size).
const MAX_PACKET: u32 = 1 << 30;

/// Opening the connection failed.
#[derive(Debug)]
pub enum OpenError {
    /// The server asks for something this client does not do (named): connect through the
    /// driver instead.
    Unsupported(String),
    /// Connecting or logging in failed, as the driver reports it.
    Driver(mysql_async::Error),
}

impl From<mysql_async::Error> for OpenError {
    fn from(e: mysql_async::Error) -> Self {
        OpenError::Driver(e)
    }
}

/// Reading the stream failed.
#[derive(Debug)]
pub enum ReadError {
    /// Nothing arrived within the idle limit.
    Idle,
    /// The connection or the server failed, as the driver reports it.
    Driver(mysql_async::Error),
}

impl From<mysql_async::Error> for ReadError {
    fn from(e: mysql_async::Error) -> Self {
        ReadError::Driver(e)
    }
}

/// A logged-in connection that becomes a binlog stream.
#[derive(Debug)]
pub struct DumpConn {
    sock: TcpStream,
    buf: BytesMut,
    /// Sequence number of the next packet (sent or received).
    seq: u8,
    caps: CapabilityFlags,
}

impl DumpConn {
    /// Connects to `ep` and logs in (within [`CONNECT_TIMEOUT`]). `ep` must not ask for TLS
    /// (checked by the caller: [`OpenError::Unsupported`] otherwise).
    pub async fn open(ep: &Endpoint) -> Result<Self, OpenError> {
        if ep.tls.is_some() {
            return Err(OpenError::Unsupported("TLS".into()));
        }
        match tokio::time::timeout(CONNECT_TIMEOUT, Self::login(ep)).await {
            Ok(r) => r,
            Err(_) => Err(OpenError::Driver(io_error(
                std::io::ErrorKind::TimedOut,
                format!(
                    "no answer within {} s (is it a MySQL server, and reachable?)",
                    CONNECT_TIMEOUT.as_secs()
                ),
            ))),
        }
    }

    async fn login(ep: &Endpoint) -> Result<Self, OpenError> {
        let sock = TcpStream::connect((ep.host.as_str(), ep.port))
            .await
            .map_err(io)?;
        sock.set_nodelay(true).map_err(io)?;
        let mut conn = Self {
            sock,
            buf: BytesMut::with_capacity(READ_CHUNK),
            seq: 0,
            caps: CapabilityFlags::empty(),
        };
        let greeting = conn.read_packet().await?;
        if greeting.first() == Some(&0xFF) {
            return Err(conn.server_error(&greeting).into());
        }
        let hello: HandshakePacket<'_> = ParseBuf(&greeting)
            .parse(())
            .map_err(|e| protocol(format!("malformed handshake: {e}")))?;
        let needed = CapabilityFlags::CLIENT_PROTOCOL_41
            | CapabilityFlags::CLIENT_SECURE_CONNECTION
            | CapabilityFlags::CLIENT_PLUGIN_AUTH;
        if !hello.capabilities().contains(needed) {
            return Err(OpenError::Unsupported(
                "a server without the 4.1 protocol or plugin authentication".into(),
            ));
        }
        conn.caps = hello.capabilities()
            & (needed
                | CapabilityFlags::CLIENT_LONG_PASSWORD
                | CapabilityFlags::CLIENT_LONG_FLAG
                | CapabilityFlags::CLIENT_TRANSACTIONS
                | CapabilityFlags::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA);
        let plugin = hello
            .auth_plugin()
            .unwrap_or(AuthPlugin::MysqlNativePassword)
            .into_owned();
        let nonce = hello.nonce();
        let data = auth::scramble(&plugin, &ep.password, &nonce)
            .map_err(|e| OpenError::Unsupported(e.to_string()))?;
        let response = HandshakeResponse::new(
            Some(data),
            hello.server_version_parsed().unwrap_or((8, 0, 0)),
            Some(ep.user.as_bytes()),
            None::<&[u8]>,
            Some(plugin.clone()),
            conn.caps,
            None,
            MAX_PACKET,
        );
        conn.write_serialized(&response).await?;
        conn.authenticate(ep, plugin, nonce).await?;
        Ok(conn)
    }

    /// Follows the server's answers to the login until it accepts or refuses it.
    async fn authenticate(
        &mut self,
        ep: &Endpoint,
        mut plugin: AuthPlugin<'static>,
        mut nonce: Vec<u8>,
    ) -> Result<(), OpenError> {
        loop {
            let answer = self.read_packet().await?;
            match answer.first() {
                Some(0x00) => return Ok(()),
                Some(0xFF) => return Err(self.server_error(&answer).into()),
                Some(0xFE) => {
                    let switch: AuthSwitchRequest<'_> = ParseBuf(&answer)
                        .parse(())
                        .map_err(|e| protocol(format!("malformed auth switch request: {e}")))?;
                    plugin = switch.auth_plugin().into_owned();
                    nonce = switch.plugin_data().to_vec();
                    let data = auth::scramble(&plugin, &ep.password, &nonce)
                        .map_err(|e| OpenError::Unsupported(e.to_string()))?;
                    self.write_packet(&data).await?;
                }
                Some(0x01) if plugin == AuthPlugin::CachingSha2Password => match answer.get(1) {
                    Some(&auth::FAST_AUTH_OK) => {}
                    Some(&auth::FULL_AUTH) => {
                        self.write_packet(&[auth::REQUEST_PUBLIC_KEY]).await?;
                        let key = self.read_packet().await?;
                        match key.first() {
                            Some(0x01) => {}
                            Some(0xFF) => return Err(self.server_error(&key).into()),
                            _ => return Err(protocol("expected the server's public key").into()),
                        }
                        let sealed = auth::encrypt_password(&ep.password, &nonce, &key[1..]);
                        self.write_packet(&sealed).await?;
                    }
                    _ => return Err(protocol("unexpected caching_sha2_password answer").into()),
                },
                _ => {
                    return Err(OpenError::Unsupported(format!(
                        "the login exchange of authentication plugin `{}`",
                        String::from_utf8_lossy(plugin.as_bytes())
                    )))
                }
            }
        }
    }

    /// Runs a statement that returns no rows (`SET ...`).
    pub async fn execute(&mut self, sql: &str) -> Result<(), mysql_async::Error> {
        let mut cmd = Vec::with_capacity(sql.len() + 1);
        cmd.push(0x03); // COM_QUERY
        cmd.extend_from_slice(sql.as_bytes());
        self.command(&cmd).await?;
        self.expect_ok(sql).await
    }

    /// Registers as a replica with `server_id` (`COM_REGISTER_SLAVE`).
    pub async fn register_replica(&mut self, server_id: u32) -> Result<(), mysql_async::Error> {
        let mut cmd = Vec::new();
        ComRegisterSlave::new(server_id).serialize(&mut cmd);
        self.command(&cmd).await?;
        self.expect_ok("COM_REGISTER_SLAVE").await
    }

    /// Asks for the binlog (`COM_BINLOG_DUMP` or `COM_BINLOG_DUMP_GTID`); the events follow.
    pub async fn request_binlog(
        &mut self,
        request: &BinlogRequest<'_>,
    ) -> Result<(), mysql_async::Error> {
        let mut cmd = Vec::new();
        request.as_cmd().serialize(&mut cmd);
        self.command(&cmd).await
    }

    /// The next event's bytes, header included; `None` when the server ends the stream.
    /// Fails with [`ReadError::Idle`] when nothing arrives for `idle` (zero: no limit).
    pub async fn next_event(&mut self, idle: Duration) -> Result<Option<Bytes>, ReadError> {
        let mut packet = self.packet(idle).await?;
        match packet.first() {
            Some(0x00) => {
                let _ = bytes::Buf::get_u8(&mut packet);
                Ok(Some(packet))
            }
            Some(0xFF) => Err(self.server_error(&packet).into()),
            // EOF: the server ended the stream (a non-blocking dump reached the end).
            Some(0xFE) if packet.len() < 8 => Ok(None),
            other => Err(protocol(format!(
                "unexpected packet in the binlog stream (first byte {other:?}, {} bytes)",
                packet.len()
            ))
            .into()),
        }
    }

    /// The next packet, whole; [`ReadError::Idle`] when a socket read waits longer than
    /// `idle` (zero: no limit).
    async fn packet(&mut self, idle: Duration) -> Result<Bytes, ReadError> {
        loop {
            match frame::take_packet(&mut self.buf, &mut self.seq) {
                Ok(Some(p)) => return Ok(p),
                Ok(None) => {}
                Err(e) => return Err(protocol(e.to_string()).into()),
            }
            self.buf.reserve(READ_CHUNK);
            let read = self.sock.read_buf(&mut self.buf);
            let n = if idle.is_zero() {
                read.await
            } else {
                tokio::time::timeout(idle, read)
                    .await
                    .map_err(|_| ReadError::Idle)?
            };
            match n {
                Ok(0) => {
                    return Err(io_error(
                        std::io::ErrorKind::UnexpectedEof,
                        "the server closed the connection",
                    )
                    .into())
                }
                Ok(_) => {}
                Err(e) => return Err(io(e).into()),
            }
        }
    }

    async fn command(&mut self, payload: &[u8]) -> Result<(), mysql_async::Error> {
        self.seq = 0;
        self.write_packet(payload).await
    }

    async fn expect_ok(&mut self, what: &str) -> Result<(), mysql_async::Error> {
        let answer = self.read_packet().await?;
        match answer.first() {
            Some(0x00) => Ok(()),
            Some(0xFF) => Err(self.server_error(&answer)),
            _ => Err(protocol(format!(
                "`{what}`: expected OK, got another answer"
            ))),
        }
    }

    async fn write_serialized(&mut self, msg: &impl MySerialize) -> Result<(), mysql_async::Error> {
        let mut payload = Vec::new();
        msg.serialize(&mut payload);
        self.write_packet(&payload).await
    }

    async fn write_packet(&mut self, payload: &[u8]) -> Result<(), mysql_async::Error> {
        let mut out = Vec::with_capacity(payload.len() + 8);
        frame::put_packet(payload, &mut self.seq, &mut out);
        self.sock.write_all(&out).await.map_err(io)
    }

    /// The next packet, whole, before the stream starts (the caller bounds the wait).
    async fn read_packet(&mut self) -> Result<Bytes, mysql_async::Error> {
        self.packet(Duration::ZERO).await.map_err(|e| match e {
            ReadError::Driver(e) => e,
            // No idle limit was set.
            ReadError::Idle => io_error(std::io::ErrorKind::TimedOut, "no answer"),
        })
    }

    /// An ERR packet as the driver's server error.
    fn server_error(&self, packet: &[u8]) -> mysql_async::Error {
        match ParseBuf(packet).parse::<ErrPacket<'_>>(self.caps) {
            Ok(ErrPacket::Error(e)) => mysql_async::Error::Server(mysql_async::ServerError {
                code: e.error_code(),
                message: e.message_str().into_owned(),
                state: e
                    .sql_state_ref()
                    .map(|s| String::from_utf8_lossy(&s.as_bytes()).into_owned())
                    .unwrap_or_else(|| "HY000".into()),
            }),
            _ => protocol("malformed error packet"),
        }
    }
}

/// An I/O error as the driver reports it.
fn io(e: std::io::Error) -> mysql_async::Error {
    mysql_async::Error::Io(mysql_async::IoError::Io(e))
}

fn io_error(kind: std::io::ErrorKind, msg: impl Into<String>) -> mysql_async::Error {
    io(std::io::Error::new(kind, msg.into()))
}

/// The server said something the protocol does not allow here.
fn protocol(msg: impl Into<Cow<'static, str>>) -> mysql_async::Error {
    mysql_async::Error::Other(msg.into().into_owned().into())
}
