//! The audit log in SQLite: schema, appending a batch in one transaction, reading the chain
//! back in order, selecting for export, and pruning. Used by the writer thread and by the
//! `audit` subcommands; nothing else touches the audit tables.

use std::path::Path;

use chrono::DateTime;
use rusqlite::{params, Connection, OpenFlags, Row};
use uuid::Uuid;

use super::record::AuditRecord;

pub const AUDIT_FILE: &str = "audit.sqlite3";

const MIGRATIONS: &[(i64, &str)] = &[(1, include_str!("../../migrations/audit-sqlite/0001_audit.sql"))];

/// Opens (creating and migrating) the audit database for writing: WAL with
/// `synchronous=FULL`, so a committed transaction is on disk (fsync'd) before commit returns.
pub fn open_for_writing(path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open(path)?;
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    migrate(&connection)?;
    Ok(connection)
}

/// Opens an existing audit database read-only (verify, export).
pub fn open_for_reading(path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    // Verification and export read the whole log in order: map it rather than copy each page.
    connection.pragma_update(None, "mmap_size", 2_147_418_112_i64)?;
    Ok(connection)
}

fn migrate(connection: &Connection) -> rusqlite::Result<()> {
    connection.execute_batch("CREATE TABLE IF NOT EXISTS audit_schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")?;
    for (version, sql) in MIGRATIONS {
        let applied: bool = connection.query_row(
            "SELECT EXISTS (SELECT 1 FROM audit_schema_migrations WHERE version = ?1)",
            [version],
            |row| row.get(0),
        )?;
        if !applied {
            let transaction = connection.unchecked_transaction()?;
            transaction.execute_batch(sql)?;
            transaction.execute(
                "INSERT INTO audit_schema_migrations (version, applied_at) VALUES (?1, ?2)",
                params![version, chrono::Utc::now().to_rfc3339()],
            )?;
            transaction.commit()?;
        }
    }
    Ok(())
}

/// The chain head: the last record's seq and hash; for a log pruned to nothing, the signed
/// checkpoint it was anchored at; for a new log, 0 and zeros.
pub fn head(connection: &Connection) -> rusqlite::Result<(i64, [u8; 32])> {
    for sql in [
        "SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1",
        "SELECT seq, head_hash FROM audit_checkpoints ORDER BY seq DESC LIMIT 1",
    ] {
        let last = connection.query_row(sql, [], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?)));
        match last {
            Ok((seq, hash)) => {
                let hash = <[u8; 32]>::try_from(hash)
                    .map_err(|_| rusqlite::Error::InvalidColumnType(1, "hash".into(), rusqlite::types::Type::Blob))?;
                return Ok((seq, hash));
            }
            Err(rusqlite::Error::QueryReturnedNoRows) => continue,
            Err(error) => return Err(error),
        }
    }
    Ok((0, [0; 32]))
}

/// The seq of the last checkpoint (0 if none).
pub fn last_checkpoint_seq(connection: &Connection) -> rusqlite::Result<i64> {
    connection.query_row("SELECT COALESCE(MAX(seq), 0) FROM audit_checkpoints", [], |row| row.get(0))
}

pub const RECORD_COLUMNS: &str = "seq, record_id, received_at_micros, message_id, transaction_id, correlation_id, \
     consumer_id, consumer_name, certificate_sha256, certificate_subject, client_ip, environment, \
     operator_first_name, operator_surname, operator_person_code, ivis_sender, service, request_style, \
     soap_version, person_code, outcome, records_returned, processing_micros";

pub fn insert_record(connection: &Connection, record: &AuditRecord, prev_hash: &[u8; 32], hash: &[u8; 32]) -> rusqlite::Result<()> {
    let mut statement = connection.prepare_cached(&format!(
        "INSERT INTO audit_records ({RECORD_COLUMNS}, prev_hash, hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)"
    ))?;
    statement.execute(params![
        record.seq,
        record.record_id.to_string(),
        record.received_at.timestamp_micros(),
        record.message_id,
        record.transaction_id,
        record.correlation_id,
        record.consumer_id,
        record.consumer_name,
        record.certificate_sha256,
        record.certificate_subject,
        record.client_ip,
        record.environment,
        record.operator_first_name,
        record.operator_surname,
        record.operator_person_code,
        record.ivis_sender,
        record.service,
        record.request_style,
        record.soap_version,
        record.person_code,
        record.outcome,
        record.records_returned,
        record.processing_micros,
        prev_hash.as_slice(),
        hash.as_slice(),
    ])?;
    Ok(())
}

pub fn insert_checkpoint(
    connection: &Connection,
    seq: i64,
    head_hash: &[u8; 32],
    signed_at_micros: i64,
    key_id: &str,
    public_key: &[u8],
    signature: &[u8],
) -> rusqlite::Result<()> {
    connection
        .prepare_cached(
            "INSERT OR REPLACE INTO audit_checkpoints (seq, head_hash, signed_at_micros, key_id, public_key, signature) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![seq, head_hash.as_slice(), signed_at_micros, key_id, public_key, signature])?;
    Ok(())
}

/// Reads a record from a row selected with [`RECORD_COLUMNS`] (optionally followed by
/// `prev_hash, hash`). A value that cannot be read back is an error, never a guess.
pub fn record_from_row(row: &Row<'_>) -> rusqlite::Result<AuditRecord> {
    let record_id: String = row.get(1)?;
    let micros: i64 = row.get(2)?;
    let invalid = |index: usize, what: &str| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, what.to_string().into())
    };
    Ok(AuditRecord {
        seq: row.get(0)?,
        record_id: Uuid::try_parse(&record_id).map_err(|_| invalid(1, "record_id is not a UUID"))?,
        received_at: DateTime::from_timestamp_micros(micros).ok_or_else(|| invalid(2, "time out of range"))?,
        message_id: row.get(3)?,
        transaction_id: row.get(4)?,
        correlation_id: row.get(5)?,
        consumer_id: row.get(6)?,
        consumer_name: row.get(7)?,
        certificate_sha256: row.get(8)?,
        certificate_subject: row.get(9)?,
        client_ip: row.get(10)?,
        environment: row.get(11)?,
        operator_first_name: row.get(12)?,
        operator_surname: row.get(13)?,
        operator_person_code: row.get(14)?,
        ivis_sender: row.get(15)?,
        service: row.get(16)?,
        request_style: row.get(17)?,
        soap_version: row.get(18)?,
        person_code: row.get(19)?,
        outcome: row.get(20)?,
        records_returned: row.get(21)?,
        processing_micros: row.get(22)?,
    })
}
