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
//! request whenever the CRLs in force changed since the last check ([`PeerCertificate`]).
//! Session resumption is off unless configured, so that a refusal is a TLS alert.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, TryLockError};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{anyhow, Context};
use bytes::Bytes;
use http_body_util::Full;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, HandshakeKind, RootCertStore, ServerConfig, SignatureScheme};
use x509_parser::num_bigint::BigUint;

use crate::config::{StaleCrlPolicy, TlsConfig};
use crate::metrics::Metrics;

/// Builds a server TLS configuration from PEM files, without revocation checking.
pub fn server_config(certificate: &Path, private_key: &Path, client_ca: &Path) -> anyhow::Result<Arc<ServerConfig>> {
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
    pub fn load(settings: &TlsConfig, previous: Option<&TlsState>) -> anyhow::Result<TlsState> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        for ca in read_certificates(&settings.client_ca)? {
            roots.add(ca).with_context(|| format!("{}: not a usable CA certificate", settings.client_ca.display()))?;
        }
        let in_force = previous.map(|previous| previous.revocation.snapshot());
        let revocation = Arc::new(Revocation::new(Arc::new(roots), provider.clone(), settings, in_force.as_deref())?);
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("choosing TLS versions")?
            .with_client_cert_verifier(Arc::new(Verifier(revocation.clone())))
            .with_single_cert(read_certificates(&settings.certificate)?, read_private_key(&settings.private_key)?)
            .with_context(|| format!("{}: the key does not fit the certificate", settings.private_key.display()))?;
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

/// The client certificate chain of one connection. Checked after the handshake, resumed or
/// not, and again before a request when the CRLs in force changed since the last check, a
/// CRL in force went past its nextUpdate, or a certificate of the chain expired: revocation
/// holds for long-lived connections too, at the cost of a pointer comparison per request.
pub struct PeerCertificate {
    chain: Vec<CertificateDer<'static>>,
    /// The chain's earliest notAfter (Unix seconds).
    valid_until: i64,
    verdict: Mutex<Verdict>,
}

struct Verdict {
    /// The CRLs the outcome was reached with.
    with: Option<Arc<CrlSnapshot>>,
    outcome: Result<(), &'static str>,
}

/// A request refused because the connection's certificate is no longer good; the reason
/// is one of [`crate::metrics::certificate_refusal_reason`]'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertificateRefused(pub &'static str);

impl CertificateRefused {
    /// `403`, the reason in `x-spolis-refusal` and the body; HTTP/1.1 closes the connection.
    pub fn response(self, version: http::Version) -> http::Response<Full<Bytes>> {
        let mut response = http::Response::new(Full::new(Bytes::from(format!("client certificate refused: {}\n", self.0))));
        *response.status_mut() = http::StatusCode::FORBIDDEN;
        let headers = response.headers_mut();
        headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain; charset=utf-8"));
        headers.insert("x-spolis-refusal", http::HeaderValue::from_static(self.0));
        if version < http::Version::HTTP_2 {
            headers.insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
        }
        response
    }
}

impl PeerCertificate {
    /// Checks the chain of a connection whose handshake just completed against the CRLs in
    /// force now. A refusal is counted as a handshake failure (`resumed_<reason>` for a
    /// resumed session) and logged; the connection's requests then get
    /// [`CertificateRefused`].
    pub fn after_handshake(state: &TlsState, connection: &rustls::ServerConnection, client: std::net::SocketAddr, metrics: &Metrics) -> PeerCertificate {
        let chain: Vec<CertificateDer<'static>> = connection.peer_certificates().unwrap_or_default().iter().map(|c| c.clone().into_owned()).collect();
        let valid_until = chain
            .iter()
            .filter_map(|der| x509_parser::parse_x509_certificate(der.as_ref()).ok())
            .map(|(_, certificate)| certificate.validity().not_after.timestamp())
            .min()
            .unwrap_or(i64::MIN);
        let peer = PeerCertificate { chain, valid_until, verdict: Mutex::new(Verdict { with: None, outcome: Ok(()) }) };
        let resumed = connection.handshake_kind() == Some(HandshakeKind::Resumed);
        if let Err(CertificateRefused(reason)) = peer.verify(state, None) {
            let label = match resumed {
                true => crate::metrics::resumed_reason(reason),
                false => reason,
            };
            metrics.record_handshake_failure(label);
            tracing::info!(%client, reason = label, resumed, "client certificate refused after the handshake");
        }
        peer
    }

    /// Whether the connection may still be served; cheap unless something changed.
    pub fn check(&self, state: &TlsState, client: std::net::SocketAddr, metrics: &Metrics) -> Result<(), CertificateRefused> {
        self.verify(state, Some((client, metrics)))
    }

    fn verify(&self, state: &TlsState, report: Option<(std::net::SocketAddr, &Metrics)>) -> Result<(), CertificateRefused> {
        let revocation = &state.revocation;
        revocation.poll();
        let snapshot = revocation.snapshot();
        let now = unix_now();
        let mut verdict = lock(&self.verdict);
        let unchanged = verdict.with.as_ref().is_some_and(|with| Arc::ptr_eq(with, &snapshot))
            && now < self.valid_until
            && !(revocation.policy == StaleCrlPolicy::Refuse && snapshot.stale(now).next().is_some());
        if !unchanged {
            let outcome = match self.chain.split_first() {
                None => Err(rustls::Error::NoCertificatesPresented),
                Some((end_entity, intermediates)) => snapshot.verify(end_entity, intermediates, UnixTime::now()).map(|_| ()),
            }
            .map_err(|error| crate::metrics::certificate_refusal_reason(&error));
            if let (Err(reason), Ok(()), Some((client, metrics))) = (outcome, verdict.outcome, report) {
                metrics.record_connection_refusal(reason);
                tracing::info!(%client, reason, "client certificate no longer good: requests on its open connection are refused");
            }
            *verdict = Verdict { with: Some(snapshot), outcome };
        }
        verdict.outcome.map_err(CertificateRefused)
    }
}

/// The client certificate verifier rustls calls: the one built with the CRLs in force,
/// after looking at the CRL files.
#[derive(Debug)]
struct Verifier(Arc<Revocation>);

impl ClientCertVerifier for Verifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.0.hints
    }

    fn verify_client_cert(&self, end_entity: &CertificateDer<'_>, intermediates: &[CertificateDer<'_>], now: UnixTime) -> Result<ClientCertVerified, rustls::Error> {
        self.0.poll();
        self.0.snapshot().verify(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.snapshot().webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.snapshot().webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.snapshot().webpki.supported_verify_schemes()
    }
}

