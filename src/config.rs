//! The service's configuration: one TOML file for `serve`, or built in for `demo`.
//! Relative paths in the file are relative to the file's own directory, so a configuration
//! directory can be moved as a whole.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::contract::Environment;
use crate::error::ErrorChain;
use crate::xml::XmlLimits;

mod database;
pub use database::{Backend, BackendError, DatabaseConfig, DatabaseTlsError};

/// Why a configuration cannot be read. The rest of what is wrong with one that was read
/// is [`Config::problems`]'s, all at once.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("cannot read {}", .path.display())]
    Read { path: PathBuf, source: std::io::Error },
    /// The file's text is not a configuration; `source` says why.
    #[error("{} is not a valid configuration", .path.display())]
    Invalid { path: PathBuf, source: Box<ConfigError> },
    #[error(transparent)]
    Toml(#[from] toml::de::Error),
    #[error("{key} must be a string")]
    NotAString { key: &'static str },
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// An environment override (`SPOLIS_*`) that is not an address.
    #[error("{variable}={value:?} is not an address like 0.0.0.0:8443")]
    Address { variable: &'static str, value: String, source: std::net::AddrParseError },
    #[error("SPOLIS_DATABASE_URL / SPOLIS_DATABASE_REPLICA_URL")]
    DatabaseUrls(#[source] BackendError),
}

/// Everything `serve` needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on, e.g. `0.0.0.0:8443`.
    pub listen: SocketAddr,
    /// Address of the operations listener (`/health`, `/ready`, `/metrics`; plain HTTP, no
    /// client certificate): keep it on an internal interface. None: not started.
    #[serde(default)]
    pub ops_listen: Option<SocketAddr>,
    /// The URL callers use to reach this service (written into the served WSDL), e.g.
    /// `https://spolis-adapter.lm.gov.lv:8443`.
    pub public_url: String,
    /// The environment served (`test` or `production`); only consumers registered for it
    /// are answered.
    #[serde(default = "production")]
    pub environment: Environment,
    /// Directory of the embedded store (`spolis.sqlite3`).
    pub data_dir: PathBuf,
    /// `/ready` fails while the register's as-of time (the `AsOf` of its last import) is
    /// older than this many hours, or while it was never imported: answers from a stale
    /// register must not be served as current. 0 turns the check off (as `demo` does).
    #[serde(default = "max_register_age_hours")]
    pub max_register_age_hours: u64,
    pub tls: TlsConfig,
    /// The consumer registry (TOML), see `certs-example/consumers.toml`.
    pub consumers: PathBuf,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub audit: AuditConfig,
    /// The register and audit database, from the file's `database_url` and
    /// `database_replica_url` (read by [`Config::load`], not by serde).
    #[serde(skip)]
    pub backend: Backend,
    #[serde(default)]
    pub database: DatabaseConfig,
    /// Message security: answer signing, request timestamps and replays (`[security]`).
    #[serde(default)]
    pub security: crate::wssec::SecurityConfig,
    /// Rate limits and daily quotas per consumer and operator (`[quotas]`).
    #[serde(default)]
    pub quotas: crate::quotas::QuotaConfig,
}

/// Where and how calls are audited.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// The audit database; default `<data_dir>/audit.sqlite3`.
    pub path: Option<PathBuf>,
    /// The Ed25519 key that signs checkpoints (created if absent, with a `.pub` beside it);
    /// default `<data_dir>/audit-signing.key`.
    pub signing_key: Option<PathBuf>,
    /// Sign a checkpoint of the chain head at least this often while calls arrive.
    pub checkpoint_interval_seconds: u64,
    /// Records are kept this many days (two years by default), then pruned.
    pub retention_days: u32,
    /// Prune on a schedule, every this many hours; 0 leaves pruning to `audit prune`.
    pub prune_every_hours: u64,
    /// Every signed checkpoint and prune marker is also appended here (one line each,
    /// synced, mode 0600), outside the database: keep it on another volume or host. If it
    /// cannot be written, calls fail closed. Default `<data_dir>/audit-witness.log`.
    pub witness_file: Option<PathBuf>,
    /// A command (program and arguments, no shell) each checkpoint's line is piped to, e.g.
    /// `["logger", "-t", "spolis-audit"]`; its failures are logged and counted, never waited for.
    pub witness_command: Vec<String>,
    /// An RFC 3161 time-stamping authority (`http://…`): each witnessed checkpoint line is
    /// time-stamped there and the token appended to the witness file. None by default.
    pub tsa_url: Option<String>,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            path: None,
            signing_key: None,
            checkpoint_interval_seconds: 5,
            retention_days: 730,
            prune_every_hours: 24,
            witness_file: None,
            witness_command: Vec::new(),
            tsa_url: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The server's certificate chain (PEM).
    pub certificate: PathBuf,
    /// The server's private key (PEM).
    pub private_key: PathBuf,
    /// The CA certificate(s) client certificates must chain to (PEM).
    pub client_ca: PathBuf,
    /// CRLs of those CAs (PEM or DER files); a revoked client certificate fails the
    /// handshake. Re-read when they change. Empty: no revocation checking.
    #[serde(default)]
    pub crls: Vec<PathBuf>,
    /// A CRL past its nextUpdate: `refuse` the certificates it covers (unknown status is not
    /// good status), or `warn` and keep using it.
    #[serde(default)]
    pub stale_crl: StaleCrlPolicy,
    /// How often, at most, the CRL files are looked at for a change (on a handshake, a
    /// request or `/ready`); 0: every time.
    #[serde(default = "crl_poll_interval_seconds")]
    pub crl_poll_interval_seconds: u64,
    /// TLS session resumption (session IDs, TLS 1.3 tickets). Off by default: a resumed
    /// session skips the certificate verifier, so revocation is then only enforced after
    /// the handshake (as an HTTP 403), not with a TLS alert.
    #[serde(default)]
    pub session_resumption: bool,
}

/// What a CRL past its nextUpdate is worth (`[tls] stale_crl`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StaleCrlPolicy {
    /// Certificates of its CA fail the handshake (alert `unknown_ca`), `/ready` and
    /// `check-config` report it.
    #[default]
    Refuse,
    /// It stays authoritative; a warning is logged.
    Warn,
}

