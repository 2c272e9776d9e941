//! The accept loop: TCP → TLS (mandatory client certificate) → HTTP/1.1 or HTTP/2 by ALPN →
//! `http::route`. Bounded: a connection limit and caps per client address, per certificate and
//! for unregistered certificates (`connection`); timeouts for the handshake, the first byte,
//! the headers and idleness; HTTP/2 streams per connection. A bad peer costs a few
//! connections, never the server. Graceful: on shutdown, stop accepting, let open connections
//! finish their requests.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use std::net::{IpAddr, SocketAddr};

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::audit::{AuditSigner, WriterOptions};
use crate::config::{Backend, Config};
use crate::connection::{Activity, Counts, Expiry, LogThrottle, Slot, Watched};
use crate::http::{route, App};
use crate::identity::{CertificateIdentity, ConsumerRegistry};
use crate::service::{Peer, Services};
use crate::store::Store;
use crate::reload::Swappable;
pub use crate::reload::Reloader;
use crate::tls;

/// How long open connections get to finish after shutdown is asked for.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an idle connection gets to close cleanly (HTTP/2 GOAWAY) before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(5);
/// A PING not answered within this is a dead HTTP/2 peer.
const HTTP2_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(20);
/// HTTP/2 flow-control windows: what a peer may send before the server reads it, so what a
/// connection may buffer beyond the request budget (hyper's defaults are 1 MB each).
const HTTP2_STREAM_WINDOW: u32 = 256 * 1024;
const HTTP2_CONNECTION_WINDOW: u32 = 512 * 1024;

