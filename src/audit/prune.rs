//! `audit prune`: removes records older than the retention period (two years by default)
//! without breaking verification of what remains. Before the oldest records go, a signed
//! prune marker is written at the last record removed (and handed to the witness);
//! verification then starts the chain from that marker ("re-anchoring"), so what remains
//! still proves itself whole. A marker is signed apart from ordinary checkpoints, so a prefix
//! deleted without pruning — on an ordinary checkpoint — is reported, not taken for a prune.

use chrono::{DateTime, Utc};

use super::backend::StoredLog;
use super::checkpoint::SignedCheckpoint;
use super::error::AuditStoreError;
use super::signing::AuditSigner;
use super::witness::Witness;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneReport {
    pub removed: u64,
    /// The signed checkpoint the remaining chain now starts from.
    pub anchored_at: Option<i64>,
}

/// Removes every record received before `cutoff`. The marker is witnessed before the
/// removal commits: if the witness cannot take it, nothing is removed.
pub(crate) fn prune(log: &mut impl StoredLog, signer: &AuditSigner, cutoff: DateTime<Utc>, witness: &Witness) -> Result<PruneReport, AuditStoreError> {
    log.prune_before(cutoff, &mut |anchor_seq, anchor_hash| {
        let marker = SignedCheckpoint::prune_marker(signer, anchor_seq, anchor_hash);
        // Witnessed first: the marker names a record that exists whether or not the removal commits.
        witness.record(&marker)?;
        Ok(marker)
    })
}
