//! `audit verify`: walks the whole chain in order and checks, for every record, that it
//! follows its predecessor (seq and hash link) and that its content still gives its hash; and
//! for every checkpoint, that a trusted key signed it and that the chain recomputed from the
//! records reaches the signed head. The first problem is reported with its place.
//!
//! What it proves: no record covered by a checkpoint was altered, removed, reordered or
//! inserted, and no such record was cut from the tail — unless the signing key was stolen.
//! Records after the last checkpoint are chained but not yet signed; the report counts them,
//! and reports them when they are older than the writer would ever leave them unsigned.
//!
//! Someone who can write the database can also delete checkpoints. So the log is compared
//! with heads named outside the checkpoints table as well ([`ExpectedHead`]): the lines of a
//! witness file (`--witness`), and on PostgreSQL the `audit_head` row. The log must reach
//! each of them with the same hash; a log that ends before one of them was cut. And a log
//! that does not start at 1 must start right after a signed *prune marker*, which an
//! ordinary checkpoint is not: a prefix deleted by hand is not taken for a prune.

use std::time::Instant;

use rusqlite::Connection;

use super::backend::StoredLog;
use super::error::AuditStoreError;
use super::record::{format_time, AuditRecord};
use super::signing::{key_id, verify_checkpoint, CheckpointKind};
use super::sqlite::stored::SqliteLog;

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
    /// Heads named outside the checkpoints (witness lines, `audit_head`) the log reaches.
    pub witnessed: u64,
    /// The highest of them.
    pub witnessed_up_to: Option<i64>,
    pub elapsed: std::time::Duration,
}

/// A chain head named outside the log's checkpoints table, which the log must reach with
/// this hash: a witness line, or PostgreSQL's `audit_head`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedHead {
    pub seq: i64,
    pub head_hash: [u8; 32],
    /// Where it is named, for messages.
    pub source: HeadSource,
}

/// Where an [`ExpectedHead`] is named; small, as a witness of two busy years holds millions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadSource {
    Witness { file: std::sync::Arc<std::path::Path>, line: usize },
    AuditHead,
    /// Named by the caller (tests, tools).
    Other(std::sync::Arc<str>),
}

impl std::fmt::Display for HeadSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeadSource::Witness { file, line } => write!(f, "the witness {} line {line}", file.display()),
            HeadSource::AuditHead => f.write_str("audit_head (the chain head PostgreSQL keeps)"),
            HeadSource::Other(name) => f.write_str(name),
        }
    }
}

/// What to verify the log against.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Ed25519 public keys whose checkpoints are trusted.
    pub trusted_keys: Vec<Vec<u8>>,
    /// Heads the log must reach (see [`ExpectedHead`]).
    pub expected_heads: Vec<ExpectedHead>,
    /// Records after the last checkpoint received longer ago than this (at `now_micros`)
    /// are reported: the writer signs them within one checkpoint interval. `None`: not checked.
    pub max_unsigned_age: Option<std::time::Duration>,
    pub now_micros: i64,
}

impl VerifyOptions {
    pub fn new(trusted_keys: &[Vec<u8>]) -> VerifyOptions {
        VerifyOptions { trusted_keys: trusted_keys.to_vec(), now_micros: chrono::Utc::now().timestamp_micros(), ..Default::default() }
    }
}

