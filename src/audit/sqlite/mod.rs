//! The audit log in SQLite, its own file: here the layout (migrations, opening for writing
//! or reading) and the row helpers; `append` is the writer thread's side (`AppendLog`),
//! `stored` the `audit` commands' side (`StoredLog`). Nothing else touches the audit tables.

use std::path::Path;

use rusqlite::{params, Connection, OpenFlags, Row};
use uuid::Uuid;

use super::error::AuditStoreError;
use super::record::{AuditRecord, FIELD_COLUMNS};

mod append;
pub(crate) mod stored;

pub(crate) use append::{append_unsigned, SqliteAppender};
pub use append::insert_signed_checkpoint;

pub const AUDIT_FILE: &str = "audit.sqlite3";

/// A schema change: its SQL, then, in the same transaction, any rewriting of rows SQL alone
/// cannot do.
struct Migration {
    version: i64,
    sql: &'static str,
    rewrite: Option<fn(&Connection) -> rusqlite::Result<()>>,
}

const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, sql: include_str!("../../../migrations/audit-sqlite/0001_audit.sql"), rewrite: None },
    Migration {
        version: 2,
        sql: include_str!("../../../migrations/audit-sqlite/0002_records_as_encoded.sql"),
        rewrite: Some(encode_version_1_records),
    },
    Migration { version: 3, sql: include_str!("../../../migrations/audit-sqlite/0003_prune_markers.sql"), rewrite: None },
    Migration { version: 4, sql: include_str!("../../../migrations/audit-sqlite/0004_administrative_records.sql"), rewrite: None },
];

/// Opens (creating and migrating) the audit database for writing: WAL with
/// `synchronous=FULL`, so a committed transaction is on disk (fsync'd) before commit returns.
/// A log in a newer layout than this build's is refused, never written in the old one.
pub fn open_for_writing(path: &Path) -> Result<Connection, AuditStoreError> {
    // Personal data: the owner's only (SQLite gives its -wal and -shm the main file's mode).
    crate::private_files::ensure_file(path)?;
    crate::private_files::tighten_database(path)?;
    let connection = Connection::open(path)?;
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    refuse_newer_layout(layout(&connection)?)?;
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

/// The layout this build writes and reads.
pub(crate) const CURRENT_LAYOUT: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// The layout version of an existing log (0 for an empty file).
pub(crate) fn layout(connection: &Connection) -> rusqlite::Result<i64> {
    let tracked: bool = connection.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE name = 'audit_schema_migrations')",
        [],
        |row| row.get(0),
    )?;
    if !tracked {
        return Ok(0);
    }
    connection.query_row("SELECT COALESCE(MAX(version), 0) FROM audit_schema_migrations", [], |row| row.get(0))
}

fn refuse_newer_layout(layout: i64) -> Result<(), AuditStoreError> {
    if layout > CURRENT_LAYOUT {
        return Err(AuditStoreError::Layout(format!(
            "the audit log is in layout {layout}, written by a newer build; this build reads and writes layout {CURRENT_LAYOUT}"
        )));
    }
    Ok(())
}

/// Checks that an existing log opened for reading (verify, export) is in this build's layout:
/// the read-only commands never migrate, they say what to do.
pub(crate) fn check_layout_for_reading(connection: &Connection) -> Result<(), AuditStoreError> {
    let layout = layout(connection)?;
    refuse_newer_layout(layout)?;
    if layout < CURRENT_LAYOUT {
        return Err(AuditStoreError::Layout(format!(
            "the audit log is in layout {layout}, this build reads layout {CURRENT_LAYOUT}: start this build's service on it once \
             (it upgrades the log in place and keeps every record's hash), then run the command again"
        )));
    }
    Ok(())
}

