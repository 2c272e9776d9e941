//! The SQLite log as the `audit` commands see it: checkpoints and records read back in order
//! (on several threads when the log is large), the export's selection, and a prune.

use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{params, Connection};

use super::{insert_checkpoint, open_for_reading, record_from_encoded, COPIED_FIELDS, STORED_COLUMNS};
use crate::audit::backend::{ChainRecords, Seal, SelectedRecords, StoredLog};
use crate::audit::error::AuditStoreError;
use crate::audit::export::{ExportFilter, Param, Placeholder};
use crate::audit::prune::PruneReport;
use crate::audit::record::{chain_hash_of_encoded, decode_fields, FieldValue, RecordVersion};
use crate::audit::verify::{ChainedRecord, CheckpointRow, ExpectedHead, Parallelism, Problem, CHECKPOINT_COLUMNS};

/// A SQLite log, through a connection opened for reading (verify, export) or writing (prune).
pub(crate) struct SqliteLog<'c> {
    connection: &'c Connection,
}

impl<'c> SqliteLog<'c> {
    pub(crate) fn new(connection: &'c Connection) -> SqliteLog<'c> {
        SqliteLog { connection }
    }
}

impl StoredLog for SqliteLog<'_> {
    fn recorded_heads(&mut self) -> Result<Vec<ExpectedHead>, AuditStoreError> {
        // The writer keeps the head in the records themselves: nothing is named apart.
        Ok(Vec::new())
    }

