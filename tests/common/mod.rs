//! The integration harness: a real server on an ephemeral port, over real mutual TLS with the
//! example certificates, on a real SQLite file seeded with the demo data; and a client that
//! presents any of the example identities. `TestServer` stops when dropped.

#![allow(dead_code)]

pub mod private_postgres;

use std::net::SocketAddr;
use std::str::FromStr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_rustls::TlsConnector;

use spolis_adapter::config::{Config, Limits};
use spolis_adapter::tools::demo_register::{self, DemoOptions};
use spolis_adapter::http::App;
use spolis_adapter::database::postgres;
use spolis_adapter::database::runtime::block_on;
use spolis_adapter::store::{import, sqlite};
use spolis_adapter::{server, tls};

pub const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";
pub const SPOLIS: &str = "http://ivis.eps.gov.lv/XMLSchemas/100001/LM-SPOLIS/v1-0";
pub const IVIS: &str = "http://ivis.eps.gov.lv/XMLSchemas/100001/IVIS/v1-0";

/// Persons in the shared test register, the showcase persons included.
pub const TEST_PERSONS: u64 = 300;

pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// The example PKI every test uses: the same files, names and registry as `certs-example/`
/// (written by the same code), but made once per test binary into a temporary directory,
/// valid from two days ago, so that the suite never fails because a committed certificate
/// or CRL has expired. The committed set is only what the demo and the WSDL client suites
/// use; `no_example_certificate_expires_within_five_years` (tests/mtls.rs) watches it.
pub fn certs_dir() -> PathBuf {
    static CERTS: OnceLock<tempfile::TempDir> = OnceLock::new();
    CERTS
        .get_or_init(|| {
            // A static is never dropped: under the target directory, what is left behind
            // goes with `cargo clean`. One per process, as nextest runs tests in parallel ones.
            let dir = tempfile::Builder::new()
                .prefix("example-pki-")
                .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
                .expect("temp dir for the example PKI");
            // Two days back: the CRL, issued a day after the start, is already in force.
            let start = time::OffsetDateTime::now_utc() - time::Duration::days(2);
            spolis_adapter::tools::example_pki::generate_example_certificates_from(dir.path(), start).expect("the example PKI");
            dir
        })
        .path()
        .to_path_buf()
}

/// One seeded register per test binary, read by every server that does not need its own.
pub fn shared_register() -> &'static Path {
    static REGISTER: OnceLock<tempfile::TempDir> = OnceLock::new();
    REGISTER
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("temp dir");
            demo_register::seed_sqlite(&dir.path().join(sqlite::DATABASE_FILE), &DemoOptions { persons: TEST_PERSONS, seed: 1 })
                .expect("seeding the test register");
            dir
        })
        .path()
}

/// A data directory whose register was loaded the way `demo` and `seed-demo` load it: the
/// generator's export (as of its fixed `DATA_HORIZON`) imported with `register import`, so
/// that the answers carry `RegisterAsOf` and every answer is the same on every run.
pub fn imported_demo_register(persons: u64) -> tempfile::TempDir {
    use spolis_adapter::register;
    let dir = tempfile::tempdir().expect("temp dir");
    let export = dir.path().join("demo-export.xml");
    demo_register::write_export(&export, &DemoOptions { persons, seed: 1 }).expect("the demo export");
    let target = register::Target::Sqlite(dir.path().join(sqlite::DATABASE_FILE));
    let options = register::ImportOptions { files: vec![export.clone()], delta: false, dry_run: false };
    let outcome = register::import(&target, &options, &mut |_| {}, &mut |_| Ok(())).expect("the demo export imported");
    assert!(outcome.problems.is_empty() && outcome.record.is_some(), "the demo export imported: {:?}", outcome.problems);
    std::fs::remove_file(&export).expect("the export removed");
    dir
}