/// The checkpoints of the witness file at `path`, each checked against the trusted keys, as
/// heads the log must reach.
pub fn witnessed_heads(path: &std::path::Path, trusted_keys: &[Vec<u8>]) -> Result<Vec<ExpectedHead>, Problem> {
    let file: std::sync::Arc<std::path::Path> = path.into();
    let mut heads = Vec::new();
    let mut refused = None;
    let read = super::witness::visit(
        path,
        |line| {
            let source = HeadSource::Witness { file: file.clone(), line: line.line };
            let bad = if !trusted_keys.contains(&line.public_key) {
                Some(format!("{source} is signed by key {}, which is not trusted", key_id(&line.public_key)))
            } else if !verify_checkpoint(&line.public_key, line.kind, line.seq, &line.head_hash, line.signed_at_micros, &line.signature) {
                Some(format!("the signature of {source} does not verify"))
            } else {
                None
            };
            if let Some(message) = bad {
                refused = Some(problem(ProblemKind::BadSignature, line.seq, message));
                return Err(super::witness::WitnessError::Refused);
            }
            heads.push(ExpectedHead { seq: line.seq, head_hash: line.head_hash, source });
            Ok(())
        },
        |_| Ok(()),
    );
    match (read, refused) {
        (_, Some(problem)) => Err(problem),
        (Err(error), None) => Err(problem(ProblemKind::Unreadable, 0, format!("{error:#}"))),
        (Ok(()), None) => Ok(heads),
    }
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
    /// Records after the last checkpoint are older than the writer leaves records unsigned.
    UnsignedTail,
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

impl Problem {
    /// The log, or the record at `seq`, cannot be read.
    pub(crate) fn unreadable(seq: i64, message: String) -> Problem {
        problem(ProblemKind::Unreadable, seq, message)
    }
}

struct Checkpoint {
    seq: i64,
    head_hash: Vec<u8>,
    kind: CheckpointKind,
}

/// A checkpoint as stored.
#[derive(Debug, Clone)]
pub(crate) struct CheckpointRow {
    pub(crate) seq: i64,
    pub(crate) head_hash: Vec<u8>,
    pub(crate) signed_at_micros: i64,
    pub(crate) public_key: Vec<u8>,
    pub(crate) signature: Vec<u8>,
    /// `head` or `prune`.
    pub(crate) kind: String,
}

/// The columns of a [`CheckpointRow`], in its order.
pub(crate) const CHECKPOINT_COLUMNS: &str = "seq, head_hash, signed_at_micros, public_key, signature, kind";

/// A record as stored, reduced to what verification compares: its place, its stored links,
/// and the hash its content gives over its *stored* previous hash (which equals the hash over
/// the expected previous hash exactly when the link holds).
#[derive(Debug, Clone)]
pub(crate) struct ChainedRecord {
    pub(crate) seq: i64,
    pub(crate) record_id: uuid::Uuid,
    pub(crate) prev_hash: [u8; 32],
    pub(crate) hash: [u8; 32],
    pub(crate) computed: [u8; 32],
    pub(crate) received_at_micros: i64,
    /// A stored copy of a field that disagrees with the record (the SQLite log's search
    /// columns), by column name.
    pub(crate) disagreeing_copy: Option<&'static str>,
}

impl ChainedRecord {
    /// From a whole record (the PostgreSQL path); `None` when a stored hash is not 32 bytes.
    pub(crate) fn of(record: &AuditRecord, prev_hash: &[u8], hash: &[u8]) -> Option<ChainedRecord> {
        let (prev_hash, hash) = (prev_hash.try_into().ok()?, hash.try_into().ok()?);
        Some(ChainedRecord {
            seq: record.seq,
            record_id: record.record_id,
            computed: record.chain_hash(&prev_hash),
            prev_hash,
            hash,
            received_at_micros: record.received_at.timestamp_micros(),
            disagreeing_copy: None,
        })
    }
}

/// Verifies the whole SQLite log against the `trusted_keys` (Ed25519 public keys) alone.
#[cfg(test)]
pub(crate) fn verify(connection: &Connection, trusted_keys: &[Vec<u8>]) -> Result<VerifyReport, Problem> {
    verify_with(connection, trusted_keys, Parallelism::default())
}

/// Verifies the whole SQLite log against the `trusted_keys` alone, choosing when to hash
/// on several threads.
pub fn verify_with(connection: &Connection, trusted_keys: &[Vec<u8>], parallel: Parallelism) -> Result<VerifyReport, Problem> {
    verify_stored(&mut SqliteLog::new(connection), &VerifyOptions::new(trusted_keys), parallel)
}

/// Verifies the whole log, wherever it is stored, with every check `options` asks for; the
/// log must also reach the heads its database names outside the checkpoints (read first:
/// writers only move them on).
pub(crate) fn verify_stored(log: &mut impl StoredLog, options: &VerifyOptions, parallel: Parallelism) -> Result<VerifyReport, Problem> {
    // Timed from here, so the workers' head start is counted.
    let started = Instant::now();
    let unreadable = |error: AuditStoreError| Problem::unreadable(0, format!("the audit log cannot be read: {error}"));
    let recorded = log.recorded_heads().map_err(unreadable)?;
    let options = match recorded.is_empty() {
        true => std::borrow::Cow::Borrowed(options),
        false => {
            let mut options = options.clone();
            options.expected_heads.extend(recorded);
            std::borrow::Cow::Owned(options)
        }
    };
    // One per interval of traffic, so a few hundred thousand over two years at most.
    let checkpoints = log.checkpoints().map_err(unreadable)?;
    let verdict = log.walk_chain(parallel, |records| verify_chain(checkpoints, records, &options)).map_err(unreadable)?;
    verdict.map(|report| VerifyReport { elapsed: started.elapsed(), ..report })
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


/// Verifies `records` (in seq order) against `checkpoints` (in seq order), the trusted keys
/// and the expected heads of `options`, whatever store they come from.
pub(crate) fn verify_chain(
    checkpoint_rows: Vec<CheckpointRow>,
    records_in_order: impl Iterator<Item = Result<ChainedRecord, Problem>>,
    options: &VerifyOptions,
) -> Result<VerifyReport, Problem> {
    let started = Instant::now();
    // Checkpoints first: signatures checked, kept as (seq, head, kind) in order.
    let mut checkpoints = Vec::new();
    for row in checkpoint_rows {
        let CheckpointRow { seq, head_hash, signed_at_micros: signed_at, public_key, signature, kind } = row;
        let Some(kind) = CheckpointKind::parse(&kind) else {
            return Err(problem(ProblemKind::Unreadable, seq, format!("the checkpoint at seq {seq} is of an unknown kind {kind:?}")));
        };
        if !options.trusted_keys.contains(&public_key) {
            return Err(problem(
                ProblemKind::BadSignature,
                seq,
                format!("the checkpoint at seq {seq} is signed by key {}, which is not trusted", key_id(&public_key)),
            ));
        }
        if !verify_checkpoint(&public_key, kind, seq, &head_hash, signed_at, &signature) {
            return Err(problem(ProblemKind::BadSignature, seq, format!("the signature of the checkpoint at seq {seq} does not verify")));
        }
        checkpoints.push(Checkpoint { seq, head_hash, kind });
    }
    let mut expected = options.expected_heads.clone();
    expected.sort_by_key(|head| head.seq);
    let mut next_expected = 0usize;

    let mut next_checkpoint = 0usize;
    let mut previous: Option<(i64, [u8; 32])> = None;
    let mut first_seq = None;
    let mut records = 0u64;
    // The first record no checkpoint covers yet: (seq, received at).
    let mut first_unsigned: Option<(i64, i64)> = None;
    for item in records_in_order {
        let ChainedRecord { seq, record_id, prev_hash, hash: stored_hash, computed, received_at_micros, disagreeing_copy } = item?;
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
                let start = if seq == 1 {
                    [0u8; 32]
                } else {
                    // A pruned log starts after a signed prune marker at the record before it.
                    while checkpoints.get(next_checkpoint).is_some_and(|c| c.seq < seq - 1) {
                        next_checkpoint += 1;
                    }
                    match checkpoints.get(next_checkpoint).filter(|c| c.seq == seq - 1) {
                        Some(anchor) if anchor.kind == CheckpointKind::Prune => {
                            next_checkpoint += 1;
                            anchor.head_hash.as_slice().try_into().unwrap_or([0; 32])
                        }
                        Some(_) => {
                            return Err(problem(
                                ProblemKind::Unanchored,
                                seq,
                                format!(
                                    "the log starts at seq {seq}: records 1 to {} are missing, and the checkpoint before them is an ordinary signed head, not a prune marker — they were deleted, not pruned",
                                    seq - 1
                                ),
                            ))
                        }
                        None => {
                            return Err(problem(
                                ProblemKind::Unanchored,
                                seq,
                                format!("the log starts at seq {seq}: records 1 to {} are missing and no signed prune marker anchors it", seq - 1),
                            ))
                        }
                    }
                };
                // Heads named before the first record were pruned with it; the one right
                // before it must be the anchor.
                while let Some(head) = expected.get(next_expected).filter(|head| head.seq < seq) {
                    if head.seq == seq - 1 && head.head_hash != start {
                        return Err(problem(
                            ProblemKind::CheckpointMismatch,
                            head.seq,
                            format!("the log does not start from the head {} names at seq {}", head.source, head.seq),
                        ));
                    }
                    next_expected += 1;
                }
                start
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
        first_unsigned.get_or_insert((seq, received_at_micros));
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
            first_unsigned = None;
            next_checkpoint += 1;
        }
        while let Some(head) = expected.get(next_expected).filter(|head| head.seq == seq) {
            if head.head_hash != computed {
                return Err(problem(
                    ProblemKind::CheckpointMismatch,
                    seq,
                    format!(
                        "the chain does not reach the head {} names at seq {seq}: a record at or before it was altered, removed or inserted and the chain recomputed",
                        head.source
                    ),
                ));
            }
            next_expected += 1;
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
        // An emptied log whose only checkpoint is the prune marker is whole.
        let pruned_to_nothing = last_seq.is_none() && checkpoints.len() == 1 && beyond.kind == CheckpointKind::Prune;
        if !pruned_to_nothing {
            return Err(problem(ProblemKind::Truncated, last_seq.map_or(1, |s| s + 1), message));
        }
    }
    // A log pruned to nothing ends at its marker.
    let end = match (last_seq, checkpoints.first()) {
        (Some(last), _) => Some((last, previous.map(|(_, hash)| hash).unwrap_or([0; 32]))),
        (None, Some(marker)) => Some((marker.seq, marker.head_hash.as_slice().try_into().unwrap_or([0; 32]))),
        (None, None) => None,
    };
    let (end_seq, end_hash) = end.unwrap_or((0, [0; 32]));
    let remaining = &expected[next_expected..];
    if let Some(head) = remaining.iter().find(|head| head.seq == end_seq && head.head_hash != end_hash) {
        return Err(problem(
            ProblemKind::CheckpointMismatch,
            head.seq,
            format!("the log does not reach the head {} names at seq {}", head.source, head.seq),
        ));
    }
    if let Some(beyond) = remaining.last().filter(|head| head.seq > end_seq) {
        return Err(problem(
            ProblemKind::Truncated,
            end_seq + 1,
            format!(
                "the log was truncated: it ends at seq {end_seq}, but {} names a signed head at seq {}: later records were deleted with their checkpoints",
                beyond.source, beyond.seq
            ),
        ));
    }
    if let (Some((seq, received)), Some(age)) = (first_unsigned, options.max_unsigned_age) {
        let limit = i64::try_from(age.as_micros()).unwrap_or(i64::MAX);
        if options.now_micros.saturating_sub(received) > limit {
            let at = chrono::DateTime::from_timestamp_micros(received).map_or_else(|| received.to_string(), |at| format_time(&at));
            return Err(problem(
                ProblemKind::UnsignedTail,
                seq,
                format!(
                    "records from seq {seq} on (the first received {at}) are covered by no signed checkpoint after more than {}s (twice the checkpoint interval): \
                     their checkpoints were deleted — or the service stopped without signing them, which it does within one interval of starting again",
                    age.as_secs()
                ),
            ));
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
        witnessed: expected.len() as u64,
        witnessed_up_to: expected.last().map(|head| head.seq),
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
                crate::audit::sqlite::insert_signed_checkpoint(&transaction, &signer, seq, &hash).unwrap();
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

#[cfg(test)]
mod across_versions {
    use super::*;
    use crate::audit::record::tests::{example, example_v1};
    use crate::audit::signing::AuditSigner;
    use crate::audit::sqlite::{insert_record, insert_signed_checkpoint, open_for_writing};

    /// Records 1–3 of version 1 (written before the purpose was recorded), 4–6 of version 2,
    /// one chain, signed at 3 and 6.
    #[test]
    fn a_log_of_both_versions_verifies_and_a_record_recast_as_the_other_version_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.sqlite3");
        let mut connection = open_for_writing(&path).unwrap();
        let signer = AuditSigner::load_or_create(&dir.path().join("key")).unwrap();
        let transaction = connection.transaction().unwrap();
        let mut hash = [0u8; 32];
        for seq in 1..=6 {
            let record = if seq <= 3 { example_v1(seq) } else { example(seq) };
            let next = record.chain_hash(&hash);
            insert_record(&transaction, &record, &hash, &next).unwrap();
            hash = next;
            if seq % 3 == 0 {
                insert_signed_checkpoint(&transaction, &signer, seq, &hash).unwrap();
            }
        }
        transaction.commit().unwrap();
        let keys = [signer.public_key().to_vec()];
        assert_eq!(verify(&connection, &keys).unwrap().records, 6);
        let exported: Vec<crate::audit::AuditRecord> = connection
            .prepare("SELECT encoded FROM audit_records ORDER BY seq")
            .unwrap()
            .query_map([], |row| crate::audit::sqlite::record_from_encoded(row, 0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(exported.iter().map(|r| r.purpose_case_number.is_some()).collect::<Vec<_>>(), [false, false, false, true, true, true]);

        // Record 5 cut back to version 1's fields (its purpose dropped): no longer its hash.
        let cut = crate::audit::AuditRecord { purpose_legal_basis: None, purpose_case_number: None, bulk_prepared_by: None, version: crate::audit::record::RecordVersion::V1, ..example(5) };
        connection.execute("UPDATE audit_records SET encoded = ?1 WHERE seq = 5", [cut.canonical_encoding()]).unwrap();
        let problem = verify(&connection, &keys).unwrap_err();
        assert_eq!((problem.kind, problem.seq), (ProblemKind::Altered, 5), "{}", problem.message);
        connection.execute("UPDATE audit_records SET encoded = ?1 WHERE seq = 5", [example(5).canonical_encoding()]).unwrap();
        // Record 2 given a purpose (recast as version 2): no longer its hash either.
        let recast = crate::audit::AuditRecord { version: crate::audit::record::RecordVersion::V2, ..example(2) };
        connection.execute("UPDATE audit_records SET encoded = ?1 WHERE seq = 2", [recast.canonical_encoding()]).unwrap();
        let problem = verify(&connection, &keys).unwrap_err();
        assert_eq!((problem.kind, problem.seq), (ProblemKind::Altered, 2), "{}", problem.message);
    }
}

#[cfg(test)]
mod against_deletion {
    //! Deleting records together with the checkpoints that covered them, which the signed
    //! checkpoints alone cannot tell.
    use super::*;
    use crate::audit::record::tests::example;
    use crate::audit::signing::AuditSigner;
    use crate::audit::sqlite::{insert_record, open_for_reading, open_for_writing};
    use crate::audit::witness::Witness;
    use crate::audit::checkpoint::SignedCheckpoint;
    use crate::audit::sqlite::insert_signed_checkpoint;

    struct Log {
        dir: tempfile::TempDir,
        signer: AuditSigner,
        /// Every head signed, by seq.
        heads: Vec<ExpectedHead>,
    }

    /// 1200 records, a checkpoint at 500, 1000 and 1200.
    fn signed_log() -> Log {
        let dir = tempfile::tempdir().unwrap();
        let mut connection = open_for_writing(&dir.path().join("audit.sqlite3")).unwrap();
        let signer = AuditSigner::load_or_create(&dir.path().join("key")).unwrap();
        let transaction = connection.transaction().unwrap();
        let mut hash = [0u8; 32];
        let mut heads = Vec::new();
        for seq in 1..=1200 {
            let record = example(seq);
            let next = record.chain_hash(&hash);
            insert_record(&transaction, &record, &hash, &next).unwrap();
            hash = next;
            if seq % 500 == 0 || seq == 1200 {
                insert_signed_checkpoint(&transaction, &signer, seq, &hash).unwrap();
                heads.push(ExpectedHead { seq, head_hash: hash, source: HeadSource::Other(format!("the test's head {seq}").into()) });
            }
        }
        transaction.commit().unwrap();
        Log { dir, signer, heads }
    }

    impl Log {
        fn tamper(&self, sql: &str) {
            rusqlite::Connection::open(self.dir.path().join("audit.sqlite3")).unwrap().execute_batch(sql).unwrap();
        }

        fn verify(&self, options: VerifyOptions) -> Result<VerifyReport, Problem> {
            let connection = open_for_reading(&self.dir.path().join("audit.sqlite3")).unwrap();
            verify_stored(&mut SqliteLog::new(&connection), &VerifyOptions { trusted_keys: vec![self.signer.public_key().to_vec()], ..options }, Parallelism::default())
        }
    }

    /// When example record `seq` was received.
    fn received(seq: i64) -> i64 {
        example(seq).received_at.timestamp_micros()
    }

    #[test]
    fn a_tail_cut_back_to_a_checkpoint_is_found_by_the_heads_named_outside_the_log() {
        let log = signed_log();
        let all = VerifyOptions { expected_heads: log.heads.clone(), ..Default::default() };
        assert_eq!(log.verify(all.clone()).unwrap().witnessed_up_to, Some(1200));
        log.tamper("DELETE FROM audit_records WHERE seq > 1000; DELETE FROM audit_checkpoints WHERE seq > 1000;");
        // What the checkpoints alone cannot tell…
        assert_eq!(log.verify(VerifyOptions::default()).unwrap().last_seq, Some(1000));
        // …the witness does, naming where.
        let problem = log.verify(all).unwrap_err();
        assert_eq!((problem.kind, problem.seq), (ProblemKind::Truncated, 1001), "{}", problem.message);
        assert!(problem.message.contains("the test's head 1200"), "{}", problem.message);
    }

    #[test]
    fn a_chain_recomputed_without_checkpoints_differs_from_the_witnessed_head() {
        let log = signed_log();
        let mut altered = example(700);
        altered.person_code = Some("23118813456".into());
        let connection = rusqlite::Connection::open(log.dir.path().join("audit.sqlite3")).unwrap();
        connection.execute_batch("DELETE FROM audit_checkpoints").unwrap();
        connection.execute("UPDATE audit_records SET encoded = ?1, person_code = '23118813456' WHERE seq = 700", [altered.canonical_encoding()]).unwrap();
        let mut hash = [0u8; 32];
        for seq in 1..=1200 {
            let record = if seq == 700 { altered.clone() } else { example(seq) };
            let next = record.chain_hash(&hash);
            connection
                .execute("UPDATE audit_records SET prev_hash = ?1, hash = ?2 WHERE seq = ?3", rusqlite::params![hash.as_slice(), next.as_slice(), seq])
                .unwrap();
            hash = next;
        }
        drop(connection);
        assert!(log.verify(VerifyOptions::default()).is_ok(), "without checkpoints, the recomputed chain is consistent");
        let problem = log.verify(VerifyOptions { expected_heads: log.heads.clone(), ..Default::default() }).unwrap_err();
        assert_eq!((problem.kind, problem.seq), (ProblemKind::CheckpointMismatch, 1000), "{}", problem.message);
        assert!(problem.message.contains("the test's head 1000"), "{}", problem.message);
        // And without a witness, the unsigned tail gives it away once it is older than the writer leaves one.
        let long_after = VerifyOptions { max_unsigned_age: Some(std::time::Duration::from_secs(10)), now_micros: received(1) + 11_000_000, ..Default::default() };
        let problem = log.verify(long_after).unwrap_err();
        assert_eq!((problem.kind, problem.seq), (ProblemKind::UnsignedTail, 1), "{}", problem.message);
    }

    #[test]
    fn an_unsigned_tail_is_reported_only_once_older_than_twice_the_interval() {
        let log = signed_log();
        log.tamper("DELETE FROM audit_checkpoints WHERE seq = 1200;");
        let at = |micros_after: i64| VerifyOptions {
            max_unsigned_age: Some(std::time::Duration::from_secs(10)),
            now_micros: received(1001) + micros_after,
            ..Default::default()
        };
        assert_eq!(log.verify(at(10_000_000)).unwrap().unsigned_tail, 200);
        let problem = log.verify(at(10_000_001)).unwrap_err();
        assert_eq!((problem.kind, problem.seq), (ProblemKind::UnsignedTail, 1001), "{}", problem.message);
        // A whole log is not reported however old.
        let whole = signed_log();
        assert!(whole.verify(VerifyOptions { max_unsigned_age: Some(std::time::Duration::from_secs(10)), now_micros: i64::MAX, ..Default::default() }).is_ok());
    }

    #[test]
    fn a_prefix_deleted_by_hand_is_not_taken_for_a_prune() {
        let deleted = signed_log();
        deleted.tamper("DELETE FROM audit_records WHERE seq <= 500; DELETE FROM audit_checkpoints WHERE seq < 500;");
        let problem = deleted.verify(VerifyOptions::default()).unwrap_err();
        assert_eq!((problem.kind, problem.seq), (ProblemKind::Unanchored, 501), "{}", problem.message);
        assert!(problem.message.contains("not a prune marker"), "{}", problem.message);
        // Relabelling the checkpoint does not make it a marker: its signature says which it is.
        deleted.tamper("UPDATE audit_checkpoints SET kind = 'prune' WHERE seq = 500;");
        let problem = deleted.verify(VerifyOptions::default()).unwrap_err();
        assert_eq!((problem.kind, problem.seq), (ProblemKind::BadSignature, 500), "{}", problem.message);

        // A real prune leaves a marker, and the witness gets it first.
        let pruned = signed_log();
        let witness_path = pruned.dir.path().join("witness.log");
        let witness = Witness::new(Some(witness_path.clone()), &[]);
        let connection = open_for_writing(&pruned.dir.path().join("audit.sqlite3")).unwrap();
        let cutoff = example(501).received_at;
        let report = crate::audit::prune::prune(&mut SqliteLog::new(&connection), &pruned.signer, cutoff, &witness).unwrap();
        assert_eq!((report.removed, report.anchored_at), (500, Some(500)));
        let witnessed = witnessed_heads(&witness_path, &[pruned.signer.public_key().to_vec()]).unwrap();
        assert_eq!(witnessed.iter().map(|head| head.seq).collect::<Vec<_>>(), [500]);
        let mut expected = pruned.heads.clone();
        expected.extend(witnessed);
        let report = pruned.verify(VerifyOptions { expected_heads: expected, ..Default::default() }).unwrap();
        assert_eq!((report.first_seq, report.witnessed), (Some(501), 4));

        // A witness that cannot be written stops the prune before anything is removed.
        let blocked = Witness::new(Some(pruned.dir.path().join("no-such-dir/witness.log")), &[]);
        let error = crate::audit::prune::prune(&mut SqliteLog::new(&connection), &pruned.signer, example(1001).received_at, &blocked).unwrap_err();
        assert!(format!("{error:#}").contains("witness"), "{error:#}");
        assert_eq!(pruned.verify(VerifyOptions::default()).unwrap().first_seq, Some(501));
    }

    #[test]
    fn a_witness_line_signed_by_no_trusted_key_or_altered_is_refused() {
        let log = signed_log();
        let path = log.dir.path().join("witness.log");
        let witness = Witness::new(Some(path.clone()), &[]);
        witness.record(&SignedCheckpoint::sign(&log.signer, 1200, &log.heads[2].head_hash)).unwrap();
        let keys = [log.signer.public_key().to_vec()];
        assert_eq!(witnessed_heads(&path, &keys).unwrap()[0].seq, 1200);
        let other = AuditSigner::load_or_create(&log.dir.path().join("other")).unwrap();
        let problem = witnessed_heads(&path, &[other.public_key().to_vec()]).unwrap_err();
        assert!(problem.message.contains("not trusted"), "{}", problem.message);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("seq=1200", "seq=1100")).unwrap();
        let problem = witnessed_heads(&path, &keys).unwrap_err();
        assert_eq!(problem.kind, ProblemKind::BadSignature, "{}", problem.message);
        assert!(problem.message.contains("line 1"), "{}", problem.message);
    }
}
