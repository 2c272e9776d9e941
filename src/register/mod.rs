//! The register's data path: SPOLIS's export (`xsd/RegisterExport.xsd`, `docs/REGISTER.md`)
//! imported into the store, the store exported in the same format, and the state of what
//! was imported (`register status`).
//!
//! An import reads its files once, as streams, inside one transaction per backend: each
//! item is checked and, while nothing is wrong, loaded. The first problem stops the loading
//! (the checking goes on, so that every problem is reported with file, line and element
//! path) and the transaction is rolled back: nothing is changed if anything is wrong, as if
//! everything had been checked first. Answers come from the old register until the commit
//! and from the whole new one after it. A dry run reads the files the same way, loading
//! nothing.
//!
//! - [`format`]: the entities and fields of the export, in one table that drives the rest.
//! - `reader`: the streamed reader, one person at a time.
//! - `validate`: the checks and the register's form of every value.
//! - `load`: ids, references and a delta's replacements; the backends' `sqlite` and
//!   `postgres` write the rows.
//! - `export`: the register written as a full export.

pub mod format;
mod export;
mod load;
mod postgres;
mod reader;
mod sql;
mod sqlite;
mod validate;

use std::collections::HashSet;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use sha2::{Digest, Sha256};

pub use export::ExportCounts;
pub use reader::ExportKind;

use crate::audit::record::{AuditRecord, RecordVersion, REGISTER_IMPORT};
use crate::database::postgres::PostgresOptions;
use crate::store::StoreError;
use reader::{ExportReader, Item};
use validate::Validator;
use format::CLASSIFIERS;

/// Problems reported at most; the rest are counted.
const MAX_PROBLEMS: usize = 1000;

/// One problem in an export file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub file: String,
    pub line: u32,
    pub path: String,
    pub message: String,
}

impl Problem {
    pub(crate) fn new(file: &str, line: u32, path: &str, message: String) -> Self {
        Problem { file: file.to_owned(), line, path: path.to_owned(), message }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}: {}", self.file, self.line, self.path, self.message)
    }
}

/// What an import wrote (or a dry run would write).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub persons: u64,
    pub applications: u64,
    pub queue_events: u64,
    pub queue_entries: u64,
    pub deletions: u64,
}

/// One import as recorded in `register_imports` (and in the audit log).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportRecord {
    pub batch_id: String,
    pub kind: String,
    /// RFC 3339, UTC.
    pub as_of: String,
    /// SHA-256 (hex) of the files' bytes, in the order given.
    pub file_digest: String,
    /// The files' names, one per line.
    pub files: String,
    pub counts: Counts,
    pub imported_at: String,
    pub duration_ms: u64,
}

impl ImportRecord {
    /// The import as an administrative record of the audit log (version 3): no call, no
    /// certificate; `service` says what was done, `administrative` holds this record as JSON
    /// (batch id, full/delta, as-of, file digest and names, counts by entity), `record_id`
    /// is the batch id, and `records_returned` the persons written.
    pub fn audit_record(&self, environment: &str) -> AuditRecord {
        AuditRecord {
            seq: 0,
            record_id: uuid::Uuid::try_parse(&self.batch_id).unwrap_or_else(|_| uuid::Uuid::now_v7()),
            received_at: chrono::Utc::now(),
            message_id: None,
            transaction_id: None,
            correlation_id: None,
            consumer_id: None,
            consumer_name: None,
            certificate_sha256: String::new(),
            certificate_subject: String::new(),
            client_ip: "local".to_owned(),
            environment: environment.to_owned(),
            operator_first_name: None,
            operator_surname: None,
            operator_person_code: None,
            ivis_sender: None,
            service: REGISTER_IMPORT.to_owned(),
            request_style: None,
            soap_version: None,
            person_code: None,
            outcome: "ok".to_owned(),
            records_returned: i64::try_from(self.counts.persons).unwrap_or(i64::MAX),
            processing_micros: i64::try_from(self.duration_ms.saturating_mul(1000)).unwrap_or(i64::MAX),
            purpose_legal_basis: None,
            purpose_case_number: None,
            bulk_prepared_by: None,
            // Serializing plain strings and numbers cannot fail.
            administrative: Some(serde_json::to_string(self).unwrap_or_default()),
            version: RecordVersion::CURRENT,
        }
    }
}

/// The register's state: its last import (the as-of time is that import's) and its rows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RegisterState {
    pub last: Option<ImportRecord>,
    pub counts: Vec<(&'static str, u64)>,
}

