//! The audit log in PostgreSQL, always on the primary: [`PostgresAppender`] is the writer
//! thread's side (appending a batch in one transaction that holds the chain head's row lock,
//! signed checkpoints), [`PostgresLog`] the `audit` commands' side (reading the chain back in
//! order through a cursor, selecting for export, pruning). The tables are in
//! `migrations/postgres/`; connections, TLS and migrations come from `store::postgres`.
//!
//! Several adapter instances may write at once. Each batch's transaction locks the single
//! row of `audit_head` (`SELECT … FOR UPDATE`), chains its records on the head it finds
//! there, inserts them and moves the head; so the database serializes the batches of all
//! writers and the chain stays gapless and linked whatever their number. A batch is durable
//! once `COMMIT` returns (`synchronous_commit = on` for this connection), and only then are
//! its calls answered.
//!
//! Each batch runs within the configured timeout; a failure or timeout drops the connection
//! (the server rolls the transaction back) and the next batch connects anew, so the writer
//! recovers when PostgreSQL comes back. `record_id` is unique: a batch whose commit
//! acknowledgement was lost can never be written twice.

use std::sync::mpsc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, IsolationLevel, Row, Transaction};
use uuid::Uuid;

use super::backend::{AppendLog, ChainRecords, Seal, SelectedRecords, StoredLog};
use super::checkpoint::{chain, CheckpointPolicy, Committed, Link, SignedCheckpoint};
use super::error::AuditStoreError;
use super::export::{ExportFilter, Param, Placeholder};
use super::prune::PruneReport;
use super::record::{AuditRecord, RecordVersion};
use super::signing::{AuditSigner, CheckpointKind};
use super::verify::{ChainedRecord, CheckpointRow, ExpectedHead, HeadSource, Parallelism, Problem, CHECKPOINT_COLUMNS};
use crate::database::postgres::{self as pg, PostgresOptions};
use crate::database::runtime::block_on;

/// The columns of a record, in the order of [`record_from_row`]: the fields in canonical
/// order, then the record's version (columns 0–26, 27).
/// (Spelled out: `concat!` takes literals only; a test checks it against its parts.)
const RECORD_COLUMNS: &str = "seq, record_id, received_at_micros, message_id, transaction_id, correlation_id, \
     consumer_id, consumer_name, certificate_sha256, certificate_subject, client_ip, environment, \
     operator_first_name, operator_surname, operator_person_code, ivis_sender, service, request_style, \
     soap_version, person_code, outcome, records_returned, processing_micros, purpose_legal_basis, purpose_case_number, bulk_prepared_by, administrative, record_version";

/// Where `prev_hash, hash` follow [`RECORD_COLUMNS`].
const PREV_HASH_COLUMN: usize = 28;

/// One batch in one statement: every column as an array, unnested into rows.
const SQL_INSERT_RECORDS: &str = "\
INSERT INTO audit_records (seq, record_id, received_at_micros, message_id, transaction_id, correlation_id,
    consumer_id, consumer_name, certificate_sha256, certificate_subject, client_ip, environment,
    operator_first_name, operator_surname, operator_person_code, ivis_sender, service, request_style,
    soap_version, person_code, outcome, records_returned, processing_micros, prev_hash, hash,
    purpose_legal_basis, purpose_case_number, bulk_prepared_by, record_version, administrative)
SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[],
    $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
    $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[],
    $19::text[], $20::text[], $21::text[], $22::bigint[], $23::bigint[], $24::bytea[], $25::bytea[],
    $26::text[], $27::text[], $28::text[], $29::smallint[], $30::text[])";

const SQL_LOCK_HEAD: &str = "SELECT seq, hash FROM audit_head WHERE only_row FOR UPDATE";

const SQL_MOVE_HEAD: &str = "UPDATE audit_head SET seq = $1, hash = $2 WHERE only_row";

/// Two writers may sign the same head: the first signature stays.
const SQL_INSERT_CHECKPOINT: &str = "\
INSERT INTO audit_checkpoints (seq, head_hash, signed_at_micros, key_id, public_key, signature, kind)
VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (seq) DO NOTHING";

