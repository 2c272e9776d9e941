//! Prometheus metrics for operators: calls by service, consumer and outcome; call latency;
//! audit write latency and backlog; refusals by rate limits (as call outcomes); TLS handshake
//! failures by reason. Served as text on the operations listener's `/metrics`. Labels never
//! carry personal data: consumers are institutions, outcomes are error codes.

use std::sync::atomic::AtomicI64;
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
    /// `no_certificate`, `expired`, `unknown_issuer`, `revoked`, `bad_certificate`, `timeout`, `other`.
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
        Metrics { registry, calls, call_duration, audit_write_duration, audit_backlog, handshake_failures, connections_open }
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
    use rustls::{CertificateError, Error};
    match error.get_ref().and_then(|inner| inner.downcast_ref::<Error>()) {
        Some(Error::NoCertificatesPresented) => "no_certificate",
        Some(Error::InvalidCertificate(CertificateError::Expired | CertificateError::ExpiredContext { .. })) => "expired",
        Some(Error::InvalidCertificate(CertificateError::UnknownIssuer)) => "unknown_issuer",
        Some(Error::InvalidCertificate(CertificateError::Revoked)) => "revoked",
        Some(Error::InvalidCertificate(_)) => "bad_certificate",
        Some(_) => "protocol",
        None => "other",
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
}