/// The store a register command works on.
#[derive(Debug, Clone)]
pub enum Target {
    /// The embedded register file.
    Sqlite(PathBuf),
    /// The PostgreSQL primary.
    Postgres { url: String, options: PostgresOptions },
}

/// What to import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub files: Vec<PathBuf>,
    /// The files are deltas (else together one full export).
    pub delta: bool,
    /// Check only; change nothing.
    pub dry_run: bool,
}

/// Where an import is, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// `true` while checking, `false` while loading.
    pub checking: bool,
    pub persons: u64,
    /// Bytes of all files read so far in this pass, and in all.
    pub bytes: u64,
    pub total_bytes: u64,
}

/// An import's outcome: the problems found (then nothing changed), or what was imported.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportOutcome {
    pub problems: Vec<Problem>,
    /// Problems beyond those listed.
    pub more_problems: usize,
    /// What was (or, in a dry run, would be) imported; `None` when there were problems.
    pub record: Option<ImportRecord>,
    pub dry_run: bool,
}

/// Hears of each import that changes the register, inside its transaction: after the
/// register's rows and its `register_imports` row are written, before the commit. An error
/// rolls the import back, so an import whose provenance cannot be recorded changes nothing.
/// The binary appends the import's administrative record to the audit log here.
pub type Provenance<'a> = dyn FnMut(&ImportRecord) -> Result<(), StoreError> + 'a;

/// Imports `options.files` into `target` (creating the store if there is none); `provenance`
/// hears of the import before it commits (not of a dry run, nor of a file with problems).
pub fn import(target: &Target, options: &ImportOptions, progress: &mut dyn FnMut(Progress), provenance: &mut Provenance<'_>) -> Result<ImportOutcome, StoreError> {
    let started = Instant::now();
    let kind = if options.delta { ExportKind::Delta } else { ExportKind::Full };
    let total_bytes = options.files.iter().map(|f| std::fs::metadata(f).map_or(0, |m| m.len())).sum();
    let (file_digest, files) = digest(&options.files)?;
    let known = match kind {
        ExportKind::Full => Default::default(),
        ExportKind::Delta => target_codes(target)?,
    };
    let register_as_of = match kind {
        ExportKind::Delta => state(target)?.last.map(|last| last.as_of),
        ExportKind::Full => None,
    };

    let as_of = std::cell::Cell::new(None::<chrono::DateTime<chrono::Utc>>);
    let record = |counts: &Counts| ImportRecord {
        batch_id: uuid::Uuid::now_v7().to_string(),
        kind: kind.as_str().to_owned(),
        as_of: as_of.get().unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        file_digest: file_digest.clone(),
        files: files.clone(),
        counts: *counts,
        imported_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        duration_ms: started.elapsed().as_millis() as u64,
    };
    let read = Files { options, kind, known: &known, register_as_of: &register_as_of, total_bytes };
    let refused = |checked: Checked| {
        let mut problems = checked.problems;
        let more_problems = problems.len().saturating_sub(MAX_PROBLEMS);
        problems.truncate(MAX_PROBLEMS);
        ImportOutcome { problems, more_problems, record: None, dry_run: options.dry_run }
    };

    if options.dry_run {
        let checked = read.pass(progress, None);
        as_of.set(checked.as_of);
        if !checked.problems.is_empty() || checked.as_of.is_none() {
            return Ok(refused(checked));
        }
        return Ok(ImportOutcome { problems: Vec::new(), more_problems: 0, record: Some(record(&checked.counts)), dry_run: true });
    }

    // One pass: each item is checked and, while nothing is wrong, loaded inside the import's
    // transaction. A problem stops the loading (the checking goes on, to report every
    // problem) and rolls the transaction back, so nothing changes — as if checked first.
    let mut refusal = None;
    let mut written = None;
    let mut feed = |load_item: &mut LoadItem<'_>| -> Result<(), StoreError> {
        let checked = read.pass(progress, Some(load_item));
        as_of.set(checked.as_of);
        if !checked.problems.is_empty() || checked.as_of.is_none() {
            refusal = Some(refused(checked));
            return Err(StoreError::Unavailable("import: the export has problems; rolled back".into()));
        }
        checked.failure.map_or(Ok(()), Err)
    };
    let mut record_once = |counts: &Counts| {
        let entry = record(counts);
        written = Some(entry.clone());
        entry
    };
    let result = match target {
        Target::Sqlite(path) => sqlite::import(path, kind == ExportKind::Full, &mut |loader| feed(&mut |item| loader.item(item)), &mut record_once, provenance),
        Target::Postgres { url, options: database } => {
            postgres::import(url, database, kind == ExportKind::Full, &mut |loader| feed(&mut |item| loader.item(item)), &mut record_once, provenance)
        }
    };
    if let Some(outcome) = refusal {
        return Ok(outcome);
    }
    result?;
    Ok(ImportOutcome { problems: Vec::new(), more_problems: 0, record: written, dry_run: false })
}

