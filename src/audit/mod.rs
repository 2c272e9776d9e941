//! The audit log: one durable, tamper-evident record per call, written before any answer
//! leaves (fail closed), kept two years, exported on written request.
//!
//! - `record`: the fields and their canonical encoding;
//! - `writer`: the thread that appends records in group-committed, hash-chained batches and
//!   signs checkpoints of the chain head;
//! - `signing`: the audit's own Ed25519 key;
//! - `verify`, `export`, `prune`: the `spolis-adapter audit …` commands;
//! - `sqlite`: the storage (its own file, `audit.sqlite3`, beside the register);
//! - `postgres`: the storage on the PostgreSQL primary, shared by several instances.
//!
//! [`AuditLocation`] names where the log is; the server and the `audit` commands ask it,
//! so they do not care which backend it is.
//!
//! The pipeline calls [`AuditLog::append`] from one place (`service`), never from handlers.

pub mod export;
pub mod postgres;
pub mod prune;
pub mod record;
pub mod signing;
pub mod sqlite;
pub mod verify;
pub mod writer;

pub use record::AuditRecord;
pub use signing::AuditSigner;
pub use writer::{AuditError, AuditLog, WriterOptions};

/// The signing key's file name in the data directory, unless configured elsewhere.
pub const SIGNING_KEY_FILE: &str = "audit-signing.key";

use std::path::PathBuf;

use anyhow::Context;

use crate::store::postgres::PostgresOptions;

/// Where the audit log is.
#[derive(Debug, Clone)]
pub enum AuditLocation {
    /// Its own SQLite file.
    Sqlite(PathBuf),
    /// The audit tables of the PostgreSQL primary at this URL.
    Postgres { url: String, options: PostgresOptions },
}

impl AuditLocation {
    /// Opens the log and starts its writer thread.
    pub fn start_writer(&self, signer: AuditSigner, options: WriterOptions) -> anyhow::Result<(AuditLog, std::thread::JoinHandle<()>)> {
        match self {
            AuditLocation::Sqlite(path) => AuditLog::start_sqlite(path, signer, options),
            AuditLocation::Postgres { url, options: database } => AuditLog::start_postgres(url, database, signer, options),
        }
    }

    /// Verifies the whole log (see `verify`).
    pub fn verify(&self, trusted_keys: &[Vec<u8>]) -> anyhow::Result<Result<verify::VerifyReport, verify::Problem>> {
        match self {
            AuditLocation::Sqlite(path) => {
                let connection = self.open_existing_sqlite(path)?;
                Ok(verify::verify(&connection, trusted_keys))
            }
            AuditLocation::Postgres { url, options } => Ok(postgres::verify(url, options, trusted_keys)),
        }
    }

    /// Writes the records matching `filter` to `out` (see `export`); returns how many.
    pub fn export(&self, filter: &export::ExportFilter, format: export::ExportFormat, out: &mut dyn std::io::Write) -> anyhow::Result<u64> {
        match self {
            AuditLocation::Sqlite(path) => export::export(&self.open_existing_sqlite(path)?, filter, format, out),
            AuditLocation::Postgres { url, options } => postgres::export(url, options, filter, format, out),
        }
    }

    /// Removes records received before `cutoff`, re-anchoring the chain (see `prune`).
    /// Blocking; safe from any thread.
    pub fn prune(&self, signer: &AuditSigner, cutoff: chrono::DateTime<chrono::Utc>) -> anyhow::Result<prune::PruneReport> {
        match self {
            AuditLocation::Sqlite(path) => {
                if !path.exists() {
                    anyhow::bail!("no audit log at {}", path.display());
                }
                let mut connection = sqlite::open_for_writing(path)?;
                Ok(prune::prune(&mut connection, signer, cutoff)?)
            }
            AuditLocation::Postgres { url, options } => postgres::prune(url, options, signer, cutoff),
        }
    }

    /// Whether records can be written now (for readiness checks): the SQLite file's write
    /// lock can be taken; the PostgreSQL primary answers, holds the audit tables and is not
    /// a read-only standby. Blocking; safe from any thread.
    pub fn probe_writable(&self) -> anyhow::Result<()> {
        match self {
            AuditLocation::Sqlite(path) => {
                let connection = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)?;
                connection.busy_timeout(std::time::Duration::from_secs(2))?;
                Ok(connection.execute_batch("BEGIN IMMEDIATE; SELECT 1 FROM audit_records LIMIT 1; ROLLBACK;")?)
            }
            AuditLocation::Postgres { url, options } => crate::store::postgres::block_on(|| async {
                let client = crate::store::postgres::connect(url, options).await?;
                let probe = client.query_one("SELECT pg_is_in_recovery(), (SELECT seq FROM audit_head WHERE only_row)", &[]);
                let row = tokio::time::timeout(options.timeout, probe)
                    .await
                    .map_err(|_| crate::store::StoreError::Unavailable("no answer from PostgreSQL".into()))?
                    .map_err(crate::store::postgres::error("probe the audit log"))?;
                match row.try_get::<_, bool>(0) {
                    Ok(false) => Ok(()),
                    _ => Err(crate::store::StoreError::Unavailable("the audit database is a read-only standby".into())),
                }
            })
            .map_err(anyhow::Error::from),
        }
    }

    /// Where the log is, for messages: the file, or "PostgreSQL" (never the URL, which may
    /// carry a password).
    pub fn describe(&self) -> String {
        match self {
            AuditLocation::Sqlite(path) => path.display().to_string(),
            AuditLocation::Postgres { .. } => "the PostgreSQL primary (tables audit_records, audit_checkpoints)".to_string(),
        }
    }

    fn open_existing_sqlite(&self, path: &std::path::Path) -> anyhow::Result<rusqlite::Connection> {
        if !path.exists() {
            anyhow::bail!("no audit log at {}", path.display());
        }
        let connection = sqlite::open_for_reading(path).with_context(|| format!("cannot open {}", path.display()))?;
        sqlite::check_layout_for_reading(&connection).map_err(|error| anyhow::anyhow!("{}: {error:#}", path.display()))?;
        Ok(connection)
    }
}
