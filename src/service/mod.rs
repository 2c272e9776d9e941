//! One SOAP call, from HTTP headers and body bytes to the answer: the pipeline between the
//! transport (`http`) and the store.
//!
//! Order of work, each step refusing with a stable code (`error`):
//! Content-Type → XML → envelope → style (plain or IVIS) and SOAP action → who is calling
//! (registered consumer, environment, allowed network, allowed service) → one WS-Security
//! header for us → signature if the consumer must sign (profile, then verification on the
//! signature pool) → WS-Security Timestamp (the signed one) → WS-Addressing MessageID → IVIS
//! header → typed request → rate limits and quotas → replay keys (canonical MessageID, signed
//! content) → store → answer (signed by `wssec` when configured).
//! Everything learnt on the way goes into the [`CallRecord`]; before the answer is handed back,
//! that record is made durable in the audit log — here, in one place, never in the handlers.
//! If it cannot be, the answer is replaced by an `AuditUnavailable` fault: no record, no data.

pub mod get_application_list;
pub mod get_queue_status_list;
mod render;
pub mod request;

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::audit::{record::canonical_person_code, AuditLog, AuditRecord};
use crate::contract::{Environment, Service, ServiceContract, IVIS_NS, SERVICES, SPOLIS_NS, WS_ADDRESSING_NS};
use crate::error::{ErrorCode, ServiceError};
use crate::identity::{sender_institution, CertificateIdentity, Consumer, ConsumerRegistry};
use crate::soap::ivis::{self, IvisHeader, IvisRequest};
use crate::soap::{self, fault, SoapVersion};
use crate::store::{MessageIdCheck, QuotaCharge, Store, StoreError};
use crate::wssec::{freshness, verify};
use crate::xml::{self, Element, XmlLimits};

use get_application_list::GetApplicationList;
use get_queue_status_list::GetQueueStatusList;
use request::AsSent;

