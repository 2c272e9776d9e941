//! The audit log: one durable, tamper-evident record per call, written before any answer
//! leaves (fail closed), kept two years, exported on written request.
//!
//! - `record`: the fields and their canonical encoding;
//! - `checkpoint`: the chain's links, the checkpoint policy, signed heads and prune markers;
//! - `writer`: the thread that appends records in group-committed, hash-chained batches and
//!   signs checkpoints of the chain head, over any `backend::AppendLog`;
//! - `signing`: the audit's own Ed25519 key;
//! - `witness`: each signed checkpoint also appended to a file (and command) outside the database;
//! - `timestamp`: RFC 3161 time-stamps on the witnessed checkpoints, from a configured TSA;
//! - `verify`, `export`, `prune`: the `spolis-adapter audit …` commands, over any
//!   `backend::StoredLog`;
//! - `backend`: the two traits that say what differs between the backends;
//! - `sqlite`: the storage in its own file, `audit.sqlite3`, beside the register;
//! - `postgres`: the storage on the PostgreSQL primary, shared by several instances;
//! - `error`: what the storage and the commands fail with.
//!
//! [`AuditLocation`] names where the log is; the server and the `audit` commands ask it,
//! so they do not care which backend it is.
//!
//! The pipeline calls [`AuditLog::append`] from one place (`service`), never from handlers.

pub(crate) mod backend;
pub(crate) mod checkpoint;
pub(crate) mod error;
pub mod export;
pub(crate) mod postgres;
pub(crate) mod prune;
pub mod record;
pub mod signing;
pub mod sqlite;
pub mod timestamp;
pub mod verify;
pub mod witness;
pub(crate) mod writer;

pub use checkpoint::SignedCheckpoint;
pub use error::AuditStoreError;
pub use prune::PruneReport;
pub use record::AuditRecord;
pub use signing::{AuditKeyError, AuditSigner};
pub use witness::Witness;
pub use writer::{AuditError, AuditLog, WriterOptions};

/// The signing key's file name in the data directory, unless configured elsewhere.
pub const SIGNING_KEY_FILE: &str = "audit-signing.key";
/// The witness file's name in the data directory, unless configured elsewhere.
pub const WITNESS_FILE: &str = "audit-witness.log";

use std::path::{Path, PathBuf};

use postgres::PostgresLog;
use sqlite::stored::SqliteLog;

use crate::database::postgres::PostgresOptions;

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
    pub fn start_writer(&self, signer: AuditSigner, options: WriterOptions) -> Result<(AuditLog, std::thread::JoinHandle<()>), AuditStoreError> {
        match self {
            AuditLocation::Sqlite(path) => AuditLog::start_sqlite(path, signer, options),
            AuditLocation::Postgres { url, options: database } => AuditLog::start_postgres(url, database, signer, options),
        }
    }

    /// Verifies the whole log (see `verify`): `Err` when it cannot be opened, `Ok(Err)` when
    /// verification finds a problem.
    pub fn verify(&self, options: &verify::VerifyOptions) -> Result<Result<verify::VerifyReport, verify::Problem>, AuditStoreError> {
        let parallel = verify::Parallelism::default();
        match self {
            AuditLocation::Sqlite(path) => Ok(verify::verify_stored(&mut SqliteLog::new(&open_existing_sqlite(path)?), options, parallel)),
            AuditLocation::Postgres { url, options: database } => Ok(verify::verify_stored(&mut PostgresLog::new(url, database), options, parallel)),
        }
    }

    /// Writes the records matching `filter` to `out` (see `export`); returns how many.
    pub fn export(&self, filter: &export::ExportFilter, format: export::ExportFormat, out: &mut dyn std::io::Write) -> Result<u64, AuditStoreError> {
        match self {
            AuditLocation::Sqlite(path) => export::export(&mut SqliteLog::new(&open_existing_sqlite(path)?), filter, format, out),
            AuditLocation::Postgres { url, options } => export::export(&mut PostgresLog::new(url, options), filter, format, out),
        }
    }

    /// Removes records received before `cutoff`, re-anchoring the chain on a prune marker
    /// that `witness` takes first (see `prune`). Blocking; safe from any thread.
    pub fn prune(&self, signer: &AuditSigner, cutoff: chrono::DateTime<chrono::Utc>, witness: &Witness) -> Result<PruneReport, AuditStoreError> {
        match self {
            AuditLocation::Sqlite(path) => {
                if !path.exists() {
                    return Err(AuditStoreError::Missing(path.clone()));
                }
                prune::prune(&mut SqliteLog::new(&sqlite::open_for_writing(path)?), signer, cutoff, witness)
            }
            AuditLocation::Postgres { url, options } => prune::prune(&mut PostgresLog::new(url, options), signer, cutoff, witness),
        }
    }

    /// Appends administrative records (a register import's) from a process beside the
    /// service, safely while the service writes too: SQLite's file lock or PostgreSQL's head
    /// row lock orders the writers. Signs no checkpoint: the service's writer signs the head
    /// it finds at its next checkpoint, and hands that to its witness as always. Returns the
    /// seq of the last record.
    pub fn append_administrative(&self, records: &mut [AuditRecord]) -> Result<i64, AuditStoreError> {
        match self {
            AuditLocation::Sqlite(path) => sqlite::append_unsigned(path, records),
            AuditLocation::Postgres { url, options } => postgres::append_unsigned(url, options, records),
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
}

/// An existing SQLite log, opened read-only, in this build's layout.
fn open_existing_sqlite(path: &Path) -> Result<rusqlite::Connection, AuditStoreError> {
    if !path.exists() {
        return Err(AuditStoreError::Missing(path.to_path_buf()));
    }
    let connection = sqlite::open_for_reading(path).map_err(|error| AuditStoreError::from(error).in_context(format!("cannot open {}", path.display())))?;
    sqlite::check_layout_for_reading(&connection).map_err(|error| error.in_context(path.display().to_string()))?;
    Ok(connection)
}