/// The CRL files, the set read from them that is in force, and what became of the files
/// since.
struct Revocation {
    roots: Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
    files: Vec<PathBuf>,
    policy: StaleCrlPolicy,
    poll_interval: Duration,
    /// The trusted CAs' names (sent as hints); they do not depend on the CRLs.
    hints: Vec<DistinguishedName>,
    current: RwLock<Arc<CrlSnapshot>>,
    watch: Mutex<Watch>,
}

impl std::fmt::Debug for Revocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Revocation").field("files", &self.files).finish_non_exhaustive()
    }
}

/// The files' contents as last read: an I/O error kind stands for a file that could not be.
type Contents = Vec<Result<Vec<u8>, std::io::ErrorKind>>;

struct Watch {
    polled: Option<Instant>,
    /// What the files held when last looked at.
    seen: Contents,
    /// What they held when the CRLs in force were read from them.
    in_force: Contents,
    /// Why `seen` is not in force; empty when it is.
    problems: Vec<String>,
    /// Whether the staleness of the CRLs in force was logged already.
    stale_logged: bool,
}

/// The CRLs in force, and the WebPKI verifier built with them.
struct CrlSnapshot {
    webpki: Arc<dyn ClientCertVerifier>,
    crls: Vec<CrlInfo>,
    /// When they were read.
    read_at: i64,
}

struct CrlInfo {
    file: PathBuf,
    /// The issuer's name: DER (to match CRLs of one CA) and text (for people).
    issuer_der: Vec<u8>,
    issuer: String,
    number: Option<BigUint>,
    /// thisUpdate and nextUpdate, Unix seconds.
    this_update: i64,
    next_update: Option<i64>,
}