pub struct TestServer {
    pub address: SocketAddr,
    /// The plain-HTTP operations listener.
    pub ops_address: SocketAddr,
    ops_stop: Option<oneshot::Sender<()>>,
    pub data_dir: PathBuf,
    pub config: Config,
    /// The running service, for tests that drive the pipeline directly.
    pub app: Option<Arc<App>>,
    /// Reloads the registry, TLS files and answer-signing key, as SIGHUP does.
    pub reloader: Option<spolis_adapter::server::Reloader>,
    audit_writer: Option<std::thread::JoinHandle<()>>,
    stop: Option<oneshot::Sender<()>>,
    /// Holds `audit.sqlite3` and the signing key.
    pub audit_dir: PathBuf,
    _own_dir: Option<tempfile::TempDir>,
    _own_audit_dir: tempfile::TempDir,
    /// The PostgreSQL database this server uses (register and audit), when on PostgreSQL;
    /// dropped with the last holder. Clone it to keep the database after `stop`.
    pub database: Option<Arc<TestDatabase>>,
}

/// Which store a test server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend of tests that do not choose one: `SPOLIS_TEST_BACKEND=postgres` runs
    /// them on PostgreSQL, anything else (or nothing) on SQLite.
    pub fn from_environment() -> Backend {
        match std::env::var("SPOLIS_TEST_BACKEND").as_deref() {
            Ok("postgres") => Backend::Postgres,
            _ => Backend::Sqlite,
        }
    }
}

/// The PostgreSQL server tests use: `SPOLIS_TEST_POSTGRES` (a URL without a database name
/// or with any; trust authentication on 127.0.0.1:5432 by default).
pub fn postgres_server_url() -> String {
    std::env::var("SPOLIS_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string())
}

/// A database of its own for one test, `spolis_test_<random>`, created on a PostgreSQL
/// server and dropped (with every connection to it) when the last holder drops it.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
    /// `postgres://user@host:port` of an administrator on the same server.
    admin_server: String,
    /// How to connect (TLS, client certificate) to the server.
    pub options: postgres::PostgresOptions,
}

impl TestDatabase {
    /// A database on the test server ([`postgres_server_url`]).
    pub fn create() -> TestDatabase {
        let server = server_part(&postgres_server_url());
        Self::create_on(&server, &server, postgres::PostgresOptions::default())
    }

    /// A database on the server `admin_server` (as its administrator), owned by the user
    /// of `owner_server` and reached as that user with `options`.
    pub fn create_on(admin_server: &str, owner_server: &str, options: postgres::PostgresOptions) -> TestDatabase {
        let name = format!("spolis_test_{}", uuid::Uuid::new_v4().simple());
        let owner = tokio_postgres::Config::from_str(owner_server).ok().and_then(|c| c.get_user().map(str::to_string));
        let owned_by = owner.map(|user| format!(" OWNER {user}")).unwrap_or_default();
        admin(admin_server, &options, &format!("CREATE DATABASE {name}{owned_by}"));
        TestDatabase { url: format!("{owner_server}/{name}"), name, admin_server: admin_server.to_string(), options }
    }

    /// Migrates it and copies the SQLite register at `sqlite` into it, unless it holds one.
    pub fn load_register(&self, sqlite: &Path) {
        if !import::holds_persons(&self.url, &self.options).expect("the test database answers") {
            import::import_sqlite_register(&self.url, &self.options, sqlite).expect("copying the register to PostgreSQL");
        }
    }

