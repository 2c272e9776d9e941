//! `audit verify`: walks the whole chain in order and checks, for every record, that it
//! follows its predecessor (seq and hash link) and that its content still gives its hash; and
//! for every checkpoint, that a trusted key signed it and that the chain recomputed from the
//! records reaches the signed head. The first problem is reported with its place.
//!
//! What it proves: no record covered by a checkpoint was altered, removed, reordered or
//! inserted, and no such record was cut from the tail — unless the signing key was stolen.
//! Records after the last checkpoint are chained but not yet signed; the report counts them.

use std::time::Instant;

use rusqlite::Connection;

use super::record::{chain_hash_of_encoded, decode_fields, AuditRecord, FieldValue};
use super::signing::{key_id, verify_checkpoint};
use super::sqlite::{COPIED_FIELDS, STORED_COLUMNS};

/// What a successful verification covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub records: u64,
    pub first_seq: Option<i64>,
    pub last_seq: Option<i64>,
    pub checkpoints: u64,
    pub last_checkpoint_seq: Option<i64>,
    /// Records after the last checkpoint: chained, not yet signed.
    pub unsigned_tail: i64,
    pub elapsed: std::time::Duration,
}

/// The kinds of damage verification names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// A record's content no longer gives its hash.
    Altered,
    /// Records are missing from the sequence.
    Missing,
    /// A record does not link to the record before it: reordered or inserted.
    OutOfOrder,
    /// The chain recomputed from the records does not reach a signed head.
    CheckpointMismatch,
    /// A checkpoint's signature does not verify, or its key is not trusted.
    BadSignature,
    /// Signed records are missing at the end of the log.
    Truncated,
    /// The log does not start at 1 and no signed checkpoint anchors its first record.
    Unanchored,
    /// The database could not be read, or holds unreadable values.
    Unreadable,
}

/// The first problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Problem {
    pub kind: ProblemKind,
    /// The seq of the record or checkpoint where the problem shows.
    pub seq: i64,
    pub message: String,
}

fn problem(kind: ProblemKind, seq: i64, message: String) -> Problem {
    Problem { kind, seq, message }
}

struct Checkpoint {
    seq: i64,
    head_hash: Vec<u8>,
}

/// A checkpoint as stored.
#[derive(Debug, Clone)]
pub struct CheckpointRow {
    pub seq: i64,
    pub head_hash: Vec<u8>,
    pub signed_at_micros: i64,
    pub public_key: Vec<u8>,
    pub signature: Vec<u8>,
}

/// A record as stored, reduced to what verification compares: its place, its stored links,
/// and the hash its content gives over its *stored* previous hash (which equals the hash over
/// the expected previous hash exactly when the link holds).
#[derive(Debug, Clone)]
pub struct ChainedRecord {
    pub seq: i64,
    pub record_id: uuid::Uuid,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
    pub computed: [u8; 32],
    /// A stored copy of a field that disagrees with the record (the SQLite log's search
    /// columns), by column name.
    pub disagreeing_copy: Option<&'static str>,
}

impl ChainedRecord {
    /// From a whole record (the PostgreSQL path); `None` when a stored hash is not 32 bytes.
    pub fn of(record: &AuditRecord, prev_hash: &[u8], hash: &[u8]) -> Option<ChainedRecord> {
        let (prev_hash, hash) = (prev_hash.try_into().ok()?, hash.try_into().ok()?);
        Some(ChainedRecord {
            seq: record.seq,
            record_id: record.record_id,
            computed: record.chain_hash(&prev_hash),
            prev_hash,
            hash,
            disagreeing_copy: None,
        })
    }
}

/// Verifies the whole SQLite log against the `trusted_keys` (Ed25519 public keys).
pub fn verify(connection: &Connection, trusted_keys: &[Vec<u8>]) -> Result<VerifyReport, Problem> {
    verify_with(connection, trusted_keys, Parallelism::default())
}

/// [`verify`], choosing when to hash on several threads.
pub fn verify_with(connection: &Connection, trusted_keys: &[Vec<u8>], parallel: Parallelism) -> Result<VerifyReport, Problem> {
    // Timed from here, so the workers' head start is counted.
    let started = Instant::now();
    verify_sqlite(connection, trusted_keys, parallel).map(|report| VerifyReport { elapsed: started.elapsed(), ..report })
}

