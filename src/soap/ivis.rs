//! The VISS IVIS envelope inside a SOAP Body (VISS.md §2.3–2.4, decisions §11.2):
//! `IVISRequest` → `Header` (MessageID, MessageType, TransactionID, CorrelationID, Sender,
//! Destination) + `Body` (the typed request), answered with an `IVISResponse` carrying a new
//! MessageID, our MessageType, the copied TransactionID/CorrelationID, the TimeStamp, the
//! Result, and either the answer `Body` or an `ErrorList`.
//!
//! Reading is in two steps so that the audit learns the header's ids even from a request that
//! is then refused: [`IvisRequest::split`] collects, [`IvisRequest::check`] judges.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::contract::{ServiceContract, IVIS_NS, SPOLIS_NS};
use crate::error::{ErrorCode, ServiceError};
use crate::xml::{Element, XmlWriter};

/// The IVIS header fields, as sent (trimmed; empty counts as absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IvisHeader {
    pub message_id: Option<String>,
    pub message_type: Option<String>,
    pub transaction_id: Option<String>,
    pub correlation_id: Option<String>,
    /// The `Sender` participant in one line, e.g. `AU:90011524360` (for the audit).
    pub sender: Option<String>,
    pub destination: Option<String>,
}

/// An IVISRequest split into its header and the element its Body carries.
/// Why an IVISRequest is refused: its shape, or its header against the endpoint called.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IvisError {
    /// Not an IVISRequest's shape (the detail names what is wrong).
    #[error("IVISRequest: {0}")]
    Shape(String),
    #[error("The IVIS header has no MessageID.")]
    MessageIdMissing,
    #[error("IVISRequest: MessageID is not a UUID.")]
    MessageIdNotUuid,
    #[error("The IVIS header has no Destination.")]
    DestinationMissing,
    #[error("This endpoint serves {served}.")]
    DestinationMismatch { served: &'static str },
    #[error("The IVIS header has no MessageType.")]
    MessageTypeMissing,
    #[error("Expected {expected}.")]
    MessageTypeIncorrect { expected: &'static str },
    #[error("The IVIS Body is missing or empty.")]
    BodyMissing,
    #[error("The Body holds {held}, MessageType names {named}.")]
    BodyOtherType { held: String, named: &'static str },
}

impl IvisError {
    /// Its code in the error table.
    pub fn code(&self) -> ErrorCode {
        match self {
            IvisError::Shape(_) | IvisError::MessageIdNotUuid => ErrorCode::BodyWrongFormat,
            IvisError::MessageIdMissing => ErrorCode::MessageIdNotSpecified,
            IvisError::DestinationMissing => ErrorCode::DestinationIsNull,
            IvisError::DestinationMismatch { .. } => ErrorCode::DestinationMismatch,
            IvisError::MessageTypeMissing => ErrorCode::MessageTypeNotSet,
            IvisError::MessageTypeIncorrect { .. } => ErrorCode::MessageTypeIncorrect,
            IvisError::BodyMissing => ErrorCode::BodyNotSet,
            IvisError::BodyOtherType { .. } => ErrorCode::URNTypeIsIncorect,
        }
    }
}

impl From<IvisError> for ServiceError {
    fn from(error: IvisError) -> ServiceError {
        match error {
            // The table's message says it all.
            IvisError::MessageIdMissing | IvisError::DestinationMissing | IvisError::MessageTypeMissing | IvisError::BodyMissing => {
                ServiceError::new(error.code())
            }
            error => ServiceError::with_detail(error.code(), error.to_string()),
        }
    }
}

#[derive(Debug)]
pub struct IvisRequest {
    pub header: IvisHeader,
    pub payload: Option<Element>,
}

impl IvisRequest {
    /// Collects the header and the payload; refuses only what is not an IVISRequest's shape.
    pub fn split(root: Element) -> Result<IvisRequest, IvisError> {
        let wrong = |detail: &str| IvisError::Shape(detail.to_string());
        let mut header_element = None;
        let mut body_element = None;
        for child in root.children {
            match child.name.as_str() {
                "Header" if child.namespace.as_deref() == Some(IVIS_NS) && header_element.is_none() && body_element.is_none() => {
                    header_element = Some(child)
                }
                "Body" if child.namespace.as_deref() == Some(IVIS_NS) && body_element.is_none() => body_element = Some(child),
                _ => return Err(wrong(&format!("unexpected element {}.", child.qualified_name()))),
            }
        }
        let Some(header_element) = header_element else { return Err(wrong("the Header is missing.")) };
        let mut header = IvisHeader::default();
        for field in &header_element.children {
            if field.namespace.as_deref() != Some(IVIS_NS) {
                return Err(wrong(&format!("unexpected element {} in the Header.", field.qualified_name())));
            }
            let value = || Some(field.text.trim().to_string()).filter(|v| !v.is_empty());
            let slot = match field.name.as_str() {
                "MessageID" => &mut header.message_id,
                "MessageType" => &mut header.message_type,
                "TransactionID" => &mut header.transaction_id,
                "CorrelationID" => &mut header.correlation_id,
                "Destination" => &mut header.destination,
                "Sender" => {
                    header.sender = describe_participant(field);
                    continue;
                }
                other => return Err(wrong(&format!("unexpected element {other} in the Header."))),
            };
            *slot = value();
        }
        let payload = match body_element {
            None => None,
            Some(body) => {
                let mut elements = body.children.into_iter();
                let first = elements.next();
                if elements.next().is_some() {
                    return Err(wrong("the Body must hold exactly one element."));
                }
                first
            }
        };
        Ok(IvisRequest { header, payload })
    }

    /// Checks the header against the service of the endpoint called and returns the payload.
    pub fn check(self, contract: &ServiceContract) -> Result<Element, IvisError> {
        let header = &self.header;
        match header.message_id.as_deref() {
            None => return Err(IvisError::MessageIdMissing),
            Some(id) if Uuid::try_parse(id).is_err() => return Err(IvisError::MessageIdNotUuid),
            Some(_) => {}
        }
        match header.destination.as_deref() {
            None => return Err(IvisError::DestinationMissing),
            Some(destination) if destination != contract.service_urn => {
                return Err(IvisError::DestinationMismatch { served: contract.service_urn })
            }
            Some(_) => {}
        }
        match header.message_type.as_deref() {
            None => return Err(IvisError::MessageTypeMissing),
            Some(message_type) if message_type != contract.request_type_urn => {
                return Err(IvisError::MessageTypeIncorrect { expected: contract.request_type_urn })
            }
            Some(_) => {}
        }
        let Some(payload) = self.payload else { return Err(IvisError::BodyMissing) };
        if !payload.is(SPOLIS_NS, contract.operation) {
            return Err(IvisError::BodyOtherType { held: payload.qualified_name(), named: contract.operation });
        }
        Ok(payload)
    }
}

/// One line for an `IVISParticipant`: the NameIdentifier if given, else the employee as
/// `AU:<authority>-PK:<code>`, else the SystemID or process name.
fn describe_participant(participant: &Element) -> Option<String> {
    let field = |element: &Element, name: &str| {
        element
            .children
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.text.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    if let Some(name_identifier) = field(participant, "NameIdentifier") {
        return Some(name_identifier);
    }
    if let Some(employee) = participant.children.iter().find(|c| c.name == "Employee") {
        let authority = field(employee, "AuthorityID").unwrap_or_default();
        let person = field(employee, "PersonCode").unwrap_or_default();
        return Some(format!("AU:{authority}-PK:{person}"));
    }
    field(participant, "SystemID").or_else(|| field(participant, "Process"))
}

/// The IVISResponse element (the SOAP Body's content) for an answer or an error.
pub fn response_element(
    header: &IvisHeader,
    contract: &ServiceContract,
    call_id: Uuid,
    received_at: DateTime<Utc>,
    outcome: Result<&str, &ServiceError>,
) -> String {
    let mut w = XmlWriter::with_capacity(outcome.map_or(1024, |payload| payload.len() + 1024));
    w.open_with("IVISResponse", &[("xmlns", IVIS_NS)]).open("Header");
    w.leaf("MessageID", &call_id.to_string());
    // A failed call still answers in the service's response type: the error list is ours.
    w.leaf("MessageType", contract.response_type_urn);
    w.leaf_opt("TransactionID", header.transaction_id.as_deref());
    w.leaf_opt("CorrelationID", header.correlation_id.as_deref());
    w.leaf("TimeStamp", &received_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string());
    match outcome {
        Ok(payload) => {
            w.leaf("Result", "success").close("Header").open("Body").raw(payload).close("Body");
        }
        Err(error) => {
            w.leaf("Result", "failure").close("Header").open("ErrorList").open("Error");
            w.leaf("ErrorCode", error.code.name())
                .leaf("ErrorSeverity", "error")
                .leaf("ErrorDescription", &format!("{} [{} {}; ErrorId {}]", error.message(), error.code.name(), error.code.number(), call_id))
                .close("Error")
                .close("ErrorList");
        }
    }
    w.close("IVISResponse");
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{GET_APPLICATION_LIST, GET_QUEUE_STATUS_LIST};
    use crate::xml::{parse, XmlLimits};

    fn request(header: &str, body: &str) -> IvisRequest {
        let text = format!(r#"<IVISRequest xmlns="{IVIS_NS}"><Header>{header}</Header>{body}</IVISRequest>"#);
        IvisRequest::split(parse(text.as_bytes(), &XmlLimits::default()).unwrap()).unwrap()
    }

    fn full_header(destination: &str, message_type: &str) -> String {
        format!(
            "<MessageID>6f1c2a9e-0b7d-4c1e-9a55-1d2e3f4a5b6c</MessageID><MessageType>{message_type}</MessageType>\
             <TransactionID>URN:IVIS:100001:EP.DA-DA115-v1-0-TR-1</TransactionID>\
             <Sender><NameIdentifier>AU:90011524360</NameIdentifier></Sender><Destination>{destination}</Destination>"
        )
    }

    fn payload(operation: &str) -> String {
        format!(r#"<Body><{operation} xmlns="{SPOLIS_NS}"/></Body>"#)
    }

    #[test]
    fn a_correct_request_yields_its_payload_and_header() {
        let contract = &GET_APPLICATION_LIST;
        let request = request(&full_header(contract.service_urn, contract.request_type_urn), &payload(contract.operation));
        assert_eq!(request.header.sender.as_deref(), Some("AU:90011524360"));
        assert!(request.check(contract).unwrap().is(SPOLIS_NS, "GetApplicationList"));
    }

    #[test]
    fn header_errors_have_their_viss_codes() {
        let contract = &GET_APPLICATION_LIST;
        let other = &GET_QUEUE_STATUS_LIST;
        let cases = [
            (String::new(), payload(contract.operation), ErrorCode::MessageIdNotSpecified),
            (
                full_header(contract.service_urn, contract.request_type_urn).replace("<Destination>URN:IVIS:100001:ISS-LM-GetApplicationList-v1-0</Destination>", ""),
                payload(contract.operation),
                ErrorCode::DestinationIsNull,
            ),
            (full_header(other.service_urn, contract.request_type_urn), payload(contract.operation), ErrorCode::DestinationMismatch),
            (full_header(contract.service_urn, other.request_type_urn), payload(contract.operation), ErrorCode::MessageTypeIncorrect),
            (full_header(contract.service_urn, contract.request_type_urn), String::new(), ErrorCode::BodyNotSet),
            (full_header(contract.service_urn, contract.request_type_urn), payload(other.operation), ErrorCode::URNTypeIsIncorect),
        ];
        for (header, body, code) in cases {
            assert_eq!(request(&header, &body).check(contract).unwrap_err().code(), code, "{header} {body}");
        }
    }

    #[test]
    fn error_response_carries_the_error_list_and_copies_ids() {
        let header = IvisHeader { transaction_id: Some("URN:IVIS:100001:TR-1".into()), correlation_id: Some("c".into()), ..Default::default() };
        let error = ServiceError::new(ErrorCode::ServiceNotAllowed);
        let text = response_element(&header, &GET_APPLICATION_LIST, Uuid::nil(), Utc::now(), Err(&error));
        assert!(text.contains("<Result>failure</Result>"));
        assert!(text.contains("<ErrorCode>ServiceNotAllowed</ErrorCode>"));
        assert!(text.contains("<TransactionID>URN:IVIS:100001:TR-1</TransactionID><CorrelationID>c</CorrelationID>"));
    }
}