impl CrlSnapshot {
    /// WebPKI's verdict, then the keyUsage check WebPKI does not make.
    fn verify(&self, end_entity: &CertificateDer<'_>, intermediates: &[CertificateDer<'_>], now: UnixTime) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self.webpki.verify_client_cert(end_entity, intermediates, now)?;
        check_key_usage(end_entity)?;
        Ok(verified)
    }

    /// The CRLs past their nextUpdate at `now` (Unix seconds).
    fn stale(&self, now: i64) -> impl Iterator<Item = &CrlInfo> {
        self.crls.iter().filter(move |crl| crl.next_update.is_some_and(|next| now >= next))
    }
}

/// RFC 5280 4.2.1.3: a keyUsage without digitalSignature forbids the key to sign, and
/// authenticating a TLS handshake (CertificateVerify) is signing. Absent, any use is allowed.
fn check_key_usage(end_entity: &CertificateDer<'_>) -> Result<(), rustls::Error> {
    let Ok((_, certificate)) = x509_parser::parse_x509_certificate(end_entity.as_ref()) else {
        return Err(rustls::Error::InvalidCertificate(CertificateError::BadEncoding));
    };
    match certificate.key_usage() {
        Ok(None) => Ok(()),
        Ok(Some(usage)) if usage.value.digital_signature() => Ok(()),
        Ok(Some(_)) => {
            tracing::info!("client certificate refused: its keyUsage does not allow digitalSignature");
            Err(rustls::Error::InvalidCertificate(CertificateError::InvalidPurpose))
        }
        Err(_) => Err(rustls::Error::InvalidCertificate(CertificateError::BadEncoding)),
    }
}

impl Revocation {
    fn new(roots: Arc<RootCertStore>, provider: Arc<CryptoProvider>, settings: &TlsConfig, in_force: Option<&CrlSnapshot>) -> anyhow::Result<Self> {
        let files = settings.crls.clone();
        let contents = read_all(&files);
        let snapshot = load_snapshot(&roots, &provider, &files, &contents, settings.stale_crl, in_force)?;
        let revocation = Revocation {
            hints: snapshot.webpki.root_hint_subjects().to_vec(),
            roots,
            provider,
            files,
            policy: settings.stale_crl,
            poll_interval: settings.crl_poll_interval(),
            current: RwLock::new(Arc::new(snapshot)),
            watch: Mutex::new(Watch { polled: Some(Instant::now()), seen: contents.clone(), in_force: contents, problems: Vec::new(), stale_logged: false }),
        };
        revocation.log_staleness(&mut lock(&revocation.watch));
        Ok(revocation)
    }

