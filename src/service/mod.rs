//! One SOAP call, from HTTP headers and body bytes to the answer: the pipeline between the
//! transport (`http`) and the store.
//!
//! Each stage takes the previous one's value and returns the next, refusing with a stable
//! code (`error`):
//! request → [`receive`] (envelope, style, IVIS header) → [`identify`] (the caller) →
//! [`secure`] (WS-Security header, signature, Timestamp, MessageID: replay keys) → typed
//! [`Operation`] → [`admit`] (rate limits, quotas, replays) → answered by the store → signed
//! answer (`wssec`). The [`CallRecord`] is assembled once from what the stages learnt — a
//! refusal carries what was learnt before it — and made durable in the audit log before the
//! answer is handed back, here, in one place. If it cannot be, the answer is replaced by an
//! `AuditUnavailable` fault: no record, no data.

mod admit;
mod clock;
mod identify;
mod operation;
mod receive;
mod record;
mod secure;

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use http::StatusCode;
use uuid::Uuid;

use crate::audit::AuditLog;
use crate::contract::ServiceContract;
use crate::error::{ErrorCode, ServiceError};
use crate::contract::Environment;
use crate::identity::{CertificateIdentity, ConsumerRegistry};
use crate::soap::ivis;
use crate::soap::{fault, SoapVersion};
use crate::xml::XmlLimits;

pub use clock::Clock;
pub use record::CallRecord;

use operation::{Answered, Operation};
use receive::{Received, Wrapped};
use record::{Arrival, Known, Refused};

/// What every call needs: the store, who may call, and the parser limits.
pub struct Services {
    pub(crate) store: crate::store::Store,
    /// Replaced as a whole by a reload (SIGHUP).
    pub registry: crate::reload::Swappable<ConsumerRegistry>,
    /// The environment this instance serves; consumers registered for the other are refused.
    pub(crate) environment: Environment,
    /// Where every call is recorded before it is answered.
    pub(crate) audit: AuditLog,
    pub(crate) metrics: std::sync::Arc<crate::metrics::Metrics>,
    pub(crate) xml_limits: XmlLimits,
    /// Answer signing, request timestamps, replays and signatures (`wssec`).
    pub(crate) security: crate::wssec::MessageSecurity,
    /// Rate limits and daily quotas per consumer and operator.
    pub(crate) quotas: crate::quotas::Quotas,
    /// Read once per call.
    pub(crate) clock: Clock,
}

/// The authenticated other end of a connection.
#[derive(Debug, Clone)]
pub struct Peer {
    pub address: SocketAddr,
    pub certificate: CertificateIdentity,
}

/// The two ways a call may be wrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestStyle {
    /// The document/literal operation in the SOAP Body.
    Plain,
    /// An IVISRequest in the SOAP Body carrying the operation.
    Ivis,
}

impl RequestStyle {
    pub fn label(self) -> &'static str {
        match self {
            RequestStyle::Plain => "plain",
            RequestStyle::Ivis => "ivis",
        }
    }
}

/// What the transport hands over of one POST.
#[derive(Debug)]
pub struct SoapRequest<'a> {
    pub content_type: Option<&'a str>,
    pub soap_action: Option<&'a str>,
    /// The body, or the transport's refusal of it (too large, too slow).
    pub body: Result<Bytes, ServiceError>,
}

/// An HTTP answer ready to send.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub content_type: &'static str,
    pub body: String,
}


impl Services {
    /// Answers one SOAP call made to `contract`'s path.
    pub async fn call(&self, peer: &Peer, contract: &'static ServiceContract, request: SoapRequest<'_>) -> (Answer, CallRecord) {
        let started = Instant::now();
        let arrival = Arrival::at(self.clock.now());
        let (known, result) = match contained(self.answer(peer, contract, request, arrival), arrival.call_id).await {
            Ok((known, answered)) => (known, Ok(answered)),
            Err(Refused { error, known }) => (known, Err(error)),
        };
        let version = known.heard.soap_version.unwrap_or(SoapVersion::V11);
        let signed = match (&result, &known.heard.ivis) {
            (Ok(answered), _) => self.ok_answer(version, &answered.payload, arrival),
            // Once the IVIS header is read, errors travel in the IVIS error list.
            (Err(error), Some(header)) => {
                let payload = ivis::response_element(header, contract, arrival.call_id, arrival.received_at, Err(error));
                self.ok_answer(version, &payload, arrival)
            }
            (Err(error), None) => Ok(self.fault_answer(version, error, arrival)),
        };
        // No signature, no data: an answer that could not be signed is replaced by a fault,
        // as an answer whose audit record could not be written is.
        let (answer, outcome) = match signed {
            Ok(answer) => (answer, result.map(|answered| answered.records)),
            Err(refusal) => (self.fault_answer(version, &refusal, arrival), Err(refusal)),
        };
        let elapsed = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.audited(CallRecord::assemble(arrival, peer, Some(contract), known, outcome, elapsed), answer).await
    }