/// What every call needs: the store, who may call, and the parser limits.
pub struct Services {
    pub store: Store,
    /// Replaced as a whole by a reload (SIGHUP).
    pub registry: crate::reload::Swappable<ConsumerRegistry>,
    /// The environment this instance serves; consumers registered for the other are refused.
    pub environment: Environment,
    /// Where every call is recorded before it is answered.
    pub audit: AuditLog,
    pub metrics: std::sync::Arc<crate::metrics::Metrics>,
    pub xml_limits: XmlLimits,
    /// Answer signing, request timestamps, replays and signatures (`wssec`).
    pub security: crate::wssec::MessageSecurity,
    /// Rate limits and daily quotas per consumer and operator.
    pub quotas: crate::quotas::Quotas,
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

/// Everything known about one call once it is answered: the material of the audit record.
/// Personal data (`as_sent`, the IVIS sender) is here and must only ever reach the audit.
#[derive(Debug, Clone)]
pub struct CallRecord {
    /// Unique id of the call: the fault's `ErrorId`, the IVISResponse `MessageID`, the log key.
    pub call_id: Uuid,
    pub received_at: DateTime<Utc>,
    pub client: SocketAddr,
    pub certificate: CertificateIdentity,
    /// The consumer the call is made for: the certificate's, or the one an intermediary
    /// forwards for.
    pub consumer: Option<Consumer>,
    /// The intermediary (the VISS bus) that forwarded the call, when one did.
    pub intermediary: Option<Consumer>,
    /// The service of the path called; `None` when the path names none.
    pub contract: Option<&'static ServiceContract>,
    pub soap_version: Option<SoapVersion>,
    pub style: Option<RequestStyle>,
    /// WS-Addressing MessageID header, if sent.
    pub ws_addressing_message_id: Option<String>,
    pub ivis: Option<IvisHeader>,
    pub as_sent: AsSent,
    /// The number of records answered (applications, or events + positions), or the error.
    pub outcome: Result<usize, ServiceError>,
    pub elapsed_micros: u64,
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
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl Services {
    /// Answers one SOAP call made to `contract`'s path.
    pub async fn call(&self, peer: &Peer, contract: &'static ServiceContract, request: SoapRequest<'_>) -> (Answer, CallRecord) {
        let started = Instant::now();
        let mut record = CallRecord::new(peer, Some(contract));
        let call_id = record.call_id;
        let result = contained(self.answer(peer, contract, request, &mut record), call_id).await;
        let version = record.soap_version.unwrap_or(SoapVersion::V11);
        let signed = match (&result, &record.ivis) {
            (Ok(payload), _) => self.ok_answer(version, payload, record.call_id),
            // Once the IVIS header is read, errors travel in the IVIS error list.
            (Err(error), Some(header)) => {
                let payload = ivis::response_element(header, contract, record.call_id, record.received_at, Err(error));
                self.ok_answer(version, &payload, record.call_id)
            }
            (Err(error), None) => Ok(self.fault_answer(version, error, record.call_id)),
        };
        // No signature, no data: an answer that could not be signed is replaced by a fault,
        // as an answer whose audit record could not be written is.
        let (answer, result) = match signed {
            Ok(answer) => (answer, result),
            Err(refusal) => (self.fault_answer(version, &refusal, record.call_id), Err(refusal)),
        };
        record.outcome = result.map(|_| record.outcome.clone().unwrap_or(0));
        record.elapsed_micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.audited(record, answer).await
    }

    /// Refuses a request that names no operation (unknown path, wrong method), audited too.
    pub async fn refuse(&self, peer: &Peer, contract: Option<&'static ServiceContract>, error: ServiceError) -> (Answer, CallRecord) {
        let mut record = CallRecord::new(peer, contract);
        let answer = self.fault_answer(SoapVersion::V11, &error, record.call_id);
        record.outcome = Err(error);
        self.audited(record, answer).await
    }

    /// Makes the call's audit record durable, and only then lets the answer go.
    async fn audited(&self, mut record: CallRecord, answer: Answer) -> (Answer, CallRecord) {
        let started = Instant::now();
        self.metrics.audit_backlog.inc();
        let appended = self.audit.append(audit_record(&record, self.environment)).await;
        self.metrics.audit_backlog.dec();
        self.metrics.audit_write_duration.observe(started.elapsed().as_secs_f64());
        match appended {
            Ok(_) => (answer, record),
            Err(error) => {
                tracing::error!(call_id = %record.call_id, %error, "call refused: its audit record could not be written");
                let version = record.soap_version.unwrap_or(SoapVersion::V11);
                let refusal = ServiceError::new(ErrorCode::AuditUnavailable);
                let answer = self.fault_answer(version, &refusal, record.call_id);
                record.outcome = Err(refusal);
                (answer, record)
            }
        }
    }

    /// The pipeline; returns the SOAP Body's content (plain answer or IVISResponse).
    async fn answer(
        &self,
        peer: &Peer,
        contract: &'static ServiceContract,
        request: SoapRequest<'_>,
        record: &mut CallRecord,
    ) -> Result<String, ServiceError> {
        let http = soap::read_http_headers(request.content_type, request.soap_action).map_err(|(version, error)| {
            record.soap_version = Some(version);
            error
        })?;
        record.soap_version = Some(http.version);
        let body = request.body?;
        let (document, limits) = (body.clone(), self.xml_limits);
        let root = crate::cpu::run(move || xml::parse(&document, &limits))
            .await
            .map_err(|_| ServiceError::new(ErrorCode::InternalError))?
            .map_err(|why| ServiceError::with_detail(ErrorCode::MalformedXml, format!("{}.", capitalise(&why.to_string()))))?;
        let envelope = soap::parse_envelope(root, http.version)?;
        record.ws_addressing_message_id = envelope.ws_addressing_message_id().map(str::to_string);

        let style = classify(&envelope.body, contract)?;
        record.style = Some(style);
        let expected_action = match style {
            RequestStyle::Plain => contract.plain_action,
            RequestStyle::Ivis => contract.ivis_action,
        };
        if let Some(action) = http.action.as_deref().filter(|action| *action != expected_action) {
            return Err(ServiceError::with_detail(
                ErrorCode::ActionMismatch,
                format!("The Body is {} {}; its action is {expected_action}, not {action}.", style.label(), contract.operation),
            ));
        }

        // Collect what identifies the call before judging it, so that a refusal is still
        // attributable to an operator and a person in the audit.
        let wrapped = match style {
            RequestStyle::Plain => {
                record.as_sent = AsSent::collect(&envelope.body);
                Wrapped::Plain(envelope.body)
            }
            RequestStyle::Ivis => {
                let request = IvisRequest::split(envelope.body)?;
                record.ivis = Some(request.header.clone());
                if let Some(payload) = &request.payload {
                    record.as_sent = AsSent::collect(payload);
                }
                Wrapped::Ivis(request)
            }
        };

        let registry = self.registry.current();
        let caller = registry
            .identify(&peer.certificate)
            .ok_or_else(|| ServiceError::new(ErrorCode::ConsumerNotRegistered))?;
        record.consumer = Some(caller.clone());
        self.check_environment(caller)?;
        if !caller.may_connect_from(peer.address.ip()) {
            return Err(ServiceError::with_detail(ErrorCode::NetworkNotAllowed, format!("Address {} is not in its allowed networks.", peer.address.ip())));
        }
        // Who asks: the caller itself, or — for an intermediary's IVIS call — the consumer its
        // Sender names, whose services, environment, signature duty and quotas then apply.
        let sender = record.ivis.as_ref().and_then(|header| header.sender.as_deref());
        let consumer = match style {
            RequestStyle::Ivis if caller.is_intermediary() => {
                let sender = sender.ok_or_else(|| ServiceError::with_detail(ErrorCode::SenderIncorrect, "A forwarded call must name its Sender."))?;
                let forwarded = registry.forwarded_sender(caller, sender).ok_or_else(|| {
                    ServiceError::with_detail(ErrorCode::SenderIncorrect, format!("Consumer {} does not forward for the institution the Sender names.", caller.id))
                })?;
                record.intermediary = Some(caller.clone());
                record.consumer = Some(forwarded.clone());
                self.check_environment(forwarded)?;
                forwarded
            }
            RequestStyle::Ivis if sender.is_some_and(|sender| !caller.is_named_by(sender_institution(sender))) => {
                return Err(ServiceError::with_detail(ErrorCode::SenderIncorrect, "The Sender names another institution than the client certificate's."));
            }
            _ => caller,
        };
        if !consumer.may_call(contract.service) {
            return Err(ServiceError::with_detail(
                ErrorCode::ServiceNotAllowed,
                format!("The consumer may not call {}.", contract.service.code()),
            ));
        }
        // One WS-Security header addressed to us at most, for signed and unsigned requests alike.
        freshness::security_header(&envelope.headers)?;
        let verified = match consumer.require_signed_requests {
            // A forwarded call must be signed by the sender itself, not by the intermediary.
            true => Some(self.check_signature(&body, &envelope.headers, peer, consumer, record.intermediary.is_none(), record.call_id).await?),
            false => None,
        };

        // A stale or future-dated WS-Security Timestamp is refused before anything else is
        // read; for a signed request it is the very Timestamp the signature covers, as the
        // verifier read it.
        let timestamp = match &verified {
            Some(verified) => Some(freshness::timestamp_from(&verified.created, &verified.expires)?),
            None => freshness::timestamp(&envelope.headers)?,
        };
        if let Some(timestamp) = timestamp {
            freshness::check_timestamp(&timestamp, Utc::now(), &self.security.freshness, verified.is_some())?;
        }
        let mut addressing_ids = envelope.headers.iter().filter(|h| h.is(WS_ADDRESSING_NS, "MessageID"));
        if let Some(id) = addressing_ids.next() {
            if id.text.trim().is_empty() || addressing_ids.next().is_some() {
                return Err(ServiceError::new(ErrorCode::InvalidMessageId));
            }
        }

        let payload = match wrapped {
            Wrapped::Plain(payload) => payload,
            Wrapped::Ivis(request) => request.check(contract)?,
        };
        // Replay keys: the MessageID's canonical form, and for a signed request what the
        // signature covers (so one without a MessageID, or with a changed unsigned one, is
        // still refused the second time). Only a request that is otherwise acceptable uses
        // them up: one refused for its content may be corrected and sent again with the same id.
        let message_id = record.ivis.as_ref().and_then(|h| h.message_id.clone()).or_else(|| record.ws_addressing_message_id.clone());
        let mut replay_keys: Vec<(String, std::time::Duration)> = Vec::new();
        if let Some(verified) = &verified {
            replay_keys.push((freshness::signature_replay_key(&verified.replay_key), self.security.signed_replay_window()));
        }
        if let Some(key) = message_id.as_deref().and_then(freshness::replay_key) {
            replay_keys.push((key, self.security.replays.window()));
        }
        let (answer, records) = match contract.service {
            Service::Ep115 => {
                let request = GetApplicationList::parse(&payload)?;
                self.admit(record, &replay_keys).await?;
                let found = self.store.application_list(request.query).await.map_err(store_failure)?;
                (get_application_list::render(&found), found.applications.len())
            }
            Service::Ep116 => {
                let request = GetQueueStatusList::parse(&payload)?;
                self.admit(record, &replay_keys).await?;
                let found = self.store.queue_status_list(request.query).await.map_err(store_failure)?;
                (get_queue_status_list::render(&found), found.events.len() + found.positions.len())
            }
        };
        record.outcome = Ok(records);
        Ok(match &record.ivis {
            Some(header) => ivis::response_element(header, contract, record.call_id, record.received_at, Ok(&answer)),
            None => answer,
        })
    }
}

impl Services {
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