    fn snapshot(&self) -> Arc<CrlSnapshot> {
        // A poisoned lock means a panic while swapping an Arc: the Arc itself is intact.
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Re-reads the CRLs if a file changed and the poll interval has passed.
    fn poll(&self) {
        if self.files.is_empty() {
            return;
        }
        let mut watch = match self.watch.try_lock() {
            Ok(watch) => watch,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return, // another thread is looking
        };
        if watch.polled.is_some_and(|at| at.elapsed() < self.poll_interval) {
            return;
        }
        watch.polled = Some(Instant::now());
        let seen = read_all(&self.files);
        if seen != watch.seen {
            watch.seen = seen.clone();
            if seen == watch.in_force {
                if !watch.problems.is_empty() {
                    tracing::info!(files = ?self.files, "CRL files hold the CRLs in force again");
                }
                watch.problems.clear();
            } else {
                let in_force = self.snapshot();
                match load_snapshot(&self.roots, &self.provider, &self.files, &seen, self.policy, Some(&in_force)) {
                    Ok(snapshot) => {
                        tracing::info!(files = ?self.files, "CRLs re-read");
                        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(snapshot);
                        watch.in_force = seen;
                        watch.problems.clear();
                        watch.stale_logged = false;
                    }
                    Err(error) => {
                        let problem = format!("{error:#}; the CRLs read at {} stay in force until their nextUpdate", timestamp(in_force.read_at));
                        tracing::error!(problem, "changed CRL files cannot be used");
                        watch.problems = vec![problem];
                    }
                }
            }
        }
        self.log_staleness(&mut watch);
    }

    /// Logs, once per set of CRLs in force, that some are past their nextUpdate.
    fn log_staleness(&self, watch: &mut Watch) {
        if watch.stale_logged {
            return;
        }
        let snapshot = self.snapshot();
        for crl in snapshot.stale(unix_now()) {
            watch.stale_logged = true;
            let next_update = timestamp(crl.next_update.unwrap_or_default());
            match self.policy {
                StaleCrlPolicy::Refuse => tracing::error!(file = %crl.file.display(), issuer = crl.issuer, next_update, "CRL past its nextUpdate: certificates of its CA are refused"),
                StaleCrlPolicy::Warn => tracing::warn!(file = %crl.file.display(), issuer = crl.issuer, next_update, "CRL past its nextUpdate, still used (stale_crl = \"warn\")"),
            }
        }
    }

    fn problems(&self, now: i64) -> Vec<String> {
        let mut problems = lock(&self.watch).problems.clone();
        if self.policy == StaleCrlPolicy::Refuse {
            for crl in self.snapshot().stale(now) {
                problems.push(format!(
                    "the CRL of {} in {} is past its nextUpdate ({}): certificates of that CA are refused",
                    crl.issuer,
                    crl.file.display(),
                    timestamp(crl.next_update.unwrap_or_default())
                ));
            }
        }
        problems
    }
}

fn read_all(files: &[PathBuf]) -> Contents {
    files.iter().map(|file| std::fs::read(file).map_err(|error| error.kind())).collect()
}

/// The CRLs in `contents` (read from `files`), refused if any cannot be used or if one
/// would replace a newer CRL of its CA in `in_force`.
fn load_snapshot(
    roots: &Arc<RootCertStore>,
    provider: &Arc<CryptoProvider>,
    files: &[PathBuf],
    contents: &Contents,
    policy: StaleCrlPolicy,
    in_force: Option<&CrlSnapshot>,
) -> anyhow::Result<CrlSnapshot> {
    let mut ders = Vec::new();
    let mut crls = Vec::new();
    for (file, content) in files.iter().zip(contents) {
        let bytes = content.as_ref().map_err(|kind| anyhow!("cannot read CRL file {}: {}", file.display(), std::io::Error::from(*kind)))?;
        for der in crls_in(bytes, file)? {
            crls.push(crl_info(file, der.as_ref())?);
            ders.push(der);
        }
    }
    if let Some(in_force) = in_force {
        refuse_rollback(&crls, in_force)?;
    }
    let mut builder = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone()).with_crls(ders);
    if policy == StaleCrlPolicy::Refuse {
        builder = builder.enforce_revocation_expiration();
    }
    let webpki = builder.build().context("building the client certificate verifier (are the CRLs valid?)")?;
    Ok(CrlSnapshot { webpki, crls, read_at: unix_now() })
}

fn crl_info(file: &Path, der: &[u8]) -> anyhow::Result<CrlInfo> {
    let (rest, crl) = x509_parser::parse_x509_crl(der).map_err(|error| anyhow!("{}: not a CRL ({error})", file.display()))?;
    if !rest.is_empty() {
        anyhow::bail!("{}: bytes after the CRL", file.display());
    }
    Ok(CrlInfo {
        file: file.to_path_buf(),
        issuer_der: crl.issuer().as_raw().to_vec(),
        issuer: crate::identity::render_name(crl.issuer()),
        number: crl.crl_number().cloned(),
        this_update: crl.last_update().timestamp(),
        next_update: crl.next_update().map(|next| next.timestamp()),
    })
}

