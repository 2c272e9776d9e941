//! The audit writer: one thread owns the audit database and appends records in batches
//! (group commit). A call's answer waits for its batch's commit, so durability costs one
//! fsync per batch, not per call: while one batch is being synced, the next one gathers.
//!
//! Each batch is one transaction: the records, chained by hash, and — when one is due — a
//! signed checkpoint of the new chain head. If the transaction fails, every call of the batch
//! is told so (and fails closed); the chain head is re-read, so nothing half-written is
//! chained on.
//!
//! Every signed checkpoint is also handed to the witness (`witness`), outside the database;
//! until the witness has taken it, no further call is answered.
//!
//! The writer also says whether records can be committed now, for `/ready`
//! ([`AuditLog::readiness_problem`]): the outcome of its last commit, how long the batch in
//! hand has waited, and its backlog — kept in atomics, so a readiness probe takes no lock on
//! the database. While it fails, and whenever it is idle, it tries a real (empty) write on its
//! own, so an instance whose log broke while idle turns unready, and one whose log came back
//! turns ready, without a call having to fail or succeed first.
//!
//! The batching, witnessing and checkpoint policy are written once here, over
//! [`AppendLog`]; how a batch finds the head it chains on is the backend's:
//! - SQLite: each batch reads the head inside its write transaction, since `register
//!   import` may append its administrative record from a process of its own;
//! - PostgreSQL: several instances write one chain, so each batch takes the head from the
//!   database under a row lock (`audit::postgres`), never from memory.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use prometheus_client::metrics::counter::Counter;
use tokio::sync::oneshot;

use super::backend::AppendLog;
use super::checkpoint::{CheckpointPolicy, SignedCheckpoint};
use super::error::AuditStoreError;
use super::postgres::PostgresAppender;
use super::record::AuditRecord;
use super::signing::AuditSigner;
use super::sqlite::SqliteAppender;
use super::witness::Witness;
use crate::database::postgres::PostgresOptions;

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
    /// Where each signed checkpoint is also written, outside the database.
    pub witness: Witness,
    /// While writes fail, try again this often (idle, it checks every `checkpoint_interval`).
    pub retry_interval: Duration,
    /// A batch waiting longer than this to commit makes the instance not ready.
    pub stall_after: Duration,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            max_batch: 1024,
            max_backlog: 16_384,
            checkpoint_interval: Duration::from_secs(5),
            checkpoint_every: 10_000,
            witness: Witness::default(),
            retry_interval: Duration::from_secs(1),
            stall_after: Duration::from_secs(2),
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
    enqueued: Instant,
}

/// A handle to append records; cheap to clone. The writer stops (signing a last checkpoint)
/// when every handle is dropped.
#[derive(Clone)]
pub struct AuditLog {
    jobs: SyncSender<Job>,
    stats: Arc<AuditStats>,
    health: Arc<AuditHealth>,
    stall_after: Duration,
    max_backlog: usize,
}

/// The writer's counters, exported on `/metrics` (records ÷ batches is the group-commit size).
#[derive(Debug, Default)]
pub struct AuditStats {
    pub records: Counter,
    pub batches: Counter,
    pub failures: Counter,
    /// Checkpoint lines the witness file or command did not take.
    pub witness_failures: Counter,
    /// Witnessed checkpoints the time-stamping authority did not stamp.
    pub timestamp_failures: Counter,
}

/// Whether the writer can commit now, shared with readiness probes; atomics only, apart from
/// the last error's text, which is read only while failing.
#[derive(Debug)]
pub struct AuditHealth {
    epoch: Instant,
    /// Records handed to the writer and not yet answered.
    pending: AtomicI64,
    /// When the oldest record of the batch in hand was handed over (microseconds after
    /// `epoch`, plus one); 0 while no batch is in hand.
    busy_since: AtomicU64,
    /// The last commit, witness write or self-check failed.
    failing: AtomicBool,
    last_error: Mutex<String>,
}