    fn checkpoints(&mut self) -> Result<Vec<CheckpointRow>, AuditStoreError> {
        let mut statement = self.connection.prepare(&format!("SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY seq"))?;
        let rows = statement.query_map([], |row| {
            Ok(CheckpointRow {
                seq: row.get(0)?,
                head_hash: row.get(1)?,
                signed_at_micros: row.get(2)?,
                public_key: row.get(3)?,
                signature: row.get(4)?,
                kind: row.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn walk_chain<T>(&mut self, parallel: Parallelism, walk: impl FnOnce(&mut ChainRecords) -> T) -> Result<T, AuditStoreError> {
        let connection = self.connection;
        // Two subqueries: SQLite answers a lone MIN or MAX from the key, but scans for both at once.
        let bounds: (Option<i64>, Option<i64>) = connection
            .query_row("SELECT (SELECT MIN(seq) FROM audit_records), (SELECT MAX(seq) FROM audit_records)", [], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?;
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
        let path = connection.path().map(std::path::PathBuf::from).filter(|p| !p.as_os_str().is_empty());
        match (bounds, path) {
            ((Some(first), Some(last)), Some(path)) if workers > 1 && last - first >= parallel.threshold => {
                let mut records = ParallelRows::new(path, first, last, workers, parallel.slice)?;
                Ok(walk(&mut records))
            }
            _ => {
                let mut statement = connection.prepare(&format!("SELECT {STORED_COLUMNS} FROM audit_records ORDER BY seq"))?;
                let mut rows = statement.query([])?;
                // Rows are hashed straight from SQLite's buffers: no record is built unless one is bad.
                let mut records = std::iter::from_fn(move || match rows.next() {
                    Ok(Some(row)) => Some(chained_from_row(row)),
                    Ok(None) => None,
                    Err(error) => Some(Err(Problem::unreadable(0, format!("the audit log cannot be read: {error}")))),
                });
                Ok(walk(&mut records))
            }
        }
    }

    /// Selects by the search columns, and checks that each record selected still carries
    /// its seq: a copy altered to disagree is reported, never exported as another's.
    fn walk_selected<T>(&mut self, filter: &ExportFilter, walk: impl FnOnce(&mut SelectedRecords) -> T) -> Result<T, AuditStoreError> {
        let (sql, values) = filter.query("seq, encoded", Placeholder::Question);
        let mut statement = self.connection.prepare(&sql)?;
        let rows = statement.query_map(rusqlite::params_from_iter(sqlite_values(values)), |row| {
            Ok((row.get::<_, i64>(0)?, record_from_encoded(row, 1)?))
        })?;
        let mut records = rows.map(|row| {
            let (seq, record) = row?;
            match record.seq == seq {
                true => Ok(record),
                false => Err(crate::audit::export::altered_search_columns(seq)),
            }
        });
        Ok(walk(&mut records))
    }

    fn prune_before(&mut self, cutoff: DateTime<Utc>, seal: &mut Seal) -> Result<PruneReport, AuditStoreError> {
        // IMMEDIATE: the writer waits for this transaction rather than interleaving a batch.
        let transaction = rusqlite::Transaction::new_unchecked(self.connection, rusqlite::TransactionBehavior::Immediate)?;
        // The last record to remove: the one before the first record to keep.
        let last_removed: Option<(i64, Vec<u8>)> = transaction
            .query_row(
                "SELECT seq, hash FROM audit_records WHERE received_at_micros < ?1 ORDER BY received_at_micros DESC, seq DESC LIMIT 1",
                [cutoff.timestamp_micros()],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map(Some)
            .or_else(|error| if error == rusqlite::Error::QueryReturnedNoRows { Ok(None) } else { Err(error) })?;
        let Some((anchor_seq, anchor_hash)) = last_removed else {
            return Ok(PruneReport { removed: 0, anchored_at: None });
        };
        let anchor_hash: [u8; 32] =
            anchor_hash.try_into().map_err(|_| AuditStoreError::Unreadable(format!("the record at seq {anchor_seq} holds a hash that is not 32 bytes")))?;
        let marker = seal(anchor_seq, &anchor_hash)?;
        insert_checkpoint(&transaction, &marker)?;
        let removed = transaction.execute("DELETE FROM audit_records WHERE seq <= ?1", params![anchor_seq])?;
        transaction.execute("DELETE FROM audit_checkpoints WHERE seq < ?1", params![anchor_seq])?;
        transaction.commit()?;
        Ok(PruneReport { removed: removed as u64, anchored_at: Some(anchor_seq) })
    }
}

pub(crate) fn sqlite_values(params: Vec<Param>) -> Vec<Value> {
    params
        .into_iter()
        .map(|p| match p {
            Param::Text(text) => Value::Text(text),
            Param::Integer(i) => Value::Integer(i),
        })
        .collect()
}

/// Reads and hashes the log on several threads, each with its own connection and a slice of
/// seqs, and hands the records back strictly in seq order. Only the hashing is parallel:
/// every link and checkpoint is still judged in order by [`verify_chain`], so the result and
/// its messages are those of the sequential walk.
struct ParallelRows {
    requests: Vec<std::sync::mpsc::Sender<(i64, i64)>>,
    results: Vec<std::sync::mpsc::Receiver<Vec<Result<ChainedRecord, Problem>>>>,
    next_start: i64,
    last: i64,
    slice: i64,
    /// Slices handed out and not yet drained, in order: (worker, slice).
    pending: std::collections::VecDeque<usize>,
    current: std::vec::IntoIter<Result<ChainedRecord, Problem>>,
    failed: bool,
}

impl ParallelRows {
    fn new(path: std::path::PathBuf, first: i64, last: i64, workers: usize, slice: i64) -> rusqlite::Result<Self> {
        let mut requests = Vec::new();
        let mut results = Vec::new();
        for _ in 0..workers {
            let connection = open_for_reading(&path)?;
            let (request_sender, request_receiver) = std::sync::mpsc::channel::<(i64, i64)>();
            let (result_sender, result_receiver) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                for (from, to) in request_receiver {
                    if result_sender.send(hash_slice(&connection, from, to)).is_err() {
                        return;
                    }
                }
            });
            requests.push(request_sender);
            results.push(result_receiver);
        }
        let mut rows = ParallelRows {
            requests,
            results,
            next_start: first,
            last,
            slice: slice.max(1),
            pending: Default::default(),
            current: Vec::new().into_iter(),
            failed: false,
        };
        // Two slices in flight per worker keep every core busy while the walk goes on.
        for round in 0..2 * workers {
            rows.hand_out(round % workers);
        }
        Ok(rows)
    }

    fn hand_out(&mut self, worker: usize) {
        if self.next_start > self.last {
            return;
        }
        let to = (self.next_start + self.slice - 1).min(self.last);
        if self.requests[worker].send((self.next_start, to)).is_ok() {
            self.pending.push_back(worker);
        }
        self.next_start = to + 1;
    }
}

impl Iterator for ParallelRows {
    type Item = Result<ChainedRecord, Problem>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.current.next() {
                self.failed |= item.is_err();
                return Some(item);
            }
            if self.failed {
                return None;
            }
            let worker = self.pending.pop_front()?;
            match self.results[worker].recv() {
                Ok(slice) => {
                    self.current = slice.into_iter();
                    self.hand_out(worker);
                }
                Err(_) => {
                    self.failed = true;
                    return Some(Err(Problem::unreadable(self.next_start, "a verification worker stopped".into())));
                }
            }
        }
    }
}

/// The records with `from <= seq <= to`, hashed; stops at the first unreadable one.
fn hash_slice(connection: &Connection, from: i64, to: i64) -> Vec<Result<ChainedRecord, Problem>> {
    let unreadable = |error: rusqlite::Error| Problem::unreadable(from, format!("the audit log cannot be read: {error}"));
    let mut out = Vec::with_capacity(usize::try_from(to - from + 1).unwrap_or(0));
    let statement = connection.prepare_cached(&format!(
        "SELECT {STORED_COLUMNS} FROM audit_records WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq"
    ));
    let mut statement = match statement {
        Ok(statement) => statement,
        Err(error) => return vec![Err(unreadable(error))],
    };
    let mut rows = match statement.query([from, to]) {
        Ok(rows) => rows,
        Err(error) => return vec![Err(unreadable(error))],
    };
    loop {
        match rows.next() {
            Ok(Some(row)) => {
                let item = chained_from_row(row);
                let stop = item.is_err();
                out.push(item);
                if stop {
                    break;
                }
            }
            Ok(None) => break,
            Err(error) => {
                out.push(Err(unreadable(error)));
                break;
            }
        }
    }
    out
}

/// A row selected with [`STORED_COLUMNS`], hashed straight from SQLite's buffers: the stored
/// encoding is hashed as it is, then split in place to compare the copied fields.
fn chained_from_row(row: &rusqlite::Row<'_>) -> Result<ChainedRecord, Problem> {
    use rusqlite::types::ValueRef;
    let seq = row.get::<_, i64>(0).unwrap_or(0);
    let bad = |what: String| Problem::unreadable(seq, format!("the record at seq {seq} cannot be read: {what}"));
    let blob = |index: usize| match row.get_ref(index) {
        Ok(ValueRef::Blob(bytes)) => Ok(bytes),
        _ => Err(bad(format!("column {index} is not a blob"))),
    };
    let hash32 = |index: usize| blob(index).and_then(|bytes| <[u8; 32]>::try_from(bytes).map_err(|_| bad(format!("column {index} is not a 32-byte hash"))));
    let (prev_hash, hash, encoded) = (hash32(5)?, hash32(6)?, blob(7)?);
    // The search column's copy: checked against the record below.
    let received_at_micros = row.get::<_, i64>(1).unwrap_or(0);
    // The encoding says its version (by its length); the version's domain is hashed with it,
    // so a record cut back to, or extended to, another version no longer gives its hash.
    let (version, fields) = match decode_fields(encoded) {
        Ok(decoded) => decoded,
        // An encoding that does not decode cannot give its hash either, short of a writer
        // bug: report it as the alteration it most likely is, or else as unreadable.
        Err(error) => {
            let computed = chain_hash_of_encoded(RecordVersion::CURRENT, &prev_hash, encoded);
            if computed == hash {
                return Err(bad(format!("its stored record's {error}")));
            }
            return Ok(ChainedRecord { seq, record_id: uuid::Uuid::nil(), prev_hash, hash, computed, received_at_micros, disagreeing_copy: None });
        }
    };
    let computed = chain_hash_of_encoded(version, &prev_hash, encoded);
    let FieldValue::Uuid(record_id) = fields[1] else { return Err(bad("it holds no record id".into())) };
    let mut disagreeing_copy = None;
    for (column, (field, name)) in COPIED_FIELDS.into_iter().enumerate() {
        let same = match (row.get_ref(column), fields[field]) {
            (Ok(ValueRef::Integer(stored)), FieldValue::Integer(value)) => stored == value,
            (Ok(ValueRef::Text(stored)), FieldValue::Text(Some(value))) => stored == value,
            (Ok(ValueRef::Null), FieldValue::Text(None)) => true,
            _ => false,
        };
        if !same {
            disagreeing_copy = Some(name);
            break;
        }
    }
    Ok(ChainedRecord { seq, record_id: uuid::Uuid::from_bytes(*record_id), prev_hash, hash, computed, received_at_micros, disagreeing_copy })
}

