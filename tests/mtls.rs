//! Who may connect: a certificate chaining to the configured CA is mandatory; no certificate,
//! an expired one, or one from another CA fails the TLS handshake itself. Registered
//! consumers are served over HTTP/1.1 keep-alive and over HTTP/2 chosen by ALPN.

mod common;

use common::*;

/// Whether a connection with `identity` can get any HTTP answer at all.
async fn is_refused(server: &TestServer, identity: Option<&str>, protocol: Protocol) -> bool {
    match server.connect(identity, protocol).await {
        Err(_) => true,
        // With TLS 1.3 the client finishes its side before the server has judged the
        // certificate: the refusal arrives as an alert on the first read.
        Ok(mut client) => {
            let request = hyper::Request::get("/GetApplicationList?wsdl")
                .header("host", "localhost")
                .body(Default::default())
                .unwrap();
            client.send(request).await.is_err()
        }
    }
}

#[tokio::test]
async fn a_connection_without_a_client_certificate_is_refused_in_the_handshake() {
    let server = TestServer::start().await;
    assert!(is_refused(&server, None, Protocol::Http1).await);
    assert!(is_refused(&server, None, Protocol::Http2).await);
}

#[tokio::test]
async fn an_expired_certificate_is_refused_in_the_handshake() {
    let server = TestServer::start().await;
    assert!(is_refused(&server, Some("expired"), Protocol::Http1).await);
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused_in_the_handshake() {
    let server = TestServer::start().await;
    assert!(is_refused(&server, Some("rogue"), Protocol::Http1).await);
}

#[tokio::test]
async fn registered_certificates_connect() {
    let server = TestServer::start().await;
    for identity in ["riga", "talsi", "unregistered"] {
        assert!(!is_refused(&server, Some(identity), Protocol::Http1).await, "{identity}");
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
    let allowed = client.soap("/GetQueueStatusList", &sample("ep116-soap11-ivis.xml")).await;
    assert_eq!(texts(&allowed.body, "Result"), ["success"], "{}", allowed.body);
    let refused = client.soap("/GetApplicationList", &sample("ep115-soap11-ivis.xml")).await;
    assert_eq!(error_code(&refused.body).as_deref(), Some("ServiceNotAllowed"), "{}", refused.body);
    assert!(!refused.body.contains("Kalniņa"));
}
