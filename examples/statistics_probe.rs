//! GetQueueStatistics at the store (BENCHMARKS.md): rebuilds the queue statistics of a
//! register file as an import does and times it, then times the store's answer — a year of
//! every queue, and the same by municipality — over many calls, without TLS, HTTP, XML,
//! signing or audit (the service adds those as for EP115/EP116).
//!
//!     cargo run --release --example statistics_probe -- bench/data/register-2000000/spolis.sqlite3

use spolis_adapter::model::{Month, QueueStatisticsQuery};
use spolis_adapter::store::sqlite::SqliteStore;

fn main() -> anyhow::Result<()> {
    let path = std::path::PathBuf::from(std::env::args().nth(1).ok_or_else(|| anyhow::anyhow!("usage: statistics_probe <spolis.sqlite3>"))?);
    let started = std::time::Instant::now();
    let cells = spolis_adapter::statistics::rebuild_sqlite_file(&path)?;
    println!("rebuilt: {cells} stored cells in {:.2} s", started.elapsed().as_secs_f64());
    let store = SqliteStore::open(&path)?;
    let till = Month::parse("2026-11").expect("a month");
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    runtime.block_on(async {
        for by_municipality in [false, true] {
            let query = QueueStatisticsQuery {
                from: till.plus(-11),
                till,
                service_kind_code: None,
                provider_code: None,
                municipality_code: None,
                by_municipality,
            };
            let mut times = Vec::new();
            let mut rows = 0;
            for _ in 0..50 {
                let call = std::time::Instant::now();
                rows = store.queue_statistics(query.clone()).await?.queues.len();
                times.push(call.elapsed().as_secs_f64() * 1e3);
            }
            times.sort_by(f64::total_cmp);
            println!(
                "a year, {}: {rows} rows × 12 months; p50 {:.2} ms, p90 {:.2} ms, max {:.2} ms per store call",
                if by_municipality { "by municipality" } else { "per queue" },
                times[times.len() / 2],
                times[times.len() * 9 / 10],
                times[times.len() - 1]
            );
        }
        anyhow::Ok(())
    })
}
