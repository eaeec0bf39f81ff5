//! Passwords: plaintext or encrypted with `ferryctl encrypt`, and never printed.
//!
//! Encryption is authenticated (AES-256-GCM) with a key file, like DM ≥ 8.0's
//! `secret-key-path`: the file holds 64 hex characters (32 bytes). `ferryctl encrypt`
//! produces `ferry:v1:` + base64(nonce ‖ ciphertext ‖ tag); a value with that prefix must
//! decrypt (wrong key or tampering is an error), any other value is plaintext.
//!
//! For users coming from DM, a value produced by `dmctl encrypt` with the same key file
//! (base64 of IV ‖ `@` ‖ AES-256-CFB ciphertext) is also decrypted, as DM's
//! `DecryptOrPlaintext` does: if it does not look like one, it is plaintext.

use std::fmt;
use std::path::Path;

use aes_gcm::aead::Aead;
use aes_gcm::aes::cipher::BlockEncrypt;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use rand::RngCore;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The prefix that marks a value encrypted by `ferryctl encrypt`.
pub const ENCRYPTED_PREFIX: &str = "ferry:v1:";

/// What Debug, Display and Serialize print in place of a secret.
pub const MASK: &str = "******";

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Problems with keys and encrypted values. Messages never contain a secret.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    /// The key file cannot be read.
    #[error("cannot read secret key file {path}: {reason}")]
    KeyFile {
        /// The key file.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// The key file does not hold 64 hex characters.
    #[error("secret key {path} must hold exactly 64 hex characters (32 bytes)")]
    BadKey {
        /// The key file (or `<inline>`).
        path: String,
    },
    /// An encrypted value was found but no key is configured.
    #[error("the value is encrypted (`{ENCRYPTED_PREFIX}…`) but no secret-key-path is configured")]
    NoKey,
    /// The value is not well-formed.
    #[error("the encrypted value is malformed: {0}")]
    Malformed(String),
    /// Authentication failed: wrong key or modified ciphertext.
    #[error(
        "cannot decrypt the value with the secret key {key}: wrong key or tampered ciphertext"
    )]
    Decrypt {
        /// The key file (or `<inline>`).
        key: String,
    },
    /// Encryption failed (only for absurdly long plaintexts).
    #[error("encryption failed")]
    Encrypt,
}

/// A 256-bit key for encrypting passwords, loaded from a key file.
#[derive(Clone)]
pub struct SecretKey {
    bytes: [u8; 32],
    origin: String,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({}, {MASK})", self.origin)
    }
}

