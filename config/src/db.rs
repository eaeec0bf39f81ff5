//! A database connection: `from` in source.yaml, `target-database` in task.yaml.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::defaults::DEFAULT_DB_PORT;
use crate::secret::Password;
use crate::yaml::null_as_default;

fn default_port() -> u16 {
    DEFAULT_DB_PORT
}

/// Connection settings (DM's `DBConfig`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DbConfig {
    /// Host name or address.
    #[serde(default, deserialize_with = "null_as_default")]
    pub host: String,
    /// TCP port (default 3306).
    #[serde(default = "default_port")]
    pub port: u16,
    /// User name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub user: String,
    /// Password, already decrypted when the file was loaded. Prints as `******`.
    #[serde(default)]
    pub password: Password,
    /// Deprecated since DM v2.0: the value is fetched from the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_allowed_packet: Option<u64>,
    /// Session variables set on every connection (values as text: `tidb_skip_utf8_check: 1`).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub session: BTreeMap<String, String>,
    /// TLS settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<Security>,
}

impl Default for DbConfig {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: DEFAULT_DB_PORT,
            user: String::new(),
            password: Password::default(),
            max_allowed_packet: None,
            session: BTreeMap::new(),
            security: None,
        }
    }
}

impl DbConfig {
    /// The value of a session variable, matched case-insensitively as MySQL does.
    pub fn session_var(&self, name: &str) -> Option<&str> {
        self.session
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// TLS settings (DM's `security.Security`). Certificates may be given as file paths, as
/// inline PEM text (`*-bytes`) or as base64 of the PEM (`*-base64`). Inline contents are not
/// serialized (as in DM) and the key is not printed by `Debug`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Security {
    /// CA certificate file (`""`: none, as DM).
    #[serde(
        default,
        deserialize_with = "crate::soft::blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub ssl_ca: Option<String>,
    /// Client certificate file (`""`: none).
    #[serde(
        default,
        deserialize_with = "crate::soft::blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub ssl_cert: Option<String>,
    /// Client key file (`""`: none).
    #[serde(
        default,
        deserialize_with = "crate::soft::blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub ssl_key: Option<String>,
    /// Accepted common names of the peer certificate.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub cert_allowed_cn: Vec<String>,
    /// CA certificate, inline PEM: text, or the list of byte values DM writes for its Go
    /// `[]byte` (`ssl-ca-bytes: [45, 45, …]`; `[]`, `""` and `null` mean none).
    #[serde(
        default,
        deserialize_with = "crate::soft::pem_bytes",
        skip_serializing_if = "Option::is_none"
    )]
    pub ssl_ca_bytes: Option<String>,
    /// Client key, inline PEM (as `ssl-ca-bytes`).
    #[serde(default, deserialize_with = "crate::soft::pem_bytes", skip_serializing)]
    pub ssl_key_bytes: Option<String>,
    /// Client certificate, inline PEM (as `ssl-ca-bytes`).
    #[serde(default, deserialize_with = "crate::soft::pem_bytes", skip_serializing)]
    pub ssl_cert_bytes: Option<String>,
    /// CA certificate, base64 of the PEM (`""`: none).
    #[serde(
        default,
        deserialize_with = "crate::soft::blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub ssl_ca_base64: Option<String>,
    /// Client key, base64 of the PEM (`""`: none).
    #[serde(
        default,
        deserialize_with = "crate::soft::blank_as_none",
        skip_serializing
    )]
    pub ssl_key_base64: Option<String>,
    /// Client certificate, base64 of the PEM (`""`: none).
    #[serde(
        default,
        deserialize_with = "crate::soft::blank_as_none",
        skip_serializing
    )]
    pub ssl_cert_base64: Option<String>,
}

impl fmt::Debug for Security {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |o: &Option<String>| o.as_ref().map(|_| "<set>");
        f.debug_struct("Security")
            .field("ssl_ca", &self.ssl_ca)
            .field("ssl_cert", &self.ssl_cert)
            .field("ssl_key", &self.ssl_key)
            .field("cert_allowed_cn", &self.cert_allowed_cn)
            .field("ssl_ca_bytes", &shown(&self.ssl_ca_bytes))
            .field("ssl_key_bytes", &shown(&self.ssl_key_bytes))
            .field("ssl_cert_bytes", &shown(&self.ssl_cert_bytes))
            .field("ssl_ca_base64", &shown(&self.ssl_ca_base64))
            .field("ssl_key_base64", &shown(&self.ssl_key_base64))
            .field("ssl_cert_base64", &shown(&self.ssl_cert_base64))
            .finish()
    }
}

impl Security {
    /// True when no certificate, key or CA is given (every key absent or empty, as in
    /// `get-config` output of DM: `ssl-ca: ""`, `ssl-ca-bytes: []`, …). DM then connects
    /// without TLS, and so does Ferry: the loader drops such a block.
    pub fn is_empty(&self) -> bool {
        let none = |o: &Option<String>| o.as_deref().is_none_or(|s| s.trim().is_empty());
        none(&self.ssl_ca)
            && none(&self.ssl_cert)
            && none(&self.ssl_key)
            && none(&self.ssl_ca_bytes)
            && none(&self.ssl_key_bytes)
            && none(&self.ssl_cert_bytes)
            && none(&self.ssl_ca_base64)
            && none(&self.ssl_key_base64)
            && none(&self.ssl_cert_base64)
    }

    /// The CA certificate content: inline PEM, or decoded base64, or None (then read
    /// [`Security::ssl_ca`] as a file).
    pub fn ca_pem(&self) -> Option<Vec<u8>> {
        inline_pem(&self.ssl_ca_bytes, &self.ssl_ca_base64)
    }

    /// The client certificate content, as [`Security::ca_pem`].
    pub fn cert_pem(&self) -> Option<Vec<u8>> {
        inline_pem(&self.ssl_cert_bytes, &self.ssl_cert_base64)
    }

    /// The client key content, as [`Security::ca_pem`].
    pub fn key_pem(&self) -> Option<Vec<u8>> {
        inline_pem(&self.ssl_key_bytes, &self.ssl_key_base64)
    }
}

fn inline_pem(bytes: &Option<String>, b64: &Option<String>) -> Option<Vec<u8>> {
    use base64::Engine as _;
    if let Some(b) = bytes.as_ref().filter(|b| !b.is_empty()) {
        return Some(b.as_bytes().to_vec());
    }
    b64.as_ref().filter(|b| !b.is_empty()).and_then(|b| {
        base64::engine::general_purpose::STANDARD
            .decode(b.trim())
            .ok()
    })
}
