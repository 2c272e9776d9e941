//! Prometheus metrics for operators: calls by service, consumer and outcome; call latency;
//! audit write latency and backlog; refusals by rate limits (as call outcomes); TLS handshake
//! failures by reason. Served as text on the operations listener's `/metrics`. Labels never
//! carry personal data: consumers are institutions, outcomes are error codes.

use std::sync::atomic::{AtomicI64, AtomicU64};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    /// `EP115`, `EP116` or `-`.
    pub service: String,
    /// The consumer's id, or `-` when the certificate is not registered.
    pub consumer: String,
    /// `ok` or the error code's name.
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ServiceLabels {
    pub service: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HandshakeLabels {
    /// `no_certificate`, `expired`, `unknown_issuer`, `revoked`, `crl_expired`,
    /// `unknown_revocation_status`, `invalid_purpose`, `bad_certificate`, `timeout`,
    /// `protocol`, `other`; `resumed_<reason>` for a resumed session refused after its
    /// handshake.
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CrlLabels {
    /// The CRL file, as configured.
    pub file: String,
    /// The CRL's issuer (a CA's name).
    pub issuer: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: String,
}

fn latency_histogram() -> Histogram {
    // 100 µs … ~3.3 s.
    Histogram::new(exponential_buckets(0.000_1, 2.0, 16))
}

/// The service's metrics and the registry that renders them.
pub struct Metrics {
    registry: Registry,
    pub calls: Family<CallLabels, Counter>,
    pub call_duration: Family<ServiceLabels, Histogram, fn() -> Histogram>,
    pub audit_write_duration: Histogram,
    /// Calls waiting for their audit record to be committed.
    pub audit_backlog: Gauge<i64, AtomicI64>,
    pub handshake_failures: Family<HandshakeLabels, Counter>,
    pub connections_open: Gauge<i64, AtomicI64>,
    /// Open connections whose certificate stopped being good (revoked since), by reason.
    pub connection_refusals: Family<HandshakeLabels, Counter>,
    pub crl_this_update: Family<CrlLabels, Gauge<i64, AtomicI64>>,
    pub crl_next_update: Family<CrlLabels, Gauge<i64, AtomicI64>>,
    pub crl_age: Family<CrlLabels, Gauge<i64, AtomicI64>>,
    pub crl_number: Family<CrlLabels, Gauge<f64, AtomicU64>>,
    /// CRL problems `/ready` reports (files that cannot replace the CRLs in force, stale CRLs).
    pub crl_problems: Gauge<i64, AtomicI64>,
    /// The register's as-of time (the `AsOf` of its last import), Unix seconds; absent while
    /// the register was never imported. Set on each scrape.
    pub register_as_of: Family<Vec<(String, String)>, Gauge<i64, AtomicI64>>,
    /// Seconds since the register's as-of time; absent while it was never imported.
    pub register_age: Family<Vec<(String, String)>, Gauge<i64, AtomicI64>>,
    /// Connections closed at once for a cap: `per_address`, `per_certificate`, `unregistered`.
    pub connections_refused: Family<ReasonLabels, Counter>,
    /// Connections closed by a timeout: `first_byte`, `idle`.
    pub connections_timed_out: Family<ReasonLabels, Counter>,
    /// Request body bytes buffered now, within `max_buffered_request_bytes`.
    pub buffered_request_bytes: Gauge<i64, AtomicI64>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("spolis");
        let calls = Family::<CallLabels, Counter>::default();
        registry.register("calls", "Calls answered, by service, consumer and outcome (ok or error code)", calls.clone());
        let call_duration = Family::<ServiceLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register("call_duration_seconds", "Time from request to answer, audit included", call_duration.clone());
        let audit_write_duration = latency_histogram();
        registry.register("audit_write_duration_seconds", "Time for a call's audit record to be committed", audit_write_duration.clone());
        let audit_backlog = Gauge::<i64, AtomicI64>::default();
        registry.register("audit_backlog", "Calls waiting for their audit record to be committed", audit_backlog.clone());
        let handshake_failures = Family::<HandshakeLabels, Counter>::default();
        registry.register("tls_handshake_failures", "TLS handshakes refused, by reason", handshake_failures.clone());
        let connections_open = Gauge::<i64, AtomicI64>::default();
        registry.register("connections_open", "TLS connections open now", connections_open.clone());
        let connection_refusals = Family::<HandshakeLabels, Counter>::default();
        registry.register("tls_connection_refusals", "Open connections refused further requests because their client certificate is no longer good, by reason", connection_refusals.clone());
        let crl_this_update = Family::<CrlLabels, Gauge<i64, AtomicI64>>::default();
        registry.register("crl_this_update_timestamp_seconds", "thisUpdate of each CRL in force", crl_this_update.clone());
        let crl_next_update = Family::<CrlLabels, Gauge<i64, AtomicI64>>::default();
        registry.register("crl_next_update_timestamp_seconds", "nextUpdate of each CRL in force (absent: none given)", crl_next_update.clone());
        let crl_age = Family::<CrlLabels, Gauge<i64, AtomicI64>>::default();
        registry.register("crl_age_seconds", "Time since thisUpdate of each CRL in force", crl_age.clone());
        let crl_number = Family::<CrlLabels, Gauge<f64, AtomicU64>>::default();
        registry.register("crl_number", "CRL number of each CRL in force", crl_number.clone());
        let crl_problems = Gauge::<i64, AtomicI64>::default();
        registry.register("crl_problems", "CRL problems that make /ready fail: CRL files that cannot replace the CRLs in force, CRLs past their nextUpdate", crl_problems.clone());
        let register_as_of = Family::<Vec<(String, String)>, Gauge<i64, AtomicI64>>::default();
        registry.register("register_as_of_timestamp_seconds", "The register's as-of time: the AsOf of its last import (absent: never imported)", register_as_of.clone());
        let register_age = Family::<Vec<(String, String)>, Gauge<i64, AtomicI64>>::default();
        registry.register("register_age_seconds", "Seconds since the register's as-of time (absent: never imported)", register_age.clone());
        let connections_refused = Family::<ReasonLabels, Counter>::default();
        registry.register("connections_refused", "Connections closed at once for a cap, by reason", connections_refused.clone());
        let connections_timed_out = Family::<ReasonLabels, Counter>::default();
        registry.register("connections_timed_out", "Connections closed by a timeout (first byte, idle), by reason", connections_timed_out.clone());
        let buffered_request_bytes = Gauge::<i64, AtomicI64>::default();
        registry.register("buffered_request_bytes", "Request body bytes buffered now", buffered_request_bytes.clone());
        Metrics {
            registry,
            calls,
            call_duration,
            audit_write_duration,
            audit_backlog,
            handshake_failures,
            connections_open,
            connection_refusals,
            crl_this_update,
            crl_next_update,
            crl_age,
            crl_number,
            crl_problems,
            register_as_of,
            register_age,
            connections_refused,
            connections_timed_out,
            buffered_request_bytes,
        }
    }
}

impl Metrics {
    /// Exports the audit writer's own counters beside the call metrics.
    pub fn with_audit(mut self, stats: &crate::audit::writer::AuditStats) -> Self {
        let registry = &mut self.registry;
        registry.register("audit_records", "Audit records committed", stats.records.clone());
        registry.register("audit_batches", "Audit transactions committed (group commits); records ÷ batches is the batch size", stats.batches.clone());
        registry.register("audit_batch_failures", "Audit transactions that failed (their calls failed closed)", stats.failures.clone());
        registry.register("audit_witness_failures", "Signed checkpoints the witness file or command did not take", stats.witness_failures.clone());
        registry.register("audit_timestamp_failures", "Witnessed checkpoints the time-stamping authority did not stamp", stats.timestamp_failures.clone());
        self
    }

    pub fn record_call(&self, service: &str, consumer: &str, outcome: &str, elapsed: Duration) {
        self.calls
            .get_or_create(&CallLabels { service: service.to_string(), consumer: consumer.to_string(), outcome: outcome.to_string() })
            .inc();
        self.call_duration.get_or_create(&ServiceLabels { service: service.to_string() }).observe(elapsed.as_secs_f64());
    }

    pub fn record_handshake_failure(&self, reason: &str) {
        self.handshake_failures.get_or_create(&HandshakeLabels { reason: reason.to_string() }).inc();
    }

    pub fn record_connection_refusal(&self, reason: &str) {
        self.connection_refusals.get_or_create(&HandshakeLabels { reason: reason.to_string() }).inc();
    }

    /// Forgets the CRL gauges, before [`Metrics::record_crl`] sets those of the CRLs in force.
    /// The register's as-of time and its age at `now` (Unix seconds); `None`: never imported.
    pub fn record_register_as_of(&self, as_of: Option<i64>, now: i64) {
        match as_of {
            Some(as_of) => {
                self.register_as_of.get_or_create(&Vec::new()).set(as_of);
                self.register_age.get_or_create(&Vec::new()).set(now.saturating_sub(as_of));
            }
            None => {
                self.register_as_of.clear();
                self.register_age.clear();
            }
        }
    }

    pub fn clear_crls(&self) {
        self.crl_this_update.clear();
        self.crl_next_update.clear();
        self.crl_age.clear();
        self.crl_number.clear();
    }

    /// One CRL in force; times in Unix seconds.
    pub fn record_crl(&self, file: &str, issuer: &str, this_update: i64, next_update: Option<i64>, number: Option<f64>, now: i64) {
        let labels = CrlLabels { file: file.to_string(), issuer: issuer.to_string() };
        self.crl_this_update.get_or_create(&labels).set(this_update);
        self.crl_age.get_or_create(&labels).set(now.saturating_sub(this_update));
        if let Some(next_update) = next_update {
            self.crl_next_update.get_or_create(&labels).set(next_update);
        }
        if let Some(number) = number {
            self.crl_number.get_or_create(&labels).set(number);
        }
    }

    pub fn record_connection_refused(&self, reason: &str) {
        self.connections_refused.get_or_create(&ReasonLabels { reason: reason.to_string() }).inc();
    }

    pub fn record_connection_timed_out(&self, reason: &str) {
        self.connections_timed_out.get_or_create(&ReasonLabels { reason: reason.to_string() }).inc();
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Encoding into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// A stable reason label for a refused TLS handshake.
pub fn handshake_failure_reason(error: &std::io::Error) -> &'static str {
    match error.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
        Some(error) => certificate_refusal_reason(error),
        None => "other",
    }
}

/// A stable reason for a client certificate (or handshake) rustls or our verifier refused.
pub fn certificate_refusal_reason(error: &rustls::Error) -> &'static str {
    use rustls::{CertificateError, Error};
    match error {
        Error::NoCertificatesPresented => "no_certificate",
        Error::InvalidCertificate(CertificateError::Expired | CertificateError::ExpiredContext { .. }) => "expired",
        Error::InvalidCertificate(CertificateError::UnknownIssuer) => "unknown_issuer",
        Error::InvalidCertificate(CertificateError::Revoked) => "revoked",
        Error::InvalidCertificate(CertificateError::ExpiredRevocationList | CertificateError::ExpiredRevocationListContext { .. }) => "crl_expired",
        Error::InvalidCertificate(CertificateError::UnknownRevocationStatus) => "unknown_revocation_status",
        Error::InvalidCertificate(CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. }) => "invalid_purpose",
        Error::InvalidCertificate(_) => "bad_certificate",
        _ => "protocol",
    }
}