fn verify_sqlite(connection: &Connection, trusted_keys: &[Vec<u8>], parallel: Parallelism) -> Result<VerifyReport, Problem> {
    let unreadable = |error: rusqlite::Error| problem(ProblemKind::Unreadable, 0, format!("the audit log cannot be read: {error}"));
    // One per interval of traffic, so a few hundred thousand over two years at most.
    let checkpoints: Vec<CheckpointRow> = connection
        .prepare("SELECT seq, head_hash, signed_at_micros, public_key, signature FROM audit_checkpoints ORDER BY seq")
        .and_then(|mut statement| {
            statement
                .query_map([], |row| {
                    Ok(CheckpointRow {
                        seq: row.get(0)?,
                        head_hash: row.get(1)?,
                        signed_at_micros: row.get(2)?,
                        public_key: row.get(3)?,
                        signature: row.get(4)?,
                    })
                })?
                .collect()
        })
        .map_err(unreadable)?;
    // Two subqueries: SQLite answers a lone MIN or MAX from the key, but scans for both at once.
    let bounds: (Option<i64>, Option<i64>) = connection
        .query_row("SELECT (SELECT MIN(seq) FROM audit_records), (SELECT MAX(seq) FROM audit_records)", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .map_err(unreadable)?;
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let path = connection.path().map(std::path::PathBuf::from).filter(|p| !p.as_os_str().is_empty());
    match (bounds, path) {
        ((Some(first), Some(last)), Some(path)) if workers > 1 && last - first >= parallel.threshold => {
            let records = ParallelRows::new(path, first, last, workers, parallel.slice).map_err(unreadable)?;
            verify_chain(checkpoints, records, trusted_keys)
        }
        _ => {
            let mut statement = connection
                .prepare(&format!("SELECT {STORED_COLUMNS} FROM audit_records ORDER BY seq"))
                .map_err(unreadable)?;
            let mut rows = statement.query([]).map_err(unreadable)?;
            // Rows are hashed straight from SQLite's buffers: no record is built unless one is bad.
            let records = std::iter::from_fn(move || match rows.next() {
                Ok(Some(row)) => Some(chained_from_row(row)),
                Ok(None) => None,
                Err(error) => Some(Err(unreadable(error))),
            });
            verify_chain(checkpoints, records, trusted_keys)
        }
    }
}

/// When and how the SQLite log is hashed on several threads.
#[derive(Debug, Clone, Copy)]
pub struct Parallelism {
    /// Below this many records one thread is quick enough.
    pub threshold: i64,
    /// Records hashed per worker per round.
    pub slice: i64,
}

impl Default for Parallelism {
    fn default() -> Self {
        Parallelism { threshold: 100_000, slice: 16_384 }
    }
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
            let connection = super::sqlite::open_for_reading(&path)?;
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
                    return Some(Err(problem(ProblemKind::Unreadable, self.next_start, "a verification worker stopped".into())));
                }
            }
        }
    }
}

/// The records with `from <= seq <= to`, hashed; stops at the first unreadable one.
fn hash_slice(connection: &Connection, from: i64, to: i64) -> Vec<Result<ChainedRecord, Problem>> {
    let unreadable = |error: rusqlite::Error| problem(ProblemKind::Unreadable, from, format!("the audit log cannot be read: {error}"));
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
    let bad = |what: String| problem(ProblemKind::Unreadable, seq, format!("the record at seq {seq} cannot be read: {what}"));
    let blob = |index: usize| match row.get_ref(index) {
        Ok(ValueRef::Blob(bytes)) => Ok(bytes),
        _ => Err(bad(format!("column {index} is not a blob"))),
    };
    let hash32 = |index: usize| blob(index).and_then(|bytes| <[u8; 32]>::try_from(bytes).map_err(|_| bad(format!("column {index} is not a 32-byte hash"))));
    let (prev_hash, hash, encoded) = (hash32(5)?, hash32(6)?, blob(7)?);
    let computed = chain_hash_of_encoded(&prev_hash, encoded);
    let fields = match decode_fields(encoded) {
        Ok(fields) => fields,
        // An encoding that does not decode cannot give its hash either, short of a writer
        // bug: report it as the alteration it most likely is, or else as unreadable.
        Err(_) if computed != hash => {
            return Ok(ChainedRecord { seq, record_id: uuid::Uuid::nil(), prev_hash, hash, computed, disagreeing_copy: None })
        }
        Err(error) => return Err(bad(format!("its stored record's {error}"))),
    };
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
    Ok(ChainedRecord { seq, record_id: uuid::Uuid::from_bytes(*record_id), prev_hash, hash, computed, disagreeing_copy })
}