impl SecretKey {
    /// Reads a key file: 64 hex characters, surrounding whitespace ignored.
    pub fn load(path: &Path) -> Result<SecretKey, SecretError> {
        let text = std::fs::read_to_string(path).map_err(|e| SecretError::KeyFile {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::parse_hex(text.trim(), &path.display().to_string())
    }

    /// A key from its 64 hex characters.
    pub fn from_hex(hex_text: &str) -> Result<SecretKey, SecretError> {
        Self::parse_hex(hex_text.trim(), "<inline>")
    }

    fn parse_hex(text: &str, origin: &str) -> Result<SecretKey, SecretError> {
        let bad = || SecretError::BadKey {
            path: origin.to_string(),
        };
        if text.len() != 64 {
            return Err(bad());
        }
        let decoded = hex::decode(text).map_err(|_| bad())?;
        let bytes: [u8; 32] = decoded.try_into().map_err(|_| bad())?;
        Ok(SecretKey {
            bytes,
            origin: origin.to_string(),
        })
    }

    /// A new random key, as the 64 hex characters to write to a key file.
    pub fn generate_hex() -> String {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        hex::encode(bytes)
    }

    /// Where the key came from (its file path, or `<inline>`), for messages.
    pub fn origin(&self) -> &str {
        &self.origin
    }
}

/// Encrypts `plaintext` to `ferry:v1:…` (fresh random nonce each time).
pub fn encrypt(key: &SecretKey, plaintext: &str) -> Result<String, SecretError> {
    let cipher = Aes256Gcm::new_from_slice(&key.bytes).map_err(|_| SecretError::Encrypt)?;
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
        .map_err(|_| SecretError::Encrypt)?;
    let mut blob = Vec::with_capacity(NONCE_LEN + sealed.len());
    blob.extend_from_slice(&nonce);
    blob.extend_from_slice(&sealed);
    Ok(format!("{ENCRYPTED_PREFIX}{}", B64.encode(blob)))
}

/// True when `text` is a `ferryctl encrypt` value.
pub fn is_encrypted(text: &str) -> bool {
    text.starts_with(ENCRYPTED_PREFIX)
}

/// Decrypts a `ferry:v1:` value (which must succeed), or a `dmctl encrypt` value made with
/// the same key; anything else is returned as plaintext.
pub fn decrypt_or_plaintext(key: Option<&SecretKey>, text: &str) -> Result<String, SecretError> {
    if let Some(encoded) = text.strip_prefix(ENCRYPTED_PREFIX) {
        let key = key.ok_or(SecretError::NoKey)?;
        let blob = B64
            .decode(encoded.trim())
            .map_err(|_| SecretError::Malformed("not base64".to_string()))?;
        if blob.len() < NONCE_LEN + TAG_LEN {
            return Err(SecretError::Malformed("too short".to_string()));
        }
        let (nonce, sealed) = blob.split_at(NONCE_LEN);
        let cipher = Aes256Gcm::new_from_slice(&key.bytes).map_err(|_| SecretError::Decrypt {
            key: key.origin.clone(),
        })?;
        let plain = cipher
            .decrypt(Nonce::from_slice(nonce), sealed)
            .map_err(|_| SecretError::Decrypt {
                key: key.origin.clone(),
            })?;
        return String::from_utf8(plain)
            .map_err(|_| SecretError::Malformed("the plaintext is not UTF-8".to_string()));
    }
    if let Some(key) = key {
        if let Some(plain) = decrypt_dm(key, text) {
            return Ok(plain);
        }
    }
    Ok(text.to_string())
}

/// DM's format: base64(iv[16] ‖ '@' ‖ AES-256-CFB(plaintext)). None when `text` is not one.
fn decrypt_dm(key: &SecretKey, text: &str) -> Option<String> {
    const BLOCK: usize = 16;
    let blob = B64.decode(text).ok()?;
    if blob.len() <= BLOCK + 1 || blob[BLOCK] != b'@' {
        return None;
    }
    let cipher = aes_gcm::aes::Aes256::new_from_slice(&key.bytes).ok()?;
    let (iv, rest) = blob.split_at(BLOCK);
    let data = &rest[1..];
    let mut feedback = aes_gcm::aes::Block::clone_from_slice(iv);
    let mut plain = Vec::with_capacity(data.len());
    for chunk in data.chunks(BLOCK) {
        let mut stream = feedback;
        cipher.encrypt_block(&mut stream);
        for (c, s) in chunk.iter().zip(stream.iter()) {
            plain.push(c ^ s);
        }
        if chunk.len() == BLOCK {
            feedback = aes_gcm::aes::Block::clone_from_slice(chunk);
        }
    }
    String::from_utf8(plain).ok()
}

/// A password (or other secret string). Debug, Display and Serialize print `******`; use
/// [`Password::expose`] to get the value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when no password is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value to store: encrypted with `key` (`ferry:v1:…`) when there is one, else the
    /// plaintext. An empty password stays empty.
    pub fn seal(&self, key: Option<&SecretKey>) -> Result<String, SecretError> {
        match key {
            Some(k) if !self.0.is_empty() => encrypt(k, &self.0),
            _ => Ok(self.0.clone()),
        }
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl Serialize for Password {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(MASK)
    }
}

impl<'de> Deserialize<'de> for Password {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Password(
            Option::<String>::deserialize(deserializer)?.unwrap_or_default(),
        ))
    }
}

