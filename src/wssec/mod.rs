//! Message security (WS-Security 1.1 on SOAP): signing answers, and judging what a request
//! carries in its `wsse:Security` header: its Timestamp, its MessageID against replays, and
//! (for consumers that require it) its XML Signature.
//!
//! - **Owns:** the `[security]` configuration, the answer signer ([`sign`]), the request
//!   timestamp and replay checks ([`freshness`]), the signature profile every request
//!   signature must keep to before any library sees it ([`profile`]), the request signature
//!   verifier ([`verify`]), the one place an XML-DSig library is used, so it can be swapped,
//!   and the bounded pool it runs on ([`SignaturePool`]).
//! - **Input → output:** an answer payload → a signed envelope; a parsed request envelope
//!   (and its raw bytes, for the signature) → `Ok` or a [`ServiceError`] with a stable code.
//! - **Never:** sign anything not written by `XmlWriter` or this module (the signed bytes are
//!   the sent bytes, see [`sign`]); trust a signature that does not cover the very Body the
//!   pipeline processes.

pub mod freshness;
pub mod profile;
pub mod sign;
pub mod verify;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use crate::error::{ErrorCode, ServiceError};
use crate::soap::SoapVersion;

pub use crate::soap::replay::ReplayCache;
pub use sign::AnswerSigner;

/// WS-Security secext 1.0 (`wsse:`).
pub const WSSE_NS: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
/// WS-Security utility 1.0 (`wsu:`): `Timestamp` and the `Id` attribute.
pub const WSU_NS: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
/// XML Signature (`ds:`).
pub const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// Exclusive XML Canonicalization 1.0, without comments.
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
/// SHA-256 as an XML Signature digest method.
pub const SHA256_DIGEST: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

/// `[security]`: message security settings; every default is the safe one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// Sign every answer (WS-Security Timestamp + XML Signature with the server's TLS key).
    pub sign_answers: bool,
    /// How long a signed answer's Timestamp says it is fresh.
    pub answer_validity_seconds: u64,
    /// How far a request's Timestamp `Created` may lie in the future (clock skew), and how
    /// long after its `Expires` (or its maximum age) it is still accepted.
    pub clock_skew_seconds: u64,
    /// How long a request's MessageID is remembered: a second request with it within this
    /// window is refused as a replay. A signed request's content is remembered at least this
    /// long. Zero turns every replay check off.
    pub replay_window_seconds: u64,
    /// At most this many MessageIDs are remembered; past it the oldest are forgotten first
    /// (and a warning is logged), so memory stays bounded under a flood.
    pub replay_cache_entries: usize,
    /// A request's Timestamp `Created` may lie at most this long (plus the clock skew) in the
    /// past, `Expires` or not.
    pub max_request_age_seconds: u64,
    /// A request's Timestamp `Expires` may lie at most this long after its `Created`.
    pub max_request_validity_seconds: u64,
    /// At most this many request signatures are verified at once, on blocking threads.
    pub signature_workers: usize,
    /// How long one request may wait for a verification worker and be verified; past it the
    /// call is refused (`SignatureCheckUnavailable`).
    pub signature_timeout_milliseconds: u64,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            sign_answers: true,
            answer_validity_seconds: 300,
            clock_skew_seconds: 60,
            replay_window_seconds: 300,
            replay_cache_entries: 100_000,
            max_request_age_seconds: 300,
            max_request_validity_seconds: 900,
            signature_workers: 2,
            signature_timeout_milliseconds: 2_000,
        }
    }
}

/// What the pipeline needs for message security, built once at start.
#[derive(Debug)]
pub struct MessageSecurity {
    /// `None` when `sign_answers = false`; replaced by a reload (SIGHUP).
    pub signer: crate::reload::Swappable<Option<AnswerSigner>>,
    /// The clock skew, maximum age and maximum validity of request Timestamps.
    pub freshness: freshness::Freshness,
    pub replays: ReplayCache,
    /// Where request signatures are verified.
    pub signatures: SignaturePool,
}

impl MessageSecurity {
    /// Loads the signing key (the server's TLS certificate and key) when answers are signed.
    pub fn load(config: &SecurityConfig, certificate: &std::path::Path, private_key: &std::path::Path) -> Result<MessageSecurity, sign::AnswerSignerError> {
        let signer = match config.sign_answers {
            true => Some(AnswerSigner::load(certificate, private_key, seconds(config.answer_validity_seconds.max(1)))?),
            false => None,
        };
        Ok(MessageSecurity {
            signer: crate::reload::Swappable::new(signer),
            freshness: freshness::Freshness {
                skew: seconds(config.clock_skew_seconds),
                max_age: seconds(config.max_request_age_seconds),
                max_validity: seconds(config.max_request_validity_seconds),
            },
            replays: ReplayCache::new(Duration::from_secs(config.replay_window_seconds), config.replay_cache_entries),
            signatures: SignaturePool::new(config.signature_workers, Duration::from_millis(config.signature_timeout_milliseconds)),
        })
    }

