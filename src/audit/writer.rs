//! The audit writer: one thread owns the audit database and appends records in batches
//! (group commit). A call's answer waits for its batch's commit, so durability costs one
//! fsync per batch, not per call: while one batch is being synced, the next one gathers.
//!
//! Each batch is one transaction: the records, chained by hash, and — when one is due — a
//! signed checkpoint of the new chain head. If the transaction fails, every call of the batch
//! is told so (and fails closed); the chain head is re-read, so nothing half-written is
//! chained on.
//!
//! The batching, chaining and checkpoint policy are shared by the two backends:
//! - SQLite: this thread is the only writer of its file, so it keeps the head in memory;
//! - PostgreSQL: several instances write one chain, so each batch takes the head from the
//!   database under a row lock (`audit::postgres`), never from memory.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use prometheus_client::metrics::counter::Counter;
use rusqlite::Connection;
use tokio::sync::oneshot;

use super::postgres::AuditDb;
use super::record::AuditRecord;
use super::signing::AuditSigner;
use super::sqlite;
use crate::store::postgres::PostgresOptions;

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

/// The writer's counters, exported on `/metrics` (records ÷ batches is the group-commit size).
#[derive(Debug, Default)]
pub struct AuditStats {
    pub records: Counter,
    pub batches: Counter,
    pub failures: Counter,
}

impl AuditLog {
    /// Opens the SQLite audit log at `path` and starts its writer thread.
    pub fn start_sqlite(path: &Path, signer: AuditSigner, options: WriterOptions) -> anyhow::Result<(AuditLog, JoinHandle<()>)> {
        let connection = sqlite::open_for_writing(path).with_context(|| format!("cannot open the audit log {}", path.display()))?;
        Self::start(move || Ok(Backend::Sqlite(connection)), signer, options)
    }

    /// Opens the audit log on the PostgreSQL primary at `url` (applying migrations) and
    /// starts its writer thread. Fails when the database cannot be reached now.
    pub fn start_postgres(
        url: &str,
        database: &PostgresOptions,
        signer: AuditSigner,
        options: WriterOptions,
    ) -> anyhow::Result<(AuditLog, JoinHandle<()>)> {
        let (url, database) = (url.to_owned(), database.clone());
        Self::start(move || Ok(Backend::Postgres(Box::new(AuditDb::open(&url, &database)?))), signer, options)
    }