/// A prune marker replaces a head signed at the same seq.
const SQL_INSERT_PRUNE_MARKER: &str = "\
INSERT INTO audit_checkpoints (seq, head_hash, signed_at_micros, key_id, public_key, signature, kind)
VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (seq) DO UPDATE SET head_hash = EXCLUDED.head_hash,
    signed_at_micros = EXCLUDED.signed_at_micros, key_id = EXCLUDED.key_id, public_key = EXCLUDED.public_key,
    signature = EXCLUDED.signature, kind = EXCLUDED.kind";

/// The writer thread's connection to the audit log; reconnects after a failure.
pub(crate) struct PostgresAppender {
    options: PostgresOptions,
    url: String,
    /// A runtime of the writer thread's own: the connection task runs while a batch runs.
    runtime: tokio::runtime::Runtime,
    client: Option<Client>,
    /// When connecting last failed: for a moment after, batches fail at once instead of
    /// each waiting out a connect timeout, so that a backlog during an outage is refused in
    /// bounded time rather than one timeout per queued batch.
    failed_at: Option<std::time::Instant>,
}

/// How long after a failed connect batches fail without trying again.
const RETRY_AFTER: Duration = Duration::from_millis(500);

impl PostgresAppender {
    /// Connects and checks the audit tables are there (applying migrations if needed).
    pub(crate) fn open(url: &str, options: &PostgresOptions) -> Result<PostgresAppender, AuditStoreError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| AuditStoreError::Io(format!("starting the audit runtime: {error}")))?;
        let mut db = PostgresAppender { url: url.to_owned(), options: options.clone(), runtime, client: None, failed_at: None };
        // Migrations may wait for another instance's and take longer than one batch may.
        let bound = options.timeout.as_millis().max(1);
        let migration_timeout = options.timeout.max(Duration::from_secs(30));
        db.run(migration_timeout, |mut client| async move {
            let migrated = async {
                client.batch_execute("SET statement_timeout TO 0; SET lock_timeout TO 0").await?;
                pg::migrate(&mut client).await?;
                client.batch_execute(&format!("SET statement_timeout TO {bound}; SET lock_timeout TO {bound}")).await?;
                Ok(())
            }
            .await;
            (client, migrated)
        })
        .map_err(|error| error.in_context("opening the PostgreSQL audit log"))?;
        Ok(db)
    }

    /// Runs `work` on the connection within `timeout`. `work` owns the client while it runs
    /// and hands it back with its result; a failure or timeout drops the connection, so that
    /// the next unit starts on a fresh one.
    fn run<T, Work>(&mut self, timeout: Duration, work: impl FnOnce(Client) -> Work) -> Result<T, AuditStoreError>
    where
        Work: std::future::Future<Output = (Client, Result<T, AuditStoreError>)>,
    {
        self.connect()?;
        let Some(client) = self.client.take() else {
            return Err(AuditStoreError::Postgres("no connection to PostgreSQL".into()));
        };
        // The timeout's timer belongs to the writer's runtime.
        let _entered = self.runtime.enter();
        match self.runtime.block_on(tokio::time::timeout(timeout, work(client))) {
            Ok((client, Ok(value))) => {
                self.client = Some(client);
                Ok(value)
            }
            Ok((_, Err(error))) => Err(error),
            Err(_) => Err(AuditStoreError::Postgres(format!("no answer from PostgreSQL within {timeout:?}"))),
        }
    }

    /// Opens a connection if there is none, or the last one broke.
    fn connect(&mut self) -> Result<(), AuditStoreError> {
        let PostgresAppender { url, options, runtime, client, failed_at } = self;
        if client.as_ref().is_some_and(|c| {
            // Let the connection task notice a peer that went away while we were idle.
            runtime.block_on(tokio::task::yield_now());
            c.is_closed()
        }) {
            *client = None;
        }
        if client.is_some() {
            return Ok(());
        }
        if failed_at.is_some_and(|at| at.elapsed() < RETRY_AFTER) {
            return Err(AuditStoreError::Postgres("PostgreSQL was unavailable a moment ago; retrying shortly".into()));
        }
        let fresh = runtime.block_on(async {
            let fresh = pg::connect(url, options).await?;
            // Durable means on disk when COMMIT returns, whatever the server's default. A
            // statement stuck on a lock is cancelled by the server too, not only abandoned here.
            let bound = options.timeout.as_millis().max(1);
            fresh
                .batch_execute(&format!("SET synchronous_commit TO on; SET statement_timeout TO {bound}; SET lock_timeout TO {bound}"))
                .await?;
            Ok::<_, AuditStoreError>(fresh)
        });
        match fresh {
            Ok(fresh) => {
                *client = Some(fresh);
                Ok(())
            }
            Err(error) => {
                *failed_at = Some(std::time::Instant::now());
                Err(error)
            }
        }
    }
}

