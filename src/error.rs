//! The service's error codes: one table, stable numbers and names, a message in English and
//! Latvian for each. The same code is the SOAP Fault detail (plain style) and the IVIS
//! `ErrorList` entry (IVIS style); README.md documents the table and tests assert the codes.
//!
//! Numbers 1–23 are the VISS Request Service's own codes (VISS.md §3.1), reused where the
//! meaning is the same; our own start at 101. Codes and numbers are contract; wording is not.

use std::fmt;

/// Whose fault an error is: decides the SOAP fault code (`Client`/`Sender` or
/// `Server`/`Receiver`) and whether retrying the same request can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Caller,
    Service,
}

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = $number:literal, $side:ident, $http:literal, $en:literal, $lv:literal; )*) => {
        /// Every error the service answers with. `#[non_exhaustive]`: new codes may be added.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
        }

        impl ErrorCode {
            /// All codes, in table order (for documentation and tests).
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The stable name, e.g. `InvalidPersonCode`.
            pub fn name(self) -> &'static str {
                match self { $(ErrorCode::$variant => stringify!($variant),)* }
            }

            /// The stable number.
            pub fn number(self) -> u16 {
                match self { $(ErrorCode::$variant => $number,)* }
            }

            pub fn side(self) -> Side {
                match self { $(ErrorCode::$variant => Side::$side,)* }
            }

            /// A transport-level HTTP status (size, media type, path, method), or `None`
            /// where the SOAP binding decides (SOAP 1.1: 500 for every fault; SOAP 1.2: 400
            /// for Sender faults, 500 for Receiver faults).
            pub fn transport_status(self) -> Option<http::StatusCode> {
                let status: u16 = match self { $(ErrorCode::$variant => $http,)* };
                // 0 marks "the binding decides"; every other number in the table is a valid
                // status (a unit test checks), so `ok()` drops nothing.
                (status != 0).then(|| http::StatusCode::from_u16(status).ok()).flatten()
            }

            pub fn message_en(self) -> &'static str {
                match self { $(ErrorCode::$variant => $en,)* }
            }

            pub fn message_lv(self) -> &'static str {
                match self { $(ErrorCode::$variant => $lv,)* }
            }
        }
    };
}

