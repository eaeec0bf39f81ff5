//! The API locked down: beyond loopback ferryd refuses to start without TLS and a bearer
//! token; with `ssl-cert` / `ssl-key` / `ssl-ca` / `api-token-path` it speaks HTTPS, asks
//! clients for a certificate signed by the CA, and refuses requests without the token.
//! `ferryctl` reaches it with `--ssl-ca` / `--ssl-cert` / `--ssl-key` and the token from
//! `--api-token-file` or `FERRY_API_TOKEN`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ferry_tests::child::{wait_exit, Spawned};
use ferry_tests::ferry::{bin, ferryctl};
use ferry_tests::reserve_port;
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
};
use openssl::x509::{X509NameBuilder, X509};

const TOKEN: &str = "f3rry-t0ken-0123456789abcdef";

fn key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

/// A certificate for `cn` signed by `issuer` (self-signed CA when `None`).
fn certificate(
    cn: &str,
    key: &PKey<Private>,
    issuer: Option<(&X509, &PKey<Private>)>,
    server: bool,
) -> X509 {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    let serial = BigNum::from_u32(rand::random::<u32>() >> 1)
        .unwrap()
        .to_asn1_integer()
        .unwrap();
    b.set_serial_number(&serial).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(issuer.map_or(&name, |(c, _)| c.subject_name()))
        .unwrap();
    b.set_pubkey(key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(2).unwrap())
        .unwrap();
    match issuer {
        None => {
            b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
                .unwrap();
            b.append_extension(KeyUsage::new().key_cert_sign().crl_sign().build().unwrap())
                .unwrap();
        }
        Some((ca, _)) => {
            let san = SubjectAlternativeName::new()
                .ip("127.0.0.1")
                .dns("localhost")
                .build(&b.x509v3_context(Some(ca), None))
                .unwrap();
            b.append_extension(san).unwrap();
            let mut eku = ExtendedKeyUsage::new();
            if server {
                eku.server_auth();
            } else {
                eku.client_auth();
            }
            b.append_extension(eku.build().unwrap()).unwrap();
        }
    }
    let signer = issuer.map_or(key, |(_, k)| k);
    b.sign(signer, MessageDigest::sha256()).unwrap();
    b.build()
}

struct Pki {
    ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
    other_ca: PathBuf,
}

fn write_pem(dir: &Path, name: &str, pem: Vec<u8>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, pem).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

fn pki(dir: &Path) -> Pki {
    let ca_key = key();
    let ca = certificate("ferry test CA", &ca_key, None, false);
    let (sk, ck) = (key(), key());
    let server = certificate("ferryd", &sk, Some((&ca, &ca_key)), true);
    let client = certificate("ferryctl", &ck, Some((&ca, &ca_key)), false);
    let other_key = key();
    let other = certificate("another CA", &other_key, None, false);
    Pki {
        ca: write_pem(dir, "ca.pem", ca.to_pem().unwrap()),
        server_cert: write_pem(dir, "server.pem", server.to_pem().unwrap()),
        server_key: write_pem(
            dir,
            "server-key.pem",
            sk.private_key_to_pem_pkcs8().unwrap(),
        ),
        client_cert: write_pem(dir, "client.pem", client.to_pem().unwrap()),
        client_key: write_pem(
            dir,
            "client-key.pem",
            ck.private_key_to_pem_pkcs8().unwrap(),
        ),
        other_ca: write_pem(dir, "other-ca.pem", other.to_pem().unwrap()),
    }
}