    /// Runs one statement on this database; returns how many rows it touched.
    pub fn execute(&self, sql: &str) -> u64 {
        let (url, options) = (self.url.clone(), self.options.clone());
        block_on(|| async {
            let client = postgres::connect(&url, &options).await?;
            client.execute(sql, &[]).await.map_err(|e| spolis_adapter::store::StoreError::Unavailable(postgres::describe(&e)))
        })
        .expect("the statement runs")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        admin(&self.admin_server, &self.options, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

/// `postgres://user@host:port` of a URL, without the database name and parameters.
pub fn server_part(url: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find(['/', '?']) {
        Some(end) => url[..after_scheme + end].to_string(),
        None => url.to_string(),
    }
}

/// Runs statements on the `postgres` database of `server` (`postgres://user@host:port`).
pub fn admin(server: &str, options: &postgres::PostgresOptions, sql: &str) {
    let url = format!("{server}/postgres");
    block_on(|| async {
        let client = postgres::connect(&url, options).await?;
        client.batch_execute(sql).await.map_err(|e| spolis_adapter::store::StoreError::Unavailable(postgres::describe(&e)))
    })
    .unwrap_or_else(|error| panic!("PostgreSQL for the tests ({sql}): {error}"));
}

#[derive(Default)]
pub struct Options {
    /// A private copy of the register, for tests that break it.
    pub own_register: bool,
    /// A data directory whose register (`spolis.sqlite3`) the test filled itself.
    pub data_dir: Option<PathBuf>,
    /// Statements run on the private register (implies `own_register`) before the server
    /// starts, so that a test can hold rows whose answers it computes by hand; on PostgreSQL
    /// they are copied with the rest.
    pub register_rows: Option<&'static str>,
    /// A consumer registry text instead of the example PKI's `consumers.toml`.
    pub consumers: Option<String>,
    pub limits: Option<Limits>,
    /// An audit directory to reuse (`audit.sqlite3`, `audit-signing.key`), e.g. after a restart.
    pub audit_dir: Option<PathBuf>,
    /// The store; `None`: [`Backend::from_environment`], except for tests that break their
    /// own SQLite register or reuse an audit directory, which stay on SQLite.
    pub backend: Option<Backend>,
    /// A PostgreSQL database to share with other servers (several instances on one
    /// database); implies [`Backend::Postgres`]. Seeded by the first server that finds it empty.
    pub database: Option<Arc<TestDatabase>>,
    /// Overrides the PostgreSQL URL the server connects to (e.g. through a proxy), keeping
    /// `database` for seeding and clean-up.
    pub database_url: Option<String>,
    /// A read replica for the EP115/EP116 queries (`database_replica_url`).
    pub database_replica_url: Option<String>,
    /// Pool size and timeouts for PostgreSQL.
    pub database_config: Option<spolis_adapter::config::DatabaseConfig>,
    /// CRL files instead of the example PKI's `ca.crl` (set before `configure` runs).
    pub crls: Option<Vec<PathBuf>>,
    /// Any further change to the configuration (e.g. `[security]`), made last.
    pub configure: Option<fn(&mut Config)>,
    /// A fixed clock for every call's `now` (the system clock when `None`).
    pub clock: Option<spolis_adapter::service::Clock>,
    /// `[audit] tsa_url`: an RFC 3161 time-stamping authority for the witnessed checkpoints.
    pub audit_tsa_url: Option<String>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> TestServer {
        let (data_dir, own_dir) = if let Some(dir) = &options.data_dir {
            (dir.clone(), None)
        } else if options.own_register || options.register_rows.is_some() {
            let dir = tempfile::tempdir().expect("temp dir");
            demo_register::seed_sqlite(&dir.path().join(sqlite::DATABASE_FILE), &DemoOptions { persons: 50, seed: 1 })
                .expect("seeding a private register");
            if let Some(rows) = options.register_rows {
                rusqlite::Connection::open(dir.path().join(sqlite::DATABASE_FILE))
                    .and_then(|connection| connection.execute_batch(rows))
                    .expect("the test's rows written into the private register");
            }
            (dir.path().to_path_buf(), Some(dir))
        } else {
            (shared_register().to_path_buf(), None)
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("local address");
        // The audit log is the server's own, even on the shared register, laid out like a
        // data directory so that `audit … --data-dir <audit_dir>` finds it.
        let own_audit_dir = tempfile::tempdir().expect("temp dir");
        let audit_dir = options.audit_dir.clone().unwrap_or_else(|| own_audit_dir.path().to_path_buf());
        let mut config = Config::demo(address, data_dir.clone(), &certs_dir());
        config.audit.path = Some(audit_dir.join("audit.sqlite3"));
        config.audit.signing_key = Some(audit_dir.join("audit-signing.key"));
        config.audit.witness_file = Some(audit_dir.join("audit-witness.log"));
        config.audit.prune_every_hours = 0;
        let backend = match (&options.database, options.backend) {
            (Some(_), _) => Backend::Postgres,
            (None, Some(backend)) => backend,
            (None, None) if options.own_register || options.audit_dir.is_some() || options.data_dir.is_some() => Backend::Sqlite,
            (None, None) => Backend::from_environment(),
        };
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let database = options.database.clone().unwrap_or_else(|| Arc::new(TestDatabase::create()));
                database.load_register(&data_dir.join(sqlite::DATABASE_FILE));
                config.backend = spolis_adapter::config::Backend::Postgres {
                    primary: options.database_url.clone().unwrap_or_else(|| database.url.clone()),
                    replica: options.database_replica_url.clone(),
                };
                Some(database)
            }
        };
        if let Some(database_config) = options.database_config.clone() {
            config.database = database_config;
        }
        if let Some(limits) = options.limits {
            config.limits = limits;
        }
        if let Some(crls) = options.crls.clone() {
            config.tls.crls = crls;
        }
        if let Some(url) = &options.audit_tsa_url {
            config.audit.tsa_url = Some(url.clone());
        }
        if let Some(configure) = options.configure {
            configure(&mut config);
        }
        if let Some(text) = &options.consumers {
            let path = own_audit_dir.path().join("consumers.toml");
            std::fs::write(&path, text).expect("consumer registry");
            config.consumers = path;
        }
        let prepared = server::prepare_with_clock(&config, options.clock.unwrap_or_default()).expect("server prepared");
        let app = prepared.app.clone();
        // The operations listener (/health, /ready, /metrics), as `demo` and `serve` start it.
        let ops_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let ops_address = ops_listener.local_addr().expect("local address");
        let ops = Arc::new(spolis_adapter::ops::Ops::new(app.clone()));
        let (ops_stop, ops_stopped) = oneshot::channel::<()>();
        tokio::spawn(spolis_adapter::ops::run(ops_listener, ops, async {
            let _ = ops_stopped.await;
        }));
        let (stop, stopped) = oneshot::channel::<()>();
        let (tls, served_app) = (prepared.tls, prepared.app);
        tokio::spawn(async move {
            let _ = server::run(listener, tls, served_app, async {
                let _ = stopped.await;
            })
            .await;
        });
        TestServer {
            address,
            ops_address,
            ops_stop: Some(ops_stop),
            data_dir,
            config,
            app: Some(app),
            reloader: Some(prepared.reloader),
            audit_writer: Some(prepared.audit_writer),
            stop: Some(stop),
            audit_dir,
            _own_dir: own_dir,
            _own_audit_dir: own_audit_dir,
            database,
        }
    }

    /// Stops the server and waits until the audit writer has committed everything and signed
    /// its last checkpoint, so the log can be verified and exported as a whole.
    pub async fn stop(mut self) -> (Config, tempfile::TempDir) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(stop) = self.ops_stop.take() {
            let _ = stop.send(());
        }
        self.app.take();
        self.reloader.take();
        // The server task drops its handle once its connections are drained.
        let writer = self.audit_writer.take().expect("writer");
        tokio::task::spawn_blocking(move || {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while !writer.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            assert!(writer.is_finished(), "the audit writer did not finish");
        })
        .await
        .expect("join");
        // Hand over the audit directory: the caller inspects the log after the server is gone.
        let audit_dir = std::mem::replace(&mut self._own_audit_dir, tempfile::tempdir().expect("temp dir"));
        (self.config.clone(), audit_dir)
    }

    /// The audit database of this server.
    pub fn audit_path(&self) -> PathBuf {
        self.config.audit_path()
    }

    pub fn database(&self) -> PathBuf {
        self.data_dir.join(sqlite::DATABASE_FILE)
    }

    /// An HTTP/1.1 client presenting `<identity>.crt` of the example PKI (`certs_dir`).
    pub async fn client(&self, identity: &str) -> Client {
        self.connect(Some(identity), Protocol::Http1).await.expect("TLS connection")
    }

    /// Connects with the given identity (or none) and protocol; the error is the TLS or
    /// HTTP handshake's.
    pub async fn connect(&self, identity: Option<&str>, protocol: Protocol) -> std::io::Result<Client> {
        self.connect_with(client_tls_config(identity, protocol), protocol).await
    }

    /// Connects with a client TLS configuration of the test's own: its identity, and its
    /// session store (reusing one `Arc` resumes sessions the server offered).
    pub async fn connect_with(&self, config: Arc<rustls::ClientConfig>, protocol: Protocol) -> std::io::Result<Client> {
        let tcp = TcpStream::connect(self.address).await?;
        let tls = TlsConnector::from(config)
            .connect(ServerName::try_from("localhost").expect("name"), tcp)
            .await?;
        let handshake = tls.get_ref().1.handshake_kind();
        let io = TokioIo::new(tls);
        let to_io = |e: hyper::Error| std::io::Error::other(e);
        let sender = match protocol {
            Protocol::Http1 => {
                let (sender, connection) = http1::handshake(io).await.map_err(to_io)?;
                tokio::spawn(connection);
                Sender::Http1(sender)
            }
            Protocol::Http2 => {
                let (sender, connection) = http2::handshake(TokioExecutor::new(), io).await.map_err(to_io)?;
                tokio::spawn(connection);
                Sender::Http2(sender)
            }
        };
        Ok(Client { sender, handshake })
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(stop) = self.ops_stop.take() {
            let _ = stop.send(());
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Http1,
    Http2,
}

fn connector(identity: Option<&str>, protocol: Protocol) -> TlsConnector {
    connector_offering(identity, Some(protocol))
}

/// A connector offering `protocol` by ALPN, or no ALPN at all.
fn connector_offering(identity: Option<&str>, protocol: Option<Protocol>) -> TlsConnector {
    TlsConnector::from(tls_config(example_identity(identity), protocol))
}

fn example_identity(identity: Option<&str>) -> Option<(Vec<rustls::pki_types::CertificateDer<'static>>, rustls::pki_types::PrivateKeyDer<'static>)> {
    identity.map(|name| {
        let dir = certs_dir();
        let chain = tls::read_certificates(&dir.join(format!("{name}.crt"))).expect("client certificate");
        let key = tls::read_private_key(&dir.join(format!("{name}.key"))).expect("client key");
        (chain, key)
    })
}

/// A client TLS configuration trusting the example CA, presenting
/// `<identity>.crt` of the example PKI (`certs_dir`) (or nothing), offering `protocol` by ALPN.
pub fn client_tls_config(identity: Option<&str>, protocol: Protocol) -> Arc<rustls::ClientConfig> {
    tls_config(example_identity(identity), Some(protocol))
}

/// The same with a certificate chain and key made by the test.
pub fn client_tls_config_with(
    identity: Option<(Vec<rustls::pki_types::CertificateDer<'static>>, rustls::pki_types::PrivateKeyDer<'static>)>,
    protocol: Protocol,
) -> Arc<rustls::ClientConfig> {
    tls_config(identity, Some(protocol))
}

fn tls_config(
    identity: Option<(Vec<rustls::pki_types::CertificateDer<'static>>, rustls::pki_types::PrivateKeyDer<'static>)>,
    protocol: Option<Protocol>,
) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for ca in tls::read_certificates(&certs_dir().join("ca.crt")).expect("ca.crt") {
        roots.add(ca).expect("CA");
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots);
    let mut config = match identity {
        Some((chain, key)) => builder.with_client_auth_cert(chain, key).expect("client auth"),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = match protocol {
        Some(Protocol::Http1) => vec![b"http/1.1".to_vec()],
        Some(Protocol::Http2) => vec![b"h2".to_vec()],
        None => Vec::new(),
    };
    Arc::new(config)
}

/// The TLS alert the server sent, found anywhere in the chain of an error of the TLS
/// stream, of hyper or of our client.
pub fn tls_alert(error: &(dyn std::error::Error + 'static)) -> Option<rustls::AlertDescription> {
    use rustls::AlertDescription::*;
    // h2 keeps an I/O error as its text only: read the alert's name from it.
    let text = format!("{error:?}");
    let named = [CertificateRequired, CertificateExpired, CertificateRevoked, UnknownCA, UnsupportedCertificate, BadCertificate, CertificateUnknown, AccessDenied, HandshakeFailure, DecryptError]
        .into_iter()
        .find(|alert| text.contains(&format!("received fatal alert: {alert:?}\"")));
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(rustls::Error::AlertReceived(alert)) = error.downcast_ref::<rustls::Error>() {
            return Some(*alert);
        }
        // io::Error's `source` skips the error it wraps.
        current = match error.downcast_ref::<std::io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => error.source(),
        };
    }
    named
}

/// What became of a request on a fresh connection: `Ok(status)`, or the TLS alert that
/// refused it (`Err(None)`: refused some other way).
pub async fn outcome(server: &TestServer, config: Arc<rustls::ClientConfig>) -> Result<u16, Option<rustls::AlertDescription>> {
    let mut client = server.connect_with(config, Protocol::Http1).await.map_err(|error| tls_alert(&error))?;
    // With TLS 1.3 the client finishes its side before the server has judged the
    // certificate: the refusal arrives as an alert on the first read.
    let request = hyper::Request::get("/GetApplicationList?wsdl").header("host", "localhost").body(Full::new(Bytes::new())).expect("request");
    client.send(request).await.map(|reply| reply.status).map_err(|error| tls_alert(&error))
}

enum Sender {
    Http1(http1::SendRequest<Full<Bytes>>),
    Http2(http2::SendRequest<Full<Bytes>>),
}

pub struct Client {
    sender: Sender,
    /// Whether the TLS session was resumed.
    pub handshake: Option<rustls::HandshakeKind>,
}

/// An answer as received.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// The `x-call-id` header: the call's audit record id.
    pub call_id: String,
    pub content_type: String,
    pub version: hyper::Version,
    /// The `retry-after` header, if any.
    pub retry_after: Option<String>,
    pub body: String,
}

impl Client {
    pub async fn send(&mut self, request: hyper::Request<Full<Bytes>>) -> std::io::Result<Reply> {
        let to_io = |e: hyper::Error| std::io::Error::other(e);
        let response = match &mut self.sender {
            Sender::Http1(sender) => {
                sender.ready().await.map_err(to_io)?;
                sender.send_request(request).await.map_err(to_io)?
            }
            Sender::Http2(sender) => {
                sender.ready().await.map_err(to_io)?;
                sender.send_request(request).await.map_err(to_io)?
            }
        };
        let status = response.status().as_u16();
        let version = response.version();
        let call_id = response
            .headers()
            .get("x-call-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = response.into_body().collect().await.map_err(to_io)?.to_bytes();
        let body = String::from_utf8_lossy(&body).into_owned();
        // Schema truth: every SOAP answer any test receives must be valid against xsd/.
        if let Err(problem) = validate_answer(&body) {
            panic!("an answer does not validate against xsd/: {problem}\n{body}");
        }
        Ok(Reply { status, call_id, content_type, version, retry_after, body })
    }

    /// POSTs `body` with a Content-Type and an optional SOAPAction header.
    pub async fn post(&mut self, path: &str, content_type: &str, soap_action: Option<&str>, body: impl Into<Bytes>) -> Reply {
        let mut request = hyper::Request::post(path)
            .header("host", "localhost")
            .header("content-type", content_type);
        if let Some(action) = soap_action {
            request = request.header("soapaction", action);
        }
        self.send(request.body(Full::new(body.into())).expect("request")).await.expect("answer")
    }

    /// POSTs a SOAP request the way the samples say: SOAP 1.1 (`text/xml`) or 1.2 by the
    /// envelope's namespace, without an action.
    pub async fn soap(&mut self, path: &str, envelope: &str) -> Reply {
        let content_type = if envelope.contains(SOAP12) { "application/soap+xml; charset=utf-8" } else { "text/xml; charset=utf-8" };
        self.post(path, content_type, None, envelope.to_string()).await
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        let request = hyper::Request::get(path).header("host", "localhost").body(Full::new(Bytes::new())).expect("request");
        self.send(request).await.expect("answer")
    }
}

/// GETs `path` from the plain-HTTP operations listener: (status, body).
pub async fn ops_get(address: SocketAddr, path: &str) -> (u16, String) {
    let tcp = TcpStream::connect(address).await.expect("connect");
    let (mut sender, connection) = http1::handshake(TokioIo::new(tcp)).await.expect("handshake");
    tokio::spawn(connection);
    let request = hyper::Request::get(path).header("host", "localhost").body(Full::new(Bytes::new())).expect("request");
    let response = sender.send_request(request).await.expect("answer");
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// Validates `document` against `schema` (a file under `xsd/`) with xmllint (libxml2), an
/// implementation independent of ours.
pub fn xmllint_validate(schema: &str, document: &str) -> Result<(), String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(repo_path("xsd").join(schema))
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("xmllint is required by the tests (apt-get install libxml2-utils): {e}"))?;
    child.stdin.take().expect("stdin").write_all(document.as_bytes()).map_err(|e| e.to_string())?;
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// The text of the first `<name …>…</name>` element (our answers declare their payload's
/// namespace on the payload element itself, so it stands alone).
fn element_text<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    let start = body.find(&format!("<{name} "))?;
    let close = format!("</{name}>");
    let end = body[start..].find(&close)? + start + close.len();
    Some(&body[start..end])
}

/// Checks an answer's payload against the schemas: the plain answer against its service's
/// XSD, an IVISResponse against IVIS.xsd and its inner answer against the service's XSD, a
/// fault's `ServiceError` detail against the common XSD. Bodies that are not SOAP envelopes
/// (WSDL, XSD) are not answers and pass.
pub fn validate_answer(body: &str) -> Result<(), String> {
    if !body.contains(":Envelope") {
        return Ok(());
    }
    let mut checked = 0;
    if let Some(ivis) = element_text(body, "IVISResponse") {
        xmllint_validate("IVIS.xsd", ivis)?;
        checked += 1;
    }
    for (element, schema) in [
        ("GetApplicationListResponse", "GetApplicationList.xsd"),
        ("GetQueueStatusListResponse", "GetQueueStatusList.xsd"),
        ("GetQueueStatisticsResponse", "GetQueueStatistics.xsd"),
        ("ServiceError", "SpolisCommon.xsd"),
    ] {
        if let Some(payload) = element_text(body, element) {
            xmllint_validate(schema, payload)?;
            checked += 1;
        }
    }
    if checked == 0 {
        return Err("an envelope without a known answer element".into());
    }
    Ok(())
}

/// `--url https://localhost:PORT --cert riga.crt --key riga.key --ca ca.crt`: how the
/// `client` and `replay` subcommands reach a test server as the Riga consumer.
pub fn riga_connection_args(port: u16) -> Vec<std::ffi::OsString> {
    let certs = certs_dir();
    vec![
        "--url".into(),
        format!("https://localhost:{port}").into(),
        "--cert".into(),
        certs.join("riga.crt").into(),
        "--key".into(),
        certs.join("riga.key").into(),
        "--ca".into(),
        certs.join("ca.crt").into(),
    ]
}

/// A file of `wsdl/samples/`.
pub fn sample(name: &str) -> String {
    std::fs::read_to_string(repo_path("wsdl/samples").join(name)).expect("sample")
}

/// A plain-style SOAP envelope of `version` ("1.1"/"1.2") around `payload`.
pub fn envelope(version: &str, payload: &str) -> String {
    let ns = if version == "1.2" { SOAP12 } else { SOAP11 };
    format!(r#"<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{ns}"><s:Body>{payload}</s:Body></s:Envelope>"#)
}

/// An operation element with `inner` content and the purpose and operator appended.
pub fn operation(name: &str, inner: &str) -> String {
    format!(r#"<{name} xmlns="{SPOLIS}">{inner}{PURPOSE}{OPERATOR}</{name}>"#)
}

pub const LEGAL_BASIS: &str = "Sociālo pakalpojumu un sociālās palīdzības likums, 9. pants";

pub const PURPOSE: &str =
    "<Purpose><LegalBasis>Sociālo pakalpojumu un sociālās palīdzības likums, 9. pants</LegalBasis></Purpose>";

pub const OPERATOR: &str =
    "<Operator><FirstName>Anna</FirstName><Surname>Liepiņa</Surname><PersonCode>120379-10015</PersonCode></Operator>";

/// The stable error code in a fault's detail or an IVIS error list, if any.
pub fn error_code(body: &str) -> Option<String> {
    let code = |start: &str, end: &str| {
        let from = body.find(start)? + start.len();
        let to = body[from..].find(end)? + from;
        Some(body[from..to].to_string())
    };
    code("<Code>", "</Code>")
        .filter(|_| body.contains("<ServiceError"))
        .or_else(|| code("<ErrorCode>", "</ErrorCode>"))
}

/// All the texts of elements with the given local name, in document order.
pub fn texts(body: &str, local_name: &str) -> Vec<String> {
    let open = format!("<{local_name}>");
    let close = format!("</{local_name}>");
    body.match_indices(&open)
        .filter_map(|(at, _)| {
            let from = at + open.len();
            body[from..].find(&close).map(|to| body[from..from + to].to_string())
        })
        .collect()
}

impl TestServer {
    /// A bare TLS stream presenting `identity`, for writing raw HTTP bytes.
    pub async fn tls_stream(&self, identity: &str) -> tokio_rustls::client::TlsStream<TcpStream> {
        let tcp = TcpStream::connect(self.address).await.expect("connect");
        connector(Some(identity), Protocol::Http1)
            .connect(ServerName::try_from("localhost").expect("name"), tcp)
            .await
            .expect("TLS")
    }

    /// A bare TLS stream presenting `identity`, offering `protocol` by ALPN (`None`: no ALPN),
    /// from the local address `from` (another loopback address, to be another client) if given.
    /// The error is the connection's or the handshake's.
    pub async fn tls_stream_with(
        &self,
        identity: &str,
        protocol: Option<Protocol>,
        from: Option<std::net::IpAddr>,
    ) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
        let tcp = match from {
            Some(ip) => {
                let socket = tokio::net::TcpSocket::new_v4()?;
                socket.bind(SocketAddr::new(ip, 0))?;
                socket.connect(self.address).await?
            }
            None => TcpStream::connect(self.address).await?,
        };
        connector_offering(Some(identity), protocol).connect(ServerName::try_from("localhost").expect("name"), tcp).await
    }
}

/// The value of a counter (`name` with its labels, e.g. `spolis_x_total{reason="a"}`) in a
/// Prometheus text exposition; 0 when absent.
pub fn metric_value(metrics: &str, series: &str) -> u64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .map_or(0, |value| value as u64)
}
