//! The database part of the configuration: which backend (`database_url`,
//! `database_replica_url`, read once into a [`Backend`]) and how to reach PostgreSQL
//! (`[database]`: pool size, timeouts, TLS).

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::database::postgres::PostgresOptions;

/// Where the register and the audit log live: decided once, when the configuration is read,
/// so that no user re-checks a URL and a replica cannot come without its primary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Backend {
    /// The embedded SQLite files in `data_dir` (no `database_url`).
    #[default]
    Sqlite,
    /// PostgreSQL, shared by several instances: the primary (`database_url`) takes the
    /// migrations, the audit log and the shared counters; the optional read-only replica
    /// (`database_replica_url`) answers EP115/EP116.
    Postgres { primary: String, replica: Option<String> },
}

/// Why the database URLs name no usable backend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    #[error("database_url must be a postgres:// URL (leave it out for the embedded SQLite store)")]
    PrimaryNotPostgres,
    #[error("database_replica_url needs database_url (the primary)")]
    ReplicaWithoutPrimary,
    #[error("database_replica_url must be a postgres:// URL")]
    ReplicaNotPostgres,
}

/// Why the `[database]` TLS settings cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatabaseTlsError {
    #[error("[database] tls_certificate and tls_private_key go together")]
    HalfAnIdentity,
    #[error("[database] tls_certificate needs tls_ca (the CA of PostgreSQL's certificate)")]
    IdentityWithoutCa,
    #[error(transparent)]
    Files(#[from] crate::tls::TlsSetupError),
}

impl Backend {
    /// The backend `database_url` (`primary`) and `database_replica_url` name.
    pub fn from_urls(primary: Option<String>, replica: Option<String>) -> Result<Backend, BackendError> {
        use crate::database::postgres::is_postgres_url;
        if replica.as_deref().is_some_and(|url| !is_postgres_url(url)) {
            return Err(BackendError::ReplicaNotPostgres);
        }
        match primary {
            Some(primary) if is_postgres_url(&primary) => Ok(Backend::Postgres { primary, replica }),
            Some(_) => Err(BackendError::PrimaryNotPostgres),
            None if replica.is_some() => Err(BackendError::ReplicaWithoutPrimary),
            None => Ok(Backend::Sqlite),
        }
    }

    /// This backend with `primary` (a flag or variable overriding the file's) as the
    /// PostgreSQL primary; the file's replica stays.
    pub fn with_primary(self, primary: String) -> Result<Backend, BackendError> {
        let replica = self.replica().map(str::to_string);
        Backend::from_urls(Some(primary), replica)
    }

    /// The PostgreSQL primary, if any.
    pub fn primary(&self) -> Option<&str> {
        match self {
            Backend::Sqlite => None,
            Backend::Postgres { primary, .. } => Some(primary),
        }
    }

    /// The PostgreSQL read replica, if any.
    pub fn replica(&self) -> Option<&str> {
        match self {
            Backend::Sqlite => None,
            Backend::Postgres { replica, .. } => replica.as_deref(),
        }
    }
}

/// Pool size, timeouts and TLS of the PostgreSQL backend (unused on SQLite).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// Most read connections per instance (the audit writer holds one more).
    pub max_connections: usize,
    /// Time to establish a connection.
    pub connect_timeout_seconds: u64,
    /// Time for one answer's queries, or one audit batch, before the call fails with
    /// `StoreUnavailable` / `AuditUnavailable`.
    pub timeout_seconds: u64,
    /// The CA certificate(s), PEM, that PostgreSQL's server certificate must chain to. Set,
    /// every connection (primary and replica) uses TLS and checks the server's name; unset,
    /// connections are plaintext (a warning is logged when the host is not this machine).
    pub tls_ca: Option<PathBuf>,
    /// A client certificate (PEM chain) and key to present to PostgreSQL, for `cert`
    /// authentication in `pg_hba.conf`. Needs `tls_ca`.
    pub tls_certificate: Option<PathBuf>,
    pub tls_private_key: Option<PathBuf>,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            max_connections: 16,
            connect_timeout_seconds: 5,
            timeout_seconds: 5,
            tls_ca: None,
            tls_certificate: None,
            tls_private_key: None,
        }
    }
}

impl DatabaseConfig {
    /// The TLS client configuration for PostgreSQL, when `tls_ca` is set.
    pub fn tls(&self) -> Result<Option<std::sync::Arc<rustls::ClientConfig>>, DatabaseTlsError> {
        let identity = match (&self.tls_certificate, &self.tls_private_key) {
            (Some(certificate), Some(key)) => Some((certificate.as_path(), key.as_path())),
            (None, None) => None,
            _ => return Err(DatabaseTlsError::HalfAnIdentity),
        };
        match &self.tls_ca {
            Some(ca) => Ok(Some(std::sync::Arc::new(crate::tls::client_config(ca, identity)?))),
            None if identity.is_some() => Err(DatabaseTlsError::IdentityWithoutCa),
            None => Ok(None),
        }
    }

    /// Pool size, timeouts and TLS for PostgreSQL. Fails when the TLS files cannot be used.
    pub fn postgres_options(&self) -> Result<PostgresOptions, DatabaseTlsError> {
        Ok(PostgresOptions {
            max_connections: self.max_connections.max(1),
            connect_timeout: Duration::from_secs(self.connect_timeout_seconds.max(1)),
            timeout: Duration::from_secs(self.timeout_seconds.max(1)),
            tls: self.tls()?,
        })
    }
}
