//! HTTPS for the sandbox: a CA and a leaf certificate for `localhost`, `127.0.0.1` and `::1`
//! generated at start (rcgen, new keys every start, never written unless asked), and the rustls
//! server config offering HTTP/2 and HTTP/1.1 by ALPN; optionally client certificates (mutual
//! TLS) signed by the same CA, with one such certificate made for the caller.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

use crate::SandboxError;

/// The host names and addresses the sandbox's certificate is valid for.
pub const TLS_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A client certificate and its key, as PEM text (the key is a secret: never logged).
#[derive(Clone)]
pub struct ClientIdentityPem {
    /// The certificate, signed by the sandbox's CA.
    pub cert_pem: String,
    /// Its PKCS#8 private key.
    pub key_pem: String,
}

impl std::fmt::Debug for ClientIdentityPem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentityPem")
            .field("key_pem", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// What serving HTTPS takes: the acceptor, and what the caller may see.
pub(crate) struct ServerTls {
    /// The CA certificate clients must trust, PEM.
    pub(crate) ca_pem: String,
    /// A client certificate the server accepts, when it asks for one.
    pub(crate) client: Option<ClientIdentityPem>,
    /// The TLS acceptor of every connection.
    pub(crate) acceptor: TlsAcceptor,
}

fn failed(what: &str) -> impl FnOnce(rcgen::Error) -> SandboxError + '_ {
    move |e| SandboxError::Tls(format!("{what}: {e}"))
}

fn rustls_failed(what: &str) -> impl FnOnce(rustls::Error) -> SandboxError + '_ {
    move |e| SandboxError::Tls(format!("{what}: {e}"))
}

/// Makes a CA, a server certificate signed by it and the server config; with
/// `client_certificates`, the server requires a client certificate signed by the CA and one is
/// made for the caller.
pub(crate) fn generate(client_certificates: bool) -> Result<ServerTls, SandboxError> {
    let ca_key = KeyPair::generate().map_err(failed("generating the CA key"))?;
    let mut ca_params =
        CertificateParams::new(Vec::<String>::new()).map_err(failed("the CA's parameters"))?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "dbsync sandbox CA (made at start)");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key)
        .map_err(failed("signing the CA certificate"))?;

    let (leaf_der, leaf_key) = signed_leaf(
        &ca,
        TLS_NAMES.iter().map(|n| (*n).to_owned()).collect(),
        "localhost",
        ExtendedKeyUsagePurpose::ServerAuth,
    )?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(rustls_failed("the TLS versions"))?;
    let (builder, client) = if client_certificates {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(ca.der().clone())
            .map_err(rustls_failed("the client CA"))?;
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| SandboxError::Tls(format!("the client verifier: {e}")))?;
        let (cert, key) = signed_leaf(
            &ca,
            Vec::new(),
            "dbsync sandbox client",
            ExtendedKeyUsagePurpose::ClientAuth,
        )?;
        let pem = |label: &str, der: &[u8]| pem_block(label, der);
        let client = ClientIdentityPem {
            cert_pem: pem("CERTIFICATE", &cert),
            key_pem: pem("PRIVATE KEY", key.secret_pkcs8_der()),
        };
        (builder.with_client_cert_verifier(verifier), Some(client))
    } else {
        (builder.with_no_client_auth(), None)
    };
    let mut config = builder
        .with_single_cert(
            vec![leaf_der, ca.der().clone()],
            PrivateKeyDer::Pkcs8(leaf_key),
        )
        .map_err(rustls_failed("the server certificate"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(ServerTls {
        ca_pem: ca.pem(),
        client,
        acceptor: TlsAcceptor::from(Arc::new(config)),
    })
}

/// A certificate for `names` signed by `ca`, with its new key.
fn signed_leaf(
    ca: &CertifiedIssuer<'_, KeyPair>,
    names: Vec<String>,
    common_name: &str,
    usage: ExtendedKeyUsagePurpose,
) -> Result<(CertificateDer<'static>, PrivatePkcs8KeyDer<'static>), SandboxError> {
    let key = KeyPair::generate().map_err(failed("generating a key"))?;
    let mut params = CertificateParams::new(names).map_err(failed("the certificate's names"))?;
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.extended_key_usages = vec![usage];
    params.use_authority_key_identifier_extension = true;
    let cert = params
        .signed_by(&key, ca)
        .map_err(failed("signing a certificate"))?;
    Ok((
        cert.der().clone(),
        PrivatePkcs8KeyDer::from(key.serialize_der()),
    ))
}

/// `der` as one PEM block.
fn pem_block(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in text.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ca_is_pem_and_a_client_identity_is_made_only_when_asked() {
        let plain = generate(false).unwrap();
        assert!(plain.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(plain.client.is_none());
        let mutual = generate(true).unwrap();
        let client = mutual.client.unwrap();
        assert!(client.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(client.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(!format!("{client:?}").contains("PRIVATE"));
    }
}
