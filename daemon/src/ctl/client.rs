//! The HTTP client of `ferryctl`: one request to ferryd's API per call, answers as JSON.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::args::Cli;

/// The environment variable holding the API's bearer token (when no --api-token-file).
pub const TOKEN_ENV: &str = "FERRY_API_TOKEN";

/// ferryd's API at `base`, and how to reach it.
pub struct Api {
    /// `http://host:port` or `https://host:port`.
    pub base: String,
    ssl_ca: Option<PathBuf>,
    ssl_cert: Option<PathBuf>,
    ssl_key: Option<PathBuf>,
    token_file: Option<PathBuf>,
    token_env: Option<String>,
}

impl Api {
    /// The API as the command line says: `--master-addr` (an `http://` / `https://` prefix is
    /// kept; otherwise HTTPS when a TLS flag is given), the TLS files and the token (read when
    /// a request is made, so offline commands need none of them).
    pub fn from_cli(cli: &Cli) -> Result<Self, String> {
        let tls = cli.ssl_ca.is_some() || cli.ssl_cert.is_some() || cli.ssl_key.is_some();
        let addr = cli.master_addr.trim_end_matches('/');
        let base = if addr.starts_with("http://") || addr.starts_with("https://") {
            addr.to_string()
        } else if tls {
            format!("https://{addr}")
        } else {
            format!("http://{addr}")
        };
        if cli.ssl_cert.is_some() != cli.ssl_key.is_some() {
            return Err("--ssl-cert and --ssl-key go together".into());
        }
        Ok(Self {
            base,
            ssl_ca: cli.ssl_ca.clone(),
            ssl_cert: cli.ssl_cert.clone(),
            ssl_key: cli.ssl_key.clone(),
            token_file: cli.api_token_file.clone(),
            token_env: std::env::var(TOKEN_ENV)
                .ok()
                .filter(|t| !t.trim().is_empty()),
        })
    }

    fn call(&self, r: Result<ureq::Response, ureq::Error>) -> Result<Value, String> {
        match r {
            Ok(resp) => resp
                .into_json()
                .map_err(|e| format!("bad answer from ferryd: {e}")),
            Err(ureq::Error::Status(_, resp)) => resp
                .into_json()
                .map_err(|e| format!("bad answer from ferryd: {e}")),
            Err(e) => Err(format!("cannot reach ferryd at {}: {e}", self.base)),
        }
    }

    /// The bearer token: from the file, else from the environment.
    fn token(&self) -> Result<Option<String>, String> {
        match &self.token_file {
            Some(p) => std::fs::read_to_string(p)
                .map(|t| Some(t.trim().to_string()))
                .map_err(|e| format!("--api-token-file {}: {e}", p.display())),
            None => Ok(self.token_env.as_ref().map(|t| t.trim().to_string())),
        }
    }

    fn agent(&self) -> Result<ureq::Agent, String> {
        let mut b = ureq::AgentBuilder::new().timeout(std::time::Duration::from_secs(600));
        if self.base.starts_with("https://") {
            b = b.tls_connector(Arc::new(self.tls_connector()?));
        }
        Ok(b.build())
    }

    fn tls_connector(&self) -> Result<native_tls::TlsConnector, String> {
        fn read(flag: &str, p: &Path) -> Result<Vec<u8>, String> {
            std::fs::read(p).map_err(|e| format!("{flag} {}: {e}", p.display()))
        }
        let mut b = native_tls::TlsConnector::builder();
        if let Some(ca) = &self.ssl_ca {
            let cert = native_tls::Certificate::from_pem(&read("--ssl-ca", ca)?)
                .map_err(|e| format!("--ssl-ca {}: {e}", ca.display()))?;
            b.add_root_certificate(cert);
        }
        if let (Some(cert), Some(key)) = (&self.ssl_cert, &self.ssl_key) {
            let archive =
                ferry_actors::tls::pkcs12(&read("--ssl-cert", cert)?, &read("--ssl-key", key)?)
                    .map_err(|e| format!("--ssl-cert / --ssl-key: {e}"))?;
            let id = native_tls::Identity::from_pkcs12(&archive, "")
                .map_err(|e| format!("--ssl-cert / --ssl-key: {e}"))?;
            b.identity(id);
        }
        b.build().map_err(|e| format!("cannot set up TLS: {e}"))
    }

    fn request(&self, method: &str, path: &str) -> Result<ureq::Request, String> {
        let mut r = self
            .agent()?
            .request(method, &format!("{}{path}", self.base));
        if let Some(t) = self.token()? {
            r = r.set("Authorization", &format!("Bearer {t}"));
        }
        Ok(r)
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Result<Value, String> {
        self.call(self.request("GET", path)?.call())
    }

    /// `DELETE path`.
    pub fn delete(&self, path: &str) -> Result<Value, String> {
        self.call(self.request("DELETE", path)?.call())
    }

    /// `POST path` with a JSON body.
    pub fn post(&self, path: &str, body: &Value) -> Result<Value, String> {
        self.call(self.request("POST", path)?.send_json(body.clone()))
    }
}

/// Percent-encodes a path segment (task names, source ids).
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
