//! Who may connect: a certificate chaining to the configured CA, meant for client
//! authentication, is mandatory; no certificate, an expired one, one from another CA or one
//! whose key usage forbids it fails the TLS handshake itself, with the alert that says why.
//! Registered consumers are served over HTTP/1.1 keep-alive and over HTTP/2 chosen by ALPN.

mod common;

use common::*;
use rcgen::{ExtendedKeyUsagePurpose, KeyUsagePurpose};
use rustls::AlertDescription;

/// The TLS alert that refused a connection with `identity`, `None` if it was served.
async fn refusal(server: &TestServer, identity: Option<&str>, protocol: Protocol) -> Option<AlertDescription> {
    let mut client = match server.connect(identity, protocol).await {
        Err(error) => return Some(tls_alert(&error).unwrap_or_else(|| panic!("refused without an alert: {error:?}"))),
        Ok(client) => client,
    };
    // With TLS 1.3 the client finishes its side before the server has judged the
    // certificate: the refusal arrives as an alert on the first read.
    let request = hyper::Request::get("/GetApplicationList?wsdl").header("host", "localhost").body(Default::default()).unwrap();
    match client.send(request).await {
        Ok(_) => None,
        Err(error) => Some(tls_alert(&error).unwrap_or_else(|| panic!("refused without an alert: {error:?}"))),
    }
}

#[tokio::test]
async fn a_connection_without_a_client_certificate_is_refused_in_the_handshake() {
    let server = TestServer::start().await;
    assert_eq!(refusal(&server, None, Protocol::Http1).await, Some(AlertDescription::CertificateRequired));
    assert_eq!(refusal(&server, None, Protocol::Http2).await, Some(AlertDescription::CertificateRequired));
}

#[tokio::test]
async fn an_expired_certificate_is_refused_in_the_handshake() {
    let server = TestServer::start().await;
    assert_eq!(refusal(&server, Some("expired"), Protocol::Http1).await, Some(AlertDescription::CertificateExpired));
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused_in_the_handshake() {
    let server = TestServer::start().await;
    assert_eq!(refusal(&server, Some("rogue"), Protocol::Http1).await, Some(AlertDescription::UnknownCA));
}

#[tokio::test]
async fn a_revoked_certificate_is_refused_in_the_handshake() {
    let server = TestServer::start().await;
    assert_eq!(refusal(&server, Some("revoked"), Protocol::Http1).await, Some(AlertDescription::CertificateRevoked));
}

/// A certificate of the example CA with the given usages, made here.
fn with_usages(key_usages: Vec<KeyUsagePurpose>, extended: Vec<ExtendedKeyUsagePurpose>) -> std::sync::Arc<rustls::ClientConfig> {
    let (certificate, key) = spolis_adapter::tools::example_pki::example_client_with_usages(&certs_dir(), key_usages, extended).unwrap();
    let chain = rustls_pemfile::certs(&mut certificate.as_bytes()).collect::<Result<Vec<_>, _>>().unwrap();
    let key = rustls_pemfile::private_key(&mut key.as_bytes()).unwrap().unwrap();
    client_tls_config_with(Some((chain, key)), Protocol::Http1)
}

#[tokio::test]
async fn a_certificate_whose_key_usage_forbids_signing_is_refused_in_the_handshake() {
    let server = TestServer::start().await;
    let client_auth = || vec![ExtendedKeyUsagePurpose::ClientAuth];
    // keyUsage present without digitalSignature: the key may not sign the handshake.
    let key_encipherment = with_usages(vec![KeyUsagePurpose::KeyEncipherment, KeyUsagePurpose::KeyAgreement], client_auth());
    assert_eq!(outcome(&server, key_encipherment).await, Err(Some(AlertDescription::UnsupportedCertificate)));
    let line = r#"spolis_tls_handshake_failures_total{reason="invalid_purpose"} 1"#;
    // Counted after the alert the client has seen was sent.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !ops_get(server.ops_address, "/metrics").await.1.contains(line) {
        assert!(std::time::Instant::now() < deadline, "{line} not in /metrics");
        tokio::task::yield_now().await;
    }
    // The same with digitalSignature, or with no keyUsage at all, is served.
    assert_eq!(outcome(&server, with_usages(vec![KeyUsagePurpose::DigitalSignature], client_auth())).await, Ok(200));
    assert_eq!(outcome(&server, with_usages(vec![], client_auth())).await, Ok(200));
}

#[tokio::test]
async fn a_certificate_for_server_authentication_only_is_refused_in_the_handshake() {
    let server = TestServer::start().await;
    let server_auth = with_usages(vec![KeyUsagePurpose::DigitalSignature], vec![ExtendedKeyUsagePurpose::ServerAuth]);
    assert_eq!(outcome(&server, server_auth).await, Err(Some(AlertDescription::UnsupportedCertificate)));
}

#[tokio::test]
async fn registered_certificates_connect() {
    let server = TestServer::start().await;
    for identity in ["riga", "talsi", "unregistered"] {
        assert_eq!(refusal(&server, Some(identity), Protocol::Http1).await, None, "{identity}");
    }
}

#[tokio::test]
async fn keep_alive_serves_many_calls_on_one_connection() {
    let server = TestServer::start().await;
    let mut client = server.client("riga").await;
    for _ in 0..5 {
        let reply = client.soap("/GetQueueStatusList", &sample("ep116-soap11-plain.xml")).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.version, hyper::Version::HTTP_11);
    }
}

#[tokio::test]
async fn http2_is_negotiated_by_alpn() {
    let server = TestServer::start().await;
    let mut client = server.connect(Some("riga"), Protocol::Http2).await.expect("h2 connection");
    let reply = client.soap("/GetApplicationList", &sample("ep115-soap12-plain.xml")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.version, hyper::Version::HTTP_2);
    assert!(reply.body.contains("GetApplicationListResponse"));
}

#[tokio::test]
async fn talsi_may_call_ep116_but_not_ep115() {
    let server = TestServer::start().await;
    let mut client = server.client("talsi").await;
    // Talsi names itself as the IVIS Sender: the samples name riga.
    let allowed = client.soap("/GetQueueStatusList", &sample("ep116-soap11-ivis.xml").replace("AU:90011524360", "AU:90009113532")).await;
    assert_eq!(texts(&allowed.body, "Result"), ["success"], "{}", allowed.body);
    let refused = client.soap("/GetApplicationList", &sample("ep115-soap11-ivis.xml").replace("AU:90011524360", "AU:90009113532")).await;
    assert_eq!(error_code(&refused.body).as_deref(), Some("ServiceNotAllowed"), "{}", refused.body);
    assert!(!refused.body.contains("Kalniņa"));
}
