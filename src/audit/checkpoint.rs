//! The hash chain's links and its signed checkpoints, as both backends store them: the seqs
//! and hashes a batch gets ([`chain`]), when a batch also signs the head it reaches
//! ([`CheckpointPolicy`]), and the signed head or prune marker itself ([`SignedCheckpoint`]).

use super::record::AuditRecord;
use super::signing::{AuditSigner, CheckpointKind};

/// A record's place in the chain.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Link {
    pub(crate) seq: i64,
    pub(crate) prev_hash: [u8; 32],
    pub(crate) hash: [u8; 32],
}

/// Gives the records the seqs after `seq` and chains them on `hash`: one link per record.
pub(crate) fn chain(records: &mut [AuditRecord], mut seq: i64, mut hash: [u8; 32]) -> Vec<Link> {
    let mut links = Vec::with_capacity(records.len());
    for record in records.iter_mut() {
        seq += 1;
        record.seq = seq;
        let next = record.chain_hash(&hash);
        links.push(Link { seq, prev_hash: hash, hash: next });
        hash = next;
    }
    links
}

/// When a batch signs a checkpoint of the head it reaches.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CheckpointPolicy {
    /// The head this writer last signed.
    pub(crate) checkpointed_seq: i64,
    /// Sign at least every this many records…
    pub(crate) every: i64,
    /// …and when the checkpoint interval has passed.
    pub(crate) interval_passed: bool,
}

impl CheckpointPolicy {
    pub(crate) fn due(&self, head_seq: i64) -> bool {
        head_seq - self.checkpointed_seq >= self.every || self.interval_passed
    }
}

/// What a committed batch reached.
#[derive(Debug, Clone)]
pub(crate) struct Committed {
    pub(crate) seq: i64,
    /// The checkpoint the batch signed, if one was due.
    pub(crate) checkpoint: Option<SignedCheckpoint>,
}

/// A checkpoint of the chain head (or a prune marker), signed with the audit key.
#[derive(Debug, Clone)]
pub struct SignedCheckpoint {
    pub kind: CheckpointKind,
    pub seq: i64,
    pub head_hash: [u8; 32],
    pub signed_at_micros: i64,
    pub key_id: String,
    pub public_key: Vec<u8>,
    pub signature: Vec<u8>,
}

impl SignedCheckpoint {
    /// A signed head.
    pub fn sign(signer: &AuditSigner, seq: i64, hash: &[u8; 32]) -> SignedCheckpoint {
        Self::signed(signer, CheckpointKind::Head, seq, hash)
    }

    /// A prune marker: the records up to `seq` (whose hash is `hash`) were removed by pruning.
    pub(crate) fn prune_marker(signer: &AuditSigner, seq: i64, hash: &[u8; 32]) -> SignedCheckpoint {
        Self::signed(signer, CheckpointKind::Prune, seq, hash)
    }

    fn signed(signer: &AuditSigner, kind: CheckpointKind, seq: i64, hash: &[u8; 32]) -> SignedCheckpoint {
        let signed_at_micros = chrono::Utc::now().timestamp_micros();
        SignedCheckpoint {
            kind,
            seq,
            head_hash: *hash,
            signed_at_micros,
            key_id: signer.key_id(),
            public_key: signer.public_key().to_vec(),
            signature: signer.sign(kind, seq, hash, signed_at_micros),
        }
    }
}

