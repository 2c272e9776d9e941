//! SOAP faults for the plain style, in the version of the request: `Client`/`Server` (1.1)
//! or `Sender`/`Receiver` (1.2) by whose fault it is, the English message (and the Latvian
//! one in 1.2's multilingual Reason), and our `ServiceError` detail with the stable code,
//! number and the call's id, which is also its audit record id.

use http::StatusCode;
use uuid::Uuid;

use crate::contract::SPOLIS_NS;
use crate::error::{ErrorCode, ServiceError, Side};
use crate::xml::XmlWriter;

use super::SoapVersion;

/// The HTTP status a fault is sent with.
pub fn http_status(version: SoapVersion, error: &ServiceError) -> StatusCode {
    if let Some(status) = error.code.transport_status() {
        return status;
    }
    match (version, error.code.side()) {
        (SoapVersion::V12, Side::Caller) => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A complete (unsigned) fault envelope.
pub fn fault_envelope(version: SoapVersion, error: &ServiceError, call_id: Uuid) -> String {
    super::envelope_around(version, &fault_element(version, error, call_id))
}

/// The `soap:Fault` element, the SOAP Body's content, with the `soap` prefix bound by the
/// envelope around it.
pub fn fault_element(version: SoapVersion, error: &ServiceError, call_id: Uuid) -> String {
    let mut w = XmlWriter::with_capacity(1024);
    w.open("soap:Fault");
    let must_understand = error.code == ErrorCode::MustUnderstand;
    match version {
        SoapVersion::V11 => {
            let code = match (must_understand, error.code.side()) {
                (true, _) => "soap:MustUnderstand",
                (false, Side::Caller) => "soap:Client",
                (false, Side::Service) => "soap:Server",
            };
            w.leaf("faultcode", code).leaf("faultstring", &error.message()).open("detail");
            service_error_element(&mut w, error, call_id);
            w.close("detail");
        }
        SoapVersion::V12 => {
            let code = match (must_understand, error.code.side()) {
                (true, _) => "soap:MustUnderstand",
                (false, Side::Caller) => "soap:Sender",
                (false, Side::Service) => "soap:Receiver",
            };
            w.open("soap:Code").leaf("soap:Value", code).close("soap:Code");
            w.open("soap:Reason")
                .open_with("soap:Text", &[("xml:lang", "en")])
                .text(&error.message())
                .close("soap:Text")
                .open_with("soap:Text", &[("xml:lang", "lv")])
                .text(error.code.message_lv())
                .close("soap:Text")
                .close("soap:Reason")
                .open("soap:Detail");
            service_error_element(&mut w, error, call_id);
            w.close("soap:Detail");
        }
    }
    w.close("soap:Fault");
    w.finish()
}

/// `<ServiceError>` in the payload namespace: the fault detail of the contract.
pub fn service_error_element(w: &mut XmlWriter, error: &ServiceError, call_id: Uuid) {
    w.open_with("ServiceError", &[("xmlns", SPOLIS_NS)])
        .leaf("Code", error.code.name())
        .number("Number", error.code.number())
        .leaf("Message", &error.message())
        .leaf("MessageLv", error.code.message_lv())
        .leaf("ErrorId", &call_id.to_string())
        .close("ServiceError");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{parse, XmlLimits};

    #[test]
    fn soap11_fault_has_client_code_and_detail() {
        let error = ServiceError::with_detail(ErrorCode::InvalidPersonCode, "PersonCode: check digit.");
        let text = fault_envelope(SoapVersion::V11, &error, Uuid::nil());
        let root = parse(text.as_bytes(), &XmlLimits::default()).unwrap();
        let fault = &root.children[0].children[0];
        assert_eq!(fault.children[0].text, "soap:Client");
        let detail = &fault.children[2].children[0];
        assert!(detail.is(SPOLIS_NS, "ServiceError"));
        assert_eq!(detail.children[0].text, "InvalidPersonCode");
        assert_eq!(detail.children[1].text, "108");
        assert_eq!(http_status(SoapVersion::V11, &error), 500);
    }

    #[test]
    fn soap12_fault_has_receiver_code_for_service_errors_and_two_languages() {
        let error = ServiceError::new(ErrorCode::StoreUnavailable);
        let text = fault_envelope(SoapVersion::V12, &error, Uuid::nil());
        assert!(text.contains("<soap:Value>soap:Receiver</soap:Value>"));
        assert!(text.contains("xml:lang=\"lv\">Reģistrs nav pieejams"));
        assert_eq!(http_status(SoapVersion::V12, &error), 500);
        assert_eq!(http_status(SoapVersion::V12, &ServiceError::new(ErrorCode::InvalidPeriod)), 400);
        assert_eq!(http_status(SoapVersion::V12, &ServiceError::new(ErrorCode::BodyToBig)), 413);
    }
}
