//! Slow, stalled, idle and hoarding clients at the connection level: a slowloris dribbling
//! header bytes, and a TCP connection that never starts its TLS handshake, are cut off by the
//! header and handshake timeouts; silent and idle connections by the first-byte and idle
//! timeouts; connections beyond the caps per address and per certificate are closed at once;
//! and namespace-declaration floods are refused in linear time without starving other callers.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use spolis_adapter::config::Limits;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn slowloris_connections_are_cut_off_and_do_not_starve_others() {
    // What is tested is ordering, not speed: the well-behaved call is answered while the
    // slowloris connections still hold their places, and they are cut at the header deadline
    // (not before it) — on a fast machine or a loaded one alike.
    let header_timeout = Duration::from_secs(3);
    let limits = Limits { header_timeout_seconds: header_timeout.as_secs(), handshake_timeout_seconds: 3, max_connections: 16, ..Default::default() };
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
            let closed = tokio::time::timeout(header_timeout + Duration::from_secs(10), reader.read_to_end(&mut answer)).await;
            (closed.is_ok(), started, Instant::now(), String::from_utf8_lossy(&answer).into_owned())
        }));
    }
    // Stalled before TLS: a TCP connection that never says anything.
    let mut silent = TcpStream::connect(server.address).await.unwrap();

    // Meanwhile a well-behaved client is answered promptly.
    let reply = server.client("riga").await.soap("/GetQueueStatusList", &sample("ep116-soap11-plain.xml")).await;
    let served_at = Instant::now();
    assert_eq!(reply.status, 200);

    for watcher in watchers {
        let (closed, opened_at, closed_at, answer) = watcher.await.unwrap();
        assert!(closed, "a slowloris connection was still open {:?} after the header deadline", Duration::from_secs(10));
        assert!(served_at < closed_at, "the well-behaved call waited for the slowloris connections to be cut off");
        // The server's deadline starts when it begins reading, just after our `opened_at`.
        let after = closed_at - opened_at;
        assert!(after >= header_timeout - Duration::from_millis(100), "cut off after {after:?}, before the header deadline");
        assert!(!answer.contains("200 OK"), "{answer}");
    }
    let mut buffer = [0u8; 16];
    let silent_closed = tokio::time::timeout(Duration::from_secs(10), silent.read(&mut buffer)).await;
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

