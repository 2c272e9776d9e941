//! The operations listener: plain HTTP, no client certificate, meant for the load balancer
//! and Prometheus on an internal address. `/health` says the process is alive; `/ready` that
//! the store answers and the audit log is writable (a not-ready instance must get no calls:
//! every call it took would fail closed); `/metrics` is the Prometheus text exposition.
//! It serves nothing about persons.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use crate::http::App;

/// What the readiness check needs besides the app.
pub struct Ops {
    pub app: Arc<App>,
    /// Where the audit log is. Readiness asks the audit writer itself whether it can commit.
    pub audit: crate::audit::AuditLocation,
}

/// Serves the operations endpoints until `shutdown` completes.
pub async fn run(listener: TcpListener, ops: Arc<Ops>, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    tokio::pin!(shutdown);
    loop {
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
            let problems = readiness_problems(ops).await;
            if problems.is_empty() {
                text(StatusCode::OK, "ready\n".into())
            } else {
                text(StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {}\n", problems.join("; ")))
            }
        }
        "/metrics" => {
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

/// Why this instance should not take calls now; empty when it should.
async fn readiness_problems(ops: &Ops) -> Vec<String> {
    let mut problems = Vec::new();
    if let Err(error) = ops.app.services.store.ping().await {
        problems.push(format!("register: {error}"));
    }
    // The writer's own state (last commit, batch in hand, backlog): no lock taken per probe.
    if let Some(problem) = ops.app.services.audit.readiness_problem() {
        problems.push(format!("audit log: {problem}"));
    }
    problems
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}
