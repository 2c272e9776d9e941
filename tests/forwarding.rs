//! Who is calling when the bus forwards: the TLS peer is then VISS, and the institution that
//! asks is the IVIS `Sender`. A consumer registered as an intermediary (`forwards_for`) gets
//! its IVIS calls judged as the Sender's consumer's — services, environment, quotas — and
//! the audit names both; every other consumer may only name itself as the Sender.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value;

const CLI: &str = env!("CARGO_BIN_EXE_spolis-adapter");
const RIGA_SENDER: &str = "<ivis:NameIdentifier>AU:90011524360</ivis:NameIdentifier>";

/// An IVIS sample with a fresh MessageID (so that no call is refused as a replay) and the
/// given `Sender` content (`None`: no Sender element at all).
fn ivis_request(sample_name: &str, sender: Option<&str>) -> String {
    let text = sample(sample_name);
    let start = text.find("<ivis:MessageID>").expect("MessageID") + "<ivis:MessageID>".len();
    let end = text[start..].find('<').expect("end") + start;
    let text = format!("{}{}{}", &text[..start], uuid::Uuid::new_v4(), &text[end..]);
    let sender_start = text.find("<ivis:Sender>").expect("Sender");
    let sender_end = text.find("</ivis:Sender>").expect("Sender end") + "</ivis:Sender>".len();
    let replacement = sender.map_or(String::new(), |content| format!("<ivis:Sender>{content}</ivis:Sender>"));
    format!("{}{replacement}{}", &text[..sender_start], &text[sender_end..])
}

/// The audit records of a test server, as `audit export --format json` writes them.
fn audit_records(audit_dir: &Path) -> Vec<Value> {
    let output = Command::new(CLI)
        .args(["audit", "export", "--data-dir", audit_dir.to_str().unwrap(), "--format", "json"])
        .output()
        .expect("spolis-adapter runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).lines().map(|line| serde_json::from_str(line).expect("JSON")).collect()
}

fn record<'a>(records: &'a [Value], call_id: &str) -> &'a Value {
    records.iter().find(|r| r["record_id"] == call_id).unwrap_or_else(|| panic!("no audit record {call_id}"))
}

#[tokio::test]
async fn the_bus_is_answered_as_the_sender_and_audited_with_both() {
    let server = TestServer::start().await;
    let mut bus = server.client("bus").await;

    let forwarded = bus.soap("/GetApplicationList", &ivis_request("ep115-soap11-ivis.xml", Some(RIGA_SENDER))).await;
    assert_eq!(forwarded.status, 200, "{}", forwarded.body);
    assert_eq!(error_code(&forwarded.body), None, "{}", forwarded.body);
    assert_eq!(texts(&forwarded.body, "Result"), ["success"]);

    // An employee of riga, as the bus fills it from a person's token: the institution counts.
    let employee = "<ivis:Employee><ivis:AuthorityID>90011524360</ivis:AuthorityID><ivis:PersonCode>120379-10015</ivis:PersonCode></ivis:Employee>";
    let as_employee = bus.soap("/GetQueueStatusList", &ivis_request("ep116-soap11-ivis.xml", Some(employee))).await;
    assert_eq!(error_code(&as_employee.body), None, "{}", as_employee.body);

    // Talsi's rights apply to Talsi's forwarded calls: EP116 only.
    let talsi = "<ivis:NameIdentifier>AU:90009113532</ivis:NameIdentifier>";
    let not_allowed = bus.soap("/GetApplicationList", &ivis_request("ep115-soap12-ivis.xml", Some(talsi))).await;
    assert_eq!(error_code(&not_allowed.body).as_deref(), Some("ServiceNotAllowed"), "{}", not_allowed.body);

    let records = audit_records(&server.audit_dir);
    let ok = record(&records, &forwarded.call_id);
    assert_eq!(ok["outcome"], "ok");
    assert_eq!(ok["consumer_id"], "90011524360");
    assert_eq!(ok["ivis_sender"], "AU:90011524360 (forwarded by VISS-example)");
    let bus_fingerprint = spolis_adapter::identity::CertificateIdentity::from_der(
        spolis_adapter::tls::read_certificates(&certs_dir().join("bus.crt")).unwrap()[0].as_ref(),
    )
    .unwrap()
    .sha256_fingerprint;
    assert_eq!(ok["certificate_sha256"], bus_fingerprint.as_str(), "the TLS peer is the bus");
    let refused = record(&records, &not_allowed.call_id);
    assert_eq!(refused["consumer_id"], "90009113532");
    assert_eq!(refused["outcome"], "ServiceNotAllowed");
}

