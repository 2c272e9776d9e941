//! Deterministic synthetic register for demos, tests and load measurements (`seed-demo`).
//!
//! Owns the generator: reference data (service kinds, ~40 providers, the 43 municipalities
//! since the 2021 reform), the fixed `SHOWCASE` persons, and any number of random persons
//! of Regulation No. 587's client mix (adults with severe mental disorders, children without
//! parental care or with disabilities, persons with visual impairment; see `generator`),
//! each at a provider that takes their group (VSAC branches and contract organisations, no
//! municipal care homes), whose applications follow the real process: application →
//! documents (maybe a letter asking for more, event 15) → admission to the queue (1) →
//! renewals (2, 3), offers (6), refusals of a place (7), mostly followed by restoration (8) →
//! grant (5, or 12 for a halfway house) or refusal (14); later a change of provider (4, 9,
//! 10) or of service kind (11, 12/13).
//!
//! Input: a file path and [`DemoOptions`]; output: the filled register and a [`DemoReport`].
//! Decisions are numbered per issuer and year in date order once all are written (the
//! ministry's `LM-…`, a municipality's `<code>-SD-…` for group apartments). About 2,600
//! persons wait at a time, as seed 002 counts for the whole country.
//! The same options always give the same rows (same ids, same text): the generator uses its
//! own seeded PRNG, never the clock, and every date lies between 2015 and `DATA_HORIZON`.
//! It must never write into a register that already holds persons.
//!
//! The parts, each feeding the next: `reference` (the fixed tables), `random` (days, the
//! seeded PRNG, personal codes), `writer` (rows, ids and numbers), `generator` (who the
//! persons are; its `showcase` and `stories` write what happens to them);
//! this file opens the register, loads it in bulk and reports.

use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::database::postgres::PostgresOptions;
use crate::database::sqlite::open_writer;
use crate::store::import;
use crate::store::sqlite::error;
use crate::store::StoreError;
use generator::Generator;
use random::Dates;
use reference::reference_data;
use writer::Writer;

mod generator;
mod random;
mod reference;
#[cfg(test)]
mod tests;
mod writer;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoOptions {
    /// Persons in the register, the showcase persons included (at least those are written).
    pub persons: u64,
    /// Seed of the generator: the same seed and count give the same register.
    pub seed: u64,
}

/// What was generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoReport {
    pub persons: u64,
    pub applications: u64,
    pub queue_events: u64,
    pub elapsed: Duration,
}

impl fmt::Display for DemoReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let DemoReport { persons, applications, queue_events, elapsed } = self;
        write!(f, "{persons} persons, {applications} applications, {queue_events} queue events in {elapsed:.1?}")
    }
}

/// A fixed person of the demo register, with the story their answers tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Showcase {
    pub person_code: &'static str,
    pub name: &'static str,
    pub story: &'static str,
}

/// The fixed persons, present in every demo register whatever its size or seed.
pub(crate) const SHOWCASE: &[Showcase] = &[
    Showcase {
        person_code: "150342-10121",
        name: "Ērika Kalniņa",
        story: "Born 1942, with visual impairment, represented by her daughter. Two applications for a place in \
                an institution (at VSAC \"Rīga\" filiāle \"Ezerkrasti\" and at the contract organisation biedrība \
                \"Aprūpes nams Ābeļdārzs\"): a letter asking for a document (15), admitted to both queues (1), \
                declined a place offered in Aizpute (6, 7) and was restored (8), renewed her documents (2, 3). \
                Waits in both queues now, with persons ahead of her.",
    },
    Showcase {
        person_code: "320417-28315",
        name: "Jānis Bērziņš",
        story: "New-format personal code; born 1948, with a severe mental disorder. Queued at VSAC \"Vidzeme\" \
                filiāle \"Allaži\" (1), renewed documents (2, 3), declined a place in Iecava (6, 7), was restored \
                (8), then offered and granted Allaži (6, 5). Later moved to VSAC \"Rīga\" filiāle \"Ezerkrasti\" by a \
                second application (4, 9, 10).",
    },
    Showcase {
        person_code: "020761-12340",
        name: "Aivars Ozoliņš",
        story: "Born 1961, with a severe mental disorder. Applied to the contract organisation biedrība \
                \"Aprūpes centrs Liepas\", was asked by letter for a missing document (15), never submitted it and \
                was refused (14). Never queued.",
    },
    Showcase {
        person_code: "231188-13456",
        name: "Līga Vītola",
        story: "Born 1988, with a severe mental disorder, under her mother's guardianship. Granted a place at \
                VSAC \"Latgale\" filiāle \"Kalkūni\" (1, 6, 5), then moved to a halfway house (11, 12) and later to \
                a group apartment (11, 13) of nodibinājums \"Fonds Cerību tilts\".",
    },
];

/// A valid personal code the demo register knows nothing about.
pub(crate) const NO_RECORDS_PERSON_CODE: &str = "051230-10106";

/// No generated date lies after this day: the register looks the same whenever it is made.
pub(crate) const DATA_HORIZON: &str = "2026-11-01";