fn migrate(connection: &Connection) -> rusqlite::Result<()> {
    connection.execute_batch("CREATE TABLE IF NOT EXISTS audit_schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")?;
    for Migration { version, sql, rewrite } in MIGRATIONS {
        let applied: bool = connection.query_row(
            "SELECT EXISTS (SELECT 1 FROM audit_schema_migrations WHERE version = ?1)",
            [version],
            |row| row.get(0),
        )?;
        if !applied {
            let transaction = connection.unchecked_transaction()?;
            transaction.execute_batch(sql)?;
            if let Some(rewrite) = rewrite {
                rewrite(&transaction)?;
            }
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
pub(crate) fn head(connection: &Connection) -> rusqlite::Result<(i64, [u8; 32])> {
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
pub(crate) fn last_checkpoint_seq(connection: &Connection) -> rusqlite::Result<i64> {
    connection.query_row("SELECT COALESCE(MAX(seq), 0) FROM audit_checkpoints", [], |row| row.get(0))
}

/// The columns a record is stored in: its canonical encoding (`encoded`, the very bytes the
/// chain hashes, of whichever version the record is in, so verification reads one value
/// instead of 23 or 25) and copies of the four fields
/// the export searches by, for the indexes. `audit verify` checks every copy against the
/// encoding, and `audit export` checks its filter against the decoded record.
pub(crate) const STORED_COLUMNS: &str = "seq, received_at_micros, person_code, operator_person_code, consumer_id, prev_hash, hash, encoded";

/// The fields copied out of the encoding into columns, by their place in canonical order, in
/// the order of [`STORED_COLUMNS`] (the first five columns).
pub(crate) const COPIED_FIELDS: [(usize, &str); 5] =
    [(0, "seq"), (2, "received_at_micros"), (19, "person_code"), (14, "operator_person_code"), (6, "consumer_id")];

pub fn insert_record(connection: &Connection, record: &AuditRecord, prev_hash: &[u8; 32], hash: &[u8; 32]) -> rusqlite::Result<()> {
    let mut statement = connection.prepare_cached(&format!("INSERT INTO audit_records ({STORED_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"))?;
    statement.execute(params![
        record.seq,
        record.received_at.timestamp_micros(),
        record.person_code,
        record.operator_person_code,
        record.consumer_id,
        prev_hash.as_slice(),
        hash.as_slice(),
        record.canonical_encoding(),
    ])?;
    Ok(())
}

/// Stores a signed checkpoint; a prune marker replaces a head signed at the same seq.
pub(crate) fn insert_checkpoint(connection: &Connection, c: &super::checkpoint::SignedCheckpoint) -> rusqlite::Result<()> {
    connection
        .prepare_cached(
            "INSERT OR REPLACE INTO audit_checkpoints (seq, head_hash, signed_at_micros, key_id, public_key, signature, kind) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![c.seq, c.head_hash.as_slice(), c.signed_at_micros, c.key_id, c.public_key, c.signature, c.kind.as_str()])?;
    Ok(())
}

/// Whether the writer's connection can commit now: a real write transaction, synced like a
/// batch, that changes nothing (it rewrites the last checkpoint's row as it is).
pub(crate) fn probe_write(connection: &Connection) -> rusqlite::Result<()> {
    let probed = connection.execute_batch(
        "BEGIN IMMEDIATE;
         UPDATE audit_records SET seq = seq WHERE 0;
         UPDATE audit_checkpoints SET kind = kind WHERE seq = (SELECT MAX(seq) FROM audit_checkpoints);
         COMMIT;",
    );
    if probed.is_err() && !connection.is_autocommit() {
        let _ = connection.execute_batch("ROLLBACK");
    }
    probed
}

/// The record stored in the `encoded` column at `column` of `row`; a value that does not
/// decode is an error, never a guess.
pub fn record_from_encoded(row: &Row<'_>, column: usize) -> rusqlite::Result<AuditRecord> {
    AuditRecord::decode(row.get_ref(column)?.as_blob()?).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Blob, format!("the stored record's {error}").into())
    })
}

/// Migration 2: every record of a version-1 log (one column per field) re-stored as the
/// encoding of its stored values — exactly what verification hashed before — with its stored
/// `prev_hash` and `hash` kept. A record altered before the migration therefore still fails
/// verification at its own seq afterwards.
fn encode_version_1_records(connection: &Connection) -> rusqlite::Result<()> {
    use super::record::{encode_field, FieldValue, RecordVersion};
    use rusqlite::types::ValueRef;
    let mut select =
        connection.prepare(&format!("SELECT {FIELD_COLUMNS}, prev_hash, hash FROM audit_records_version_1 ORDER BY seq"))?;
    let mut insert = connection.prepare(&format!("INSERT INTO audit_records ({STORED_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"))?;
    let mut rows = select.query([])?;
    let mut encoded = Vec::with_capacity(1024);
    while let Some(row) = rows.next()? {
        let unreadable = |index: usize| {
            rusqlite::Error::FromSqlConversionFailure(index, row.get_ref(index).map_or(rusqlite::types::Type::Null, |v| v.data_type()), "a version-1 audit record holds a value of the wrong type".into())
        };
        encoded.clear();
        let mut sink = |bytes: &[u8]| encoded.extend_from_slice(bytes);
        for (index, kind) in RecordVersion::V1.field_kinds().iter().copied().enumerate() {
            let uuid;
            let value = match (kind, row.get_ref(index)?) {
                (super::record::FieldKind::Uuid, ValueRef::Text(text)) => {
                    uuid = Uuid::try_parse_ascii(text).map_err(|_| unreadable(index))?;
                    FieldValue::Uuid(uuid.as_bytes())
                }
                (_, ValueRef::Integer(number)) => FieldValue::Integer(number),
                (_, ValueRef::Text(text)) => FieldValue::Text(Some(text)),
                (_, ValueRef::Null) => FieldValue::Text(None),
                _ => return Err(unreadable(index)),
            };
            encode_field(kind, value, &mut sink).map_err(|_| unreadable(index))?;
        }
        // Version 1's columns are in canonical order, so each copy comes from its field's column.
        let mut values = Vec::with_capacity(8);
        for index in COPIED_FIELDS.map(|(field, _)| field).into_iter().chain([23, 24]) {
            values.push(rusqlite::types::ToSqlOutput::Borrowed(row.get_ref(index)?));
        }
        values.push(rusqlite::types::ToSqlOutput::Borrowed(ValueRef::Blob(&encoded)));
        insert.execute(rusqlite::params_from_iter(values))?;
    }
    drop(rows);
    connection.execute_batch("DROP TABLE audit_records_version_1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::record::tests::example_v1 as example;
    use crate::audit::verify::{verify, ProblemKind};

    #[test]
    fn the_writer_connection_syncs_every_commit_to_disk() {
        let dir = tempfile::tempdir().unwrap();
        let connection = open_for_writing(&dir.path().join("audit.sqlite3")).unwrap();
        let synchronous: i64 = connection.query_row("PRAGMA synchronous", [], |row| row.get(0)).unwrap();
        let journal: String = connection.query_row("PRAGMA journal_mode", [], |row| row.get(0)).unwrap();
        // 2 is FULL: in WAL mode NORMAL (1) would lose the last commits on power loss.
        assert_eq!((synchronous, journal.as_str()), (2, "wal"));
        probe_write(&connection).unwrap();
        assert!(connection.is_autocommit(), "the probe leaves no transaction open");
        connection.execute_batch("DROP TABLE audit_records").unwrap();
        assert!(probe_write(&connection).is_err());
        assert!(connection.is_autocommit(), "a failed probe leaves no transaction open");
    }

    /// A log in the version-1 layout (one column per field) of `count` chained records, the
    /// last signed; record 3's surname changed after it was written.
    fn version_1_log(path: &Path, signer: &crate::audit::AuditSigner) {
        let connection = Connection::open(path).unwrap();
        connection
            .execute_batch("CREATE TABLE audit_schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
            .unwrap();
        connection.execute_batch(MIGRATIONS[0].sql).unwrap();
        connection.execute("INSERT INTO audit_schema_migrations VALUES (1, 'then')", []).unwrap();
        let mut hash = [0u8; 32];
        for seq in 1..=5 {
            let record = example(seq);
            let next = record.chain_hash(&hash);
            let r = &record;
            connection
                .execute(
                    &format!("INSERT INTO audit_records ({FIELD_COLUMNS}, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)"),
                    params![r.seq, r.record_id.to_string(), r.received_at.timestamp_micros(), r.message_id, r.transaction_id, r.correlation_id,
                        r.consumer_id, r.consumer_name, r.certificate_sha256, r.certificate_subject, r.client_ip, r.environment,
                        r.operator_first_name, r.operator_surname, r.operator_person_code, r.ivis_sender, r.service, r.request_style,
                        r.soap_version, r.person_code, r.outcome, r.records_returned, r.processing_micros, hash.as_slice(), next.as_slice()],
                )
                .unwrap();
            hash = next;
        }
        // Layout 1's checkpoints: signed heads, no kind column yet.
        let c = crate::audit::checkpoint::SignedCheckpoint::sign(signer, 5, &hash);
        connection
            .execute(
                "INSERT INTO audit_checkpoints (seq, head_hash, signed_at_micros, key_id, public_key, signature) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![c.seq, c.head_hash.as_slice(), c.signed_at_micros, c.key_id, c.public_key, c.signature],
            )
            .unwrap();
    }

    #[test]
    fn a_version_1_log_is_re_encoded_whole_and_keeps_the_evidence_of_alteration() {
        let dir = tempfile::tempdir().unwrap();
        let signer = crate::audit::AuditSigner::load_or_create(&dir.path().join("key")).unwrap();
        let keys = [signer.public_key().to_vec()];
        let (whole, altered) = (dir.path().join("whole.sqlite3"), dir.path().join("altered.sqlite3"));
        version_1_log(&whole, &signer);
        version_1_log(&altered, &signer);
        Connection::open(&altered).unwrap().execute_batch("UPDATE audit_records SET operator_surname = 'Liepina' WHERE seq = 3").unwrap();

        // The read-only commands do not migrate; they say what to do.
        let unmigrated = crate::audit::AuditLocation::Sqlite(whole.clone()).verify(&crate::audit::verify::VerifyOptions::new(&keys)).unwrap_err().to_string();
        assert!(unmigrated.contains(&format!("is in layout 1, this build reads layout {CURRENT_LAYOUT}")), "{unmigrated}");

        let migrated = open_for_writing(&whole).unwrap();
        let report = verify(&migrated, &keys).unwrap();
        assert_eq!((report.records, report.last_checkpoint_seq), (5, Some(5)));
        let stored: Vec<AuditRecord> = migrated
            .prepare("SELECT encoded FROM audit_records ORDER BY seq")
            .unwrap()
            .query_map([], |row| record_from_encoded(row, 0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(stored, (1..=5).map(example).collect::<Vec<_>>());
        let tables: i64 = migrated
            .query_row("SELECT COUNT(*) FROM sqlite_schema WHERE name = 'audit_records_version_1'", [], |row| row.get(0))
            .unwrap();
        assert_eq!(tables, 0, "the version-1 table is dropped");

        let problem = verify(&open_for_writing(&altered).unwrap(), &keys).unwrap_err();
        assert_eq!((problem.kind, problem.seq), (ProblemKind::Altered, 3), "{}", problem.message);

        // A build that meets a log of a later layout leaves it alone.
        migrated.execute("INSERT INTO audit_schema_migrations VALUES (?1, 'later')", [CURRENT_LAYOUT + 1]).unwrap();
        let refused = open_for_writing(&whole).unwrap_err().to_string();
        assert!(refused.contains(&format!("layout {}, written by a newer build", CURRENT_LAYOUT + 1)), "{refused}");
    }
}
