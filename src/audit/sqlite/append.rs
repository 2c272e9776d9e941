//! The writer thread's side of the SQLite log. The thread is the file's only writer, so it
//! keeps the chain head in memory and re-reads it from disk only after a failed batch.

use std::path::Path;

use rusqlite::Connection;

use super::{head, insert_checkpoint, insert_record, last_checkpoint_seq, open_for_writing, probe_write};
use crate::audit::backend::AppendLog;
use crate::audit::checkpoint::{chain, CheckpointPolicy, Committed, SignedCheckpoint};
use crate::audit::error::AuditStoreError;
use crate::audit::record::AuditRecord;
use crate::audit::signing::AuditSigner;

/// The writer's connection and the chain head it has reached.
pub(crate) struct SqliteAppender {
    connection: Connection,
    head: (i64, [u8; 32]),
}

impl SqliteAppender {
    /// Opens (creating or migrating) the log at `path` and reads its head.
    pub(crate) fn open(path: &Path) -> Result<SqliteAppender, AuditStoreError> {
        let connection = open_for_writing(path)?;
        let head = head(&connection)?;
        Ok(SqliteAppender { connection, head })
    }

    fn commit(&mut self, records: &mut [AuditRecord], policy: &CheckpointPolicy, signer: &AuditSigner) -> rusqlite::Result<Committed> {
        let (seq, hash) = self.head;
        let transaction = self.connection.transaction()?;
        let links = chain(records, seq, hash);
        for (record, link) in records.iter().zip(&links) {
            insert_record(&transaction, record, &link.prev_hash, &link.hash)?;
        }
        let (seq, hash) = links.last().map_or((seq, hash), |last| (last.seq, last.hash));
        let checkpoint = match policy.due(seq) {
            true => Some(insert_signed_checkpoint(&transaction, signer, seq, &hash)?),
            false => None,
        };
        transaction.commit()?;
        Ok(Committed { seq, hash, checkpoint })
    }
}

impl AppendLog for SqliteAppender {
    fn head_seq(&mut self) -> Result<i64, AuditStoreError> {
        Ok(self.head.0)
    }

    fn last_checkpoint_seq(&mut self) -> Result<i64, AuditStoreError> {
        Ok(last_checkpoint_seq(&self.connection)?)
    }

    fn append(&mut self, records: &mut [AuditRecord], policy: &CheckpointPolicy, signer: &AuditSigner) -> Result<Committed, AuditStoreError> {
        match self.commit(records, policy, signer) {
            Ok(committed) => {
                self.head = (committed.seq, committed.hash);
                Ok(committed)
            }
            Err(error) => {
                // The transaction rolled back: continue the chain from what is on disk.
                if let Ok(on_disk) = head(&self.connection) {
                    self.head = on_disk;
                }
                Err(error.into())
            }
        }
    }

    fn checkpoint_head(&mut self, signer: &AuditSigner) -> Result<(i64, Option<SignedCheckpoint>), AuditStoreError> {
        let (seq, hash) = self.head;
        if seq <= last_checkpoint_seq(&self.connection)? {
            return Ok((seq, None));
        }
        Ok((seq, Some(insert_signed_checkpoint(&self.connection, signer, seq, &hash)?)))
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
