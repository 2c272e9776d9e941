//! The TLS side of the server: a rustls configuration that makes a client certificate
//! chaining to the configured CA mandatory (no certificate, an expired one or one from
//! another CA fails the handshake), offers HTTP/2 and HTTP/1.1 by ALPN, and uses the ring
//! provider (pure Rust and C-free apart from ring's own assembly; no OpenSSL).
//!
//! Client certificates: WebPKI path validation (which also refuses an extendedKeyUsage
//! without clientAuth), and a keyUsage, when present, must allow digitalSignature: a key
//! not meant to sign cannot authenticate a handshake (alert `unsupported_certificate`).
//!
//! Revocation: CRLs (PEM or DER files, one or more per trusted CA) are checked for every
//! certificate of the client's chain; a revoked certificate fails the handshake. With CRLs
//! configured, a client whose CA has no CRL among them fails too (unknown status is not
//! good status), and so does one whose CA's CRL is past its nextUpdate (`stale_crl =
//! "refuse"`, the default). The files are re-read when their content changes (looked at
//! at most every `crl_poll_interval_seconds`, on a handshake, a request or `/ready`). A new
//! set that cannot be used — a file missing or unreadable, or a CRL older (lower CRL
//! number) than the one in force for its CA — is refused: the CRLs in force stay, until
//! their own nextUpdate, and `/ready` reports the problem until the files are fixed.
//!
//! Revocation holds for the whole life of a connection: the peer's chain is verified again
//! after every handshake (a resumed session skips the verifier inside rustls) and before a
//! request whenever the CRLs in force changed since the last check (`peer`).
//! Session resumption is off unless configured, so that a refusal is a TLS alert.
//!
//! One concern a file: `pem` reads the files, `verifier` is what rustls calls during the
//! handshake, `revocation` keeps the CRLs in force, and `peer` re-checks an open
//! connection; this file builds the server and client configurations.

mod peer;
mod pem;
mod revocation;
mod verifier;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::server::NoServerSessionStorage;
use rustls::ServerConfig;

pub(crate) use peer::PeerCertificate;
pub use pem::{read_certificates, read_private_key, PemError};
use pem::root_store;
pub use revocation::CrlError;
use revocation::{unix_now, Revocation};
use verifier::Verifier;

use crate::config::{StaleCrlPolicy, TlsConfig};
use crate::metrics::Metrics;

/// Why a TLS configuration (the server's, or a client's) cannot be built from its files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsSetupError {
    #[error(transparent)]
    Pem(#[from] PemError),
    #[error(transparent)]
    Crl(#[from] CrlError),
    #[error("choosing TLS versions")]
    Versions(#[source] rustls::Error),
    #[error("{}: the key does not fit the certificate", .private_key.display())]
    KeyMismatch { private_key: PathBuf, source: rustls::Error },
}

/// Builds a server TLS configuration from PEM files, without revocation checking.
pub fn server_config(certificate: &Path, private_key: &Path, client_ca: &Path) -> Result<Arc<ServerConfig>, TlsSetupError> {
    let settings = TlsConfig {
        certificate: certificate.to_path_buf(),
        private_key: private_key.to_path_buf(),
        client_ca: client_ca.to_path_buf(),
        crls: Vec::new(),
        stale_crl: StaleCrlPolicy::default(),
        crl_poll_interval_seconds: 1,
        session_resumption: false,
    };
    Ok(TlsState::load(&settings, None)?.server_config())
}

/// The server's TLS configuration and the revocation state its certificate verifier uses.
/// A reload replaces it as a whole.
pub struct TlsState {
    config: Arc<ServerConfig>,
    revocation: Arc<Revocation>,
}

impl std::fmt::Debug for TlsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsState").field("crl_files", &self.revocation.files).finish_non_exhaustive()
    }
}

impl TlsState {
    /// Reads the server certificate and key, the client CAs and the CRLs `settings` names.
    /// With `previous` (a reload), a CRL older than the one it has in force for the same CA
    /// is refused.
    pub fn load(settings: &TlsConfig, previous: Option<&TlsState>) -> Result<TlsState, TlsSetupError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = root_store(&settings.client_ca)?;
        let in_force = previous.map(|previous| previous.revocation.snapshot());
        let revocation = Arc::new(Revocation::new(Arc::new(roots), provider.clone(), settings, in_force.as_deref())?);
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(TlsSetupError::Versions)?
            .with_client_cert_verifier(Arc::new(Verifier(revocation.clone())))
            .with_single_cert(read_certificates(&settings.certificate)?, read_private_key(&settings.private_key)?)
            .map_err(|source| TlsSetupError::KeyMismatch { private_key: settings.private_key.clone(), source })?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        if !settings.session_resumption {
            // Every handshake is then a full one: the verifier judges each, and refuses with
            // an alert that names the reason.
            config.session_storage = Arc::new(NoServerSessionStorage {});
            config.send_tls13_tickets = 0;
        }
        Ok(TlsState { config: Arc::new(config), revocation })
    }

    pub fn server_config(&self) -> Arc<ServerConfig> {
        self.config.clone()
    }

    /// What is wrong with the CRLs now, for `/ready` and `check-config`: a set on disk that
    /// could not replace the one in force (missing, unreadable, rolled back), and, under
    /// `stale_crl = "refuse"`, CRLs in force past their nextUpdate. Looks at the files first.
    pub fn crl_problems(&self) -> Vec<String> {
        self.revocation.poll();
        self.revocation.problems(unix_now())
    }

    /// Sets the CRL gauges of `metrics` to the CRLs in force now.
    pub fn publish_crl_metrics(&self, metrics: &Metrics) {
        self.revocation.poll();
        let now = unix_now();
        let snapshot = self.revocation.snapshot();
        metrics.clear_crls();
        for crl in &snapshot.crls {
            let number = crl.number.as_ref().and_then(|n| n.to_string().parse::<f64>().ok());
            metrics.record_crl(&crl.file.display().to_string(), &crl.issuer, crl.this_update, crl.next_update, number, now);
        }
        metrics.crl_problems.set(i64::try_from(self.revocation.problems(now).len()).unwrap_or(i64::MAX));
    }
}

/// A client configuration that trusts only the CA certificates in `ca` (PEM) and, given an
/// `identity` (certificate chain, private key), presents it. The server's name is checked
/// against its certificate by rustls, as always. Used to call the service (`client`,
/// `replay`) and to reach PostgreSQL.
pub(crate) fn client_config(ca: &Path, identity: Option<(&Path, &Path)>) -> Result<rustls::ClientConfig, TlsSetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = root_store(ca)?;
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsSetupError::Versions)?
        .with_root_certificates(roots);
    match identity {
        None => Ok(builder.with_no_client_auth()),
        Some((certificate, private_key)) => builder
            .with_client_auth_cert(read_certificates(certificate)?, read_private_key(private_key)?)
            .map_err(|source| TlsSetupError::KeyMismatch { private_key: private_key.to_path_buf(), source }),
    }
}
