//! Revocation: the demo configuration checks client certificates against the example CA's
//! CRL, so `revoked.crt` — valid, chaining to the CA, even registered — fails the TLS
//! handshake; CRL files are re-read when they change, and a broken new file leaves the CRLs
//! in force.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use spolis_adapter::certs::example_crl;

/// The example registry plus `revoked.crt`, registered by fingerprint, so that only
/// revocation can keep it out.
fn registry_with_revoked() -> String {
    let registry = std::fs::read_to_string(certs_dir().join("consumers.toml")).unwrap();
    let fingerprint = spolis_adapter::identity::CertificateIdentity::from_der(
        spolis_adapter::tls::read_certificates(&certs_dir().join("revoked.crt")).unwrap()[0].as_ref(),
    )
    .unwrap()
    .sha256_fingerprint;
    format!(
        "{registry}\n[[consumer]]\nid = \"90000000001\"\nname = \"Revoked example\"\nenvironment = \"test\"\nservices = [\"EP116\"]\n[[consumer.certificate]]\nsha256 = \"{fingerprint}\"\n"
    )
}

/// Whether `identity` gets an answer to an EP116 call.
async fn answered(server: &TestServer, identity: &str) -> bool {
    let Ok(mut client) = server.connect(Some(identity), Protocol::Http1).await else { return false };
    let request = hyper::Request::post("/GetQueueStatusList")
        .header("host", "localhost")
        .header("content-type", "text/xml; charset=utf-8")
        .body(http_body_util::Full::new(bytes::Bytes::from(sample("ep116-soap11-plain.xml"))))
        .unwrap();
    client.send(request).await.is_ok_and(|reply| reply.status == 200)
}

#[tokio::test]
async fn a_revoked_certificate_fails_the_handshake_with_the_demo_crl() {
    let server = TestServer::start_with(Options { consumers: Some(registry_with_revoked()), ..Default::default() }).await;
    assert_eq!(server.config.tls.crls, vec![certs_dir().join("ca.crl")], "the demo configuration uses the example CRL");
    assert!(!answered(&server, "revoked").await, "a revoked certificate got through");
    assert!(answered(&server, "riga").await);
    assert!(answered(&server, "talsi").await);
    // Counted by reason on the operations listener.
    let (_, metrics) = ops_get(server.ops_address, "/metrics").await;
    assert!(metrics.contains(r#"spolis_tls_handshake_failures_total{reason="revoked"} 1"#), "{metrics}");
}

#[tokio::test]
async fn changed_crls_are_re_read_and_a_broken_one_leaves_the_old_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let crl: PathBuf = dir.path().join("ca.crl");
    std::fs::write(&crl, example_crl(&certs_dir(), &[], 1).unwrap()).unwrap();
    let crl_for_config = crl.clone();
    // `configure` is a plain fn: hand the path over through the environment of this test.
    std::env::set_var("SPOLIS_TEST_CRL", &crl_for_config);
    let server = TestServer::start_with(Options {
        consumers: Some(registry_with_revoked()),
        configure: Some(|config| config.tls.crls = vec![PathBuf::from(std::env::var("SPOLIS_TEST_CRL").unwrap())]),
        ..Default::default()
    })
    .await;
    assert!(answered(&server, "revoked").await, "not revoked yet");

    // The CA revokes it: the next handshake after the file changed (checked once a second) fails.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    std::fs::write(&crl, example_crl(&certs_dir(), &[&certs_dir().join("revoked.crt")], 2).unwrap()).unwrap();
    answered(&server, "riga").await; // the handshake that notices the change
    assert!(!answered(&server, "revoked").await, "the new CRL was not read");
    assert!(answered(&server, "riga").await);

    // A broken file: logged, the revocation stays in force, good clients still connect.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    std::fs::write(&crl, "-----BEGIN X509 CRL-----\nbroken\n-----END X509 CRL-----\n").unwrap();
    answered(&server, "riga").await;
    assert!(!answered(&server, "revoked").await, "a broken CRL file lifted the revocation");
    assert!(answered(&server, "riga").await);
}
