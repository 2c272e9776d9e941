//! Deterministic synthetic register for demos, tests and load measurements (`seed-demo`).
//!
//! Owns the generator: reference data (service kinds, ~40 providers, the 43 municipalities
//! since the 2021 reform), the fixed [`SHOWCASE`] persons, and any number of random persons
//! whose applications follow the real process: application → documents (maybe a letter
//! asking for more, event 15) → admission to the queue (1) → renewals (2, 3), offers (6),
//! refusals of a place (7) and restoration (8) → grant (5, or 12 for a halfway house) or
//! refusal (14); later a change of provider (4, 9, 10) or of service kind (11, 12/13).
//!
//! Input: a file path and [`DemoOptions`]; output: the filled register and a [`DemoReport`].
//! The same options always give the same rows (same ids, same text): the generator uses its
//! own seeded PRNG, never the clock, and every date lies between 2015 and [`DATA_HORIZON`].
//! It must never write into a register that already holds persons.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDate};
use rusqlite::{Connection, Statement};

use crate::personal_code::PersonalCode;
use crate::store::postgres;
use crate::store::sqlite::{self, error};
use crate::store::StoreError;

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

/// A fixed person of the demo register, with the story their answers tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Showcase {
    pub person_code: &'static str,
    pub name: &'static str,
    pub story: &'static str,
}

/// The fixed persons, present in every demo register whatever its size or seed.
pub const SHOWCASE: &[Showcase] = &[
    Showcase {
        person_code: "150342-10121",
        name: "Ērika Kalniņa",
        story: "Born 1942, represented by her daughter. Two applications (ISAR-P at VSAC \"Rīga\" filiāle \
                \"Ezerkrasti\" and at Pansionāts \"Ābeļdārzs\"): a letter asking for a document (15), admitted \
                to both queues (1), declined a place offered in Aizpute (6, 7) and was restored (8), renewed \
                her documents (2, 3). Waits in both queues now, with persons ahead of her.",
    },
    Showcase {
        person_code: "320417-28315",
        name: "Jānis Bērziņš",
        story: "New-format personal code. Queued at VSAC \"Vidzeme\" filiāle \"Allaži\" (1), renewed documents \
                (2, 3), declined a place in Iecava (6, 7), was restored (8), then offered and granted Allaži \
                (6, 5). Later moved to VSAC \"Rīga\" filiāle \"Ezerkrasti\" by a second application (4, 9, 10).",
    },
    Showcase {
        person_code: "020761-12340",
        name: "Aivars Ozoliņš",
        story: "Applied to Pansionāts \"Liepas\", was asked by letter for a missing document (15), never \
                submitted it and was refused (14). Never queued.",
    },
    Showcase {
        person_code: "231188-13456",
        name: "Līga Vītola",
        story: "Born 1988, represented by her mother. Granted ISAR-RV at VSAC \"Latgale\" filiāle \"Kalkūni\" \
                (1, 6, 5), then moved to a halfway house (11, 12) and later to a group apartment (11, 13).",
    },
];

/// A valid personal code the demo register knows nothing about.
pub const NO_RECORDS_PERSON_CODE: &str = "051230-10106";

/// No generated date lies after this day: the register looks the same whenever it is made.
pub const DATA_HORIZON: &str = "2026-11-01";

