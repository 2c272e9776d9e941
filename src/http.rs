//! HTTP routing for one authenticated connection:
//! `POST /GetApplicationList`, `POST /GetQueueStatusList` → the SOAP pipeline (`service`);
//! `GET /<Operation>?wsdl` → the WSDL with this server's public URL; `GET /xsd/<file>` → the
//! schemas it imports. The request body is capped while it is read, never after, and its
//! bytes are reserved in the shared buffer budget (`budget`) before they are buffered.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;

use crate::budget::{BodyBudget, Reservation};
use crate::config::Limits;
use crate::contract::{self, ServiceContract};
use crate::error::{ErrorCode, ServiceError};
use crate::service::{Answer, CallRecord, Peer, Services, SoapRequest};
use crate::soap::SoapVersion;

/// What the routes need, shared by all connections.
pub struct App {
    pub services: Services,
    /// Base URL written into served WSDLs.
    pub(crate) public_url: String,
    pub(crate) limits: Limits,
    /// `/ready` fails while the register is older than this (`max_register_age_hours`).
    pub(crate) max_register_age: Option<std::time::Duration>,
    /// The TLS configuration in force (for `/ready` and `/metrics`: the CRLs' state).
    pub(crate) tls: std::sync::Arc<crate::reload::Swappable<crate::tls::TlsState>>,
    /// Request body bytes buffered at once, by all connections together.
    pub(crate) budget: BodyBudget,
}

/// Answers one HTTP request. Never fails: every problem is an answer.
pub(crate) async fn route(app: Arc<App>, peer: Arc<Peer>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or_default().to_ascii_lowercase();
    let contract = ServiceContract::by_path(&path);
    match (request.method(), contract) {
        (&Method::POST, Some(contract)) => call(&app, &peer, contract, request).await,
        (&Method::GET, Some(contract)) if query == "wsdl" => {
            document(contract.wsdl_for(&app.public_url))
        }
        (&Method::GET, None) if path.starts_with("/xsd/") => match contract::schema(&path["/xsd/".len()..]) {
            Some(schema) => document(schema.to_string()),
            None => refusal(&app, &peer, None, ErrorCode::NotFound).await,
        },
        (_, Some(contract)) => refusal(&app, &peer, Some(contract), ErrorCode::MethodNotAllowed).await,
        (_, None) => refusal(&app, &peer, None, ErrorCode::NotFound).await,
    }
}

async fn call(app: &App, peer: &Peer, contract: &'static ServiceContract, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let content_type = header(CONTENT_TYPE.as_str());
    let soap_action = header("soapaction");
    let declared_length = header(CONTENT_LENGTH.as_str()).and_then(|v| v.parse::<u64>().ok());
    // Registered to a consumer of this environment: the budget's share of unknown callers is small.
    let registered = app.services.registry.current().identify(&peer.certificate).is_some_and(|c| c.environment == app.services.environment);
    let (body, reservation) = read_body(request.into_body(), declared_length, &app.limits, &app.budget, registered).await;
    let request = SoapRequest { content_type: content_type.as_deref(), soap_action: soap_action.as_deref(), body: body.map_err(ServiceError::from) };
    let (answer, record) = app.services.call(peer, contract, request).await;
    // The body's bytes are in use until the call is answered.
    drop(reservation);
    answer_with_call_id(app, started, answer, &record)
}

/// Logs and counts the call, and answers with its id in `x-call-id`.
fn answer_with_call_id(app: &App, started: Instant, answer: Answer, record: &CallRecord) -> Response<Full<Bytes>> {
    log_call(record);
    let outcome = record.outcome.as_ref().map_or_else(|error| error.code.name(), |_| "ok");
    app.services.metrics.record_call(
        record.contract.map_or("-", |c| c.service.code()),
        record.consumer.as_ref().map_or("-", |c| c.id.as_str()),
        outcome,
        started.elapsed(),
    );
    let mut response = respond(answer);
    if let Ok(value) = HeaderValue::from_str(&record.call_id.to_string()) {
        response.headers_mut().insert("x-call-id", value);
    }
    response
}

/// Why the transport refuses a request body.
#[derive(Debug, thiserror::Error)]
enum BodyError {
    /// Larger than `max_body_bytes`, by its declared length or as it arrived.
    #[error("The limit is {limit} bytes.")]
    TooLarge { limit: usize },
    /// No room in the buffer budget in time.
    #[error("No room to buffer the request in time.")]
    Busy,
    /// Not complete within the body timeout.
    #[error("The request body did not arrive in time.")]
    Timeout,
    #[error("The request body could not be read.")]
    Unreadable,
}

