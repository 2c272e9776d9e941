//! SOAP 1.1 and 1.2 on the wire: which version a request speaks (from its Content-Type and
//! envelope), the envelope's parts, and the answer and fault envelopes in the same version.
//!
//! Input: the HTTP Content-Type, SOAPAction and body bytes. Output: an [`Envelope`] with the
//! header blocks and the one Body element, or a [`ServiceError`]. Knows nothing of the
//! services' payloads; `ivis` handles the VISS envelope that may sit inside the Body.

pub mod envelope;
pub mod fault;
pub mod ivis;
pub mod payload;
pub mod replay;

use crate::contract::{SOAP11_NS, SOAP12_NS};
use crate::error::{ErrorCode, ServiceError};

pub use envelope::{parse_envelope, Envelope};

/// The SOAP version of a request, and so of its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SoapVersion {
    V11,
    V12,
}

impl SoapVersion {
    pub fn namespace(self) -> &'static str {
        match self {
            SoapVersion::V11 => SOAP11_NS,
            SoapVersion::V12 => SOAP12_NS,
        }
    }

    /// The Content-Type of an answer in this version.
    pub fn content_type(self) -> &'static str {
        match self {
            SoapVersion::V11 => "text/xml; charset=utf-8",
            SoapVersion::V12 => "application/soap+xml; charset=utf-8",
        }
    }

    /// "1.1" or "1.2", for logs and audit.
    pub fn label(self) -> &'static str {
        match self {
            SoapVersion::V11 => "1.1",
            SoapVersion::V12 => "1.2",
        }
    }
}

/// What the HTTP headers say about a SOAP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoapHttpRequest {
    pub version: SoapVersion,
    /// The SOAP action (`SOAPAction` header in 1.1, the `action` parameter in 1.2), without
    /// quotes; `None` when absent or empty.
    pub action: Option<String>,
}

/// Why a request's Content-Type is refused (`UnsupportedContentType`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentTypeError {
    #[error("No Content-Type was sent.")]
    Missing,
    /// Neither SOAP media type; the table's message names both.
    #[error("The Content-Type is not a SOAP media type.")]
    OtherMediaType,
    #[error("The charset must be UTF-8.")]
    NotUtf8,
}

impl From<ContentTypeError> for ServiceError {
    fn from(error: ContentTypeError) -> ServiceError {
        match error {
            ContentTypeError::OtherMediaType => ServiceError::new(ErrorCode::UnsupportedContentType),
            error => ServiceError::with_detail(ErrorCode::UnsupportedContentType, error.to_string()),
        }
    }
}

/// Reads the version and action from the Content-Type and SOAPAction headers.
///
/// On error, also returns the version to answer in: the one the media type points to, or
/// SOAP 1.1 when nothing does.
pub fn read_http_headers(
    content_type: Option<&str>,
    soap_action: Option<&str>,
) -> Result<SoapHttpRequest, (SoapVersion, ContentTypeError)> {
    let content_type = content_type.unwrap_or_default();
    let mut parts = content_type.split(';');
    let media_type = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let version = match media_type.as_str() {
        "text/xml" => SoapVersion::V11,
        "application/soap+xml" => SoapVersion::V12,
        "" => return Err((SoapVersion::V11, ContentTypeError::Missing)),
        _ => return Err((SoapVersion::V11, ContentTypeError::OtherMediaType)),
    };
    let mut action_parameter = None;
    for parameter in parts {
        let Some((name, value)) = parameter.split_once('=') else { continue };
        let value = unquote(value.trim());
        match name.trim().to_ascii_lowercase().as_str() {
            "charset" if !value.eq_ignore_ascii_case("utf-8") => {
                return Err((version, ContentTypeError::NotUtf8));
            }
            "action" => action_parameter = Some(value.to_string()),
            _ => {}
        }
    }
    let action = match version {
        SoapVersion::V11 => soap_action.map(|value| unquote(value.trim()).to_string()),
        SoapVersion::V12 => action_parameter,
    };
    Ok(SoapHttpRequest { version, action: action.filter(|a| !a.is_empty()) })
}

fn unquote(value: &str) -> &str {
    value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value)
}

/// Wraps an answer payload (already serialised) in an envelope of the given version.
pub fn envelope_around(version: SoapVersion, payload: &str) -> String {
    let mut out = String::with_capacity(payload.len() + 200);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    out.push_str("<soap:Envelope xmlns:soap=\"");
    out.push_str(version.namespace());
    out.push_str("\"><soap:Body>");
    out.push_str(payload);
    out.push_str("</soap:Body></soap:Envelope>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_soap11_with_quoted_action() {
        let request = read_http_headers(Some("text/xml; charset=UTF-8"), Some("\"urn:x\"")).unwrap();
        assert_eq!(request, SoapHttpRequest { version: SoapVersion::V11, action: Some("urn:x".into()) });
    }

    #[test]
    fn reads_soap12_action_parameter_and_ignores_soapaction_header() {
        let request = read_http_headers(Some("application/soap+xml;charset=utf-8;action=\"urn:y\""), Some("urn:z")).unwrap();
        assert_eq!(request, SoapHttpRequest { version: SoapVersion::V12, action: Some("urn:y".into()) });
    }

    #[test]
    fn empty_action_is_no_action() {
        let request = read_http_headers(Some("text/xml"), Some("\"\"")).unwrap();
        assert_eq!(request.action, None);
    }

    #[test]
    fn refuses_other_media_types_and_charsets() {
        let error = read_http_headers(Some("application/json"), None).unwrap_err();
        assert_eq!(ServiceError::from(error.1).code, ErrorCode::UnsupportedContentType);
        let (version, error) = read_http_headers(Some("application/soap+xml; charset=iso-8859-1"), None).unwrap_err();
        assert_eq!(
            (version, ServiceError::from(error)),
            (SoapVersion::V12, ServiceError::with_detail(ErrorCode::UnsupportedContentType, "The charset must be UTF-8."))
        );
        assert!(read_http_headers(None, None).is_err());
    }
}
