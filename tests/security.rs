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

/// A Python that can import signxml: `SPOLIS_TEST_PYTHON`, `.venv`, or `.venv-sec`.
fn signxml_python() -> PathBuf {
    let candidates = std::env::var("SPOLIS_TEST_PYTHON")
        .ok()
        .map(PathBuf::from)
        .into_iter()
        .chain([repo_path(".venv/bin/python"), repo_path(".venv-sec/bin/python")]);
    for python in candidates {
        let imports = Command::new(&python).args(["-c", "import signxml"]).output();
        if imports.is_ok_and(|output| output.status.success()) {
            return python;
        }
    }
    panic!("signxml is required for this test: .venv/bin/pip install signxml==5.2.0 (or set SPOLIS_TEST_PYTHON)");
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
    connection
        .query_row("SELECT outcome FROM audit_records WHERE record_id = ?1", [call_id], |row| row.get(0))
        .unwrap_or_else(|e| panic!("no audit record for {call_id}: {e}"))
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
