//! `audit prune`: removes records older than the retention period (two years by default)
//! without breaking verification of what remains. Before the oldest records go, a signed
//! prune marker is written at the last record removed (and handed to the witness);
//! verification then starts the chain from that marker ("re-anchoring"), so what remains
//! still proves itself whole. A marker is signed apart from ordinary checkpoints, so a prefix
//! deleted without pruning — on an ordinary checkpoint — is reported, not taken for a prune.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};

use super::signing::AuditSigner;
use super::witness::Witness;
use super::writer::SignedCheckpoint;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneReport {
    pub removed: u64,
    /// The signed checkpoint the remaining chain now starts from.
    pub anchored_at: Option<i64>,
}

/// Removes every record received before `cutoff`. The marker is witnessed before the
/// removal commits: if the witness cannot take it, nothing is removed.
pub fn prune(connection: &mut Connection, signer: &AuditSigner, cutoff: DateTime<Utc>, witness: &Witness) -> anyhow::Result<PruneReport> {
    let transaction = connection.transaction()?;
    // The last record to remove: the one before the first record to keep.
    let last_removed: Option<(i64, Vec<u8>)> = transaction
        .query_row(
            "SELECT seq, hash FROM audit_records WHERE received_at_micros < ?1 ORDER BY received_at_micros DESC, seq DESC LIMIT 1",
            [cutoff.timestamp_micros()],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .map(Some)
        .or_else(|error| if error == rusqlite::Error::QueryReturnedNoRows { Ok(None) } else { Err(error) })?;
    let Some((anchor_seq, _)) = last_removed else {
        return Ok(PruneReport { removed: 0, anchored_at: None });
    };
    // Records are appended in time order, so everything up to the anchor is older; take the
    // anchor's own hash from the row that follows it in the chain to keep the link exact.
    let anchor_hash: Vec<u8> =
        transaction.query_row("SELECT hash FROM audit_records WHERE seq = ?1", [anchor_seq], |row| row.get(0))?;
    let anchor_hash: [u8; 32] = anchor_hash
        .try_into()
        .map_err(|_| rusqlite::Error::InvalidColumnType(0, "hash".into(), rusqlite::types::Type::Blob))?;
    let marker = SignedCheckpoint::prune_marker(signer, anchor_seq, &anchor_hash);
    super::sqlite::insert_checkpoint(&transaction, &marker)?;
    // Witnessed first: the marker names a record that exists whether or not the removal commits.
    witness.record(&marker)?;
    let removed = transaction.execute("DELETE FROM audit_records WHERE seq <= ?1", params![anchor_seq])?;
    transaction.execute("DELETE FROM audit_checkpoints WHERE seq < ?1", params![anchor_seq])?;
    transaction.commit()?;
    Ok(PruneReport { removed: removed as u64, anchored_at: Some(anchor_seq) })
}
