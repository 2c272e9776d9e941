//! Message security over real mutual TLS: every answer is signed (WS-Security Timestamp + XML
//! Signature over Body and Timestamp) and verifies with two independent implementations,
//! xmlsec1 (libxmlsec1/OpenSSL) and signxml (Python, lxml + cryptography); a one-byte change
//! in any signed part fails both. Request timestamps, replays, signed requests, network
//! allow-lists and rate limits each get their documented refusal, audited.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use spolis_adapter::error::ErrorCode;
use spolis_adapter::soap::SoapVersion;
use spolis_adapter::wssec::{AnswerSigner, WSU_NS};

const EP115: &str = "/GetApplicationList";
const EP116: &str = "/GetQueueStatusList";

/// Verifies a signed answer with xmlsec1, trusting only the example CA (or `trusted`).
fn xmlsec1_verify(answer: &str, trusted: &Path) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let file = dir.path().join("answer.xml");
    std::fs::write(&file, answer).map_err(|e| e.to_string())?;
    let output = Command::new("xmlsec1")
        .arg("--verify")
        .args(["--id-attr:Id", &format!("{SOAP11}:Body")])
        .args(["--id-attr:Id", &format!("{SOAP12}:Body")])
        .args(["--id-attr:Id", &format!("{WSU_NS}:Timestamp")])
        .arg("--trusted-pem")
        .arg(trusted)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("xmlsec1 is required for this test (apt-get install xmlsec1): {e}"));
    match output.status.success() {
        true => Ok(()),
        false => Err(String::from_utf8_lossy(&output.stderr).into_owned()),
    }
}

/// A Python that can import signxml: `SPOLIS_TEST_PYTHON`, else `.venv` (scripts/test-all
/// installs `tests/security/requirements.txt` there).
fn signxml_python() -> PathBuf {
    let candidates = std::env::var("SPOLIS_TEST_PYTHON")
        .ok()
        .map(PathBuf::from)
        .into_iter()
        .chain([repo_path(".venv/bin/python")]);
    for python in candidates {
        let imports = Command::new(&python).args(["-c", "import signxml"]).output();
        if imports.is_ok_and(|output| output.status.success()) {
            return python;
        }
    }
    panic!("signxml is required for this test: .venv/bin/pip install -r tests/security/requirements.txt (or set SPOLIS_TEST_PYTHON)");
}

/// Verifies a signed answer with signxml; it must sign exactly Body and Timestamp.
fn signxml_verify(answer: &str, trusted: &Path) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let file = dir.path().join("answer.xml");
    std::fs::write(&file, answer).map_err(|e| e.to_string())?;
    let output = Command::new(signxml_python())
        .arg(repo_path("tests/security/verify_signxml.py"))
        .arg(&file)
        .arg(trusted)
        .output()
        .map_err(|e| e.to_string())?;
    match output.status.success() {
        true => Ok(()),
        false => Err(format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))),
    }
}

fn both_verify(name: &str, answer: &str) {
    let ca = certs_dir().join("ca.crt");
    xmlsec1_verify(answer, &ca).unwrap_or_else(|e| panic!("{name}: xmlsec1 refused: {e}\n{answer}"));
    signxml_verify(answer, &ca).unwrap_or_else(|e| panic!("{name}: signxml refused: {e}\n{answer}"));
}

#[tokio::test]
async fn every_kind_of_answer_is_signed_and_verifies_with_xmlsec1_and_signxml() {
    let server = TestServer::start().await;
    let mut riga = server.client("riga").await;
    let mut answers = Vec::new();
    for name in ["ep115-soap11-plain.xml", "ep115-soap12-plain.xml", "ep116-soap11-ivis.xml", "ep116-soap12-ivis.xml"] {
        let path = if name.starts_with("ep115") { EP115 } else { EP116 };
        let reply = riga.soap(path, &sample(name)).await;
        assert_eq!(reply.status, 200, "{name}: {}", reply.body);
        answers.push((name.to_string(), reply.body));
    }
    // Refusals: a SOAP 1.1 and a SOAP 1.2 fault, an IVIS error list, and a transport refusal.
    let invalid = |version: &str| envelope(version, &operation("GetQueueStatusList", "<PersonCode>150342-10122</PersonCode>"));
    for version in ["1.1", "1.2"] {
        let reply = riga.soap(EP116, &invalid(version)).await;
        assert_eq!(error_code(&reply.body).as_deref(), Some("InvalidPersonCode"));
        answers.push((format!("fault {version}"), reply.body));
    }
    let ivis_error = sample("ep115-soap11-ivis.xml").replace("150342-10121", "150342-10122");
    let reply = riga.soap(EP115, &ivis_error).await;
    assert_eq!(error_code(&reply.body).as_deref(), Some("InvalidPersonCode"), "{}", reply.body);
    answers.push(("IVIS error list".to_string(), reply.body));
    let reply = riga.get("/Nowhere").await;
    assert_eq!(reply.status, 404);
    answers.push(("not found".to_string(), reply.body));

    for (name, answer) in &answers {
        assert!(answer.contains("<wsse:Security") && answer.contains("<wsu:Timestamp"), "{name}: {answer}");
        both_verify(name, answer);
    }
}

#[tokio::test]
async fn a_one_byte_change_in_any_signed_part_fails_both_verifiers() {
    let server = TestServer::start().await;
    let reply = server.client("riga").await.soap(EP115, &sample("ep115-soap11-plain.xml")).await;
    let answer = reply.body;
    both_verify("untouched", &answer);
    let ca = certs_dir().join("ca.crt");
    // One byte in each signed part: the payload, the Body's id, the Timestamp, SignedInfo.
    let places = [
        ("a personal code in the Body", "150342-10121", "150342-10131"),
        ("the Body's wsu:Id", "wsu:Id=\"Body-", "wsu:Id=\"Bodx-"),
        ("the Timestamp's Created", "<wsu:Created>2", "<wsu:Created>1"),
        ("the Timestamp's Expires", "<wsu:Expires>2", "<wsu:Expires>1"),
        ("a DigestValue", "<ds:DigestValue>", "<ds:DigestValue>A"),
        ("the SignatureMethod", "xmldsig-more#ecdsa-sha256", "xmldsig-more#ecdsa-sha384"),
    ];
    for (what, from, to) in places {
        assert!(answer.contains(from), "{what}: {from} not in the answer");
        let tampered = answer.replacen(from, to, 1);
        assert!(xmlsec1_verify(&tampered, &ca).is_err(), "xmlsec1 accepted a change to {what}");
        assert!(signxml_verify(&tampered, &ca).is_err(), "signxml accepted a change to {what}");
    }
    // A signature made by a key the CA did not certify is refused too (trust, not only maths).
    let rogue = certs_dir().join("rogue-ca.crt");
    assert!(xmlsec1_verify(&answer, &rogue).is_err());
    assert!(signxml_verify(&answer, &rogue).is_err());
}

#[tokio::test]
async fn answers_are_unsigned_when_signing_is_switched_off() {
    let server = TestServer::start_with(Options {
        configure: Some(|config| config.security.sign_answers = false),
        ..Default::default()
    })
    .await;
    let reply = server.client("riga").await.soap(EP115, &sample("ep115-soap12-plain.xml")).await;
    assert_eq!(reply.status, 200);
    assert!(!reply.body.contains("Security") && !reply.body.contains("Signature"), "{}", reply.body);
}

