//! Slow and stalled clients at the connection level: a slowloris dribbling header bytes, and a
//! TCP connection that never starts its TLS handshake, are cut off by the header and handshake
//! timeouts, and while they hang on, other clients are served.

mod common;

use std::time::{Duration, Instant};

use common::*;
use spolis_adapter::config::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn slowloris_connections_are_cut_off_and_do_not_starve_others() {
    let limits = Limits { header_timeout_seconds: 1, handshake_timeout_seconds: 1, max_connections: 16, ..Default::default() };
    let server = TestServer::start_with(Options { limits: Some(limits), ..Default::default() }).await;

    let mut watchers = Vec::new();
    for _ in 0..8 {
        let stream = server.tls_stream("riga").await;
        let (mut reader, mut writer) = tokio::io::split(stream);
        let started = Instant::now();
        // Dribble one header byte every 100 ms: each byte arrives well within any per-read
        // timeout, so only a deadline on the whole header ends this.
        tokio::spawn(async move {
            let header = b"POST /GetQueueStatusList HTTP/1.1\r\nHost: localhost\r\nX-Slow: ".iter().chain(std::iter::repeat(&b'a'));
            for byte in header {
                if writer.write_all(&[*byte]).await.is_err() || writer.flush().await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        watchers.push(tokio::spawn(async move {
            let mut answer = Vec::new();
            let closed = tokio::time::timeout(Duration::from_secs(8), reader.read_to_end(&mut answer)).await;
            (closed.is_ok(), started.elapsed(), String::from_utf8_lossy(&answer).into_owned())
        }));
    }
    // Stalled before TLS: a TCP connection that never says anything.
    let mut silent = TcpStream::connect(server.address).await.unwrap();

    // Meanwhile a well-behaved client is answered promptly.
    let started = Instant::now();
    let reply = server.client("riga").await.soap("/GetQueueStatusList", &sample("ep116-soap11-plain.xml")).await;
    assert_eq!(reply.status, 200);
    assert!(started.elapsed() < Duration::from_secs(1), "served in {:?}", started.elapsed());

    for watcher in watchers {
        let (closed, after, answer) = watcher.await.unwrap();
        assert!(closed, "a slowloris connection was still open after 8 s");
        assert!(after >= Duration::from_millis(900) && after < Duration::from_secs(4), "cut off after {after:?}");
        assert!(!answer.contains("200 OK"), "{answer}");
    }
    let mut buffer = [0u8; 16];
    let silent_closed = tokio::time::timeout(Duration::from_secs(4), silent.read(&mut buffer)).await;
    assert!(matches!(silent_closed, Ok(Ok(0)) | Ok(Err(_))), "the silent connection was not closed: {silent_closed:?}");

    // And the server is still there.
    let reply = server.client("talsi").await.soap("/GetQueueStatusList", &sample("ep116-soap12-plain.xml")).await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn xml_limits_are_configurable() {
    let limits = Limits { max_xml_depth: 6, ..Default::default() };
    let server = TestServer::start_with(Options { limits: Some(limits), ..Default::default() }).await;
    let mut riga = server.client("riga").await;
    // The plain request is 5 deep (Envelope/Body/GetQueueStatusList/Operator/FirstName).
    assert_eq!(riga.soap("/GetQueueStatusList", &sample("ep116-soap11-plain.xml")).await.status, 200);
    let deeper = envelope("1.1", &operation("GetQueueStatusList", "<PersonCode>150342-10121</PersonCode><X><Y><Z><W/></Z></Y></X>"));
    let reply = riga.soap("/GetQueueStatusList", &deeper).await;
    assert_eq!(error_code(&reply.body).as_deref(), Some("MalformedXml"), "{}", reply.body);
    assert!(reply.body.contains("element depth"), "{}", reply.body);
}
