//! Reading the PEM files the configuration names: certificates, private keys, and CRLs
//! (PEM, or a whole file of DER).

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use anyhow::{anyhow, Context};
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::RootCertStore;

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

/// All CRLs in `bytes` (read from `path`): PEM blocks, or the whole as one DER CRL.
pub(super) fn crls_in(bytes: &[u8], path: &Path) -> anyhow::Result<Vec<CertificateRevocationListDer<'static>>> {
    let pem = rustls_pemfile::crls(&mut &bytes[..])
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{}: not a PEM CRL file", path.display()))?;
    if pem.is_empty() && bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        anyhow::bail!("{}: holds no readable PEM CRL", path.display());
    }
    Ok(match pem.is_empty() {
        true => vec![CertificateRevocationListDer::from(bytes.to_vec())],
        false => pem,
    })
}

/// The CA certificates of a PEM file, as the trust anchors of a TLS configuration.
pub(super) fn root_store(path: &Path) -> anyhow::Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for ca in read_certificates(path)? {
        roots.add(ca).with_context(|| format!("{}: not a usable CA certificate", path.display()))?;
    }
    Ok(roots)
}