/// A SOAP 1.1 envelope whose Body holds one element with `count` namespace declarations.
fn namespace_flood(count: usize) -> String {
    let declarations: String = (0..count).map(|i| format!(" xmlns:p{i}=\"urn:{i}\"")).collect();
    envelope("1.1", &format!("<Flood{declarations}/>"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_floods_are_refused_quickly_and_do_not_starve_registered_callers() {
    let server = TestServer::start().await;
    // 100 000 declarations, 2.6 MB: the quadratic duplicate check took 12 s of CPU on this.
    let flood = namespace_flood(100_000);
    assert!(flood.len() > 2_000_000 && flood.len() < 4_000_000, "{}", flood.len());
    // As large, as cheap to refuse as any document of its size: read once, no operation in it.
    let plain = envelope("1.1", &format!("<Flood>{}</Flood>", "x".repeat(flood.len())));

    // Baselines, one request at a time: a registered call, the plain document, and a flood.
    let mut riga = server.client("riga").await;
    let mut call_alone = Duration::ZERO;
    for _ in 0..3 {
        let started = Instant::now();
        assert_eq!(riga.soap("/GetQueueStatusList", &sample("ep116-soap11-plain.xml")).await.status, 200);
        call_alone = call_alone.max(started.elapsed());
    }
    let mut unregistered = server.client("unregistered").await;
    let (mut plain_alone, mut flood_alone) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..2 {
        let started = Instant::now();
        let reply = unregistered.soap("/GetQueueStatusList", &plain).await;
        assert_eq!(error_code(&reply.body).as_deref(), Some("UnknownOperation"), "{}", reply.body);
        plain_alone = plain_alone.max(started.elapsed());
        let started = Instant::now();
        let reply = unregistered.soap("/GetQueueStatusList", &flood).await;
        assert_eq!(error_code(&reply.body).as_deref(), Some("MalformedXml"), "{}", reply.body);
        assert!(reply.body.contains("namespace declarations"), "{}", reply.body);
        flood_alone = flood_alone.max(started.elapsed());
    }
    // Refusing a flood costs about what reading any document of its size does (the quadratic
    // check took seconds; the linear count, some 150 ms in a debug build).
    assert!(flood_alone <= plain_alone * 20 + Duration::from_secs(1), "a flood took {flood_alone:?} to refuse, a plain document of its size {plain_alone:?}");

    // Four connections of a certificate registered to nobody flood, again and again, while the
    // registered caller calls until eight floods have been refused meanwhile.
    let refused = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut floods = Vec::new();
    for _ in 0..4 {
        let mut client = server.client("unregistered").await;
        let (flood, refused, stop) = (flood.clone(), refused.clone(), stop.clone());
        floods.push(tokio::spawn(async move {
            let mut slowest = Duration::ZERO;
            while !stop.load(Ordering::SeqCst) {
                let started = Instant::now();
                let reply = client.soap("/GetQueueStatusList", &flood).await;
                slowest = slowest.max(started.elapsed());
                assert_eq!(error_code(&reply.body).as_deref(), Some("MalformedXml"), "{}", reply.body);
                assert!(reply.body.contains("namespace declarations"), "{}", reply.body);
                refused.fetch_add(1, Ordering::SeqCst);
            }
            slowest
        }));
    }
    let mut slowest_call = Duration::ZERO;
    let mut calls = 0;
    let during = async {
        while refused.load(Ordering::SeqCst) < 8 {
            let started = Instant::now();
            assert_eq!(riga.soap("/GetQueueStatusList", &sample("ep116-soap11-plain.xml")).await.status, 200);
            slowest_call = slowest_call.max(started.elapsed());
            calls += 1;
        }
    };
    tokio::time::timeout(Duration::from_secs(120), during).await.expect("eight floods refused within two minutes");
    stop.store(true, Ordering::SeqCst);
    let mut slowest_flood = Duration::ZERO;
    for flood in floods {
        slowest_flood = slowest_flood.max(flood.await.unwrap());
    }
    assert!(calls > 0);
    eprintln!(
        "alone: call {call_alone:?}, plain document {plain_alone:?}, flood {flood_alone:?}; \
         under four floods: {calls} calls, slowest {slowest_call:?}; slowest flood {slowest_flood:?}"
    );
    // Generous against a loaded machine: a call's document may wait for the parsing pool behind
    // the four floods' (two rounds on two cores); four floods share the cores.
    let call_bound = call_alone * 10 + flood_alone * 4 + Duration::from_secs(1);
    assert!(slowest_call <= call_bound, "a call took {slowest_call:?} under floods (alone {call_alone:?}, a flood alone {flood_alone:?})");
    let flood_bound = flood_alone * 10 + Duration::from_secs(2);
    assert!(slowest_flood <= flood_bound, "a flood took {slowest_flood:?} among four (alone {flood_alone:?})");
}

/// How long until the server closes `stream` (end of stream or an error), waiting at most `within`.
async fn closed_after<S: AsyncRead + Unpin>(stream: &mut S, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buffer = [0u8; 1024];
    let closing = async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(within, closing).await.ok().map(|_| started.elapsed())
}

#[tokio::test]
async fn connections_that_say_nothing_or_stay_idle_are_closed() {
    let limits = Limits { first_byte_timeout_seconds: 1, idle_timeout_seconds: 2, header_timeout_seconds: 30, ..Default::default() };
    let server = TestServer::start_with(Options { limits: Some(limits), ..Default::default() }).await;

    // Silent after the handshake, whichever protocol was negotiated (none: the version would
    // be sniffed from the first bytes, which never come): closed after the first-byte timeout.
    for protocol in [Some(Protocol::Http2), Some(Protocol::Http1), None] {
        let mut silent = server.tls_stream_with("unregistered", protocol, None).await.unwrap();
        let after = closed_after(&mut silent, Duration::from_secs(15)).await.expect("a silent connection was closed");
        assert!(after >= Duration::from_millis(900) && after < Duration::from_secs(10), "{protocol:?}: closed after {after:?}");
    }

    // HTTP/2 after a call: kept while in use, closed once idle for the idle timeout.
    let tls = server.tls_stream_with("riga", Some(Protocol::Http2), None).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(hyper_util::rt::TokioExecutor::new(), hyper_util::rt::TokioIo::new(tls))
        .await
        .unwrap();
    let connection = tokio::spawn(connection);
    let request = hyper::Request::post("/GetQueueStatusList")
        .header("host", "localhost")
        .header("content-type", "text/xml; charset=utf-8")
        .body(http_body_util::Full::new(bytes::Bytes::from(sample("ep116-soap11-plain.xml"))))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    http_body_util::BodyExt::collect(response.into_body()).await.unwrap();
    let answered = Instant::now();
    tokio::time::timeout(Duration::from_secs(15), connection).await.expect("the idle HTTP/2 connection was closed").unwrap().ok();
    let idle = answered.elapsed();
    assert!(idle >= Duration::from_millis(1900) && idle < Duration::from_secs(12), "closed after {idle:?} idle");

    let metrics = ops_get(server.ops_address, "/metrics").await.1;
    assert_eq!(metric_value(&metrics, r#"spolis_connections_timed_out_total{reason="first_byte"}"#), 3, "{metrics}");
    assert_eq!(metric_value(&metrics, r#"spolis_connections_timed_out_total{reason="idle"}"#), 1, "{metrics}");
}

#[tokio::test]
async fn one_caller_cannot_take_every_connection_slot() {
    // Timeouts far beyond the test: every connection closed here is closed for a cap.
    let limits = Limits {
        max_connections: 16,
        max_connections_per_address: 7,
        max_connections_per_certificate: 3,
        max_connections_unregistered: 2,
        first_byte_timeout_seconds: 300,
        header_timeout_seconds: 300,
        ..Default::default()
    };
    let server = TestServer::start_with(Options { limits: Some(limits), ..Default::default() }).await;
    let quickly = Duration::from_secs(20);

    // A certificate registered to nobody: two connections, the third closed after its handshake.
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(server.tls_stream_with("unregistered", Some(Protocol::Http1), None).await.unwrap());
    }
    let mut third = server.tls_stream_with("unregistered", Some(Protocol::Http1), None).await.unwrap();
    assert!(closed_after(&mut third, quickly).await.is_some(), "a third unregistered connection was kept");

    // A registered certificate: three, the fourth closed; another consumer is still served.
    for _ in 0..3 {
        held.push(server.tls_stream_with("riga", Some(Protocol::Http1), None).await.unwrap());
    }
    let mut fourth = server.tls_stream_with("riga", Some(Protocol::Http1), None).await.unwrap();
    assert!(closed_after(&mut fourth, quickly).await.is_some(), "a fourth riga connection was kept");
    let mut talsi = server.client("talsi").await;
    assert_eq!(talsi.soap("/GetQueueStatusList", &sample("ep116-soap12-plain.xml")).await.status, 200);

    // One address: seven connections (five held, the talsi client, one more), then closed before
    // the handshake; another address is still served.
    held.push(server.tls_stream_with("talsi", Some(Protocol::Http1), None).await.unwrap());
    let over = server.tls_stream_with("talsi", Some(Protocol::Http1), None).await;
    assert!(over.is_err(), "an eighth connection from one address got through its handshake");
    let other = "127.0.0.2".parse().unwrap();
    let tls = server.tls_stream_with("talsi", Some(Protocol::Http1), Some(other)).await.expect("another address is served");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls)).await.unwrap();
    tokio::spawn(connection);
    let request = hyper::Request::get("/GetQueueStatusList?wsdl").header("host", "localhost").body(http_body_util::Empty::<bytes::Bytes>::new()).unwrap();
    assert_eq!(sender.send_request(request).await.unwrap().status(), 200);

    let metrics = ops_get(server.ops_address, "/metrics").await.1;
    for (reason, count) in [("unregistered", 1), ("per_certificate", 1), ("per_address", 1)] {
        let series = format!(r#"spolis_connections_refused_total{{reason="{reason}"}}"#);
        assert_eq!(metric_value(&metrics, &series), count, "{series}\n{metrics}");
    }

    // Slots come back when connections close.
    held.clear();
    let reopened = async {
        loop {
            let mut stream = server.tls_stream_with("unregistered", Some(Protocol::Http1), None).await.unwrap();
            stream.write_all(b"GET /GetQueueStatusList?wsdl HTTP/1.1\r\nhost: localhost\r\n\r\n").await.unwrap();
            let mut head = [0u8; 12];
            if stream.read_exact(&mut head).await.is_ok() {
                return head;
            }
            // The server may not have seen the closes yet: try again once it has had a turn.
            tokio::task::yield_now().await;
        }
    };
    let head = tokio::time::timeout(quickly, reopened).await.expect("an unregistered slot came back");
    assert_eq!(&head, b"HTTP/1.1 200");
}