    /// A consumer registered for the other environment is not registered here.
    fn check_environment(&self, consumer: &Consumer) -> Result<(), ServiceError> {
        if consumer.environment != self.environment {
            return Err(ServiceError::with_detail(
                ErrorCode::ConsumerNotRegistered,
                format!("The certificate is registered for the {} environment; this service is {}.", consumer.environment, self.environment),
            ));
        }
        Ok(())
    }

    /// The last gate before the store is read: the consumer's and the operator's rate
    /// limits and daily quotas, then no replay key (the canonical MessageID; what a signature
    /// covers) may have been seen. On PostgreSQL the daily quotas and the replay keys are kept
    /// in the database, for every instance on it; if that cannot be done the call fails closed
    /// (`StoreUnavailable`), as it would at the store a moment later. The in-memory minute buckets are charged only once the shared
    /// quotas have admitted the call.
    async fn admit(&self, record: &CallRecord, replay_keys: &[(String, std::time::Duration)]) -> Result<(), ServiceError> {
        let consumer = record.consumer.as_ref().map_or("-", |c| c.id.as_str());
        let operator = record.as_sent.operator_person_code.as_deref().map(canonical_person_code);
        let today = Utc::now().date_naive();
        let admission = self.quotas.judge(consumer, operator.as_deref(), Instant::now(), today)?;
        let shared = self.quotas.shared_daily(consumer, operator.as_deref());
        if !shared.is_empty() {
            let charges: Vec<(&str, u32)> = shared.iter().map(|quota| (quota.subject.as_str(), quota.per_day)).collect();
            if let QuotaCharge::UsedUp(used_up) = self.store.charge_daily_quotas(&charges, today).await.map_err(store_failure)? {
                return Err(shared[used_up].refusal());
            }
        }
        admission.charge();
        if self.security.replays.window().is_zero() {
            return Ok(());
        }
        for (key, window) in replay_keys {
            match self.store.remember_message_id(consumer, key, *window).await.map_err(store_failure)? {
                MessageIdCheck::First => {}
                MessageIdCheck::Replayed => return Err(freshness::replayed(*window)),
                MessageIdCheck::KeptInProcess => self.security.replays.check_and_remember_for(consumer, key, *window, Instant::now())?,
            }
        }
        Ok(())
    }
}

/// The SOAP Body's content, before its header is judged.
enum Wrapped {
    Plain(Element),
    Ivis(IvisRequest),
}

/// A store failure becomes `StoreUnavailable` (retry may help) or `InternalError` (it will
/// not); the cause is logged here, without personal data, and not shown to the caller.
fn store_failure(error: StoreError) -> ServiceError {
    tracing::error!(%error, "store failure");
    match error {
        StoreError::Unavailable(_) => ServiceError::new(ErrorCode::StoreUnavailable),
        StoreError::Corrupt(_) => ServiceError::new(ErrorCode::InternalError),
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

impl Services {
    /// A fault answer, signed like every answer when signing is on.
    fn fault_answer(&self, version: SoapVersion, error: &ServiceError, call_id: Uuid) -> Answer {
        Answer {
            status: fault::http_status(version, error),
            content_type: version.content_type(),
            // A fault carries no personal data: if it cannot be signed it goes out unsigned,
            // so that the caller still learns why (the failure is logged).
            body: self.security.envelope(version, &fault::fault_element(version, error, call_id), call_id, Utc::now()).unwrap_or_else(
                |unsigned| unsigned.envelope,
            ),
        }
    }

    /// An answer that may carry data: signed, or refused with `InternalError` when the signer
    /// fails (it was probed at start, so this is a broken key or HSM, never the caller).
    fn ok_answer(&self, version: SoapVersion, payload: &str, call_id: Uuid) -> Result<Answer, ServiceError> {
        match self.security.envelope(version, payload, call_id, Utc::now()) {
            Ok(body) => Ok(Answer { status: 200, content_type: version.content_type(), body }),
            Err(_) => Err(ServiceError::with_detail(ErrorCode::InternalError, "The answer could not be signed, so it is not sent.")),
        }
    }
}

impl CallRecord {
    fn new(peer: &Peer, contract: Option<&'static ServiceContract>) -> CallRecord {
        CallRecord {
            // Time-ordered (v7): audit records are appended in id order, so the unique index
            // on the id grows at its end instead of dirtying a random page per call.
            call_id: Uuid::now_v7(),
            received_at: Utc::now(),
            client: peer.address,
            certificate: peer.certificate.clone(),
            consumer: None,
            intermediary: None,
            contract,
            soap_version: None,
            style: None,
            ws_addressing_message_id: None,
            ivis: None,
            as_sent: AsSent::default(),
            outcome: Ok(0),
            elapsed_micros: 0,
        }
    }
}

/// The audit record of a finished call.
fn audit_record(call: &CallRecord, environment: Environment) -> AuditRecord {
    let ivis = call.ivis.as_ref();
    let nonempty = |value: &Option<String>| value.clone().filter(|v| !v.is_empty());
    AuditRecord {
        seq: 0,
        record_id: call.call_id,
        received_at: call.received_at,
        message_id: ivis.and_then(|h| h.message_id.clone()).or_else(|| call.ws_addressing_message_id.clone()),
        transaction_id: ivis.and_then(|h| h.transaction_id.clone()),
        correlation_id: ivis.and_then(|h| h.correlation_id.clone()),
        consumer_id: call.consumer.as_ref().map(|c| c.id.clone()),
        consumer_name: call.consumer.as_ref().map(|c| c.name.clone()),
        certificate_sha256: call.certificate.sha256_fingerprint.clone(),
        certificate_subject: call.certificate.subject.clone(),
        client_ip: call.client.ip().to_string(),
        environment: environment.to_string(),
        operator_first_name: nonempty(&call.as_sent.operator_first_name),
        operator_surname: nonempty(&call.as_sent.operator_surname),
        operator_person_code: nonempty(&call.as_sent.operator_person_code).map(|code| canonical_person_code(&code)),
        // The Sender as sent; a forwarded call names its intermediary beside it (both kept in
        // this field so that the record's canonical encoding, and its hash chain, stay as they are).
        ivis_sender: match (ivis.and_then(|h| h.sender.clone()), &call.intermediary) {
            (Some(sender), Some(intermediary)) => Some(format!("{sender} (forwarded by {})", intermediary.id)),
            (sender, _) => sender,
        },
        service: call.contract.map_or("-", |c| c.service.code()).to_string(),
        request_style: call.style.map(|s| s.label().to_string()),
        soap_version: call.soap_version.map(|v| v.label().to_string()),
        person_code: nonempty(&call.as_sent.person_code).map(|code| canonical_person_code(&code)),
        outcome: match &call.outcome {
            Ok(_) => "ok".to_string(),
            Err(error) => error.code.name().to_string(),
        },
        records_returned: call.outcome.as_ref().map_or(0, |n| i64::try_from(*n).unwrap_or(i64::MAX)),
        processing_micros: i64::try_from(call.elapsed_micros).unwrap_or(i64::MAX),
    }
}

/// Runs the pipeline so that a panic in it — a bug, never an expected outcome — still ends
/// the call with an answer and an audit record: the panic becomes `InternalError`, and only
/// the call id is logged (the panic's message may quote request data; the hook installed by
/// [`install_panic_hook`] keeps it out of the logs as well).
async fn contained<F>(pipeline: F, call_id: Uuid) -> Result<String, ServiceError>
where
    F: std::future::Future<Output = Result<String, ServiceError>>,
{
    use futures_util::FutureExt;
    match std::panic::AssertUnwindSafe(pipeline).catch_unwind().await {
        Ok(result) => result,
        Err(_) => {
            tracing::error!(%call_id, "call failed: the pipeline panicked; answered InternalError");
            Err(ServiceError::with_detail(ErrorCode::InternalError, "The call failed unexpectedly; quote the ErrorId."))
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

/// Plain or IVIS, and the right operation for the path.
fn classify(body: &Element, contract: &ServiceContract) -> Result<RequestStyle, ServiceError> {
    if body.is(IVIS_NS, "IVISRequest") {
        return Ok(RequestStyle::Ivis);
    }
    if body.is(SPOLIS_NS, contract.operation) {
        return Ok(RequestStyle::Plain);
    }
    let detail = match SERVICES.iter().find(|other| body.is(SPOLIS_NS, other.operation)) {
        Some(other) => format!("{} is served at {}.", other.operation, other.path),
        None => format!("{} expects {{{SPOLIS_NS}}}{} or an IVISRequest.", contract.path, contract.operation),
    };
    Err(ServiceError::with_detail(ErrorCode::UnknownOperation, detail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_pipeline_becomes_an_internal_error() {
        let pipeline = async {
            let date = String::from("2024-01-0ā");
            // The panic of the original finding: a byte index inside a character.
            Ok(date[..10].to_string())
        };
        let error = contained(pipeline, Uuid::nil()).await.unwrap_err();
        assert_eq!(error.code, ErrorCode::InternalError);
    }

    #[tokio::test]
    async fn a_pipeline_that_does_not_panic_is_passed_through() {
        assert_eq!(contained(async { Ok("answer".to_string()) }, Uuid::nil()).await.unwrap(), "answer");
        let refused = contained(async { Err(ServiceError::new(ErrorCode::InvalidPeriod)) }, Uuid::nil()).await;
        assert_eq!(refused.unwrap_err().code, ErrorCode::InvalidPeriod);
    }
}
