//! The TLS side of the server: a rustls configuration that makes a client certificate
//! chaining to the configured CA mandatory (no certificate, an expired one or one from
//! another CA fails the handshake), offers HTTP/2 and HTTP/1.1 by ALPN, and uses the ring
//! provider (pure Rust and C-free apart from ring's own assembly; no OpenSSL).

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, Context};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

/// Builds the server's TLS configuration from PEM files.
pub fn server_config(certificate: &Path, private_key: &Path, client_ca: &Path) -> anyhow::Result<Arc<ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for ca in read_certificates(client_ca)? {
        roots.add(ca).with_context(|| format!("{}: not a usable CA certificate", client_ca.display()))?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .context("building the client certificate verifier")?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("choosing TLS versions")?
        .with_client_cert_verifier(verifier)
        .with_single_cert(read_certificates(certificate)?, read_private_key(private_key)?)
        .with_context(|| format!("{}: the key does not fit the certificate", private_key.display()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// All certificates in a PEM file; at least one.
pub fn read_certificates(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let certificates = rustls_pemfile::certs(&mut BufReader::new(file))
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{}: not a PEM certificate file", path.display()))?;
    if certificates.is_empty() {
        return Err(anyhow!("{}: holds no certificate", path.display()));
    }
    Ok(certificates)
}

/// The first private key (PKCS#8, PKCS#1 or SEC1) in a PEM file.
pub fn read_private_key(path: &Path) -> anyhow::Result<PrivateKeyDer<'static>> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    rustls_pemfile::private_key(&mut BufReader::new(file))
        .with_context(|| format!("{}: not a PEM key file", path.display()))?
        .ok_or_else(|| anyhow!("{}: holds no private key", path.display()))
}
