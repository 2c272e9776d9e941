//! The SOAP envelope: `Envelope` → optional `Header` → `Body` with exactly one element.
//! Header blocks marked mustUnderstand must be ones we understand (SOAP 1.1 §4.2.3,
//! SOAP 1.2 part 1 §5.2.3): WS-Addressing (sent by WCF clients) and WS-Security.

use crate::contract::{WS_ADDRESSING_NS, WS_SECURITY_NS};
use crate::error::{ErrorCode, ServiceError};
use crate::xml::Element;

use super::SoapVersion;

/// Why a document is refused as an envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("The root element is not a SOAP 1.1 or 1.2 Envelope.")]
    NotEnvelope,
    #[error("The Content-Type announces SOAP {announced} but the envelope is SOAP {sent}.")]
    VersionMismatch { announced: &'static str, sent: &'static str },
    #[error("The envelope has no Body after the optional Header.")]
    NoBody,
    #[error("The envelope has elements after the Body.")]
    AfterBody,
    #[error("Header {0} is not understood.")]
    NotUnderstood(String),
    #[error("The SOAP Body is empty.")]
    EmptyBody,
    #[error("The SOAP Body must hold exactly one element.")]
    SeveralInBody,
}

impl EnvelopeError {
    /// Its code in the error table.
    pub fn code(&self) -> ErrorCode {
        match self {
            EnvelopeError::NotEnvelope | EnvelopeError::NoBody | EnvelopeError::AfterBody => ErrorCode::NotSoapEnvelope,
            EnvelopeError::VersionMismatch { .. } => ErrorCode::SoapVersionMismatch,
            EnvelopeError::NotUnderstood(_) => ErrorCode::MustUnderstand,
            EnvelopeError::EmptyBody => ErrorCode::UnknownOperation,
            EnvelopeError::SeveralInBody => ErrorCode::BodyWrongFormat,
        }
    }
}

impl From<EnvelopeError> for ServiceError {
    fn from(error: EnvelopeError) -> ServiceError {
        ServiceError::with_detail(error.code(), error.to_string())
    }
}

/// A parsed envelope.
#[derive(Debug)]
pub struct Envelope {
    pub version: SoapVersion,
    pub headers: Vec<Element>,
    pub body: Element,
}

impl Envelope {
    /// The WS-Addressing `MessageID` header, if the caller sent one.
    pub fn ws_addressing_message_id(&self) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.is(WS_ADDRESSING_NS, "MessageID"))
            .map(|h| h.text.trim())
    }
}

/// Splits a document into its envelope parts, checking the version against the one the
/// Content-Type announced.
pub fn parse_envelope(root: Element, announced: SoapVersion) -> Result<Envelope, EnvelopeError> {
    let version = match root.namespace.as_deref() {
        Some(ns) if root.name == "Envelope" && ns == SoapVersion::V11.namespace() => SoapVersion::V11,
        Some(ns) if root.name == "Envelope" && ns == SoapVersion::V12.namespace() => SoapVersion::V12,
        _ => return Err(EnvelopeError::NotEnvelope),
    };
    if version != announced {
        return Err(EnvelopeError::VersionMismatch { announced: announced.label(), sent: version.label() });
    }
    let soap_ns = version.namespace();
    let mut children = root.children.into_iter();
    let mut next = children.next();
    let mut headers = Vec::new();
    if let Some(header) = next.take_if(|e| e.is(soap_ns, "Header")) {
        headers = header.children;
        next = children.next();
    }
    let Some(body) = next.filter(|e| e.is(soap_ns, "Body")) else {
        return Err(EnvelopeError::NoBody);
    };
    if children.next().is_some() {
        return Err(EnvelopeError::AfterBody);
    }
    for header in &headers {
        let must_understand = header
            .attribute(Some(soap_ns), "mustUnderstand")
            .is_some_and(|v| matches!(v.trim(), "1" | "true"));
        let understood = matches!(header.namespace.as_deref(), Some(WS_ADDRESSING_NS) | Some(WS_SECURITY_NS));
        if must_understand && !understood {
            return Err(EnvelopeError::NotUnderstood(header.qualified_name()));
        }
    }
    let mut payload = body.children.into_iter();
    match (payload.next(), payload.next()) {
        (Some(element), None) => Ok(Envelope { version, headers, body: element }),
        (None, _) => Err(EnvelopeError::EmptyBody),
        (Some(_), Some(_)) => Err(EnvelopeError::SeveralInBody),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{parse, XmlLimits};

    fn envelope(text: &str, announced: SoapVersion) -> Result<Envelope, EnvelopeError> {
        parse_envelope(parse(text.as_bytes(), &XmlLimits::default()).unwrap(), announced)
    }

    const S11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
    const S12: &str = "http://www.w3.org/2003/05/soap-envelope";

    #[test]
    fn splits_header_and_body() {
        let text = format!(
            r#"<s:Envelope xmlns:s="{S12}" xmlns:a="{WS_ADDRESSING_NS}"><s:Header><a:MessageID s:mustUnderstand="1">urn:uuid:1</a:MessageID></s:Header><s:Body><x:Op xmlns:x="urn:x"/></s:Body></s:Envelope>"#
        );
        let parsed = envelope(&text, SoapVersion::V12).unwrap();
        assert_eq!(parsed.version, SoapVersion::V12);
        assert!(parsed.body.is("urn:x", "Op"));
        assert_eq!(parsed.ws_addressing_message_id(), Some("urn:uuid:1"));
    }

    #[test]
    fn refuses_a_version_other_than_announced() {
        let text = format!(r#"<s:Envelope xmlns:s="{S11}"><s:Body><Op/></s:Body></s:Envelope>"#);
        assert_eq!(envelope(&text, SoapVersion::V12).unwrap_err().code(), ErrorCode::SoapVersionMismatch);
    }

    #[test]
    fn refuses_non_envelopes_and_bad_bodies() {
        let cases = [
            ("<Envelope><Body/></Envelope>".to_string(), ErrorCode::NotSoapEnvelope),
            (format!(r#"<s:Envelope xmlns:s="{S11}"/>"#), ErrorCode::NotSoapEnvelope),
            (format!(r#"<s:Envelope xmlns:s="{S11}"><s:Body/><s:Body/></s:Envelope>"#), ErrorCode::NotSoapEnvelope),
            (format!(r#"<s:Envelope xmlns:s="{S11}"><s:Body/></s:Envelope>"#), ErrorCode::UnknownOperation),
            (format!(r#"<s:Envelope xmlns:s="{S11}"><s:Body><a/><b/></s:Body></s:Envelope>"#), ErrorCode::BodyWrongFormat),
            (
                format!(r#"<s:Envelope xmlns:s="{S11}"><s:Header><h xmlns="urn:h" s:mustUnderstand="1"/></s:Header><s:Body><a/></s:Body></s:Envelope>"#),
                ErrorCode::MustUnderstand,
            ),
        ];
        for (text, code) in cases {
            assert_eq!(envelope(&text, SoapVersion::V11).unwrap_err().code(), code, "{text}");
        }
    }
}
