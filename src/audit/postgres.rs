//! The audit log in PostgreSQL, always on the primary: appending a batch in one transaction
//! that holds the chain head's row lock, signed checkpoints, reading the chain back in order
//! (verify), selecting for export, and pruning. The tables are in `migrations/postgres/`.
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

use anyhow::{anyhow, Context};
use chrono::{DateTime, Utc};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, IsolationLevel, Row};
use uuid::Uuid;

use super::export::{ExportFilter, Param};
use super::prune::PruneReport;
use super::record::AuditRecord;
use super::signing::AuditSigner;
use super::witness::Witness;
use super::verify::{CheckpointRow, ChainedRecord};
use super::writer::{chain, CheckpointPolicy, Committed, SignedCheckpoint};
use crate::store::postgres::{self as pg, describe, PostgresOptions};

/// The columns of a record, in the order of [`record_from_row`].
const RECORD_COLUMNS: &str = super::record::FIELD_COLUMNS;

/// One batch in one statement: every column as an array, unnested into rows.
const SQL_INSERT_RECORDS: &str = "\
INSERT INTO audit_records (seq, record_id, received_at_micros, message_id, transaction_id, correlation_id,
    consumer_id, consumer_name, certificate_sha256, certificate_subject, client_ip, environment,
    operator_first_name, operator_surname, operator_person_code, ivis_sender, service, request_style,
    soap_version, person_code, outcome, records_returned, processing_micros, prev_hash, hash)
SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[],
    $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
    $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[],
    $19::text[], $20::text[], $21::text[], $22::bigint[], $23::bigint[], $24::bytea[], $25::bytea[])";

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
pub struct AuditDb {
    url: String,
    options: PostgresOptions,
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

impl AuditDb {
    /// Connects and checks the audit tables are there (applying migrations if needed).
    pub fn open(url: &str, options: &PostgresOptions) -> anyhow::Result<AuditDb> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the audit runtime")?;
        let mut db = AuditDb { url: url.to_owned(), options: options.clone(), runtime, client: None, failed_at: None };
        let (client, runtime, timeout) = db.connection()?;
        // The timeout's timer belongs to the writer's runtime.
        let _entered = runtime.enter();
        // Migrations may wait for another instance's and take longer than one batch may.
        let bound = timeout.as_millis().max(1);
        let migrated = runtime.block_on(tokio::time::timeout(timeout.max(Duration::from_secs(30)), async {
            client.batch_execute("SET statement_timeout TO 0; SET lock_timeout TO 0").await.map_err(pg_error)?;
            pg::migrate(client).await.map_err(|e| anyhow!("{e}"))?;
            client
                .batch_execute(&format!("SET statement_timeout TO {bound}; SET lock_timeout TO {bound}"))
                .await
                .map_err(pg_error)
        }));
        db.finish(migrated).context("opening the PostgreSQL audit log")?;
        Ok(db)
    }

    /// The seq of the last checkpoint (0 if none).
    pub fn last_checkpoint_seq(&mut self) -> anyhow::Result<i64> {
        let (client, runtime, timeout) = self.connection()?;
        let _entered = runtime.enter();
        let result = runtime.block_on(tokio::time::timeout(timeout, async {
            let row = client.query_one("SELECT COALESCE(MAX(seq), 0)::bigint FROM audit_checkpoints", &[]).await?;
            Ok(row.try_get(0)?)
        }));
        self.finish(result)
    }

    /// The chain head as the database holds it.
    pub fn head(&mut self) -> anyhow::Result<(i64, [u8; 32])> {
        let (client, runtime, timeout) = self.connection()?;
        let _entered = runtime.enter();
        let result = runtime.block_on(tokio::time::timeout(timeout, async {
            let row = client.query_one("SELECT seq, hash FROM audit_head WHERE only_row", &[]).await?;
            Ok((row.try_get(0)?, hash32(row.try_get(1)?)?))
        }));
        self.finish(result)
    }

    /// One transaction: lock the head, chain and insert the records after it, sign a
    /// checkpoint if `policy` says one is due, move the head, commit.
    pub fn append(&mut self, records: &mut [AuditRecord], policy: &CheckpointPolicy, signer: &AuditSigner) -> anyhow::Result<Committed> {
        let (client, runtime, timeout) = self.connection()?;
        let _entered = runtime.enter();
        let result = runtime.block_on(tokio::time::timeout(timeout, async {
            let tx = client.transaction().await?;
            let head = tx.query_one(SQL_LOCK_HEAD, &[]).await?;
            let (seq, hash) = (head.try_get::<_, i64>(0)?, hash32(head.try_get(1)?)?);
            let links = chain(records, seq, hash);
            insert_records(&tx, records, &links).await?;
            let (seq, hash) = links.last().map_or((seq, hash), |last| (last.seq, last.hash));
            let checkpoint = policy.due(seq).then(|| SignedCheckpoint::sign(signer, seq, &hash));
            if let Some(checkpoint) = &checkpoint {
                insert_checkpoint(&tx, checkpoint).await?;
            }
            tx.execute(SQL_MOVE_HEAD, &[&seq, &hash.as_slice()]).await?;
            tx.commit().await?;
            Ok(Committed { seq, hash, checkpoint })
        }));
        self.finish(result)
    }