/// Appends `records` to the shared chain in one transaction (holding the head's row lock, as
/// every instance's batches do), without signing a checkpoint: for a process beside the
/// service (`register import`); the instances' writers sign the head they find. Returns the
/// seq of the last record.
pub(crate) fn append_unsigned(url: &str, options: &PostgresOptions, records: &mut [AuditRecord]) -> Result<i64, AuditStoreError> {
    let mut appender = PostgresAppender::open(url, options)?;
    appender.run(options.timeout, |mut client| async move {
        let done = async {
            let tx = client.transaction().await?;
            let (seq, hash) = lock_head(&tx).await?;
            let links = chain(records, seq, hash);
            insert_records(&tx, records, &links).await?;
            let (seq, hash) = links.last().map_or((seq, hash), |last| (last.seq, last.hash));
            tx.execute(SQL_MOVE_HEAD, &[&seq, &hash.as_slice()]).await?;
            tx.commit().await?;
            Ok(seq)
        }
        .await;
        (client, done)
    })
}

impl AppendLog for PostgresAppender {
    /// The chain head as the database holds it.
    fn head_seq(&mut self) -> Result<i64, AuditStoreError> {
        self.run(self.options.timeout, |client| async move {
            let seq = async { Ok(client.query_one("SELECT seq FROM audit_head WHERE only_row", &[]).await?.try_get(0)?) }.await;
            (client, seq)
        })
    }

    fn last_checkpoint_seq(&mut self) -> Result<i64, AuditStoreError> {
        self.run(self.options.timeout, |client| async move {
            let seq = async { Ok(client.query_one(SQL_LAST_CHECKPOINT, &[]).await?.try_get(0)?) }.await;
            (client, seq)
        })
    }

    /// One transaction: lock the head, chain and insert the records after it, sign a
    /// checkpoint if `policy` says one is due, move the head, commit.
    fn append(&mut self, records: &mut [AuditRecord], policy: &CheckpointPolicy, signer: &AuditSigner) -> Result<Committed, AuditStoreError> {
        self.run(self.options.timeout, |mut client| async move {
            let done = async {
                let tx = client.transaction().await?;
                let (seq, hash) = lock_head(&tx).await?;
                let links = chain(records, seq, hash);
                insert_records(&tx, records, &links).await?;
                let (seq, hash) = links.last().map_or((seq, hash), |last| (last.seq, last.hash));
                let checkpoint = policy.due(seq).then(|| SignedCheckpoint::sign(signer, seq, &hash));
                if let Some(checkpoint) = &checkpoint {
                    insert_checkpoint(&tx, checkpoint).await?;
                }
                tx.execute(SQL_MOVE_HEAD, &[&seq, &hash.as_slice()]).await?;
                tx.commit().await?;
                Ok(Committed { seq, checkpoint })
            }
            .await;
            (client, done)
        })
    }

    /// Other instances may have appended since this one did: the database's head is signed.
    fn checkpoint_head(&mut self, signer: &AuditSigner) -> Result<(i64, Option<SignedCheckpoint>), AuditStoreError> {
        self.run(self.options.timeout, |mut client| async move {
            let done = async {
                let tx = client.transaction().await?;
                let (seq, hash) = lock_head(&tx).await?;
                let covered: i64 = tx.query_one(SQL_LAST_CHECKPOINT, &[]).await?.try_get(0)?;
                let checkpoint = (seq > covered).then(|| SignedCheckpoint::sign(signer, seq, &hash));
                if let Some(checkpoint) = &checkpoint {
                    insert_checkpoint(&tx, checkpoint).await?;
                }
                tx.commit().await?;
                Ok((seq, checkpoint))
            }
            .await;
            (client, done)
        })
    }