fn crl_poll_interval_seconds() -> u64 {
    1
}

impl TlsConfig {
    pub fn crl_poll_interval(&self) -> Duration {
        Duration::from_secs(self.crl_poll_interval_seconds)
    }
}

/// Bounds that keep one caller from exhausting the service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body accepted (VISS's limit is 4 MB).
    pub max_body_bytes: usize,
    /// Connections served at once; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// Connections at once from one client IP address (counted from the TCP accept); more are
    /// closed before the TLS handshake. The bus opens hundreds from one address.
    pub max_connections_per_address: usize,
    /// Connections at once with one registered client certificate; more are closed after
    /// the handshake.
    pub max_connections_per_certificate: usize,
    /// Connections at once with certificates registered to no consumer of this environment,
    /// all such certificates together: they can only ever be refused.
    pub max_connections_unregistered: usize,
    /// Time for the TLS handshake.
    pub handshake_timeout_seconds: u64,
    /// Time after the handshake for the client's first byte.
    pub first_byte_timeout_seconds: u64,
    /// Time for a request's headers to arrive (HTTP/1.1); also bounds the wait for the next
    /// request on an idle HTTP/1.1 keep-alive connection.
    pub header_timeout_seconds: u64,
    /// An HTTP/1.1 or HTTP/2 connection with no request in flight for this long is closed.
    pub idle_timeout_seconds: u64,
    /// HTTP/2 keep-alive PING interval; a peer that does not answer one within 20 s is
    /// disconnected. 0: no pings.
    pub http2_keep_alive_interval_seconds: u64,
    /// Concurrent HTTP/2 streams (requests) on one connection.
    pub max_http2_streams: u32,
    /// Time for a request's body to arrive.
    pub body_timeout_seconds: u64,
    /// Request body bytes buffered at once by all connections together. Callers whose
    /// certificate is registered to no consumer share one eighth of it.
    pub max_buffered_request_bytes: usize,
    /// How long a request waits for room in that budget before it is refused (`ServiceBusy`).
    pub buffer_wait_milliseconds: u64,
    /// Deepest element nesting of a request document.
    pub max_xml_depth: usize,
    /// Most elements in a request document.
    pub max_xml_elements: usize,
    /// Most attributes on one element (namespace declarations not included).
    pub max_xml_attributes: usize,
    /// Longest element or attribute name.
    pub max_xml_name_length: usize,
    /// Most namespace declarations (`xmlns`, `xmlns:p`) on one element.
    pub max_xml_namespace_declarations: usize,
    /// Most namespace declarations in a request document.
    pub max_xml_namespace_declarations_total: usize,
    /// Most namespace declarations in scope at once (an element's and its ancestors').
    pub max_xml_namespaces_in_scope: usize,
    /// How long a `/ready` result is reused: probes cost a database round trip and the audit
    /// log's write lock, and a load balancer may ask often.
    pub ready_cache_milliseconds: u64,
    /// Connections at once to the operations listener; more wait in the listen backlog.
    pub max_ops_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        let xml = XmlLimits::default();
        Limits {
            max_body_bytes: 4 * 1024 * 1024,
            max_connections: 1024,
            max_connections_per_address: 768,
            max_connections_per_certificate: 768,
            max_connections_unregistered: 16,
            handshake_timeout_seconds: 10,
            first_byte_timeout_seconds: 10,
            header_timeout_seconds: 10,
            idle_timeout_seconds: 60,
            http2_keep_alive_interval_seconds: 30,
            max_http2_streams: 64,
            body_timeout_seconds: 30,
            max_buffered_request_bytes: 128 * 1024 * 1024,
            buffer_wait_milliseconds: 1000,
            max_xml_depth: xml.max_depth,
            max_xml_elements: xml.max_elements,
            max_xml_attributes: xml.max_attributes,
            max_xml_name_length: xml.max_name_length,
            max_xml_namespace_declarations: xml.max_namespace_declarations,
            max_xml_namespace_declarations_total: xml.max_namespace_declarations_total,
            max_xml_namespaces_in_scope: xml.max_namespaces_in_scope,
            ready_cache_milliseconds: 1000,
            max_ops_connections: 16,
        }
    }
}

