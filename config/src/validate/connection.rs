//! A database connection (`from`, `target-database`): address, TLS, password.

use super::report::Report;
use crate::db::{DbConfig, Security};
use crate::error::ErrorKind;
use crate::secret::{decrypt_or_plaintext, Password, SecretKey};
use crate::yaml::join;

/// Checks a connection and decrypts its password in place.
pub(super) fn db(r: &mut Report, path: &str, db: &mut DbConfig, key: Option<&SecretKey>) {
    if db.host.trim().is_empty() {
        r.error(join(path, "host"), ErrorKind::Missing, "host is required");
    }
    if db.port == 0 {
        r.error(
            join(path, "port"),
            ErrorKind::InvalidValue,
            "port must not be 0",
        );
    }
    r.deprecated(
        &join(path, "max-allowed-packet"),
        db.max_allowed_packet.is_some(),
        " (the value is read from the server)",
    );
    match decrypt_or_plaintext(key, db.password.expose()) {
        Ok(p) => db.password = Password::new(p),
        Err(e) => r.error(join(path, "password"), ErrorKind::Secret, e.to_string()),
    }
    // A block without any certificate (`security: {}`, or DM's own output `ssl-ca: ""`,
    // `ssl-ca-bytes: []`, …) means no TLS, as in DM.
    if db.security.as_ref().is_some_and(Security::is_empty) {
        if db
            .security
            .as_ref()
            .is_some_and(|s| !s.cert_allowed_cn.is_empty())
        {
            r.warn(
                join(path, "security.cert-allowed-cn"),
                "ignored: no certificate is given, so the connection does not use TLS",
            );
        }
        db.security = None;
    }
    if let Some(sec) = &db.security {
        let sec_path = join(path, "security");
        for (name, value) in [
            ("ssl-ca-base64", &sec.ssl_ca_base64),
            ("ssl-key-base64", &sec.ssl_key_base64),
            ("ssl-cert-base64", &sec.ssl_cert_base64),
        ] {
            use base64::Engine as _;
            if let Some(v) = value.as_ref().filter(|v| !v.is_empty()) {
                if base64::engine::general_purpose::STANDARD
                    .decode(v.trim())
                    .is_err()
                {
                    r.error(
                        join(&sec_path, name),
                        ErrorKind::InvalidValue,
                        "not valid base64",
                    );
                }
            }
        }
    }
}