    /// The primary is not a standby, the records table can be reached (not locked away) and
    /// the head moved, in a real transaction that changes nothing, within the timeout.
    fn probe_write(&mut self) -> Result<(), AuditStoreError> {
        self.run(self.options.timeout, |mut client| async move {
            let done = async {
                let tx = client.transaction().await?;
                let standby: bool = tx.query_one("SELECT pg_is_in_recovery()", &[]).await?.try_get(0)?;
                if standby {
                    return Err(AuditStoreError::Postgres("the audit database is a read-only standby".into()));
                }
                tx.query_opt("SELECT 1 FROM audit_records LIMIT 1", &[]).await?;
                tx.execute("UPDATE audit_head SET seq = seq WHERE only_row", &[]).await?;
                tx.commit().await?;
                Ok(())
            }
            .await;
            (client, done)
        })
    }
}

const SQL_LAST_CHECKPOINT: &str = "SELECT COALESCE(MAX(seq), 0)::bigint FROM audit_checkpoints";

/// Takes the head's row lock, so no other writer's batch interleaves; returns the head.
async fn lock_head(tx: &Transaction<'_>) -> Result<(i64, [u8; 32]), AuditStoreError> {
    let head = tx.query_one(SQL_LOCK_HEAD, &[]).await?;
    Ok((head.try_get(0)?, hash32(head.try_get(1)?)?))
}

fn hash32(bytes: Vec<u8>) -> Result<[u8; 32], AuditStoreError> {
    <[u8; 32]>::try_from(bytes).map_err(|_| AuditStoreError::Unreadable("a stored hash is not 32 bytes".into()))
}

async fn insert_records(tx: &Transaction<'_>, records: &[AuditRecord], links: &[Link]) -> Result<(), AuditStoreError> {
    let column = |f: &dyn Fn(&AuditRecord) -> Option<String>| records.iter().map(f).collect::<Vec<Option<String>>>();
    let text = |f: &dyn Fn(&AuditRecord) -> String| records.iter().map(f).collect::<Vec<String>>();
    let seq: Vec<i64> = records.iter().map(|r| r.seq).collect();
    let record_id = text(&|r| r.record_id.to_string());
    let received: Vec<i64> = records.iter().map(|r| r.received_at.timestamp_micros()).collect();
    let message_id = column(&|r| r.message_id.clone());
    let transaction_id = column(&|r| r.transaction_id.clone());
    let correlation_id = column(&|r| r.correlation_id.clone());
    let consumer_id = column(&|r| r.consumer_id.clone());
    let consumer_name = column(&|r| r.consumer_name.clone());
    let certificate_sha256 = text(&|r| r.certificate_sha256.clone());
    let certificate_subject = text(&|r| r.certificate_subject.clone());
    let client_ip = text(&|r| r.client_ip.clone());
    let environment = text(&|r| r.environment.clone());
    let operator_first_name = column(&|r| r.operator_first_name.clone());
    let operator_surname = column(&|r| r.operator_surname.clone());
    let operator_person_code = column(&|r| r.operator_person_code.clone());
    let ivis_sender = column(&|r| r.ivis_sender.clone());
    let service = text(&|r| r.service.clone());
    let request_style = column(&|r| r.request_style.clone());
    let soap_version = column(&|r| r.soap_version.clone());
    let person_code = column(&|r| r.person_code.clone());
    let outcome = text(&|r| r.outcome.clone());
    let records_returned: Vec<i64> = records.iter().map(|r| r.records_returned).collect();
    let processing: Vec<i64> = records.iter().map(|r| r.processing_micros).collect();
    let prev_hash: Vec<Vec<u8>> = links.iter().map(|l| l.prev_hash.to_vec()).collect();
    let hash: Vec<Vec<u8>> = links.iter().map(|l| l.hash.to_vec()).collect();
    let purpose_legal_basis = column(&|r| r.purpose_legal_basis.clone());
    let purpose_case_number = column(&|r| r.purpose_case_number.clone());
    let bulk_prepared_by = column(&|r| r.bulk_prepared_by.clone());
    let version: Vec<i16> = records.iter().map(|r| r.version.number()).collect();
    let administrative = column(&|r| r.administrative.clone());
    let params: [&(dyn ToSql + Sync); 30] = [
        &seq,
        &record_id,
        &received,
        &message_id,
        &transaction_id,
        &correlation_id,
        &consumer_id,
        &consumer_name,
        &certificate_sha256,
        &certificate_subject,
        &client_ip,
        &environment,
        &operator_first_name,
        &operator_surname,
        &operator_person_code,
        &ivis_sender,
        &service,
        &request_style,
        &soap_version,
        &person_code,
        &outcome,
        &records_returned,
        &processing,
        &prev_hash,
        &hash,
        &purpose_legal_basis,
        &purpose_case_number,
        &bulk_prepared_by,
        &version,
        &administrative,
    ];
    let statement = tx.prepare(SQL_INSERT_RECORDS).await?;
    tx.execute(&statement, &params).await?;
    Ok(())
}