error_codes! {
    /// IVIS style: the IVIS header has no `MessageID`.
    MessageIdNotSpecified = 1, Caller, 0,
        "The IVIS header has no MessageID.",
        "IVIS galvenē nav norādīts MessageID.";
    /// IVIS style: the `Sender` is not the calling consumer (nor, through an intermediary
    /// such as the VISS bus, a consumer it forwards for), or an intermediary's call has none.
    SenderIncorrect = 6, Caller, 0,
        "The IVIS Sender is not the calling consumer, nor one its intermediary forwards for.",
        "IVIS Sender nav izsaucošais patērētājs, nedz patērētājs, kura vārdā starpnieks drīkst sūtīt.";
    /// IVIS style: the IVIS header has no `Destination`.
    DestinationIsNull = 8, Caller, 0,
        "The IVIS header has no Destination.",
        "IVIS galvenē nav norādīts Destination.";
    /// IVIS style: the IVIS header has no `MessageType`.
    MessageTypeNotSet = 16, Caller, 0,
        "The IVIS header has no MessageType.",
        "IVIS galvenē nav norādīts MessageType.";
    /// IVIS style: the IVIS `Body` is missing or empty.
    BodyNotSet = 17, Caller, 0,
        "The IVIS Body is missing or empty.",
        "IVIS Body nav norādīts vai ir tukšs.";
    /// The request body is larger than the configured limit (`max_body_bytes`, VISS's 4 MB by
    /// default); the detail names the limit in force.
    BodyToBig = 19, Caller, 413,
        "The request is larger than the size limit.",
        "Pieprasījums pārsniedz atļauto apjomu.";
    /// IVIS style: `MessageType` names another type than the element in `Body`.
    URNTypeIsIncorect = 20, Caller, 0,
        "MessageType does not match the element in the IVIS Body.",
        "MessageType neatbilst IVIS Body elementam.";
    /// IVIS style: `MessageType` is not the request type of this service.
    MessageTypeIncorrect = 21, Caller, 0,
        "MessageType is not the request type of this service.",
        "MessageType nav šī servisa pieprasījuma tips.";
    /// The request does not match the published schema (the detail names the element).
    BodyWrongFormat = 22, Caller, 0,
        "The request does not match the service's XML schema.",
        "Pieprasījums neatbilst servisa XML shēmai.";
    /// The body is not well-formed UTF-8 XML, or declares a DTD or entities.
    MalformedXml = 101, Caller, 0,
        "The request is not well-formed XML (UTF-8, no DTD).",
        "Pieprasījums nav korekts XML (UTF-8, bez DTD).";
    /// The XML is not a SOAP 1.1 or 1.2 envelope with one Body element.
    NotSoapEnvelope = 102, Caller, 0,
        "The request is not a SOAP 1.1 or 1.2 envelope with a Body.",
        "Pieprasījums nav SOAP 1.1 vai 1.2 aploksne ar Body.";
    /// The Content-Type announces one SOAP version and the envelope is the other.
    SoapVersionMismatch = 103, Caller, 0,
        "The Content-Type does not match the SOAP version of the envelope.",
        "Content-Type neatbilst SOAP aploksnes versijai.";
    /// The Content-Type is neither `text/xml` (SOAP 1.1) nor `application/soap+xml` (SOAP 1.2).
    UnsupportedContentType = 104, Caller, 415,
        "Unsupported Content-Type: use text/xml (SOAP 1.1) or application/soap+xml (SOAP 1.2).",
        "Neatbalstīts Content-Type: izmantojiet text/xml (SOAP 1.1) vai application/soap+xml (SOAP 1.2).";
    /// The Body element is not an operation of the endpoint called.
    UnknownOperation = 105, Caller, 0,
        "The Body element is not an operation of this endpoint.",
        "Body elements nav šī galapunkta operācija.";
    /// The SOAP action names another operation than the Body carries.
    ActionMismatch = 106, Caller, 0,
        "The SOAP action does not match the operation in the Body.",
        "SOAP darbība neatbilst Body operācijai.";
    /// The operator (first name, surname, personal code) is missing or incomplete.
    OperatorMissing = 107, Caller, 0,
        "The operator's first name, surname and personal code are required.",
        "Jānorāda operatora vārds, uzvārds un personas kods.";
    /// A personal code is malformed, encodes an impossible date, or fails its check digit.
    InvalidPersonCode = 108, Caller, 0,
        "The personal code is not valid.",
        "Personas kods nav derīgs.";
    /// The period's From date is after its Till date.
    InvalidPeriod = 109, Caller, 0,
        "The period's From date is after its Till date.",
        "Perioda sākuma datums ir pēc beigu datuma.";
    /// The client certificate is valid but not registered to any consumer.
    ConsumerNotRegistered = 110, Caller, 0,
        "The client certificate is not registered to any consumer.",
        "Klienta sertifikāts nav reģistrēts nevienam patērētājam.";
    /// The consumer is registered but may not call this service.
    ServiceNotAllowed = 111, Caller, 0,
        "The consumer is not allowed to call this service.",
        "Patērētājam nav tiesību izsaukt šo servisu.";
    /// IVIS style: `Destination` names another service than the endpoint called.
    DestinationMismatch = 112, Caller, 0,
        "The IVIS Destination is not the service of this endpoint.",
        "IVIS Destination nav šī galapunkta serviss.";
    /// A header marked mustUnderstand is not one the service understands.
    MustUnderstand = 113, Caller, 0,
        "A header marked mustUnderstand is not understood by this service.",
        "Galvene ar mustUnderstand nav saprotama šim servisam.";
    /// No operation at this path.
    NotFound = 114, Caller, 404,
        "No service at this path; use /GetApplicationList or /GetQueueStatusList.",
        "Šajā ceļā nav servisa; izmantojiet /GetApplicationList vai /GetQueueStatusList.";
    /// The HTTP method is not POST (nor GET for the WSDL and schemas).
    MethodNotAllowed = 115, Caller, 405,
        "Use POST for calls and GET for ?wsdl and /xsd/.",
        "Izsaukumiem izmantojiet POST, WSDL un XSD saņemšanai GET.";
    /// The request body did not arrive within the body timeout.
    RequestTimeout = 116, Caller, 408,
        "The request body did not arrive in time.",
        "Pieprasījuma saturs netika saņemts laikā.";
    /// The WS-Security Timestamp cannot be read, or its `Created` lies in the future beyond
    /// the allowed clock skew.
    InvalidTimestamp = 120, Caller, 0,
        "The WS-Security Timestamp is not valid (unreadable, or created in the future).",
        "WS-Security laika zīmogs nav derīgs (nolasāms vai izveidots nākotnē).";
    /// The WS-Security Timestamp's `Expires` has passed.
    MessageExpired = 121, Caller, 0,
        "The message has expired (WS-Security Timestamp Expires has passed).",
        "Ziņojuma derīgums ir beidzies (WS-Security Timestamp Expires ir pagājis).";
    /// The MessageID (IVIS or WS-Addressing) was already received within the replay window.
    MessageReplayed = 122, Caller, 0,
        "This MessageID was already received: the message is refused as a replay.",
        "Šis MessageID jau ir saņemts: ziņojums noraidīts kā atkārtots.";
    /// The consumer must sign its requests and this one carries no signature.
    SignatureRequired = 123, Caller, 0,
        "This consumer must sign its requests (WS-Security XML Signature over the Body).",
        "Šim patērētājam pieprasījumi jāparaksta (WS-Security XML paraksts pār Body).";
    /// The request's signature does not verify, is not made with the consumer's registered
    /// certificate, or does not cover the Body (and Timestamp) that is processed.
    SignatureInvalid = 124, Caller, 0,
        "The request's signature is not valid for this consumer or does not cover the Body.",
        "Pieprasījuma paraksts nav derīgs šim patērētājam vai neaptver Body.";
    /// The consumer may not connect from the client's IP address.
    NetworkNotAllowed = 125, Caller, 0,
        "The consumer may not call from this network address.",
        "Patērētājs nedrīkst izsaukt servisu no šīs tīkla adreses.";
    /// Too many calls per minute from this consumer or operator.
    RateLimited = 126, Caller, 429,
        "Too many requests; slow down and try again shortly.",
        "Pārāk daudz pieprasījumu; samaziniet biežumu un mēģiniet vēlreiz pēc brīža.";
    /// The daily quota of this consumer or operator is used up.
    QuotaExceeded = 127, Caller, 429,
        "The daily quota of requests is used up; try again tomorrow (UTC).",
        "Dienas pieprasījumu limits ir izsmelts; mēģiniet rīt (UTC).";
    /// More than one WS-Security header is addressed to this service.
    InvalidSecurityHeader = 128, Caller, 0,
        "The request must carry at most one WS-Security header addressed to this service.",
        "Pieprasījumā drīkst būt ne vairāk kā viena šim servisam adresēta WS-Security galvene.";
    /// The WS-Addressing MessageID is empty or sent more than once.
    InvalidMessageId = 129, Caller, 0,
        "The WS-Addressing MessageID is empty or appears more than once.",
        "WS-Addressing MessageID ir tukšs vai norādīts vairāk nekā vienu reizi.";
    /// The IVIS `Sender` names an employee (`AU:<authority>-PK:<code>`) who is not the
    /// request's `Operator`.
    OperatorMismatch = 130, Caller, 0,
        "The employee the IVIS Sender names is not the request's Operator.",
        "IVIS Sender norādītais darbinieks nav pieprasījuma Operator.";
    /// The request states no purpose: its `Purpose` or the `LegalBasis` in it is missing or
    /// empty (Regulation No. 587, 19.2 and 21: every look-up says why and on what legal basis).
    PurposeMissing = 131, Caller, 0,
        "The purpose of the request and its legal basis are required.",
        "Jānorāda pieprasījuma mērķis un tā tiesiskais pamats.";
    /// The request's `AsOf` date lies after the day of the call.
    AsOfInFuture = 132, Caller, 0,
        "The AsOf date lies in the future; the register can be shown as of today at the latest.",
        "AsOf datums ir nākotnē; reģistra datus var parādīt, vēlākais, uz šodienu.";
    /// GetQueueStatistics: the period's months are outside what may be asked — `MonthsBack`
    /// not 1 to 36, `FromMonth` after `TillMonth`, more than 36 months, or a month after the
    /// month of the call (the detail says which).
    PeriodOutOfRange = 133, Caller, 0,
        "The statistics period must be 1 to 36 whole months, ending no later than the current month.",
        "Statistikas periodam jābūt no 1 līdz 36 pilniem mēnešiem, kas beidzas ne vēlāk kā tekošajā mēnesī.";
    /// The register could not be read; retry later.
    StoreUnavailable = 201, Service, 0,
        "The register is unavailable; try again later.",
        "Reģistrs nav pieejams; mēģiniet vēlāk.";
    /// The audit record of the call could not be made durable, so no data is answered.
    AuditUnavailable = 202, Service, 0,
        "The service cannot record this call in its audit log; no data is given. Try again later.",
        "Serviss nevar reģistrēt šo pieprasījumu auditācijas žurnālā; dati netiek izsniegti. Mēģiniet vēlāk.";
    /// The service is buffering as many request bytes as it may (`max_buffered_request_bytes`)
    /// and had no room for this request in time; retry shortly.
    ServiceBusy = 203, Service, 503,
        "The service is busy; try again shortly.",
        "Serviss ir noslogots; mēģiniet vēlreiz pēc brīža.";
    /// The request's signature could not be checked within the time budget (the
    /// verification workers are busy); nothing was read from the register. Retry later.
    SignatureCheckUnavailable = 204, Service, 0,
        "The request's signature could not be checked in time; no data is given. Try again later.",
        "Pieprasījuma parakstu neizdevās laikā pārbaudīt; dati netiek izsniegti. Mēģiniet vēlāk.";
    /// An unexpected failure inside the service; the error id identifies it in the logs.
    InternalError = 299, Service, 0,
        "Internal error; quote the error id to the service desk.",
        "Iekšēja kļūda; sazinoties ar atbalstu, norādiet kļūdas identifikatoru.";
}

