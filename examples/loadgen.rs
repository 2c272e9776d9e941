//! A load generator for the benchmarks (BENCHMARKS.md): drives one endpoint over mutual TLS
//! with N keep-alive connections for a fixed time, or with a new connection (and TLS
//! handshake) per request, with or without session resumption; prints one JSON line with
//! requests per second and latency percentiles.
//!
//! Requests rotate over personal codes read from a register (`--register`), substituted for
//! `{PERSON}` in the body, so the store is exercised across the whole register, not one row.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

#[derive(Parser)]
struct Options {
    /// e.g. https://localhost:8443/GetQueueStatusList
    #[arg(long)]
    url: String,
    #[arg(long)]
    cert: PathBuf,
    #[arg(long)]
    key: PathBuf,
    #[arg(long)]
    ca: PathBuf,
    /// The request body; `{PERSON}` is replaced by a personal code from the register.
    #[arg(long)]
    body: PathBuf,
    #[arg(long, default_value = "text/xml; charset=utf-8")]
    content_type: String,
    /// A register (spolis.sqlite3) to take personal codes from.
    #[arg(long)]
    register: Option<PathBuf>,
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Open a new connection (TLS handshake) for every request.
    #[arg(long)]
    new_connection_per_request: bool,
    /// With --new-connection-per-request: do not resume TLS sessions.
    #[arg(long)]
    no_resumption: bool,
    /// A label for the JSON line.
    #[arg(long, default_value = "")]
    label: String,
}

struct Target {
    host: String,
    port: u16,
    path: String,
}

fn parse_url(url: &str) -> anyhow::Result<Target> {
    let rest = url.strip_prefix("https://").ok_or_else(|| anyhow::anyhow!("only https:// URLs"))?;
    let (authority, path) = rest.split_once('/').map(|(a, p)| (a, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let (host, port) = authority.rsplit_once(':').map(|(h, p)| (h.to_string(), p.parse().unwrap_or(443))).unwrap_or((authority.to_string(), 443));
    Ok(Target { host, port, path })
}

fn tls_connector(options: &Options) -> anyhow::Result<TlsConnector> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for ca in spolis_adapter::tls::read_certificates(&options.ca)? {
        roots.add(ca)?;
    }
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_client_auth_cert(spolis_adapter::tls::read_certificates(&options.cert)?, spolis_adapter::tls::read_private_key(&options.key)?)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    if options.no_resumption {
        config.resumption = rustls::client::Resumption::disabled();
    }
    Ok(TlsConnector::from(Arc::new(config)))
}

fn person_codes(register: Option<&PathBuf>) -> anyhow::Result<Vec<String>> {
    let Some(register) = register else { return Ok(vec!["150342-10121".into()]) };
    let connection = rusqlite::Connection::open_with_flags(register, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let count: i64 = connection.query_row("SELECT MAX(id) FROM persons", [], |row| row.get(0))?;
    // 4096 codes spread evenly over the register.
    let step = (count / 4096).max(1);
    let mut statement = connection.prepare("SELECT person_code FROM persons WHERE id % ?1 = 0 LIMIT 4096")?;
    let codes: Vec<String> = statement.query_map([step], |row| row.get(0))?.collect::<Result<_, _>>()?;
    anyhow::ensure!(!codes.is_empty(), "no persons in the register");
    Ok(codes)
}

type Sender = http1::SendRequest<Full<Bytes>>;

async fn connect(connector: &TlsConnector, target: &Target) -> anyhow::Result<Sender> {
    let tcp = TcpStream::connect((target.host.as_str(), target.port)).await?;
    tcp.set_nodelay(true)?;
    let tls = connector.connect(ServerName::try_from(target.host.clone())?, tcp).await?;
    let (sender, connection) = http1::handshake(TokioIo::new(tls)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

async fn send(sender: &mut Sender, target: &Target, content_type: &str, body: Bytes) -> anyhow::Result<u16> {
    sender.ready().await?;
    let request = hyper::Request::post(target.path.as_str())
        .header("host", target.host.as_str())
        .header("content-type", content_type)
        .body(Full::new(body))?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    response.into_body().collect().await?;
    Ok(status)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Arc::new(Options::parse());
    let target = Arc::new(parse_url(&options.url)?);
    let connector = tls_connector(&options)?;
    let template = std::fs::read_to_string(&options.body)?;
    let bodies: Arc<Vec<Bytes>> = Arc::new(
        person_codes(options.register.as_ref())?
            .into_iter()
            .map(|code| Bytes::from(template.replace("{PERSON}", &code)))
            .collect(),
    );
    let deadline = Instant::now() + Duration::from_secs_f64(options.seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..options.concurrency {
        let (options, target, connector, bodies) = (options.clone(), target.clone(), connector.clone(), bodies.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies: Vec<u32> = Vec::with_capacity(100_000);
            let mut errors = 0u64;
            let mut sender = None;
            let mut next = worker;
            while Instant::now() < deadline {
                let body = bodies[next % bodies.len()].clone();
                next += options.concurrency;
                let begun = Instant::now();
                if sender.is_none() || options.new_connection_per_request {
                    sender = connect(&connector, &target).await.ok();
                }
                let outcome = match sender.as_mut() {
                    Some(sender) => send(sender, &target, &options.content_type, body).await,
                    None => Err(anyhow::anyhow!("no connection")),
                };
                match outcome {
                    Ok(200) => latencies.push(u32::try_from(begun.elapsed().as_micros()).unwrap_or(u32::MAX)),
                    _ => {
                        errors += 1;
                        sender = None;
                    }
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (worker_latencies, worker_errors) = task.await?;
        latencies.extend(worker_latencies);
        errors += worker_errors;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let percentile = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let index = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        f64::from(latencies[index]) / 1000.0
    };
    println!(
        "{{\"label\":\"{}\",\"concurrency\":{},\"new_connections\":{},\"resumption\":{},\"requests\":{},\"errors\":{},\"seconds\":{:.2},\"rps\":{:.1},\"p50_ms\":{:.3},\"p99_ms\":{:.3}}}",
        options.label,
        options.concurrency,
        options.new_connection_per_request,
        !options.no_resumption,
        latencies.len(),
        errors,
        elapsed,
        latencies.len() as f64 / elapsed,
        percentile(0.50),
        percentile(0.99)
    );
    Ok(())
}