async fn insert_checkpoint(tx: &Transaction<'_>, c: &SignedCheckpoint) -> Result<(), AuditStoreError> {
    let sql = match c.kind {
        CheckpointKind::Head => SQL_INSERT_CHECKPOINT,
        CheckpointKind::Prune => SQL_INSERT_PRUNE_MARKER,
    };
    tx.execute(sql, &[&c.seq, &c.head_hash.as_slice(), &c.signed_at_micros, &c.key_id, &c.public_key, &c.signature, &c.kind.as_str()])
        .await?;
    Ok(())
}

/// Reads a record from a row selected with [`RECORD_COLUMNS`] (optionally followed by
/// `prev_hash, hash`). A value that cannot be read back is an error, never a guess.
fn record_from_row(row: &Row) -> Result<AuditRecord, AuditStoreError> {
    let record_id: String = row.try_get(1)?;
    let micros: i64 = row.try_get(2)?;
    let version: i16 = row.try_get(27)?;
    let version = RecordVersion::from_number(version)
        .ok_or_else(|| AuditStoreError::Unreadable(format!("record_version {version} is no version this build knows")))?;
    Ok(AuditRecord {
        seq: row.try_get(0)?,
        record_id: Uuid::try_parse(&record_id).map_err(|_| AuditStoreError::Unreadable("record_id is not a UUID".into()))?,
        received_at: DateTime::from_timestamp_micros(micros).ok_or_else(|| AuditStoreError::Unreadable("time out of range".into()))?,
        message_id: row.try_get(3)?,
        transaction_id: row.try_get(4)?,
        correlation_id: row.try_get(5)?,
        consumer_id: row.try_get(6)?,
        consumer_name: row.try_get(7)?,
        certificate_sha256: row.try_get(8)?,
        certificate_subject: row.try_get(9)?,
        client_ip: row.try_get(10)?,
        environment: row.try_get(11)?,
        operator_first_name: row.try_get(12)?,
        operator_surname: row.try_get(13)?,
        operator_person_code: row.try_get(14)?,
        ivis_sender: row.try_get(15)?,
        service: row.try_get(16)?,
        request_style: row.try_get(17)?,
        soap_version: row.try_get(18)?,
        person_code: row.try_get(19)?,
        outcome: row.try_get(20)?,
        records_returned: row.try_get(21)?,
        processing_micros: row.try_get(22)?,
        purpose_legal_basis: row.try_get(23)?,
        purpose_case_number: row.try_get(24)?,
        bulk_prepared_by: row.try_get(25)?,
        administrative: row.try_get(26)?,
        version,
    })
}

// ---------------------------------------------------------------------------------------
// Reading the log back: verify and export stream it through a cursor, page by page, from a
// thread of their own, so that two years of records never sit in memory at once.

