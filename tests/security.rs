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
    let connection = rusqlite::Connection::open(server.audit_path()).unwrap();
    let mut statement = connection.prepare("SELECT encoded FROM audit_records").unwrap();
    let mut records = statement
        .query_map([], |row| spolis_adapter::audit::sqlite::record_from_encoded(row, 0))
        .unwrap()
        .map(Result::unwrap);
    records
        .find(|record| record.record_id.to_string() == call_id)
        .unwrap_or_else(|| panic!("no audit record for {call_id}"))
        .outcome
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
    let other = server.client("talsi").await.soap(EP116, &sample("ep116-soap11-ivis.xml")).await;
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
    let riga_services = "services = [\"EP115\", \"EP116\"]\n";
    assert!(registry.contains(riga_services));
    registry.replacen(riga_services, &format!("{riga_services}require_signed_requests = true\n"), 1)
}

/// A request signed the WS-Security way (Timestamp + Body, exclusive C14N) with
/// `certs-example/<identity>.key`.
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
    let riga_services = "services = [\"EP115\", \"EP116\"]\n";
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
        ..Default::default()
    })
    .await;
    let mut riga = server.client("riga").await;
    let ask = |operator: &str| {
        envelope(
            "1.1",
            &format!(
                r#"<GetQueueStatusList xmlns="{SPOLIS}"><PersonCode>150342-10121</PersonCode><Operator><FirstName>A</FirstName><Surname>B</Surname><PersonCode>{operator}</PersonCode></Operator></GetQueueStatusList>"#
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
        verify::verify_request(text, &riga).map_err(|e| e.to_string())?;
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
