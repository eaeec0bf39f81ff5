//! Encrypted passwords in files: round trip, tampering, wrong key, no leaks.

mod common;

use common::*;
use ferry_config::secret::{ENCRYPTED_PREFIX, MASK};
use ferry_config::{
    decrypt_or_plaintext, encrypt, load_source_file, parse_source_str, parse_task_str, ErrorKind,
    SecretError, SecretKey, SourceConfig, TaskConfig,
};

fn write_key(dir: &std::path::Path, name: &str) -> (std::path::PathBuf, SecretKey) {
    let path = dir.join(name);
    std::fs::write(&path, format!("{}\n", SecretKey::generate_hex())).unwrap();
    let key = SecretKey::load(&path).unwrap();
    (path, key)
}

#[test]
fn encrypted_password_in_a_source_file_is_decrypted() {
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = write_key(dir.path(), "secret.key");
    let sealed = encrypt(&key, "correct horse").unwrap();
    assert!(sealed.starts_with(ENCRYPTED_PREFIX));
    let text = format!("source-id: s\nfrom:\n  host: h\n  user: u\n  password: \"{sealed}\"\n");
    let path = dir.path().join("source.yaml");
    std::fs::write(&path, &text).unwrap();
    let loaded = load_source_file(&path, Some(&key)).unwrap();
    assert_eq!(loaded.config.from.password.expose(), "correct horse");

    // The secret never shows in Debug output or JSON.
    let dbg = format!("{:?}", loaded.config);
    assert!(!dbg.contains("correct horse"), "{dbg}");
    assert!(dbg.contains(MASK));
    let json = serde_json::to_string(&loaded.config).unwrap();
    assert!(!json.contains("correct horse"));
    let key_text = std::fs::read_to_string(dir.path().join("secret.key")).unwrap();
    assert!(!format!("{key:?}").contains(key_text.trim()));
}

#[test]
fn encrypted_password_without_key_or_with_wrong_key_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = write_key(dir.path(), "right.key");
    let (wrong_path, wrong) = write_key(dir.path(), "wrong.key");
    let sealed = encrypt(&key, "pw-value-123").unwrap();
    let text = format!(
        "name: t\ntask-mode: full\ntarget-database:\n  host: h\n  password: {sealed}\n\
         mysql-instances: [{{source-id: a}}]\n"
    );

    let errs = parse_task_str(&text, "task.yaml", &no_env, Some(&wrong)).unwrap_err();
    let e = &errs.errors()[0];
    assert_eq!(e.kind, ErrorKind::Secret);
    assert_eq!(e.path, "target-database.password");
    assert_eq!((e.line, e.column), (Some(5), Some(3)));
    assert!(e.message.contains(&wrong_path.display().to_string()), "{e}");
    assert!(!errs.to_string().contains("pw-value-123"));
    assert!(!errs.to_string().contains(&sealed));

    let errs = parse_task_str(&text, "task.yaml", &no_env, None).unwrap_err();
    assert!(errs.errors()[0].message.contains("no secret-key-path"));

    let ok = parse_task_str(&text, "task.yaml", &no_env, Some(&key)).unwrap();
    assert_eq!(
        ok.config.target().unwrap().password.expose(),
        "pw-value-123"
    );
}

#[test]
fn tampered_ciphertext_is_rejected() {
    let key = SecretKey::from_hex(&SecretKey::generate_hex()).unwrap();
    let sealed = encrypt(&key, "secret").unwrap();
    let body = &sealed[ENCRYPTED_PREFIX.len()..];
    // Flip one character of the base64 body (keeping it valid base64).
    let mut chars: Vec<char> = body.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    let tampered = format!(
        "{ENCRYPTED_PREFIX}{}",
        chars.into_iter().collect::<String>()
    );
    assert!(matches!(
        decrypt_or_plaintext(Some(&key), &tampered),
        Err(SecretError::Decrypt { .. })
    ));
    assert!(matches!(
        decrypt_or_plaintext(Some(&key), "ferry:v1:!!!"),
        Err(SecretError::Malformed(_))
    ));
    assert_eq!(decrypt_or_plaintext(Some(&key), &sealed).unwrap(), "secret");
}

#[test]
fn key_files_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.key");
    std::fs::write(&bad, "not hex at all").unwrap();
    let e = SecretKey::load(&bad).unwrap_err();
    assert!(e.to_string().contains("bad.key"), "{e}");
    assert!(SecretKey::load(&dir.path().join("absent.key")).is_err());
}

#[test]
fn stored_json_keeps_the_secret_sealed() {
    let key = SecretKey::from_hex(&SecretKey::generate_hex()).unwrap();
    let s = parse_source_str(&read_fixture("source1.yaml"), "s", &seed_env(), None)
        .unwrap()
        .config;
    let stored = s.to_stored_json(Some(&key)).unwrap();
    let pw = stored["from"]["password"].as_str().unwrap();
    assert!(pw.starts_with(ENCRYPTED_PREFIX));
    let back = SourceConfig::from_stored_json(stored, Some(&key)).unwrap();
    assert_eq!(back.from.password.expose(), s.from.password.expose());
    assert_eq!(back, s);

    let plain = s.to_stored_json(None).unwrap();
    assert_eq!(plain["from"]["password"], s.from.password.expose());

    let t = parse_task_str(&read_fixture("task2.yaml"), "t", &seed_env(), None)
        .unwrap()
        .config;
    let stored = t.to_stored_json(Some(&key)).unwrap();
    let back = TaskConfig::from_stored_json(stored, Some(&key)).unwrap();
    assert_eq!(back, t);
    let other = SecretKey::from_hex(&SecretKey::generate_hex()).unwrap();
    let stored = t.to_stored_json(Some(&key)).unwrap();
    assert!(TaskConfig::from_stored_json(stored, Some(&other)).is_err());
}