impl Limits {
    pub fn handshake_timeout(&self) -> Duration {
        Duration::from_secs(self.handshake_timeout_seconds)
    }
    pub fn first_byte_timeout(&self) -> Duration {
        Duration::from_secs(self.first_byte_timeout_seconds)
    }
    pub fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.header_timeout_seconds)
    }
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_seconds)
    }
    pub fn body_timeout(&self) -> Duration {
        Duration::from_secs(self.body_timeout_seconds)
    }
    pub fn buffer_wait(&self) -> Duration {
        Duration::from_millis(self.buffer_wait_milliseconds)
    }
    pub fn ready_cache(&self) -> Duration {
        Duration::from_millis(self.ready_cache_milliseconds)
    }
    /// The bounds on a request document's shape.
    pub fn xml(&self) -> XmlLimits {
        XmlLimits {
            max_depth: self.max_xml_depth,
            max_elements: self.max_xml_elements,
            max_attributes: self.max_xml_attributes,
            max_name_length: self.max_xml_name_length,
            max_namespace_declarations: self.max_xml_namespace_declarations,
            max_namespace_declarations_total: self.max_xml_namespace_declarations_total,
            max_namespaces_in_scope: self.max_xml_namespaces_in_scope,
        }
    }
}

/// Two days: SPOLIS exports daily, so one missed export still passes.
fn max_register_age_hours() -> u64 {
    48
}

fn production() -> Environment {
    Environment::Production
}