impl AuditHealth {
    fn new() -> AuditHealth {
        AuditHealth {
            epoch: Instant::now(),
            pending: AtomicI64::new(0),
            busy_since: AtomicU64::new(0),
            failing: AtomicBool::new(false),
            last_error: Mutex::new(String::new()),
        }
    }

    fn micros(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_micros()).unwrap_or(u64::MAX - 1) + 1
    }

    fn begin_batch(&self, oldest: Instant) {
        self.busy_since.store(self.micros(oldest), Ordering::Relaxed);
    }

    fn end_batch(&self, answered: usize) {
        self.busy_since.store(0, Ordering::Relaxed);
        self.pending.fetch_sub(answered as i64, Ordering::Relaxed);
    }

    fn succeeded(&self) {
        if self.failing.swap(false, Ordering::Relaxed) {
            tracing::info!("the audit log takes records again");
        }
    }

    fn failed(&self, error: &AuditStoreError) {
        if let Ok(mut last) = self.last_error.lock() {
            *last = error.to_string();
        }
        self.failing.store(true, Ordering::Relaxed);
    }

    fn is_failing(&self) -> bool {
        self.failing.load(Ordering::Relaxed)
    }

    /// Why records cannot be committed now, if they cannot.
    fn problem(&self, stall_after: Duration, max_backlog: usize) -> Option<String> {
        if self.is_failing() {
            let error = self.last_error.lock().map(|e| e.clone()).unwrap_or_default();
            return Some(format!("records cannot be committed: {error}"));
        }
        let since = self.busy_since.load(Ordering::Relaxed);
        if since != 0 {
            let waited = Duration::from_micros(self.micros(Instant::now()).saturating_sub(since));
            if waited > stall_after {
                return Some(format!("a batch of records has waited {:.1}s to be committed", waited.as_secs_f64()));
            }
        }
        let pending = self.pending.load(Ordering::Relaxed);
        if pending >= (max_backlog / 2).max(1) as i64 {
            return Some(format!("{pending} records wait for the audit writer"));
        }
        None
    }
}

impl AuditLog {
    /// Opens the SQLite audit log at `path` and starts its writer thread.
    pub fn start_sqlite(path: &Path, signer: AuditSigner, options: WriterOptions) -> Result<(AuditLog, JoinHandle<()>), AuditStoreError> {
        let log = SqliteAppender::open(path).map_err(|error| error.in_context(format!("cannot open the audit log {}", path.display())))?;
        Self::start(move || Ok(Box::new(log)), signer, options)
    }

    /// Opens the audit log on the PostgreSQL primary at `url` (applying migrations) and
    /// starts its writer thread. Fails when the database cannot be reached now.
    pub fn start_postgres(
        url: &str,
        database: &PostgresOptions,
        signer: AuditSigner,
        options: WriterOptions,
    ) -> Result<(AuditLog, JoinHandle<()>), AuditStoreError> {
        let (url, database) = (url.to_owned(), database.clone());
        Self::start(move || Ok(Box::new(PostgresAppender::open(&url, &database)?)), signer, options)
    }

