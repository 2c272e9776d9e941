//! Every code of the error table, provoked over real mutual TLS and checked for its code, its
//! HTTP status, the SOAP version of the answer, and its form: a SOAP Fault with our
//! `ServiceError` detail (plain style, or before the style is known) or an IVIS error list.

mod common;

use std::collections::HashSet;

use common::*;
use spolis_adapter::error::ErrorCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const EP115: &str = "/GetApplicationList";
const EP116: &str = "/GetQueueStatusList";
const TEXT_XML: &str = "text/xml; charset=utf-8";
const SOAP_XML: &str = "application/soap+xml; charset=utf-8";
const WSSE: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";

/// How the refusal must come back.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Form {
    Fault11,
    Fault12,
    Ivis11,
}

struct Case {
    code: ErrorCode,
    identity: &'static str,
    path: &'static str,
    content_type: &'static str,
    action: Option<&'static str>,
    body: String,
    status: u16,
    form: Form,
}

fn plain(code: ErrorCode, path: &'static str, version: &str, payload: String, status: u16) -> Case {
    let (content_type, form) = if version == "1.2" { (SOAP_XML, Form::Fault12) } else { (TEXT_XML, Form::Fault11) };
    Case { code, identity: "riga", path, content_type, action: None, body: envelope(version, &payload), status, form }
}

fn ep115(inner: &str) -> String {
    operation("GetApplicationList", inner)
}

/// The EP115 IVIS sample (SOAP 1.1) with one replacement made.
fn ivis(code: ErrorCode, from: &str, to: &str) -> Case {
    let body = sample("ep115-soap11-ivis.xml");
    assert!(body.contains(from), "sample lacks {from}");
    Case {
        code,
        identity: "riga",
        path: EP115,
        content_type: TEXT_XML,
        action: None,
        body: body.replacen(from, to, 1),
        status: 200,
        form: Form::Ivis11,
    }
}

