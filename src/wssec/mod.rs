//! Message security (WS-Security 1.1 on SOAP): signing answers, and judging what a request
//! carries in its `wsse:Security` header: its Timestamp, its MessageID against replays, and
//! (for consumers that require it) its XML Signature.
//!
//! - **Owns:** the `[security]` configuration, the answer signer ([`sign`]), the request
//!   timestamp and replay checks ([`freshness`]) and the request signature verifier
//!   ([`verify`]), the one place an XML-DSig library is used, so it can be swapped.
//! - **Input → output:** an answer payload → a signed envelope; a parsed request envelope
//!   (and its raw bytes, for the signature) → `Ok` or a [`ServiceError`] with a stable code.
//! - **Never:** sign anything not written by `XmlWriter` or this module (the signed bytes are
//!   the sent bytes, see [`sign`]); trust a signature that does not cover the very Body the
//!   pipeline processes.

pub mod freshness;
pub mod sign;
pub mod verify;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use crate::soap::SoapVersion;

pub use freshness::ReplayCache;
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
    /// long after its `Expires` it is still accepted.
    pub clock_skew_seconds: u64,
    /// How long a request's MessageID is remembered: a second request with it within this
    /// window is refused as a replay.
    pub replay_window_seconds: u64,
    /// At most this many MessageIDs are remembered; past it the oldest are forgotten first
    /// (and a warning is logged), so memory stays bounded under a flood.
    pub replay_cache_entries: usize,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            sign_answers: true,
            answer_validity_seconds: 300,
            clock_skew_seconds: 60,
            replay_window_seconds: 300,
            replay_cache_entries: 100_000,
        }
    }
}

/// What the pipeline needs for message security, built once at start.
#[derive(Debug)]
pub struct MessageSecurity {
    /// `None` when `sign_answers = false`; replaced by a reload (SIGHUP).
    pub signer: crate::reload::Swappable<Option<AnswerSigner>>,
    pub clock_skew: chrono::Duration,
    pub replays: ReplayCache,
}

impl MessageSecurity {
    /// Loads the signing key (the server's TLS certificate and key) when answers are signed.
    pub fn load(config: &SecurityConfig, certificate: &std::path::Path, private_key: &std::path::Path) -> anyhow::Result<MessageSecurity> {
        let signer = match config.sign_answers {
            true => Some(AnswerSigner::load(certificate, private_key, seconds(config.answer_validity_seconds.max(1)))?),
            false => None,
        };
        Ok(MessageSecurity {
            signer: crate::reload::Swappable::new(signer),
            clock_skew: seconds(config.clock_skew_seconds),
            replays: ReplayCache::new(Duration::from_secs(config.replay_window_seconds), config.replay_cache_entries),
        })
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

fn seconds(seconds: u64) -> chrono::Duration {
    chrono::Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX / 1000))
}
