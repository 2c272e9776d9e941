//! A load generator for the benchmarks (BENCHMARKS.md): drives one endpoint over mutual TLS
//! with N keep-alive connections for a fixed time, or with a new connection (and TLS
//! handshake) per request, with or without session resumption; prints one JSON line with
//! requests per second, answer bytes, latency percentiles and (with `--server-pid`) the
//! server's CPU time per call.
//!
//! Closed loop by default: each connection sends its next request when the last is answered.
//! With `--rate R` it runs open loop: requests are due at fixed intervals (R per second in all)
//! and each latency is measured from when the request was due, not from when a busy connection
//! got round to sending it, so a stalled server cannot hide its tail (coordinated omission).
//!
//! Every answer is checked: HTTP 200, the operation's `…Response` element, no SOAP Fault, no
//! IVIS `ErrorList`. Any failed or refused call makes the run exit non-zero after its JSON line,
//! so a benchmark of errors cannot pass for a fast one.
//!
//! Requests rotate over personal codes read from a register (`--register`), substituted for
//! `{PERSON}` in the body, so the store is exercised across the whole register, not one row.
//! `{MESSAGE_ID}` becomes a fresh UUID in every request, as an IVIS sender must send (the
//! service refuses a MessageID it has seen).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
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
// A later option wins over an earlier one (bench/run.sh passes a default --body first).
#[command(args_override_self = true)]
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
    /// Open loop: R requests per second in all, due at fixed intervals (see the module docs).
    #[arg(long)]
    rate: Option<f64>,
    /// The server's process id: its CPU time (user + system) over the run is divided by the
    /// calls answered.
    #[arg(long)]
    server_pid: Option<u32>,
    /// A label for the JSON line.
    #[arg(long, default_value = "")]
    label: String,
}

struct Target {
    host: String,
    port: u16,
    path: String,
    /// `GetQueueStatusListResponse` for `/GetQueueStatusList`: what a successful answer holds.
    response_element: String,
}

