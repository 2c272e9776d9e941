//! PostgreSQL connections for the register store and the audit log alike: the connection
//! settings and timeouts, TLS, the bounded pools, and the schema (`migrations/postgres/*.sql`,
//! register and audit in one sequence, applied once each by [`migrate`] at start-up and
//! serialized between processes by an advisory lock).
//!
//! A database that is down or silent fails in bounded time with
//! [`DatabaseError::Unavailable`]. It must never put a URL's password, a personal code or a
//! name into an error message or a log line: errors name the step, the kind of failure and
//! PostgreSQL's SQLSTATE, never a value.

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use rustls::ClientConfig;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::{Client, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{DatabaseError, Migration};

/// Whether a database URL names PostgreSQL (`postgres://` or `postgresql://`).
pub(crate) fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Pool size, timeouts and TLS.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// Most connections the read pool opens (per instance).
    pub max_connections: usize,
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Time for one whole answer (waiting for a pooled connection included), and for one
    /// audit batch: past it the call fails with `StoreUnavailable` / `AuditUnavailable`.
    pub timeout: Duration,
    /// TLS to PostgreSQL (`[database] tls_ca`): every connection is encrypted, the server's
    /// certificate must chain to the configured CA and name the host of the URL, and a
    /// server that does not offer TLS is refused. `None`: plaintext, for a database on the
    /// same host or a network the operator vouches for.
    pub tls: Option<Arc<ClientConfig>>,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions { max_connections: 16, connect_timeout: Duration::from_secs(5), timeout: Duration::from_secs(5), tls: None }
    }
}

/// The schema of the register and the audit log, oldest first. Append new ones at the end.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, sql: include_str!("../../migrations/postgres/0001_register.sql") },
    Migration { version: 2, sql: include_str!("../../migrations/postgres/0002_audit.sql") },
    Migration { version: 3, sql: include_str!("../../migrations/postgres/0003_seen_message_ids.sql") },
    Migration { version: 4, sql: include_str!("../../migrations/postgres/0004_daily_quota_usage.sql") },
    Migration { version: 5, sql: include_str!("../../migrations/postgres/0005_audit_prune_markers.sql") },
    Migration { version: 6, sql: include_str!("../../migrations/postgres/0006_audit_record_purpose.sql") },
    Migration { version: 7, sql: include_str!("../../migrations/postgres/0007_refusal_decisions.sql") },
    Migration { version: 8, sql: include_str!("../../migrations/postgres/0008_client_groups.sql") },
    Migration { version: 9, sql: include_str!("../../migrations/postgres/0009_register_imports.sql") },
    Migration { version: 10, sql: include_str!("../../migrations/postgres/0010_audit_administrative_records.sql") },
    Migration { version: 11, sql: include_str!("../../migrations/postgres/0011_queue_statistics.sql") },
];

/// Key of the advisory lock that serializes migrations between processes starting at once.
const MIGRATION_LOCK: i64 = 0x5350_4f4c_4953_0001;

pub(crate) fn pool_error(e: deadpool_postgres::PoolError) -> DatabaseError {
    let reason = match e {
        deadpool_postgres::PoolError::Timeout(_) => "timed out".to_owned(),
        deadpool_postgres::PoolError::Backend(e) => describe(&e),
        _ => "the pool is closed".to_owned(),
    };
    DatabaseError::Unavailable(format!("no connection to PostgreSQL: {reason}"))
}

/// A pool of at most `size` connections made with `config`, created on demand, with our timeouts.
pub(crate) fn build_pool(config: tokio_postgres::Config, options: &PostgresOptions, size: usize) -> Result<Pool, DatabaseError> {
    let recycling = ManagerConfig { recycling_method: RecyclingMethod::Fast };
    let manager = match &options.tls {
        Some(tls) => Manager::from_config(config, MakeRustlsConnect::new(ClientConfig::clone(tls)), recycling),
        None => Manager::from_config(config, NoTls, recycling),
    };
    Pool::builder(manager)
        .max_size(size.max(1))
        .wait_timeout(Some(options.timeout))
        .create_timeout(Some(options.connect_timeout))
        .recycle_timeout(Some(options.timeout))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|e| DatabaseError::Unavailable(format!("cannot build the connection pool: {e}")))
}

/// The connection settings of `url`, with our timeouts and keepalives added. The URL may
/// carry a password: it is never logged and never part of an error message.
pub(crate) fn connection_config(url: &str, options: &PostgresOptions) -> Result<tokio_postgres::Config, DatabaseError> {
    let mut config = tokio_postgres::Config::from_str(url)
        .map_err(|_| DatabaseError::Unavailable("the database URL is not a valid PostgreSQL URL".into()))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(options.connect_timeout);
    }
    if config.get_application_name().is_none() {
        config.application_name("spolis-adapter");
    }
    if config.get_options().is_none() {
        // Not "relation … already exists, skipping" at every start.
        config.options("-c client_min_messages=warning");
    }
    // A dead peer is noticed by the kernel, not only by our timeouts.
    config.keepalives(true).keepalives_idle(Duration::from_secs(30));
    match (&options.tls, config.get_ssl_mode()) {
        (Some(_), SslMode::Disable) => {
            return Err(DatabaseError::Unavailable("the database URL says sslmode=disable, but [database] tls_ca asks for TLS".into()))
        }
        // With a CA configured, TLS is required, never merely preferred.
        (Some(_), _) => {
            config.ssl_mode(SslMode::Require);
        }
        (None, SslMode::Require) => {
            return Err(DatabaseError::Unavailable(
                "the database URL says sslmode=require: set [database] tls_ca to the CA that signed PostgreSQL's certificate".into(),
            ))
        }
        (None, _) => {}
    }
    Ok(config)
}