/// An error to answer with: a code and an optional detail for the caller. The detail may name
/// an element or a rule; it never carries personal data (codes, names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    pub code: ErrorCode,
    pub detail: Option<String>,
}

impl ServiceError {
    pub fn new(code: ErrorCode) -> Self {
        ServiceError { code, detail: None }
    }

    pub fn with_detail(code: ErrorCode, detail: impl Into<String>) -> Self {
        ServiceError { code, detail: Some(detail.into()) }
    }

    /// The English message with the detail appended, as sent in `faultstring`.
    pub fn message(&self) -> String {
        match &self.detail {
            Some(detail) => format!("{} {}", self.code.message_en(), detail),
            None => self.code.message_en().to_string(),
        }
    }
}

impl From<ErrorCode> for ServiceError {
    fn from(code: ErrorCode) -> Self {
        ServiceError::new(code)
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code.name(), self.code.number(), self.message())
    }
}

impl std::error::Error for ServiceError {}

/// An error and its sources on one line, `outer: inner: …`, as `anyhow` prints with `{:#}`:
/// for the places inside the library that tell a person (a log line, `/ready`,
/// `check-config`) why something failed. The setup errors name what failed and keep the
/// cause as their source rather than repeating it, so `{}` alone would drop the cause.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(error) = source {
            write!(f, ": {error}")?;
            source = error.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use http::StatusCode;

    use super::*;

    #[test]
    fn codes_have_unique_names_and_numbers_and_both_messages() {
        let names: HashSet<_> = ErrorCode::ALL.iter().map(|c| c.name()).collect();
        let numbers: HashSet<_> = ErrorCode::ALL.iter().map(|c| c.number()).collect();
        assert_eq!(names.len(), ErrorCode::ALL.len());
        assert_eq!(numbers.len(), ErrorCode::ALL.len());
        for code in ErrorCode::ALL {
            assert!(!code.message_en().is_empty() && !code.message_lv().is_empty(), "{code:?}");
        }
    }

    #[test]
    fn an_error_chain_reads_outer_to_inner() {
        #[derive(Debug, thiserror::Error)]
        #[error("cannot read the key")]
        struct Outer(#[source] std::io::Error);
        let error = Outer(std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"));
        assert_eq!(ErrorChain(&error).to_string(), "cannot read the key: no such file");
    }

    #[test]
    fn transport_statuses_of_the_table_are_valid_http_statuses() {
        let transport: Vec<_> = ErrorCode::ALL.iter().filter_map(|code| Some((*code, code.transport_status()?))).collect();
        assert_eq!(transport.len(), 8, "a table status that is not a valid HTTP status is dropped: {transport:?}");
        assert!(transport.contains(&(ErrorCode::BodyToBig, StatusCode::PAYLOAD_TOO_LARGE)));
        assert!(transport.contains(&(ErrorCode::ServiceBusy, StatusCode::SERVICE_UNAVAILABLE)));
    }
}
