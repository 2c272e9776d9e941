//! Revocation for the whole life of a connection: the peer's chain is checked again after
//! every handshake (a resumed session skips the verifier inside rustls) and before a
//! request whenever the CRLs in force changed since the last check.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::HandshakeKind;

use super::revocation::{lock, unix_now, CrlSnapshot};
use super::TlsState;
use crate::config::StaleCrlPolicy;
use crate::metrics::Metrics;

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
    pub fn after_handshake(state: &TlsState, connection: &rustls::ServerConnection, client: SocketAddr, metrics: &Metrics) -> PeerCertificate {
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
    pub fn check(&self, state: &TlsState, client: SocketAddr, metrics: &Metrics) -> Result<(), CertificateRefused> {
        self.verify(state, Some((client, metrics)))
    }

    fn verify(&self, state: &TlsState, report: Option<(SocketAddr, &Metrics)>) -> Result<(), CertificateRefused> {
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