    /// Signs a checkpoint of the current head unless one covers it already; returns the
    /// head's seq and the checkpoint signed, if any.
    pub fn checkpoint_head(&mut self, signer: &AuditSigner) -> anyhow::Result<(i64, Option<SignedCheckpoint>)> {
        let (client, runtime, timeout) = self.connection()?;
        let _entered = runtime.enter();
        let result = runtime.block_on(tokio::time::timeout(timeout, async {
            let tx = client.transaction().await?;
            let head = tx.query_one(SQL_LOCK_HEAD, &[]).await?;
            let (seq, hash) = (head.try_get::<_, i64>(0)?, hash32(head.try_get(1)?)?);
            let covered: i64 = tx.query_one("SELECT COALESCE(MAX(seq), 0)::bigint FROM audit_checkpoints", &[]).await?.try_get(0)?;
            let checkpoint = (seq > covered).then(|| SignedCheckpoint::sign(signer, seq, &hash));
            if let Some(checkpoint) = &checkpoint {
                insert_checkpoint(&tx, checkpoint).await?;
            }
            tx.commit().await?;
            Ok((seq, checkpoint))
        }));
        self.finish(result)
    }

    /// Whether a batch could commit now: the primary is not a standby, the records table
    /// can be reached (not locked away) and the head moved, in a real transaction that
    /// changes nothing, within the timeout.
    pub fn probe_write(&mut self) -> anyhow::Result<()> {
        let (client, runtime, timeout) = self.connection()?;
        let _entered = runtime.enter();
        let result = runtime.block_on(tokio::time::timeout(timeout, async {
            let tx = client.transaction().await?;
            let standby: bool = tx.query_one("SELECT pg_is_in_recovery()", &[]).await?.try_get(0)?;
            anyhow::ensure!(!standby, "the audit database is a read-only standby");
            tx.query_opt("SELECT 1 FROM audit_records LIMIT 1", &[]).await?;
            tx.execute("UPDATE audit_head SET seq = seq WHERE only_row", &[]).await?;
            tx.commit().await?;
            Ok(())
        }));
        self.finish(result)
    }

    /// The connection (opened first if there is none, or the last one broke) and the timeout.
    fn connection(&mut self) -> anyhow::Result<(&mut Client, &tokio::runtime::Runtime, Duration)> {
        let AuditDb { url, options, runtime, client, failed_at } = self;
        if client.as_ref().is_some_and(|c| {
            // Let the connection task notice a peer that went away while we were idle.
            runtime.block_on(tokio::task::yield_now());
            c.is_closed()
        }) {
            *client = None;
        }
        if client.is_none() {
            if failed_at.is_some_and(|at| at.elapsed() < RETRY_AFTER) {
                return Err(anyhow!("PostgreSQL was unavailable a moment ago; retrying shortly"));
            }
            let fresh = runtime.block_on(async {
                let fresh = pg::connect(url, options).await.map_err(|e| anyhow!("{e}"))?;
                // Durable means on disk when COMMIT returns, whatever the server's default. A
                // statement stuck on a lock is cancelled by the server too, not only abandoned here.
                let bound = options.timeout.as_millis().max(1);
                fresh
                    .batch_execute(&format!("SET synchronous_commit TO on; SET statement_timeout TO {bound}; SET lock_timeout TO {bound}"))
                    .await
                    .map_err(pg_error)?;
                anyhow::Ok(fresh)
            });
            match fresh {
                Ok(fresh) => *client = Some(fresh),
                Err(error) => {
                    *failed_at = Some(std::time::Instant::now());
                    return Err(error);
                }
            }
        }
        match client.as_mut() {
            Some(connection) => Ok((connection, &*runtime, options.timeout)),
            None => Err(anyhow!("no connection to PostgreSQL")),
        }
    }

