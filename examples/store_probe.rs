//! The store alone (BENCHMARKS.md): EP116 store calls for every person of a register, one
//! after another on one thread, without TLS, HTTP, XML, signing or audit. Prints the time per
//! call for each of three rounds. Under `valgrind --tool=callgrind` it gives instruction
//! counts, which — unlike times on this shared 2-core machine — repeat exactly, so a change
//! to the SQL or the row mapping can be judged by a few percent.
//!
//!     cargo run --release --example store_probe -- bench/data/register-10000/spolis.sqlite3 [PERSONS]
//!
//! With PERSONS, asks that many persons spread evenly over the register (to compare registers
//! of different sizes at the same number of calls).

use spolis_adapter::model::{Period, QueueStatusQuery};
use spolis_adapter::personal_code::PersonalCode;
use spolis_adapter::store::sqlite::SqliteStore;

fn main() -> anyhow::Result<()> {
    let path = std::path::PathBuf::from(std::env::args().nth(1).ok_or_else(|| anyhow::anyhow!("usage: store_probe <spolis.sqlite3>"))?);
    let codes: Vec<PersonalCode> = {
        let connection = rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let mut statement = connection.prepare("SELECT person_code FROM persons ORDER BY id")?;
        let codes = statement.query_map([], |row| row.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
        let asked: usize = std::env::args().nth(2).and_then(|n| n.parse().ok()).unwrap_or(codes.len()).clamp(1, codes.len().max(1));
        let step = (codes.len() / asked).max(1);
        codes.iter().step_by(step).take(asked).filter_map(|code| PersonalCode::parse(code).ok()).collect()
    };
    let store = SqliteStore::open(&path)?;
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    runtime.block_on(async {
        for round in 1..=3 {
            let started = std::time::Instant::now();
            let mut events = 0;
            for code in &codes {
                let query = QueueStatusQuery { person_code: *code, period: Period { from: None, till: None }, service_kind_code: None, provider_code: None, as_of: None, today: None };
                events += store.queue_status_list(query).await?.events.len();
            }
            let per_call = started.elapsed().as_secs_f64() * 1e6 / codes.len().max(1) as f64;
            println!("round {round}: {} persons, {events} events, {per_call:.1} µs per EP116 store call", codes.len());
        }
        Ok(())
    })
}
