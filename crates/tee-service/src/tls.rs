//! TLS (rustls, ring provider) from PEM files.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why the TLS configuration could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsError {
    /// The certificate PEM could not be read or holds no certificate.
    Certificate(String),
    /// The key PEM could not be read or holds no private key.
    Key(String),
    /// rustls refused the pair (e.g. the key does not match).
    Config(String),
}

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Certificate(d) => write!(f, "TLS certificate: {d}"),
            Self::Key(d) => write!(f, "TLS key: {d}"),
            Self::Config(d) => write!(f, "TLS configuration: {d}"),
        }
    }
}

impl std::error::Error for TlsError {}

/// A server configuration (TLS 1.2 and 1.3, ALPN `http/1.1`) from a PEM
/// certificate chain (leaf first) and a PEM private key.
///
/// # Errors
/// [`TlsError`].
pub fn tls_config(cert_pem: &Path, key_pem: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_pem)
        .map_err(|e| TlsError::Certificate(format!("{}: {e}", cert_pem.display())))?
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Certificate(format!("{}: {e}", cert_pem.display())))?;
    if certs.is_empty() {
        return Err(TlsError::Certificate(format!(
            "{}: no CERTIFICATE block",
            cert_pem.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(key_pem)
        .map_err(|e| TlsError::Key(format!("{}: {e}", key_pem.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}