fn spawn(config: &Path, extra: &[&str], out: &Path) -> Child {
    let log = std::fs::File::create(out).unwrap();
    Command::new(bin("ferryd"))
        .arg("--config")
        .arg(config)
        .args(extra)
        .env_remove("NOTIFY_SOCKET")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

#[test]
fn an_api_beyond_loopback_without_tls_and_token_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let port = reserve_port().unwrap();
    let config = dir.path().join("ferryd.yaml");
    // The file binds to every interface: refused by the file's validation, nothing listens.
    std::fs::write(
        &config,
        format!(
            "master-addr: \"0.0.0.0:{port}\"\ndata-dir: \"{}\"\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let out = dir.path().join("out.txt");
    let mut child = spawn(&config, &[], &out);
    let st = wait_exit(&mut child, Duration::from_secs(30));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(!st.success(), "refused: {text}");
    for needle in [
        config.to_str().unwrap(),
        "master-addr",
        "ssl-cert and ssl-key",
        "api-token-path",
    ] {
        assert!(text.contains(needle), "`{needle}` named in: {text}");
    }
    // The same from a loopback file moved by --master-addr.
    std::fs::write(
        &config,
        format!(
            "master-addr: \"127.0.0.1:{port}\"\ndata-dir: \"{}\"\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let mut child = spawn(&config, &["--master-addr", &format!("[::]:{port}")], &out);
    let st = wait_exit(&mut child, Duration::from_secs(30));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(!st.success(), "refused: {text}");
    assert!(
        text.contains("and flags") && text.contains("api-token-path"),
        "{text}"
    );
    assert!(
        !dir.path().join("data").exists(),
        "refused before anything was created"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_client_certificates_and_a_bearer_token() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path());
    let token_file = write_pem(dir.path(), "api-token", format!("{TOKEN}\n").into_bytes());
    let port = reserve_port().unwrap();
    let addr = format!("127.0.0.1:{port}");
    let config = dir.path().join("ferryd.yaml");
    std::fs::write(
        &config,
        format!(
            "master-addr: \"{addr}\"\ndata-dir: \"{}\"\nssl-ca: \"{}\"\nssl-cert: \"{}\"\n\
             ssl-key: \"{}\"\napi-token-path: \"{}\"\n",
            dir.path().join("data").display(),
            pki.ca.display(),
            pki.server_cert.display(),
            pki.server_key.display(),
            token_file.display()
        ),
    )
    .unwrap();
    let out = dir.path().join("out.txt");
    let _daemon = Spawned(spawn(&config, &[], &out));

    let tls: Vec<String> = vec![
        "--master-addr".into(),
        addr.clone(),
        "--ssl-ca".into(),
        pki.ca.display().to_string(),
        "--ssl-cert".into(),
        pki.client_cert.display().to_string(),
        "--ssl-key".into(),
        pki.client_key.display().to_string(),
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        let mut v = tls.clone();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let file_arg = format!("--api-token-file={}", token_file.display());
    let ok_args = with(&[&file_arg, "query-status"]);
    let ok_args: Vec<&str> = ok_args.iter().map(String::as_str).collect();

    // Wait until it serves (certificates, token and all).
    let deadline = Instant::now() + Duration::from_secs(60);
    let answer = loop {
        let o = ferryctl(&ok_args, &[]).await;
        if o.ok {
            break o;
        }
        assert!(
            Instant::now() < deadline,
            "ferryd never answered over HTTPS: {o}\n{}",
            std::fs::read_to_string(&out).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(answer.json["result"], serde_json::json!(true), "{answer}");

    // The token from the environment works as well as from the file.
    let env_args = with(&["query-status"]);
    let env_args: Vec<&str> = env_args.iter().map(String::as_str).collect();
    let o = ferryctl(&env_args, &[("FERRY_API_TOKEN", TOKEN)]).await;
    assert!(o.ok, "token from FERRY_API_TOKEN: {o}");

    // Without the token, or with another, the request is refused (401).
    let o = ferryctl(&env_args, &[]).await;
    assert!(!o.ok, "no token: {o}");
    assert!(o.text().contains("Bearer"), "says what is missing: {o}");
    let o = ferryctl(&env_args, &[("FERRY_API_TOKEN", "wrong-token-0123456789")]).await;
    assert!(!o.ok && o.text().contains("Bearer"), "wrong token: {o}");

    // Without a client certificate the handshake fails.
    let no_cert = [
        "--master-addr",
        &addr,
        "--ssl-ca",
        pki.ca.to_str().unwrap(),
        &file_arg,
        "query-status",
    ];
    let o = ferryctl(&no_cert, &[]).await;
    assert!(!o.ok, "no client certificate: {o}");
    assert!(o.text().contains("cannot reach ferryd"), "{o}");

    // A CA that did not sign the server's certificate does not trust it.
    let other = [
        "--master-addr",
        &addr,
        "--ssl-ca",
        pki.other_ca.to_str().unwrap(),
        "--ssl-cert",
        pki.client_cert.to_str().unwrap(),
        "--ssl-key",
        pki.client_key.to_str().unwrap(),
        &file_arg,
        "query-status",
    ];
    let o = ferryctl(&other, &[]).await;
    assert!(
        !o.ok && o.text().contains("cannot reach ferryd"),
        "untrusted server: {o}"
    );

    // Plain HTTP gets no answer from the TLS port.
    let plain = ["--master-addr", &addr, &file_arg, "query-status"];
    let o = ferryctl(&plain, &[]).await;
    assert!(!o.ok, "plain HTTP to the TLS port: {o}");
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    assert!(!text.contains(TOKEN), "the token is never printed: {text}");
}