    /// Refuses a request that names no operation (unknown path, wrong method), audited too.
    pub async fn refuse(&self, peer: &Peer, contract: Option<&'static ServiceContract>, error: ServiceError) -> (Answer, CallRecord) {
        let arrival = Arrival::at(self.clock.now());
        let answer = self.fault_answer(SoapVersion::V11, &error, arrival);
        self.audited(CallRecord::assemble(arrival, peer, contract, Known::default(), Err(error), 0), answer).await
    }

    /// Makes the call's audit record durable, and only then lets the answer go.
    async fn audited(&self, mut record: CallRecord, answer: Answer) -> (Answer, CallRecord) {
        let started = Instant::now();
        self.metrics.audit_backlog.inc();
        let appended = self.audit.append(record.to_audit(self.environment)).await;
        self.metrics.audit_backlog.dec();
        self.metrics.audit_write_duration.observe(started.elapsed().as_secs_f64());
        match appended {
            Ok(_) => (answer, record),
            Err(error) => {
                tracing::error!(call_id = %record.call_id, %error, "call refused: its audit record could not be written");
                let version = record.soap_version.unwrap_or(SoapVersion::V11);
                let refusal = ServiceError::new(ErrorCode::AuditUnavailable);
                let arrival = Arrival { call_id: record.call_id, received_at: record.received_at };
                let answer = self.fault_answer(version, &refusal, arrival);
                record.outcome = Err(refusal);
                (answer, record)
            }
        }
    }

    /// The pipeline; returns what it learnt and the SOAP Body's content (plain answer or
    /// IVISResponse), or the refusal with what was learnt before it.
    async fn answer(&self, peer: &Peer, contract: &'static ServiceContract, request: SoapRequest<'_>, arrival: Arrival) -> Result<(Known, Answered), Refused> {
        let received = receive::receive(request, contract, self.xml_limits).await?;
        let registry = self.registry.current();
        let caller = identify::identify(&registry, self.environment, peer, contract, &received.heard)
            .map_err(|(caller, error)| received.refused(caller, error.into()))?;
        let replay_keys = self
            .secure(&received, peer, &caller, arrival.call_id, arrival.received_at)
            .await
            .map_err(|error| received.refused(Some(caller.clone()), error))?;
        let Received { heard, wrapped, .. } = received;
        let refused = |error: ServiceError| Refused { error, known: Known { heard: heard.clone(), caller: Some(caller.clone()) } };
        let payload = match wrapped {
            Wrapped::Plain(payload) => payload,
            Wrapped::Ivis(request) => request.check(contract).map_err(|error| refused(error.into()))?,
        };
        let operation = Operation::parse(contract.service, &payload, call_date(arrival.received_at)).map_err(refused)?;
        operation.as_of_not_after(call_date(arrival.received_at)).map_err(refused)?;
        employee_is_the_operator(heard.ivis.as_ref(), operation.operator()).map_err(refused)?;
        self.admit(&caller.consumer, operation.operator(), &replay_keys, arrival.received_at).await.map_err(refused)?;
        let mut answered = operation.apply(&self.store, call_date(arrival.received_at)).await.map_err(|error| refused(admit::store_failure(error)))?;
        if let Some(header) = &heard.ivis {
            answered.payload = ivis::response_element(header, contract, arrival.call_id, arrival.received_at, Ok(&answered.payload));
        }
        Ok((Known { heard, caller: Some(caller) }, answered))
    }

    /// A fault answer, signed like every answer when signing is on.
    fn fault_answer(&self, version: SoapVersion, error: &ServiceError, arrival: Arrival) -> Answer {
        let element = fault::fault_element(version, error, arrival.call_id);
        Answer {
            status: fault::http_status(version, error),
            content_type: version.content_type(),
            // A fault carries no personal data: if it cannot be signed it goes out unsigned,
            // so that the caller still learns why (the failure is logged).
            body: self.security.envelope(version, &element, arrival.call_id, arrival.received_at).unwrap_or_else(|unsigned| unsigned.envelope),
        }
    }