    /// Starts the writer thread on the backend `open` makes there (a PostgreSQL writer owns
    /// a runtime, which must not be made on a thread that drives another) and waits until it
    /// has read the chain head.
    fn start(
        open: impl FnOnce() -> anyhow::Result<Backend> + Send + 'static,
        signer: AuditSigner,
        options: WriterOptions,
    ) -> anyhow::Result<(AuditLog, JoinHandle<()>)> {
        let (jobs, receiver) = mpsc::sync_channel(options.max_backlog);
        let stats = Arc::new(AuditStats::default());
        let (ready, started) = mpsc::sync_channel(1);
        let writer_stats = stats.clone();
        let thread = std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || {
                let writer = open().and_then(|backend| Writer::new(backend, signer, options, writer_stats).context("reading the audit chain head"));
                match writer {
                    Ok(mut writer) => {
                        let _ = ready.send(Ok(()));
                        writer.run(receiver);
                    }
                    Err(error) => {
                        let _ = ready.send(Err(error));
                    }
                }
            })
            .context("starting the audit writer")?;
        started.recv().map_err(|_| anyhow::anyhow!("the audit writer stopped while starting"))??;
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

/// Where the writer appends.
enum Backend {
    Sqlite(Connection),
    Postgres(Box<AuditDb>),
}

struct Writer {
    backend: Backend,
    signer: AuditSigner,
    options: WriterOptions,
    stats: Arc<AuditStats>,
    head_seq: i64,
    head_hash: [u8; 32],
    checkpointed_seq: i64,
    last_checkpoint: Instant,
}

impl Writer {
    fn new(mut backend: Backend, signer: AuditSigner, options: WriterOptions, stats: Arc<AuditStats>) -> anyhow::Result<Self> {
        let ((head_seq, head_hash), checkpointed_seq) = match &mut backend {
            Backend::Sqlite(connection) => (sqlite::head(connection)?, sqlite::last_checkpoint_seq(connection)?),
            Backend::Postgres(db) => (db.head()?, db.last_checkpoint_seq()?),
        };
        Ok(Writer { backend, signer, options, stats, head_seq, head_hash, checkpointed_seq, last_checkpoint: Instant::now() })
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
                self.stats.records.inc_by(count as u64);
                self.stats.batches.inc();
            }
            Err(error) => {
                self.stats.failures.inc();
                tracing::error!(%error, records = count, "audit batch not written; its calls fail closed");
                // The transaction rolled back: continue the chain from what is on disk.
                // (On PostgreSQL every batch reads the head from the database anyway.)
                if let Backend::Sqlite(connection) = &self.backend {
                    if let Ok((seq, hash)) = sqlite::head(connection) {
                        self.head_seq = seq;
                        self.head_hash = hash;
                    }
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
    fn commit(&mut self, records: &mut [AuditRecord]) -> anyhow::Result<()> {
        let policy = CheckpointPolicy {
            checkpointed_seq: self.checkpointed_seq,
            every: self.options.checkpoint_every,
            interval_passed: self.last_checkpoint.elapsed() >= self.options.checkpoint_interval,
        };
        let committed = match &mut self.backend {
            Backend::Sqlite(connection) => commit_sqlite(connection, records, (self.head_seq, self.head_hash), &policy, &self.signer)?,
            Backend::Postgres(db) => db.append(records, &policy, &self.signer)?,
        };
        self.head_seq = committed.seq;
        self.head_hash = committed.hash;
        if committed.checkpointed {
            self.checkpointed_seq = committed.seq;
            self.last_checkpoint = Instant::now();
        }
        Ok(())
    }

    /// Signs the head if this writer appended since its last checkpoint.
    fn checkpoint_if_behind(&mut self) {
        if self.head_seq == self.checkpointed_seq {
            return;
        }
        let signed = match &mut self.backend {
            Backend::Sqlite(connection) => {
                insert_signed_checkpoint(connection, &self.signer, self.head_seq, &self.head_hash).map(|()| self.head_seq).map_err(anyhow::Error::from)
            }
            // Other instances may have appended since: the database's head is signed.
            Backend::Postgres(db) => db.checkpoint_head(&self.signer),
        };
        match signed {
            Ok(seq) => {
                self.head_seq = self.head_seq.max(seq);
                self.checkpointed_seq = self.head_seq;
                self.last_checkpoint = Instant::now();
            }
            Err(error) => tracing::error!(%error, "audit checkpoint not written"),
        }
    }
}

/// The SQLite batch: one transaction on the head kept in memory (this thread is the file's
/// only writer).
fn commit_sqlite(
    connection: &mut Connection,
    records: &mut [AuditRecord],
    (seq, hash): (i64, [u8; 32]),
    policy: &CheckpointPolicy,
    signer: &AuditSigner,
) -> rusqlite::Result<Committed> {
    let transaction = connection.transaction()?;
    let links = chain(records, seq, hash);
    for (record, link) in records.iter().zip(&links) {
        sqlite::insert_record(&transaction, record, &link.prev_hash, &link.hash)?;
    }
    let (seq, hash) = links.last().map_or((seq, hash), |last| (last.seq, last.hash));
    let checkpointed = policy.due(seq);
    if checkpointed {
        insert_signed_checkpoint(&transaction, signer, seq, &hash)?;
    }
    transaction.commit()?;
    Ok(Committed { seq, hash, checkpointed })
}

/// A record's place in the chain.
#[derive(Debug, Clone, Copy)]
pub struct Link {
    pub seq: i64,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
}

/// Gives the records the seqs after `seq` and chains them on `hash`: one link per record.
pub fn chain(records: &mut [AuditRecord], mut seq: i64, mut hash: [u8; 32]) -> Vec<Link> {
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
pub struct CheckpointPolicy {
    /// The head this writer last signed.
    pub checkpointed_seq: i64,
    /// Sign at least every this many records…
    pub every: i64,
    /// …and when the checkpoint interval has passed.
    pub interval_passed: bool,
}

impl CheckpointPolicy {
    pub fn due(&self, head_seq: i64) -> bool {
        head_seq - self.checkpointed_seq >= self.every || self.interval_passed
    }
}

/// What a committed batch reached.
#[derive(Debug, Clone, Copy)]
pub struct Committed {
    pub seq: i64,
    pub hash: [u8; 32],
    pub checkpointed: bool,
}

/// A checkpoint of the chain head, signed with the audit key.
pub struct SignedCheckpoint {
    pub seq: i64,
    pub head_hash: [u8; 32],
    pub signed_at_micros: i64,
    pub key_id: String,
    pub public_key: Vec<u8>,
    pub signature: Vec<u8>,
}

impl SignedCheckpoint {
    pub fn sign(signer: &AuditSigner, seq: i64, hash: &[u8; 32]) -> SignedCheckpoint {
        let signed_at_micros = chrono::Utc::now().timestamp_micros();
        SignedCheckpoint {
            seq,
            head_hash: *hash,
            signed_at_micros,
            key_id: signer.key_id(),
            public_key: signer.public_key().to_vec(),
            signature: signer.sign_checkpoint(seq, hash, signed_at_micros),
        }
    }
}

/// Signs and stores a checkpoint of the chain head `seq`/`hash`.
pub fn insert_signed_checkpoint(connection: &Connection, signer: &AuditSigner, seq: i64, hash: &[u8; 32]) -> rusqlite::Result<()> {
    let c = SignedCheckpoint::sign(signer, seq, hash);
    sqlite::insert_checkpoint(connection, c.seq, &c.head_hash, c.signed_at_micros, &c.key_id, &c.public_key, &c.signature)
}
