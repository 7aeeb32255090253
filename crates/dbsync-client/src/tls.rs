//! TLS of the connection's HTTP client: the backend picked by Cargo feature (`rustls` with
//! aws-lc-rs by default, `rustls-ring`, `native-tls`), an extra CA certificate to trust, and a
//! client certificate for mutual TLS. Files are read and checked when the connection is built;
//! a missing or malformed one is an [`Error::Config`] naming its setting.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::Error;

/// The largest certificate or key file read (1 MiB; a CA bundle of a few hundred certificates
/// fits). A larger file is an [`Error::Config`] naming its setting.
pub const MAX_PEM_FILE_BYTES: u64 = 1024 * 1024;

/// The setting of the extra CA, as errors name it.
const CA_SETTING: &str = "tls.ca_file (ConnectionBuilder::ca_certificate_pem_file)";
/// The setting of the client certificate, as errors name it.
const CERT_SETTING: &str = "tls.client_cert_file (ConnectionBuilder::client_identity_pem_files)";
/// The setting of the client key, as errors name it.
const KEY_SETTING: &str = "tls.client_key_file (ConnectionBuilder::client_identity_pem_files)";

/// The TLS options a builder was given (paths only: read at build time).
#[derive(Debug, Clone, Default)]
pub(crate) struct TlsOptions {
    /// A PEM file of CA certificates trusted besides the platform's roots.
    pub(crate) ca_file: Option<PathBuf>,
    /// A PEM file with the client certificate (and its chain).
    pub(crate) client_cert_file: Option<PathBuf>,
    /// A PEM file with the client certificate's private key.
    pub(crate) client_key_file: Option<PathBuf>,
}

impl TlsOptions {
    /// Whether any option is set (they cannot apply to a client the caller built).
    pub(crate) fn is_set(&self) -> bool {
        self.ca_file.is_some() || self.client_cert_file.is_some() || self.client_key_file.is_some()
    }

    /// Checks the options and applies them (and the backend) to `builder`.
    pub(crate) fn apply(
        &self,
        builder: reqwest::ClientBuilder,
    ) -> Result<reqwest::ClientBuilder, Error> {
        let ca = match &self.ca_file {
            Some(path) => Some(read_ca(path)?),
            None => None,
        };
        let identity = match (&self.client_cert_file, &self.client_key_file) {
            (None, None) => None,
            (Some(_), None) => {
                return Err(Error::config(format!(
                    "{KEY_SETTING} is missing: a client certificate needs its private key (a \
                     PEM file with a PRIVATE KEY block)"
                )));
            }
            (None, Some(_)) => {
                return Err(Error::config(format!(
                    "{CERT_SETTING} is missing: a client key needs its certificate (a PEM file \
                     with a CERTIFICATE block)"
                )));
            }
            (Some(cert), Some(key)) => Some(read_identity(cert, key)?),
        };
        backend::apply(builder, ca, identity)
    }
}

/// A client certificate chain and its key, checked, as PEM text.
#[cfg_attr(
    not(any(feature = "rustls", feature = "rustls-ring", feature = "native-tls")),
    allow(dead_code)
)]
pub(crate) struct Identity {
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
}

/// Reads a file of at most [`MAX_PEM_FILE_BYTES`].
fn read_limited(path: &Path, setting: &str) -> Result<Vec<u8>, Error> {
    let file = std::fs::File::open(path).map_err(|e| {
        Error::config(format!(
            "{setting}: could not read `{}`: {e}",
            path.display()
        ))
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_PEM_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            Error::config(format!(
                "{setting}: could not read `{}`: {e}",
                path.display()
            ))
        })?;
    if bytes.len() as u64 > MAX_PEM_FILE_BYTES {
        return Err(Error::config(format!(
            "{setting}: `{}` is larger than {MAX_PEM_FILE_BYTES} bytes: not a certificate file",
            path.display()
        )));
    }
    Ok(bytes)
}

/// The certificates of a PEM file (at least one), as DER.
fn read_certificates(path: &Path, setting: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let bytes = read_limited(path, setting)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            Error::config(format!(
                "{setting}: `{}` is not a valid PEM file ({e})",
                path.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(Error::config(format!(
            "{setting}: `{}` holds no PEM certificate (a -----BEGIN CERTIFICATE----- block)",
            path.display()
        )));
    }
    Ok(certs)
}

/// The CA certificates of `path`.
fn read_ca(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    read_certificates(path, CA_SETTING)
}

/// The client certificate of `cert` and the key of `key`, both checked.
fn read_identity(cert: &Path, key: &Path) -> Result<Identity, Error> {
    read_certificates(cert, CERT_SETTING)?;
    let cert_pem = read_limited(cert, CERT_SETTING)?;
    let key_pem = read_limited(key, KEY_SETTING)?;
    // Never quote the key or the parser's view of it.
    PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| {
        Error::config(format!(
            "{KEY_SETTING}: `{}` holds no PEM private key (a -----BEGIN PRIVATE KEY-----, RSA or \
             EC PRIVATE KEY block)",
            key.display()
        ))
    })?;
    Ok(Identity { cert_pem, key_pem })
}

/// The build has no TLS backend: options that need one are refused.
#[cfg(not(any(feature = "rustls", feature = "rustls-ring", feature = "native-tls")))]
mod backend {
    use rustls_pki_types::CertificateDer;

    use super::Identity;
    use crate::error::Error;

