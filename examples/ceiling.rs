//! The benchmarks' ceiling (BENCHMARKS.md): the least a hyper + rustls mutual-TLS server can
//! do for one call — same certificates, same client verification, same HTTP stack — answering
//! every POST with a fixed body of the size of a real answer. Our throughput is reported as a
//! ratio of this one's.

use std::path::PathBuf;

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    let dir = &options.certs_dir;
    let tls = spolis_adapter::tls::server_config(&dir.join("server.crt"), &dir.join("server.key"), &dir.join("ca.crt"))?;
    let acceptor = TlsAcceptor::from(tls);
    let answer = Bytes::from(std::fs::read(&options.answer)?);
    let listener = TcpListener::bind(options.listen).await?;
    println!("ceiling listening on https://localhost:{}", listener.local_addr()?.port());
    loop {
        let (tcp, _) = listener.accept().await?;
        let _ = tcp.set_nodelay(true);
        let (acceptor, answer) = (acceptor.clone(), answer.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else { return };
            let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let answer = answer.clone();
                async move {
                    // Read the request like the service does, then answer.
                    let _ = request.into_body().collect().await;
                    let mut response = hyper::Response::new(Full::new(answer));
                    response.headers_mut().insert("content-type", hyper::header::HeaderValue::from_static("text/xml; charset=utf-8"));
                    Ok::<_, std::convert::Infallible>(response)
                }
            });
            let _ = auto::Builder::new(TokioExecutor::new()).serve_connection(TokioIo::new(tls), service).await;
        });
    }
}