/// A secret as written in the configuration (plaintext, `ferry:v1:` or DM ciphertext)
/// together with the path of its file, for storing next to a configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSecret {
    /// Key path in the configuration, e.g. `from.password`.
    pub path: String,
    /// The sealed value (see [`Password::seal`]).
    pub value: String,
}

impl StoredSecret {
    /// Seals `password` for storage under `path`.
    pub fn seal(
        path: impl Into<String>,
        password: &Password,
        key: Option<&SecretKey>,
    ) -> Result<Self, SecretError> {
        Ok(Self {
            path: path.into(),
            value: password.seal(key)?,
        })
    }

    /// The password back.
    pub fn open(&self, key: Option<&SecretKey>) -> Result<Password, SecretError> {
        decrypt_or_plaintext(key, &self.value).map(Password)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretKey {
        SecretKey::from_hex(&"ab".repeat(32)).unwrap()
    }

    #[test]
    fn round_trip_and_nonce_is_fresh() {
        let k = key();
        let a = encrypt(&k, "s3cret").unwrap();
        let b = encrypt(&k, "s3cret").unwrap();
        assert!(a.starts_with(ENCRYPTED_PREFIX));
        assert_ne!(a, b);
        assert_eq!(decrypt_or_plaintext(Some(&k), &a).unwrap(), "s3cret");
        assert_eq!(decrypt_or_plaintext(Some(&k), "plain").unwrap(), "plain");
        assert_eq!(decrypt_or_plaintext(None, "plain").unwrap(), "plain");
        assert_eq!(decrypt_or_plaintext(None, &a), Err(SecretError::NoKey));
    }

    #[test]
    fn bad_keys_are_rejected() {
        assert!(SecretKey::from_hex("abc").is_err());
        assert!(SecretKey::from_hex(&"zz".repeat(32)).is_err());
        assert_eq!(SecretKey::generate_hex().len(), 64);
        assert!(SecretKey::from_hex(&SecretKey::generate_hex()).is_ok());
    }

    #[test]
    fn dm_cfb_ciphertext_is_decrypted() {
        // Build a DM-format value with the same primitive (CFB-128 with AES-256).
        let k = key();
        let cipher = aes_gcm::aes::Aes256::new_from_slice(&k.bytes).unwrap();
        let iv = [7u8; 16];
        let plain = b"a longer dm password, over one block";
        let mut feedback = aes_gcm::aes::Block::clone_from_slice(&iv);
        let mut ct = Vec::new();
        for chunk in plain.chunks(16) {
            let mut s = feedback;
            cipher.encrypt_block(&mut s);
            let c: Vec<u8> = chunk.iter().zip(s.iter()).map(|(p, s)| p ^ s).collect();
            if c.len() == 16 {
                feedback = aes_gcm::aes::Block::clone_from_slice(&c);
            }
            ct.extend(c);
        }
        let mut blob = iv.to_vec();
        blob.push(b'@');
        blob.extend(ct);
        let text = B64.encode(blob);
        assert_eq!(
            decrypt_or_plaintext(Some(&k), &text).unwrap(),
            "a longer dm password, over one block"
        );
        // Without a key it is taken as plaintext, as DM does.
        assert_eq!(decrypt_or_plaintext(None, &text).unwrap(), text);
    }

    #[test]
    fn password_never_prints() {
        let p = Password::new("hunter2");
        assert_eq!(format!("{p:?} {p}"), "****** ******");
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"******\"");
        assert_eq!(p.expose(), "hunter2");
        let k = key();
        let stored = StoredSecret::seal("from.password", &p, Some(&k)).unwrap();
        assert!(!stored.value.contains("hunter2"));
        assert_eq!(stored.open(Some(&k)).unwrap().expose(), "hunter2");
    }
}