    /// Starts the writer thread on the backend `open` makes there (a PostgreSQL writer owns
    /// a runtime, which must not be made on a thread that drives another) and waits until it
    /// has read the chain head.
    fn start(
        open: impl FnOnce() -> Result<Box<dyn AppendLog>, AuditStoreError> + Send + 'static,
        signer: AuditSigner,
        options: WriterOptions,
    ) -> Result<(AuditLog, JoinHandle<()>), AuditStoreError> {
        let (jobs, receiver) = mpsc::sync_channel(options.max_backlog);
        let stats = Arc::new(AuditStats {
            witness_failures: options.witness.failures().clone(),
            timestamp_failures: options.witness.timestamp_failures().clone(),
            ..AuditStats::default()
        });
        let health = Arc::new(AuditHealth::new());
        let (stall_after, max_backlog) = (options.stall_after, options.max_backlog);
        let (ready, started) = mpsc::sync_channel(1);
        let (writer_stats, writer_health) = (stats.clone(), health.clone());
        let thread = std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || {
                let writer = open().and_then(|backend| {
                    Writer::new(backend, signer, options, writer_stats, writer_health).map_err(|error| error.in_context("reading the audit chain head"))
                });
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
            .map_err(|error| AuditStoreError::Io(format!("starting the audit writer: {error}")))?;
        started.recv().map_err(|_| AuditStoreError::WriterStopped)??;
        Ok((AuditLog { jobs, stats, health, stall_after, max_backlog }, thread))
    }

    /// Appends a record (its `seq` is assigned here) and waits until it is committed.
    pub async fn append(&self, record: AuditRecord) -> Result<i64, AuditError> {
        let (done, committed) = oneshot::channel();
        self.health.pending.fetch_add(1, Ordering::Relaxed);
        self.jobs.try_send(Job { record, done, enqueued: Instant::now() }).map_err(|error| {
            self.health.pending.fetch_sub(1, Ordering::Relaxed);
            match error {
                TrySendError::Full(_) => AuditError::Backlog,
                TrySendError::Disconnected(_) => AuditError::Stopped,
            }
        })?;
        committed.await.map_err(|_| AuditError::Stopped)?
    }

    pub fn stats(&self) -> &AuditStats {
        &self.stats
    }

    /// Why calls would fail closed now, if they would (for `/ready`): the last commit (or
    /// witness write, or self-check) failed, the batch in hand has waited longer than
    /// `stall_after`, or half the backlog is taken. Reads atomics only.
    pub fn readiness_problem(&self) -> Option<String> {
        self.health.problem(self.stall_after, self.max_backlog)
    }
}

struct Writer {
    backend: Box<dyn AppendLog>,
    signer: AuditSigner,
    options: WriterOptions,
    stats: Arc<AuditStats>,
    health: Arc<AuditHealth>,
    /// The head this writer last reached…
    head_seq: i64,
    /// …and the last it signed.
    checkpointed_seq: i64,
    last_checkpoint: Instant,
    /// A checkpoint committed but not yet taken by the witness.
    unwitnessed: Option<SignedCheckpoint>,
}

impl Writer {
    fn new(
        mut backend: Box<dyn AppendLog>,
        signer: AuditSigner,
        options: WriterOptions,
        stats: Arc<AuditStats>,
        health: Arc<AuditHealth>,
    ) -> Result<Self, AuditStoreError> {
        let (head_seq, checkpointed_seq) = (backend.head_seq()?, backend.last_checkpoint_seq()?);
        Ok(Writer {
            backend,
            signer,
            options,
            stats,
            health,
            head_seq,
            checkpointed_seq,
            last_checkpoint: Instant::now(),
            unwitnessed: None,
        })
    }

    fn run(&mut self, jobs: mpsc::Receiver<Job>) {
        loop {
            let wait = match self.health.is_failing() {
                true => self.options.retry_interval.min(self.options.checkpoint_interval),
                false => self.options.checkpoint_interval,
            };
            match jobs.recv_timeout(wait) {
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
                Err(RecvTimeoutError::Timeout) => {
                    self.adopt_appended_elsewhere();
                    self.checkpoint_if_behind();
                    self.self_check();
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.checkpoint_if_behind();
                    return;
                }
            }
        }
    }

    fn write(&mut self, batch: Vec<Job>) {
        let count = batch.len();
        if let Some(oldest) = batch.iter().map(|job| job.enqueued).min() {
            self.health.begin_batch(oldest);
        }
        let (mut records, dones): (Vec<AuditRecord>, Vec<_>) = batch.into_iter().map(|job| (job.record, job.done)).unzip();
        // A checkpoint the witness has not taken yet holds every call back until it does.
        let result = self.witness_pending().and_then(|()| self.commit(&mut records));
        match &result {
            Ok(()) => {
                self.stats.records.inc_by(count as u64);
                self.stats.batches.inc();
                self.health.succeeded();
            }
            Err(error) => {
                self.stats.failures.inc();
                self.health.failed(error);
                tracing::error!(%error, records = count, "audit batch not written; its calls fail closed");
            }
        }
        for (record, done) in records.iter().zip(dones) {
            let _ = done.send(match &result {
                Ok(()) => Ok(record.seq),
                Err(error) => Err(AuditError::WriteFailed(error.to_string())),
            });
        }
        self.health.end_batch(count);
    }

