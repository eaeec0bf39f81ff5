//! The key that seals passwords at rest when the daemon file names no `secret-key-path`:
//! `<data-dir>/secret.key`, 64 hex characters generated at the first start, mode 0600. With it
//! the passwords of registered sources and tasks are stored sealed (AES-256-GCM) in the state
//! store like with a configured key, so the data dir never holds them in clear.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ferry_config::SecretKey;
use tracing::{info, warn};

/// Where the generated key lives.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("secret.key")
}

/// The data dir's key, generated (mode 0600) when it does not exist yet.
pub fn load_or_create(data_dir: &Path) -> Result<SecretKey, String> {
    let path = path(data_dir);
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
    {
        Ok(mut f) => {
            f.write_all(SecretKey::generate_hex().as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(|e| format!("writing {}: {e}", path.display()))?;
            info!(path = %path.display(), "generated the key that seals stored passwords");
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            if let Ok(meta) = std::fs::metadata(&path) {
                if meta.permissions().mode() & 0o077 != 0 {
                    warn!(path = %path.display(), "the key file is readable by others: chmod 600 it");
                }
            }
        }
        Err(e) => return Err(format!("creating {}: {e}", path.display())),
    }
    SecretKey::load(&path).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_generated_once_private_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create(dir.path()).unwrap();
        let mode = std::fs::metadata(path(dir.path()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let b = load_or_create(dir.path()).unwrap();
        let sealed = ferry_config::encrypt(&a, "pw").unwrap();
        assert_eq!(
            ferry_config::decrypt_or_plaintext(Some(&b), &sealed).unwrap(),
            "pw",
            "the same key after a restart"
        );
    }
}
