//! The audit writer: one thread owns the audit database and appends records in batches
//! (group commit). A call's answer waits for its batch's commit, so durability costs one
//! fsync per batch, not per call: while one batch is being synced, the next one gathers.
//!
//! Each batch is one transaction: the records, chained by hash, and — when one is due — a
//! signed checkpoint of the new chain head. If the transaction fails, every call of the batch
//! is told so (and fails closed); the chain head is re-read, so nothing half-written is
//! chained on.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use rusqlite::Connection;
use tokio::sync::oneshot;

use super::record::AuditRecord;
use super::signing::AuditSigner;
use super::sqlite;

/// How the writer batches and checkpoints.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// Most records in one transaction.
    pub max_batch: usize,
    /// Records waiting for the writer before new calls are refused (fail closed, not queue forever).
    pub max_backlog: usize,
    /// Sign a checkpoint at least this often while records arrive…
    pub checkpoint_interval: Duration,
    /// …and at least every this many records.
    pub checkpoint_every: i64,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            max_batch: 1024,
            max_backlog: 16_384,
            checkpoint_interval: Duration::from_secs(5),
            checkpoint_every: 10_000,
        }
    }
}

/// Why a record could not be made durable. The call that produced it must not answer with data.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuditError {
    #[error("the audit log is not writable: {0}")]
    WriteFailed(String),
    #[error("the audit writer is overloaded")]
    Backlog,
    #[error("the audit writer has stopped")]
    Stopped,
}

struct Job {
    record: AuditRecord,
    done: oneshot::Sender<Result<i64, AuditError>>,
}

/// A handle to append records; cheap to clone. The writer stops (signing a last checkpoint)
/// when every handle is dropped.
#[derive(Clone)]
pub struct AuditLog {
    jobs: SyncSender<Job>,
    stats: Arc<AuditStats>,
}

/// Counters for operations (and the metrics to come).
#[derive(Debug, Default)]
pub struct AuditStats {
    pub records: AtomicU64,
    pub batches: AtomicU64,
    pub failures: AtomicU64,
}

impl AuditLog {
    /// Opens the SQLite audit log at `path` and starts its writer thread.
    pub fn start_sqlite(path: &Path, signer: AuditSigner, options: WriterOptions) -> anyhow::Result<(AuditLog, JoinHandle<()>)> {
        let connection = sqlite::open_for_writing(path).with_context(|| format!("cannot open the audit log {}", path.display()))?;
        let (jobs, receiver) = mpsc::sync_channel(options.max_backlog);
        let stats = Arc::new(AuditStats::default());
        let mut writer = Writer::new(connection, signer, options, stats.clone()).context("reading the audit chain head")?;
        let thread = std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || writer.run(receiver))
            .context("starting the audit writer")?;
        Ok((AuditLog { jobs, stats }, thread))
    }

    /// Appends a record (its `seq` is assigned here) and waits until it is committed.
    pub async fn append(&self, record: AuditRecord) -> Result<i64, AuditError> {
        let (done, committed) = oneshot::channel();
        self.jobs.try_send(Job { record, done }).map_err(|error| match error {
            TrySendError::Full(_) => AuditError::Backlog,
            TrySendError::Disconnected(_) => AuditError::Stopped,
        })?;
        committed.await.map_err(|_| AuditError::Stopped)?
    }

    pub fn stats(&self) -> &AuditStats {
        &self.stats
    }
}

struct Writer {
    connection: Connection,
    signer: AuditSigner,
    options: WriterOptions,
    stats: Arc<AuditStats>,
    head_seq: i64,
    head_hash: [u8; 32],
    checkpointed_seq: i64,
    last_checkpoint: Instant,
}

impl Writer {
    fn new(connection: Connection, signer: AuditSigner, options: WriterOptions, stats: Arc<AuditStats>) -> rusqlite::Result<Self> {
        let (head_seq, head_hash) = sqlite::head(&connection)?;
        let checkpointed_seq = sqlite::last_checkpoint_seq(&connection)?;
        Ok(Writer { connection, signer, options, stats, head_seq, head_hash, checkpointed_seq, last_checkpoint: Instant::now() })
    }

    fn run(&mut self, jobs: mpsc::Receiver<Job>) {
        loop {
            match jobs.recv_timeout(self.options.checkpoint_interval) {
                Ok(first) => {
                    let mut batch = vec![first];
                    while batch.len() < self.options.max_batch {
                        match jobs.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    self.write(batch);
                }
                Err(RecvTimeoutError::Timeout) => self.checkpoint_if_behind(),
                Err(RecvTimeoutError::Disconnected) => {
                    self.checkpoint_if_behind();
                    return;
                }
            }
        }
    }

    fn write(&mut self, batch: Vec<Job>) {
        let count = batch.len();
        let (mut records, dones): (Vec<AuditRecord>, Vec<_>) = batch.into_iter().map(|job| (job.record, job.done)).unzip();
        let result = self.commit(&mut records);
        match &result {
            Ok(()) => {
                self.stats.records.fetch_add(count as u64, Ordering::Relaxed);
                self.stats.batches.fetch_add(1, Ordering::Relaxed);
            }
            Err(error) => {
                self.stats.failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(%error, records = count, "audit batch not written; its calls fail closed");
                // The transaction rolled back: continue the chain from what is on disk.
                if let Ok((seq, hash)) = sqlite::head(&self.connection) {
                    self.head_seq = seq;
                    self.head_hash = hash;
                }
            }
        }
        for (record, done) in records.iter().zip(dones) {
            let _ = done.send(match &result {
                Ok(()) => Ok(record.seq),
                Err(error) => Err(AuditError::WriteFailed(error.to_string())),
            });
        }
    }

    /// One transaction: chain and insert the records, sign a checkpoint if one is due.
    fn commit(&mut self, records: &mut [AuditRecord]) -> rusqlite::Result<()> {
        let transaction = self.connection.transaction()?;
        let (mut seq, mut hash) = (self.head_seq, self.head_hash);
        for record in records.iter_mut() {
            seq += 1;
            record.seq = seq;
            let next = record.chain_hash(&hash);
            sqlite::insert_record(&transaction, record, &hash, &next)?;
            hash = next;
        }
        let due = seq - self.checkpointed_seq >= self.options.checkpoint_every
            || self.last_checkpoint.elapsed() >= self.options.checkpoint_interval;
        if due {
            insert_signed_checkpoint(&transaction, &self.signer, seq, &hash)?;
        }
        transaction.commit()?;
        self.head_seq = seq;
        self.head_hash = hash;
        if due {
            self.checkpointed_seq = seq;
            self.last_checkpoint = Instant::now();
        }
        Ok(())
    }

    fn checkpoint_if_behind(&mut self) {
        if self.head_seq == self.checkpointed_seq {
            return;
        }
        match insert_signed_checkpoint(&self.connection, &self.signer, self.head_seq, &self.head_hash) {
            Ok(()) => {
                self.checkpointed_seq = self.head_seq;
                self.last_checkpoint = Instant::now();
            }
            Err(error) => tracing::error!(%error, "audit checkpoint not written"),
        }
    }
}

/// Signs and stores a checkpoint of the chain head `seq`/`hash`.
pub fn insert_signed_checkpoint(connection: &Connection, signer: &AuditSigner, seq: i64, hash: &[u8; 32]) -> rusqlite::Result<()> {
    let signed_at = chrono::Utc::now().timestamp_micros();
    let signature = signer.sign_checkpoint(seq, hash, signed_at);
    sqlite::insert_checkpoint(connection, seq, hash, signed_at, &signer.key_id(), signer.public_key(), &signature)
}
