//! The operations listener: plain HTTP, no client certificate, meant for the load balancer
//! and Prometheus on an internal address. `/health` says the process is alive; `/ready` that
//! the store answers and the audit log is writable (a not-ready instance must get no calls:
//! every call it took would fail closed); `/metrics` is the Prometheus text exposition.
//! It serves nothing about persons. Readiness is probed at most once per `ready_cache`
//! (`[limits] ready_cache_milliseconds`), however often it is asked, and the listener serves
//! at most `max_ops_connections` connections at once.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, Semaphore};

use crate::http::App;

/// What the readiness check needs besides the app.
pub struct Ops {
    pub app: Arc<App>,
    /// How long a readiness result is reused.
    pub ready_cache: Duration,
    /// The last readiness result and when it was probed. Held while probing, so concurrent
    /// `/ready` requests share one probe.
    last_ready: Mutex<Option<(Instant, Vec<String>)>>,
}

impl Ops {
    pub fn new(app: Arc<App>) -> Ops {
        let ready_cache = app.limits.ready_cache();
        Ops { app, ready_cache, last_ready: Mutex::new(None) }
    }
}

/// Serves the operations endpoints until `shutdown` completes. Fails only if the
/// connection semaphore is closed, which nothing does.
pub async fn run(listener: TcpListener, ops: Arc<Ops>, shutdown: impl Future<Output = ()>) -> Result<(), tokio::sync::AcquireError> {
    tokio::pin!(shutdown);
    let connections = Arc::new(Semaphore::new(ops.app.limits.max_ops_connections.max(1)));
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            permit = connections.clone().acquire_owned() => permit?,
        };
        let (tcp, _) = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "operations listener: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let ops = ops.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = service_fn(move |request| {
                let ops = ops.clone();
                async move { Ok::<_, std::convert::Infallible>(route(&ops, request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(5))
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
    }
}

async fn route(ops: &Ops, request: Request<Incoming>) -> Response<Full<Bytes>> {
    if request.method() != Method::GET {
        return text(StatusCode::METHOD_NOT_ALLOWED, "use GET\n".into());
    }
    match request.uri().path() {
        "/health" => text(StatusCode::OK, "alive\n".into()),
        "/ready" => {
            let problems = cached_readiness_problems(ops).await;
            if problems.is_empty() {
                text(StatusCode::OK, "ready\n".into())
            } else {
                text(StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {}\n", problems.join("; ")))
            }
        }
        "/metrics" => {
            ops.app.tls.current().publish_crl_metrics(&ops.app.services.metrics);
            // A register that cannot be read now keeps its last gauges: /ready tells.
            if let Ok(as_of) = ops.app.services.store.register_as_of().await {
                let now = ops.app.services.clock.now().timestamp();
                ops.app.services.metrics.record_register_as_of(as_of.map(|t| t.timestamp()), now);
            }
            let mut response = text(StatusCode::OK, ops.app.services.metrics.render());
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
            );
            response
        }
        _ => text(StatusCode::NOT_FOUND, "GET /health, /ready or /metrics\n".into()),
    }
}

/// The readiness problems, probed again only once the last result is `ready_cache` old.
async fn cached_readiness_problems(ops: &Ops) -> Vec<String> {
    let mut last = ops.last_ready.lock().await;
    match &*last {
        Some((probed, problems)) if probed.elapsed() < ops.ready_cache => problems.clone(),
        _ => {
            let problems = readiness_problems(ops).await;
            *last = Some((Instant::now(), problems.clone()));
            problems
        }
    }
}

/// Why this instance should not take calls now; empty when it should. Further sources of
/// problems add to the list.
async fn readiness_problems(ops: &Ops) -> Vec<String> {
    let mut problems = Vec::new();
    if let Err(error) = ops.app.services.store.ping().await {
        problems.push(format!("register: {error}"));
    } else if let Some(problem) = register_staleness(ops).await {
        problems.push(format!("register: {problem}"));
    }
    // The writer's own state (last commit, batch in hand, backlog): no lock taken per probe.
    if let Some(problem) = ops.app.services.audit.readiness_problem() {
        problems.push(format!("audit log: {problem}"));
    }
    problems.extend(ops.app.tls.current().crl_problems().into_iter().map(|problem| format!("tls: {problem}")));
    problems
}

/// Why the register is too old to answer from (`max_register_age_hours`), if it is: its
/// as-of time is further back than allowed, or it was never imported.
async fn register_staleness(ops: &Ops) -> Option<String> {
    let max_age = ops.app.max_register_age?;
    let hours = max_age.as_secs() / 3600;
    match ops.app.services.store.register_as_of().await {
        Err(error) => Some(error.to_string()),
        Ok(None) => Some(format!("never imported (max_register_age_hours = {hours})")),
        Ok(Some(as_of)) => {
            let age = ops.app.services.clock.now().signed_duration_since(as_of);
            let allowed = chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::MAX);
            (age > allowed).then(|| {
                format!(
                    "as of {}, {} h old, older than max_register_age_hours = {hours}",
                    as_of.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    age.num_hours()
                )
            })
        }
    }
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}