/// Verifies `records` (in seq order) against `checkpoints` (in seq order) and the
/// `trusted_keys`, whatever store they come from.
pub fn verify_chain(
    checkpoint_rows: Vec<CheckpointRow>,
    records_in_order: impl Iterator<Item = Result<ChainedRecord, Problem>>,
    trusted_keys: &[Vec<u8>],
) -> Result<VerifyReport, Problem> {
    let started = Instant::now();
    // Checkpoints first: signatures checked, kept as (seq, head) in order.
    let mut checkpoints = Vec::new();
    for row in checkpoint_rows {
        let CheckpointRow { seq, head_hash, signed_at_micros: signed_at, public_key, signature } = row;
        if !trusted_keys.contains(&public_key) {
            return Err(problem(
                ProblemKind::BadSignature,
                seq,
                format!("the checkpoint at seq {seq} is signed by key {}, which is not trusted", key_id(&public_key)),
            ));
        }
        if !verify_checkpoint(&public_key, seq, &head_hash, signed_at, &signature) {
            return Err(problem(ProblemKind::BadSignature, seq, format!("the signature of the checkpoint at seq {seq} does not verify")));
        }
        checkpoints.push(Checkpoint { seq, head_hash });
    }

    let mut next_checkpoint = 0usize;
    let mut previous: Option<(i64, [u8; 32])> = None;
    let mut first_seq = None;
    let mut records = 0u64;
    for item in records_in_order {
        let ChainedRecord { seq, record_id, prev_hash, hash: stored_hash, computed, disagreeing_copy } = item?;
        // Only formatted when there is something to report.
        let place = || if record_id.is_nil() { format!("seq {seq}") } else { format!("seq {seq} (record {record_id})") };

        let expected_prev = match previous {
            Some((previous_seq, previous_hash)) => {
                if seq != previous_seq + 1 {
                    return Err(problem(
                        ProblemKind::Missing,
                        previous_seq + 1,
                        format!("records seq {} to {} are missing (the log jumps from {previous_seq} to {seq})", previous_seq + 1, seq - 1),
                    ));
                }
                previous_hash
            }
            None => {
                first_seq = Some(seq);
                if seq == 1 {
                    [0u8; 32]
                } else {
                    // A pruned log starts after a signed checkpoint of the record before it.
                    while checkpoints.get(next_checkpoint).is_some_and(|c| c.seq < seq - 1) {
                        next_checkpoint += 1;
                    }
                    match checkpoints.get(next_checkpoint).filter(|c| c.seq == seq - 1) {
                        Some(anchor) => {
                            next_checkpoint += 1;
                            anchor.head_hash.as_slice().try_into().unwrap_or([0; 32])
                        }
                        None => {
                            return Err(problem(
                                ProblemKind::Unanchored,
                                seq,
                                format!("the log starts at seq {seq}: records 1 to {} are missing and no signed checkpoint anchors it", seq - 1),
                            ))
                        }
                    }
                }
            }
        };
        if prev_hash != expected_prev {
            return Err(problem(
                ProblemKind::OutOfOrder,
                seq,
                format!("{} does not follow the record before it: records were reordered, inserted or removed there", place()),
            ));
        }
        if stored_hash != computed {
            return Err(problem(ProblemKind::Altered, seq, format!("{} was altered: its content does not give its hash", place())));
        }
        if let Some(column) = disagreeing_copy {
            return Err(problem(
                ProblemKind::Altered,
                seq,
                format!("{} was altered: its search column {column} no longer matches the record, so exports by it would miss or misattribute the record", place()),
            ));
        }
        while let Some(checkpoint) = checkpoints.get(next_checkpoint).filter(|c| c.seq <= seq) {
            if checkpoint.seq < seq || checkpoint.head_hash != computed {
                return Err(problem(
                    ProblemKind::CheckpointMismatch,
                    checkpoint.seq,
                    format!(
                        "the chain does not reach the head signed at seq {}: a record at or before it was altered, removed or inserted and the chain recomputed",
                        checkpoint.seq
                    ),
                ));
            }
            next_checkpoint += 1;
        }
        previous = Some((seq, computed));
        records += 1;
    }

    let last_seq = previous.map(|(seq, _)| seq);
    if let Some(beyond) = checkpoints.get(next_checkpoint) {
        let last_signed = checkpoints.last().map_or(beyond.seq, |c| c.seq);
        let message = match last_seq {
            Some(last) => format!("the log was truncated: it ends at seq {last}, but a signed checkpoint covers records up to seq {last_signed}"),
            None => format!("the log was truncated: it holds no records, but a signed checkpoint covers records up to seq {last_signed}"),
        };
        // An emptied log whose only checkpoint is the prune anchor is whole.
        let pruned_to_nothing = last_seq.is_none() && checkpoints.len() == 1;
        if !pruned_to_nothing {
            return Err(problem(ProblemKind::Truncated, last_seq.map_or(1, |s| s + 1), message));
        }
    }
    let last_checkpoint_seq = checkpoints.last().map(|c| c.seq);
    Ok(VerifyReport {
        records,
        first_seq,
        last_seq,
        checkpoints: checkpoints.len() as u64,
        last_checkpoint_seq,
        unsigned_tail: last_seq.unwrap_or(0) - last_checkpoint_seq.unwrap_or(0).min(last_seq.unwrap_or(0)),
        elapsed: started.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::record::tests::example;
    use crate::audit::signing::AuditSigner;
    use crate::audit::sqlite::{insert_record, open_for_reading, open_for_writing};

    /// A log of `count` chained records with a signed checkpoint every 500.
    fn log(count: i64) -> (tempfile::TempDir, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.sqlite3");
        let mut connection = open_for_writing(&path).unwrap();
        let signer = AuditSigner::load_or_create(&dir.path().join("key")).unwrap();
        let transaction = connection.transaction().unwrap();
        let mut hash = [0u8; 32];
        for seq in 1..=count {
            let record = example(seq);
            let next = record.chain_hash(&hash);
            insert_record(&transaction, &record, &hash, &next).unwrap();
            hash = next;
            if seq % 500 == 0 || seq == count {
                crate::audit::writer::insert_signed_checkpoint(&transaction, &signer, seq, &hash).unwrap();
            }
        }
        transaction.commit().unwrap();
        (dir, signer.public_key().to_vec())
    }

    fn both_ways(dir: &tempfile::TempDir, key: &[u8]) -> (Result<VerifyReport, Problem>, Result<VerifyReport, Problem>) {
        let connection = open_for_reading(&dir.path().join("audit.sqlite3")).unwrap();
        let keys = [key.to_vec()];
        let sequential = verify_with(&connection, &keys, Parallelism { threshold: i64::MAX, slice: 1 });
        let parallel = verify_with(&connection, &keys, Parallelism { threshold: 0, slice: 97 });
        (sequential, parallel)
    }

    #[test]
    fn parallel_hashing_reaches_the_same_verdict_as_the_sequential_walk() {
        let (dir, key) = log(3000);
        let (sequential, parallel) = both_ways(&dir, &key);
        let (sequential, parallel) = (sequential.unwrap(), parallel.unwrap());
        assert_eq!((sequential.records, parallel.records), (3000, 3000));
        assert_eq!(sequential.last_checkpoint_seq, parallel.last_checkpoint_seq);

        let writer = rusqlite::Connection::open(dir.path().join("audit.sqlite3")).unwrap();
        let mut altered = example(1500);
        altered.outcome = "InvalidPeriod".into();
        writer.execute("UPDATE audit_records SET encoded = ?1 WHERE seq = 1500", [altered.canonical_encoding()]).unwrap();
        let (sequential, parallel) = both_ways(&dir, &key);
        assert_eq!(sequential.unwrap_err(), parallel.clone().unwrap_err());
        assert_eq!((parallel.as_ref().unwrap_err().kind, parallel.unwrap_err().seq), (ProblemKind::Altered, 1500));

        writer.execute("UPDATE audit_records SET encoded = ?1 WHERE seq = 1500", [example(1500).canonical_encoding()]).unwrap();
        writer.execute_batch("UPDATE audit_records SET consumer_id = 'someone else' WHERE seq = 1700;").unwrap();
        let (sequential, parallel) = both_ways(&dir, &key);
        assert_eq!(sequential.unwrap_err(), parallel.clone().unwrap_err());
        let problem = parallel.unwrap_err();
        assert_eq!((problem.kind, problem.seq), (ProblemKind::Altered, 1700));
        assert!(problem.message.contains("search column consumer_id"), "{}", problem.message);

        writer.execute_batch("UPDATE audit_records SET consumer_id = '90011524360' WHERE seq = 1700; DELETE FROM audit_records WHERE seq = 2222;").unwrap();
        let (sequential, parallel) = both_ways(&dir, &key);
        assert_eq!(sequential.unwrap_err(), parallel.clone().unwrap_err());
        assert_eq!(parallel.unwrap_err().kind, ProblemKind::Missing);
    }
}