#[tokio::test]
async fn the_bus_must_name_a_sender_it_forwards_for() {
    let server = TestServer::start().await;
    let mut bus = server.client("bus").await;
    let cases = [
        ("no Sender", None),
        ("an institution nobody registered", Some("<ivis:NameIdentifier>AU:40003000000</ivis:NameIdentifier>")),
        ("a resident, not an institution", Some("<ivis:NameIdentifier>PK:15034210121</ivis:NameIdentifier>")),
        ("the bus itself", Some("<ivis:NameIdentifier>AU:VISS-example</ivis:NameIdentifier>")),
    ];
    for (case, sender) in cases {
        let reply = bus.soap("/GetQueueStatusList", &ivis_request("ep116-soap12-ivis.xml", sender)).await;
        assert_eq!(error_code(&reply.body).as_deref(), Some("SenderIncorrect"), "{case}: {}", reply.body);
        assert!(!reply.body.contains("<QueueEvent"), "{case}: no data");
    }
    // The bus calls nothing for itself: a plain call is its own, and it is granted no service.
    let plain = bus.soap("/GetQueueStatusList", &sample("ep116-soap11-plain.xml")).await;
    assert_eq!(error_code(&plain.body).as_deref(), Some("ServiceNotAllowed"), "{}", plain.body);
}

#[tokio::test]
async fn a_consumer_that_is_no_intermediary_may_only_name_itself_as_the_sender() {
    let server = TestServer::start().await;
    // The review's finding: Talsi sent Riga's id and was answered, with Riga recorded.
    let mut talsi = server.client("talsi").await;
    let posing = talsi.soap("/GetQueueStatusList", &ivis_request("ep116-soap11-ivis.xml", Some(RIGA_SENDER))).await;
    assert_eq!(error_code(&posing.body).as_deref(), Some("SenderIncorrect"), "{}", posing.body);
    assert!(!posing.body.contains("<QueueEvent"));
    let own = "<ivis:NameIdentifier>AU:90009113532</ivis:NameIdentifier>";
    let honest = talsi.soap("/GetQueueStatusList", &ivis_request("ep116-soap11-ivis.xml", Some(own))).await;
    assert_eq!(error_code(&honest.body), None, "{}", honest.body);
    // No Sender at all is fine for a direct caller: the certificate says who it is.
    let anonymous = talsi.soap("/GetQueueStatusList", &ivis_request("ep116-soap11-ivis.xml", None)).await;
    assert_eq!(error_code(&anonymous.body), None, "{}", anonymous.body);

    let records = audit_records(&server.audit_dir);
    let refused = record(&records, &posing.call_id);
    assert_eq!(refused["consumer_id"], "90009113532", "recorded as the certificate's consumer, not as riga");
    assert_eq!(refused["outcome"], "SenderIncorrect");
}

#[tokio::test]
async fn a_multibyte_character_inside_a_date_is_refused_and_audited_not_a_panic() {
    let server = TestServer::start().await;
    let mut riga = server.client("riga").await;
    let request = sample("ep115-soap11-plain.xml")
        .replace("<spolis:Purpose>", "<spolis:Period><spolis:From>2024-01-0ā</spolis:From></spolis:Period><spolis:Purpose>");
    let reply = riga.soap("/GetApplicationList", &request).await;
    assert_eq!(error_code(&reply.body).as_deref(), Some("BodyWrongFormat"), "{}", reply.body);
    // The same connection still serves: the call did not kill it.
    let next = riga.soap("/GetApplicationList", &sample("ep115-soap11-plain.xml")).await;
    assert_eq!(error_code(&next.body), None);
    let records = audit_records(&server.audit_dir);
    assert_eq!(record(&records, &reply.call_id)["outcome"], "BodyWrongFormat");
}