/// An attacker who can replace a CRL file with an older, still validly signed one would
/// lift the revocations made since: per CA, the newest CRL offered must be at least as new
/// as the newest in force (by CRL number, or thisUpdate when a CRL has no number).
fn refuse_rollback(offered: &[CrlInfo], in_force: &CrlSnapshot) -> anyhow::Result<()> {
    for old in &in_force.crls {
        let same_ca: Vec<&CrlInfo> = offered.iter().filter(|new| new.issuer_der == old.issuer_der).collect();
        let Some(newest) = same_ca.iter().max_by(|a, b| (&a.number, a.this_update).cmp(&(&b.number, b.this_update))) else {
            continue; // no CRL of that CA any more: its certificates fail as of unknown status
        };
        let older = match (&old.number, &newest.number) {
            (Some(old_number), Some(new_number)) => new_number < old_number,
            _ => newest.this_update < old.this_update,
        };
        if older {
            let number = |n: &Option<BigUint>| n.as_ref().map_or_else(|| "none".to_string(), |n| n.to_string());
            anyhow::bail!(
                "{}: the CRL of {} (CRL number {}, thisUpdate {}) is older than the one in force (CRL number {}, thisUpdate {}): a CRL is never rolled back",
                newest.file.display(),
                newest.issuer,
                number(&newest.number),
                timestamp(newest.this_update),
                number(&old.number),
                timestamp(old.this_update)
            );
        }
    }
    Ok(())
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Unix seconds → RFC 3339, UTC.
fn timestamp(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0).map_or_else(|| seconds.to_string(), |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
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
    crls_in(&bytes, path)
}

fn crls_in(bytes: &[u8], path: &Path) -> anyhow::Result<Vec<CertificateRevocationListDer<'static>>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn info(issuer: &[u8], number: Option<u64>, this_update: i64) -> CrlInfo {
        CrlInfo {
            file: PathBuf::from("ca.crl"),
            issuer_der: issuer.to_vec(),
            issuer: "CN=CA".to_string(),
            number: number.map(BigUint::from),
            this_update,
            next_update: Some(this_update + 86_400),
        }
    }

    fn in_force(crls: Vec<CrlInfo>) -> CrlSnapshot {
        let mut roots = RootCertStore::empty();
        let ca = read_certificates(&Path::new(env!("CARGO_MANIFEST_DIR")).join("certs-example/ca.crt")).unwrap();
        roots.add(ca[0].clone()).unwrap();
        let webpki = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::new(rustls::crypto::ring::default_provider())).build().unwrap();
        CrlSnapshot { webpki, crls, read_at: 0 }
    }

    #[test]
    fn a_crl_is_never_rolled_back_by_number_or_without_one_by_this_update() {
        let old = in_force(vec![info(b"A", Some(5), 1_000), info(b"B", None, 1_000)]);
        assert!(refuse_rollback(&[info(b"A", Some(5), 1_000), info(b"B", None, 1_000)], &old).is_ok(), "the same again");
        assert!(refuse_rollback(&[info(b"A", Some(6), 900), info(b"B", None, 2_000)], &old).is_ok(), "newer: the number decides");
        let error = refuse_rollback(&[info(b"A", Some(4), 2_000)], &old).unwrap_err();
        assert!(error.to_string().contains("CRL number 4") && error.to_string().contains("CRL number 5"), "{error}");
        assert!(refuse_rollback(&[info(b"A", Some(5), 1_000), info(b"B", None, 999)], &old).is_err(), "older thisUpdate, no numbers");
        // Several CRLs of one CA: the newest offered counts; another CA's are not compared.
        assert!(refuse_rollback(&[info(b"A", Some(3), 1_000), info(b"A", Some(7), 1_000)], &old).is_ok());
        assert!(refuse_rollback(&[info(b"C", Some(1), 1)], &old).is_ok());
    }

    #[test]
    fn stale_means_at_or_past_next_update() {
        let snapshot = in_force(vec![info(b"A", Some(1), 1_000)]);
        assert_eq!(snapshot.stale(87_399).count(), 0);
        assert_eq!(snapshot.stale(87_400).count(), 1);
    }

    #[test]
    fn a_file_that_is_not_a_crl_is_refused_never_panics() {
        for bytes in [&b""[..], b"garbage", b"-----BEGIN X509 CRL-----\n!!!\n-----END X509 CRL-----\n", b"-----BEGIN CERTIFICATE-----\n"] {
            let parsed = crls_in(bytes, Path::new("x.crl")).and_then(|ders| ders.iter().map(|der| crl_info(Path::new("x.crl"), der.as_ref())).collect::<anyhow::Result<Vec<_>>>());
            assert!(parsed.is_err(), "{:?}", String::from_utf8_lossy(bytes));
        }
        let crl = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("certs-example/ca.crl")).unwrap();
        let ders = crls_in(&crl, Path::new("ca.crl")).unwrap();
        let info = crl_info(Path::new("ca.crl"), ders[0].as_ref()).unwrap();
        assert_eq!(info.number, Some(BigUint::from(1u32)));
        assert!(info.issuer.contains("EXAMPLE CA"), "{}", info.issuer);
    }
}
