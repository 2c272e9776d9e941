//! The benchmarks' ceiling (BENCHMARKS.md): the least a hyper + rustls mutual-TLS server can
//! do for one call — same certificates, same client verification, same HTTP stack — answering
//! every POST with a fixed body of the size of a real answer. Our throughput is reported as a
//! ratio of this one's.
//!
//! Two options add, one by one, the per-call work our guarantees cannot do without, so the
//! report can say what the guarantees themselves cost on this machine:
//! - `--sign`: the answer is a fresh WS-Security envelope around the captured answer's Body,
//!   signed by the same code as the service's answers (`wssec::sign::AnswerSigner`);
//! - `--durable-log FILE`: before answering, a ~400-byte record is appended to FILE by one
//!   writer thread that group-commits with fdatasync, and the call waits for its batch —
//!   the least a durable audit log can cost (no indexes, no hash chain, no SQLite).

use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::Arc;

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use spolis_adapter::soap::SoapVersion;
use spolis_adapter::wssec::sign::AnswerSigner;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

#[derive(Parser)]
struct Options {
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: std::net::SocketAddr,
    #[arg(long, default_value = "certs-example")]
    certs_dir: PathBuf,
    /// The fixed answer (e.g. a real answer captured from the service).
    #[arg(long)]
    answer: PathBuf,
    /// Sign every answer afresh, as the service does.
    #[arg(long)]
    sign: bool,
    /// Append a record per call to this file, durably (group commit, fdatasync), before answering.
    #[arg(long)]
    durable_log: Option<PathBuf>,
}

struct Ceiling {
    answer: Bytes,
    /// The captured answer's Body content, for `--sign`.
    payload: String,
    signer: Option<AnswerSigner>,
    log: Option<mpsc::Sender<(Vec<u8>, oneshot::Sender<()>)>>,
}

impl Ceiling {
    async fn answer(&self) -> Bytes {
        if let Some(log) = &self.log {
            let (done, committed) = oneshot::channel();
            let record = format!("{{\"call\":\"{}\",\"at\":\"{}\",\"pad\":\"{}\"}}\n", uuid::Uuid::now_v7(), chrono::Utc::now(), "x".repeat(300));
            if log.send((record.into_bytes(), done)).is_err() || committed.await.is_err() {
                return Bytes::from_static(b"durable log failed");
            }
        }
        match &self.signer {
            Some(signer) => match signer.envelope(SoapVersion::V11, &self.payload, uuid::Uuid::now_v7(), chrono::Utc::now()) {
                Ok(envelope) => Bytes::from(envelope),
                Err(_) => Bytes::from_static(b"signing failed"),
            },
            None => self.answer.clone(),
        }
    }
}

/// One thread appends and fdatasyncs whatever has gathered, then releases the batch's calls.
fn durable_log(path: PathBuf) -> anyhow::Result<mpsc::Sender<(Vec<u8>, oneshot::Sender<()>)>> {
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    let (sender, receiver) = mpsc::channel::<(Vec<u8>, oneshot::Sender<()>)>();
    std::thread::spawn(move || {
        while let Ok(first) = receiver.recv() {
            let mut batch = vec![first];
            batch.extend(receiver.try_iter().take(1023));
            let bytes: Vec<u8> = batch.iter().flat_map(|(record, _)| record.iter().copied()).collect();
            if file.write_all(&bytes).and_then(|()| file.sync_data()).is_err() {
                return;
            }
            for (_, done) in batch {
                let _ = done.send(());
            }
        }
    });
    Ok(sender)
}

/// The content of the answer's SOAP Body (what the service's renderer produces).
fn body_content(answer: &str) -> String {
    let start = answer.find(":Body").and_then(|at| answer[at..].find('>').map(|end| at + end + 1));
    let end = answer.rfind("</soap:Body>").or_else(|| answer.rfind("</soap12:Body>"));
    match (start, end) {
        (Some(start), Some(end)) if start <= end => answer[start..end].to_owned(),
        _ => answer.to_owned(),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    let dir = &options.certs_dir;
    let tls = spolis_adapter::tls::server_config(&dir.join("server.crt"), &dir.join("server.key"), &dir.join("ca.crt"))?;
    let acceptor = TlsAcceptor::from(tls);
    let answer = std::fs::read(&options.answer)?;
    let signer = match options.sign {
        true => Some(AnswerSigner::load(&dir.join("server.crt"), &dir.join("server.key"), chrono::Duration::minutes(5))?),
        false => None,
    };
    let ceiling = Arc::new(Ceiling {
        payload: body_content(&String::from_utf8_lossy(&answer)),
        answer: Bytes::from(answer),
        signer,
        log: options.durable_log.map(durable_log).transpose()?,
    });
    let listener = TcpListener::bind(options.listen).await?;
    println!("ceiling listening on https://localhost:{}", listener.local_addr()?.port());
    loop {
        let (tcp, _) = listener.accept().await?;
        let _ = tcp.set_nodelay(true);
        let (acceptor, ceiling) = (acceptor.clone(), ceiling.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else { return };
            let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let ceiling = ceiling.clone();
                async move {
                    // Read the request like the service does, then answer.
                    let _ = request.into_body().collect().await;
                    let mut response = hyper::Response::new(Full::new(ceiling.answer().await));
                    response.headers_mut().insert("content-type", hyper::header::HeaderValue::from_static("text/xml; charset=utf-8"));
                    Ok::<_, std::convert::Infallible>(response)
                }
            });
            let _ = auto::Builder::new(TokioExecutor::new()).serve_connection(TokioIo::new(tls), service).await;
        });
    }
}