/// An RSA server key (made by the openssl command line, as ring cannot generate RSA keys,
/// and certified by the example CA) signs answers that both verifiers accept.
#[test]
fn rsa_server_keys_sign_verifiable_answers() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    std::fs::write(path("ext.cnf"), "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost\n").unwrap();
    let openssl = |args: &[&str]| {
        let output = Command::new("openssl").current_dir(dir.path()).args(args).output().expect("openssl is needed to make an RSA test key");
        assert!(output.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    };
    openssl(&["req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "rsa.key", "-out", "rsa.csr"]);
    let ca = certs_dir();
    let (ca_crt, ca_key) = (ca.join("ca.crt"), ca.join("ca.key"));
    openssl(&[
        "x509", "-req", "-in", "rsa.csr", "-CA", ca_crt.to_str().unwrap(), "-CAkey", ca_key.to_str().unwrap(), "-set_serial", "7",
        "-days", "30", "-sha256", "-extfile", "ext.cnf", "-out", "rsa.crt",
    ]);
    let (key, certificate) = (path("rsa.key"), path("rsa.crt"));
    let signer = AnswerSigner::load(&certificate, &key, chrono::Duration::minutes(5)).unwrap();
    assert_eq!(signer.method(), "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256");
    let payload = format!(r#"<GetApplicationListResponse xmlns="{SPOLIS}"><Note>"quotes" &amp; 'apostrophes' &lt;tags&gt;&#xD;</Note></GetApplicationListResponse>"#);
    for version in [SoapVersion::V11, SoapVersion::V12] {
        let answer = signer.envelope(version, &payload, uuid::Uuid::new_v4(), chrono::Utc::now()).unwrap();
        both_verify("RSA", &answer);
    }
}

/// The audit outcome of a call (the audit record is durable before its answer leaves).
fn audited_outcome(server: &TestServer, call_id: &str) -> String {
    audited(server, call_id).outcome
}

fn audited(server: &TestServer, call_id: &str) -> spolis_adapter::audit::AuditRecord {
    let connection = rusqlite::Connection::open(server.audit_path()).unwrap();
    let mut statement = connection.prepare("SELECT encoded FROM audit_records").unwrap();
    let mut records = statement
        .query_map([], |row| spolis_adapter::audit::sqlite::record_from_encoded(row, 0))
        .unwrap()
        .map(Result::unwrap);
    records
        .find(|record| record.record_id.to_string() == call_id)
        .unwrap_or_else(|| panic!("no audit record for {call_id}"))
}

/// A SOAP 1.2 plain EP116 request with a WS-Security header holding `security` and an
/// optional WS-Addressing MessageID.
fn with_security_header(security: &str, message_id: Option<&str>) -> String {
    let addressing = message_id.map_or(String::new(), |id| format!(r#"<a:MessageID xmlns:a="http://www.w3.org/2005/08/addressing">{id}</a:MessageID>"#));
    envelope("1.2", &operation("GetQueueStatusList", "<PersonCode>150342-10121</PersonCode>")).replace(
        "<s:Body>",
        &format!(
            r#"<s:Header>{addressing}<o:Security s:mustUnderstand="1" xmlns:o="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:u="{WSU_NS}">{security}</o:Security></s:Header><s:Body>"#
        ),
    )
}

fn timestamp(created: chrono::DateTime<chrono::Utc>, expires: chrono::DateTime<chrono::Utc>) -> String {
    let format = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    format!(r#"<u:Timestamp u:Id="_0"><u:Created>{}</u:Created><u:Expires>{}</u:Expires></u:Timestamp>"#, format(created), format(expires))
}

#[tokio::test]
async fn request_timestamps_are_checked_and_refusals_audited() {
    let server = TestServer::start().await;
    let mut riga = server.client("riga").await;
    let now = chrono::Utc::now();
    let minutes = chrono::Duration::minutes;
    let fresh = riga.soap(EP116, &with_security_header(&timestamp(now, now + minutes(5)), None)).await;
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    let cases = [
        ("expired", timestamp(now - minutes(10), now - minutes(5)), ErrorCode::MessageExpired),
        ("created in the future", timestamp(now + minutes(10), now + minutes(15)), ErrorCode::InvalidTimestamp),
        ("not a date", "<u:Timestamp><u:Created>soon</u:Created></u:Timestamp>".to_string(), ErrorCode::InvalidTimestamp),
        ("expires before created", timestamp(now, now - minutes(1)), ErrorCode::InvalidTimestamp),
    ];
    for (name, security, code) in cases {
        let reply = riga.soap(EP116, &with_security_header(&security, None)).await;
        assert_eq!(reply.status, 400, "{name}: {}", reply.body);
        assert_eq!(error_code(&reply.body).as_deref(), Some(code.name()), "{name}: {}", reply.body);
        assert_eq!(audited_outcome(&server, &reply.call_id), code.name(), "{name}");
        both_verify(name, &reply.body);
    }
    // Within the allowed clock skew (60 s by default) either way is accepted.
    let skewed = riga.soap(EP116, &with_security_header(&timestamp(now + chrono::Duration::seconds(30), now - chrono::Duration::seconds(30)), None)).await;
    assert_eq!(skewed.status, 400, "Expires before Created stays invalid");
    let skewed = riga.soap(EP116, &with_security_header(&timestamp(now + chrono::Duration::seconds(30), now + minutes(5)), None)).await;
    assert_eq!(skewed.status, 200, "{}", skewed.body);
}

#[tokio::test]
async fn a_message_id_seen_within_the_window_is_refused_as_a_replay() {
    let server = TestServer::start().await;
    let mut riga = server.client("riga").await;
    // IVIS MessageID: the same sample twice.
    let first = riga.soap(EP116, &sample("ep116-soap11-ivis.xml")).await;
    assert_eq!(texts(&first.body, "Result"), ["success"], "{}", first.body);
    let again = riga.soap(EP116, &sample("ep116-soap11-ivis.xml")).await;
    assert_eq!(again.status, 200);
    assert_eq!(error_code(&again.body).as_deref(), Some("MessageReplayed"), "{}", again.body);
    assert!(!again.body.contains("Kalniņa"), "a replay gets no data");
    assert_eq!(audited_outcome(&server, &again.call_id), "MessageReplayed");
    // The same MessageID from another consumer is that consumer's own.
    let talsis_own = sample("ep116-soap11-ivis.xml").replace("AU:90011524360", "AU:90009113532");
    let other = server.client("talsi").await.soap(EP116, &talsis_own).await;
    assert_eq!(texts(&other.body, "Result"), ["success"], "{}", other.body);

    // WS-Addressing MessageID on a plain request; a fresh id passes.
    let now = chrono::Utc::now();
    let stamp = timestamp(now, now + chrono::Duration::minutes(5));
    let id = format!("urn:uuid:{}", uuid::Uuid::new_v4());
    assert_eq!(riga.soap(EP116, &with_security_header(&stamp, Some(&id))).await.status, 200);
    let replayed = riga.soap(EP116, &with_security_header(&stamp, Some(&id))).await;
    assert_eq!(error_code(&replayed.body).as_deref(), Some("MessageReplayed"), "{}", replayed.body);
    assert_eq!(audited_outcome(&server, &replayed.call_id), "MessageReplayed");
    let fresh_id = format!("urn:uuid:{}", uuid::Uuid::new_v4());
    assert_eq!(riga.soap(EP116, &with_security_header(&stamp, Some(&fresh_id))).await.status, 200);

    // A request refused for its content does not use up its MessageID.
    let wrong = sample("ep115-soap11-ivis.xml").replace("150342-10121", "150342-10122");
    assert_eq!(error_code(&riga.soap(EP115, &wrong).await.body).as_deref(), Some("InvalidPersonCode"));
    let corrected = riga.soap(EP115, &sample("ep115-soap11-ivis.xml")).await;
    assert_eq!(texts(&corrected.body, "Result"), ["success"], "{}", corrected.body);
}

/// The example registry with riga required to sign its requests.
fn registry_requiring_signatures_from_riga() -> String {
    let registry = std::fs::read_to_string(certs_dir().join("consumers.toml")).unwrap();
    let riga_services = "services = [\"EP115\", \"EP116\", \"STATS\"]\n";
    assert!(registry.contains(riga_services));
    registry.replacen(riga_services, &format!("{riga_services}require_signed_requests = true\n"), 1)
}

/// A request signed the WS-Security way (Timestamp + Body, exclusive C14N) with
/// `<identity>.key` of the example PKI (`certs_dir`).
fn signed_request(identity: &str, version: SoapVersion, payload: &str) -> String {
    let dir = certs_dir();
    let signer = AnswerSigner::load(&dir.join(format!("{identity}.crt")), &dir.join(format!("{identity}.key")), chrono::Duration::minutes(5)).unwrap();
    signer.envelope(version, payload, uuid::Uuid::new_v4(), chrono::Utc::now()).unwrap()
}

fn ep116_payload(person: &str) -> String {
    operation("GetQueueStatusList", &format!("<PersonCode>{person}</PersonCode>"))
}

#[tokio::test]
async fn a_consumer_that_must_sign_is_refused_unsigned_wrongly_signed_and_wrapped_requests() {
    let server = TestServer::start_with(Options { consumers: Some(registry_requiring_signatures_from_riga()), ..Default::default() }).await;
    let mut riga = server.client("riga").await;
    let refuse = |name: &'static str, reply: &Reply, code: ErrorCode| {
        assert_eq!(error_code(&reply.body).as_deref(), Some(code.name()), "{name}: {}", reply.body);
        assert!(!reply.body.contains("Kalniņa"), "{name}: no data");
        assert_eq!(audited_outcome(&server, &reply.call_id), code.name(), "{name}");
    };

    let unsigned = riga.soap(EP116, &sample("ep116-soap12-plain.xml")).await;
    refuse("unsigned", &unsigned, ErrorCode::SignatureRequired);
    let unsigned_ivis = riga.soap(EP116, &sample("ep116-soap11-ivis.xml")).await;
    refuse("unsigned IVIS", &unsigned_ivis, ErrorCode::SignatureRequired);

    for version in [SoapVersion::V11, SoapVersion::V12] {
        let signed = riga.soap(EP116, &signed_request("riga", version, &ep116_payload("150342-10121"))).await;
        assert_eq!(signed.status, 200, "{}", signed.body);
        assert!(signed.body.contains("Kalniņa"), "{}", signed.body);
    }

    let good = signed_request("riga", SoapVersion::V12, &ep116_payload("150342-10121"));
    // Signed by another consumer's, or an unregistered, certificate.
    refuse("talsi's key", &riga.soap(EP116, &signed_request("talsi", SoapVersion::V12, &ep116_payload("150342-10121"))).await, ErrorCode::SignatureInvalid);
    refuse("unregistered key", &riga.soap(EP116, &signed_request("unregistered", SoapVersion::V12, &ep116_payload("150342-10121"))).await, ErrorCode::SignatureInvalid);
    // The Body changed after signing (another person asked about).
    refuse("changed Body", &riga.soap(EP116, &good.replace("150342-10121", "320417-28315")).await, ErrorCode::SignatureInvalid);
    // The Timestamp changed after signing.
    refuse("changed Timestamp", &riga.soap(EP116, &good.replacen("<wsu:Expires>2", "<wsu:Expires>3", 1)).await, ErrorCode::SignatureInvalid);
    // Signature wrapping: the signed Body moved into a header, an unsigned one put in its place.
    let body_start = good.find("<soap:Body").unwrap();
    let body_end = good.rfind("</soap:Envelope>").unwrap();
    let signed_body = &good[body_start..body_end];
    let wrapped = format!(
        "{}<w:Wrapper xmlns:w=\"urn:example:wrapper\">{signed_body}</w:Wrapper></soap:Header><soap:Body>{}</soap:Body></soap:Envelope>",
        &good[..good.find("</soap:Header>").unwrap()],
        ep116_payload("320417-28315")
    );
    let reply = riga.soap(EP116, &wrapped).await;
    refuse("wrapped", &reply, ErrorCode::SignatureInvalid);
    assert_fixed_message(&reply);
    // A second signature anywhere.
    let doubled = good.replacen("</soap:Header>", "<w:Extra xmlns:w=\"urn:example:extra\"><ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"></ds:Signature></w:Extra></soap:Header>", 1);
    let reply = riga.soap(EP116, &doubled).await;
    refuse("two signatures", &reply, ErrorCode::SignatureInvalid);
    assert_fixed_message(&reply);
    // The untouched request still passes (each refusal above was about its change).
    assert_eq!(riga.soap(EP116, &good).await.status, 200);

    // Talsi is not required to sign: its unsigned request passes.
    let talsi = server.client("talsi").await.soap(EP116, &sample("ep116-soap12-plain.xml")).await;
    assert_eq!(talsi.status, 200, "{}", talsi.body);
}

/// The one message every `SignatureInvalid` carries, whatever the reason: no oracle.
fn assert_fixed_message(reply: &Reply) {
    assert_eq!(texts(&reply.body, "Message"), [ErrorCode::SignatureInvalid.message_en()], "{}", reply.body);
}

const EXC_C14N_TRANSFORM: &str = r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#;
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
const ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
const WSA: &str = "http://www.w3.org/2005/08/addressing";
const WSSE: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";

/// A request laid out as WCF does — prefixes `s`, `o`, `u`, indentation, the Timestamp's
/// `u:Id="_0"`, the Body's `u:Id="_1"` — as a template for `xmlsec1 --sign`.
struct Template {
    method: &'static str,
    digest: &'static str,
    /// The content of each Reference's `ds:Transforms`.
    transforms: String,
    /// The CanonicalizationMethod's content (e.g. WSS4J's InclusiveNamespaces).
    c14n_content: String,
    created: chrono::DateTime<chrono::Utc>,
    expires: Option<chrono::DateTime<chrono::Utc>>,
    /// Sign WS-Addressing Action, To and MessageID too (as WCF does with message security).
    addressing: bool,
    /// Name the key by a BinarySecurityToken (WCF, WSS4J DirectReference) instead of X509Data.
    binary_token: bool,
    person: &'static str,
}

impl Default for Template {
    fn default() -> Template {
        let now = chrono::Utc::now();
        Template {
            method: ECDSA_SHA256,
            digest: SHA256,
            transforms: EXC_C14N_TRANSFORM.to_string(),
            c14n_content: String::new(),
            created: now,
            expires: Some(now + chrono::Duration::minutes(5)),
            addressing: false,
            binary_token: false,
            person: "150342-10121",
        }
    }
}

fn xsd_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Signs `template` with riga's key by xmlsec1, as another implementation would.
fn xmlsec1_signed(template: &Template) -> String {
    let reference = |uri: &str| {
        format!(
            r#"<ds:Reference URI="{uri}"><ds:Transforms>{}</ds:Transforms><ds:DigestMethod Algorithm="{}"/><ds:DigestValue/></ds:Reference>"#,
            template.transforms, template.digest
        )
    };
    let mut references = vec![reference("#_0"), reference("#_1")];
    let mut addressing = String::new();
    if template.addressing {
        addressing = format!(
            r#"<a:Action s:mustUnderstand="1" u:Id="_2">http://ivis.eps.gov.lv/ISS/LM-GetQueueStatusList/v1-0/GetQueueStatusList</a:Action>
    <a:MessageID u:Id="_3">urn:uuid:{}</a:MessageID>
    <a:To s:mustUnderstand="1" u:Id="_4">https://localhost/GetQueueStatusList</a:To>
    "#,
            uuid::Uuid::new_v4()
        );
        references.extend(["#_2", "#_3", "#_4"].map(reference));
    }
    let certificate = std::fs::read_to_string(certs_dir().join("riga.crt")).unwrap();
    let certificate: String = certificate.lines().filter(|l| !l.starts_with("-----")).collect();
    let (token, key_info) = match template.binary_token {
        true => (
            format!(
                r#"<o:BinarySecurityToken u:Id="uuid-riga-1" ValueType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3" EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">{certificate}</o:BinarySecurityToken>"#
            ),
            r##"<o:SecurityTokenReference><o:Reference URI="#uuid-riga-1" ValueType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"/></o:SecurityTokenReference>"##.to_string(),
        ),
        false => (String::new(), "<ds:X509Data><ds:X509Certificate/></ds:X509Data>".to_string()),
    };
    let expires = template.expires.map_or(String::new(), |t| format!("<u:Expires>{}</u:Expires>", xsd_time(t)));
    let text = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="{SOAP12}" xmlns:u="{WSU_NS}" xmlns:a="{WSA}">
  <s:Header>
    {addressing}<o:Security s:mustUnderstand="1" xmlns:o="{WSSE}">
      <u:Timestamp u:Id="_0">
        <u:Created>{created}</u:Created>
        {expires}
      </u:Timestamp>
      {token}
      <ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
        <ds:SignedInfo>
          <ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#">{c14n}</ds:CanonicalizationMethod>
          <ds:SignatureMethod Algorithm="{method}"/>
          {references}
        </ds:SignedInfo>
        <ds:SignatureValue/>
        <ds:KeyInfo>{key_info}</ds:KeyInfo>
      </ds:Signature>
    </o:Security>
  </s:Header>
  <s:Body u:Id="_1">
    <q:GetQueueStatusList xmlns:q="{SPOLIS}">
      <q:PersonCode>{person}</q:PersonCode>
      <q:Purpose><q:LegalBasis>Sociālo pakalpojumu un sociālās palīdzības likums, 9. pants</q:LegalBasis></q:Purpose>
      <q:Operator>
        <q:FirstName>Anna</q:FirstName>
        <q:Surname>Liepiņa</q:Surname>
        <q:PersonCode>120379-10015</q:PersonCode>
      </q:Operator>
    </q:GetQueueStatusList>
  </s:Body>
</s:Envelope>
"#,
        created = xsd_time(template.created),
        c14n = template.c14n_content,
        method = template.method,
        references = references.join("\n          "),
        person = template.person,
    );
    let dir = tempfile::tempdir().unwrap();
    let template_path = dir.path().join("template.xml");
    std::fs::write(&template_path, text).unwrap();
    let certs = certs_dir();
    let mut command = Command::new("xmlsec1");
    command
        .arg("--sign")
        .arg("--privkey-pem")
        .arg(format!("{},{}", certs.join("riga.key").display(), certs.join("riga.crt").display()))
        .args(["--id-attr:Id", &format!("{SOAP12}:Body")])
        .args(["--id-attr:Id", &format!("{WSU_NS}:Timestamp")]);
    for header in ["Action", "MessageID", "To"] {
        command.args(["--id-attr:Id", &format!("{WSA}:{header}")]);
    }
    let output = command.arg(&template_path).output().expect("xmlsec1 is required for this test (apt-get install xmlsec1)");
    assert!(output.status.success(), "xmlsec1 --sign: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// A request signed by another implementation (xmlsec1), laid out as WCF does — prefixes `s`,
/// `o`, `u`, indentation, the Timestamp's `u:Id="_0"` — verifies: the verifier canonicalises for
/// real rather than relying on our own serialisation. So do WCF's signed WS-Addressing headers
/// with a BinarySecurityToken, and WSS4J's InclusiveNamespaces.
#[tokio::test]
async fn a_request_signed_by_xmlsec1_with_a_pretty_printed_body_verifies() {
    let server = TestServer::start_with(Options { consumers: Some(registry_requiring_signatures_from_riga()), ..Default::default() }).await;
    let signed = xmlsec1_signed(&Template::default());
    let mut riga = server.client("riga").await;
    let reply = riga.soap(EP116, &signed).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.contains("Kalniņa"));
    // Even whitespace inside the signed Body counts.
    let reply = riga.soap(EP116, &signed.replacen("<q:PersonCode>150342-10121", "<q:PersonCode> 150342-10121", 1)).await;
    assert_eq!(error_code(&reply.body).as_deref(), Some("SignatureInvalid"), "{}", reply.body);

    let wcf = xmlsec1_signed(&Template { addressing: true, binary_token: true, ..Default::default() });
    let reply = riga.soap(EP116, &wcf).await;
    assert_eq!(reply.status, 200, "WCF layout: {}", reply.body);
    let prefixes = r#"<ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="s u"/>"#;
    let wss4j = xmlsec1_signed(&Template {
        transforms: format!(r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#">{prefixes}</ds:Transform>"#),
        c14n_content: prefixes.replace("\"s u\"", "\"s\""),
        binary_token: true,
        ..Default::default()
    });
    let reply = riga.soap(EP116, &wss4j).await;
    assert_eq!(reply.status, 200, "WSS4J layout: {}", reply.body);
}

fn registry_with_riga_networks(networks: &str) -> String {
    let registry = std::fs::read_to_string(certs_dir().join("consumers.toml")).unwrap();
    let riga_services = "services = [\"EP115\", \"EP116\", \"STATS\"]\n";
    registry.replacen(riga_services, &format!("{riga_services}allowed_networks = {networks}\n"), 1)
}

#[tokio::test]
async fn a_consumer_calling_from_outside_its_networks_is_refused_and_audited() {
    let server = TestServer::start_with(Options { consumers: Some(registry_with_riga_networks(r#"["10.0.0.0/8", "2001:db8::/32"]"#)), ..Default::default() }).await;
    let mut riga = server.client("riga").await;
    for (path, name) in [(EP115, "ep115-soap11-plain.xml"), (EP116, "ep116-soap12-ivis.xml")] {
        let reply = riga.soap(path, &sample(name)).await;
        assert_eq!(error_code(&reply.body).as_deref(), Some("NetworkNotAllowed"), "{name}: {}", reply.body);
        assert!(!reply.body.contains("Kalniņa"));
        assert_eq!(audited_outcome(&server, &reply.call_id), "NetworkNotAllowed");
    }
    // Talsi lists no networks: any address.
    assert_eq!(server.client("talsi").await.soap(EP116, &sample("ep116-soap11-plain.xml")).await.status, 200);

    let server = TestServer::start_with(Options { consumers: Some(registry_with_riga_networks(r#"["10.0.0.0/8", "127.0.0.1/32"]"#)), ..Default::default() }).await;
    let reply = server.client("riga").await.soap(EP115, &sample("ep115-soap11-plain.xml")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn rate_limits_and_daily_quotas_refuse_before_the_store_is_read() {
    let server = TestServer::start_with(Options {
        configure: Some(|config| {
            config.quotas = spolis_adapter::quotas::QuotaConfig { operator_per_minute: 3, operator_per_day: 0, consumer_per_minute: 0, consumer_per_day: 5 }
        }),
        // The daily quota counts per UTC day: a clock that stands still keeps a run across
        // midnight from starting a new day halfway through the test.
        clock: Some(spolis_adapter::service::Clock::Fixed(chrono::Utc::now().date_naive().and_hms_opt(12, 0, 0).unwrap().and_utc())),
        ..Default::default()
    })
    .await;
    let mut riga = server.client("riga").await;
    let ask = |operator: &str| {
        envelope(
            "1.1",
            &format!(
                r#"<GetQueueStatusList xmlns="{SPOLIS}"><PersonCode>150342-10121</PersonCode><Purpose><LegalBasis>Sociālo pakalpojumu un sociālās palīdzības likums, 9. pants</LegalBasis></Purpose><Operator><FirstName>A</FirstName><Surname>B</Surname><PersonCode>{operator}</PersonCode></Operator></GetQueueStatusList>"#
            ),
        )
    };
    for _ in 0..3 {
        assert_eq!(riga.soap(EP116, &ask("120379-10015")).await.status, 200);
    }
    let limited = riga.soap(EP116, &ask("120379-10015")).await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert_eq!(error_code(&limited.body).as_deref(), Some("RateLimited"));
    assert!(!limited.body.contains("Kalniņa"));
    assert_eq!(audited_outcome(&server, &limited.call_id), "RateLimited");
    both_verify("rate limited", &limited.body);
    // Another operator of riga still may; then riga's daily quota of 5 is used up.
    assert_eq!(riga.soap(EP116, &ask("320417-28315")).await.status, 200);
    assert_eq!(riga.soap(EP116, &ask("051230-10106")).await.status, 200);
    let exhausted = riga.soap(EP116, &ask("231188-13456")).await;
    assert_eq!(exhausted.status, 429, "{}", exhausted.body);
    assert_eq!(error_code(&exhausted.body).as_deref(), Some("QuotaExceeded"));
    assert_eq!(audited_outcome(&server, &exhausted.call_id), "QuotaExceeded");
    // In the IVIS style the refusal is an IVIS error list (HTTP 200).
    let ivis = riga.soap(EP116, &sample("ep116-soap11-ivis.xml")).await;
    assert_eq!((ivis.status, error_code(&ivis.body).as_deref()), (200, Some("QuotaExceeded")), "{}", ivis.body);
    // Counted by outcome in the metrics.
    let (_, metrics) = ops_get(server.ops_address, "/metrics").await;
    assert!(metrics.lines().any(|l| l.contains("QuotaExceeded") && !l.starts_with('#')), "{metrics}");
    // Talsi is counted apart.
    assert_eq!(server.client("talsi").await.soap(EP116, &ask("120379-10015")).await.status, 200);
}

#[tokio::test]
async fn a_bulk_consumer_is_held_to_its_own_quota_not_its_operators() {
    let registry = std::fs::read_to_string(certs_dir().join("consumers.toml")).unwrap();
    let riga_services = "services = [\"EP115\", \"EP116\", \"STATS\"]\n";
    let bulk = registry.replacen(riga_services, &format!("{riga_services}bulk_requests = {{ prepared_by = \"Jānis Bērziņš\" }}\n"), 1);
    assert_ne!(bulk, registry, "riga's entry is where the test expects it");
    let server = TestServer::start_with(Options {
        consumers: Some(bulk),
        configure: Some(|config| {
            config.quotas = spolis_adapter::quotas::QuotaConfig { operator_per_minute: 2, operator_per_day: 3, consumer_per_minute: 0, consumer_per_day: 5 }
        }),
        clock: Some(spolis_adapter::service::Clock::Fixed(chrono::Utc::now().date_naive().and_hms_opt(12, 0, 0).unwrap().and_utc())),
        ..Default::default()
    })
    .await;
    let ask = |person: &str| {
        envelope(
            "1.1",
            &format!(
                r#"<GetQueueStatusList xmlns="{SPOLIS}"><PersonCode>{person}</PersonCode><Purpose><LegalBasis>Sociālo pakalpojumu un sociālās palīdzības likums, 9. pants</LegalBasis></Purpose><Operator><FirstName>A</FirstName><Surname>B</Surname><PersonCode>120379-10015</PersonCode></Operator></GetQueueStatusList>"#
            ),
        )
    };
    // One operator prepares the batch: past the per-operator minute (2) and day (3)…
    let mut riga = server.client("riga").await;
    for _ in 0..5 {
        let reply = riga.soap(EP116, &ask("150342-10121")).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        // Each bulk call is marked so in the audit record, with who prepares them.
        assert_eq!(audited(&server, &reply.call_id).bulk_prepared_by.as_deref(), Some("Jānis Bērziņš"));
    }
    // …until the consumer's own daily quota (5) is used up.
    let exhausted = riga.soap(EP116, &ask("150342-10121")).await;
    assert_eq!((exhausted.status, error_code(&exhausted.body).as_deref()), (429, Some("QuotaExceeded")), "{}", exhausted.body);
    // Talsi, not registered for bulk requests, is held to the per-operator limit.
    let mut talsi = server.client("talsi").await;
    for _ in 0..2 {
        assert_eq!(talsi.soap(EP116, &ask("150342-10121")).await.status, 200);
    }
    let limited = talsi.soap(EP116, &ask("150342-10121")).await;
    assert_eq!(error_code(&limited.body).as_deref(), Some("RateLimited"), "{}", limited.body);
    assert_eq!(audited(&server, &limited.call_id).bulk_prepared_by, None);
}

/// The stable-Rust stand-in for `fuzz/fuzz_targets/signature.rs`: thousands of deterministic
/// mutations of a signed request go through finding the certificate and verifying; nothing
/// panics, and whatever is accepted carries exactly the signed Body (as the pipeline reads it).
#[test]
fn signature_verification_survives_random_mutations() {
    use spolis_adapter::soap::parse_envelope;
    use spolis_adapter::wssec::verify;
    use spolis_adapter::xml::{parse, XmlLimits};

    let riga = spolis_adapter::tls::read_certificates(&certs_dir().join("riga.crt")).unwrap()[0].as_ref().to_vec();
    let original = signed_request("riga", SoapVersion::V12, &ep116_payload("150342-10121"));
    let check = |text: &str| -> Result<spolis_adapter::xml::Element, String> {
        let root = parse(text.as_bytes(), &XmlLimits::default()).map_err(|e| e.to_string())?;
        let envelope = parse_envelope(root, SoapVersion::V12).map_err(|e| e.to_string())?;
        verify::signing_certificate(&envelope.headers).map_err(|e| e.to_string())?;
        let in_profile = spolis_adapter::wssec::profile::check_text(text);
        verify::verify_request(text, &riga).map_err(|e| e.to_string())?;
        assert_eq!(in_profile, Ok(()), "a signature outside the profile was accepted:\n{text}");
        Ok(envelope.body)
    };
    let signed_body = check(&original).unwrap();
    let mut state = 0x5eed_u64;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) as usize
    };
    let specials = ["<", ">", "&", "\"", " ", "ds:", "wsu:Id=\"x\"", "<soap:Body>", "</soap:Body>", "&amp;"];
    let (mut accepted, mut runs) = (0, 0);
    for _ in 0..3000 {
        let mut bytes = original.clone().into_bytes();
        let at = next() % bytes.len();
        match next() % 4 {
            0 => bytes[at] = b"0123456789abcXYZ<>&\" "[next() % 21],
            1 => {
                bytes.truncate(at);
            }
            2 => {
                let special = specials[next() % specials.len()];
                bytes.splice(at..at, special.bytes());
            }
            _ => {
                let end = (at + next() % 16).min(bytes.len());
                bytes.drain(at..end);
            }
        }
        let Ok(text) = String::from_utf8(bytes) else { continue };
        runs += 1;
        if let Ok(body) = check(&text) {
            accepted += 1;
            assert_eq!(body, signed_body, "a changed Body was accepted:\n{text}");
        }
    }
    assert!(runs > 2500 && accepted < runs / 2, "runs {runs}, accepted {accepted}");
}

// ---- Issue 20: what a request's Signature may make the verifier do ----------------------------

/// A server whose riga must sign, riga's client, and a good signed request of riga's.
async fn signing_riga() -> (TestServer, Client) {
    let server = TestServer::start_with(Options { consumers: Some(registry_requiring_signatures_from_riga()), ..Default::default() }).await;
    let riga = server.client("riga").await;
    (server, riga)
}

/// Refused as `SignatureInvalid` with the one fixed message, no data, audited so.
fn assert_signature_refused(server: &TestServer, name: &str, reply: &Reply) {
    assert_eq!(error_code(&reply.body).as_deref(), Some("SignatureInvalid"), "{name}: {}", reply.body);
    assert_fixed_message(reply);
    assert!(!reply.body.contains("Kalniņa"), "{name}: no data");
    assert_eq!(audited_outcome(server, &reply.call_id), "SignatureInvalid", "{name}");
}

/// The service still answers (a request that killed the process would fail this).
async fn assert_still_serving(riga: &mut Client) {
    let good = signed_request("riga", SoapVersion::V12, &ep116_payload("150342-10121"));
    let reply = riga.soap(EP116, &good).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// Our signer's first Transform is the Body Reference's; `replacement` takes its place.
fn with_body_transform(signed: &str, replacement: &str) -> String {
    let transform = format!(r#"<ds:Transform Algorithm="{}"></ds:Transform>"#, spolis_adapter::wssec::EXC_C14N);
    assert!(signed.contains(&transform));
    signed.replacen(&transform, replacement, 1)
}

/// Issue 20 (1): an XPath transform nested 50,000 deep overflowed a tokio worker's stack and
/// aborted the process, before the SignatureValue was looked at.
#[tokio::test]
async fn an_xpath_transform_deep_enough_to_overflow_the_stack_is_refused_unrun() {
    let (server, mut riga) = signing_riga().await;
    let good = signed_request("riga", SoapVersion::V12, &ep116_payload("150342-10121"));
    let xpath = |expression: &str| {
        format!(r#"<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><ds:XPath>{expression}</ds:XPath></ds:Transform>"#)
    };
    let deep = format!("{}1{}", "not(".repeat(50_000), ")".repeat(50_000));
    for (name, transform) in [("50,000 nested not()", xpath(&deep)), ("a small XPath", xpath("not(not(1))"))] {
        let reply = riga.soap(EP116, &with_body_transform(&good, &transform)).await;
        assert_signature_refused(&server, name, &reply);
    }
    assert_still_serving(&mut riga).await;
}

/// Issue 20 (2): a Reference URI without a scheme was read as a file from the working
/// directory (`dev/zero` grew memory by gigabytes); nothing but `#id` is resolved now.
#[tokio::test]
async fn reference_uris_other_than_same_document_ids_are_refused_unread() {
    let (server, mut riga) = signing_riga().await;
    let good = signed_request("riga", SoapVersion::V12, &ep116_payload("150342-10121"));
    let body_uri = {
        let at = good.find(r##"<ds:Reference URI="#Body-"##).unwrap() + r#"<ds:Reference URI=""#.len();
        let end = good[at..].find('"').unwrap() + at;
        good[at..end].to_string()
    };
    for uri in ["dev/zero", "/dev/zero", "file:///dev/zero", "Cargo.toml", "http://127.0.0.1:9/x", "", "#xpointer(/)", "#xpointer(id('x'))", "cid:part"] {
        let reply = riga.soap(EP116, &good.replacen(&format!("URI=\"{body_uri}\""), &format!("URI=\"{uri}\""), 1)).await;
        assert_signature_refused(&server, uri, &reply);
    }
    assert_still_serving(&mut riga).await;
}

/// Issue 20 (3): an XPath transform `0` on both References made both digests SHA-256 of
/// nothing, so the signature held after the person asked about and the Timestamp were
/// changed. Signed by xmlsec1, as an attacker holding the key of any consumer would.
#[tokio::test]
async fn digests_of_nothing_do_not_vouch_for_a_changed_body_or_timestamp() {
    let (server, mut riga) = signing_riga().await;
    let signed = xmlsec1_signed(&Template {
        transforms: format!(r#"<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><ds:XPath>0</ds:XPath></ds:Transform>{EXC_C14N_TRANSFORM}"#),
        ..Default::default()
    });
    let empty_digest = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    assert_eq!(signed.matches(empty_digest).count(), 2, "both digests are of nothing:\n{signed}");
    let created = texts(&signed, "u:Created")[0].clone();
    let changed = signed
        .replacen("<q:PersonCode>150342-10121", "<q:PersonCode>320417-28315", 1)
        .replacen(&created, &xsd_time(chrono::Utc::now() + chrono::Duration::seconds(1)), 1);
    for (name, request) in [("as signed", &signed), ("person and Timestamp changed", &changed)] {
        let reply = riga.soap(EP116, request).await;
        assert_signature_refused(&server, name, &reply);
    }
}

/// Issue 20 (4): ECDSA-SHA1 and SHA-1 digests were accepted; only SHA-2 is, for both.
#[tokio::test]
async fn sha1_signature_methods_and_digests_are_refused() {
    let (server, mut riga) = signing_riga().await;
    let sha1 = "http://www.w3.org/2000/09/xmldsig#sha1";
    let ecdsa_sha1 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1";
    for (name, method, digest) in [("ECDSA-SHA1, SHA-1", ecdsa_sha1, sha1), ("ECDSA-SHA1", ecdsa_sha1, SHA256), ("SHA-1 digests", ECDSA_SHA256, sha1)] {
        let signed = xmlsec1_signed(&Template { method, digest, ..Default::default() });
        let reply = riga.soap(EP116, &signed).await;
        assert_signature_refused(&server, name, &reply);
    }
    // The same request with SHA-2 passes: the refusals were about the algorithms.
    let reply = riga.soap(EP116, &xmlsec1_signed(&Template::default())).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// A request of riga's (signed by us) with 3,100 References to its Body, each with the right
/// digest, and a Body padded with ~3.1 MB of whitespace (which C14N keeps): the References
/// that made 7.5 s of digesting on an async worker before the SignatureValue was looked at.
fn three_thousand_references() -> String {
    let padded = operation("GetQueueStatusList", &format!("<PersonCode>150342-10121</PersonCode>{}", " ".repeat(3_100_000)));
    let good = signed_request("riga", SoapVersion::V12, &padded);
    let at = good.find(r##"<ds:Reference URI="#Body-"##).unwrap();
    let end = good[at..].find("</ds:Reference>").unwrap() + at + "</ds:Reference>".len();
    // Without Transforms (inclusive C14N, the same bytes here) to stay under the element limit.
    let reference = good[at..end].replace(&format!(r#"<ds:Transforms><ds:Transform Algorithm="{0}"></ds:Transform></ds:Transforms>"#, spolis_adapter::wssec::EXC_C14N), "");
    format!("{}{}{}", &good[..end], reference.repeat(3_100), &good[end..])
}

/// Issue 20 (5): 3,100 References to the Body in a 3.8 MB request cost 7.5 s of CPU on an
/// async worker and stalled /health. The profile refuses them uncounted, and signature work
/// runs on the bounded blocking pool: /health answers promptly while such requests arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_references_are_refused_without_stalling_others() {
    let (server, _) = signing_riga().await;
    let request = three_thousand_references();
    assert!(request.len() > 3_500_000 && request.len() < 4_000_000, "{}", request.len());
    let mut senders = Vec::new();
    for _ in 0..3 {
        let (request, mut client) = (request.clone(), server.client("riga").await);
        senders.push(tokio::spawn(async move { client.soap(EP116, &request).await }));
    }
    // Probe /health at least once, and on until every sender has its answer.
    let mut slowest = std::time::Duration::ZERO;
    loop {
        let started = std::time::Instant::now();
        let (status, _) = ops_get(server.ops_address, "/health").await;
        assert_eq!(status, 200);
        slowest = slowest.max(started.elapsed());
        if senders.iter().all(|sender| sender.is_finished()) {
            break;
        }
    }
    for sender in senders {
        let reply = sender.await.unwrap();
        assert_signature_refused(&server, "3,100 references", &reply);
    }
    // Generous for a loaded machine; digesting the references on a worker took minutes here.
    assert!(slowest < std::time::Duration::from_secs(5), "/health took {slowest:?} while signatures were refused");
}

/// Verification past its time budget (here 1 ms for a 3 MB request) is refused as
/// `SignatureCheckUnavailable`, without data, and audited.
#[tokio::test]
async fn a_signature_that_cannot_be_checked_in_time_is_refused_without_data() {
    let server = TestServer::start_with(Options {
        consumers: Some(registry_requiring_signatures_from_riga()),
        configure: Some(|config| config.security.signature_timeout_milliseconds = 1),
        ..Default::default()
    })
    .await;
    let padded = operation("GetQueueStatusList", &format!("<PersonCode>150342-10121</PersonCode>{}", " ".repeat(3_000_000)));
    let signed = signed_request("riga", SoapVersion::V12, &padded);
    let reply = server.client("riga").await.soap(EP116, &signed).await;
    assert_eq!(error_code(&reply.body).as_deref(), Some("SignatureCheckUnavailable"), "{}", &reply.body[..reply.body.len().min(2000)]);
    assert_eq!(reply.status, 500);
    assert!(!reply.body.contains("Kalniņa"));
    assert_eq!(audited_outcome(&server, &reply.call_id), "SignatureCheckUnavailable");
}

// ---- Issue 14: freshness and replays ---------------------------------------------------------

/// A request of riga's signed by us as at `at`.
fn signed_at(at: chrono::DateTime<chrono::Utc>) -> String {
    let dir = certs_dir();
    let signer = AnswerSigner::load(&dir.join("riga.crt"), &dir.join("riga.key"), chrono::Duration::minutes(5)).unwrap();
    signer.envelope(SoapVersion::V12, &ep116_payload("150342-10121"), uuid::Uuid::new_v4(), at).unwrap()
}

/// The `<wsu:Timestamp …>…</wsu:Timestamp>` of a request signed by us.
fn signed_timestamp(signed: &str) -> &str {
    let at = signed.find("<wsu:Timestamp").unwrap();
    &signed[at..signed.find("</wsu:Timestamp>").unwrap() + "</wsu:Timestamp>".len()]
}

/// Issue 14 (3): freshness read the first Security header while the signature check took a
/// Timestamp under any: a signed, expired Timestamp moved into a second Security header (the
/// first keeping the Signature) got data. Exactly one Security header may be addressed to us,
/// and its Timestamp is the one the signature must cover and the one judged.
#[tokio::test]
async fn a_signed_expired_timestamp_cannot_hide_in_another_security_header() {
    let (server, mut riga) = signing_riga().await;
    let expired = signed_at(chrono::Utc::now() - chrono::Duration::minutes(10));
    let reply = riga.soap(EP116, &expired).await;
    assert_eq!(error_code(&reply.body).as_deref(), Some("MessageExpired"), "as signed: {}", reply.body);

    let stamp = signed_timestamp(&expired);
    let security_open = format!(r#"<wsse:Security xmlns:wsse="{WSSE}" xmlns:wsu="{WSU_NS}">"#);
    let moved = |attributes: &str| {
        expired.replacen(stamp, "", 1).replacen(
            "</wsse:Security>",
            &format!(r#"</wsse:Security><wsse:Security {attributes}xmlns:wsse="{WSSE}" xmlns:wsu="{WSU_NS}">{stamp}</wsse:Security>"#),
            1,
        )
    };
    let now = chrono::Utc::now();
    let fresh = format!(
        r#"{security_open}<wsu:Timestamp><wsu:Created>{}</wsu:Created><wsu:Expires>{}</wsu:Expires></wsu:Timestamp></wsse:Security>"#,
        xsd_time(now),
        xsd_time(now + chrono::Duration::minutes(5))
    );
    let cases = [
        ("the signed Timestamp in a second header", moved(""), ErrorCode::InvalidSecurityHeader),
        ("the signed Timestamp in a header for another role", moved(&format!(r#"soap:role="urn:example:bus" "#)), ErrorCode::SignatureInvalid),
        ("a fresh unsigned header first", expired.replacen(&security_open, &format!("{fresh}{security_open}"), 1), ErrorCode::InvalidSecurityHeader),
        (
            "the signed header for another role, a fresh one for us",
            expired.replacen(&security_open, &format!(r#"{fresh}<wsse:Security soap:role="urn:example:bus" xmlns:wsse="{WSSE}" xmlns:wsu="{WSU_NS}">"#), 1),
            ErrorCode::SignatureInvalid,
        ),
    ];
    for (name, request, code) in cases {
        let reply = riga.soap(EP116, &request).await;
        assert_eq!(error_code(&reply.body).as_deref(), Some(code.name()), "{name}: {}", reply.body);
        assert!(!reply.body.contains("Kalniņa"), "{name}: no data");
        assert_eq!(audited_outcome(&server, &reply.call_id), code.name(), "{name}");
    }
}

/// `(r, n − s)` of a P-256 ECDSA signature `r ‖ s`: as valid, other bytes.
fn malleated(signature_value: &str) -> String {
    const N: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e,
        0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
    ];
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let mut bytes = engine.decode(signature_value).unwrap();
    assert_eq!(bytes.len(), 64);
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let difference = i16::from(N[i]) - i16::from(bytes[32 + i]) - borrow;
        borrow = i16::from(difference < 0);
        bytes[32 + i] = (difference + 256 * borrow) as u8;
    }
    engine.encode(bytes)
}

/// Issue 14: a signed request without a MessageID could be replayed at will. It is now
/// remembered by what its signature covers — not by its SignatureValue, which anyone can
/// re-randomise for ECDSA, nor by an unsigned MessageID anyone can change.
#[tokio::test]
async fn a_signed_request_is_answered_once_with_or_without_a_message_id() {
    let (server, mut riga) = signing_riga().await;
    let good = signed_request("riga", SoapVersion::V12, &ep116_payload("150342-10121"));
    assert_eq!(riga.soap(EP116, &good).await.status, 200);
    let signature_value = texts(&good, "ds:SignatureValue")[0].clone();
    let with_id = |request: &str| {
        let id = format!(r#"<wsa:MessageID xmlns:wsa="{WSA}">urn:uuid:{}</wsa:MessageID>"#, uuid::Uuid::new_v4());
        request.replacen("<soap:Header>", &format!("<soap:Header>{id}"), 1)
    };
    let cases = [
        ("again", good.clone()),
        ("with a new unsigned MessageID", with_id(&good)),
        ("with a re-randomised ECDSA signature", good.replacen(&signature_value, &malleated(&signature_value), 1)),
    ];
    for (name, request) in cases {
        let reply = riga.soap(EP116, &request).await;
        assert_eq!(error_code(&reply.body).as_deref(), Some("MessageReplayed"), "{name}: {}", reply.body);
        assert!(!reply.body.contains("Kalniņa"), "{name}: no data");
        assert_eq!(audited_outcome(&server, &reply.call_id), "MessageReplayed", "{name}");
    }
    // A newly signed request is new.
    assert_eq!(riga.soap(EP116, &with_id(&signed_request("riga", SoapVersion::V12, &ep116_payload("150342-10121")))).await.status, 200);
}

/// Issue 14: `Created` of 2020 without `Expires` was accepted. `Created` now bounds the age
/// (5 min + skew by default), `Expires − Created` is bounded (15 min), and a signed
/// request must say when it expires.
#[tokio::test]
async fn timestamps_are_bounded_in_age_and_validity() {
    let (server, mut riga) = signing_riga().await;
    let mut talsi = server.client("talsi").await;
    let now = chrono::Utc::now();
    let minutes = chrono::Duration::minutes;
    let created_only = |created: chrono::DateTime<chrono::Utc>| format!(r#"<u:Timestamp><u:Created>{}</u:Created></u:Timestamp>"#, xsd_time(created));
    let unsigned = [
        ("created in 2020, no Expires", created_only("2020-01-01T00:00:00Z".parse().unwrap()), Some(ErrorCode::MessageExpired)),
        ("created 10 min ago, no Expires", created_only(now - minutes(10)), Some(ErrorCode::MessageExpired)),
        ("created 10 min ago, Expires ahead", timestamp(now - minutes(10), now + minutes(4)), Some(ErrorCode::MessageExpired)),
        ("valid for an hour", timestamp(now, now + minutes(60)), Some(ErrorCode::InvalidTimestamp)),
        ("created now, no Expires", created_only(now), None),
        ("valid for 15 min", timestamp(now, now + minutes(15)), None),
    ];
    // talsi need not sign: its Timestamps are judged unsigned.
    for (name, security, refusal) in unsigned {
        let reply = talsi.soap(EP116, &with_security_header(&security, None)).await;
        match refusal {
            Some(code) => {
                assert_eq!(error_code(&reply.body).as_deref(), Some(code.name()), "{name}: {}", reply.body);
                assert_eq!(audited_outcome(&server, &reply.call_id), code.name(), "{name}");
            }
            None => assert_eq!(reply.status, 200, "{name}: {}", reply.body),
        }
    }
    let signed = [
        ("signed without Expires", Template { expires: None, ..Default::default() }, ErrorCode::InvalidTimestamp),
        ("signed 10 min ago, Expires ahead", Template { created: now - minutes(10), expires: Some(now + minutes(4)), ..Default::default() }, ErrorCode::MessageExpired),
        ("signed valid for an hour", Template { expires: Some(now + minutes(60)), ..Default::default() }, ErrorCode::InvalidTimestamp),
    ];
    for (name, template, code) in signed {
        let reply = riga.soap(EP116, &xmlsec1_signed(&template)).await;
        assert_eq!(error_code(&reply.body).as_deref(), Some(code.name()), "{name}: {}", reply.body);
        assert_eq!(audited_outcome(&server, &reply.call_id), code.name(), "{name}");
    }
}

/// Issue 14 (7): the same UUID upper-cased, as `urn:uuid:`, in braces or without hyphens was
/// answered again. Replay keys are canonical now; an empty or repeated WS-Addressing
/// MessageID is refused as `InvalidMessageId`, not taken as a key.
#[tokio::test]
async fn a_message_id_is_one_key_however_its_uuid_is_written() {
    let server = TestServer::start().await;
    let mut riga = server.client("riga").await;
    let now = chrono::Utc::now();
    let stamp = timestamp(now, now + chrono::Duration::minutes(5));
    let id = uuid::Uuid::new_v4();
    let first = riga.soap(EP116, &with_security_header(&stamp, Some(&id.to_string()))).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let hyphenated = id.hyphenated().to_string();
    for form in [
        hyphenated.to_uppercase(),
        format!("urn:uuid:{hyphenated}"),
        format!("URN:UUID:{}", hyphenated.to_uppercase()),
        format!("{{{hyphenated}}}"),
        id.simple().to_string(),
        format!(" {hyphenated}\n"),
    ] {
        let reply = riga.soap(EP116, &with_security_header(&stamp, Some(&form))).await;
        assert_eq!(error_code(&reply.body).as_deref(), Some("MessageReplayed"), "{form}: {}", reply.body);
        assert!(!reply.body.contains("Kalniņa"), "{form}");
    }
    // The IVIS MessageID likewise.
    let sample_id = "6f1c2a7e-3b8d-4e21-9a5f-0c4d2e8b7a23";
    let ivis_id = uuid::Uuid::new_v4().hyphenated().to_string();
    let ivis = sample("ep116-soap11-ivis.xml").replace(sample_id, &ivis_id);
    assert_eq!(texts(&riga.soap(EP116, &ivis).await.body, "Result"), ["success"]);
    let again = riga.soap(EP116, &ivis.replace(&ivis_id, &format!("urn:uuid:{}", ivis_id.to_uppercase()))).await;
    assert_eq!(error_code(&again.body).as_deref(), Some("MessageReplayed"), "{}", again.body);

    let fresh = uuid::Uuid::new_v4().to_string();
    let two_ids = with_security_header(&stamp, Some(&fresh)).replacen(
        "<o:Security",
        &format!(r#"<a:MessageID xmlns:a="{WSA}">{}</a:MessageID><o:Security"#, uuid::Uuid::new_v4()),
        1,
    );
    for (name, request) in [("empty", with_security_header(&stamp, Some(""))), ("blank", with_security_header(&stamp, Some(" \t "))), ("two", two_ids)] {
        let reply = riga.soap(EP116, &request).await;
        assert_eq!(error_code(&reply.body).as_deref(), Some("InvalidMessageId"), "{name}: {}", reply.body);
        assert_eq!(audited_outcome(&server, &reply.call_id), "InvalidMessageId", "{name}");
    }
    // An id that is not a UUID is compared as sent.
    for (id, status) in [("MSG-0001", 200), ("msg-0001", 200)] {
        assert_eq!(riga.soap(EP116, &with_security_header(&stamp, Some(id))).await.status, status, "{id}");
    }
}
