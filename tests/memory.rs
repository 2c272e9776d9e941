//! Memory under a buffering attack: many HTTP/2 connections, each with every stream it may open
//! sending most of a large body and then stalling. Without a budget the server would hold every
//! body it was sent; with `max_buffered_request_bytes` its resident memory grows by about the
//! budget and the flow-control windows, and the streams beyond it are refused (`ServiceBusy`).
//! Alone in its test binary: the peak resident memory measured is this process's, which hosts
//! the server.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use futures_util::StreamExt;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper_util::rt::{TokioExecutor, TokioIo};
use spolis_adapter::config::Limits;

/// A field of /proc/self/status, in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

const MIB: u64 = 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buffered_request_bytes_stay_within_the_budget() {
    const BUDGET: usize = 8 * 1024 * 1024;
    const CONNECTIONS: usize = 8;
    const STREAMS: usize = 16;
    const SENT: usize = 3 * 1024 * 1024;
    let limits = Limits {
        max_buffered_request_bytes: BUDGET,
        buffer_wait_milliseconds: 200,
        body_timeout_seconds: 3,
        max_http2_streams: STREAMS as u32,
        ..Default::default()
    };
    let server = TestServer::start_with(Options { limits: Some(limits), ..Default::default() }).await;
    // One buffer for every stream's body, sent as slices of it: the client's memory stays flat.
    let payload = Bytes::from(vec![b'x'; SENT]);
    let mut riga = server.client("riga").await;
    assert_eq!(riga.soap("/GetQueueStatusList", &sample("ep116-soap11-plain.xml")).await.status, 200);

    // Start the peak at the present (Linux: "5" resets VmHWM); if not allowed, it is at least RSS.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let baseline = if reset { status_kib("VmHWM") } else { status_kib("VmRSS").max(status_kib("VmHWM")) };

    let mut streams = Vec::new();
    for _ in 0..CONNECTIONS {
        let tls = server.tls_stream_with("riga", Some(Protocol::Http2), None).await.expect("TLS");
        let (sender, connection) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls)).await.expect("HTTP/2");
        tokio::spawn(connection);
        for stream in 0..STREAMS {
            let mut sender = sender.clone();
            let chunks: Vec<Result<Frame<Bytes>, std::convert::Infallible>> =
                (0..SENT).step_by(64 * 1024).map(|at| Ok(Frame::data(payload.slice(at..(at + 64 * 1024).min(SENT))))).collect();
            // Most of a body, then nothing more: the stream stalls.
            let body = StreamBody::new(futures_util::stream::iter(chunks).chain(futures_util::stream::pending()));
            let mut request = hyper::Request::post("/GetQueueStatusList").header("host", "localhost").header("content-type", "text/xml; charset=utf-8");
            // Half declare a length (reserved whole), half do not (reserved as it arrives).
            if stream % 2 == 0 {
                request = request.header("content-length", (SENT + 1024 * 1024).to_string());
            }
            let request = request.body(body).expect("request");
            streams.push(tokio::spawn(async move {
                sender.ready().await.map_err(|e| e.to_string())?;
                let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
                let status = response.status().as_u16();
                let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
                Ok::<_, String>((status, error_code(&String::from_utf8_lossy(&body))))
            }));
        }
    }
    let mut busy = 0;
    for stream in streams {
        let answer = tokio::time::timeout(Duration::from_secs(120), stream).await.expect("every stream answered").expect("join");
        let (status, code) = answer.expect("an answer");
        match (status, code.as_deref()) {
            (503, Some("ServiceBusy")) => busy += 1,
            (408, Some("RequestTimeout")) => {}
            other => panic!("unexpected answer {other:?}"),
        }
    }
    let peak = status_kib("VmHWM");
    let grown = peak.saturating_sub(baseline) * 1024;
    assert!(busy > 0, "no stream was refused for want of room");
    // The budget, every connection's HTTP/2 window, and room for allocator and runtime slack;
    // without the budget the server would have held 8 × 16 × 3 MiB = 384 MiB.
    let bound = BUDGET as u64 + CONNECTIONS as u64 * MIB / 2 + 40 * MIB;
    assert!(grown <= bound, "resident memory grew by {} MiB (bound {} MiB; baseline {} MiB, reset {reset})", grown / MIB, bound / MIB, baseline / 1024);
    eprintln!("resident memory grew by {} MiB under the attack (bound {} MiB), {busy} streams refused as busy", grown / MIB, bound / MIB);
    // And the server still answers.
    let mut talsi = server.client("talsi").await;
    assert_eq!(talsi.soap("/GetQueueStatusList", &sample("ep116-soap12-plain.xml")).await.status, 200);
}
