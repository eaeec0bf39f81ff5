//! The API's bearer token (`api-token-path`): every request must carry
//! `Authorization: Bearer <token>` when one is configured.

use std::path::Path;

use sha2::{Digest, Sha256};

/// Shortest token accepted (a guessable token protects nothing).
const MIN_LEN: usize = 16;

/// A loaded token; only its digest is kept.
#[derive(Clone)]
pub struct ApiToken {
    digest: [u8; 32],
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiToken(..)")
    }
}

/// Why a token file cannot be used; names the key and the file.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The file cannot be read.
    #[error("api-token-path: cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The token is too short.
    #[error(
        "api-token-path: the token in {path} has {len} characters; use at least {MIN_LEN} \
         (e.g. `openssl rand -hex 32 > {path}`)"
    )]
    TooShort {
        /// The file.
        path: String,
        /// Its length.
        len: usize,
    },
}

fn digest(text: &[u8]) -> [u8; 32] {
    Sha256::digest(text).into()
}

impl ApiToken {
    /// The token of `text` (surrounding white space, such as a final newline, is ignored).
    pub fn from_text(text: &str, path: &str) -> Result<Self, TokenError> {
        let t = text.trim();
        if t.chars().count() < MIN_LEN {
            return Err(TokenError::TooShort {
                path: path.to_string(),
                len: t.chars().count(),
            });
        }
        Ok(Self {
            digest: digest(t.as_bytes()),
        })
    }

    /// Reads the token file; warns when others than its owner may read it.
    pub fn load(path: &Path) -> Result<Self, TokenError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| TokenError::Read {
            path: shown.clone(),
            source,
        })?;
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(
                    file = %shown,
                    "api-token-path is readable by others than its owner (chmod 600 it)"
                );
            }
        }
        Self::from_text(&text, &shown)
    }

    /// True when an `Authorization` header value carries this token. The comparison takes
    /// the same time wherever the first difference is.
    pub fn admits(&self, authorization: Option<&[u8]>) -> bool {
        let Some(value) = authorization else {
            return false;
        };
        let Some(given) = value
            .strip_prefix(b"Bearer ")
            .or_else(|| value.strip_prefix(b"bearer "))
        else {
            return false;
        };
        let given = digest(given.trim_ascii());
        given
            .iter()
            .zip(self.digest.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_only_the_bearer_token() {
        let t = ApiToken::from_text("  0123456789abcdef0123\n", "t").unwrap();
        assert!(t.admits(Some(b"Bearer 0123456789abcdef0123")));
        assert!(t.admits(Some(b"bearer 0123456789abcdef0123 ")));
        assert!(!t.admits(Some(b"Bearer 0123456789abcdef012")));
        assert!(!t.admits(Some(b"Basic 0123456789abcdef0123")));
        assert!(!t.admits(Some(b"0123456789abcdef0123")));
        assert!(!t.admits(None));
        assert!(format!("{t:?}").ends_with("(..)"), "no token in Debug");
    }

    #[test]
    fn short_or_missing_tokens_are_refused_with_the_key() {
        let e = ApiToken::from_text("short\n", "/etc/ferry/token").unwrap_err();
        assert!(e.to_string().starts_with("api-token-path:"), "{e}");
        assert!(e.to_string().contains("/etc/ferry/token"), "{e}");
        let e = ApiToken::load(Path::new("/nonexistent/token")).unwrap_err();
        assert!(
            e.to_string().contains("cannot read /nonexistent/token"),
            "{e}"
        );
    }
}
