//! The writer thread's side of the SQLite log. The service's writer thread is the file's
//! usual writer, but not its only one: `register import`, a process of its own, appends its
//! administrative record to the same file while the service runs. So every batch takes the
//! head from disk inside its write transaction (`BEGIN IMMEDIATE`: SQLite's file lock keeps
//! the other process out until the commit) — one lookup of the last row, next to an fsync —
//! and never chains on a head another process has moved.

use std::path::Path;

use rusqlite::Connection;

use super::{head, insert_checkpoint, insert_record, last_checkpoint_seq, open_for_writing, probe_write};
use crate::audit::backend::AppendLog;
use crate::audit::checkpoint::{chain, CheckpointPolicy, Committed, SignedCheckpoint};
use crate::audit::error::AuditStoreError;
use crate::audit::record::AuditRecord;
use crate::audit::signing::AuditSigner;

/// The writer's connection.
pub(crate) struct SqliteAppender {
    connection: Connection,
}

/// Appends `records` to the log at `path` (created or migrated if need be) in one
/// transaction, without signing a checkpoint: for a process beside the service
/// (`register import`), whose writer thread signs the head on its next checkpoint. Returns
/// the seq of the last record.
pub(crate) fn append_unsigned(path: &Path, records: &mut [AuditRecord]) -> Result<i64, AuditStoreError> {
    let mut appender = SqliteAppender::open(path)?;
    Ok(appender.commit(records, None)?.seq)
}

impl SqliteAppender {
    /// Opens (creating or migrating) the log at `path`.
    pub(crate) fn open(path: &Path) -> Result<SqliteAppender, AuditStoreError> {
        Ok(SqliteAppender { connection: open_for_writing(path)? })
    }

    /// One transaction; `sign` is the checkpoint policy and key, if checkpoints are signed.
    fn commit(&mut self, records: &mut [AuditRecord], sign: Option<(&CheckpointPolicy, &AuditSigner)>) -> rusqlite::Result<Committed> {
        let transaction = self.connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let (seq, hash) = head(&transaction)?;
        let links = chain(records, seq, hash);
        for (record, link) in records.iter().zip(&links) {
            insert_record(&transaction, record, &link.prev_hash, &link.hash)?;
        }
        let (seq, hash) = links.last().map_or((seq, hash), |last| (last.seq, last.hash));
        let checkpoint = match sign {
            Some((policy, signer)) if policy.due(seq) => Some(insert_signed_checkpoint(&transaction, signer, seq, &hash)?),
            _ => None,
        };
        transaction.commit()?;
        Ok(Committed { seq, checkpoint })
    }
}

impl AppendLog for SqliteAppender {
    /// The head on disk: another process may have appended since this writer did.
    fn head_seq(&mut self) -> Result<i64, AuditStoreError> {
        Ok(head(&self.connection)?.0)
    }

    fn last_checkpoint_seq(&mut self) -> Result<i64, AuditStoreError> {
        Ok(last_checkpoint_seq(&self.connection)?)
    }

    fn append(&mut self, records: &mut [AuditRecord], policy: &CheckpointPolicy, signer: &AuditSigner) -> Result<Committed, AuditStoreError> {
        // On failure the transaction rolled back; the next batch reads the head anew.
        Ok(self.commit(records, Some((policy, signer)))?)
    }

    /// Signs the head on disk, which may hold records another process appended.
    fn checkpoint_head(&mut self, signer: &AuditSigner) -> Result<(i64, Option<SignedCheckpoint>), AuditStoreError> {
        let transaction = self.connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let (seq, hash) = head(&transaction)?;
        if seq <= last_checkpoint_seq(&transaction)? {
            return Ok((seq, None));
        }
        let checkpoint = insert_signed_checkpoint(&transaction, signer, seq, &hash)?;
        transaction.commit()?;
        Ok((seq, Some(checkpoint)))
    }

    fn probe_write(&mut self) -> Result<(), AuditStoreError> {
        Ok(probe_write(&self.connection)?)
    }
}

/// Signs and stores a checkpoint of the chain head `seq`/`hash`.
pub fn insert_signed_checkpoint(connection: &Connection, signer: &AuditSigner, seq: i64, hash: &[u8; 32]) -> rusqlite::Result<SignedCheckpoint> {
    let checkpoint = SignedCheckpoint::sign(signer, seq, hash);
    insert_checkpoint(connection, &checkpoint)?;
    Ok(checkpoint)
}