impl From<BodyError> for ServiceError {
    fn from(error: BodyError) -> ServiceError {
        let code = match error {
            BodyError::TooLarge { .. } => ErrorCode::BodyToBig,
            BodyError::Busy => ErrorCode::ServiceBusy,
            // The table's message says it all.
            BodyError::Timeout => return ServiceError::new(ErrorCode::RequestTimeout),
            BodyError::Unreadable => ErrorCode::MalformedXml,
        };
        ServiceError::with_detail(code, error.to_string())
    }
}

/// Reads the body within the size limit and the body timeout, reserving its bytes in the
/// budget first. A declared length is reserved whole before anything is read, so that a request
/// never holds part of the budget while it waits for the rest; a body of unknown length
/// reserves as it arrives.
async fn read_body(
    body: Incoming,
    declared_length: Option<u64>,
    limits: &Limits,
    budget: &BodyBudget,
    registered: bool,
) -> (Result<Bytes, BodyError>, Reservation) {
    let mut reservation = Reservation::default();
    let too_big = || BodyError::TooLarge { limit: limits.max_body_bytes };
    let declared = match declared_length.map(usize::try_from) {
        Some(Ok(length)) if length <= limits.max_body_bytes => Some(length),
        Some(_) => return (Err(too_big()), reservation),
        None => None,
    };
    let read_deadline = tokio::time::Instant::now() + limits.body_timeout();
    let budget_deadline = (tokio::time::Instant::now() + limits.buffer_wait()).min(read_deadline);
    if let Some(length) = declared {
        if budget.reserve(&mut reservation, length, registered, budget_deadline).await.is_err() {
            return (Err(BodyError::Busy), reservation);
        }
    }
    let mut body = Limited::new(body, limits.max_body_bytes);
    let mut buffered = Vec::with_capacity(declared.unwrap_or(0));
    loop {
        let frame = match tokio::time::timeout_at(read_deadline, body.frame()).await {
            Err(_) => return (Err(BodyError::Timeout), reservation),
            Ok(None) => break,
            Ok(Some(Ok(frame))) => frame,
            Ok(Some(Err(error))) if error.downcast_ref::<http_body_util::LengthLimitError>().is_some() => return (Err(too_big()), reservation),
            Ok(Some(Err(_))) => return (Err(BodyError::Unreadable), reservation),
        };
        let Ok(data) = frame.into_data() else { continue };
        let more = (buffered.len() + data.len()).saturating_sub(reservation.bytes());
        let wait_until = (tokio::time::Instant::now() + limits.buffer_wait()).min(read_deadline);
        if more > 0 && budget.reserve(&mut reservation, more, registered, wait_until).await.is_err() {
            return (Err(BodyError::Busy), reservation);
        }
        buffered.extend_from_slice(&data);
    }
    (Ok(Bytes::from(buffered)), reservation)
}

/// One line per call, for operators: ids, who, what, outcome, time. No personal data.
fn log_call(record: &CallRecord) {
    let outcome = match &record.outcome {
        Ok(_) => "ok",
        Err(error) => error.code.name(),
    };
    tracing::info!(
        call_id = %record.call_id,
        service = record.contract.map_or("-", |c| c.service.code()),
        consumer = record.consumer.as_ref().map_or("-", |c| c.id.as_str()),
        certificate = %record.certificate.sha256_fingerprint,
        client = %record.client,
        soap = record.soap_version.map_or("-", SoapVersion::label),
        style = record.style.map_or("-", |s| s.label()),
        outcome,
        records = record.outcome.as_ref().map_or(0, |n| *n),
        micros = record.elapsed_micros,
        "call"
    );
}

fn respond(answer: Answer) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(answer.body)));
    *response.status_mut() = answer.status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(answer.content_type));
    // 503 is only `ServiceBusy`: room in the budget comes back within a moment.
    if response.status() == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

fn document(text: String) -> Response<Full<Bytes>> {
    respond(Answer { status: StatusCode::OK, content_type: "text/xml; charset=utf-8", body: text })
}

/// A refusal before any SOAP is read (path, method): a SOAP 1.1 fault, audited like any call.
async fn refusal(app: &App, peer: &Peer, contract: Option<&'static ServiceContract>, code: ErrorCode) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let (answer, record) = app.services.refuse(peer, contract, ServiceError::new(code)).await;
    answer_with_call_id(app, started, answer, &record)
}
