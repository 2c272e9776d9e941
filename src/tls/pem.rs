//! Reading the PEM files the configuration names: certificates, private keys, and CRLs
//! (PEM, or a whole file of DER).

use std::fs::File;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};

use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::RootCertStore;

/// Why a PEM file the configuration names cannot be used; each names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PemError {
    #[error("cannot open {}", .path.display())]
    Open { path: PathBuf, source: io::Error },
    #[error("{}: not a PEM certificate file", .path.display())]
    NotCertificates { path: PathBuf, source: io::Error },
    #[error("{}: holds no certificate", .path.display())]
    NoCertificate { path: PathBuf },
    #[error("{}: not a PEM key file", .path.display())]
    NotKey { path: PathBuf, source: io::Error },
    #[error("{}: holds no private key", .path.display())]
    NoKey { path: PathBuf },
    #[error("{}: not a PEM CRL file", .path.display())]
    NotCrls { path: PathBuf, source: io::Error },
    #[error("{}: holds no readable PEM CRL", .path.display())]
    NoCrl { path: PathBuf },
    #[error("{}: not a usable CA certificate", .path.display())]
    UnusableCa { path: PathBuf, source: rustls::Error },
}

fn open(path: &Path) -> Result<BufReader<File>, PemError> {
    File::open(path).map(BufReader::new).map_err(|source| PemError::Open { path: path.to_path_buf(), source })
}

/// All certificates in a PEM file; at least one.
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, PemError> {
    let certificates = rustls_pemfile::certs(&mut open(path)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| PemError::NotCertificates { path: path.to_path_buf(), source })?;
    if certificates.is_empty() {
        return Err(PemError::NoCertificate { path: path.to_path_buf() });
    }
    Ok(certificates)
}

/// The first private key (PKCS#8, PKCS#1 or SEC1) in a PEM file.
pub fn read_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, PemError> {
    rustls_pemfile::private_key(&mut open(path)?)
        .map_err(|source| PemError::NotKey { path: path.to_path_buf(), source })?
        .ok_or_else(|| PemError::NoKey { path: path.to_path_buf() })
}

/// All CRLs in `bytes` (read from `path`): PEM blocks, or the whole as one DER CRL.
pub(super) fn crls_in(bytes: &[u8], path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, PemError> {
    let pem = rustls_pemfile::crls(&mut &bytes[..])
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| PemError::NotCrls { path: path.to_path_buf(), source })?;
    if pem.is_empty() && bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        return Err(PemError::NoCrl { path: path.to_path_buf() });
    }
    Ok(match pem.is_empty() {
        true => vec![CertificateRevocationListDer::from(bytes.to_vec())],
        false => pem,
    })
}

/// The CA certificates of a PEM file, as the trust anchors of a TLS configuration.
pub(super) fn root_store(path: &Path) -> Result<RootCertStore, PemError> {
    let mut roots = RootCertStore::empty();
    for ca in read_certificates(path)? {
        roots.add(ca).map_err(|source| PemError::UnusableCa { path: path.to_path_buf(), source })?;
    }
    Ok(roots)
}