    /// An answer that may carry data: signed, or refused with `InternalError` when the signer
    /// fails (it was probed at start, so this is a broken key or HSM, never the caller).
    fn ok_answer(&self, version: SoapVersion, payload: &str, arrival: Arrival) -> Result<Answer, ServiceError> {
        match self.security.envelope(version, payload, arrival.call_id, arrival.received_at) {
            Ok(body) => Ok(Answer { status: StatusCode::OK, content_type: version.content_type(), body }),
            Err(_) => Err(ServiceError::with_detail(ErrorCode::InternalError, "The answer could not be signed, so it is not sent.")),
        }
    }
}

/// Runs the pipeline so that a panic in it — a bug, never an expected outcome — still ends
/// the call with an answer and an audit record: the panic becomes `InternalError`, and only
/// the call id is logged (the panic's message may quote request data; the hook installed by
/// [`install_panic_hook`] keeps it out of the logs as well). What the pipeline learnt before
/// panicking is lost with it.
async fn contained<F, T>(pipeline: F, call_id: Uuid) -> Result<T, Refused>
where
    F: std::future::Future<Output = Result<T, Refused>>,
{
    use futures_util::FutureExt;
    match std::panic::AssertUnwindSafe(pipeline).catch_unwind().await {
        Ok(result) => result,
        Err(_) => {
            tracing::error!(%call_id, "call failed: the pipeline panicked; answered InternalError");
            let error = ServiceError::with_detail(ErrorCode::InternalError, "The call failed unexpectedly; quote the ErrorId.");
            Err(Refused { error, known: Known::default() })
        }
    }
}

/// Replaces the default panic message (which quotes the panic's payload, possibly request
/// text such as a personal code) with the panic's source location only.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map_or_else(|| "unknown".to_string(), |l| format!("{}:{}", l.file(), l.line()));
        let thread = std::thread::current();
        tracing::error!(%location, thread = thread.name().unwrap_or("-"), "panic (its message is withheld: it may quote request data)");
    }));
}

/// The day of a call, as the callers in Latvia count days. Taken at UTC+3, Latvian summer
/// time, all year: no caller's today is ever after it (in winter, from 23:00 local time it is
/// already tomorrow, which an `AsOf` may then name and gets today's register).
fn call_date(received_at: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDate {
    (received_at + chrono::Duration::hours(3)).date_naive()
}

/// The operator named twice: when the IVIS `Sender` names an employee — the bus fills it from
/// the person's token as `AU:<authority>-PK:<code>` — it must be the request's `Operator`,
/// else the request is refused (both stay in the audit record: `ivis_sender`, `operator_*`).
fn employee_is_the_operator(header: Option<&ivis::IvisHeader>, operator: &crate::soap::payload::Operator) -> Result<(), ServiceError> {
    let Some((_, employee)) = header.and_then(|header| header.sender.as_deref()).and_then(|sender| sender.split_once("-PK:")) else {
        return Ok(());
    };
    match crate::personal_code::PersonalCode::parse(employee) {
        Ok(code) if code == operator.person_code => Ok(()),
        _ => Err(ServiceError::new(ErrorCode::OperatorMismatch)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_day_of_a_call_is_latvian_summer_time_all_year() {
        let at = |text: &str| chrono::DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&chrono::Utc);
        let day = |text: &str| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
        assert_eq!(call_date(at("2026-07-01T20:59:59Z")), day("2026-07-01"));
        assert_eq!(call_date(at("2026-07-01T21:00:00Z")), day("2026-07-02"), "midnight in Rīga in summer");
        assert_eq!(call_date(at("2026-12-01T21:30:00Z")), day("2026-12-02"), "23:30 in Rīga in winter");
    }

    #[tokio::test]
    async fn a_panicking_pipeline_becomes_an_internal_error() {
        let pipeline = async {
            let date = String::from("2024-01-0ā");
            // The panic of the original finding: a byte index inside a character.
            Ok::<_, Refused>(date[..10].to_string())
        };
        let refused = contained(pipeline, Uuid::nil()).await.unwrap_err();
        assert_eq!(refused.error.code, ErrorCode::InternalError);
    }

    #[tokio::test]
    async fn a_pipeline_that_does_not_panic_is_passed_through() {
        assert_eq!(contained(async { Ok::<_, Refused>("answer".to_string()) }, Uuid::nil()).await.unwrap(), "answer");
        let refusal = Refused { error: ServiceError::new(ErrorCode::InvalidPeriod), known: Known::default() };
        let refused = contained(async { Err::<String, _>(refusal) }, Uuid::nil()).await;
        assert_eq!(refused.unwrap_err().error.code, ErrorCode::InvalidPeriod);
    }
}
