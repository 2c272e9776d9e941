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

use anyhow::Context;

use crate::audit::{AuditSigner, WriterOptions};
use crate::config::Config;
use crate::http::{route, App};
use crate::identity::{CertificateIdentity, ConsumerRegistry};
use crate::service::{Peer, Services};
use crate::store::Store;
use crate::reload::Swappable;
pub use crate::reload::Reloader;
use crate::tls;

/// How long open connections get to finish after shutdown is asked for.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything `run` needs, built from a configuration.
pub struct Prepared {
    pub tls: Arc<Swappable<rustls::ServerConfig>>,
    pub app: Arc<App>,
    /// Swaps in a reloaded registry, TLS configuration and answer-signing key.
    pub reloader: Reloader,
    /// The audit writer; it finishes (signing a last checkpoint) once `app` is dropped.
    pub audit_writer: std::thread::JoinHandle<()>,
    /// The audit witness, to let its time-stamps settle after the writer finished.
    pub audit_witness: crate::audit::Witness,
}

/// Loads certificates, the consumer registry, the store and the audit log. Fails, naming
/// the file, when any of them cannot be used: the service never starts half-configured.
pub fn prepare(config: &Config) -> anyhow::Result<Prepared> {
    let tls = tls::server_config_with_crls(&config.tls.certificate, &config.tls.private_key, &config.tls.client_ca, &config.tls.crls)?;
    let registry = ConsumerRegistry::load(&config.consumers)?;
    crate::private_files::create_dir(&config.data_dir).with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    let store = match config.postgres_url()? {
        Some(url) => {
            let options = config.postgres_options()?;
            for url in std::iter::once(url).chain(config.database_replica_url.as_deref()) {
                if crate::store::postgres::is_plaintext_over_network(url, &options) {
                    tracing::warn!("PostgreSQL is reached over the network without TLS: set [database] tls_ca");
                }
            }
            Store::open_postgres(url, config.database_replica_url.as_deref(), &options).context("cannot open the PostgreSQL register")?
        }
        None => Store::open_sqlite(&config.data_dir)?,
    };
    let signer = AuditSigner::load_or_create(&config.audit_signing_key())?;
    let witness = config.audit_witness()?;
    let options = WriterOptions {
        checkpoint_interval: Duration::from_secs(config.audit.checkpoint_interval_seconds.max(1)),
        witness: witness.clone(),
        ..WriterOptions::default()
    };
    let (audit, audit_writer) = config.audit_location()?.start_writer(signer, options)?;
    // Several instances share a PostgreSQL store: the daily quotas are counted in it.
    let quotas = match store.is_shared() {
        true => crate::quotas::Quotas::with_shared_daily(config.quotas.clone()),
        false => crate::quotas::Quotas::new(config.quotas.clone()),
    };
    let app = Arc::new(App {
        services: Services {
            store,
            registry: Swappable::new(registry),
            environment: config.environment,
            metrics: Arc::new(crate::metrics::Metrics::default().with_audit(audit.stats())),
            audit,
            xml_limits: config.limits.xml(),
            security: crate::wssec::MessageSecurity::load(&config.security, &config.tls.certificate, &config.tls.private_key)?,
            quotas,
        },
        public_url: config.public_url.clone(),
        limits: config.limits.clone(),
    });
    if config.audit.prune_every_hours > 0 {
        spawn_scheduled_pruning(config, witness.clone())?;
    }
    let tls = Arc::new(Swappable::from_arc(tls));
    let reloader = Reloader { tls: tls.clone(), app: app.clone() };
    Ok(Prepared { tls, app, reloader, audit_writer, audit_witness: witness })
}

/// Prunes audit records past the retention period every `prune_every_hours`.
fn spawn_scheduled_pruning(config: &Config, witness: crate::audit::Witness) -> anyhow::Result<()> {
    let location = config.audit_location()?;
    let signer = AuditSigner::load_or_create(&config.audit_signing_key())?;
    let retention = chrono::Duration::days(i64::from(config.audit.retention_days));
    let every = Duration::from_secs(config.audit.prune_every_hours.saturating_mul(3600));
    let signer = Arc::new(signer);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        loop {
            ticks.tick().await;
            let (location, signer, witness) = (location.clone(), signer.clone(), witness.clone());
            let pruned = tokio::task::spawn_blocking(move || location.prune(&signer, chrono::Utc::now() - retention, &witness)).await;
            match pruned {
                Ok(Ok(report)) if report.removed > 0 => tracing::info!(removed = report.removed, anchored_at = ?report.anchored_at, "audit records past retention pruned"),
                Ok(Ok(_)) => {}
                Ok(Err(error)) => tracing::error!(%error, "scheduled audit pruning failed"),
                Err(error) => tracing::error!(%error, "scheduled audit pruning panicked"),
            }
        }
    });
    Ok(())
}

/// Serves `listener` until `shutdown` completes, then drains open connections.
pub async fn run(
    listener: TcpListener,
    tls: Arc<Swappable<rustls::ServerConfig>>,
    app: Arc<App>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {

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
        // The TLS configuration in force now: a reload affects new connections only.
        let acceptor = TlsAcceptor::from(tls.current());
        let app = app.clone();
        let mut stop = stop_receiver.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let tls = match tokio::time::timeout(app.limits.handshake_timeout(), acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(error)) => {
                    app.services.metrics.record_handshake_failure(crate::metrics::handshake_failure_reason(&error));
                    tracing::info!(client = %address, reason = %error, "TLS handshake refused");
                    return;
                }
                Err(_) => {
                    app.services.metrics.record_handshake_failure("timeout");
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
            let metrics = app.services.metrics.clone();
            metrics.connections_open.inc();
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
            metrics.connections_open.dec();
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