    /// Hands the witness the checkpoint it did not take before, if any.
    fn witness_pending(&mut self) -> Result<(), AuditStoreError> {
        if let Some(checkpoint) = &self.unwitnessed {
            self.options
                .witness
                .record(checkpoint)
                .map_err(|error| AuditStoreError::from(error).in_context("an earlier checkpoint is still not witnessed"))?;
            self.unwitnessed = None;
        }
        Ok(())
    }

    /// Hands `checkpoint` (just committed) to the witness; if it cannot take it, it is kept
    /// to be handed over before any further call is answered.
    fn witness(&mut self, checkpoint: Option<SignedCheckpoint>) -> Result<(), AuditStoreError> {
        let Some(checkpoint) = checkpoint else { return Ok(()) };
        let witnessed = self.options.witness.record(&checkpoint);
        if witnessed.is_err() {
            self.unwitnessed = Some(checkpoint);
        }
        witnessed.map_err(|error| AuditStoreError::from(error).in_context("the records are committed but their signed checkpoint is not witnessed"))
    }

    /// While idle or failing: whether records could be committed now, by a real write that
    /// changes nothing (and the witness taking any checkpoint it missed).
    fn self_check(&mut self) {
        let checked = self.witness_pending().and_then(|()| self.backend.probe_write());
        match checked {
            Ok(()) => self.health.succeeded(),
            Err(error) => {
                if !self.health.is_failing() {
                    tracing::error!(%error, "the audit log cannot take records; calls fail closed until it can");
                }
                self.health.failed(&error);
            }
        }
    }

    /// One transaction: chain and insert the records, sign a checkpoint if one is due.
    fn commit(&mut self, records: &mut [AuditRecord]) -> Result<(), AuditStoreError> {
        let policy = CheckpointPolicy {
            checkpointed_seq: self.checkpointed_seq,
            every: self.options.checkpoint_every,
            interval_passed: self.last_checkpoint.elapsed() >= self.options.checkpoint_interval,
        };
        let committed = self.backend.append(records, &policy, &self.signer)?;
        self.head_seq = committed.seq;
        if committed.checkpoint.is_some() {
            self.checkpointed_seq = committed.seq;
            self.last_checkpoint = Instant::now();
        }
        self.witness(committed.checkpoint)
    }

    /// While idle: takes on the head another process may have moved (`register import`
    /// appends its administrative record beside the service; on PostgreSQL, other
    /// instances), so that those records are signed and witnessed within a checkpoint
    /// interval too. A failed read is left to the self-check.
    fn adopt_appended_elsewhere(&mut self) {
        if let Ok(seq) = self.backend.head_seq() {
            self.head_seq = self.head_seq.max(seq);
        }
    }

    /// Signs the head if it moved since this writer's last checkpoint.
    fn checkpoint_if_behind(&mut self) {
        if self.head_seq == self.checkpointed_seq {
            return;
        }
        let signed = self.backend.checkpoint_head(&self.signer);
        match signed {
            Ok((seq, checkpoint)) => {
                self.head_seq = self.head_seq.max(seq);
                self.checkpointed_seq = self.head_seq;
                self.last_checkpoint = Instant::now();
                if let Err(error) = self.witness(checkpoint) {
                    tracing::error!(%error, "audit checkpoint not witnessed; calls fail closed until it is");
                    self.health.failed(&error);
                }
            }
            Err(error) => {
                tracing::error!(%error, "audit checkpoint not written");
                self.health.failed(&error);
            }
        }
    }
}

