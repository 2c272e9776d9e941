//! Stage three: the message's own security, judged for the identified caller. One
//! WS-Security header for us at most; the signature when the consumer must sign (profile,
//! then verification on the signature pool); the Timestamp's freshness (the signed one); a
//! well-formed WS-Addressing MessageID. Yields the keys a replay would be recognised by.

use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::contract::WS_ADDRESSING_NS;
use crate::error::{ErrorCode, ServiceError};
use crate::identity::{CertificateIdentity, Consumer};
use crate::soap::replay;
use crate::wssec::{freshness, verify};
use crate::xml::Element;

use super::receive::Received;
use super::record::Caller;
use super::{Peer, Services};

/// A key a replay of this request would be recognised by, and how long it is remembered.
pub(crate) struct ReplayKey {
    pub key: String,
    pub window: Duration,
}

impl Services {
    /// Judges the message's security; returns its replay keys: the MessageID's canonical
    /// form, and for a signed request what the signature covers (so one without a MessageID,
    /// or with a changed unsigned one, is still refused the second time).
    pub(super) async fn secure(
        &self,
        received: &Received,
        peer: &Peer,
        caller: &Caller,
        call_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Vec<ReplayKey>, ServiceError> {
        freshness::security_header(&received.headers)?;
        let verified = match caller.consumer.require_signed_requests {
            // A forwarded call must be signed by the sender itself, not by the intermediary.
            true => {
                let peer_may_sign = caller.intermediary.is_none();
                Some(self.check_signature(&received.document, &received.headers, peer, &caller.consumer, peer_may_sign, call_id).await?)
            }
            false => None,
        };
        // A stale or future-dated Timestamp is refused before anything else is read; for a
        // signed request it is the very Timestamp the signature covers, as the verifier read it.
        let timestamp = match &verified {
            Some(verified) => Some(freshness::timestamp_from(&verified.created, &verified.expires)?),
            None => freshness::timestamp(&received.headers)?,
        };
        if let Some(timestamp) = timestamp {
            freshness::check_timestamp(&timestamp, now, &self.security.freshness, verified.is_some())?;
        }
        let mut addressing_ids = received.headers.iter().filter(|h| h.is(WS_ADDRESSING_NS, "MessageID"));
        if let Some(id) = addressing_ids.next() {
            if id.text.trim().is_empty() || addressing_ids.next().is_some() {
                return Err(ServiceError::new(ErrorCode::InvalidMessageId));
            }
        }
        let mut replay_keys = Vec::new();
        if let Some(verified) = &verified {
            replay_keys.push(ReplayKey { key: freshness::signature_replay_key(&verified.replay_key), window: self.security.signed_replay_window() });
        }
        if let Some(key) = received.heard.message_id().and_then(replay::replay_key) {
            replay_keys.push(ReplayKey { key, window: self.security.replays.window() });
        }
        Ok(replay_keys)
    }

    /// A consumer that must sign: the request's one signature, made with the TLS client
    /// certificate or another certificate registered to the consumer by fingerprint, must keep
    /// to the profile, verify and cover the Body processed and the Timestamp
    /// (`wssec::verify`). Verified on the signature pool, off the async workers. The caller
    /// gets one fixed message; the reason goes to the log (no personal data in it).
    async fn check_signature(
        &self,
        document: &Bytes,
        headers: &[Element],
        peer: &Peer,
        consumer: &Consumer,
        peer_may_sign: bool,
        call_id: Uuid,
    ) -> Result<verify::VerifiedRequest, ServiceError> {
        let refuse = |refusal: verify::Refusal| {
            tracing::info!(%call_id, code = refusal.code.name(), reason = refusal.reason, "request signature refused");
            ServiceError::from(refusal)
        };
        let certificate = verify::signing_certificate(headers).map_err(refuse)?;
        let identity = CertificateIdentity::from_der(&certificate)
            .map_err(|_| refuse(verify::Refusal::invalid("the signing certificate cannot be read")))?;
        let registered = (peer_may_sign && identity.sha256_fingerprint == peer.certificate.sha256_fingerprint)
            || self.registry.current().identify_by_fingerprint(&identity.sha256_fingerprint).is_some_and(|owner| owner.id == consumer.id);
        if !registered {
            return Err(refuse(verify::Refusal::invalid("the signing certificate is not registered to this consumer")));
        }
        let document = document.clone();
        let verified = self
            .security
            .signatures
            .run(move || {
                let text = std::str::from_utf8(&document).map_err(|_| verify::Refusal::invalid("the request is not UTF-8"))?;
                verify::verify_request(text, &certificate)
            })
            .await
            .inspect_err(|error| tracing::warn!(%call_id, code = error.code.name(), "request signature not checked"))?;
        verified.map_err(refuse)
    }
}
