//! Logging in: what the client answers for each authentication plugin the server names.
//!
//! Served here: `mysql_native_password` (MariaDB's and MySQL 5.7's default) and
//! `caching_sha2_password` (MySQL 8.0+'s default), including its full authentication over a
//! plain connection (the password encrypted with the server's RSA key, as the server
//! requires). Any other plugin is [`Unsupported`]: the caller then connects through the
//! driver instead, which knows the rest.

use mysql_common::packets::AuthPlugin;
use mysql_common::scramble::{scramble_native, scramble_sha256};

/// The plugin's name: this client cannot log in with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("authentication plugin `{0}`")]
pub(crate) struct Unsupported(pub(crate) String);

/// `caching_sha2_password`'s answer after the scramble (`AuthMoreData`, 0x01, then this byte).
pub(super) const FAST_AUTH_OK: u8 = 0x03;
/// ... the server has no cached hash of the password: it wants the password itself.
pub(super) const FULL_AUTH: u8 = 0x04;
/// What the client sends to ask for the server's RSA public key.
pub(super) const REQUEST_PUBLIC_KEY: u8 = 0x02;

/// The scramble `plugin` sends for `password` with the server's `nonce` (its first 20 bytes
/// are used, a NUL terminator being dropped). An empty password is sent as nothing.
pub(super) fn scramble(
    plugin: &AuthPlugin<'_>,
    password: &str,
    nonce: &[u8],
) -> Result<Vec<u8>, Unsupported> {
    let nonce = trim_nonce(nonce);
    let pw = password.as_bytes();
    let data = match plugin {
        AuthPlugin::MysqlNativePassword => scramble_native(nonce, pw).map(|s| s.to_vec()),
        AuthPlugin::CachingSha2Password => scramble_sha256(nonce, pw).map(|s| s.to_vec()),
        other => {
            return Err(Unsupported(
                String::from_utf8_lossy(other.as_bytes()).into_owned(),
            ))
        }
    };
    Ok(data.unwrap_or_default())
}

/// The password for `caching_sha2_password`'s full authentication: NUL-terminated, XORed with
/// the nonce (repeated), then encrypted with the server's RSA public key `pem` (OAEP).
pub(super) fn encrypt_password(password: &str, nonce: &[u8], pem: &[u8]) -> Vec<u8> {
    let nonce = trim_nonce(nonce);
    let mut plain: Vec<u8> = password.as_bytes().to_vec();
    plain.push(0);
    if !nonce.is_empty() {
        for (i, b) in plain.iter_mut().enumerate() {
            *b ^= nonce[i % nonce.len()];
        }
    }
    mysql_common::crypto::encrypt(&plain, pem)
}

/// At most 20 bytes, without a NUL terminator.
fn trim_nonce(nonce: &[u8]) -> &[u8] {
    let nonce = nonce.strip_suffix(&[0]).unwrap_or(nonce);
    &nonce[..nonce.len().min(20)]
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONCE: &[u8; 21] = b"abcdefghijklmnopqrst\0";

    #[test]
    fn native_and_sha2_scrambles_use_the_first_twenty_bytes_of_the_nonce() {
        let native = scramble(&AuthPlugin::MysqlNativePassword, "secret", NONCE).unwrap();
        assert_eq!(
            native,
            scramble_native(&NONCE[..20], b"secret").unwrap().to_vec()
        );
        assert_eq!(native.len(), 20);
        let sha2 = scramble(&AuthPlugin::CachingSha2Password, "secret", &NONCE[..20]).unwrap();
        assert_eq!(
            sha2,
            scramble_sha256(&NONCE[..20], b"secret").unwrap().to_vec()
        );
        assert_eq!(sha2.len(), 32);
        // Another nonce, another answer: the nonce is used.
        let other = scramble(
            &AuthPlugin::MysqlNativePassword,
            "secret",
            b"zyxwvutsrqponmlkjihg",
        );
        assert_ne!(other.unwrap(), native);
    }

    #[test]
    fn an_empty_password_is_sent_as_nothing() {
        for plugin in [
            AuthPlugin::MysqlNativePassword,
            AuthPlugin::CachingSha2Password,
        ] {
            assert_eq!(scramble(&plugin, "", NONCE).unwrap(), Vec::<u8>::new());
        }
    }

    #[test]
    fn other_plugins_are_left_to_the_driver() {
        for (plugin, name) in [
            (AuthPlugin::Ed25519, "client_ed25519"),
            (AuthPlugin::MysqlClearPassword, "mysql_clear_password"),
            (
                AuthPlugin::from_bytes(b"auth_gssapi_client"),
                "auth_gssapi_client",
            ),
        ] {
            assert_eq!(
                scramble(&plugin, "pw", NONCE),
                Err(Unsupported(name.to_string()))
            );
        }
    }

    #[test]
    fn the_full_authentication_password_is_xored_with_the_nonce_and_rsa_encrypted() {
        use openssl::rsa::{Padding, Rsa};
        let key = Rsa::generate(2048).unwrap();
        let pem = key.public_key_to_pem().unwrap();
        let sealed = encrypt_password("pässword", NONCE, &pem);
        assert_eq!(sealed.len(), 256);
        let mut plain = vec![0; 256];
        let n = key
            .private_decrypt(&sealed, &mut plain, Padding::PKCS1_OAEP)
            .unwrap();
        let plain: Vec<u8> = plain[..n]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ NONCE[i % 20])
            .collect();
        assert_eq!(plain, b"p\xc3\xa4ssword\0");
    }
}