/// Rows of `sql` decoded by `decode`, fetched by a cursor in one read-only snapshot.
struct Streamed<T> {
    pages: mpsc::Receiver<Result<Vec<T>, AuditStoreError>>,
    page: std::vec::IntoIter<T>,
    failed: bool,
}

impl<T> Iterator for Streamed<T> {
    type Item = Result<T, AuditStoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.page.next() {
                return Some(Ok(item));
            }
            if self.failed {
                return None;
            }
            match self.pages.recv() {
                Ok(Ok(page)) => self.page = page.into_iter(),
                Ok(Err(error)) => {
                    self.failed = true;
                    return Some(Err(error));
                }
                Err(_) => return None,
            }
        }
    }
}

const PAGE: i32 = 2000;

/// The PostgreSQL log, as the `audit` commands see it: each reading streams through a
/// connection of its own.
pub(crate) struct PostgresLog {
    url: String,
    options: PostgresOptions,
}

impl PostgresLog {
    pub(crate) fn new(url: &str, options: &PostgresOptions) -> PostgresLog {
        PostgresLog { url: url.to_owned(), options: options.clone() }
    }

    /// Streams the rows of `sql` with `params`, each through `decode`.
    fn stream<T: Send + 'static>(&self, sql: String, params: Vec<Param>, decode: fn(&Row) -> Result<T, AuditStoreError>) -> Streamed<T> {
        let (sender, pages) = mpsc::sync_channel(2);
        let (url, options) = (self.url.clone(), self.options.clone());
        std::thread::spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(error) => {
                    let _ = sender.send(Err(AuditStoreError::Io(format!("cannot start a runtime: {error}"))));
                    return;
                }
            };
            let result: Result<(), AuditStoreError> = runtime.block_on(async {
                let mut client = pg::connect(&url, &options).await?;
                let tx = client.build_transaction().isolation_level(IsolationLevel::RepeatableRead).read_only(true).start().await?;
                let values: Vec<Box<dyn ToSql + Sync + Send>> = params
                    .into_iter()
                    .map(|p| -> Box<dyn ToSql + Sync + Send> {
                        match p {
                            Param::Text(text) => Box::new(text),
                            Param::Integer(i) => Box::new(i),
                        }
                    })
                    .collect();
                let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v.as_ref() as &(dyn ToSql + Sync)).collect();
                let portal = tx.bind(sql.as_str(), &refs).await?;
                loop {
                    let rows = tx.query_portal(&portal, PAGE).await?;
                    let done = rows.len() < PAGE as usize;
                    let page = rows.iter().map(decode).collect::<Result<Vec<T>, _>>()?;
                    if sender.send(Ok(page)).is_err() || done {
                        return Ok(());
                    }
                }
            });
            if let Err(error) = result {
                let _ = sender.send(Err(error));
            }
        });
        Streamed { pages, page: Vec::new().into_iter(), failed: false }
    }
}

impl StoredLog for PostgresLog {
    fn recorded_heads(&mut self) -> Result<Vec<ExpectedHead>, AuditStoreError> {
        let heads = self.stream("SELECT seq, hash FROM audit_head".into(), Vec::new(), |row| Ok((row.try_get::<_, i64>(0)?, hash32(row.try_get(1)?)?)));
        heads
            .filter(|head| head.as_ref().map_or(true, |(seq, _)| *seq > 0))
            .map(|head| head.map(|(seq, head_hash)| ExpectedHead { seq, head_hash, source: HeadSource::AuditHead }))
            .collect()
    }

    fn checkpoints(&mut self) -> Result<Vec<CheckpointRow>, AuditStoreError> {
        let sql = format!("SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY seq");
        self.stream(sql, Vec::new(), |row| {
            Ok(CheckpointRow {
                seq: row.try_get(0)?,
                head_hash: row.try_get(1)?,
                signed_at_micros: row.try_get(2)?,
                public_key: row.try_get(3)?,
                signature: row.try_get(4)?,
                kind: row.try_get(5)?,
            })
        })
        .collect()
    }

