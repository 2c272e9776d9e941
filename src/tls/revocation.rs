//! Revocation: the CRL files, the set read from them that is in force (a [`CrlSnapshot`]
//! and the WebPKI verifier built with it), and what became of the files since. The files
//! are looked at again at most every poll interval; a changed set that cannot be used, or
//! that would roll a CA's CRL back, leaves the one in force in place and is reported.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, TryLockError};
use std::time::{Duration, Instant, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{DistinguishedName, RootCertStore};
use x509_parser::num_bigint::BigUint;

use super::pem::{crls_in, PemError};
use crate::config::{StaleCrlPolicy, TlsConfig};
use crate::error::ErrorChain;

/// Why a set of CRL files cannot be put in force.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CrlError {
    #[error("cannot read CRL file {}", .file.display())]
    Unreadable { file: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Pem(#[from] PemError),
    #[error("{}: not a CRL", .file.display())]
    NotACrl { file: PathBuf, source: x509_parser::nom::Err<x509_parser::error::X509Error> },
    #[error("{}: bytes after the CRL", .file.display())]
    TrailingBytes { file: PathBuf },
    /// Replacing it would lift the revocations its CA made since the one in force.
    #[error(
        "{}: the CRL of {} (CRL number {}, thisUpdate {}) is older than the one in force (CRL number {}, thisUpdate {}): a CRL is never rolled back",
        .file.display(), .issuer, number(.offered_number), timestamp(*.offered_this_update), number(.in_force_number), timestamp(*.in_force_this_update)
    )]
    RolledBack {
        file: PathBuf,
        issuer: String,
        offered_number: Option<BigUint>,
        offered_this_update: i64,
        in_force_number: Option<BigUint>,
        in_force_this_update: i64,
    },
    #[error("building the client certificate verifier (are the CRLs valid?)")]
    Verifier(#[source] rustls::server::VerifierBuilderError),
}

fn number(number: &Option<BigUint>) -> String {
    number.as_ref().map_or_else(|| "none".to_string(), |n| n.to_string())
}

/// The CRL files, the set read from them that is in force, and what became of the files
/// since.
pub(super) struct Revocation {
    roots: Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
    pub(super) files: Vec<PathBuf>,
    pub(super) policy: StaleCrlPolicy,
    poll_interval: Duration,
    /// The trusted CAs' names (sent as hints); they do not depend on the CRLs.
    pub(super) hints: Vec<DistinguishedName>,
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
pub(super) struct CrlSnapshot {
    pub(super) webpki: Arc<dyn ClientCertVerifier>,
    pub(super) crls: Vec<CrlInfo>,
    /// When they were read.
    read_at: i64,
}

pub(super) struct CrlInfo {
    pub(super) file: PathBuf,
    /// The issuer's name: DER (to match CRLs of one CA) and text (for people).
    issuer_der: Vec<u8>,
    pub(super) issuer: String,
    pub(super) number: Option<BigUint>,
    /// thisUpdate and nextUpdate, Unix seconds.
    pub(super) this_update: i64,
    pub(super) next_update: Option<i64>,
}


impl CrlSnapshot {
    /// WebPKI's verdict, then the keyUsage check WebPKI does not make.
    pub(super) fn verify(&self, end_entity: &CertificateDer<'_>, intermediates: &[CertificateDer<'_>], now: UnixTime) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self.webpki.verify_client_cert(end_entity, intermediates, now)?;
        super::verifier::check_key_usage(end_entity)?;
        Ok(verified)
    }

    /// The CRLs past their nextUpdate at `now` (Unix seconds).
    pub(super) fn stale(&self, now: i64) -> impl Iterator<Item = &CrlInfo> {
        self.crls.iter().filter(move |crl| crl.next_update.is_some_and(|next| now >= next))
    }
}

impl Revocation {
    pub(super) fn new(roots: Arc<RootCertStore>, provider: Arc<CryptoProvider>, settings: &TlsConfig, in_force: Option<&CrlSnapshot>) -> Result<Self, CrlError> {
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

    pub(super) fn snapshot(&self) -> Arc<CrlSnapshot> {
        // A poisoned lock means a panic while swapping an Arc: the Arc itself is intact.
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Re-reads the CRLs if a file changed and the poll interval has passed.
    pub(super) fn poll(&self) {
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
                        let problem = format!("{}; the CRLs read at {} stay in force until their nextUpdate", ErrorChain(&error), timestamp(in_force.read_at));
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

    pub(super) fn problems(&self, now: i64) -> Vec<String> {
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
) -> Result<CrlSnapshot, CrlError> {
    let mut ders = Vec::new();
    let mut crls = Vec::new();
    for (file, content) in files.iter().zip(contents) {
        let bytes = content.as_ref().map_err(|kind| CrlError::Unreadable { file: file.clone(), source: std::io::Error::from(*kind) })?;
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
    let webpki = builder.build().map_err(CrlError::Verifier)?;
    Ok(CrlSnapshot { webpki, crls, read_at: unix_now() })
}

fn crl_info(file: &Path, der: &[u8]) -> Result<CrlInfo, CrlError> {
    let (rest, crl) = x509_parser::parse_x509_crl(der).map_err(|source| CrlError::NotACrl { file: file.to_path_buf(), source })?;
    if !rest.is_empty() {
        return Err(CrlError::TrailingBytes { file: file.to_path_buf() });
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
fn refuse_rollback(offered: &[CrlInfo], in_force: &CrlSnapshot) -> Result<(), CrlError> {
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
            return Err(CrlError::RolledBack {
                file: newest.file.clone(),
                issuer: newest.issuer.clone(),
                offered_number: newest.number.clone(),
                offered_this_update: newest.this_update,
                in_force_number: old.number.clone(),
                in_force_this_update: old.this_update,
            });
        }
    }
    Ok(())
}

pub(super) fn unix_now() -> i64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Unix seconds → RFC 3339, UTC.
fn timestamp(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0).map_or_else(|| seconds.to_string(), |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::pem::read_certificates;

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
        let ca = read_certificates(&crate::tools::example_pki::clock_relative_set().join("ca.crt")).unwrap();
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
            let parsed = crls_in(bytes, Path::new("x.crl"))
                .map_err(CrlError::from)
                .and_then(|ders| ders.iter().map(|der| crl_info(Path::new("x.crl"), der.as_ref())).collect::<Result<Vec<_>, _>>());
            assert!(parsed.is_err(), "{:?}", String::from_utf8_lossy(bytes));
        }
        let crl = std::fs::read(crate::tools::example_pki::clock_relative_set().join("ca.crl")).unwrap();
        let ders = crls_in(&crl, Path::new("ca.crl")).unwrap();
        let info = crl_info(Path::new("ca.crl"), ders[0].as_ref()).unwrap();
        assert_eq!(info.number, Some(BigUint::from(1u32)));
        assert!(info.issuer.contains("EXAMPLE CA"), "{}", info.issuer);
    }
}
