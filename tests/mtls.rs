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

/// The demo, the README's examples and the WSDL client suites use the committed example
/// certificates (the suites here make their own, see `certs_dir`): they must not stop working
/// on the day those expire. This fails five years ahead, with the command that renews them.
#[test]
fn no_example_certificate_expires_within_five_years() {
    let five_years = x509_parser::time::ASN1Time::from_timestamp(chrono::Utc::now().timestamp() + 5 * 366 * 24 * 3600).unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir(repo_path("certs-example")).unwrap() {
        let path = entry.unwrap().path();
        // expired.crt is expired on purpose.
        if path.extension().is_none_or(|e| e != "crt") || path.file_name().is_some_and(|n| n == "expired.crt") {
            continue;
        }
        for der in spolis_adapter::tls::read_certificates(&path).unwrap() {
            let (_, certificate) = x509_parser::parse_x509_certificate(der.as_ref()).unwrap();
            let not_after = certificate.validity().not_after;
            assert!(
                not_after > five_years,
                "{} expires on {not_after}: regenerate the example set (`cargo run -- gen-certs --out certs-example`)",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} example certificates found");
}

/// A client that speaks TLS 1.2 only, presenting `<identity>.crt` of the example PKI (`certs_dir`) (or nothing).
fn tls12_only(identity: Option<&str>) -> std::sync::Arc<rustls::ClientConfig> {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for ca in spolis_adapter::tls::read_certificates(&certs_dir().join("ca.crt")).unwrap() {
        roots.add(ca).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match identity {
        Some(name) => builder
            .with_client_auth_cert(
                spolis_adapter::tls::read_certificates(&certs_dir().join(format!("{name}.crt"))).unwrap(),
                spolis_adapter::tls::read_private_key(&certs_dir().join(format!("{name}.key"))).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    std::sync::Arc::new(config)
}

#[tokio::test]
async fn the_tls_1_2_path_serves_registered_clients_and_refuses_the_others_in_the_handshake() {
    let server = TestServer::start().await;
    let mut riga = server.connect_with(tls12_only(Some("riga")), Protocol::Http1).await.expect("a TLS 1.2 handshake");
    let reply = riga.soap("/GetQueueStatusList", &sample("ep116-soap11-plain.xml")).await;
    assert_eq!(error_code(&reply.body), None, "{}", reply.body);
    // In TLS 1.2 the server judges the certificate before the handshake ends: the client
    // learns of the refusal in the handshake itself.
    for (identity, alert) in [
        (Some("expired"), AlertDescription::CertificateExpired),
        (Some("rogue"), AlertDescription::UnknownCA),
        (Some("revoked"), AlertDescription::CertificateRevoked),
        (None, AlertDescription::CertificateRequired),
    ] {
        let error = match server.connect_with(tls12_only(identity), Protocol::Http1).await {
            Err(error) => error,
            Ok(_) => panic!("{identity:?} was let in over TLS 1.2"),
        };
        assert_eq!(tls_alert(&error), Some(alert), "{identity:?}: {error:?}");
    }
}

#[tokio::test]
async fn a_request_with_a_doctype_is_refused_over_mutual_tls_without_reading_its_entities() {
    let server = TestServer::start().await;
    let mut riga = server.client("riga").await;
    let xxe = sample("ep115-soap11-plain.xml").replacen(
        "<soapenv:Envelope",
        "<!DOCTYPE soapenv:Envelope [<!ENTITY secret SYSTEM \"file:///etc/passwd\">]>\n<soapenv:Envelope",
        1,
    );
    let xxe = xxe.replace("<spolis:FirstName>Anna</spolis:FirstName>", "<spolis:FirstName>&secret;</spolis:FirstName>");
    let reply = riga.soap("/GetApplicationList", &xxe).await;
    assert_eq!(error_code(&reply.body).as_deref(), Some("MalformedXml"), "{}", reply.body);
    assert!(reply.body.contains("DTD"), "the message says why: {}", reply.body);
    assert!(!reply.body.contains("root:") && !reply.body.contains("Kalniņa"), "{}", reply.body);
}