    fn walk_chain<T>(&mut self, _parallel: Parallelism, walk: impl FnOnce(&mut ChainRecords) -> T) -> Result<T, AuditStoreError> {
        let sql = format!("SELECT {RECORD_COLUMNS}, prev_hash, hash FROM audit_records ORDER BY seq");
        let records = self.stream(sql, Vec::new(), |row| {
            let record = record_from_row(row)?;
            let (prev_hash, hash) = (row.try_get::<_, Vec<u8>>(PREV_HASH_COLUMN)?, row.try_get::<_, Vec<u8>>(PREV_HASH_COLUMN + 1)?);
            let mut chained = ChainedRecord::of(&record, &prev_hash, &hash).ok_or_else(|| {
                AuditStoreError::Unreadable(format!("the record at seq {} holds a stored hash that is not 32 bytes", record.seq))
            })?;
            // A purpose written into a version-1 row, or administrative details into a row
            // before version 3, is covered by no hash: an alteration.
            if record.holds_more_than_its_version() {
                chained.disagreeing_copy = Some("purpose_legal_basis / purpose_case_number / bulk_prepared_by / administrative");
            }
            Ok(chained)
        });
        let mut records = records.map(|item| item.map_err(|error| Problem::unreadable(0, format!("the audit log cannot be read: {error}"))));
        Ok(walk(&mut records))
    }

    fn walk_selected<T>(&mut self, filter: &ExportFilter, walk: impl FnOnce(&mut SelectedRecords) -> T) -> Result<T, AuditStoreError> {
        let (sql, params) = filter.query(RECORD_COLUMNS, Placeholder::Dollar);
        Ok(walk(&mut self.stream(sql, params, record_from_row)))
    }

    /// Holds the head's lock, so no batch of any writer interleaves. Safe to call from any
    /// thread, inside a runtime or not.
    fn prune_before(&mut self, cutoff: DateTime<Utc>, seal: &mut Seal) -> Result<PruneReport, AuditStoreError> {
        let (url, options) = (&self.url, &self.options);
        let timeout = options.timeout.max(Duration::from_secs(300));
        let pruned = block_on(|| async move {
            let run = async {
                let mut client = pg::connect(url, options).await?;
                let tx = client.transaction().await?;
                lock_head(&tx).await?;
                let last_removed = tx
                    .query_opt(
                        "SELECT seq, hash FROM audit_records WHERE received_at_micros < $1 ORDER BY received_at_micros DESC, seq DESC LIMIT 1",
                        &[&cutoff.timestamp_micros()],
                    )
                    .await?;
                let Some(row) = last_removed else {
                    return Ok(PruneReport { removed: 0, anchored_at: None });
                };
                let anchor_seq: i64 = row.try_get(0)?;
                let marker = seal(anchor_seq, &hash32(row.try_get(1)?)?)?;
                insert_checkpoint(&tx, &marker).await?;
                let removed = tx.execute("DELETE FROM audit_records WHERE seq <= $1", &[&anchor_seq]).await?;
                tx.execute("DELETE FROM audit_checkpoints WHERE seq < $1", &[&anchor_seq]).await?;
                tx.commit().await?;
                Ok(PruneReport { removed, anchored_at: Some(anchor_seq) })
            };
            // The store's own error, so that its runner may carry it out of the runtime.
            match tokio::time::timeout(timeout, run).await {
                Ok(result) => result.map_err(|error: AuditStoreError| crate::store::StoreError::Unavailable(error.to_string())),
                Err(_) => Err(crate::store::StoreError::Unavailable("pruning timed out".into())),
            }
        });
        Ok(pruned?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_columns_are_the_fields_in_canonical_order_then_the_version() {
        use super::super::record::{ADMINISTRATIVE_COLUMN, FIELD_COLUMNS, PURPOSE_COLUMNS};
        let expected = format!("{FIELD_COLUMNS}, {PURPOSE_COLUMNS}, {ADMINISTRATIVE_COLUMN}, record_version");
        let words = |text: &str| text.split(',').map(str::trim).map(str::to_string).collect::<Vec<_>>();
        assert_eq!(words(RECORD_COLUMNS), words(&expected));
        assert_eq!(words(RECORD_COLUMNS).len(), PREV_HASH_COLUMN);
    }
}