    pub(super) fn apply(
        builder: reqwest::ClientBuilder,
        ca: Option<Vec<CertificateDer<'static>>>,
        identity: Option<Identity>,
    ) -> Result<reqwest::ClientBuilder, Error> {
        if ca.is_some() || identity.is_some() {
            return Err(Error::config(
                "this build of dbsync-client has no TLS backend: enable its `rustls`, \
                 `rustls-ring` or `native-tls` feature to use the tls settings",
            ));
        }
        Ok(builder)
    }
}

/// The TLS backend of the build: `native-tls` when enabled, else rustls (with ring as the
/// process's default crypto provider under `rustls-ring`, unless one is installed already).
#[cfg(any(feature = "rustls", feature = "rustls-ring", feature = "native-tls"))]
mod backend {
    use rustls_pki_types::CertificateDer;

    use super::{CERT_SETTING, Identity, KEY_SETTING};
    use crate::error::Error;

    pub(super) fn apply(
        builder: reqwest::ClientBuilder,
        ca: Option<Vec<CertificateDer<'static>>>,
        identity: Option<Identity>,
    ) -> Result<reqwest::ClientBuilder, Error> {
        let mut builder = select(builder);
        if let Some(ca) = ca {
            let mut roots = Vec::with_capacity(ca.len());
            for der in ca {
                roots.push(
                    reqwest::Certificate::from_der(&der)
                        .map_err(|e| Error::config(format!("{}: {e}", super::CA_SETTING)))?,
                );
            }
            builder = builder.tls_certs_merge(roots);
        }
        if let Some(identity) = identity {
            builder = builder.identity(to_reqwest(identity)?);
        }
        Ok(builder)
    }

    #[cfg(feature = "native-tls")]
    fn select(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        builder.tls_backend_native()
    }

    #[cfg(all(feature = "rustls-ring", not(feature = "native-tls")))]
    fn select(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // Another thread may have installed one meanwhile: then that one is used.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        builder.tls_backend_rustls()
    }

    #[cfg(all(
        feature = "rustls",
        not(feature = "rustls-ring"),
        not(feature = "native-tls")
    ))]
    fn select(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        builder.tls_backend_rustls()
    }

    #[cfg(feature = "native-tls")]
    fn to_reqwest(identity: Identity) -> Result<reqwest::Identity, Error> {
        reqwest::Identity::from_pkcs8_pem(&identity.cert_pem, &identity.key_pem).map_err(|_| {
            Error::config(format!(
                "{CERT_SETTING} / {KEY_SETTING}: native TLS needs the key as PKCS#8 (a \
                 -----BEGIN PRIVATE KEY----- block) matching the certificate"
            ))
        })
    }

    #[cfg(not(feature = "native-tls"))]
    fn to_reqwest(identity: Identity) -> Result<reqwest::Identity, Error> {
        let mut pem = identity.key_pem;
        pem.push(b'\n');
        pem.extend_from_slice(&identity.cert_pem);
        reqwest::Identity::from_pem(&pem).map_err(|_| {
            Error::config(format!(
                "{CERT_SETTING} / {KEY_SETTING}: the certificate and key could not be used \
                 together"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn options(ca: Option<PathBuf>, cert: Option<PathBuf>, key: Option<PathBuf>) -> TlsOptions {
        TlsOptions {
            ca_file: ca,
            client_cert_file: cert,
            client_key_file: key,
        }
    }

    fn error(options: &TlsOptions) -> String {
        match options.apply(reqwest::Client::builder()) {
            Err(Error::Config(message)) => message,
            Err(other) => panic!("not a config error: {other}"),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn a_missing_ca_file_names_the_setting() {
        let message = error(&options(Some("/nonexistent/ca.pem".into()), None, None));
        assert!(message.contains("tls.ca_file"), "{message}");
        assert!(message.contains("/nonexistent/ca.pem"), "{message}");
    }

    #[test]
    fn a_ca_file_that_is_not_pem_names_the_setting() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [
            ("empty.pem", ""),
            ("text.pem", "hello, not a certificate\n"),
            (
                "broken.pem",
                "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
            ),
            (
                "key-only.pem",
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            ),
        ] {
            let message = error(&options(Some(write(&dir, name, text)), None, None));
            assert!(message.contains("tls.ca_file"), "{name}: {message}");
        }
    }

    #[test]
    fn a_huge_ca_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let big = "x".repeat(MAX_PEM_FILE_BYTES as usize + 1);
        let message = error(&options(Some(write(&dir, "big.pem", &big)), None, None));
        assert!(message.contains("larger than"), "{message}");
    }

    #[test]
    fn a_client_certificate_without_its_key_names_the_key_setting() {
        let message = error(&options(None, Some("/any/cert.pem".into()), None));
        assert!(message.starts_with("tls.client_key_file"), "{message}");
        assert!(message.contains("is missing"), "{message}");
        let message = error(&options(None, None, Some("/any/key.pem".into())));
        assert!(message.starts_with("tls.client_cert_file"), "{message}");
        assert!(message.contains("is missing"), "{message}");
    }

    #[test]
    fn a_key_file_without_a_key_names_the_key_setting_and_quotes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cert = rcgen_like_cert();
        let cert_path = write(&dir, "cert.pem", &cert);
        let key_path = write(&dir, "key.pem", "secret-ish text that is no key");
        let message = error(&options(None, Some(cert_path), Some(key_path)));
        assert!(message.contains("tls.client_key_file"), "{message}");
        assert!(!message.contains("secret-ish"), "{message}");
    }

    /// A syntactically valid PEM certificate block (its contents are never parsed here).
    fn rcgen_like_cert() -> String {
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".to_owned()
    }
}