    /// The outcome of one unit of work; a failure or timeout drops the connection, so that
    /// the next unit starts on a fresh one.
    fn finish<T>(&mut self, result: Result<anyhow::Result<T>, tokio::time::error::Elapsed>) -> anyhow::Result<T> {
        let result = match result {
            Ok(result) => result.map_err(|e| match e.downcast::<tokio_postgres::Error>() {
                Ok(e) => pg_error(e),
                Err(e) => e,
            }),
            Err(_) => Err(anyhow!("no answer from PostgreSQL within {:?}", self.options.timeout)),
        };
        if result.is_err() {
            self.client = None;
        }
        result
    }
}

fn pg_error(e: tokio_postgres::Error) -> anyhow::Error {
    anyhow!("{}", describe(&e))
}

fn hash32(bytes: Vec<u8>) -> anyhow::Result<[u8; 32]> {
    <[u8; 32]>::try_from(bytes).map_err(|_| anyhow!("a stored hash is not 32 bytes"))
}

async fn insert_records(tx: &tokio_postgres::Transaction<'_>, records: &[AuditRecord], links: &[super::writer::Link]) -> anyhow::Result<()> {
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
    let params: [&(dyn ToSql + Sync); 25] = [
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
    ];
    let statement = tx.prepare(SQL_INSERT_RECORDS).await?;
    tx.execute(&statement, &params).await?;
    Ok(())
}

async fn insert_checkpoint(tx: &tokio_postgres::Transaction<'_>, c: &SignedCheckpoint) -> anyhow::Result<()> {
    let sql = match c.kind {
        super::signing::CheckpointKind::Head => SQL_INSERT_CHECKPOINT,
        super::signing::CheckpointKind::Prune => SQL_INSERT_PRUNE_MARKER,
    };
    tx.execute(sql, &[&c.seq, &c.head_hash.as_slice(), &c.signed_at_micros, &c.key_id, &c.public_key, &c.signature, &c.kind.as_str()])
        .await?;
    Ok(())
}

/// Reads a record from a row selected with [`RECORD_COLUMNS`] (optionally followed by
/// `prev_hash, hash`). A value that cannot be read back is an error, never a guess.
pub fn record_from_row(row: &Row) -> anyhow::Result<AuditRecord> {
    let record_id: String = row.try_get(1)?;
    let micros: i64 = row.try_get(2)?;
    Ok(AuditRecord {
        seq: row.try_get(0)?,
        record_id: Uuid::try_parse(&record_id).map_err(|_| anyhow!("record_id is not a UUID"))?,
        received_at: DateTime::from_timestamp_micros(micros).ok_or_else(|| anyhow!("time out of range"))?,
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
    })
}

// ---------------------------------------------------------------------------------------
// Reading the log back: verify and export stream it through a cursor, page by page, from a
// thread of their own, so that two years of records never sit in memory at once.

/// Rows of `sql` decoded by `decode`, fetched by a cursor in one read-only snapshot.
pub struct Streamed<T> {
    pages: mpsc::Receiver<anyhow::Result<Vec<T>>>,
    page: std::vec::IntoIter<T>,
    failed: bool,
}

