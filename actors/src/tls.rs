//! TLS to the upstream and the downstream: a `security` block's CA verifies the server, and its
//! client certificate and key (`ssl-cert` / `ssl-key` files, or the inline `-bytes` / `-base64`
//! forms) authenticate Ferry to a server whose user `REQUIRE X509` (or `SUBJECT` / `ISSUER`).

use ferry_config::Security;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::PKey;
use openssl::stack::Stack;
use openssl::x509::X509;

use crate::error::TaskError;

/// The TLS material of one endpoint, ready for the driver.
#[derive(Clone, Default)]
pub struct TlsFiles {
    /// CA certificate; without it the server certificate is not verified.
    pub ca: Option<Vec<u8>>,
    /// The client certificate (with its chain) and key as a PKCS#12 archive (empty password).
    pub identity: Option<Vec<u8>>,
}

impl std::fmt::Debug for TlsFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key never reaches a log.
        f.debug_struct("TlsFiles")
            .field("ca", &self.ca.is_some())
            .field("client_identity", &self.identity.is_some())
            .finish()
    }
}

/// One PEM from its inline form or its file; `key` names it in errors.
fn pem(
    what: &str,
    key: &str,
    inline: Option<Vec<u8>>,
    path: &Option<String>,
) -> Result<Option<Vec<u8>>, TaskError> {
    match (inline, path.as_deref().filter(|p| !p.is_empty())) {
        (Some(pem), _) => Ok(Some(pem)),
        (None, Some(path)) => std::fs::read(path)
            .map(Some)
            .map_err(|e| TaskError::Config(format!("{what}.{key}: cannot read {path}: {e}"))),
        (None, None) => Ok(None),
    }
}

/// The TLS material of a `security` block; `what` (`from.security`, ...) names it in errors.
pub fn load(what: &str, s: &Security) -> Result<TlsFiles, TaskError> {
    let ca = pem(what, "ssl-ca", s.ca_pem(), &s.ssl_ca)?;
    if ca.is_none() {
        tracing::warn!(
            "{what} has no ssl-ca: TLS is used without verifying the server certificate"
        );
    }
    let cert = pem(what, "ssl-cert", s.cert_pem(), &s.ssl_cert)?;
    let key = pem(what, "ssl-key", s.key_pem(), &s.ssl_key)?;
    let identity = match (cert, key) {
        (None, None) => None,
        (Some(_), None) => {
            return Err(TaskError::Config(format!(
                "{what}: ssl-cert is set without ssl-key (a client certificate needs its key)"
            )))
        }
        (None, Some(_)) => {
            return Err(TaskError::Config(format!(
                "{what}: ssl-key is set without ssl-cert (a client key needs its certificate)"
            )))
        }
        (Some(cert), Some(key)) => Some(
            pkcs12(&cert, &key)
                .map_err(|e| TaskError::Config(format!("{what}: ssl-cert / ssl-key: {e}")))?,
        ),
    };
    Ok(TlsFiles { ca, identity })
}

/// A PKCS#12 archive (empty password) of the certificate chain `cert_pem` (leaf first) and
/// the private key `key_pem` (PKCS#1 or PKCS#8 PEM).
pub fn pkcs12(cert_pem: &[u8], key_pem: &[u8]) -> Result<Vec<u8>, String> {
    let mut chain = X509::stack_from_pem(cert_pem)
        .map_err(|e| format!("the certificate is not PEM: {e}"))?
        .into_iter();
    let leaf = chain
        .next()
        .ok_or_else(|| "no certificate in the PEM".to_string())?;
    let key = PKey::private_key_from_pem(key_pem)
        .map_err(|e| format!("the key is not a PEM private key: {e}"))?;
    if !leaf
        .public_key()
        .map_err(|e| e.to_string())?
        .public_eq(&key)
    {
        return Err("the key does not belong to the certificate".to_string());
    }
    let mut builder = Pkcs12::builder();
    builder.name("ferry").pkey(&key).cert(&leaf);
    let rest: Vec<X509> = chain.collect();
    if !rest.is_empty() {
        let mut stack = Stack::new().map_err(|e| e.to_string())?;
        for c in rest {
            stack.push(c).map_err(|e| e.to_string())?;
        }
        builder.ca(stack);
    }
    builder
        .build2("")
        .and_then(|p| p.to_der())
        .map_err(|e| format!("cannot build the client identity: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::asn1::Asn1Time;
    use openssl::hash::MessageDigest;
    use openssl::rsa::Rsa;
    use openssl::x509::X509NameBuilder;

    fn self_signed() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "ferry-test").unwrap();
        let name = name.build();
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::days_from_now(1).unwrap())
            .unwrap();
        b.sign(&key, MessageDigest::sha256()).unwrap();
        let other = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        (
            b.build().to_pem().unwrap(),
            key.private_key_to_pem_pkcs8().unwrap(),
            other.private_key_to_pem_pkcs8().unwrap(),
        )
    }

    #[test]
    fn a_certificate_and_its_key_make_an_identity_and_a_wrong_key_is_refused() {
        let (cert, key, other) = self_signed();
        let der = pkcs12(&cert, &key).unwrap();
        let parsed = Pkcs12::from_der(&der).unwrap().parse2("").unwrap();
        assert!(parsed.cert.is_some() && parsed.pkey.is_some());
        let e = pkcs12(&cert, &other).unwrap_err();
        assert!(e.contains("does not belong"), "{e}");
        let e = pkcs12(b"junk", &key).unwrap_err();
        assert!(e.contains("not PEM") || e.contains("no certificate"), "{e}");
    }

    #[test]
    fn a_certificate_without_its_key_is_refused_naming_the_keys() {
        let (cert, _, _) = self_signed();
        let s = Security {
            ssl_cert_bytes: Some(String::from_utf8(cert).unwrap()),
            ..Default::default()
        };
        let e = load("from.security", &s).err().unwrap().to_string();
        assert!(e.contains("from.security") && e.contains("ssl-key"), "{e}");
    }
}
