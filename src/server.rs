//! The accept loop: TCP → TLS (mandatory client certificate) → HTTP/1.1 or HTTP/2 by ALPN →
//! `http::route`. Bounded: a connection limit, a handshake timeout and a header timeout; a
//! bad peer costs one connection, never the server. Graceful: on shutdown, stop accepting,
//! let open connections finish their requests.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio_rustls::TlsAcceptor;

use crate::http::{route, App};
use crate::identity::CertificateIdentity;
use crate::service::Peer;

/// How long open connections get to finish after shutdown is asked for.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `listener` until `shutdown` completes, then drains open connections.
pub async fn run(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Arc<App>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let acceptor = TlsAcceptor::from(tls);
    let max_connections = app.limits.max_connections.max(1);
    let connections = Arc::new(Semaphore::new(max_connections));
    let (stop_sender, stop_receiver) = watch::channel(false);
    tokio::pin!(shutdown);

    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            permit = connections.clone().acquire_owned() => permit?,
        };
        let (tcp, address) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Typically out of file descriptors: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let app = app.clone();
        let mut stop = stop_receiver.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let tls = match tokio::time::timeout(app.limits.handshake_timeout(), acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(error)) => {
                    tracing::info!(client = %address, reason = %error, "TLS handshake refused");
                    return;
                }
                Err(_) => {
                    tracing::info!(client = %address, reason = "timeout", "TLS handshake refused");
                    return;
                }
            };
            // The verifier made a client certificate mandatory; read who it is once.
            let certificate = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .map(|end_entity| CertificateIdentity::from_der(end_entity.as_ref()));
            let certificate = match certificate {
                Some(Ok(certificate)) => certificate,
                _ => {
                    tracing::warn!(client = %address, "connection without a readable client certificate");
                    return;
                }
            };
            let peer = Arc::new(Peer { address, certificate });
            let header_timeout = app.limits.header_timeout();
            let service = service_fn(move |request| {
                let (app, peer) = (app.clone(), peer.clone());
                async move { Ok::<_, std::convert::Infallible>(route(app, peer, request).await) }
            });
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .keep_alive(true);
            builder.http2().timer(TokioTimer::new()).max_concurrent_streams(64);
            let connection = builder.serve_connection(TokioIo::new(tls), service);
            tokio::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(client = %address, %error, "connection ended with an error");
                    }
                }
                _ = stop.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }

    drop(listener);
    let _ = stop_sender.send(true);
    // Every connection task holds a permit; all permits back means all connections ended.
    let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(DRAIN_TIMEOUT, connections.acquire_many(all)).await.is_err() {
        tracing::warn!("connections still open after the drain timeout; closing");
    }
    Ok(())
}