/// Writes one checked item inside the import's transaction.
type LoadItem<'a> = dyn FnMut(&Item) -> Result<(), StoreError> + 'a;

/// What one read of an import's files needs to know.
struct Files<'a> {
    options: &'a ImportOptions,
    kind: ExportKind,
    /// For a delta, the register's classifier codes.
    known: &'a [std::collections::HashMap<String, i64>; CLASSIFIERS],
    /// For a delta, the register's as-of time.
    register_as_of: &'a Option<String>,
    total_bytes: u64,
}

/// What one read found.
struct Checked {
    problems: Vec<Problem>,
    /// The latest as-of of the files' headers; `None` when a header was unreadable.
    as_of: Option<chrono::DateTime<chrono::Utc>>,
    /// What the files hold (for a dry run; an import counts what it wrote).
    counts: Counts,
    /// The first error of the loading, after which nothing more was loaded.
    failure: Option<StoreError>,
}

impl Files<'_> {
    /// Reads every file once: checks each item, and hands it to `load` while no problem has
    /// been found and no load has failed. Duplicate keys are known only at the end of a file
    /// (a delta) or of all files (a full export).
    fn pass(&self, progress: &mut dyn FnMut(Progress), mut load: Option<&mut LoadItem<'_>>) -> Checked {
        let (kind, options, total_bytes) = (self.kind, self.options, self.total_bytes);
        let checking = load.is_none();
        let mut problems = Vec::new();
        let mut as_of = None::<chrono::DateTime<chrono::Utc>>;
        let mut validator: Option<Validator> = None;
        let mut counts = Counts::default();
        let mut failure = None;
        let mut duplicates: Vec<(usize, [HashSet<u64>; 4])> = Vec::new();
        for (index, path) in options.files.iter().enumerate() {
            let name = path.display().to_string();
            let result = visit(path, &mut problems, |visit, problems| match visit {
              Visit::Header(header) => {
                if header.kind != kind {
                    problems.push(Problem::new(&name, 3, "RegisterExport/Kind", format!("a {} export, but the import is {} (--delta)", header.kind.as_str(), match kind { ExportKind::Full => "full: without", ExportKind::Delta => "a delta: with" })));
                }
                if let (ExportKind::Delta, Some(register)) = (kind, self.register_as_of) {
                    if chrono::DateTime::parse_from_rfc3339(register).is_ok_and(|r| header.as_of < r) {
                        problems.push(Problem::new(&name, 2, "RegisterExport/AsOf", format!("dates out of order: the delta is as of {}, older than the register ({register})", header.as_of.to_rfc3339())));
                    }
                }
                as_of = Some(as_of.map_or(header.as_of, |a| a.max(header.as_of)));
                match &mut validator {
                    Some(v) => v.set_file(&name, header),
                    None => validator = Some(Validator::new(&name, header, self.known.clone().map(|m| m.into_keys().collect()))),
                }
              }
              Visit::Item(item, position) => {
                let Some(v) = validator.as_mut() else { return };
                v.check(item, kind, problems);
                match item {
                    Item::Person(block) => {
                        counts.persons += 1;
                        counts.applications += block.applications.len() as u64;
                        counts.queue_events += block.events.len() as u64;
                        counts.queue_entries += block.entries.len() as u64;
                        if counts.persons % 4096 == 0 {
                            progress(Progress { checking, persons: counts.persons, bytes: position, total_bytes });
                        }
                    }
                    Item::Delete { .. } => counts.deletions += 1,
                    Item::Classifier(..) => {}
                }
                if let (Some(load), true, None) = (load.as_mut(), problems.is_empty(), &failure) {
                    if let Err(e) = load(item) {
                        failure = Some(e);
                    }
                }
              }
            });
            if let Err(problem) = result {
                problems.push(problem);
            }
            // A delta's keys are unique within each file; a full export's across all of them.
            if let Some(v) = validator.as_mut() {
                if kind == ExportKind::Delta || index + 1 == options.files.len() {
                    let found = v.keys.duplicates();
                    if found.iter().any(|set| !set.is_empty()) {
                        duplicates.push((index, found));
                    }
                }
            }
        }
        for (last, found) in duplicates {
            let range = match kind {
                ExportKind::Delta => last..last + 1,
                ExportKind::Full => 0..options.files.len(),
            };
            report_duplicates(&options.files[range], &found, &mut problems);
        }
        Checked { problems, as_of, counts, failure }
    }
}