/// Why the service cannot start: the part that failed, naming its file or database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrepareError {
    #[error(transparent)]
    Tls(#[from] tls::TlsSetupError),
    #[error(transparent)]
    Registry(#[from] crate::identity::RegistryError),
    #[error("cannot create {}", .path.display())]
    DataDir { path: std::path::PathBuf, source: std::io::Error },
    #[error(transparent)]
    DatabaseTls(#[from] crate::config::DatabaseTlsError),
    #[error("cannot open the PostgreSQL register")]
    Postgres(#[source] crate::store::StoreError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    AuditKey(#[from] crate::audit::AuditKeyError),
    #[error(transparent)]
    Timestamp(#[from] crate::audit::timestamp::TimestampError),
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditStoreError),
    #[error(transparent)]
    AnswerSigner(#[from] crate::wssec::sign::AnswerSignerError),
}

/// Everything `run` needs, built from a configuration.
pub struct Prepared {
    pub tls: Arc<Swappable<tls::TlsState>>,
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
pub fn prepare(config: &Config) -> Result<Prepared, PrepareError> {
    prepare_with_clock(config, crate::service::Clock::System)
}

/// The same, reading `clock` for every call's `now` (tests fix it to keep time-dependent rules,
/// such as the daily quota's UTC day, out of the machine's hands).
pub fn prepare_with_clock(config: &Config, clock: crate::service::Clock) -> Result<Prepared, PrepareError> {
    let tls = Arc::new(Swappable::new(tls::TlsState::load(&config.tls, None)?));
    let registry = ConsumerRegistry::load(&config.consumers)?;
    crate::private_files::create_dir(&config.data_dir).map_err(|source| PrepareError::DataDir { path: config.data_dir.clone(), source })?;
    let store = match &config.backend {
        Backend::Postgres { primary, replica } => {
            let options = config.postgres_options()?;
            for url in std::iter::once(primary).chain(replica) {
                if crate::database::postgres::is_plaintext_over_network(url, &options) {
                    tracing::warn!("PostgreSQL is reached over the network without TLS: set [database] tls_ca");
                }
            }
            Store::open_postgres(primary, replica.as_deref(), &options).map_err(PrepareError::Postgres)?
        }
        Backend::Sqlite => Store::open_sqlite(&config.data_dir)?,
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
    let metrics = Arc::new(crate::metrics::Metrics::default().with_audit(audit.stats()));
    let budget = crate::budget::BodyBudget::new(config.limits.max_buffered_request_bytes, metrics.buffered_request_bytes.clone());
    let app = Arc::new(App {
        services: Services {
            store,
            registry: Swappable::new(registry),
            environment: config.environment,
            metrics,
            audit,
            xml_limits: config.limits.xml(),
            security: crate::wssec::MessageSecurity::load(&config.security, &config.tls.certificate, &config.tls.private_key)?,
            quotas,
            clock,
        },
        public_url: config.public_url.clone(),
        limits: config.limits.clone(),
        max_register_age: config.max_register_age(),
        tls: tls.clone(),
        budget,
    });
    if config.audit.prune_every_hours > 0 {
        spawn_scheduled_pruning(config, witness.clone())?;
    }
    let reloader = Reloader { tls: tls.clone(), app: app.clone() };
    Ok(Prepared { tls, app, reloader, audit_writer, audit_witness: witness })
}

/// Prunes audit records past the retention period every `prune_every_hours`.
fn spawn_scheduled_pruning(config: &Config, witness: crate::audit::Witness) -> Result<(), PrepareError> {
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

/// Open connections per client address and per certificate, and the unregistered share.
struct Caps {
    by_address: Arc<Counts<IpAddr>>,
    by_certificate: Arc<Counts<String>>,
    unregistered: Arc<Semaphore>,
    /// Refusals are logged at most once a second each.
    log: [LogThrottle; 3],
}

/// What holds a connection's place under the caps until it closes (held, never read).
#[allow(dead_code)]
enum CertificateSlot {
    Registered(Slot<String>),
    Unregistered(OwnedSemaphorePermit),
}

/// Serves `listener` until `shutdown` completes, then drains open connections. Fails only if
/// the connection semaphore is closed, which nothing does.
pub async fn run(
    listener: TcpListener,
    tls: Arc<Swappable<tls::TlsState>>,
    app: Arc<App>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), tokio::sync::AcquireError> {

    let max_connections = app.limits.max_connections.max(1);
    let connections = Arc::new(Semaphore::new(max_connections));
    let caps = Arc::new(Caps {
        by_address: Arc::default(),
        by_certificate: Arc::default(),
        unregistered: Arc::new(Semaphore::new(app.limits.max_connections_unregistered)),
        log: std::array::from_fn(|_| LogThrottle::new(Duration::from_secs(1))),
    });
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
        // Before the handshake, which costs the server more than the client.
        let Some(address_slot) = caps.by_address.try_take(address.ip(), app.limits.max_connections_per_address) else {
            refuse(&app, &caps, address, None, Refusal::PerAddress);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        // The TLS configuration in force now: a reload affects new connections only.
        let tls_state = tls.current();
        let acceptor = TlsAcceptor::from(tls_state.server_config());
        let tls_now = tls.clone();
        let (app, caps) = (app.clone(), caps.clone());
        let stop = stop_receiver.clone();
        tokio::spawn(async move {
            let slots = (permit, address_slot);
            let Some(tls) = handshake(&app, acceptor, tcp, address).await else { return };
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
            let Some(certificate_slot) = certificate_slot(&app, &caps, &certificate, address) else {
                // Its places are free before the client sees the connection close.
                drop(slots);
                return;
            };
            // A resumed session skipped the verifier: revocation is checked here, for every
            // handshake, and again per request when the CRLs change.
            let revocation = Revocation {
                peer_certificate: tls::PeerCertificate::after_handshake(&tls_state, tls.get_ref().1, address, &app.services.metrics),
                tls: tls_now,
            };
            let peer = Arc::new(Peer { address, certificate });
            serve(app, tls, peer, Arc::new(revocation), stop).await;
            drop((certificate_slot, slots));
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

/// The TLS handshake within its timeout; a refusal is counted and logged.
async fn handshake(app: &App, acceptor: TlsAcceptor, tcp: TcpStream, address: SocketAddr) -> Option<TlsStream<TcpStream>> {
    match tokio::time::timeout(app.limits.handshake_timeout(), acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => Some(tls),
        Ok(Err(error)) => {
            app.services.metrics.record_handshake_failure(crate::metrics::handshake_failure_reason(&error));
            tracing::info!(client = %address, reason = %error, "TLS handshake refused");
            None
        }
        Err(_) => {
            app.services.metrics.record_handshake_failure("timeout");
            tracing::info!(client = %address, reason = "timeout", "TLS handshake refused");
            None
        }
    }
}

/// A place under the certificate caps: a certificate registered to no consumer of this
/// environment takes one of the few unregistered places (its calls can only be refused).
fn certificate_slot(app: &App, caps: &Caps, certificate: &CertificateIdentity, address: SocketAddr) -> Option<CertificateSlot> {
    let registered = app.services.registry.current().identify(certificate).is_some_and(|c| c.environment == app.services.environment);
    let slot = match registered {
        true => caps
            .by_certificate
            .try_take(certificate.sha256_fingerprint.clone(), app.limits.max_connections_per_certificate)
            .map(CertificateSlot::Registered),
        false => caps.unregistered.clone().try_acquire_owned().ok().map(CertificateSlot::Unregistered),
    };
    if slot.is_none() {
        refuse(app, caps, address, Some(certificate), if registered { Refusal::PerCertificate } else { Refusal::Unregistered });
    }
    slot
}

/// Which cap closed a connection.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    PerAddress = 0,
    PerCertificate = 1,
    Unregistered = 2,
}

impl Refusal {
    fn label(self) -> &'static str {
        match self {
            Refusal::PerAddress => "per_address",
            Refusal::PerCertificate => "per_certificate",
            Refusal::Unregistered => "unregistered",
        }
    }
}

/// Counts and logs a connection closed for a cap: the address and the certificate's
/// fingerprint, never its subject (which may name a person).
fn refuse(app: &App, caps: &Caps, address: SocketAddr, certificate: Option<&CertificateIdentity>, refusal: Refusal) {
    let reason = refusal.label();
    app.services.metrics.record_connection_refused(reason);
    if let Some(left_out) = caps.log[refusal as usize].admit() {
        let fingerprint = certificate.map_or("-", |c| c.sha256_fingerprint.as_str());
        tracing::info!(client = %address, certificate = fingerprint, reason, left_out, "connection refused: over its cap");
    }
}

/// What a connection re-checks before each request: its certificate against the CRLs in force.
struct Revocation {
    peer_certificate: tls::PeerCertificate,
    tls: Arc<Swappable<tls::TlsState>>,
}

/// Counts a connection in the open-connections gauge for as long as it lives — also when its
/// task ends by a panic, so the gauge cannot stick.
struct OpenConnection(Arc<crate::metrics::Metrics>);

impl OpenConnection {
    fn new(metrics: Arc<crate::metrics::Metrics>) -> Self {
        metrics.connections_open.inc();
        OpenConnection(metrics)
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.connections_open.dec();
    }
}

/// Serves HTTP on an authenticated connection until it ends, the watchdog closes it, or
/// shutdown is asked for.
async fn serve(app: Arc<App>, tls: TlsStream<TcpStream>, peer: Arc<Peer>, revocation: Arc<Revocation>, mut stop: watch::Receiver<bool>) {
    let metrics = app.services.metrics.clone();
    let limits = app.limits.clone();
    let address = peer.address;
    // The protocol the client chose in the handshake: no sniffing of the first bytes.
    let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    let activity = Activity::new();
    let io = TokioIo::new(Watched::new(tls, activity.clone()));
    let service = {
        let activity = activity.clone();
        service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let (app, peer) = (app.clone(), peer.clone());
            let in_flight = activity.request();
            let refused = revocation.peer_certificate.check(&revocation.tls.current(), peer.address, &app.services.metrics).err();
            async move {
                let response = match refused {
                    Some(refused) => refused.response(request.version()),
                    None => route(app, peer, request).await,
                };
                drop(in_flight);
                Ok::<_, std::convert::Infallible>(response)
            }
        })
    };
    let builder = auto::Builder::new(TokioExecutor::new());
    let mut builder = match alpn.as_deref() {
        Some(b"h2") => builder.http2_only(),
        Some(b"http/1.1") => builder.http1_only(),
        // No ALPN: the version is read from the first bytes, within the first-byte timeout.
        _ => builder,
    };
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout())
        .keep_alive(true);
    let keep_alive_interval = (limits.http2_keep_alive_interval_seconds > 0).then(|| Duration::from_secs(limits.http2_keep_alive_interval_seconds));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_http2_streams)
        .initial_stream_window_size(HTTP2_STREAM_WINDOW)
        .initial_connection_window_size(HTTP2_CONNECTION_WINDOW)
        .keep_alive_interval(keep_alive_interval)
        .keep_alive_timeout(HTTP2_KEEP_ALIVE_TIMEOUT);
    let _open = OpenConnection::new(metrics.clone());
    let connection = builder.serve_connection(io, service);
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
        expiry = activity.expired(limits.first_byte_timeout(), limits.idle_timeout()) => {
            metrics.record_connection_timed_out(expiry.label());
            tracing::debug!(client = %address, reason = expiry.label(), "connection closed by its timeout");
            if expiry == Expiry::Idle {
                connection.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(CLOSE_GRACE, connection).await;
            }
        }
    }
}