impl Config {
    /// Reads a configuration file; relative paths are resolved against its directory, then
    /// the environment overrides (`SPOLIS_*`, see [`ENVIRONMENT_OVERRIDES`]) apply.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        let mut config =
            Config::from_toml(&text).map_err(|source| ConfigError::Invalid { path: path.to_path_buf(), source: Box::new(source) })?;
        config.apply_environment(|name| std::env::var(name).ok())?;
        let base = path.parent().unwrap_or(Path::new("."));
        let optional_files = [config.audit.path.as_mut(), config.audit.signing_key.as_mut(), config.audit.witness_file.as_mut()].into_iter().flatten();
        for file in [
            &mut config.data_dir,
            &mut config.consumers,
            &mut config.tls.certificate,
            &mut config.tls.private_key,
            &mut config.tls.client_ca,
        ]
        .into_iter()
        .chain(optional_files)
        .chain(config.tls.crls.iter_mut())
        {
            if file.is_relative() {
                *file = base.join(&*file);
            }
        }
        Ok(config)
    }

    /// Parses a configuration file's text; `database_url` and `database_replica_url` become
    /// the [`Backend`] (serde reads the rest, refusing unknown keys).
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let mut table: toml::Table = toml::from_str(text)?;
        let mut url = |key: &'static str| -> Result<Option<String>, ConfigError> {
            match table.remove(key) {
                None => Ok(None),
                Some(toml::Value::String(url)) => Ok(Some(url)),
                Some(_) => Err(ConfigError::NotAString { key }),
            }
        };
        let (primary, replica) = (url("database_url")?, url("database_replica_url")?);
        let mut config: Config = table.try_into()?;
        config.backend = Backend::from_urls(primary, replica)?;
        Ok(config)
    }

    /// Applies `SPOLIS_*` overrides: secrets' locations and URLs are often given by the
    /// deployment (systemd credentials, a container's environment) rather than the file.
    pub fn apply_environment(&mut self, variable: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        let parse_address = |variable: &'static str, value: String| -> Result<SocketAddr, ConfigError> {
            value.parse().map_err(|source| ConfigError::Address { variable, value, source })
        };
        if let Some(value) = variable("SPOLIS_LISTEN") {
            self.listen = parse_address("SPOLIS_LISTEN", value)?;
        }
        if let Some(value) = variable("SPOLIS_OPS_LISTEN") {
            self.ops_listen = Some(parse_address("SPOLIS_OPS_LISTEN", value)?);
        }
        if let Some(value) = variable("SPOLIS_PUBLIC_URL") {
            self.public_url = value;
        }
        if let Some(value) = variable("SPOLIS_DATA_DIR") {
            self.data_dir = PathBuf::from(value);
        }
        if let Some(value) = variable("SPOLIS_TLS_PRIVATE_KEY") {
            self.tls.private_key = PathBuf::from(value);
        }
        let (primary, replica) = (variable("SPOLIS_DATABASE_URL"), variable("SPOLIS_DATABASE_REPLICA_URL"));
        if primary.is_some() || replica.is_some() {
            let primary = primary.or_else(|| self.backend.primary().map(str::to_string));
            let replica = replica.or_else(|| self.backend.replica().map(str::to_string));
            self.backend = Backend::from_urls(primary, replica).map_err(ConfigError::DatabaseUrls)?;
        }
        if let Some(value) = variable("SPOLIS_AUDIT_SIGNING_KEY") {
            self.audit.signing_key = Some(PathBuf::from(value));
        }
        if let Some(value) = variable("SPOLIS_AUDIT_WITNESS_FILE") {
            self.audit.witness_file = Some(PathBuf::from(value));
        }
        if let Some(value) = variable("SPOLIS_DATABASE_TLS_CA") {
            self.database.tls_ca = Some(PathBuf::from(value));
        }
        if let Some(value) = variable("SPOLIS_DATABASE_TLS_CERTIFICATE") {
            self.database.tls_certificate = Some(PathBuf::from(value));
        }
        if let Some(value) = variable("SPOLIS_DATABASE_TLS_PRIVATE_KEY") {
            self.database.tls_private_key = Some(PathBuf::from(value));
        }
        Ok(())
    }

    /// Every problem that would keep this configuration from serving, all at once: files
    /// that cannot be read or do not fit together, addresses, URLs.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        match crate::tls::TlsState::load(&self.tls, None) {
            Ok(tls) => problems.extend(tls.crl_problems().into_iter().map(|problem| format!("tls: {problem}"))),
            Err(error) => problems.push(format!("tls: {}", ErrorChain(&error))),
        }
        match crate::identity::ConsumerRegistry::load(&self.consumers) {
            Ok(registry) => problems.extend(registry.incomplete_production_entries().into_iter().map(|problem| format!("consumers: {problem}"))),
            Err(error) => problems.push(format!("consumers: {}", ErrorChain(&error))),
        }
        if !self.public_url.starts_with("https://") {
            problems.push(format!("public_url {:?} must be an https:// URL", self.public_url));
        }
        if self.ops_listen == Some(self.listen) {
            problems.push("ops_listen must differ from listen".to_string());
        }
        match std::fs::metadata(&self.data_dir) {
            Ok(metadata) if !metadata.is_dir() => problems.push(format!("data_dir {} is not a directory", self.data_dir.display())),
            Ok(metadata) if metadata.permissions().readonly() => problems.push(format!("data_dir {} is read-only", self.data_dir.display())),
            Ok(_) => {}
            Err(_) if self.data_dir.parent().is_some_and(|parent| parent.as_os_str().is_empty() || parent.is_dir()) => {}
            Err(error) => problems.push(format!("data_dir {}: {error}", self.data_dir.display())),
        }
        let key = self.audit_signing_key();
        if key.exists() {
            if let Err(error) = crate::audit::AuditSigner::load_or_create(&key) {
                problems.push(format!("audit.signing_key: {}", ErrorChain(&error)));
            }
        }
        let witness = self.audit_witness_file();
        if witness.parent().is_some_and(|dir| !dir.as_os_str().is_empty() && !dir.is_dir() && dir != self.data_dir) {
            problems.push(format!("audit.witness_file {}: its directory does not exist", witness.display()));
        }
        if let Some(url) = &self.audit.tsa_url {
            if !url.starts_with("http://") {
                problems.push(format!("audit.tsa_url {url:?} must be an http:// URL"));
            }
        }
        if self.audit.witness_command.first().is_some_and(|program| program.is_empty()) {
            problems.push("audit.witness_command: the program is empty".to_string());
        }
        match self.postgres_options() {
            Ok(options) => {
                for url in self.backend.primary().into_iter().chain(self.backend.replica()) {
                    if let Err(error) = crate::database::postgres::connection_config(url, &options) {
                        problems.push(error.to_string());
                    }
                }
            }
            Err(error) => problems.push(format!("database: {}", ErrorChain(&error))),
        }
        let limits = &self.limits;
        let positive = [
            ("max_body_bytes", limits.max_body_bytes),
            ("max_connections", limits.max_connections),
            ("max_connections_per_address", limits.max_connections_per_address),
            ("max_connections_per_certificate", limits.max_connections_per_certificate),
            ("max_http2_streams", limits.max_http2_streams as usize),
            ("max_ops_connections", limits.max_ops_connections),
            ("first_byte_timeout_seconds", limits.first_byte_timeout_seconds as usize),
            ("idle_timeout_seconds", limits.idle_timeout_seconds as usize),
        ];
        for (key, value) in positive {
            if value == 0 {
                problems.push(format!("limits: {key} must be positive"));
            }
        }
        if limits.max_buffered_request_bytes < limits.max_body_bytes {
            problems.push("limits: max_buffered_request_bytes must be at least max_body_bytes".to_string());
        }
        let security = &self.security;
        if security.signature_workers == 0 || security.signature_timeout_milliseconds == 0 || security.max_request_age_seconds == 0 {
            problems.push("security: signature_workers, signature_timeout_milliseconds and max_request_age_seconds must be positive".to_string());
        }
        let day = 86_400;
        if [security.clock_skew_seconds, security.max_request_age_seconds, security.max_request_validity_seconds, security.replay_window_seconds].iter().any(|&s| s > day) {
            problems.push("security: clock_skew_seconds, max_request_age_seconds, max_request_validity_seconds and replay_window_seconds are at most a day (86400)".to_string());
        }
        problems
    }

    /// The PostgreSQL primary, when the configuration names one (else the SQLite files are used).
    pub fn postgres_url(&self) -> Option<&str> {
        self.backend.primary()
    }

    /// Pool size, timeouts and TLS for PostgreSQL. Fails when the TLS files cannot be used.
    pub fn postgres_options(&self) -> Result<crate::database::postgres::PostgresOptions, DatabaseTlsError> {
        self.database.postgres_options()
    }

    /// Where the audit log is: the PostgreSQL primary, or its SQLite file.
    pub fn audit_location(&self) -> Result<crate::audit::AuditLocation, DatabaseTlsError> {
        Ok(match self.postgres_url() {
            Some(url) => crate::audit::AuditLocation::Postgres { url: url.to_string(), options: self.postgres_options()? },
            None => crate::audit::AuditLocation::Sqlite(self.audit_path()),
        })
    }

    /// How old the register may be before `/ready` fails; `None`: not checked.
    pub fn max_register_age(&self) -> Option<std::time::Duration> {
        (self.max_register_age_hours > 0).then(|| std::time::Duration::from_secs(self.max_register_age_hours.saturating_mul(3600)))
    }

    /// The audit database's path.
    pub fn audit_path(&self) -> PathBuf {
        self.audit.path.clone().unwrap_or_else(|| self.data_dir.join(crate::audit::sqlite::AUDIT_FILE))
    }

    /// The audit signing key's path.
    pub fn audit_signing_key(&self) -> PathBuf {
        self.audit.signing_key.clone().unwrap_or_else(|| self.data_dir.join(crate::audit::SIGNING_KEY_FILE))
    }

    /// The audit witness file's path.
    pub fn audit_witness_file(&self) -> PathBuf {
        self.audit.witness_file.clone().unwrap_or_else(|| self.data_dir.join(crate::audit::WITNESS_FILE))
    }

    /// The audit witness: the file and, if configured, the command and the TSA (whose
    /// threads start here: make one per process).
    pub fn audit_witness(&self) -> Result<crate::audit::Witness, crate::audit::timestamp::TimestampError> {
        crate::audit::Witness::new(Some(self.audit_witness_file()), &self.audit.witness_command).with_tsa(self.audit.tsa_url.as_deref())
    }

    /// Records after the last checkpoint older than this are reported by `audit verify`:
    /// twice the interval within which the writer signs them.
    pub fn audit_max_unsigned_age(&self) -> Duration {
        Duration::from_secs(self.audit.checkpoint_interval_seconds.max(1).saturating_mul(2))
    }

    /// The demo's configuration: the example certificates and registry in `certs_dir`.
    pub fn demo(listen: SocketAddr, data_dir: PathBuf, certs_dir: &Path) -> Config {
        // The example server certificate names localhost; a wildcard listen address is
        // still reached as localhost from this machine.
        let host = if listen.ip().is_unspecified() || listen.ip().is_loopback() { "localhost".to_string() } else { listen.ip().to_string() };
        Config {
            listen,
            ops_listen: None,
            public_url: format!("https://{host}:{}", listen.port()),
            environment: Environment::Test,
            data_dir,
            // The demo's register is generated once and served for as long as it runs.
            max_register_age_hours: 0,
            tls: TlsConfig {
                certificate: certs_dir.join("server.crt"),
                private_key: certs_dir.join("server.key"),
                client_ca: certs_dir.join("ca.crt"),
                crls: vec![certs_dir.join("ca.crl")],
                stale_crl: StaleCrlPolicy::default(),
                crl_poll_interval_seconds: crl_poll_interval_seconds(),
                session_resumption: false,
            },
            consumers: certs_dir.join("consumers.toml"),
            limits: Limits::default(),
            audit: AuditConfig::default(),
            backend: Backend::Sqlite,
            database: DatabaseConfig::default(),
            security: Default::default(),
            // The demo serves benchmarks and client test suites from one operator: no quotas
            // there (`serve` has the defaults).
            quotas: crate::quotas::QuotaConfig::off(),
        }
    }
}

