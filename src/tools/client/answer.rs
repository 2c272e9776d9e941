//! Reads the server's answers back into the crate's model types: a SOAP envelope holding an
//! EP115/EP116 answer, an IVISResponse (with its Body or its ErrorList), or a SOAP Fault with
//! a `ServiceError` detail.
//!
//! Input: the answer's bytes. Output: an [`Answer`] — the payload as [`ApplicationList`] /
//! [`QueueStatusList`], or the refusal with its stable code. Parsed with the crate's own
//! bounded parser (`xml::parse`, no DTDs); a document that does not follow the contract is
//! an error naming the element, never a panic.

use anyhow::{anyhow, bail, Context};
use chrono::NaiveDate;

use crate::contract::{IVIS_NS, SOAP11_NS, SOAP12_NS, SPOLIS_NS};
use crate::model::{
    Application, ApplicationList, ApplicationStatus, Classifier, Contacts, DocumentRequest, EstimatedWait, GrantDecision, LegalRepresentative,
    Municipality, OfferedPlace, Person, Provider, QueueDecision, QueueEvent, QueueEventKind, QueuePosition, QueueStatusList, RefusalDecision,
    SubmittedDocument, Tenths, WaitOutcome,
};
use crate::personal_code::PersonalCode;
use crate::soap::SoapVersion;
use crate::xml::{self, Element, XmlLimits};

/// Bounds for answers: larger than a request's, still bounded.
pub fn answer_limits() -> XmlLimits {
    XmlLimits {
        max_depth: 64,
        max_elements: 2_000_000,
        max_attributes: 64,
        max_name_length: 256,
        max_namespace_declarations: 64,
        max_namespace_declarations_total: 2_000_000,
        max_namespaces_in_scope: 128,
    }
}

/// What an EP115 or EP116 answer carries.
#[derive(Debug, Clone)]
pub enum Payload {
    Applications(ApplicationList),
    QueueStatus(QueueStatusList),
    Statistics(crate::model::QueueStatistics),
}

/// A SOAP Fault (plain style) with its `ServiceError` detail, if it had one.
#[derive(Debug, Clone, Default)]
pub struct Fault {
    /// `soap:Client` / `soap:Server` (1.1) or `Sender` / `Receiver` (1.2).
    pub fault_code: String,
    pub reason: String,
    pub code: Option<String>,
    pub number: Option<String>,
    pub message_lv: Option<String>,
    pub error_id: Option<String>,
}

/// One `Error` of an IVISResponse's `ErrorList`.
#[derive(Debug, Clone)]
pub struct IvisError {
    pub code: String,
    pub severity: String,
    pub description: String,
}

/// The IVISResponse header fields worth showing.
#[derive(Debug, Clone, Default)]
pub struct IvisHeader {
    pub message_id: String,
    pub message_type: String,
    pub result: String,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    Answered(Payload),
    Fault(Fault),
    IvisFailure(Vec<IvisError>),
}

/// A parsed answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The version the answer came in; no output shows it, the tests check it is detected.
    #[allow(dead_code)]
    pub soap: SoapVersion,
    /// Present when the answer was an IVISResponse.
    pub ivis: Option<IvisHeader>,
    pub outcome: Outcome,
    /// The element inside the SOAP Body (the payload, IVISResponse or Fault), for JSON.
    pub body_element: Element,
}

impl Answer {
    /// The stable error code of a refusal, if this is one.
    pub fn error_code(&self) -> Option<String> {
        match &self.outcome {
            Outcome::Answered(_) => None,
            Outcome::Fault(fault) => Some(fault.code.clone().unwrap_or_else(|| fault.fault_code.clone())),
            Outcome::IvisFailure(errors) => errors.first().map(|e| e.code.clone()),
        }
    }
}

