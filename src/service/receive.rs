//! Stage one: what the request says of itself. Content-Type and SOAP action → XML (parsed
//! off the async workers) → envelope → style (plain or IVIS) → what identifies the call (the
//! IVIS header, the operator and person as sent), collected before anything is judged so
//! that a refusal is still attributable in the audit.

use bytes::Bytes;

use crate::contract::{ServiceContract, IVIS_NS, SERVICES, SPOLIS_NS};
use crate::error::{ErrorCode, ServiceError};
use crate::soap::ivis::IvisRequest;
use crate::soap::payload::AsSent;
use crate::soap;
use crate::xml::{self, Element, XmlLimits};

use super::record::{Heard, Known, Refused};
use super::{RequestStyle, SoapRequest};

/// Why a request is refused before its envelope's content is judged (beside the refusals
/// of the SOAP and IVIS readers).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReceiveError {
    #[error("{0}.")]
    MalformedXml(String),
    /// The parser's worker was lost (it panicked or the pool is shut down).
    #[error("The request could not be parsed.")]
    ParserLost,
    #[error("{0}")]
    UnknownOperation(String),
    #[error("The Body is {style} {operation}; its action is {expected}, not {sent}.")]
    ActionMismatch { style: &'static str, operation: &'static str, expected: &'static str, sent: String },
}

impl From<ReceiveError> for ServiceError {
    fn from(error: ReceiveError) -> ServiceError {
        let code = match &error {
            ReceiveError::MalformedXml(_) => ErrorCode::MalformedXml,
            // An internal failure: nothing for the caller to read in a detail.
            ReceiveError::ParserLost => return ServiceError::new(ErrorCode::InternalError),
            ReceiveError::UnknownOperation(_) => ErrorCode::UnknownOperation,
            ReceiveError::ActionMismatch { .. } => ErrorCode::ActionMismatch,
        };
        ServiceError::with_detail(code, error.to_string())
    }
}

/// A request whose envelope has been read.
pub(crate) struct Received {
    pub heard: Heard,
    /// The body as sent: a signature is verified over these bytes.
    pub document: Bytes,
    pub headers: Vec<Element>,
    pub wrapped: Wrapped,
}

/// The SOAP Body's content, before its IVIS header is judged.
pub(crate) enum Wrapped {
    Plain(Element),
    Ivis(IvisRequest),
}

impl Received {
    /// A refusal after this stage, with what it and the caller's identification learnt.
    pub(crate) fn refused(&self, caller: Option<super::record::Caller>, error: ServiceError) -> Refused {
        Refused { error, known: Known { heard: self.heard.clone(), caller } }
    }
}

/// Reads the request made to `contract`'s path as far as its payload.
pub(crate) async fn receive(request: SoapRequest<'_>, contract: &'static ServiceContract, limits: XmlLimits) -> Result<Received, Refused> {
    let refused = |heard: &Heard, error| Refused { error, known: Known { heard: heard.clone(), caller: None } };
    let http = soap::read_http_headers(request.content_type, request.soap_action)
        .map_err(|(version, error)| refused(&Heard { soap_version: Some(version), ..Heard::default() }, error.into()))?;
    let mut heard = Heard { soap_version: Some(http.version), ..Heard::default() };
    let document = request.body.map_err(|error| refused(&heard, error))?;
    let parsing = document.clone();
    let root = crate::cpu::run(move || xml::parse(&parsing, &limits))
        .await
        .map_err(|_| refused(&heard, ReceiveError::ParserLost.into()))?
        .map_err(|why| refused(&heard, ReceiveError::MalformedXml(capitalise(&why.to_string())).into()))?;
    let envelope = soap::parse_envelope(root, http.version).map_err(|error| refused(&heard, error.into()))?;
    heard.ws_addressing_message_id = envelope.ws_addressing_message_id().map(str::to_string);

    let style = classify(&envelope.body, contract).map_err(|error| refused(&heard, error.into()))?;
    heard.style = Some(style);
    let expected_action = match style {
        RequestStyle::Plain => contract.plain_action,
        RequestStyle::Ivis => contract.ivis_action,
    };
    if let Some(action) = http.action.filter(|action| action != expected_action) {
        let mismatch = ReceiveError::ActionMismatch { style: style.label(), operation: contract.operation, expected: expected_action, sent: action };
        return Err(refused(&heard, mismatch.into()));
    }
    let wrapped = match style {
        RequestStyle::Plain => {
            heard.as_sent = AsSent::collect(&envelope.body);
            Wrapped::Plain(envelope.body)
        }
        RequestStyle::Ivis => {
            let request = IvisRequest::split(envelope.body).map_err(|error| refused(&heard, error.into()))?;
            heard.ivis = Some(request.header.clone());
            if let Some(payload) = &request.payload {
                heard.as_sent = AsSent::collect(payload);
            }
            Wrapped::Ivis(request)
        }
    };
    Ok(Received { heard, document, headers: envelope.headers, wrapped })
}

/// Plain or IVIS, and the right operation for the path.
fn classify(body: &Element, contract: &ServiceContract) -> Result<RequestStyle, ReceiveError> {
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
    Err(ReceiveError::UnknownOperation(detail))
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}