/// The environment variables [`Config::apply_environment`] reads.
pub const ENVIRONMENT_OVERRIDES: [&str; 12] = [
    "SPOLIS_LISTEN",
    "SPOLIS_OPS_LISTEN",
    "SPOLIS_PUBLIC_URL",
    "SPOLIS_DATA_DIR",
    "SPOLIS_TLS_PRIVATE_KEY",
    "SPOLIS_AUDIT_SIGNING_KEY",
    "SPOLIS_AUDIT_WITNESS_FILE",
    "SPOLIS_DATABASE_URL",
    "SPOLIS_DATABASE_REPLICA_URL",
    "SPOLIS_DATABASE_TLS_CA",
    "SPOLIS_DATABASE_TLS_CERTIFICATE",
    "SPOLIS_DATABASE_TLS_PRIVATE_KEY",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_urls_and_secret_locations() {
        let mut config = Config::demo("127.0.0.1:8443".parse().unwrap(), PathBuf::from("data"), Path::new("certs"));
        let environment = |name: &str| match name {
            "SPOLIS_PUBLIC_URL" => Some("https://adapter.example.lv".to_string()),
            "SPOLIS_TLS_PRIVATE_KEY" => Some("/run/credentials/server.key".to_string()),
            "SPOLIS_OPS_LISTEN" => Some("127.0.0.1:9090".to_string()),
            "SPOLIS_DATABASE_TLS_CA" => Some("/etc/spolis-adapter/postgres-ca.crt".to_string()),
            _ => None,
        };
        config.apply_environment(environment).unwrap();
        assert_eq!(config.database.tls_ca, Some(PathBuf::from("/etc/spolis-adapter/postgres-ca.crt")));
        assert_eq!(config.public_url, "https://adapter.example.lv");
        assert_eq!(config.tls.private_key, PathBuf::from("/run/credentials/server.key"));
        assert_eq!(config.ops_listen, Some("127.0.0.1:9090".parse().unwrap()));
        let bad = config.apply_environment(|name| (name == "SPOLIS_LISTEN").then(|| "nowhere".to_string()));
        assert!(bad.unwrap_err().to_string().contains("SPOLIS_LISTEN"));
    }

    #[test]
    fn problems_are_reported_together() {
        let mut config = Config::demo("127.0.0.1:8443".parse().unwrap(), PathBuf::from("/nonexistent/a/b"), Path::new("/nonexistent"));
        config.public_url = "http://plain".to_string();
        config.ops_listen = Some(config.listen);
        config.security.signature_workers = 0;
        let problems = config.problems();
        assert!(problems.len() >= 6, "{problems:#?}");
        assert!(problems.iter().any(|p| p.starts_with("security:")));
        assert!(problems.iter().any(|p| p.starts_with("tls:")));
        assert!(problems.iter().any(|p| p.starts_with("consumers:")));
        assert!(problems.iter().any(|p| p.contains("https://")));
        assert!(problems.iter().any(|p| p.contains("ops_listen")));
        assert!(problems.iter().any(|p| p.starts_with("data_dir")));
    }

    #[test]
    fn relative_paths_are_relative_to_the_file_and_limits_default() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spolis.toml");
        std::fs::write(
            &path,
            r#"listen = "127.0.0.1:8443"
public_url = "https://localhost:8443"
data_dir = "data"
consumers = "/etc/spolis/consumers.toml"
[tls]
certificate = "server.crt"
private_key = "server.key"
client_ca = "ca.crt"
"#,
        )
        .unwrap();
        let config = Config::load(&path).unwrap();
        assert_eq!(config.data_dir, dir.path().join("data"));
        assert_eq!(config.consumers, PathBuf::from("/etc/spolis/consumers.toml"));
        assert_eq!(config.limits.max_body_bytes, 4 * 1024 * 1024);
    }

    #[test]
    fn a_missing_or_stale_crl_is_a_problem_and_the_tls_keys_default() {
        let certs = crate::tools::example_pki::clock_relative_set();
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::demo("127.0.0.1:8443".parse().unwrap(), dir.path().to_path_buf(), certs);
        assert!(config.problems().iter().all(|p| !p.starts_with("tls:")), "{:#?}", config.problems());
        config.tls.crls = vec![dir.path().join("gone.crl")];
        let problems = config.problems();
        // The cause is told too, not only what failed.
        let not_found = std::io::Error::from(std::io::ErrorKind::NotFound).to_string();
        assert!(problems.iter().any(|p| p.starts_with("tls: cannot read CRL file") && p.contains("gone.crl") && p.ends_with(&not_found)), "{problems:#?}");

        let stale = dir.path().join("stale.crl");
        let day = |y, m, d| time::Date::from_calendar_date(y, m, d).unwrap().midnight().assume_utc();
        let pem = crate::tools::example_pki::example_crl_dated(certs, &[], 1, day(2025, time::Month::January, 1), day(2025, time::Month::February, 1)).unwrap();
        std::fs::write(&stale, pem).unwrap();
        config.tls.crls = vec![stale];
        let problems = config.problems();
        assert!(problems.iter().any(|p| p.starts_with("tls: the CRL of") && p.contains("past its nextUpdate (2025-02-01T00:00:00Z)")), "{problems:#?}");
        config.tls.stale_crl = StaleCrlPolicy::Warn;
        assert!(config.problems().iter().all(|p| !p.starts_with("tls:")));

        let tls: TlsConfig = toml::from_str("certificate = \"a\"\nprivate_key = \"b\"\nclient_ca = \"c\"\n").unwrap();
        assert_eq!((tls.stale_crl, tls.crl_poll_interval_seconds, tls.session_resumption), (StaleCrlPolicy::Refuse, 1, false));
        let warn: TlsConfig = toml::from_str("certificate = \"a\"\nprivate_key = \"b\"\nclient_ca = \"c\"\nstale_crl = \"warn\"\n").unwrap();
        assert_eq!(warn.stale_crl, StaleCrlPolicy::Warn);
        assert!(toml::from_str::<TlsConfig>("certificate = \"a\"\nprivate_key = \"b\"\nclient_ca = \"c\"\nstale_crl = \"ignore\"\n").is_err());
    }

    #[test]
    fn limits_that_would_stop_all_service_are_problems() {
        let mut config = Config::demo("127.0.0.1:8443".parse().unwrap(), PathBuf::from("data"), Path::new("certs"));
        let limit_problems = |config: &Config| config.problems().into_iter().filter(|p| p.starts_with("limits:")).collect::<Vec<_>>();
        assert!(limit_problems(&config).is_empty(), "{:?}", limit_problems(&config));
        config.limits.idle_timeout_seconds = 0;
        config.limits.max_connections_per_address = 0;
        config.limits.max_buffered_request_bytes = config.limits.max_body_bytes - 1;
        let problems = limit_problems(&config);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("idle_timeout_seconds")));
        assert!(problems.iter().any(|p| p.contains("max_connections_per_address")));
        assert!(problems.iter().any(|p| p.contains("max_buffered_request_bytes")));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let error = toml::from_str::<Config>("listen = \"127.0.0.1:1\"\nlisten_port = 3\n").unwrap_err();
        assert!(error.to_string().contains("unknown field"), "{error}");
    }

    #[test]
    fn the_database_urls_become_one_backend_when_read() {
        let file = |urls: &str| Config::from_toml(&format!("{urls}\n{REQUIRED_KEYS}")).map(|config| config.backend);
        assert_eq!(file("").unwrap(), Backend::Sqlite);
        let primary = "postgres://spolis@db/spolis".to_string();
        let replica = "postgres://spolis@standby/spolis".to_string();
        assert_eq!(
            file(&format!("database_url = {primary:?}\ndatabase_replica_url = {replica:?}")).unwrap(),
            Backend::Postgres { primary: primary.clone(), replica: Some(replica.clone()) }
        );
        let refused = |urls: &str| file(urls).unwrap_err().to_string();
        assert_eq!(refused("database_url = \"sqlite:data\""), BackendError::PrimaryNotPostgres.to_string());
        assert_eq!(refused(&format!("database_replica_url = {replica:?}")), BackendError::ReplicaWithoutPrimary.to_string());
        assert_eq!(
            refused(&format!("database_url = {primary:?}\ndatabase_replica_url = \"mysql://x\"")),
            BackendError::ReplicaNotPostgres.to_string()
        );
        let overridden = Backend::Postgres { primary: primary.clone(), replica: Some(replica.clone()) }.with_primary("postgres://other/db".into());
        assert_eq!(overridden.unwrap().replica(), Some(replica.as_str()), "a new primary keeps the file's replica");
    }

    /// The keys a configuration file cannot leave out (the URLs go before its `[tls]`).
    const REQUIRED_KEYS: &str = "listen = \"127.0.0.1:1\"\npublic_url = \"https://localhost:1\"\ndata_dir = \"data\"\n\
        consumers = \"consumers.toml\"\n[tls]\ncertificate = \"a\"\nprivate_key = \"b\"\nclient_ca = \"c\"";
}