impl<T> Iterator for Streamed<T> {
    type Item = anyhow::Result<T>;

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

/// Streams the rows of `sql` with `params`, each through `decode`.
pub fn stream<T: Send + 'static>(
    url: &str,
    options: &PostgresOptions,
    sql: String,
    params: Vec<Param>,
    decode: fn(&Row) -> anyhow::Result<T>,
) -> Streamed<T> {
    let (sender, pages) = mpsc::sync_channel(2);
    let (url, options) = (url.to_owned(), options.clone());
    std::thread::spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime,
            Err(error) => {
                let _ = sender.send(Err(anyhow!("cannot start a runtime: {error}")));
                return;
            }
        };
        let result: anyhow::Result<()> = runtime.block_on(async {
            let mut client = pg::connect(&url, &options).await.map_err(|e| anyhow!("{e}"))?;
            let tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await
                .map_err(pg_error)?;
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
            let portal = tx.bind(sql.as_str(), &refs).await.map_err(pg_error)?;
            loop {
                let rows = tx.query_portal(&portal, PAGE).await.map_err(pg_error)?;
                let done = rows.len() < PAGE as usize;
                let page = rows.iter().map(decode).collect::<anyhow::Result<Vec<T>>>()?;
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

/// Verifies the whole log on PostgreSQL with every check of `verify`; the log must also
/// reach the head `audit_head` names (read first: writers only move it on).
pub fn verify(
    url: &str,
    options: &PostgresOptions,
    verify: &super::verify::VerifyOptions,
) -> Result<super::verify::VerifyReport, super::verify::Problem> {
    use super::verify::{ExpectedHead, Problem, ProblemKind, CHECKPOINT_COLUMNS};
    let unreadable = |error: anyhow::Error| Problem {
        kind: ProblemKind::Unreadable,
        seq: 0,
        message: format!("the audit log cannot be read: {error}"),
    };
    let heads = stream(url, options, "SELECT seq, hash FROM audit_head".into(), Vec::new(), |row| {
        Ok((row.try_get::<_, i64>(0)?, hash32(row.try_get(1)?)?))
    })
    .collect::<anyhow::Result<Vec<_>>>()
    .map_err(unreadable)?;
    let mut verify = verify.clone();
    for (seq, head_hash) in heads.into_iter().filter(|(seq, _)| *seq > 0) {
        verify.expected_heads.push(ExpectedHead { seq, head_hash, source: super::verify::HeadSource::AuditHead });
    }
    let checkpoints = stream(
        url,
        options,
        format!("SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY seq"),
        Vec::new(),
        |row| {
            Ok(CheckpointRow {
                seq: row.try_get(0)?,
                head_hash: row.try_get(1)?,
                signed_at_micros: row.try_get(2)?,
                public_key: row.try_get(3)?,
                signature: row.try_get(4)?,
                kind: row.try_get(5)?,
            })
        },
    )
    .collect::<anyhow::Result<Vec<_>>>()
    .map_err(unreadable)?;
    let records = stream(
        url,
        options,
        format!("SELECT {RECORD_COLUMNS}, prev_hash, hash FROM audit_records ORDER BY seq"),
        Vec::new(),
        |row| {
            let (record, prev_hash, hash) = (record_from_row(row)?, row.try_get::<_, Vec<u8>>(23)?, row.try_get::<_, Vec<u8>>(24)?);
            ChainedRecord::of(&record, &prev_hash, &hash)
                .ok_or_else(|| anyhow::anyhow!("the record at seq {} holds a stored hash that is not 32 bytes", record.seq))
        },
    )
    .map(|item| item.map_err(unreadable));
    super::verify::verify_chain(checkpoints, records, &verify)
}

/// Writes the records matching `filter` to `out`; returns how many.
pub fn export(
    url: &str,
    options: &PostgresOptions,
    filter: &ExportFilter,
    format: super::export::ExportFormat,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<u64> {
    let (sql, params) = filter.query(RECORD_COLUMNS, super::export::Placeholder::Dollar);
    super::export::write_records(stream(url, options, sql, params, record_from_row), format, out)
}

/// Removes every record received before `cutoff`, first signing a checkpoint at the last
/// record removed (as the SQLite prune does). Holds the head's lock, so no batch of any
/// writer interleaves. Safe to call from any thread, inside a runtime or not.
pub fn prune(url: &str, options: &PostgresOptions, signer: &AuditSigner, cutoff: DateTime<Utc>, witness: &Witness) -> anyhow::Result<PruneReport> {
    let timeout = options.timeout.max(Duration::from_secs(300));
    pg::block_on(|| async move {
        let run = async {
            let mut client = pg::connect(url, options).await.map_err(|e| anyhow!("{e}"))?;
            let tx = client.transaction().await.map_err(pg_error)?;
            tx.query_one(SQL_LOCK_HEAD, &[]).await.map_err(pg_error)?;
            let last_removed = tx
                .query_opt(
                    "SELECT seq, hash FROM audit_records WHERE received_at_micros < $1 ORDER BY received_at_micros DESC, seq DESC LIMIT 1",
                    &[&cutoff.timestamp_micros()],
                )
                .await
                .map_err(pg_error)?;
            let Some(row) = last_removed else {
                return Ok(PruneReport { removed: 0, anchored_at: None });
            };
            let anchor_seq: i64 = row.try_get(0)?;
            let anchor_hash = hash32(row.try_get(1)?)?;
            let marker = SignedCheckpoint::prune_marker(signer, anchor_seq, &anchor_hash);
            insert_checkpoint(&tx, &marker).await?;
            // Witnessed first: the marker names a record that exists whether or not the removal commits.
            witness.record(&marker)?;
            let removed = tx.execute("DELETE FROM audit_records WHERE seq <= $1", &[&anchor_seq]).await.map_err(pg_error)?;
            tx.execute("DELETE FROM audit_checkpoints WHERE seq < $1", &[&anchor_seq]).await.map_err(pg_error)?;
            tx.commit().await.map_err(pg_error)?;
            Ok(PruneReport { removed, anchored_at: Some(anchor_seq) })
        };
        match tokio::time::timeout(timeout, run).await {
            Ok(result) => result.map_err(|e: anyhow::Error| crate::store::StoreError::Unavailable(format!("{e:#}"))),
            Err(_) => Err(crate::store::StoreError::Unavailable("pruning timed out".into())),
        }
    })
    .map_err(|e| anyhow!("{e}"))
}
