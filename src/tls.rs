//! The TLS side of the server: a rustls configuration that makes a client certificate
//! chaining to the configured CA mandatory (no certificate, an expired one or one from
//! another CA fails the handshake), offers HTTP/2 and HTTP/1.1 by ALPN, and uses the ring
//! provider (pure Rust and C-free apart from ring's own assembly; no OpenSSL).
//!
//! Revocation: CRLs (PEM or DER files, one or more per trusted CA) are checked for every
//! certificate of the client's chain; a revoked certificate fails the handshake. With CRLs
//! configured, a client whose CA has no CRL among them fails too (unknown status is not
//! good status). The files are re-read when they change (checked at most once a second, on
//! the next handshake); a new file that cannot be read is logged and the CRLs in force stay.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{anyhow, Context};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme};

/// How often the CRL files' modification times are looked at, at most.
const CRL_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Builds the server's TLS configuration from PEM files, without revocation checking.
pub fn server_config(certificate: &Path, private_key: &Path, client_ca: &Path) -> anyhow::Result<Arc<ServerConfig>> {
    server_config_with_crls(certificate, private_key, client_ca, &[])
}

/// Builds the server's TLS configuration from PEM files, checking client certificates
/// against the CRLs in `crls` (re-read when they change).
pub fn server_config_with_crls(certificate: &Path, private_key: &Path, client_ca: &Path, crls: &[PathBuf]) -> anyhow::Result<Arc<ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for ca in read_certificates(client_ca)? {
        roots.add(ca).with_context(|| format!("{}: not a usable CA certificate", client_ca.display()))?;
    }
    let verifier = Arc::new(RevocationCheckingVerifier::new(Arc::new(roots), provider.clone(), crls.to_vec())?);
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("choosing TLS versions")?
        .with_client_cert_verifier(verifier)
        .with_single_cert(read_certificates(certificate)?, read_private_key(private_key)?)
        .with_context(|| format!("{}: the key does not fit the certificate", private_key.display()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A client configuration that trusts only the CA certificates in `ca` (PEM) and, given an
/// `identity` (certificate chain, private key), presents it. The server's name is checked
/// against its certificate by rustls, as always. Used to call the service (`client`,
/// `replay`) and to reach PostgreSQL.
pub fn client_config(ca: &Path, identity: Option<(&Path, &Path)>) -> anyhow::Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for certificate in read_certificates(ca)? {
        roots.add(certificate).with_context(|| format!("{}: not a usable CA certificate", ca.display()))?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("choosing TLS versions")?
        .with_root_certificates(roots);
    match identity {
        None => Ok(builder.with_no_client_auth()),
        Some((certificate, private_key)) => builder
            .with_client_auth_cert(read_certificates(certificate)?, read_private_key(private_key)?)
            .with_context(|| format!("{}: the key does not fit the certificate", private_key.display())),
    }
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

/// All CRLs in a file: PEM blocks, or the whole file as one DER CRL.
pub fn read_crls(path: &Path) -> anyhow::Result<Vec<CertificateRevocationListDer<'static>>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let pem = rustls_pemfile::crls(&mut bytes.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{}: not a PEM CRL file", path.display()))?;
    Ok(match pem.is_empty() {
        true => vec![CertificateRevocationListDer::from(bytes)],
        false => pem,
    })
}

/// rustls's WebPKI client verifier, rebuilt when a CRL file changes.
struct RevocationCheckingVerifier {
    roots: Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
    crl_files: Vec<PathBuf>,
    /// The trusted CAs' names (sent as hints); they do not depend on the CRLs.
    hints: Vec<DistinguishedName>,
    current: RwLock<Arc<dyn ClientCertVerifier>>,
    /// When the files were last looked at, and their modification times then.
    checked: Mutex<(Instant, Vec<Option<SystemTime>>)>,
}

impl std::fmt::Debug for RevocationCheckingVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevocationCheckingVerifier").field("crl_files", &self.crl_files).finish_non_exhaustive()
    }
}

impl RevocationCheckingVerifier {
    fn new(roots: Arc<RootCertStore>, provider: Arc<CryptoProvider>, crl_files: Vec<PathBuf>) -> anyhow::Result<Self> {
        let stamps = modification_times(&crl_files);
        let verifier = build_verifier(&roots, &provider, &crl_files)?;
        Ok(RevocationCheckingVerifier {
            hints: verifier.root_hint_subjects().to_vec(),
            roots,
            provider,
            crl_files,
            current: RwLock::new(verifier),
            checked: Mutex::new((Instant::now(), stamps)),
        })
    }

    /// The verifier in force, after re-reading the CRLs if a file changed.
    fn verifier(&self) -> Arc<dyn ClientCertVerifier> {
        if !self.crl_files.is_empty() {
            self.reload_if_changed();
        }
        match self.current.read() {
            Ok(current) => current.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn reload_if_changed(&self) {
        let Ok(mut checked) = self.checked.try_lock() else { return }; // another handshake is looking
        if checked.0.elapsed() < CRL_CHECK_INTERVAL {
            return;
        }
        checked.0 = Instant::now();
        let stamps = modification_times(&self.crl_files);
        if stamps == checked.1 {
            return;
        }
        checked.1 = stamps;
        match build_verifier(&self.roots, &self.provider, &self.crl_files) {
            Ok(verifier) => {
                tracing::info!(files = ?self.crl_files, "CRLs re-read");
                match self.current.write() {
                    Ok(mut current) => *current = verifier,
                    Err(poisoned) => *poisoned.into_inner() = verifier,
                }
            }
            Err(error) => tracing::error!(error = %format!("{error:#}"), "changed CRLs cannot be used; the previous ones stay in force"),
        }
    }
}

fn modification_times(files: &[PathBuf]) -> Vec<Option<SystemTime>> {
    files.iter().map(|file| std::fs::metadata(file).and_then(|m| m.modified()).ok()).collect()
}

fn build_verifier(roots: &Arc<RootCertStore>, provider: &Arc<CryptoProvider>, crl_files: &[PathBuf]) -> anyhow::Result<Arc<dyn ClientCertVerifier>> {
    let mut crls = Vec::new();
    for file in crl_files {
        crls.extend(read_crls(file)?);
    }
    WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
        .with_crls(crls)
        .build()
        .context("building the client certificate verifier (are the CRLs valid?)")
}

impl ClientCertVerifier for RevocationCheckingVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(&self, end_entity: &CertificateDer<'_>, intermediates: &[CertificateDer<'_>], now: UnixTime) -> Result<ClientCertVerified, rustls::Error> {
        self.verifier().verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verifier().verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verifier().verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.verifier().supported_verify_schemes()
    }
}