/// Whether connections to `url` would cross a network in plaintext: no TLS configured and a
/// host that is not this machine. The service then warns at start-up (personal data and the
/// audit log travel on that connection).
pub fn is_plaintext_over_network(url: &str, options: &PostgresOptions) -> bool {
    let Ok(config) = tokio_postgres::Config::from_str(url) else { return false };
    options.tls.is_none()
        && config.get_hosts().iter().any(|host| match host {
            Host::Tcp(name) => {
                name != "localhost" && !name.parse::<std::net::IpAddr>().is_ok_and(|address| address.is_loopback())
            }
            Host::Unix(_) => false,
        })
}

/// Opens one connection (not pooled: migrations, the audit writer, the CLI) and drives it
/// on the current runtime.
pub async fn connect(url: &str, options: &PostgresOptions) -> Result<Client, DatabaseError> {
    let config = connection_config(url, options)?;
    match &options.tls {
        Some(tls) => drive(config.connect(MakeRustlsConnect::new(ClientConfig::clone(tls))), options).await,
        None => drive(config.connect(NoTls), options).await,
    }
}

/// Waits (bounded) for a connection being made and drives it on the current runtime.
async fn drive<S, T>(
    connecting: impl Future<Output = Result<(Client, tokio_postgres::Connection<S, T>), tokio_postgres::Error>>,
    options: &PostgresOptions,
) -> Result<Client, DatabaseError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (client, connection) = tokio::time::timeout(options.connect_timeout, connecting)
        .await
        .map_err(|_| DatabaseError::Unavailable(format!("connecting to PostgreSQL timed out after {:?}", options.connect_timeout)))?
        .map_err(error("connect to PostgreSQL"))?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(error = %describe(&error), "a PostgreSQL connection ended");
        }
    });
    Ok(client)
}

/// The schema version this program migrates PostgreSQL to.
pub(crate) fn latest_version() -> i64 {
    super::latest_version(MIGRATIONS)
}

/// Applies every migration not yet recorded in `schema_migrations`, all under one advisory
/// lock so that several instances starting together apply each exactly once. Refuses a
/// database migrated by a newer program.
pub(crate) async fn migrate(client: &mut Client) -> Result<(), DatabaseError> {
    let what = "migrate";
    let tx = client.transaction().await.map_err(error(what))?;
    // First the lock, then even the bookkeeping table: DDL is transactional here, and two
    // first starts at once must not both create it.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(error(what))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .await
    .map_err(error(what))?;
    let newest: Option<i64> =
        tx.query_one(super::SQL_SCHEMA_VERSION, &[]).await.map_err(error(what))?.try_get(0).map_err(error(what))?;
    super::refuse_newer_schema(newest, MIGRATIONS, "database")?;
    for migration in MIGRATIONS.iter().filter(|m| newest.is_none_or(|v| m.version > v)) {
        tx.batch_execute(migration.sql)
            .await
            .map_err(|e| DatabaseError::Unavailable(format!("migration {} failed: {}", migration.version, describe(&e))))?;
        tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&migration.version])
            .await
            .map_err(error(what))?;
    }
    tx.commit().await.map_err(error(what))
}

/// Maps a tokio-postgres error met while doing `what`: the database cannot be used.
pub fn error(what: &'static str) -> impl Fn(tokio_postgres::Error) -> DatabaseError {
    move |e| DatabaseError::Unavailable(format!("{what}: {}", describe(&e)))
}

/// PostgreSQL's reason for a failure without any value: the SQLSTATE, and the message only
/// for classes whose messages name objects rather than data (not 22 data exceptions, not 23
/// constraint violations, whose texts may quote a value).
pub fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        if code.starts_with("22") || code.starts_with("23") {
            return format!("database error SQLSTATE {code}");
        }
        return format!("{} (SQLSTATE {code})", db.message());
    }
    if e.is_closed() {
        return "the connection to PostgreSQL is closed".to_owned();
    }
    // Connection and protocol errors: "error connecting to server: Connection refused …".
    let mut text = e.to_string();
    if let Some(source) = std::error::Error::source(e) {
        if !text.contains(&source.to_string()) {
            text = format!("{text}: {source}");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_the_backend() {
        assert!(is_postgres_url("postgres://root@127.0.0.1/spolis"));
        assert!(is_postgres_url("postgresql://root@127.0.0.1/spolis"));
        assert!(!is_postgres_url("sqlite:data/demo"));
    }

    #[test]
    fn a_bad_url_is_refused_without_repeating_it() {
        let err = connection_config("postgres://user:s3cret@[bad", &PostgresOptions::default()).unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }
}