fn parse_url(url: &str) -> anyhow::Result<Target> {
    let rest = url.strip_prefix("https://").ok_or_else(|| anyhow::anyhow!("only https:// URLs"))?;
    let (authority, path) = rest.split_once('/').map(|(a, p)| (a, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let (host, port) = authority.rsplit_once(':').map(|(h, p)| (h.to_string(), p.parse().unwrap_or(443))).unwrap_or((authority.to_string(), 443));
    let operation = path.trim_start_matches('/').split(['?', '/']).next().unwrap_or_default();
    let response_element = format!("{operation}Response");
    Ok(Target { host, port, path, response_element })
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

/// What one call came to.
enum Outcome {
    /// A successful answer of this many body bytes.
    Answered(usize),
    /// An answer that is not a successful one (status, Fault, ErrorList, wrong element).
    Refused(String),
}

async fn send(sender: &mut Sender, target: &Target, content_type: &str, body: Bytes) -> anyhow::Result<Outcome> {
    sender.ready().await?;
    let request = hyper::Request::post(target.path.as_str())
        .header("host", target.host.as_str())
        .header("content-type", content_type)
        .body(Full::new(body))?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let answer = response.into_body().collect().await?.to_bytes();
    Ok(judge(status, &answer, &target.response_element))
}

/// A successful answer: HTTP 200, the operation's response element, and neither a SOAP Fault
/// nor an IVIS ErrorList anywhere in it.
fn judge(status: u16, answer: &[u8], response_element: &str) -> Outcome {
    use memchr::memmem::find;
    if status != 200 {
        return Outcome::Refused(format!("HTTP {status}"));
    }
    if find(answer, b"Fault>").is_some() {
        return Outcome::Refused("a SOAP Fault".into());
    }
    if find(answer, b"ErrorList").is_some() {
        return Outcome::Refused("an IVIS ErrorList".into());
    }
    if find(answer, response_element.as_bytes()).is_none() {
        return Outcome::Refused(format!("no {response_element}"));
    }
    Outcome::Answered(answer.len())
}

/// The process's CPU time (user + system) so far, from /proc.
fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces) start at the state, field 3.
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default();
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 = fields.get(11).unwrap_or(&"0").parse::<u64>()? + fields.get(12).unwrap_or(&"0").parse::<u64>()?;
    // USER_HZ is 100 on every Linux this harness runs on (sysconf(_SC_CLK_TCK)).
    Ok(ticks as f64 / 100.0)
}

struct WorkerResult {
    latencies: Vec<u32>,
    bytes: u64,
    errors: u64,
    first_error: Option<String>,
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
    let fresh_message_ids = template.contains("{MESSAGE_ID}");
    let interval = options.rate.map(|rate| Duration::from_secs_f64(1.0 / rate));
    let cpu_before = options.server_pid.map(cpu_seconds).transpose()?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(options.seconds);
    // Open loop: the n-th request is due at started + n × interval, whichever connection sends it.
    let next_due = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for worker in 0..options.concurrency {
        let (options, target, connector, bodies, next_due) =
            (options.clone(), target.clone(), connector.clone(), bodies.clone(), next_due.clone());
        tasks.push(tokio::spawn(async move {
            let mut result = WorkerResult { latencies: Vec::with_capacity(100_000), bytes: 0, errors: 0, first_error: None };
            let mut sender = None;
            let mut next = worker;
            loop {
                let begun = match interval {
                    Some(interval) => {
                        let due = started + interval * u32::try_from(next_due.fetch_add(1, Ordering::Relaxed)).unwrap_or(u32::MAX);
                        if due >= deadline {
                            break;
                        }
                        tokio::time::sleep_until(due.into()).await;
                        due
                    }
                    None if Instant::now() >= deadline => break,
                    None => Instant::now(),
                };
                let mut body = bodies[next % bodies.len()].clone();
                if fresh_message_ids {
                    body = Bytes::from(String::from_utf8_lossy(&body).replace("{MESSAGE_ID}", &uuid::Uuid::new_v4().to_string()));
                }
                next += options.concurrency;
                if sender.is_none() || options.new_connection_per_request {
                    sender = connect(&connector, &target).await.ok();
                }
                let outcome = match sender.as_mut() {
                    Some(sender) => send(sender, &target, &options.content_type, body).await,
                    None => Err(anyhow::anyhow!("no connection")),
                };
                match outcome {
                    Ok(Outcome::Answered(bytes)) => {
                        result.latencies.push(u32::try_from(begun.elapsed().as_micros()).unwrap_or(u32::MAX));
                        result.bytes += bytes as u64;
                    }
                    Ok(Outcome::Refused(why)) => {
                        result.errors += 1;
                        result.first_error.get_or_insert(why);
                    }
                    Err(error) => {
                        result.errors += 1;
                        result.first_error.get_or_insert(format!("{error:#}"));
                        sender = None;
                    }
                }
            }
            result
        }));
    }
    let mut latencies = Vec::new();
    let (mut errors, mut bytes, mut first_error) = (0, 0, None);
    for task in tasks {
        let worker = task.await?;
        latencies.extend(worker.latencies);
        errors += worker.errors;
        bytes += worker.bytes;
        first_error = first_error.or(worker.first_error);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_ms_per_call = match (options.server_pid, cpu_before) {
        (Some(pid), Some(before)) if !latencies.is_empty() => (cpu_seconds(pid)? - before) * 1000.0 / latencies.len() as f64,
        _ => 0.0,
    };
    latencies.sort_unstable();
    let percentile = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let index = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        f64::from(latencies[index]) / 1000.0
    };
    println!(
        "{{\"label\":\"{}\",\"concurrency\":{},\"new_connections\":{},\"resumption\":{},\"rate\":{},\"requests\":{},\"errors\":{},\"bytes\":{},\"seconds\":{:.2},\"rps\":{:.1},\"p50_ms\":{:.3},\"p99_ms\":{:.3},\"p999_ms\":{:.3},\"server_cpu_ms_per_call\":{:.4}}}",
        options.label,
        options.concurrency,
        options.new_connection_per_request,
        !options.no_resumption,
        options.rate.unwrap_or(0.0),
        latencies.len(),
        errors,
        bytes,
        elapsed,
        latencies.len() as f64 / elapsed,
        percentile(0.50),
        percentile(0.99),
        percentile(0.999),
        cpu_ms_per_call,
    );
    if errors > 0 {
        anyhow::bail!(
            "{errors} of {} calls to {} failed or were refused (the first: {})",
            errors + latencies.len() as u64,
            options.url,
            first_error.unwrap_or_default()
        );
    }
    anyhow::ensure!(!latencies.is_empty(), "no call to {} was answered in {} s", options.url, options.seconds);
    Ok(())
}