fn cases() -> Vec<Case> {
    let person = "<PersonCode>150342-10121</PersonCode>";
    let destination = "<ivis:Destination>URN:IVIS:100001:ISS-LM-GetApplicationList-v1-0</ivis:Destination>";
    let message_type = "<ivis:MessageType>URN:IVIS:100001:XSD-LM-SPOLIS-v1-0-TYPE-GetApplicationList</ivis:MessageType>";
    vec![
        ivis(ErrorCode::MessageIdNotSpecified, "<ivis:MessageID>6f1c2a7e-3b8d-4e21-9a5f-0c4d2e8b7a13</ivis:MessageID>", ""),
        ivis(ErrorCode::DestinationIsNull, destination, ""),
        // Riga's certificate naming Talsi as the Sender (tests/forwarding.rs has the bus).
        ivis(ErrorCode::SenderIncorrect, "AU:90011524360", "AU:90009113532"),
        // The Sender names an employee of riga who is not the request's Operator.
        ivis(
            ErrorCode::OperatorMismatch,
            "<ivis:NameIdentifier>AU:90011524360</ivis:NameIdentifier>",
            "<ivis:Employee><ivis:AuthorityID>90011524360</ivis:AuthorityID><ivis:PersonCode>150342-10121</ivis:PersonCode></ivis:Employee>",
        ),
        ivis(ErrorCode::MessageTypeNotSet, message_type, ""),
        {
            let mut case = ivis(ErrorCode::BodyNotSet, "<ivis:Body>", "<!--");
            case.body = case.body.replacen("</ivis:Body>", "-->", 1);
            case
        },
        Case {
            code: ErrorCode::BodyToBig,
            identity: "riga",
            path: EP115,
            content_type: TEXT_XML,
            action: None,
            body: envelope("1.1", &ep115(&format!("{person}<!--{}-->", "x".repeat(4 * 1024 * 1024)))),
            status: 413,
            form: Form::Fault11,
        },
        ivis(ErrorCode::URNTypeIsIncorect, "spolis:GetApplicationList>", "spolis:GetQueueStatusList>")
            .also_replace("</spolis:GetApplicationList>", "</spolis:GetQueueStatusList>"),
        ivis(ErrorCode::MessageTypeIncorrect, "TYPE-GetApplicationList<", "TYPE-GetQueueStatusList<"),
        plain(ErrorCode::BodyWrongFormat, EP115, "1.1", ep115(&format!("{person}<Colour>blue</Colour>")), 500),
        Case { body: "<not xml".into(), ..plain(ErrorCode::MalformedXml, EP115, "1.1", String::new(), 500) },
        Case { body: "<Envelope><Body/></Envelope>".into(), ..plain(ErrorCode::NotSoapEnvelope, EP115, "1.2", String::new(), 400) },
        Case {
            content_type: TEXT_XML,
            form: Form::Fault11,
            status: 500,
            ..plain(ErrorCode::SoapVersionMismatch, EP115, "1.2", ep115(person), 0)
        },
        Case { content_type: "application/json", ..plain(ErrorCode::UnsupportedContentType, EP115, "1.1", ep115(person), 415) },
        plain(ErrorCode::UnknownOperation, EP115, "1.2", operation("GetQueueStatusList", person), 400),
        Case {
            action: Some("\"http://ivis.eps.gov.lv/ISS/LM-GetQueueStatusList/v1-0/GetQueueStatusList\""),
            ..plain(ErrorCode::ActionMismatch, EP115, "1.1", ep115(person), 500)
        },
        Case {
            body: envelope("1.1", &format!(r#"<GetApplicationList xmlns="{SPOLIS}">{person}{PURPOSE}</GetApplicationList>"#)),
            ..plain(ErrorCode::OperatorMissing, EP115, "1.1", String::new(), 500)
        },
        Case {
            body: envelope("1.2", &format!(r#"<GetQueueStatusList xmlns="{SPOLIS}">{person}{OPERATOR}</GetQueueStatusList>"#)),
            ..plain(ErrorCode::PurposeMissing, EP116, "1.2", String::new(), 400)
        },
        ivis(ErrorCode::PurposeMissing, "<spolis:LegalBasis>Sociālo pakalpojumu un sociālās palīdzības likums, 9. pants</spolis:LegalBasis>", "<spolis:LegalBasis> </spolis:LegalBasis>"),
        // A day after tomorrow (UTC) is after the day of the call in Rīga whatever the hour
        // (that day is counted at UTC+3), however long the request takes to arrive.
        plain(
            ErrorCode::AsOfInFuture,
            EP115,
            "1.1",
            ep115(&format!("{person}<AsOf>{}</AsOf>", (chrono::Utc::now() + chrono::Duration::hours(28)).date_naive())),
            500,
        ),
        // The statistics of 37 months (tests/statistics.rs has every bound).
        plain(ErrorCode::PeriodOutOfRange, "/GetQueueStatistics", "1.2", operation("GetQueueStatistics", "<Period><MonthsBack>37</MonthsBack></Period>"), 400),
        plain(ErrorCode::InvalidPersonCode, EP116, "1.2", operation("GetQueueStatusList", "<PersonCode>150342-10122</PersonCode>"), 400),
        plain(
            ErrorCode::InvalidPeriod,
            EP115,
            "1.1",
            ep115(&format!("{person}<Period><From>2025-01-02</From><Till>2025-01-01</Till></Period>")),
            500,
        ),
        Case { identity: "unregistered", ..plain(ErrorCode::ConsumerNotRegistered, EP115, "1.1", ep115(person), 500) },
        Case { identity: "talsi", ..plain(ErrorCode::ServiceNotAllowed, EP115, "1.2", ep115(person), 400) },
        ivis(ErrorCode::DestinationMismatch, "ISS-LM-GetApplicationList-v1-0", "ISS-LM-GetQueueStatusList-v1-0"),
        Case {
            body: envelope("1.1", &ep115(person)).replace(
                "<s:Body>",
                r#"<s:Header><x:Trace xmlns:x="urn:example:trace" s:mustUnderstand="1">1</x:Trace></s:Header><s:Body>"#,
            ),
            ..plain(ErrorCode::MustUnderstand, EP115, "1.1", String::new(), 500)
        },
        Case { path: "/GetEverything", ..plain(ErrorCode::NotFound, EP115, "1.1", ep115(person), 404) },
        Case {
            body: envelope("1.1", &ep115(person)).replace(
                "<s:Body>",
                &format!(r#"<s:Header><o:Security xmlns:o="{WSSE}"/><o:Security xmlns:o="{WSSE}"/></s:Header><s:Body>"#),
            ),
            ..plain(ErrorCode::InvalidSecurityHeader, EP115, "1.1", String::new(), 500)
        },
        Case {
            body: envelope("1.2", &ep115(person))
                .replace("<s:Body>", r#"<s:Header><a:MessageID xmlns:a="http://www.w3.org/2005/08/addressing"></a:MessageID></s:Header><s:Body>"#),
            ..plain(ErrorCode::InvalidMessageId, EP115, "1.2", String::new(), 400)
        },
    ]
}

impl Case {
    fn also_replace(mut self, from: &str, to: &str) -> Case {
        self.body = self.body.replacen(from, to, 1);
        self
    }
}

fn check(case_name: &str, reply: &Reply, code: ErrorCode, status: u16, form: Form) {
    assert_eq!(reply.status, status, "{case_name}: {}", reply.body);
    assert_eq!(error_code(&reply.body).as_deref(), Some(code.name()), "{case_name}: {}", reply.body);
    match form {
        Form::Fault11 => {
            assert!(reply.body.contains(SOAP11) && reply.body.contains("<faultcode>"), "{case_name}: {}", reply.body);
            assert!(reply.body.contains(&format!("<Number>{}</Number>", code.number())), "{case_name}");
            assert_eq!(texts(&reply.body, "ErrorId").len(), 1, "{case_name}");
        }
        Form::Fault12 => {
            assert!(reply.body.contains(SOAP12) && reply.body.contains("<soap:Code><soap:Value>"), "{case_name}: {}", reply.body);
            assert!(reply.body.contains("xml:lang=\"lv\""), "{case_name}");
            assert_eq!(texts(&reply.body, "ErrorId").len(), 1, "{case_name}");
        }
        Form::Ivis11 => {
            assert!(reply.body.contains(SOAP11) && !reply.body.contains("Fault>"), "{case_name}: {}", reply.body);
            assert_eq!(texts(&reply.body, "Result"), ["failure"], "{case_name}");
            assert_eq!(texts(&reply.body, "ErrorSeverity"), ["error"], "{case_name}");
            // The ids of the request are copied even into a refusal.
            assert_eq!(texts(&reply.body, "TransactionID"), ["URN:IVIS:100001:EP.DA-DA115-v1-0-TR-1001"], "{case_name}");
        }
    }
}

#[tokio::test]
async fn every_refusal_has_its_code_status_and_form() {
    let server = TestServer::start().await;
    let mut covered = HashSet::new();
    for case in cases() {
        let mut client = server.client(case.identity).await;
        let reply = client.post(case.path, case.content_type, case.action, case.body.clone()).await;
        check(case.code.name(), &reply, case.code, case.status, case.form);
        covered.insert(case.code);
    }
    // The other codes are provoked by dedicated tests, each named here and checked to exist
    // and to assert that code (the_codes_provoked_elsewhere_are_asserted_by_the_named_tests).
    covered.extend(PROVOKED_ELSEWHERE.iter().map(|(code, _, _)| *code));
    let missing: Vec<_> = ErrorCode::ALL.iter().filter(|code| !covered.contains(code)).collect();
    assert!(missing.is_empty(), "codes without a test: {missing:?}");
}

/// Codes a request in `cases()` cannot provoke (a stalled body, a broken register, an audit log
/// that cannot be written, a signing consumer…), with the test that does: (code, file, test).
const PROVOKED_ELSEWHERE: &[(ErrorCode, &str, &str)] = &[
    (ErrorCode::MethodNotAllowed, "tests/faults.rs", "other_methods_are_refused"),
    (ErrorCode::RequestTimeout, "tests/faults.rs", "a_body_that_stalls_is_cut_off"),
    (ErrorCode::StoreUnavailable, "tests/faults.rs", "a_broken_register_answers_store_unavailable_without_data"),
    (ErrorCode::InternalError, "tests/faults.rs", "inconsistent_register_data_is_an_internal_error_not_a_wrong_answer"),
    (ErrorCode::AuditUnavailable, "tests/audit.rs", "when_the_audit_log_cannot_be_written_no_data_leaves"),
    (ErrorCode::ServiceBusy, "tests/faults.rs", "a_request_without_room_in_the_buffer_budget_is_refused_as_busy"),
    (ErrorCode::InvalidTimestamp, "tests/security.rs", "request_timestamps_are_checked_and_refusals_audited"),
    (ErrorCode::MessageExpired, "tests/security.rs", "request_timestamps_are_checked_and_refusals_audited"),
    (ErrorCode::MessageReplayed, "tests/security.rs", "a_message_id_seen_within_the_window_is_refused_as_a_replay"),
    (ErrorCode::SignatureRequired, "tests/security.rs", "a_consumer_that_must_sign_is_refused_unsigned_wrongly_signed_and_wrapped_requests"),
    (ErrorCode::SignatureInvalid, "tests/security.rs", "a_consumer_that_must_sign_is_refused_unsigned_wrongly_signed_and_wrapped_requests"),
    (ErrorCode::SignatureCheckUnavailable, "tests/security.rs", "a_signature_that_cannot_be_checked_in_time_is_refused_without_data"),
    (ErrorCode::NetworkNotAllowed, "tests/security.rs", "a_consumer_calling_from_outside_its_networks_is_refused_and_audited"),
    (ErrorCode::RateLimited, "tests/security.rs", "rate_limits_and_daily_quotas_refuse_before_the_store_is_read"),
    (ErrorCode::QuotaExceeded, "tests/security.rs", "rate_limits_and_daily_quotas_refuse_before_the_store_is_read"),
];

/// Keeps PROVOKED_ELSEWHERE honest: each named test exists, is a test, and names its code in
/// its body — a renamed or deleted test, or one that stopped asserting the code, fails here.
#[test]
fn the_codes_provoked_elsewhere_are_asserted_by_the_named_tests() {
    for (code, file, test) in PROVOKED_ELSEWHERE {
        let source = std::fs::read_to_string(repo_path(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let start = source.find(&format!("fn {test}(")).unwrap_or_else(|| panic!("{file} has no test {test} (for {code:?})"));
        let attribute = source[..start].rfind("#[").map(|at| &source[at..start]).unwrap_or_default();
        assert!(attribute.contains("test"), "{file}: {test} is not a test");
        // The body runs to the next item at the start of a line.
        let body_end = source[start..].find("\n}\n").map_or(source.len(), |end| start + end);
        let body = &source[start..body_end];
        assert!(body.contains(code.name()), "{file}: {test} does not mention {} — does it still provoke it?", code.name());
    }
}

#[tokio::test]
async fn other_methods_are_refused() {
    let server = TestServer::start().await;
    let mut client = server.client("riga").await;
    let reply = client.get(EP115).await;
    check("GET without ?wsdl", &reply, ErrorCode::MethodNotAllowed, 405, Form::Fault11);
    let request = hyper::Request::delete(EP116).header("host", "localhost").body(Default::default()).unwrap();
    let reply = client.send(request).await.unwrap();
    check("DELETE", &reply, ErrorCode::MethodNotAllowed, 405, Form::Fault11);
}

#[tokio::test]
async fn a_body_that_stalls_is_cut_off() {
    let limits = spolis_adapter::config::Limits { body_timeout_seconds: 1, ..Default::default() };
    let server = TestServer::start_with(Options { limits: Some(limits), ..Default::default() }).await;
    let mut stream = server.tls_stream("riga").await;
    stream
        .write_all(b"POST /GetApplicationList HTTP/1.1\r\nhost: localhost\r\ncontent-type: text/xml\r\ncontent-length: 500\r\n\r\n<s:Envelope")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert_eq!(error_code(&answer).as_deref(), Some("RequestTimeout"), "{answer}");
}

#[tokio::test]
async fn a_request_without_room_in_the_buffer_budget_is_refused_as_busy() {
    // A budget smaller than the request: it can never get room, and is refused once the wait is up.
    let limits = spolis_adapter::config::Limits { max_buffered_request_bytes: 200, buffer_wait_milliseconds: 50, ..Default::default() };
    let server = TestServer::start_with(Options { limits: Some(limits), ..Default::default() }).await;
    let mut client = server.client("riga").await;
    let body = sample("ep116-soap11-plain.xml");
    assert!(body.len() > 200);
    let reply = client.soap(EP116, &body).await;
    check("no room", &reply, ErrorCode::ServiceBusy, 503, Form::Fault11);
    assert_eq!(reply.retry_after.as_deref(), Some("1"));
    // A request that fits is answered.
    let small = envelope("1.1", "<x/>");
    assert!(small.len() <= 200, "{}", small.len());
    let reply = client.soap(EP116, &small).await;
    assert_eq!(error_code(&reply.body).as_deref(), Some("UnknownOperation"), "{}", reply.body);
}

#[tokio::test]
async fn a_broken_register_answers_store_unavailable_without_data() {
    let server = TestServer::start_with(Options { own_register: true, ..Default::default() }).await;
    let connection = rusqlite::Connection::open(server.database()).unwrap();
    connection.execute_batch("DROP TABLE queue_events;").unwrap();
    let mut client = server.client("riga").await;
    for version in ["1.1", "1.2"] {
        let reply = client
            .soap(EP116, &envelope(version, &operation("GetQueueStatusList", "<PersonCode>150342-10121</PersonCode>")))
            .await;
        let form = if version == "1.1" { Form::Fault11 } else { Form::Fault12 };
        check(version, &reply, ErrorCode::StoreUnavailable, 500, form);
        assert!(!reply.body.contains("Kalniņa"), "no personal data in a refusal");
    }
}

#[tokio::test]
async fn inconsistent_register_data_is_an_internal_error_not_a_wrong_answer() {
    let server = TestServer::start_with(Options { own_register: true, ..Default::default() }).await;
    let connection = rusqlite::Connection::open(server.database()).unwrap();
    // The schema refuses such a value; a bad import or a bug could still leave one.
    connection.pragma_update(None, "ignore_check_constraints", "ON").unwrap();
    let changed = connection.execute("UPDATE queue_events SET kind = 99", []).unwrap();
    assert!(changed > 0);
    let mut client = server.client("riga").await;
    let reply = client
        .soap(EP116, &envelope("1.1", &operation("GetQueueStatusList", "<PersonCode>150342-10121</PersonCode>")))
        .await;
    check("corrupt", &reply, ErrorCode::InternalError, 500, Form::Fault11);
}

#[tokio::test]
async fn a_consumer_of_the_other_environment_is_not_registered_here() {
    let registry = std::fs::read_to_string(certs_dir().join("consumers.toml")).unwrap().replace("environment = \"test\"", "environment = \"production\"");
    let server = TestServer::start_with(Options { consumers: Some(registry), ..Default::default() }).await;
    let mut client = server.client("riga").await;
    let reply = client.soap(EP115, &sample("ep115-soap11-plain.xml")).await;
    check("production consumer on the test service", &reply, ErrorCode::ConsumerNotRegistered, 500, Form::Fault11);
    assert!(reply.body.contains("production environment"), "{}", reply.body);
}

#[test]
fn the_readme_documents_every_code_of_the_table() {
    let readme = std::fs::read_to_string(repo_path("README.md")).unwrap();
    for code in ErrorCode::ALL {
        let row = format!("| {} | `{}` |", code.number(), code.name());
        assert!(readme.contains(&row), "README.md lacks the row {row}");
    }
}