/// Parses an answer envelope.
pub fn parse_answer(bytes: &[u8]) -> anyhow::Result<Answer> {
    let root = xml::parse(bytes, &answer_limits()).map_err(|e| anyhow!("the answer is not XML the client can read: {e}"))?;
    let soap = if root.is(SOAP11_NS, "Envelope") {
        SoapVersion::V11
    } else if root.is(SOAP12_NS, "Envelope") {
        SoapVersion::V12
    } else {
        bail!("the answer is not a SOAP envelope but {}", root.qualified_name());
    };
    let body = root
        .children
        .iter()
        .find(|e| e.is(soap.namespace(), "Body"))
        .ok_or_else(|| anyhow!("the answer's envelope has no Body"))?;
    let inner = body.children.first().ok_or_else(|| anyhow!("the answer's Body is empty"))?;
    let (ivis, outcome) = if inner.is(soap.namespace(), "Fault") {
        (None, Outcome::Fault(read_fault(inner, soap)))
    } else if inner.is(IVIS_NS, "IVISResponse") {
        let header = required(inner, "Header")?;
        let ivis = IvisHeader {
            message_id: text_of(header, "MessageID").unwrap_or_default(),
            message_type: text_of(header, "MessageType").unwrap_or_default(),
            result: text_of(header, "Result").unwrap_or_default(),
        };
        let outcome = if let Some(errors) = child(inner, "ErrorList") {
            Outcome::IvisFailure(
                children(errors, "Error")
                    .map(|e| IvisError {
                        code: text_of(e, "ErrorCode").unwrap_or_default(),
                        severity: text_of(e, "ErrorSeverity").unwrap_or_default(),
                        description: text_of(e, "ErrorDescription").unwrap_or_default(),
                    })
                    .collect(),
            )
        } else {
            let payload = required(inner, "Body")?.children.first().ok_or_else(|| anyhow!("the IVISResponse's Body is empty"))?;
            Outcome::Answered(read_payload(payload)?)
        };
        (Some(ivis), outcome)
    } else {
        (None, Outcome::Answered(read_payload(inner)?))
    };
    Ok(Answer { soap, ivis, outcome, body_element: inner.clone() })
}

/// Reads `GetApplicationListResponse`, `GetQueueStatusListResponse` or
/// `GetQueueStatisticsResponse`.
pub fn read_payload(element: &Element) -> anyhow::Result<Payload> {
    if element.is(SPOLIS_NS, "GetApplicationListResponse") {
        let applications = children(required(element, "Applications")?, "Application")
            .map(read_application)
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Payload::Applications(ApplicationList {
            register_as_of: register_as_of(element)?,
            person: child(element, "Person").map(read_person).transpose()?,
            applications,
        }))
    } else if element.is(SPOLIS_NS, "GetQueueStatusListResponse") {
        let events = children(required(element, "QueueEvents")?, "QueueEvent")
            .map(read_event)
            .collect::<anyhow::Result<Vec<_>>>()?;
        let positions = children(required(element, "QueuePositions")?, "QueuePosition")
            .map(read_position)
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Payload::QueueStatus(QueueStatusList {
            register_as_of: register_as_of(element)?,
            person: child(element, "Person").map(read_person).transpose()?,
            events,
            positions,
        }))
    } else if element.is(SPOLIS_NS, "GetQueueStatisticsResponse") {
        Ok(Payload::Statistics(super::statistics::read(element)?))
    } else {
        bail!("the answer holds {}, not an answer of this service", element.qualified_name())
    }
}

/// `RegisterAsOf`, when the answer carries it.
fn register_as_of(element: &Element) -> anyhow::Result<Option<chrono::DateTime<chrono::Utc>>> {
    text_of(element, "RegisterAsOf")
        .map(|text| {
            chrono::DateTime::parse_from_rfc3339(text.trim())
                .map(|time| time.with_timezone(&chrono::Utc))
                .with_context(|| format!("RegisterAsOf {text:?} is not a date and time"))
        })
        .transpose()
}

fn read_fault(fault: &Element, soap: SoapVersion) -> Fault {
    let (fault_code, reason, detail) = match soap {
        SoapVersion::V11 => (text_of(fault, "faultcode"), text_of(fault, "faultstring"), child(fault, "detail")),
        SoapVersion::V12 => (
            child(fault, "Code").and_then(|c| text_of(c, "Value")),
            child(fault, "Reason").and_then(|r| text_of(r, "Text")),
            child(fault, "Detail"),
        ),
    };
    let error = detail.and_then(|d| d.children.iter().find(|e| e.is(SPOLIS_NS, "ServiceError")));
    Fault {
        fault_code: fault_code.unwrap_or_default(),
        reason: reason.unwrap_or_default(),
        code: error.and_then(|e| text_of(e, "Code")),
        number: error.and_then(|e| text_of(e, "Number")),
        message_lv: error.and_then(|e| text_of(e, "MessageLv")),
        error_id: error.and_then(|e| text_of(e, "ErrorId")),
    }
}

