//! What reading or changing the stored log can fail with, whichever backend holds it. The
//! texts are what `spolis-adapter audit …` prints, so they name the place, never a URL.

use std::path::PathBuf;

/// A failure of the audit log's storage, or of what an `audit` command does with it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditStoreError {
    /// There is no log file where one is expected (the commands never create one).
    #[error("no audit log at {}", .0.display())]
    Missing(PathBuf),
    /// The log is in a layout this build does not read, or does not write.
    #[error("{0}")]
    Layout(String),
    /// SQLite failed or refused.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL could not be reached, failed, refused or did not answer in time.
    #[error("{0}")]
    Postgres(String),
    /// A stored value cannot be read back as what it should be.
    #[error("{0}")]
    Unreadable(String),
    /// The witness did not take a checkpoint, so nothing depending on it may proceed.
    #[error(transparent)]
    Witness(#[from] super::witness::WitnessError),
    /// A file (the log's, or the export's output) could not be created, read or written.
    #[error("{0}")]
    Io(String),
    /// The writer thread ended before it had read the chain head.
    #[error("the audit writer stopped while starting")]
    WriterStopped,
    /// One of the above, with where it happened.
    #[error("{context}: {inner}")]
    In { context: String, inner: Box<AuditStoreError> },
}

impl AuditStoreError {
    /// This error, said to have happened in `context`.
    pub(crate) fn in_context(self, context: impl Into<String>) -> AuditStoreError {
        AuditStoreError::In { context: context.into(), inner: Box::new(self) }
    }
}

impl From<tokio_postgres::Error> for AuditStoreError {
    fn from(error: tokio_postgres::Error) -> Self {
        AuditStoreError::Postgres(crate::database::postgres::describe(&error))
    }
}

impl From<crate::database::DatabaseError> for AuditStoreError {
    fn from(error: crate::database::DatabaseError) -> Self {
        AuditStoreError::Postgres(error.to_string())
    }
}

impl From<crate::store::StoreError> for AuditStoreError {
    fn from(error: crate::store::StoreError) -> Self {
        AuditStoreError::Postgres(error.to_string())
    }
}

impl From<std::io::Error> for AuditStoreError {
    fn from(error: std::io::Error) -> Self {
        AuditStoreError::Io(error.to_string())
    }
}