/// The label of a resumed session refused after its handshake for `reason`.
pub fn resumed_reason(reason: &'static str) -> &'static str {
    match reason {
        "no_certificate" => "resumed_no_certificate",
        "expired" => "resumed_expired",
        "unknown_issuer" => "resumed_unknown_issuer",
        "revoked" => "resumed_revoked",
        "crl_expired" => "resumed_crl_expired",
        "unknown_revocation_status" => "resumed_unknown_revocation_status",
        "invalid_purpose" => "resumed_invalid_purpose",
        "bad_certificate" => "resumed_bad_certificate",
        _ => "resumed_other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_calls_by_labels() {
        let metrics = Metrics::default();
        metrics.record_call("EP115", "90011524360", "ok", Duration::from_millis(3));
        metrics.record_handshake_failure("expired");
        let text = metrics.render();
        assert!(text.contains(r#"spolis_calls_total{service="EP115",consumer="90011524360",outcome="ok"} 1"#), "{text}");
        assert!(text.contains("spolis_call_duration_seconds_bucket"), "{text}");
        assert!(text.contains(r#"spolis_tls_handshake_failures_total{reason="expired"} 1"#), "{text}");
    }

    #[test]
    fn certificate_refusals_have_stable_reasons() {
        use rustls::{CertificateError, Error};
        let reason = |error: Error| certificate_refusal_reason(&error);
        assert_eq!(reason(Error::InvalidCertificate(CertificateError::Revoked)), "revoked");
        assert_eq!(reason(Error::InvalidCertificate(CertificateError::ExpiredRevocationList)), "crl_expired");
        assert_eq!(reason(Error::InvalidCertificate(CertificateError::UnknownRevocationStatus)), "unknown_revocation_status");
        assert_eq!(reason(Error::InvalidCertificate(CertificateError::InvalidPurpose)), "invalid_purpose");
        assert_eq!(reason(Error::NoCertificatesPresented), "no_certificate");
        assert_eq!(resumed_reason("revoked"), "resumed_revoked");
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, Error::InvalidCertificate(CertificateError::Revoked));
        assert_eq!(handshake_failure_reason(&io), "revoked");
        assert_eq!(handshake_failure_reason(&std::io::Error::other("reset")), "other");
    }

    #[test]
    fn crls_in_force_are_shown_and_forgotten() {
        let metrics = Metrics::default();
        metrics.record_crl("/etc/ca.crl", "C=LV, CN=CA", 1_000, Some(2_000), Some(7.0), 1_500);
        let text = metrics.render();
        assert!(text.contains(r#"spolis_crl_next_update_timestamp_seconds{file="/etc/ca.crl",issuer="C=LV, CN=CA"} 2000"#), "{text}");
        assert!(text.contains(r#"spolis_crl_age_seconds{file="/etc/ca.crl",issuer="C=LV, CN=CA"} 500"#), "{text}");
        metrics.clear_crls();
        assert!(!metrics.render().contains("/etc/ca.crl"));
    }
}