fn read_application(element: &Element) -> anyhow::Result<Application> {
    let number = text(element, "ApplicationNumber")?;
    let context = || format!("application {number}");
    (|| {
        let municipality = required(element, "Municipality")?;
        anyhow::Ok(Application {
            application_number: number.clone(),
            submitted_on: date(element, "SubmissionDate")?,
            application_kind: text(element, "ApplicationKind")?,
            status: {
                let code = text(required(element, "Status")?, "Code")?;
                ApplicationStatus::from_code(&code).ok_or_else(|| anyhow!("unknown application status {code}"))?
            },
            service_kind: read_classifier(required(element, "ServiceKind")?)?,
            problem_nature: child(element, "ProblemNature").map(read_classifier).transpose()?,
            preferred_provider: child(element, "PreferredProvider").map(read_provider).transpose()?,
            applicant: read_person(required(element, "Applicant")?)?,
            legal_representative: child(element, "LegalRepresentative")
                .map(|r| {
                    anyhow::Ok(LegalRepresentative {
                        first_name: text(r, "FirstName")?,
                        surname: text(r, "Surname")?,
                        person_code: child(r, "PersonCode").map(|c| personal_code(&c.text)).transpose()?,
                        address: text_of(r, "Address"),
                        contacts: read_contacts(r),
                    })
                })
                .transpose()?,
            municipality: Municipality {
                code: text(municipality, "Code")?,
                name: text(municipality, "Name")?,
                address: text(municipality, "Address")?,
                contacts: read_contacts(municipality),
            },
            submitted_documents: list(element, "SubmittedDocuments", "Document", |d| {
                Ok(SubmittedDocument { title: text(d, "Title")?, submitted_on: date(d, "SubmissionDate")? })
            })?,
            document_requests: list(element, "DocumentRequests", "DocumentRequest", |d| {
                Ok(DocumentRequest {
                    requested_on: date(d, "RequestDate")?,
                    description: text(d, "Description")?,
                    due_on: optional_date(d, "DueDate")?,
                    fulfilled_on: optional_date(d, "FulfilledDate")?,
                })
            })?,
            grant_decisions: list(element, "GrantDecisions", "GrantDecision", |d| {
                Ok(GrantDecision {
                    decided_on: date(d, "DecisionDate")?,
                    document_number: text(d, "DocumentNumber")?,
                    provider: read_provider(required(d, "Provider")?)?,
                    granted_from: date(d, "GrantedFrom")?,
                })
            })?,
            queue_decisions: list(element, "QueueDecisions", "QueueDecision", |d| {
                Ok(QueueDecision {
                    decided_on: date(d, "DecisionDate")?,
                    document_number: text(d, "DocumentNumber")?,
                    provider: read_provider(required(d, "Provider")?)?,
                    queued_from: date(d, "QueuedFrom")?,
                })
            })?,
            refusal_decisions: list(element, "RefusalDecisions", "RefusalDecision", |d| {
                Ok(RefusalDecision {
                    decided_on: date(d, "DecisionDate")?,
                    document_number: text(d, "DocumentNumber")?,
                    reason: text(d, "Reason")?,
                })
            })?,
        })
    })()
    .with_context(context)
}

fn read_event(element: &Element) -> anyhow::Result<QueueEvent> {
    let kind = required(element, "EventKind")?;
    let code: u8 = text(kind, "Code")?.parse().context("EventKind/Code is not a number")?;
    Ok(QueueEvent {
        kind: QueueEventKind::from_code(code).ok_or_else(|| anyhow!("unknown queue event kind {code}"))?,
        event_date: date(element, "EventDate")?,
        decision_number: text_of(element, "DecisionNumber"),
        service_kind: read_classifier(required(element, "ServiceKind")?)?,
        problem_nature: child(element, "ProblemNature").map(read_classifier).transpose()?,
        preferred_provider: child(element, "PreferredProvider").map(read_provider).transpose()?,
        offered_place: child(element, "OfferedPlace")
            .map(|p| anyhow::Ok(OfferedPlace { provider: read_provider(required(p, "Provider")?)?, address: text(p, "Address")? }))
            .transpose()?,
        granted_on: optional_date(element, "GrantDate")?,
        application_number: text_of(element, "ApplicationNumber"),
    })
}

fn read_position(element: &Element) -> anyhow::Result<QueuePosition> {
    Ok(QueuePosition {
        service_kind: read_classifier(required(element, "ServiceKind")?)?,
        provider: read_provider(required(element, "Provider")?)?,
        queued_since: date(element, "QueuedSince")?,
        places_ahead: text(element, "PlacesAhead")?.parse().context("PlacesAhead is not a number")?,
        queue_length: text(element, "QueueLength")?.parse().context("QueueLength is not a number")?,
        estimated_wait: child(element, "EstimatedWait").map(read_estimated_wait).transpose()?,
    })
}