    /// How long a signed request's replay key is remembered: at least the replay window, and
    /// as long as its Timestamp can be accepted (`Created` up to the skew ahead, up to the
    /// maximum age plus the skew behind), so it cannot be accepted twice.
    pub fn signed_replay_window(&self) -> Duration {
        let skews = self.freshness.skew.checked_add(&self.freshness.skew);
        let acceptable = skews.and_then(|skews| self.freshness.max_age.checked_add(&skews)).and_then(|d| d.to_std().ok());
        self.replays.window().max(acceptable.unwrap_or(Duration::MAX))
    }

    /// The answer envelope around `payload`: signed when a signer is configured. Signing only
    /// fails if the key does (it was probed at start); the failure is logged and the unsigned
    /// envelope handed back as the error, for the caller to decide: an answer with data must
    /// not leave unsigned (fail closed, like the audit), a fault may.
    pub fn envelope(&self, version: SoapVersion, payload: &str, call_id: Uuid, now: DateTime<Utc>) -> Result<String, UnsignedEnvelope> {
        let unsigned = || crate::soap::envelope_around(version, payload);
        match self.signer.current().as_ref() {
            None => Ok(unsigned()),
            Some(signer) => signer.envelope(version, payload, call_id, now).map_err(|error| {
                tracing::error!(%call_id, %error, "the answer could not be signed");
                UnsignedEnvelope { envelope: unsigned() }
            }),
        }
    }
}

/// An answer envelope that should have been signed and could not be.
#[derive(Debug)]
pub struct UnsignedEnvelope {
    pub envelope: String,
}

/// A bounded pool for verifying request signatures: at most `workers` at once, each on a
/// blocking thread (CPU-bound work never runs on an async worker, so one caller's signature
/// cannot stall /health or other calls), and a time budget per call covering the wait for a
/// worker and the work. Work past its budget runs on to its end (it cannot be interrupted)
/// but keeps its worker, so the pool stays bounded; its caller is refused at once.
#[derive(Debug)]
pub struct SignaturePool {
    permits: Arc<tokio::sync::Semaphore>,
    budget: Duration,
}

impl SignaturePool {
    pub fn new(workers: usize, budget: Duration) -> SignaturePool {
        SignaturePool { permits: Arc::new(tokio::sync::Semaphore::new(workers.max(1))), budget }
    }

    /// Runs `work` on the pool: `SignatureCheckUnavailable` past the budget, `InternalError`
    /// if the work panicked.
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, ServiceError> {
        let permits = Arc::clone(&self.permits);
        let job = async move {
            let permit = permits.acquire_owned().await.map_err(|_| ErrorCode::InternalError)?;
            tokio::task::spawn_blocking(move || {
                let _held = permit;
                work()
            })
            .await
            .map_err(|_| ErrorCode::InternalError)
        };
        match tokio::time::timeout(self.budget, job).await {
            Ok(result) => result.map_err(ServiceError::new),
            Err(_) => Err(ServiceError::new(ErrorCode::SignatureCheckUnavailable)),
        }
    }
}

fn seconds(seconds: u64) -> chrono::Duration {
    chrono::Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX / 1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A busy pool refuses past the budget instead of queueing without end; work that panics
    /// is an internal error, not a crash; the worker is free again afterwards.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_signature_pool_is_bounded_in_workers_and_time() {
        let pool = Arc::new(SignaturePool::new(1, Duration::from_millis(200)));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let (started, has_started) = tokio::sync::oneshot::channel();
        let first = Arc::clone(&pool);
        let busy = tokio::spawn(async move {
            first
                .run(move || {
                    let _ = started.send(());
                    let _ = wait.recv();
                    7
                })
                .await
        });
        has_started.await.unwrap();
        // The one worker is taken: the next call gets no worker within its budget.
        let refused = pool.run(|| 1).await.unwrap_err();
        assert_eq!(refused.code, ErrorCode::SignatureCheckUnavailable);
        release.send(()).unwrap();
        // The first call's budget ran out about when the second's did: either outcome is
        // right, as long as it ends.
        match busy.await.unwrap() {
            Ok(value) => assert_eq!(value, 7),
            Err(error) => assert_eq!(error.code, ErrorCode::SignatureCheckUnavailable),
        }
        // A budget no loaded machine overruns, for what does not depend on time: a panic
        // frees its worker (one worker, used again after it).
        let roomy = SignaturePool::new(1, Duration::from_secs(60));
        let panicked = roomy.run(|| -> u8 { panic!("a bug in the verifier") }).await.unwrap_err();
        assert_eq!(panicked.code, ErrorCode::InternalError);
        assert_eq!(roomy.run(|| 2).await.unwrap(), 2);
    }
}