/// What [`visit`] hands its callback.
enum Visit<'a> {
    Header(&'a reader::Header),
    /// An item, and the bytes of the file read so far.
    Item(&'a mut Item, u64),
}

/// Reads one file, handing `visitor` its header once, then each item.
fn visit(path: &Path, problems: &mut Vec<Problem>, mut visitor: impl FnMut(Visit<'_>, &mut Vec<Problem>)) -> Result<(), Problem> {
    let mut reader = ExportReader::open(path, problems)?;
    let Some(head) = reader.header.clone() else { return Ok(()) };
    visitor(Visit::Header(&head), problems);
    while let Some(mut next) = reader.next_item(problems)? {
        let position = reader.position();
        visitor(Visit::Item(&mut next, position), problems);
        if problems.len() > MAX_PROBLEMS * 2 {
            break;
        }
    }
    Ok(())
}

/// Reports every occurrence of a duplicated key (persons, applications, events, entries).
fn report_duplicates(files: &[PathBuf], found: &[HashSet<u64>; 4], problems: &mut Vec<Problem>) {
    for path in files {
        let name = path.display().to_string();
        let mut ignored = Vec::new();
        let _ = visit(path, &mut ignored, |visit, _| {
            let Visit::Item(Item::Person(block), _) = visit else { return };
            let mut report = |record: &reader::Record, what: &str, key: &str| {
                problems.push(Problem::new(&name, record.line, &record.path, format!("duplicate key: {what} {key} is given more than once")));
            };
            if let Some(code) = block.record.value(0) {
                let digits = crate::personal_code::PersonalCode::parse(code).map(|c| c.digits().to_owned()).unwrap_or_default();
                if found[0].contains(&validate::person_key(&digits)) {
                    report(&block.record, "personal code", code);
                }
            }
            for application in &block.applications {
                if let Some(number) = application.record.value(0) {
                    if found[1].contains(&validate::application_key(number)) {
                        report(&application.record, "application number", number);
                    }
                }
            }
            for (slot, records) in [(2, &block.events), (3, &block.entries)] {
                for record in records {
                    if let Some(id) = record.value(0).and_then(validate::parse_id) {
                        if found[slot].contains(&id) {
                            report(record, if slot == 2 { "event id" } else { "entry id" }, &id.to_string());
                        }
                    }
                }
            }
        });
    }
}

/// SHA-256 over the files' bytes in order, and their names one per line.
fn digest(files: &[PathBuf]) -> Result<(String, String), StoreError> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    for path in files {
        let mut file = std::fs::File::open(path).map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
        loop {
            let n = file.read(&mut buffer).map_err(|e| StoreError::Unavailable(format!("cannot read {}: {e}", path.display())))?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
        }
    }
    let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    Ok((hex::encode(hasher.finalize()), names.join("\n")))
}

fn target_codes(target: &Target) -> Result<[std::collections::HashMap<String, i64>; CLASSIFIERS], StoreError> {
    match target {
        Target::Sqlite(path) => sqlite::classifier_codes(path),
        Target::Postgres { url, options } => postgres::classifier_codes(url, options),
    }
}

/// The register's state (creating the store if there is none).
pub fn state(target: &Target) -> Result<RegisterState, StoreError> {
    match target {
        Target::Sqlite(path) => sqlite::state(path),
        Target::Postgres { url, options } => postgres::state(url, options),
    }
}

/// Writes the register at `target` as a full export to `out`, as of its last import (or
/// now, for a register never imported).
pub fn export(target: &Target, out: impl std::io::Write) -> Result<ExportCounts, StoreError> {
    let as_of = state(target)?.last.map_or_else(|| chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true), |l| l.as_of);
    export_as_of(target, &as_of, out)
}

/// Writes the register at `target` as a full export stating `as_of` (RFC 3339).
pub fn export_as_of(target: &Target, as_of: &str, out: impl std::io::Write) -> Result<ExportCounts, StoreError> {
    let as_of = as_of.to_owned();
    let mut out = Some(out);
    let mut counts = ExportCounts::default();
    let mut write = |source: &mut dyn export::Source| -> Result<(), StoreError> {
        let out = out.take().ok_or_else(|| StoreError::Unavailable("export: written twice".into()))?;
        counts = export::write(source, &as_of, out)?;
        Ok(())
    };
    match target {
        Target::Sqlite(path) => sqlite::export(path, &mut write)?,
        Target::Postgres { url, options } => postgres::export(url, options, &mut write)?,
    }
    Ok(counts)
}

#[cfg(test)]
mod tests;