/// Fills a new (or empty) register at `path` with the showcase persons and random ones,
/// `options.persons` in all. Creates and migrates the file; refuses a register that already
/// holds persons. On failure nothing is committed (delete the file if the process was killed).
pub fn seed_sqlite(path: &Path, options: &DemoOptions) -> Result<DemoReport, StoreError> {
    let started = Instant::now();
    let mut conn = sqlite::open_writer(path)?;
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
        for sql in &indexes {
            tx.execute_batch(sql).map_err(error("seed: rebuild the indexes"))?;
        }
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
pub fn seed_postgres(url: &str, database: &postgres::PostgresOptions, options: &DemoOptions) -> Result<DemoReport, StoreError> {
    let started = Instant::now();
    if postgres::holds_persons(url, database)? {
        return Err(StoreError::Unavailable("seed: the register already holds persons; seed a new database".into()));
    }
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let staging = std::env::temp_dir().join(format!("spolis-seed-{}-{nanos}.sqlite3", std::process::id()));
    let seeded = seed_sqlite(&staging, options)
        .and_then(|report| postgres::import_sqlite_register(url, database, &staging).map(|_| report));
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = staging.clone().into_os_string();
        name.push(suffix);
        let _ = std::fs::remove_file(name);
    }
    seeded.map(|report| DemoReport { elapsed: started.elapsed(), ..report })
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

// ---------------------------------------------------------------------------------------
// Reference data.

const ISAR_P: usize = 0;
const ISAR_B: usize = 1;
const ISAR_RV: usize = 2;
const PUSCELA: usize = 3;
const GRUPU_DZ: usize = 4;

/// Service kinds (code, name); the row id is the index + 1.
const SERVICE_KINDS: [(&str, &str); 5] = [
    ("ISAR-P", "Ilgstošās sociālās aprūpes un sociālās rehabilitācijas institūcija pilngadīgām personām"),
    ("ISAR-B", "Ilgstošās sociālās aprūpes un sociālās rehabilitācijas institūcija bērniem"),
    (
        "ISAR-RV",
        "Ilgstošās sociālās aprūpes un sociālās rehabilitācijas institūcija personām ar smagiem garīga rakstura traucējumiem",
    ),
    ("PUSCELA", "Pusceļa māja"),
    ("GRUPU-DZ", "Grupu dzīvoklis"),
];

const P: u8 = 1 << ISAR_P;
const B: u8 = 1 << ISAR_B;
const RV: u8 = 1 << ISAR_RV;
const PM: u8 = 1 << PUSCELA;
const GD: u8 = 1 << GRUPU_DZ;

/// A provider: code, name, address, the service kinds it offers, how often it is asked for.
struct ProviderSeed {
    code: &'static str,
    name: &'static str,
    address: &'static str,
    kinds: u8,
    weight: u32,
}

const fn provider(code: &'static str, name: &'static str, address: &'static str, kinds: u8, weight: u32) -> ProviderSeed {
    ProviderSeed { code, name, address, kinds, weight }
}

/// State social care centres (VSAC branches) and contract organisations; the row id is the index + 1.
const PROVIDERS: &[ProviderSeed] = &[
    provider("VSAC-RIG-EZE", "VSAC \"Rīga\" filiāle \"Ezerkrasti\"", "Malienas iela 7, Rīga, LV-1064", P | RV, 30),
    provider("VSAC-RIG-JUG", "VSAC \"Rīga\" filiāle \"Jugla\"", "Juglas iela 27, Rīga, LV-1064", P | RV, 20),
    provider("VSAC-RIG-TEI", "VSAC \"Rīga\" filiāle \"Teika\"", "Gaujas iela 19, Rīga, LV-1026", P, 18),
    provider("VSAC-RIG-PLA", "VSAC \"Rīga\" filiāle \"Pļavnieki\"", "Lielvārdes iela 141, Rīga, LV-1082", P | RV, 14),
    provider("VSAC-RIG-ROP", "VSAC \"Rīga\" filiāle \"Ropaži\"", "Rīgas iela 20, Ropaži, Ropažu novads, LV-2135", RV, 8),
    provider("VSAC-RIG-BAL", "VSAC \"Rīga\" filiāle \"Baldone\"", "Sporta iela 4, Baldone, Ķekavas novads, LV-2125", B, 4),
    provider("VSAC-RIG-JUR", "VSAC \"Rīga\" filiāle \"Jūrmala\"", "Dubultu prospekts 1, Jūrmala, LV-2015", B, 3),
    provider("VSAC-KUR-AIZ", "VSAC \"Kurzeme\" filiāle \"Aizpute\"", "Jaunā iela 16, Aizpute, Dienvidkurzemes novads, LV-3456", P | RV, 10),
    provider("VSAC-KUR-DUN", "VSAC \"Kurzeme\" filiāle \"Dundaga\"", "Talsu iela 2, Dundaga, Talsu novads, LV-3270", P, 5),
    provider("VSAC-KUR-ILG", "VSAC \"Kurzeme\" filiāle \"Iļģi\"", "Iļģi, Grobiņas pagasts, Dienvidkurzemes novads, LV-3430", RV, 5),
    provider("VSAC-KUR-LIE", "VSAC \"Kurzeme\" filiāle \"Liepāja\"", "Kalnu iela 5, Liepāja, LV-3401", P | B, 8),
    provider("VSAC-KUR-SAB", "VSAC \"Kurzeme\" filiāle \"Sabile\"", "Ventspils iela 30, Sabile, Talsu novads, LV-3294", P, 4),
    provider("VSAC-KUR-VEG", "VSAC \"Kurzeme\" filiāle \"Veģi\"", "Veģi, Valdgales pagasts, Talsu novads, LV-3251", RV, 3),
    provider("VSAC-LAT-KAL", "VSAC \"Latgale\" filiāle \"Kalkūni\"", "Slimnīcas iela 10, Kalkūni, Augšdaugavas novads, LV-5449", P | RV, 9),
    provider("VSAC-LAT-VIS", "VSAC \"Latgale\" filiāle \"Višķi\"", "Višķi, Višķu pagasts, Augšdaugavas novads, LV-5481", RV, 5),
    provider("VSAC-LAT-REZ", "VSAC \"Latgale\" filiāle \"Rēzekne\"", "Meža iela 5, Rēzekne, LV-4601", P | RV, 7),
    provider("VSAC-LAT-LIT", "VSAC \"Latgale\" filiāle \"Litene\"", "Litene, Litenes pagasts, Gulbenes novads, LV-4405", RV, 3),
    provider("VSAC-LAT-IST", "VSAC \"Latgale\" filiāle \"Istra\"", "Istra, Istras pagasts, Ludzas novads, LV-5745", P, 3),
    provider("VSAC-VID-ALL", "VSAC \"Vidzeme\" filiāle \"Allaži\"", "Allaži, Allažu pagasts, Siguldas novads, LV-2154", P | RV, 12),
    provider("VSAC-VID-RUJ", "VSAC \"Vidzeme\" filiāle \"Rūja\"", "Rūjiena, Valmieras novads, LV-4240", P, 5),
    provider("VSAC-VID-IER", "VSAC \"Vidzeme\" filiāle \"Ieriķi\"", "Ieriķi, Drabešu pagasts, Cēsu novads, LV-4139", RV, 4),
    provider("VSAC-VID-JAU", "VSAC \"Vidzeme\" filiāle \"Jaunlaicene\"", "Jaunlaicene, Jaunlaicenes pagasts, Alūksnes novads, LV-4338", P, 3),
    provider("VSAC-VID-VAL", "VSAC \"Vidzeme\" filiāle \"Valmiera\"", "Rīgas iela 46, Valmiera, LV-4201", P | RV, 8),
    provider("VSAC-ZEM-IEC", "VSAC \"Zemgale\" filiāle \"Iecava\"", "Rīgas iela 61, Iecava, Bauskas novads, LV-3913", P | RV, 9),
    provider("VSAC-ZEM-JEL", "VSAC \"Zemgale\" filiāle \"Jelgava\"", "Filozofu iela 40, Jelgava, LV-3001", P, 7),
    provider("VSAC-ZEM-LIE", "VSAC \"Zemgale\" filiāle \"Lielbērze\"", "Lielbērze, Auru pagasts, Dobeles novads, LV-3724", RV, 4),
    provider("VSAC-ZEM-KAL", "VSAC \"Zemgale\" filiāle \"Kalnciems\"", "Lielupes iela 2, Kalnciems, Jelgavas novads, LV-3016", P, 4),
    provider("VSAC-ZEM-TAU", "VSAC \"Zemgale\" filiāle \"Taurkalne\"", "Taurkalne, Vecumnieku pagasts, Bauskas novads, LV-3933", P | RV, 3),
    provider("LO-0101", "SIA \"Pansionāts Mežmalas\"", "Mežmalas iela 3, Ķekava, Ķekavas novads, LV-2123", P, 10),
    provider("LO-0102", "SIA \"Aprūpes nams Priedes\"", "Priežu iela 8, Saulkrasti, Saulkrastu novads, LV-2160", P, 8),
    provider("LO-0103", "SIA \"Senioru māja Ozollapas\"", "Ozolu iela 12, Ogre, Ogres novads, LV-5001", P, 6),
    provider("LO-0104", "nodibinājums \"Sociālās aprūpes centrs Saulrieti\"", "Saulrietu iela 2, Cēsis, Cēsu novads, LV-4101", P, 6),
    provider("LO-0105", "biedrība \"Gaismas māja\"", "Gaismas iela 4, Rīga, LV-1013", PM | GD, 6),
    provider("LO-0106", "biedrība \"Dzīvesprieks\"", "Zaļā iela 9, Jelgava, LV-3001", GD, 4),
    provider("LO-0107", "biedrība \"Rūpju bērns\"", "Rūpniecības iela 21, Ventspils, LV-3601", PM | GD, 3),
    provider("LO-0108", "nodibinājums \"Fonds Cerību tilts\"", "Cerību iela 7, Daugavpils, LV-5401", PM | GD, 3),
    provider("LO-0109", "SIA \"Latgales sociālās aprūpes centrs\"", "Atbrīvošanas aleja 90, Rēzekne, LV-4601", P, 4),
    provider("PP-0201", "Pansionāts \"Ābeļdārzs\"", "Ābeļu iela 15, Rīga, LV-1021", P, 22),
    provider("PP-0202", "Pansionāts \"Liepas\"", "Liepu iela 1, Talsi, Talsu novads, LV-3201", P, 5),
    provider("PP-0203", "Pansionāts \"Atvasara\"", "Atvasaras iela 3, Madona, Madonas novads, LV-4801", P, 4),
    provider("PP-0204", "Sociālās aprūpes centrs \"Kalnmuiža\"", "Kalnmuižas iela 2, Tukums, Tukuma novads, LV-3101", P, 4),
    provider("PP-0205", "Pansionāts \"Dzintarkrasts\"", "Jūras iela 40, Jūrmala, LV-2015", P, 6),
    provider("PP-0206", "Pansionāts \"Saulgrieži\"", "Skolas iela 5, Ikšķile, Ogres novads, LV-5052", P, 4),
    provider("PP-0207", "Pansionāts \"Daugava\"", "Rīgas iela 70, Daugavpils, LV-5401", P, 6),
];

/// A municipality: code, name, social service street address, town, postcode, e-mail
/// domain, and a weight (roughly its population share).
type MunicipalitySeed = (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str, u32);

/// The 43 municipalities since the 2021 administrative reform; the row id is the index + 1.
const MUNICIPALITIES: [MunicipalitySeed; 43] = [
    ("RIGA", "Rīgas valstspilsēta", "Baznīcas iela 19/23", "Rīga", "LV-1010", "riga", 300),
    ("DAUGAVPILS", "Daugavpils valstspilsēta", "Vienības iela 8", "Daugavpils", "LV-5401", "daugavpils", 40),
    ("JELGAVA", "Jelgavas valstspilsēta", "Pasta iela 47", "Jelgava", "LV-3001", "jelgava", 25),
    ("JURMALA", "Jūrmalas valstspilsēta", "Jomas iela 1/5", "Jūrmala", "LV-2015", "jurmala", 20),
    ("LIEPAJA", "Liepājas valstspilsēta", "Rožu iela 6", "Liepāja", "LV-3401", "liepaja", 30),
    ("REZEKNE", "Rēzeknes valstspilsēta", "Atbrīvošanas aleja 93", "Rēzekne", "LV-4601", "rezekne", 12),
    ("VENTSPILS", "Ventspils valstspilsēta", "Jūras iela 36", "Ventspils", "LV-3601", "ventspils", 14),
    ("AIZKRAUKLE", "Aizkraukles novads", "Lāčplēša iela 1a", "Aizkraukle", "LV-5101", "aizkraukle", 8),
    ("ALUKSNE", "Alūksnes novads", "Dārza iela 11", "Alūksne", "LV-4301", "aluksne", 5),
    ("AUGSDAUGAVA", "Augšdaugavas novads", "Rīgas iela 2", "Daugavpils", "LV-5401", "augsdaugava", 8),
    ("ADAZI", "Ādažu novads", "Gaujas iela 33a", "Ādaži", "LV-2164", "adazi", 5),
    ("BALVI", "Balvu novads", "Bērzpils iela 1a", "Balvi", "LV-4501", "balvi", 5),
    ("BAUSKA", "Bauskas novads", "Uzvaras iela 1", "Bauska", "LV-3901", "bauska", 10),
    ("CESIS", "Cēsu novads", "Raunas iela 4", "Cēsis", "LV-4101", "cesis", 12),
    ("DIENVIDKURZEME", "Dienvidkurzemes novads", "Lielā iela 76", "Grobiņa", "LV-3430", "dkn", 9),
    ("DOBELE", "Dobeles novads", "Brīvības iela 17", "Dobele", "LV-3701", "dobele", 7),
    ("GULBENE", "Gulbenes novads", "Ābeļu iela 2", "Gulbene", "LV-4401", "gulbene", 5),
    ("JELGAVAS-NOV", "Jelgavas novads", "Pasta iela 37", "Jelgava", "LV-3001", "jelgavasnovads", 7),
    ("JEKABPILS", "Jēkabpils novads", "Brīvības iela 120", "Jēkabpils", "LV-5201", "jekabpils", 11),
    ("KRASLAVA", "Krāslavas novads", "Rīgas iela 51", "Krāslava", "LV-5601", "kraslava", 6),
    ("KULDIGA", "Kuldīgas novads", "Baznīcas iela 1", "Kuldīga", "LV-3301", "kuldiga", 8),
    ("KEKAVA", "Ķekavas novads", "Gaismas iela 19", "Ķekava", "LV-2123", "kekava", 9),
    ("LIMBAZI", "Limbažu novads", "Rīgas iela 16", "Limbaži", "LV-4001", "limbazi", 7),
    ("LIVANI", "Līvānu novads", "Rīgas iela 77", "Līvāni", "LV-5316", "livani", 3),
    ("LUDZA", "Ludzas novads", "Raiņa iela 16", "Ludza", "LV-5701", "ludza", 6),
    ("MADONA", "Madonas novads", "Saieta laukums 1", "Madona", "LV-4801", "madona", 9),
    ("MARUPE", "Mārupes novads", "Daugavas iela 29", "Mārupe", "LV-2167", "marupe", 7),
    ("OGRE", "Ogres novads", "Brīvības iela 33", "Ogre", "LV-5001", "ogre", 12),
    ("OLAINE", "Olaines novads", "Zemgales iela 33", "Olaine", "LV-2114", "olaine", 4),
    ("PREILI", "Preiļu novads", "Kārsavas iela 4", "Preiļi", "LV-5301", "preili", 5),
    ("REZEKNES-NOV", "Rēzeknes novads", "Atbrīvošanas aleja 95a", "Rēzekne", "LV-4601", "rezeknesnovads", 8),
    ("ROPAZI", "Ropažu novads", "Institūta iela 1a", "Ulbroka", "LV-2130", "ropazi", 7),
    ("SALASPILS", "Salaspils novads", "Līvzemes iela 8", "Salaspils", "LV-2121", "salaspils", 5),
    ("SALDUS", "Saldus novads", "Striķu iela 3", "Saldus", "LV-3801", "saldus", 7),
    ("SAULKRASTI", "Saulkrastu novads", "Raiņa iela 8", "Saulkrasti", "LV-2160", "saulkrasti", 2),
    ("SIGULDA", "Siguldas novads", "Pils iela 16", "Sigulda", "LV-2150", "sigulda", 7),
    ("SMILTENE", "Smiltenes novads", "Dārza iela 3", "Smiltene", "LV-4729", "smiltene", 5),
    ("TALSI", "Talsu novads", "Kareivju iela 7", "Talsi", "LV-3201", "talsi", 10),
    ("TUKUMS", "Tukuma novads", "Talsu iela 4", "Tukums", "LV-3101", "tukums", 10),
    ("VALKA", "Valkas novads", "Semināra iela 9", "Valka", "LV-4701", "valka", 3),
    ("VALMIERA", "Valmieras novads", "Lāčplēša iela 2", "Valmiera", "LV-4201", "valmiera", 11),
    ("VARAKLANI", "Varakļānu novads", "Rīgas iela 13", "Varakļāni", "LV-4838", "varaklani", 1),
    ("VENTSPILS-NOV", "Ventspils novads", "Skolas iela 4", "Ventspils", "LV-3601", "ventspilsnovads", 3),
];

const MALE_NAMES: &[&str] = &[
    "Jānis", "Ēriks", "Kārlis", "Andris", "Ģirts", "Aivars", "Juris", "Pēteris", "Valdis", "Imants", "Gunārs",
    "Edgars", "Māris", "Uldis", "Ivars", "Raimonds", "Arvīds", "Voldemārs", "Viktors", "Oļegs", "Aleksandrs",
    "Gvido", "Ojārs", "Zigurds", "Dainis", "Egīls", "Kristaps", "Mārtiņš", "Rihards", "Ēvalds",
];

const FEMALE_NAMES: &[&str] = &[
    "Līga", "Ilze", "Zaiga", "Māra", "Ņina", "Ērika", "Anna", "Inese", "Dace", "Vija", "Rasma", "Skaidrīte",
    "Biruta", "Velta", "Austra", "Aina", "Gaida", "Lūcija", "Valentīna", "Zenta", "Ārija", "Ausma", "Daina",
    "Ligita", "Dzintra", "Ināra", "Ieva", "Kristīne", "Elīza", "Solvita",
];

/// Surnames as (masculine, feminine).
const SURNAMES: &[(&str, &str)] = &[
    ("Bērziņš", "Bērziņa"), ("Kalniņš", "Kalniņa"), ("Ozoliņš", "Ozoliņa"), ("Liepiņš", "Liepiņa"),
    ("Krūmiņš", "Krūmiņa"), ("Zariņš", "Zariņa"), ("Vītols", "Vītola"), ("Kļaviņš", "Kļaviņa"),
    ("Ābele", "Ābele"), ("Šmits", "Šmite"), ("Čakste", "Čakste"), ("Jansons", "Jansone"), ("Ozols", "Ozola"),
    ("Balodis", "Balode"), ("Kalējs", "Kalēja"), ("Pētersons", "Pētersone"), ("Eglītis", "Eglīte"),
    ("Lācis", "Lāce"), ("Siliņš", "Siliņa"), ("Vanags", "Vanaga"), ("Grīnbergs", "Grīnberga"),
    ("Zeltiņš", "Zeltiņa"), ("Rozenbergs", "Rozenberga"), ("Freimanis", "Freimane"), ("Ivanovs", "Ivanova"),
    ("Petrovs", "Petrova"), ("Dzenis", "Dzene"), ("Strazdiņš", "Strazdiņa"), ("Kārkliņš", "Kārkliņa"),
    ("Ķēniņš", "Ķēniņa"), ("Žagars", "Žagare"), ("Avotiņš", "Avotiņa"), ("Sproģis", "Sproģe"),
    ("Skujiņš", "Skujiņa"),
];

const STREETS: &[&str] = &[
    "Brīvības iela", "Lāčplēša iela", "Krišjāņa Barona iela", "Dzirnavu iela", "Skolas iela", "Dārza iela",
    "Rīgas iela", "Meža iela", "Liepu iela", "Ezera iela", "Saules iela", "Pils iela", "Zaļā iela", "Ganību iela",
];

const KIND_MAIN: &str = "Sociālās aprūpes un rehabilitācijas pakalpojums";
const KIND_PROVIDER_CHANGE: &str = "Pakalpojuma sniedzēja maiņa";
const KIND_SERVICE_CHANGE: &str = "Pakalpojuma veida maiņa";

const DOC_APPLICATION: &str = "Iesniegums sociālā pakalpojuma saņemšanai";
const DOC_ASSESSMENT: &str = "Sociālā darba speciālista novērtējums par personas vajadzībām";
const DOC_GP: &str = "Ģimenes ārsta izziņa par veselības stāvokli";
const DOC_PSYCHIATRIST: &str = "Psihiatra atzinums";
const DOC_DISABILITY: &str = "Invaliditātes apliecības kopija";
const DOC_MUNICIPAL: &str = "Pašvaldības lēmums par pakalpojuma nepieciešamību";
const DOC_INCOME: &str = "Izziņa par personas ienākumiem";
const DOC_REPRESENTATIVE: &str = "Dokuments, kas apliecina likumiskā pārstāvja pilnvaras";
const DOC_CHANGE_PROVIDER: &str = "Iesniegums pakalpojuma sniedzēja maiņai";
const DOC_CHANGE_KIND: &str = "Iesniegums pakalpojuma veida maiņai";
const DOC_RENEWED: &str = "Aktualizēta ģimenes ārsta izziņa par veselības stāvokli";

/// Requests for additional documents (description, the document that answers it).
const REQUESTS: &[(&str, &str)] = &[
    ("Lūdzam iesniegt ģimenes ārsta izziņu par veselības stāvokli", DOC_GP),
    ("Lūdzam iesniegt psihiatra atzinumu", DOC_PSYCHIATRIST),
    ("Lūdzam iesniegt izziņu par personas ienākumiem", DOC_INCOME),
    ("Lūdzam iesniegt pašvaldības lēmumu par pakalpojuma nepieciešamību", DOC_MUNICIPAL),
];
const RENEWAL_REQUEST: &str = "Lūdzam atjaunot ģimenes ārsta izziņu par veselības stāvokli (derīga 12 mēnešus)";

/// Service kinds, providers and municipalities: ids are the table index + 1.
fn reference_data(conn: &Connection) -> Result<(), StoreError> {
    let what = error("seed: reference data");
    for (i, (code, name)) in SERVICE_KINDS.iter().enumerate() {
        conn.execute("INSERT INTO service_kinds VALUES (?1, ?2, ?3)", (i as i64 + 1, code, name))
            .map_err(&what)?;
    }
    for (i, p) in PROVIDERS.iter().enumerate() {
        conn.execute("INSERT INTO providers VALUES (?1, ?2, ?3, ?4)", (provider_id(i), p.code, p.name, p.address))
            .map_err(&what)?;
    }
    for (i, (code, name, street, town, postcode, domain, _)) in MUNICIPALITIES.iter().enumerate() {
        let address = format!("{street}, {town}, {postcode}");
        let phone = format!("+371 6{:07}", 3_000_000 + (mix(i as u64) % 7_000_000));
        let email = format!("socialais.dienests@{domain}.lv");
        conn.execute(
            "INSERT INTO municipalities VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            (i as i64 + 1, code, name, address, phone, email),
        )
        .map_err(&what)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Days, dates and randomness.

/// A day as a number of days since [`FIRST_DAY`]; all register dates are days in
/// `0..=horizon`, formatted once into [`Dates`].
type Day = i32;

/// The first day a register date may fall on, and the origin of [`Day`].
const FIRST_DAY: (i32, u32, u32) = (2014, 1, 1);

/// A calendar date from literal parts. Every literal in this file is a real date.
fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("literal dates in the demo register are real dates")
}

fn origin() -> NaiveDate {
    ymd(FIRST_DAY.0, FIRST_DAY.1, FIRST_DAY.2)
}

/// The day number of a date.
fn day(year: i32, month: u32, d: u32) -> Day {
    (ymd(year, month, d) - origin()).num_days() as Day
}

fn horizon() -> Day {
    let text = DATA_HORIZON.as_bytes();
    let part = |range: std::ops::Range<usize>| -> u32 {
        text[range].iter().fold(0, |acc, b| acc * 10 + u32::from(b - b'0'))
    };
    day(part(0..4) as i32, part(5..7), part(8..10))
}

/// Every register day formatted once as `YYYY-MM-DD`, with its year.
struct Dates {
    text: Vec<String>,
    year: Vec<i32>,
}

impl Dates {
    fn new() -> Self {
        let first = origin();
        let (text, year) = (0..=horizon())
            .map(|d| {
                let date = first + chrono::Days::new(d as u64);
                (sqlite::iso_date(date), date.year())
            })
            .unzip();
        Dates { text, year }
    }

    /// Days past the horizon are clamped to it (and before the origin to the origin).
    fn index(&self, d: Day) -> usize {
        (d.max(0) as usize).min(self.text.len() - 1)
    }

    fn text(&self, d: Day) -> &str {
        &self.text[self.index(d)]
    }

    fn year(&self, d: Day) -> i32 {
        self.year[self.index(d)]
    }
}

/// splitmix64: small, fast, and good enough to make demo data look random.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `low..=high`.
    fn between(&mut self, low: i32, high: i32) -> i32 {
        if high <= low {
            return low;
        }
        low + self.below((high - low + 1) as u64) as i32
    }

    fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// The splitmix64 finaliser: a good 64-bit hash.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A weighted choice among item indices.
struct Weighted {
    items: Vec<usize>,
    cumulative: Vec<u64>,
}

impl Weighted {
    fn new(pairs: impl IntoIterator<Item = (usize, u32)>) -> Self {
        let mut total = 0;
        let (items, cumulative) = pairs
            .into_iter()
            .map(|(item, weight)| {
                total += u64::from(weight);
                (item, total)
            })
            .unzip();
        Weighted { items, cumulative }
    }

    fn pick(&self, rng: &mut Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(1);
        let r = rng.below(total);
        let i = self.cumulative.partition_point(|&c| c <= r);
        self.items[i.min(self.items.len() - 1)]
    }
}

/// Hands out unique personal codes: old-format ones by birth date (a per-date counter
/// over the 1000 serials), new-format ones by a bijection of a counter. Showcase codes and
/// the no-records code are never handed out.
struct Codes {
    used_per_date: Vec<u16>,
    first_birth_date: NaiveDate,
    next_new: u64,
    reserved: Vec<String>,
}

impl Codes {
    fn new() -> Self {
        let first_birth_date = ymd(1900, 1, 1);
        let days = (ymd(2015, 1, 1) - first_birth_date).num_days() as usize;
        let reserved = SHOWCASE
            .iter()
            .map(|s| s.person_code)
            .chain([NO_RECORDS_PERSON_CODE])
            .map(|code| code.replace('-', ""))
            .collect();
        Codes { used_per_date: vec![0; days], first_birth_date, next_new: 0, reserved }
    }

    fn is_reserved(&self, code: &PersonalCode) -> bool {
        self.reserved.iter().any(|r| r == code.digits())
    }

    /// An unused old-format code for someone born on `birth` (or a day later, if all
    /// 1000 serials of that day are taken). `birth` must lie in 1900..2015.
    fn old_format(&mut self, mut birth: NaiveDate) -> PersonalCode {
        loop {
            let index = ((birth - self.first_birth_date).num_days() as usize).min(self.used_per_date.len() - 1);
            let used = u64::from(self.used_per_date[index]);
            if used >= 1000 {
                birth = birth.succ_opt().unwrap_or(birth);
                continue;
            }
            self.used_per_date[index] += 1;
            // Serials start at a per-date offset, so that codes do not all end in 000x.
            let serial = ((mix(index as u64) % 1000 + used) % 1000) as u32;
            match PersonalCode::old_format(birth, serial) {
                Some(code) if !self.is_reserved(&code) => return code,
                _ => continue,
            }
        }
    }

    /// An unused new-format code `32NNNN-NNNNN`.
    fn new_format(&mut self) -> PersonalCode {
        loop {
            // 3^18 is coprime with 10^9, so this visits every number below 10^9 once.
            let n = (self.next_new.wrapping_mul(387_420_489).wrapping_add(12_345_678)) % 1_000_000_000;
            self.next_new += 1;
            let code = PersonalCode::new_format(n);
            if !self.is_reserved(&code) {
                return code;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The writer: prepared inserts, ids and numbers.

#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    persons: u64,
    applications: u64,
    queue_events: u64,
}

/// Row ids and per-year sequence numbers. Ids are assigned here, not by SQLite, so that
/// children can reference their parent without a round trip.
#[derive(Default)]
struct Ids {
    representative: i64,
    application: i64,
    document: i64,
    request: i64,
    grant: i64,
    queue_decision: i64,
    event: i64,
    entry: i64,
    application_seq: [u32; 16],
    decision_seq: [u32; 16],
}

struct Writer<'t> {
    dates: &'t Dates,
    counts: Counts,
    ids: Ids,
    persons: Statement<'t>,
    representatives: Statement<'t>,
    applications: Statement<'t>,
    documents: Statement<'t>,
    requests: Statement<'t>,
    grants: Statement<'t>,
    queue_decisions: Statement<'t>,
    events: Statement<'t>,
    entries: Statement<'t>,
}

/// The person being written, and what belongs to them until they are finished.
struct Subject {
    id: i64,
    young: bool,
    birth_year: i32,
    municipality: usize,
    representative: Option<i64>,
    entries: Vec<Entry>,
}

/// A queue entry of the subject; written when the subject is finished, with its final state.
struct Entry {
    application: i64,
    provider: usize,
    kind: usize,
    since: Day,
    active: bool,
}

/// An application being written: its id and the queue it asks for.
#[derive(Clone, Copy)]
struct App {
    id: i64,
    kind: usize,
    provider: usize,
}

const fn provider_id(index: usize) -> i64 {
    index as i64 + 1
}

impl<'t> Writer<'t> {
    fn new(conn: &'t Connection, dates: &'t Dates) -> Result<Self, StoreError> {
        let prepare = |sql: &str| conn.prepare(sql).map_err(error("seed: prepare"));
        Ok(Writer {
            dates,
            counts: Counts::default(),
            ids: Ids::default(),
            persons: prepare("INSERT INTO persons VALUES (?1, ?2, ?3, ?4)")?,
            representatives: prepare("INSERT INTO legal_representatives VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?,
            applications: prepare("INSERT INTO applications VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")?,
            documents: prepare("INSERT INTO submitted_documents VALUES (?1, ?2, ?3, ?4)")?,
            requests: prepare("INSERT INTO document_requests VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?,
            grants: prepare("INSERT INTO grant_decisions VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?,
            queue_decisions: prepare("INSERT INTO queue_decisions VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?,
            events: prepare("INSERT INTO queue_events VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")?,
            entries: prepare("INSERT INTO queue_entries VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?,
        })
    }

    fn person(&mut self, code: &PersonalCode, first_name: &str, surname: &str) -> Result<i64, StoreError> {
        self.counts.persons += 1;
        let id = self.counts.persons as i64;
        self.persons
            .execute((id, code.digits(), first_name, surname))
            .map_err(error("seed: persons"))?;
        Ok(id)
    }

    fn representative(
        &mut self,
        first_name: &str,
        surname: &str,
        code: &PersonalCode,
        address: &str,
        phone: &str,
        email: Option<&str>,
    ) -> Result<i64, StoreError> {
        self.ids.representative += 1;
        let id = self.ids.representative;
        self.representatives
            .execute((id, first_name, surname, code.digits(), address, phone, email))
            .map_err(error("seed: legal representatives"))?;
        Ok(id)
    }

    fn application(
        &mut self,
        subject: &Subject,
        submitted: Day,
        kind_text: &str,
        kind: usize,
        provider: usize,
    ) -> Result<App, StoreError> {
        let dates = self.dates;
        self.ids.application += 1;
        self.counts.applications += 1;
        let id = self.ids.application;
        let year = dates.year(submitted);
        let seq = &mut self.ids.application_seq[(year - FIRST_DAY.0) as usize];
        *seq += 1;
        let number = format!("SPOLIS-IES-{year}-{seq:06}");
        self.applications
            .execute((
                id,
                subject.id,
                number,
                dates.text(submitted),
                kind_text,
                kind as i64 + 1,
                provider_id(provider),
                subject.municipality as i64 + 1,
                subject.representative,
            ))
            .map_err(error("seed: applications"))?;
        Ok(App { id, kind, provider })
    }

    fn document(&mut self, app: &App, title: &str, on: Day) -> Result<(), StoreError> {
        self.ids.document += 1;
        self.documents
            .execute((self.ids.document, app.id, title, self.dates.text(on)))
            .map_err(error("seed: submitted documents"))?;
        Ok(())
    }

    fn request(
        &mut self,
        app: &App,
        requested: Day,
        description: &str,
        due: Day,
        fulfilled: Option<Day>,
    ) -> Result<(), StoreError> {
        let dates = self.dates;
        self.ids.request += 1;
        self.requests
            .execute((
                self.ids.request,
                app.id,
                dates.text(requested),
                description,
                dates.text(due),
                fulfilled.map(|d| dates.text(d)),
            ))
            .map_err(error("seed: document requests"))?;
        Ok(())
    }

    /// A decision number `LM-<year>/<n>-<R|P|A>` (queue, grant, refusal).
    fn decision_number(&mut self, on: Day, kind: u8) -> String {
        let year = self.dates.year(on);
        let seq = &mut self.ids.decision_seq[(year - FIRST_DAY.0) as usize];
        *seq += 1;
        let suffix = match kind {
            5 | 10 | 12 | 13 => 'P',
            14 => 'A',
            _ => 'R',
        };
        format!("LM-{year}/{seq}-{suffix}")
    }

    /// Writes one queue event; returns its decision number when the kind is a decision.
    #[allow(clippy::too_many_arguments)]
    fn event(
        &mut self,
        subject: &Subject,
        app: &App,
        kind: u8,
        on: Day,
        service_kind: usize,
        preferred: Option<usize>,
        offered: Option<usize>,
        granted_on: Option<Day>,
    ) -> Result<Option<String>, StoreError> {
        let is_decision = matches!(kind, 1 | 5 | 8 | 9 | 10 | 11 | 12 | 13 | 14);
        let number = is_decision.then(|| self.decision_number(on, kind));
        let dates = self.dates;
        self.ids.event += 1;
        self.counts.queue_events += 1;
        self.events
            .execute((
                self.ids.event,
                subject.id,
                app.id,
                kind,
                dates.text(on),
                number.as_deref(),
                service_kind as i64 + 1,
                preferred.map(provider_id),
                offered.map(provider_id),
                None::<&str>,
                granted_on.map(|d| dates.text(d)),
            ))
            .map_err(error("seed: queue events"))?;
        Ok(number)
    }

    /// A plain event about the application's own queue.
    fn note(&mut self, subject: &Subject, app: &App, kind: u8, on: Day) -> Result<(), StoreError> {
        self.event(subject, app, kind, on, app.kind, Some(app.provider), None, None).map(drop)
    }

    /// An offer of a place (6) or the refusal of one (7).
    fn offer(&mut self, subject: &Subject, app: &App, kind: u8, on: Day, place: usize) -> Result<(), StoreError> {
        self.event(subject, app, kind, on, app.kind, Some(app.provider), Some(place), None).map(drop)
    }

    /// A decision to admit to the queue (1, 9 or 11): the event, the application's
    /// queue decision and an active queue entry from that day.
    fn admit(&mut self, subject: &mut Subject, app: &App, kind: u8, on: Day) -> Result<(), StoreError> {
        let number = self.event(subject, app, kind, on, app.kind, Some(app.provider), None, None)?;
        let dates = self.dates;
        self.ids.queue_decision += 1;
        self.queue_decisions
            .execute((
                self.ids.queue_decision,
                app.id,
                dates.text(on),
                number.as_deref().unwrap_or_default(),
                provider_id(app.provider),
                dates.text(on),
            ))
            .map_err(error("seed: queue decisions"))?;
        subject.entries.push(Entry { application: app.id, provider: app.provider, kind: app.kind, since: on, active: true });
        Ok(())
    }

    /// A decision granting a place (5, 10, 12 or 13): the event, the application's grant
    /// decision, and the end of waiting in the application's queues.
    fn grant(
        &mut self,
        subject: &mut Subject,
        app: &App,
        kind: u8,
        on: Day,
        place: usize,
        from: Day,
    ) -> Result<(), StoreError> {
        let number = self.event(subject, app, kind, on, app.kind, Some(app.provider), Some(place), Some(from))?;
        let dates = self.dates;
        self.ids.grant += 1;
        self.grants
            .execute((
                self.ids.grant,
                app.id,
                dates.text(on),
                number.as_deref().unwrap_or_default(),
                provider_id(place),
                dates.text(from),
            ))
            .map_err(error("seed: grant decisions"))?;
        leave_queues(subject, app);
        Ok(())
    }

    /// A decision of refusal (14); the application no longer waits.
    fn refuse(&mut self, subject: &mut Subject, app: &App, on: Day) -> Result<(), StoreError> {
        self.event(subject, app, 14, on, app.kind, Some(app.provider), None, None)?;
        leave_queues(subject, app);
        Ok(())
    }

    /// Writes the subject's queue entries with their final state.
    fn finish(&mut self, subject: Subject) -> Result<(), StoreError> {
        let dates = self.dates;
        for entry in subject.entries {
            self.ids.entry += 1;
            self.entries
                .execute((
                    self.ids.entry,
                    subject.id,
                    entry.application,
                    provider_id(entry.provider),
                    entry.kind as i64 + 1,
                    dates.text(entry.since),
                    i64::from(entry.active),
                ))
                .map_err(error("seed: queue entries"))?;
        }
        Ok(())
    }
}

fn leave_queues(subject: &mut Subject, app: &App) {
    for entry in subject.entries.iter_mut().filter(|e| e.application == app.id) {
        entry.active = false;
    }
}

// ---------------------------------------------------------------------------------------
// The generator: showcase persons and random life stories.

/// Ērika's two queues (ISAR-P), and how many random persons are made to wait in them
/// ahead of her, alternately.
const ERIKA_QUEUES: [&str; 2] = ["VSAC-RIG-EZE", "PP-0201"];
const ERIKA_NEIGHBOURS: u64 = 6;

/// How an application ended (as far as the data horizon reaches).
enum Outcome {
    Waiting,
    Refused(Day),
    Granted { on: Day, app: App },
}

struct Generator {
    seed: u64,
    codes: Codes,
    horizon: Day,
    /// Providers offering each service kind, weighted by how often they are asked for.
    providers: Vec<Weighted>,
    municipalities: Weighted,
    /// Per mille of random persons still waiting at the horizon.
    waiting_per_mille: u64,
}

impl Generator {
    fn new(seed: u64) -> Self {
        let providers = (0..SERVICE_KINDS.len())
            .map(|kind| {
                Weighted::new(
                    PROVIDERS
                        .iter()
                        .enumerate()
                        .filter(|(_, p)| p.kinds & (1 << kind) != 0)
                        .map(|(i, p)| (i, p.weight)),
                )
            })
            .collect();
        Generator {
            seed,
            codes: Codes::new(),
            horizon: horizon(),
            providers,
            municipalities: Weighted::new(MUNICIPALITIES.iter().enumerate().map(|(i, m)| (i, m.6))),
            waiting_per_mille: 350,
        }
    }

    /// About 6,000 persons wait at a time (DOMAIN.md); small registers get a third waiting
    /// so that their queues are not empty.
    fn set_waiting_share(&mut self, random_persons: u64) {
        self.waiting_per_mille = 6_000_000u64.checked_div(random_persons).map_or(350, |share| share.clamp(1, 350));
    }

    fn provider_index(code: &str) -> usize {
        PROVIDERS.iter().position(|p| p.code == code).expect("showcase providers are in PROVIDERS")
    }

    fn municipality_index(code: &str) -> usize {
        MUNICIPALITIES.iter().position(|m| m.0 == code).expect("showcase municipalities are in MUNICIPALITIES")
    }

    /// The fixed persons of [`SHOWCASE`], written first and always the same.
    fn showcase(&mut self, w: &mut Writer<'_>) -> Result<(), StoreError> {
        let code = |text: &str| PersonalCode::parse(text).expect("showcase codes are valid");
        let eze = Self::provider_index("VSAC-RIG-EZE");

        // Ērika Kalniņa: waits in two queues.
        let rep_code = self.codes.old_format(ymd(1968, 7, 22));
        let rep = w.representative(
            "Inese",
            "Liepiņa",
            &rep_code,
            "Brīvības iela 118-7, Rīga, LV-1001",
            "+371 29123456",
            Some("inese.liepina@inbox.lv"),
        )?;
        let id = w.person(&code(SHOWCASE[0].person_code), "Ērika", "Kalniņa")?;
        let mut s = Subject {
            id,
            young: false,
            birth_year: 1942,
            municipality: Self::municipality_index("RIGA"),
            representative: Some(rep),
            entries: Vec::new(),
        };
        let a = w.application(&s, day(2024, 9, 16), KIND_MAIN, ISAR_P, eze)?;
        for title in [DOC_APPLICATION, DOC_ASSESSMENT, DOC_MUNICIPAL, DOC_REPRESENTATIVE] {
            w.document(&a, title, day(2024, 9, 16))?;
        }
        w.note(&s, &a, 15, day(2024, 9, 30))?;
        w.request(&a, day(2024, 9, 30), REQUESTS[0].0, day(2024, 10, 30), Some(day(2024, 10, 14)))?;
        w.document(&a, DOC_GP, day(2024, 10, 14))?;
        w.admit(&mut s, &a, 1, day(2024, 10, 28))?;
        let aizpute = Self::provider_index("VSAC-KUR-AIZ");
        w.offer(&s, &a, 6, day(2025, 6, 10), aizpute)?;
        w.offer(&s, &a, 7, day(2025, 6, 13), aizpute)?;
        w.note(&s, &a, 8, day(2025, 6, 27))?;
        w.note(&s, &a, 2, day(2025, 10, 6))?;
        w.request(&a, day(2025, 10, 6), RENEWAL_REQUEST, day(2025, 11, 5), Some(day(2025, 10, 20)))?;
        w.document(&a, DOC_RENEWED, day(2025, 10, 20))?;
        w.note(&s, &a, 3, day(2025, 10, 20))?;
        let b = w.application(&s, day(2025, 2, 3), KIND_MAIN, ISAR_P, Self::provider_index("PP-0201"))?;
        for title in [DOC_APPLICATION, DOC_ASSESSMENT, DOC_GP, DOC_REPRESENTATIVE] {
            w.document(&b, title, day(2025, 2, 3))?;
        }
        w.admit(&mut s, &b, 1, day(2025, 2, 24))?;
        w.finish(s)?;

        // Jānis Bērziņš: declined one place, granted another, then changed provider.
        let id = w.person(&code(SHOWCASE[1].person_code), "Jānis", "Bērziņš")?;
        let mut s = Subject {
            id,
            young: false,
            birth_year: 1948,
            municipality: Self::municipality_index("SIGULDA"),
            representative: None,
            entries: Vec::new(),
        };
        let allazi = Self::provider_index("VSAC-VID-ALL");
        let a = w.application(&s, day(2019, 5, 6), KIND_MAIN, ISAR_P, allazi)?;
        for title in [DOC_APPLICATION, DOC_ASSESSMENT, DOC_GP, DOC_INCOME] {
            w.document(&a, title, day(2019, 5, 6))?;
        }
        w.admit(&mut s, &a, 1, day(2019, 6, 3))?;
        w.note(&s, &a, 2, day(2020, 5, 11))?;
        w.request(&a, day(2020, 5, 11), RENEWAL_REQUEST, day(2020, 6, 10), Some(day(2020, 5, 25)))?;
        w.document(&a, DOC_RENEWED, day(2020, 5, 25))?;
        w.note(&s, &a, 3, day(2020, 5, 25))?;
        let iecava = Self::provider_index("VSAC-ZEM-IEC");
        w.offer(&s, &a, 6, day(2020, 9, 14), iecava)?;
        w.offer(&s, &a, 7, day(2020, 9, 18), iecava)?;
        w.note(&s, &a, 8, day(2020, 10, 5))?;
        w.offer(&s, &a, 6, day(2021, 2, 15), allazi)?;
        w.grant(&mut s, &a, 5, day(2021, 2, 26), allazi, day(2021, 3, 8))?;
        let b = w.application(&s, day(2023, 4, 12), KIND_PROVIDER_CHANGE, ISAR_P, eze)?;
        w.document(&b, DOC_CHANGE_PROVIDER, day(2023, 4, 12))?;
        w.note(&s, &b, 4, day(2023, 4, 12))?;
        w.admit(&mut s, &b, 9, day(2023, 5, 2))?;
        w.grant(&mut s, &b, 10, day(2024, 1, 15), eze, day(2024, 2, 1))?;
        w.finish(s)?;

        // Aivars Ozoliņš: asked for a document, never sent it, refused.
        let id = w.person(&code(SHOWCASE[2].person_code), "Aivars", "Ozoliņš")?;
        let mut s = Subject {
            id,
            young: false,
            birth_year: 1961,
            municipality: Self::municipality_index("TALSI"),
            representative: None,
            entries: Vec::new(),
        };
        let a = w.application(&s, day(2023, 3, 13), KIND_MAIN, ISAR_P, Self::provider_index("PP-0202"))?;
        for title in [DOC_APPLICATION, DOC_ASSESSMENT] {
            w.document(&a, title, day(2023, 3, 13))?;
        }
        w.note(&s, &a, 15, day(2023, 3, 27))?;
        w.request(&a, day(2023, 3, 27), REQUESTS[0].0, day(2023, 4, 26), None)?;
        w.refuse(&mut s, &a, day(2023, 5, 15))?;
        w.finish(s)?;

        // Līga Vītola: institution, then a halfway house, then a group apartment.
        let rep_code = self.codes.old_format(ymd(1962, 4, 3));
        let rep = w.representative(
            "Dzintra",
            "Vītola",
            &rep_code,
            "Rīgas iela 31-4, Daugavpils, LV-5401",
            "+371 26455120",
            None,
        )?;
        let id = w.person(&code(SHOWCASE[3].person_code), "Līga", "Vītola")?;
        let mut s = Subject {
            id,
            young: true,
            birth_year: 1988,
            municipality: Self::municipality_index("AUGSDAUGAVA"),
            representative: Some(rep),
            entries: Vec::new(),
        };
        let kalkuni = Self::provider_index("VSAC-LAT-KAL");
        let a = w.application(&s, day(2020, 2, 10), KIND_MAIN, ISAR_RV, kalkuni)?;
        for title in [DOC_APPLICATION, DOC_ASSESSMENT, DOC_PSYCHIATRIST, DOC_DISABILITY, DOC_REPRESENTATIVE] {
            w.document(&a, title, day(2020, 2, 10))?;
        }
        w.admit(&mut s, &a, 1, day(2020, 3, 2))?;
        w.offer(&s, &a, 6, day(2020, 8, 17), kalkuni)?;
        w.grant(&mut s, &a, 5, day(2020, 8, 24), kalkuni, day(2020, 9, 1))?;
        let fund = Self::provider_index("LO-0108");
        let b = w.application(&s, day(2021, 5, 17), KIND_SERVICE_CHANGE, PUSCELA, fund)?;
        w.document(&b, DOC_CHANGE_KIND, day(2021, 5, 17))?;
        w.admit(&mut s, &b, 11, day(2021, 6, 7))?;
        w.grant(&mut s, &b, 12, day(2021, 11, 15), fund, day(2021, 12, 1))?;
        let c = w.application(&s, day(2023, 8, 21), KIND_SERVICE_CHANGE, GRUPU_DZ, fund)?;
        w.document(&c, DOC_CHANGE_KIND, day(2023, 8, 21))?;
        w.admit(&mut s, &c, 11, day(2023, 9, 4))?;
        w.grant(&mut s, &c, 13, day(2024, 3, 18), fund, day(2024, 4, 1))?;
        w.finish(s)
    }

    /// One random person and their applications. Person `index` always gets the same story.
    fn random_person(&mut self, w: &mut Writer<'_>, index: u64) -> Result<(), StoreError> {
        let mut rng = Rng::new(mix(self.seed ^ mix(index.wrapping_add(1))));
        // The first few random persons wait ahead of Ērika, so that her positions show
        // places ahead even in a small register.
        let neighbour = ERIKA_QUEUES.get(index as usize % ERIKA_QUEUES.len()).filter(|_| index < ERIKA_NEIGHBOURS);
        let young = neighbour.is_none() && rng.percent(18);
        let female = rng.percent(if young { 45 } else { 62 });
        let birth = if young {
            ymd(1970, 1, 1) + chrono::Days::new(rng.below(39 * 365))
        } else {
            ymd(1925, 1, 1) + chrono::Days::new(rng.below(41 * 365))
        };
        let code = if rng.percent(9) { self.codes.new_format() } else { self.codes.old_format(birth) };
        let surname = rng.pick(SURNAMES);
        let (first_name, surname) =
            if female { (*rng.pick(FEMALE_NAMES), surname.1) } else { (*rng.pick(MALE_NAMES), surname.0) };
        let municipality = self.municipalities.pick(&mut rng);
        let representative = if rng.percent(if young { 50 } else { 33 }) {
            Some(self.random_representative(w, &mut rng, birth, young, surname, municipality)?)
        } else {
            None
        };
        let id = w.person(&code, first_name, surname)?;
        let mut s = Subject { id, young, birth_year: birth.year(), municipality, representative, entries: Vec::new() };
        let waiting = rng.below(1000) < self.waiting_per_mille;
        if let Some(provider) = neighbour {
            let submitted = rng.between(day(2021, 1, 1), day(2024, 6, 30));
            self.main_application(w, &mut rng, &mut s, submitted, ISAR_P, Self::provider_index(provider), true)?;
        } else if waiting {
            self.waiting_story(w, &mut rng, &mut s)?;
        } else {
            self.closed_story(w, &mut rng, &mut s)?;
        }
        w.finish(s)
    }

    /// A relative: a child of an elderly person, a parent of a younger one.
    fn random_representative(
        &mut self,
        w: &mut Writer<'_>,
        rng: &mut Rng,
        birth: NaiveDate,
        young: bool,
        family: &str,
        municipality: usize,
    ) -> Result<i64, StoreError> {
        let years = if young { -rng.between(20, 35) } else { rng.between(20, 40) };
        let rep_birth = ymd((birth.year() + years).clamp(1930, 2004), birth.month(), 1)
            + chrono::Days::new(rng.below(27));
        let code = self.codes.old_format(rep_birth);
        let female = rng.percent(60);
        let pair = if rng.percent(65) {
            *SURNAMES.iter().find(|p| p.0 == family || p.1 == family).unwrap_or(rng.pick(SURNAMES))
        } else {
            *rng.pick(SURNAMES)
        };
        let (first_name, surname) =
            if female { (*rng.pick(FEMALE_NAMES), pair.1) } else { (*rng.pick(MALE_NAMES), pair.0) };
        let m = &MUNICIPALITIES[municipality];
        let address = format!(
            "{} {}-{}, {}, {}",
            rng.pick(STREETS),
            rng.between(1, 140),
            rng.between(1, 60),
            m.3,
            m.4
        );
        let phone = format!("+371 2{:07}", rng.below(10_000_000));
        let email = rng
            .percent(40)
            .then(|| format!("{}.{}@inbox.lv", ascii_lower(first_name), ascii_lower(surname)));
        w.representative(first_name, surname, &code, &address, &phone, email.as_deref())
    }

    /// A person no longer waiting: granted (perhaps changed later) or refused.
    fn closed_story(&mut self, w: &mut Writer<'_>, rng: &mut Rng, s: &mut Subject) -> Result<(), StoreError> {
        let last_submission = self.horizon - 490;
        let mut submitted = rng.between(day(2015, 1, 1), last_submission);
        for attempt in 0..3 {
            let kind = self.choose_kind(rng, s, submitted);
            let provider = self.providers[kind].pick(rng);
            match self.main_application(w, rng, s, submitted, kind, provider, false)? {
                Outcome::Refused(on) if attempt < 2 && rng.percent(40) => {
                    submitted = on + rng.between(60, 700);
                    if submitted > last_submission {
                        break;
                    }
                }
                Outcome::Granted { on, app } => {
                    let change = if s.young && app.kind == ISAR_RV { 25 } else { 8 };
                    if rng.percent(change) {
                        self.change(w, rng, s, on, &app, true)?;
                    }
                    break;
                }
                _ => break,
            }
        }
        Ok(())
    }

    /// A person waiting now: in one queue, in two, or for a change after an earlier grant.
    fn waiting_story(&mut self, w: &mut Writer<'_>, rng: &mut Rng, s: &mut Subject) -> Result<(), StoreError> {
        let last_submission = self.horizon - 60;
        let r = rng.below(100);
        if r < 12 {
            let submitted = rng.between(day(2015, 1, 1), day(2021, 12, 31));
            let kind = self.choose_kind(rng, s, submitted);
            let provider = self.providers[kind].pick(rng);
            match self.main_application(w, rng, s, submitted, kind, provider, false)? {
                Outcome::Granted { on, app } if on + 180 < self.horizon => {
                    return self.change(w, rng, s, on, &app, false);
                }
                // Refused, or granted too late for a change: they applied again and wait now.
                _ => {}
            }
        }
        let submitted = rng.between(day(2021, 1, 1), last_submission);
        let kind = self.choose_kind(rng, s, submitted);
        let provider = self.providers[kind].pick(rng);
        self.main_application(w, rng, s, submitted, kind, provider, true)?;
        if (12..24).contains(&r) && !s.young {
            // A second application to another provider, waiting in both queues.
            let second = (submitted + rng.between(0, 200)).min(last_submission);
            let other = self.other_provider(rng, kind, provider);
            if other != provider {
                self.main_application(w, rng, s, second, kind, other, true)?;
            }
        }
        Ok(())
    }

    fn choose_kind(&self, rng: &mut Rng, s: &Subject, submitted: Day) -> usize {
        if !s.young {
            return if rng.percent(92) { ISAR_P } else { ISAR_RV };
        }
        let year = FIRST_DAY.0 + submitted / 365;
        if year - s.birth_year < 18 {
            return ISAR_B;
        }
        match rng.below(100) {
            0..60 => ISAR_RV,
            60..80 => GRUPU_DZ,
            _ => PUSCELA,
        }
    }

    /// A provider of the same kind other than `current`, if one turns up.
    fn other_provider(&self, rng: &mut Rng, kind: usize, current: usize) -> usize {
        for _ in 0..8 {
            let p = self.providers[kind].pick(rng);
            if p != current {
                return p;
            }
        }
        current
    }

    /// An application for a service, from submission to its outcome (or the horizon if
    /// `waiting`): documents, maybe a letter asking for more, admission, waiting, grant or refusal.
    #[allow(clippy::too_many_arguments)]
    fn main_application(
        &mut self,
        w: &mut Writer<'_>,
        rng: &mut Rng,
        s: &mut Subject,
        submitted: Day,
        kind: usize,
        provider: usize,
        waiting: bool,
    ) -> Result<Outcome, StoreError> {
        let app = w.application(s, submitted, KIND_MAIN, kind, provider)?;
        w.document(&app, DOC_APPLICATION, submitted)?;
        w.document(&app, DOC_ASSESSMENT, submitted)?;
        let mut missing = Vec::with_capacity(2);
        for (title, present) in [
            (DOC_GP, rng.percent(75)),
            (DOC_MUNICIPAL, rng.percent(60)),
            (DOC_PSYCHIATRIST, kind == ISAR_RV || kind == PUSCELA),
            (DOC_DISABILITY, s.young || rng.percent(25)),
            (DOC_REPRESENTATIVE, s.representative.is_some()),
        ] {
            if present {
                w.document(&app, title, submitted + rng.between(0, 3))?;
            } else if title == DOC_GP || title == DOC_MUNICIPAL {
                missing.push(title);
            }
        }
        let mut t = submitted + rng.between(5, 20);
        if !missing.is_empty() && rng.percent(35) {
            let title = *rng.pick(&missing);
            let (description, _) = REQUESTS.iter().find(|r| r.1 == title).copied().unwrap_or(REQUESTS[0]);
            w.note(s, &app, 15, t)?;
            let due = t + 30;
            if !waiting && rng.percent(20) {
                w.request(&app, t, description, due, None)?;
                let on = due + rng.between(10, 40);
                w.refuse(s, &app, on)?;
                return Ok(Outcome::Refused(on));
            }
            let fulfilled = t + rng.between(4, 28);
            w.request(&app, t, description, due, Some(fulfilled))?;
            w.document(&app, title, fulfilled)?;
            t = fulfilled;
        }
        let decided = (t + rng.between(7, 35)).min(self.horizon);
        if !waiting && rng.percent(6) {
            w.refuse(s, &app, decided)?;
            return Ok(Outcome::Refused(decided));
        }
        w.admit(s, &app, 1, decided)?;
        if waiting {
            self.wait(w, rng, s, &app, decided, self.horizon)?;
            return Ok(Outcome::Waiting);
        }
        // Waits of a few months to four years; the outcome lies well before the horizon.
        let long = rng.percent(30);
        let wait = if long { rng.between(365, 1460) } else { rng.between(45, 365) };
        let end = (decided + wait).min(self.horizon - 60).max(decided + 30);
        self.wait(w, rng, s, &app, decided, end)?;
        if rng.percent(4) {
            w.refuse(s, &app, end)?;
            return Ok(Outcome::Refused(end));
        }
        let place = if rng.percent(85) { provider } else { self.other_provider(rng, kind, provider) };
        w.offer(s, &app, 6, end, place)?;
        let on = end + rng.between(3, 14);
        let from = on + rng.between(5, 25);
        let grant_kind = if kind == PUSCELA { 12 } else { 5 };
        w.grant(s, &app, grant_kind, on, place, from)?;
        Ok(Outcome::Granted { on, app })
    }

    /// Life in the queue between `from` and `until`: yearly document renewals (2, 3) and
    /// perhaps a place offered and declined (6, 7) with restoration to the queue (8).
    fn wait(
        &mut self,
        w: &mut Writer<'_>,
        rng: &mut Rng,
        s: &mut Subject,
        app: &App,
        from: Day,
        until: Day,
    ) -> Result<(), StoreError> {
        if until - from > 120 && rng.percent(25) {
            let offered = from + 30 + rng.between(0, until - from - 90);
            let place = self.other_provider(rng, app.kind, app.provider);
            w.offer(s, app, 6, offered, place)?;
            w.offer(s, app, 7, offered + rng.between(1, 7), place)?;
            w.note(s, app, 8, offered + rng.between(10, 30))?;
        }
        let mut renewal = from + rng.between(330, 400);
        while renewal < until {
            w.note(s, app, 2, renewal)?;
            let renewed = renewal + rng.between(7, 35);
            if renewed < until {
                w.request(app, renewal, RENEWAL_REQUEST, renewal + 30, Some(renewed))?;
                w.document(app, DOC_RENEWED, renewed)?;
                w.note(s, app, 3, renewed)?;
            } else {
                w.request(app, renewal, RENEWAL_REQUEST, renewal + 30, None)?;
            }
            renewal += rng.between(330, 400);
        }
        Ok(())
    }

    /// After a grant: a second application to change provider (4, 9, then 10) or, for a
    /// younger person in an institution, service kind (11, then 12 or 13). When `conclude`
    /// is false the person is still waiting for the change at the horizon.
    fn change(
        &mut self,
        w: &mut Writer<'_>,
        rng: &mut Rng,
        s: &mut Subject,
        granted: Day,
        granted_app: &App,
        conclude: bool,
    ) -> Result<(), StoreError> {
        let start = if conclude {
            let start = granted + rng.between(120, 900);
            if start + 45 + 500 + 30 > self.horizon {
                return Ok(());
            }
            start
        } else {
            rng.between(granted + 60, self.horizon - 60)
        };
        let admitted = start + rng.between(14, 45);
        let decided = admitted + rng.between(60, 500);
        if s.young && granted_app.kind == ISAR_RV && rng.percent(70) {
            let kind = if rng.percent(50) { PUSCELA } else { GRUPU_DZ };
            let provider = self.providers[kind].pick(rng);
            let app = w.application(s, start, KIND_SERVICE_CHANGE, kind, provider)?;
            w.document(&app, DOC_CHANGE_KIND, start)?;
            w.admit(s, &app, 11, admitted)?;
            if conclude {
                let grant_kind = if kind == PUSCELA { 12 } else { 13 };
                w.grant(s, &app, grant_kind, decided, provider, decided + rng.between(7, 30))?;
            }
        } else {
            let provider = self.other_provider(rng, granted_app.kind, granted_app.provider);
            let app = w.application(s, start, KIND_PROVIDER_CHANGE, granted_app.kind, provider)?;
            w.document(&app, DOC_CHANGE_PROVIDER, start)?;
            w.note(s, &app, 4, start)?;
            w.admit(s, &app, 9, admitted)?;
            if conclude {
                w.grant(s, &app, 10, decided, provider, decided + rng.between(7, 30))?;
            }
        }
        Ok(())
    }
}

/// Lower-case ASCII for an e-mail address: Latvian letters without their diacritics.
fn ascii_lower(text: &str) -> String {
    text.chars()
        .map(|c| match c.to_lowercase().next().unwrap_or(c) {
            'ā' => 'a',
            'č' => 'c',
            'ē' => 'e',
            'ģ' => 'g',
            'ī' => 'i',
            'ķ' => 'k',
            'ļ' => 'l',
            'ņ' => 'n',
            'š' => 's',
            'ū' => 'u',
            'ž' => 'z',
            other => other,
        })
        .collect()
}


#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::model::*;
    use crate::store::sqlite::{SqliteStore, DATABASE_FILE};

    struct Seeded {
        _dir: tempfile::TempDir,
        path: std::path::PathBuf,
        store: SqliteStore,
        report: DemoReport,
    }

    fn seeded(persons: u64, seed: u64) -> Seeded {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DATABASE_FILE);
        let report = seed_sqlite(&path, &DemoOptions { persons, seed }).unwrap();
        let store = SqliteStore::open(&path).unwrap();
        Seeded { _dir: dir, path, store, report }
    }

    fn raw(path: &Path) -> Connection {
        Connection::open(path).unwrap()
    }

    fn code(text: &str) -> PersonalCode {
        PersonalCode::parse(text).unwrap()
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    async fn ep115(store: &SqliteStore, person: &str, period: Period) -> ApplicationList {
        store.application_list(ApplicationQuery { person_code: code(person), period }).await.unwrap()
    }

    async fn ep116(
        store: &SqliteStore,
        person: &str,
        period: Period,
        service_kind: Option<&str>,
        provider: Option<&str>,
    ) -> QueueStatusList {
        store
            .queue_status_list(QueueStatusQuery {
                person_code: code(person),
                period,
                service_kind_code: service_kind.map(str::to_owned),
                provider_code: provider.map(str::to_owned),
            })
            .await
            .unwrap()
    }

    fn kinds(list: &QueueStatusList) -> Vec<u8> {
        list.events.iter().map(|e| e.kind.code()).collect()
    }

    #[test]
    fn seeds_the_requested_persons_with_valid_unique_codes_of_both_formats() {
        let db = seeded(1000, 7);
        assert_eq!(db.report.persons, 1000);
        assert_eq!(db.store.person_count().unwrap(), 1000);
        assert!(db.report.applications >= 1000 && db.report.queue_events > 2000, "{:?}", db.report);
        let conn = raw(&db.path);
        let mut stmt = conn.prepare("SELECT person_code, first_name || ' ' || surname FROM persons").unwrap();
        let rows: Vec<(String, String)> =
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
        let codes: Vec<PersonalCode> = rows.iter().map(|(c, _)| code(c)).collect();
        assert_eq!(codes.iter().collect::<BTreeSet<_>>().len(), 1000);
        let new_format = codes.iter().filter(|c| c.is_new_format()).count();
        assert!(new_format > 30 && new_format < 200, "{new_format} new-format codes");
        assert!(!codes.contains(&code(NO_RECORDS_PERSON_CODE)));
        assert!(rows.iter().any(|(_, name)| name.contains('ņ') || name.contains('ā')));
        // Representatives' codes are valid and are nobody else's.
        let mut stmt = conn.prepare("SELECT person_code FROM legal_representatives").unwrap();
        let reps: Vec<PersonalCode> =
            stmt.query_map([], |r| r.get::<_, String>(0)).unwrap().map(|c| code(&c.unwrap())).collect();
        assert!(reps.len() > 200, "{} representatives", reps.len());
        let all: BTreeSet<_> = codes.iter().chain(&reps).collect();
        assert_eq!(all.len(), codes.len() + reps.len());
    }

    #[test]
    fn every_event_kind_occurs_and_every_date_lies_in_the_register_years() {
        let db = seeded(1000, 7);
        let conn = raw(&db.path);
        let mut stmt = conn.prepare("SELECT DISTINCT kind FROM queue_events ORDER BY kind").unwrap();
        let found: Vec<u8> = stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
        assert_eq!(found, (1..=15).collect::<Vec<u8>>());
        // Every kind occurs among the random persons too, not only in the showcase.
        let random_kinds: i64 = conn
            .query_row("SELECT count(DISTINCT kind) FROM queue_events WHERE person_id > 4", [], |r| r.get(0))
            .unwrap();
        assert_eq!(random_kinds, 15);
        let (first, last): (String, String) = conn
            .query_row(
                "SELECT min(d), max(d) FROM (
                    SELECT submitted_on AS d FROM applications UNION ALL SELECT submitted_on FROM submitted_documents
                    UNION ALL SELECT requested_on FROM document_requests UNION ALL SELECT due_on FROM document_requests
                    UNION ALL SELECT fulfilled_on FROM document_requests WHERE fulfilled_on IS NOT NULL
                    UNION ALL SELECT decided_on FROM grant_decisions UNION ALL SELECT granted_from FROM grant_decisions
                    UNION ALL SELECT decided_on FROM queue_decisions UNION ALL SELECT event_date FROM queue_events
                    UNION ALL SELECT granted_on FROM queue_events WHERE granted_on IS NOT NULL
                    UNION ALL SELECT queued_since FROM queue_entries)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert!(first.as_str() >= "2015-01-01", "{first}");
        assert!(last.as_str() <= DATA_HORIZON, "{last}");
    }

    #[test]
    fn queues_have_realistic_lengths_and_references_hold() {
        let db = seeded(1000, 7);
        let conn = raw(&db.path);
        let (queues, longest, waiting): (i64, i64, i64) = conn
            .query_row(
                "SELECT count(*), max(n), (SELECT count(DISTINCT person_id) FROM queue_entries WHERE active = 1)
                 FROM (SELECT count(*) AS n FROM queue_entries WHERE active = 1 GROUP BY provider_id, service_kind_id)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert!(queues >= 20, "{queues} queues");
        assert!(longest >= 25, "longest queue {longest}");
        assert!((250..=450).contains(&waiting), "{waiting} persons waiting");
        let broken: i64 = conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
        assert_eq!(broken, 0);
    }

    #[tokio::test]
    async fn erika_waits_in_two_queues_with_persons_ahead() {
        let db = seeded(1000, 7);
        let erika = SHOWCASE[0].person_code;
        let status = ep116(&db.store, erika, Period::default(), None, None).await;
        let person = status.person.clone().unwrap();
        assert_eq!((person.first_name.as_str(), person.surname.as_str()), ("Ērika", "Kalniņa"));
        assert_eq!(kinds(&status), [15, 1, 1, 6, 7, 8, 2, 3]);
        assert_eq!(status.positions.len(), 2);
        for p in &status.positions {
            assert!(p.places_ahead > 0, "{p:?}");
            assert!(p.queue_length > p.places_ahead, "{p:?}");
        }
        // The positions agree with counting the queue by hand.
        let conn = raw(&db.path);
        for p in &status.positions {
            let mut stmt = conn
                .prepare(
                    "SELECT e.person_id, e.queued_since, e.id FROM queue_entries e
                     JOIN providers p ON p.id = e.provider_id JOIN service_kinds k ON k.id = e.service_kind_id
                     WHERE p.code = ?1 AND k.code = ?2 AND e.active = 1",
                )
                .unwrap();
            let mut queue: Vec<(i64, String, i64)> = stmt
                .query_map((&p.provider.code, &p.service_kind.code), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            queue.sort_by(|a, b| (&a.1, a.2).cmp(&(&b.1, b.2)));
            let mine = queue.iter().position(|e| e.0 == 1).unwrap();
            assert_eq!((p.places_ahead as usize, p.queue_length as usize), (mine, queue.len()));
        }
        let apps = ep115(&db.store, erika, Period::default()).await;
        assert_eq!(apps.applications.len(), 2);
        let first = &apps.applications[0];
        assert_eq!(first.submitted_on, date("2024-09-16"));
        assert_eq!(first.applicant, person);
        assert_eq!(first.municipality.name, "Rīgas valstspilsēta");
        let rep = first.legal_representative.as_ref().unwrap();
        assert!(rep.person_code.is_some() && rep.address.is_some() && rep.contacts.phone.is_some());
        assert_eq!(first.submitted_documents.len(), 6);
        assert_eq!(first.document_requests.len(), 2);
        assert_eq!(first.queue_decisions.len(), 1);
        assert!(first.grant_decisions.is_empty());
        assert_eq!(first.service_kind.code, "ISAR-P");
        assert!(first.application_number.starts_with("SPOLIS-IES-2024-"));
        assert!(first.queue_decisions[0].document_number.starts_with("LM-2024/"));
    }

    #[tokio::test]
    async fn janis_declined_a_place_was_granted_and_changed_provider() {
        let db = seeded(1000, 7);
        let janis = SHOWCASE[1].person_code;
        assert!(code(janis).is_new_format());
        let status = ep116(&db.store, janis, Period::default(), None, None).await;
        assert_eq!(kinds(&status), [1, 2, 3, 6, 7, 8, 6, 5, 4, 9, 10]);
        assert!(status.positions.is_empty());
        let declined = &status.events[4];
        assert_eq!(declined.offered_place.as_ref().unwrap().provider.code, "VSAC-ZEM-IEC");
        assert!(declined.decision_number.is_none());
        let granted = &status.events[7];
        assert_eq!(granted.granted_on, Some(date("2021-03-08")));
        assert!(granted.decision_number.as_deref().unwrap().ends_with("-P"));
        let apps = ep115(&db.store, janis, Period::default()).await;
        assert_eq!(apps.applications.len(), 2);
        assert_eq!(apps.applications[1].application_kind, KIND_PROVIDER_CHANGE);
        assert_eq!(apps.applications[1].grant_decisions[0].provider.code, "VSAC-RIG-EZE");
        assert_eq!(status.events[10].application_number.as_deref(), Some(apps.applications[1].application_number.as_str()));
    }

    #[tokio::test]
    async fn aivars_was_asked_for_a_document_and_refused() {
        let db = seeded(1000, 7);
        let status = ep116(&db.store, SHOWCASE[2].person_code, Period::default(), None, None).await;
        assert_eq!(kinds(&status), [15, 14]);
        assert!(status.positions.is_empty());
        let apps = ep115(&db.store, SHOWCASE[2].person_code, Period::default()).await;
        let app = &apps.applications[0];
        assert_eq!(app.document_requests.len(), 1);
        assert_eq!(app.document_requests[0].fulfilled_on, None);
        assert!(app.queue_decisions.is_empty() && app.grant_decisions.is_empty());
    }

    #[tokio::test]
    async fn liga_moved_to_a_halfway_house_then_a_group_apartment() {
        let db = seeded(1000, 7);
        let liga = SHOWCASE[3].person_code;
        let status = ep116(&db.store, liga, Period::default(), None, None).await;
        assert_eq!(kinds(&status), [1, 6, 5, 11, 12, 11, 13]);
        let halfway = ep116(&db.store, liga, Period::default(), Some("PUSCELA"), None).await;
        assert_eq!(kinds(&halfway), [11, 12]);
        assert!(halfway.events.iter().all(|e| e.service_kind.name == "Pusceļa māja"));
        let apps = ep115(&db.store, liga, Period::default()).await;
        assert_eq!(apps.applications.len(), 3);
        assert!(apps.applications[0].legal_representative.is_some());
    }

    #[tokio::test]
    async fn the_no_records_code_has_no_person_and_no_rows() {
        let db = seeded(1000, 7);
        let apps = ep115(&db.store, NO_RECORDS_PERSON_CODE, Period::default()).await;
        assert_eq!(apps, ApplicationList { person: None, applications: Vec::new() });
        let status = ep116(&db.store, NO_RECORDS_PERSON_CODE, Period::default(), None, None).await;
        assert_eq!(status, QueueStatusList { person: None, events: Vec::new(), positions: Vec::new() });
    }

    #[tokio::test]
    async fn the_period_narrows_applications_and_events_but_not_positions() {
        let db = seeded(1000, 7);
        let erika = SHOWCASE[0].person_code;
        let until_2024 = Period { from: None, till: Some(date("2024-12-31")) };
        let apps = ep115(&db.store, erika, until_2024).await;
        assert_eq!(apps.applications.len(), 1);
        assert_eq!(apps.applications[0].submitted_documents.len(), 6, "children come whatever their own date");
        let from_2025 = Period { from: Some(date("2025-02-03")), till: None };
        assert_eq!(ep115(&db.store, erika, from_2025).await.applications.len(), 1, "the start is inclusive");

        let year_2025 = Period { from: Some(date("2025-01-01")), till: Some(date("2025-12-31")) };
        let status = ep116(&db.store, erika, year_2025, None, None).await;
        assert_eq!(kinds(&status), [1, 6, 7, 8, 2, 3]);
        assert!(status.events.iter().all(|e| year_2025.contains(e.event_date)));
        assert_eq!(status.positions.len(), 2);
        let one_day = Period { from: Some(date("2025-06-13")), till: Some(date("2025-06-13")) };
        assert_eq!(kinds(&ep116(&db.store, erika, one_day, None, None).await), [7]);
    }

    #[tokio::test]
    async fn service_kind_and_provider_narrow_events_and_positions() {
        let db = seeded(1000, 7);
        let erika = SHOWCASE[0].person_code;
        let home = ep116(&db.store, erika, Period::default(), None, Some("PP-0201")).await;
        assert_eq!(kinds(&home), [1]);
        assert_eq!(home.positions.len(), 1);
        assert_eq!(home.positions[0].provider.code, "PP-0201");
        // A provider narrows on the offered place too.
        let aizpute = ep116(&db.store, erika, Period::default(), None, Some("VSAC-KUR-AIZ")).await;
        assert_eq!(kinds(&aizpute), [6, 7]);
        assert!(aizpute.positions.is_empty());
        let adults = ep116(&db.store, erika, Period::default(), Some("ISAR-P"), None).await;
        assert_eq!(adults.events.len(), 8);
        assert_eq!(adults.positions.len(), 2);
        let children = ep116(&db.store, erika, Period::default(), Some("ISAR-B"), None).await;
        assert!(children.person.is_some() && children.events.is_empty() && children.positions.is_empty());
        let unknown = ep116(&db.store, erika, Period::default(), None, Some("NO-SUCH")).await;
        assert!(unknown.person.is_some() && unknown.events.is_empty() && unknown.positions.is_empty());
    }

    /// Every row of every register table, in id order, as text.
    fn dump(path: &Path) -> Vec<String> {
        let conn = raw(path);
        let mut out = Vec::new();
        for table in [
            "service_kinds", "providers", "municipalities", "persons", "legal_representatives", "applications",
            "submitted_documents", "document_requests", "grant_decisions", "queue_decisions", "queue_events",
            "queue_entries",
        ] {
            let mut stmt = conn.prepare(&format!("SELECT * FROM {table} ORDER BY id")).unwrap();
            let columns = stmt.column_count();
            let mut rows = stmt.query([]).unwrap();
            while let Some(row) = rows.next().unwrap() {
                let values: Vec<String> = (0..columns).map(|i| format!("{:?}", row.get_ref(i).unwrap())).collect();
                out.push(format!("{table}: {}", values.join(" | ")));
            }
        }
        out
    }

    #[tokio::test]
    async fn the_same_options_give_the_same_register() {
        let a = seeded(400, 42);
        let b = seeded(400, 42);
        let c = seeded(400, 43);
        let (dump_a, dump_b, dump_c) = (dump(&a.path), dump(&b.path), dump(&c.path));
        assert_eq!(dump_a.len(), dump_b.len());
        assert!(dump_a == dump_b, "the same seed gave different rows");
        assert!(dump_a != dump_c, "another seed gave the same rows");
        for showcase in SHOWCASE {
            let period = Period::default();
            assert_eq!(ep115(&a.store, showcase.person_code, period).await, ep115(&b.store, showcase.person_code, period).await);
            let (x, y) = (
                ep116(&a.store, showcase.person_code, period, None, None).await,
                ep116(&b.store, showcase.person_code, period, None, None).await,
            );
            assert_eq!(x, y);
        }
    }

    #[test]
    fn a_register_that_holds_persons_is_not_seeded_again() {
        let db = seeded(10, 1);
        let err = seed_sqlite(&db.path, &DemoOptions { persons: 10, seed: 1 }).unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
        assert_eq!(db.store.person_count().unwrap(), 10);
    }

    #[tokio::test]
    async fn erika_has_places_ahead_even_in_a_small_register() {
        let db = seeded(20, 5);
        let status = ep116(&db.store, SHOWCASE[0].person_code, Period::default(), None, None).await;
        assert_eq!(status.positions.len(), 2);
        assert!(status.positions.iter().all(|p| p.places_ahead >= 3 && p.queue_length > p.places_ahead), "{:?}", status.positions);
    }

    #[test]
    fn a_tiny_register_still_holds_the_showcase() {
        let db = seeded(2, 1);
        assert_eq!(db.report.persons, SHOWCASE.len() as u64);
        let db = seeded(5, 1);
        assert_eq!(db.report.persons, 5);
    }

    #[test]
    fn no_query_scans_the_seeded_register() {
        let db = seeded(2000, 3);
        let conn = raw(&db.path);
        crate::store::sqlite::tests::assert_no_scans(&conn);
    }

    #[test]
    fn ascii_lower_strips_latvian_diacritics() {
        assert_eq!(ascii_lower("Ērika Ķēniņa Žagare"), "erika kenina zagare");
    }

    /// Measures seeding and answering: `SPOLIS_DEMO_PERSONS=100000 cargo test --release --lib seed_timing -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn seed_timing() {
        let persons = std::env::var("SPOLIS_DEMO_PERSONS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
        let dir = tempfile::tempdir().unwrap();
        // SPOLIS_DEMO_OUT keeps the register for a look with the sqlite3 shell.
        let path = std::env::var_os("SPOLIS_DEMO_OUT").map_or_else(|| dir.path().join(DATABASE_FILE), Into::into);
        let report = seed_sqlite(&path, &DemoOptions { persons, seed: 1 }).unwrap();
        let size = std::fs::metadata(&path).unwrap().len();
        eprintln!("{report:?}, {} MB", size / 1_000_000);
        let store = SqliteStore::open(&path).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let started = Instant::now();
        let rounds = 200;
        for _ in 0..rounds {
            for showcase in SHOWCASE {
                let period = Period::default();
                runtime.block_on(async {
                    ep115(&store, showcase.person_code, period).await;
                    ep116(&store, showcase.person_code, period, None, None).await;
                });
            }
        }
        eprintln!("EP115+EP116: {:?} per pair", started.elapsed() / (rounds * SHOWCASE.len() as u32));
        crate::store::sqlite::tests::assert_no_scans(&raw(&path));
    }
}
