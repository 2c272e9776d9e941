//! What differs between the two places the audit log can live, as two traits; everything
//! else — the writer thread, checkpointing, verify, export and prune — is written once over
//! them. `sqlite` and `postgres` implement both, with their SQL in view.
//!
//! - [`AppendLog`]: the writer thread's side: the head, appending a batch in one
//!   transaction, signing the head, a probe write.
//! - [`StoredLog`]: the `audit` commands' side: reading records and checkpoints back in
//!   order, selecting for export, and the one transaction of a prune.

use chrono::{DateTime, Utc};

use super::checkpoint::{CheckpointPolicy, Committed, SignedCheckpoint};
use super::error::AuditStoreError;
use super::export::ExportFilter;
use super::prune::PruneReport;
use super::record::AuditRecord;
use super::signing::AuditSigner;
use super::verify::{ChainedRecord, CheckpointRow, ExpectedHead, Parallelism, Problem};

/// A log's records in seq order, reduced to what verification compares.
pub(crate) type ChainRecords<'a> = dyn Iterator<Item = Result<ChainedRecord, Problem>> + 'a;

/// The records an export selects, oldest first.
pub(crate) type SelectedRecords<'a> = dyn Iterator<Item = Result<AuditRecord, AuditStoreError>> + 'a;

/// Signs (and has witnessed) the prune marker for the record at this seq with this hash.
pub(crate) type Seal<'a> = dyn FnMut(i64, &[u8; 32]) -> Result<SignedCheckpoint, AuditStoreError> + Send + 'a;

/// Where the writer thread appends. One value per writer thread, used from it alone.
pub(crate) trait AppendLog {
    /// The seq of the head this writer last saw (0 for a new log).
    fn head_seq(&mut self) -> Result<i64, AuditStoreError>;

    /// The seq of the last signed checkpoint (0 if none).
    fn last_checkpoint_seq(&mut self) -> Result<i64, AuditStoreError>;

    /// One transaction: give `records` their seqs after the head, chain and insert them, and
    /// sign a checkpoint of the new head if `policy` says one is due. Durable when it returns
    /// `Ok`; on `Err` nothing of the batch is stored.
    fn append(&mut self, records: &mut [AuditRecord], policy: &CheckpointPolicy, signer: &AuditSigner) -> Result<Committed, AuditStoreError>;

    /// Signs the head unless a checkpoint covers it already; returns the head's seq and the
    /// checkpoint signed, if any.
    fn checkpoint_head(&mut self, signer: &AuditSigner) -> Result<(i64, Option<SignedCheckpoint>), AuditStoreError>;

    /// Whether a batch could commit now: a real write transaction that changes nothing.
    fn probe_write(&mut self) -> Result<(), AuditStoreError>;
}

/// A log at rest, as `audit verify`, `export` and `prune` see it.
pub(crate) trait StoredLog {
    /// Chain heads the database names outside its checkpoints (PostgreSQL's `audit_head`),
    /// which the log must reach.
    fn recorded_heads(&mut self) -> Result<Vec<ExpectedHead>, AuditStoreError>;

    /// Every checkpoint, in seq order.
    fn checkpoints(&mut self) -> Result<Vec<CheckpointRow>, AuditStoreError>;

    /// Hands `walk` every record in seq order, reduced to what verification compares.
    fn walk_chain<T>(&mut self, parallel: Parallelism, walk: impl FnOnce(&mut ChainRecords) -> T) -> Result<T, AuditStoreError>;

    /// Hands `walk` the records `filter` selects, oldest first.
    fn walk_selected<T>(&mut self, filter: &ExportFilter, walk: impl FnOnce(&mut SelectedRecords) -> T) -> Result<T, AuditStoreError>;

    /// One transaction that holds every writer off: finds the last record received before
    /// `cutoff`, stores the prune marker `seal` gives for it (seq and hash), removes the
    /// records up to it and the checkpoints before it. `seal` runs before the removal
    /// commits; if it fails, nothing is removed.
    fn prune_before(&mut self, cutoff: DateTime<Utc>, seal: &mut Seal) -> Result<PruneReport, AuditStoreError>;
}