fn read_estimated_wait(element: &Element) -> anyhow::Result<EstimatedWait> {
    let months = |name: &str| -> anyhow::Result<Tenths> {
        let value = text(element, name)?;
        Tenths::parse(&value).ok_or_else(|| anyhow!("EstimatedWait/{name} {value:?} is not a number of months"))
    };
    let insufficient = text(element, "InsufficientData")?;
    let outcome = if matches!(insufficient.trim(), "true" | "1") {
        WaitOutcome::InsufficientData
    } else {
        WaitOutcome::Estimated {
            months: months("Months")?,
            low: months("MonthsLow")?,
            high: child(element, "MonthsHigh").map(|_| months("MonthsHigh")).transpose()?,
        }
    };
    Ok(EstimatedWait {
        outcome,
        basis_exits: text(element, "BasisExits")?.parse().context("BasisExits is not a number")?,
        basis_months: text(element, "BasisMonths")?.parse().context("BasisMonths is not a number")?,
        basis_from: date(element, "BasisFrom")?,
        basis_till: date(element, "BasisTill")?,
        basis: text(element, "Basis")?,
    })
}

fn read_person(element: &Element) -> anyhow::Result<Person> {
    Ok(Person {
        person_code: personal_code(&text(element, "PersonCode")?)?,
        first_name: text(element, "FirstName")?,
        surname: text(element, "Surname")?,
    })
}

fn read_provider(element: &Element) -> anyhow::Result<Provider> {
    Ok(Provider { code: text(element, "Code")?, name: text(element, "Name")? })
}

fn read_classifier(element: &Element) -> anyhow::Result<Classifier> {
    Ok(Classifier { code: text(element, "Code")?, name: text(element, "Name")? })
}

fn read_contacts(element: &Element) -> Contacts {
    match child(element, "Contacts") {
        Some(contacts) => Contacts { phone: text_of(contacts, "Phone"), email: text_of(contacts, "Email") },
        None => Contacts::default(),
    }
}

fn personal_code(text: &str) -> anyhow::Result<PersonalCode> {
    PersonalCode::parse(text.trim()).map_err(|e| anyhow!("personal code {text:?} in the answer: {e}"))
}

fn list<T>(element: &Element, wrapper: &str, item: &str, read: impl Fn(&Element) -> anyhow::Result<T>) -> anyhow::Result<Vec<T>> {
    match child(element, wrapper) {
        Some(container) => children(container, item).map(read).collect(),
        None => Ok(Vec::new()),
    }
}

/// The first child with this local name (the contract's elements are all in one namespace
/// per document part, so the local name is enough once the parent is known).
pub fn child<'a>(element: &'a Element, name: &str) -> Option<&'a Element> {
    element.children.iter().find(|e| e.name == name)
}

pub fn children<'a>(element: &'a Element, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
    element.children.iter().filter(move |e| e.name == name)
}

fn required<'a>(element: &'a Element, name: &str) -> anyhow::Result<&'a Element> {
    child(element, name).ok_or_else(|| anyhow!("{} has no {name}", element.name))
}

fn text_of(element: &Element, name: &str) -> Option<String> {
    child(element, name).map(|e| e.text.trim().to_string())
}

fn text(element: &Element, name: &str) -> anyhow::Result<String> {
    text_of(element, name).ok_or_else(|| anyhow!("{} has no {name}", element.name))
}

fn parse_date(text: &str, name: &str) -> anyhow::Result<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| anyhow!("{name} is not a date: {text:?}"))
}

fn date(element: &Element, name: &str) -> anyhow::Result<NaiveDate> {
    parse_date(&text(element, name)?, name)
}

fn optional_date(element: &Element, name: &str) -> anyhow::Result<Option<NaiveDate>> {
    text_of(element, name).map(|t| parse_date(&t, name)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_soap12_fault_with_its_code() {
        let fault = r#"<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><env:Fault><env:Code><env:Value>env:Sender</env:Value></env:Code><env:Reason><env:Text xml:lang="en">The personal code is not valid.</env:Text></env:Reason><env:Detail><ServiceError xmlns="http://ivis.eps.gov.lv/XMLSchemas/100001/LM-SPOLIS/v1-0"><Code>InvalidPersonCode</Code><Number>108</Number><Message>m</Message><MessageLv>Personas kods nav derīgs.</MessageLv><ErrorId>x</ErrorId></ServiceError></env:Detail></env:Fault></env:Body></env:Envelope>"#;
        let answer = parse_answer(fault.as_bytes()).unwrap();
        assert_eq!(answer.soap, SoapVersion::V12);
        assert_eq!(answer.error_code().as_deref(), Some("InvalidPersonCode"));
        let Outcome::Fault(fault) = answer.outcome else { panic!("not a fault") };
        assert_eq!(fault.number.as_deref(), Some("108"));
        assert_eq!(fault.fault_code, "env:Sender");
    }

    #[test]
    fn refuses_what_is_not_an_envelope() {
        assert!(parse_answer(b"<html/>").is_err());
        assert!(parse_answer(b"not xml").is_err());
    }
}
