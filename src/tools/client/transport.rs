//! The client's side of the wire: HTTPS over mutual TLS (rustls, a given client certificate
//! and CA) and HTTP/1.1 (hyper), one POST or GET at a time.
//!
//! Input: a base URL (`https://host:port[/prefix]`), PEM files, a path, headers and a body.
//! Output: the HTTP status, Content-Type and body of the answer. Trusts only the given CA —
//! never the system's roots — and never follows redirects or sends anywhere but the URL given.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;


/// How long one exchange (connect, handshake, request, answer) may take.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(60);
/// The largest answer read (the server's own request cap is 4 MB; answers are far smaller).
const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// The PEM files of a mutual-TLS identity.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub certificate: PathBuf,
    pub private_key: PathBuf,
    pub ca: PathBuf,
}

/// An HTTP answer as received.
#[derive(Debug, Clone)]
pub struct HttpAnswer {
    pub status: u16,
    /// The `x-call-id` header, if the server sent one.
    pub call_id: Option<String>,
    pub body: Bytes,
}

/// A service endpoint: where to connect and what to ask for.
pub struct Endpoint {
    host: String,
    port: u16,
    /// The URL's path without a trailing slash ("" for none); requests' paths are appended.
    prefix: String,
    connector: TlsConnector,
}

impl Endpoint {
    /// Parses `url` and loads the TLS identity. Only `https` URLs are accepted.
    pub fn new(url: &str, files: &TlsFiles) -> anyhow::Result<Endpoint> {
        let uri: http::Uri = url.parse().with_context(|| format!("not a URL: {url}"))?;
        if uri.scheme_str() != Some("https") {
            bail!("the URL must start with https:// (mutual TLS is mandatory): {url}");
        }
        let host = uri.host().ok_or_else(|| anyhow!("the URL names no host: {url}"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let port = uri.port_u16().unwrap_or(443);
        let prefix = uri.path().trim_end_matches('/').to_string();
        Ok(Endpoint { host, port, prefix, connector: connector(files)? })
    }

    /// POSTs `body` to `path` (e.g. `/GetApplicationList`) with a Content-Type and an
    /// optional SOAPAction header.
    pub async fn post(&self, path: &str, content_type: &str, soap_action: Option<&str>, body: Vec<u8>) -> anyhow::Result<HttpAnswer> {
        let mut request = hyper::Request::post(self.target(path)).header("content-type", content_type);
        if let Some(action) = soap_action {
            request = request.header("soapaction", format!("\"{action}\""));
        }
        self.send(request, Bytes::from(body)).await
    }

    fn target(&self, path: &str) -> String {
        format!("{}{}", self.prefix, path)
    }

    fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    async fn send(&self, request: http::request::Builder, body: Bytes) -> anyhow::Result<HttpAnswer> {
        let request = request
            .header("host", self.authority())
            .header("user-agent", concat!("spolis-adapter-client/", env!("CARGO_PKG_VERSION")))
            .body(Full::new(body))
            .context("building the request")?;
        let exchange = async {
            let tcp = TcpStream::connect((self.host.as_str(), self.port))
                .await
                .with_context(|| format!("cannot connect to {}", self.authority()))?;
            let server_name = ServerName::try_from(self.host.clone()).with_context(|| format!("not a TLS server name: {}", self.host))?;
            let tls = self
                .connector
                .connect(server_name, tcp)
                .await
                .with_context(|| format!("TLS handshake with {} failed (is the certificate registered and the CA right?)", self.authority()))?;
            let (mut sender, connection) = http1::handshake(TokioIo::new(tls)).await.context("HTTP handshake")?;
            let driver = tokio::spawn(connection);
            let response = sender.send_request(request).await.context("sending the request")?;
            let status = response.status().as_u16();
            let call_id = response.headers().get("x-call-id").and_then(|v| v.to_str().ok()).map(str::to_string);
            let limited = http_body_util::Limited::new(response.into_body(), MAX_ANSWER_BYTES);
            let body = limited.collect().await.map_err(|e| anyhow!("reading the answer: {e}"))?.to_bytes();
            driver.abort();
            anyhow::Ok(HttpAnswer { status, call_id, body })
        };
        tokio::time::timeout(EXCHANGE_TIMEOUT, exchange)
            .await
            .map_err(|_| anyhow!("no answer from {} within {} s", self.authority(), EXCHANGE_TIMEOUT.as_secs()))?
    }
}

/// A TLS connector presenting the client certificate and trusting only `files.ca`.
fn connector(files: &TlsFiles) -> anyhow::Result<TlsConnector> {
    let mut config = crate::tls::client_config(&files.ca, Some((&files.certificate, &files.private_key)))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

