//! HTTPS for the API (`ssl-cert` / `ssl-key`, and `ssl-ca` to require client certificates
//! signed by that CA, as DM-master's settings).
//!
//! [`TlsListener`] accepts TCP connections and runs each TLS handshake in its own task (a
//! slow or silent client holds no one else up), handing finished connections to the HTTP
//! server in the order they complete.

use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

use openssl::ssl::{Ssl, SslAcceptor, SslFiletype, SslMethod, SslVerifyMode};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_openssl::SslStream;
use tracing::debug;

/// Longest a client may take to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Builds the acceptor from the daemon's files; errors name the key and the file.
pub fn acceptor(cert: &Path, key: &Path, ca: Option<&Path>) -> Result<SslAcceptor, String> {
    let what = |k: &str, p: &Path, e: openssl::error::ErrorStack| {
        format!("{k}: cannot use {}: {e}", p.display())
    };
    let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server())
        .map_err(|e| format!("cannot set up TLS: {e}"))?;
    b.set_certificate_chain_file(cert)
        .map_err(|e| what("ssl-cert", cert, e))?;
    b.set_private_key_file(key, SslFiletype::PEM)
        .map_err(|e| what("ssl-key", key, e))?;
    b.check_private_key().map_err(|e| {
        format!(
            "ssl-key {} is not the key of ssl-cert {}: {e}",
            key.display(),
            cert.display()
        )
    })?;
    if let Some(ca) = ca {
        b.set_ca_file(ca).map_err(|e| what("ssl-ca", ca, e))?;
        b.set_verify(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT);
    }
    Ok(b.build())
}

/// A listener whose connections speak TLS.
pub struct TlsListener {
    ready: mpsc::Receiver<(SslStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Accepts on `tcp`, handshaking with `acceptor`; stops accepting when dropped.
    pub fn new(tcp: TcpListener, acceptor: SslAcceptor) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        tokio::spawn(accept_loop(tcp, acceptor, tx));
        Ok(Self { ready, local })
    }
}

async fn accept_loop(
    tcp: TcpListener,
    acceptor: SslAcceptor,
    tx: mpsc::Sender<(SslStream<TcpStream>, SocketAddr)>,
) {
    loop {
        let (stream, peer) = tokio::select! {
            _ = tx.closed() => return,
            r = tcp.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of descriptors and the like: wait a little instead of spinning.
                    debug!(error = %e, "api accept");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let (acceptor, tx) = (acceptor.clone(), tx.clone());
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(&acceptor, stream)).await {
                Ok(Ok(s)) => {
                    let _ = tx.send((s, peer)).await;
                }
                Ok(Err(e)) => debug!(%peer, error = %e, "api TLS handshake failed"),
                Err(_) => debug!(%peer, "api TLS handshake timed out"),
            }
        });
    }
}

async fn handshake(
    acceptor: &SslAcceptor,
    stream: TcpStream,
) -> Result<SslStream<TcpStream>, String> {
    let ssl = Ssl::new(acceptor.context()).map_err(|e| e.to_string())?;
    let mut s = SslStream::new(ssl, stream).map_err(|e| e.to_string())?;
    Pin::new(&mut s).accept().await.map_err(|e| e.to_string())?;
    Ok(s)
}

impl axum::serve::Listener for TlsListener {
    type Io = SslStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(c) => c,
            // The accept loop only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