/// Fills a new (or empty) register at `path` with the showcase persons and random ones,
/// `options.persons` in all. Creates and migrates the file; refuses a register that already
/// holds persons. On failure nothing is committed (delete the file if the process was killed).
pub fn seed_sqlite(path: &Path, options: &DemoOptions) -> Result<DemoReport, StoreError> {
    let started = Instant::now();
    let mut conn = open_writer(path)?;
    let holds_persons: bool = conn
        .query_row("SELECT EXISTS (SELECT 1 FROM persons)", [], |row| row.get(0))
        .map_err(error("seed: check the register is empty"))?;
    if holds_persons {
        return Err(StoreError::Unavailable("seed: the register already holds persons; seed a new file".into()));
    }
    bulk_load_mode(&conn)?;
    let counts = {
        let tx = conn.transaction().map_err(error("seed: begin"))?;
        let dates = Dates::new();
        let mut generator = Generator::new(options.seed);
        reference_data(&tx)?;
        let indexes = drop_indexes(&tx)?;
        let mut writer = Writer::new(&tx, &dates)?;
        generator.showcase(&mut writer)?;
        let random = options.persons.saturating_sub(SHOWCASE.len() as u64);
        generator.set_waiting_share(random);
        for index in 0..random {
            generator.random_person(&mut writer, index)?;
        }
        let counts = writer.counts;
        drop(writer);
        writer::number_decisions(&tx)?;
        for sql in &indexes {
            tx.execute_batch(sql).map_err(error("seed: rebuild the indexes"))?;
        }
        crate::statistics::sqlite::rebuild(&tx)?;
        tx.commit().map_err(error("seed: commit"))?;
        counts
    };
    normal_mode(&conn)?;
    Ok(DemoReport {
        persons: counts.persons,
        applications: counts.applications,
        queue_events: counts.queue_events,
        elapsed: started.elapsed(),
    })
}

/// Fills the (new or empty) PostgreSQL register at `url` with exactly the rows
/// [`seed_sqlite`] writes for the same options — same ids, same text — so that both backends
/// answer every request identically: the register is generated into a temporary SQLite
/// file, then copied (`COPY`, one transaction). Refuses a register that already holds
/// persons. Blocks the calling thread.
pub fn seed_postgres(url: &str, database: &PostgresOptions, options: &DemoOptions) -> Result<DemoReport, StoreError> {
    let started = Instant::now();
    if import::holds_persons(url, database)? {
        return Err(StoreError::Unavailable("seed: the register already holds persons; seed a new database".into()));
    }
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let staging = std::env::temp_dir().join(format!("spolis-seed-{}-{nanos}.sqlite3", std::process::id()));
    let seeded = seed_sqlite(&staging, options)
        .and_then(|report| import::import_sqlite_register(url, database, &staging).map(|_| report));
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = staging.clone().into_os_string();
        name.push(suffix);
        let _ = std::fs::remove_file(name);
    }
    seeded.map(|report| DemoReport { elapsed: started.elapsed(), ..report })
}

/// The demo register as an export file at `export` (as of [`DATA_HORIZON`]), for
/// `seed-demo` and `demo` to load through `register import` like SPOLIS's own: generated
/// into a staging SQLite file beside it (deleted afterwards), then written out.
pub fn write_export(export: &Path, options: &DemoOptions) -> Result<DemoReport, StoreError> {
    let started = Instant::now();
    let mut staging = export.as_os_str().to_owned();
    staging.push(".staging.sqlite3");
    let staging = std::path::PathBuf::from(staging);
    let written = seed_sqlite(&staging, options).and_then(|report| {
        let file = crate::private_files::create(export).map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", export.display())))?;
        let as_of = format!("{DATA_HORIZON}T00:00:00Z");
        crate::register::export_as_of(&crate::register::Target::Sqlite(staging.clone()), &as_of, std::io::BufWriter::with_capacity(1 << 20, file))?;
        Ok(report)
    });
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = staging.clone().into_os_string();
        name.push(suffix);
        let _ = std::fs::remove_file(name);
    }
    written.map(|report| DemoReport { elapsed: started.elapsed(), ..report })
}

/// One big transaction with no durability: the file is new, and a failed load is discarded.
/// The journal stays in memory (not OFF) so that a failure can still roll back.
fn bulk_load_mode(conn: &Connection) -> Result<(), StoreError> {
    let what = "seed: bulk-load settings";
    let _: String = conn
        .pragma_update_and_check(None, "journal_mode", "MEMORY", |row| row.get(0))
        .map_err(error(what))?;
    conn.execute_batch(
        "PRAGMA synchronous = OFF; PRAGMA foreign_keys = OFF; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -262144;",
    )
    .map_err(error(what))
}

/// The tables the generator fills row by row.
const BULK_TABLES: &[&str] = crate::store::PERSON_TABLES;
/// Drops the secondary indexes of [`BULK_TABLES`] and returns the SQL that recreates them:
/// building an index once after the load is ~40% faster than keeping it up to date row by
/// row (500k persons: 10.4 s against 17.5 s), and gives a smaller file. In the transaction,
/// so a failed load leaves them in place.
fn drop_indexes(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let what = error("seed: drop the indexes for the load");
    let mut stmt = conn
        .prepare("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY rowid")
        .map_err(&what)?;
    let indexes: Vec<(String, String, String)> = stmt
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .and_then(Iterator::collect)
        .map_err(&what)?;
    let mut recreate = Vec::new();
    for (name, table, sql) in indexes {
        if BULK_TABLES.contains(&table.as_str()) {
            conn.execute_batch(&format!("DROP INDEX \"{name}\"")).map_err(&what)?;
            recreate.push(sql);
        }
    }
    Ok(recreate)
}

/// Back to the settings of `SqliteStore::open`, plus planner statistics for the new data.
fn normal_mode(conn: &Connection) -> Result<(), StoreError> {
    let what = "seed: restore settings";
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(error(what))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Unavailable(format!("{what}: journal mode {mode}, not WAL")));
    }
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA analysis_limit = 1000; ANALYZE;",
    )
    .map_err(error(what))
}
