//! Times `audit verify` on a synthetic SQLite audit log of a chosen size, which a benchmark
//! run's own log (a few hundred thousand records) is too small to judge the ≥ 1 M records/s
//! goal on. The log is written once, through the same insert and checkpoint code as the
//! service, and kept for later runs.
//!
//!     cargo run --release --example audit_verify_probe -- [records (default 1000000)] [dir]
//!
//! Prints, three times each, the sequential walk and the default (parallel hashing) walk.

use std::path::PathBuf;
use std::time::Instant;

use spolis_adapter::audit::record::AuditRecord;
use spolis_adapter::audit::sqlite::{insert_record, open_for_reading, open_for_writing};
use spolis_adapter::audit::verify::{verify_with, Parallelism};
use spolis_adapter::audit::sqlite::insert_signed_checkpoint;
use spolis_adapter::audit::AuditSigner;

/// A record of realistic size and shape: an EP116 call by a registered consumer's operator.
fn record(seq: i64) -> AuditRecord {
    AuditRecord {
        record_id: uuid::Uuid::now_v7(),
        received_at: chrono::DateTime::from_timestamp_micros(1_795_000_000_000_000 + seq * 1_000).unwrap_or_default(),
        message_id: Some(uuid::Uuid::new_v4().to_string()),
        consumer_name: Some("Rīgas valstspilsētas pašvaldības Sociālais dienests".into()),
        certificate_sha256: "7d".repeat(32),
        certificate_subject: "CN=SOPA Rīga,O=Rīgas valstspilsētas pašvaldība,C=LV".into(),
        client_ip: "10.20.30.40".into(),
        environment: "production".into(),
        service: "EP116".into(),
        person_code: Some(format!("{:011}", 10_000_000_000 + seq % 2_000_000)),
        records_returned: 7,
        processing_micros: 640,
        purpose_case_number: Some(format!("SD-2026/{}", seq % 100_000)),
        bulk_prepared_by: None,
        version: spolis_adapter::audit::record::RecordVersion::CURRENT,
        ..AuditRecord::example(seq)
    }
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let count: i64 = args.next().map_or(Ok(1_000_000), |n| n.parse())?;
    let dir = args.next().map_or_else(|| PathBuf::from(format!("bench/data/audit-{count}")), PathBuf::from);
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("audit.sqlite3");
    let signer = AuditSigner::load_or_create(&dir.join("audit-signing.key"))?;
    if !path.exists() {
        let started = Instant::now();
        let mut connection = open_for_writing(&path)?;
        let transaction = connection.transaction()?;
        let mut hash = [0u8; 32];
        for seq in 1..=count {
            let record = record(seq);
            let next = record.chain_hash(&hash);
            insert_record(&transaction, &record, &hash, &next)?;
            hash = next;
            // About one checkpoint per 5 s of a busy day's traffic.
            if seq % 10_000 == 0 || seq == count {
                insert_signed_checkpoint(&transaction, &signer, seq, &hash)?;
            }
        }
        transaction.commit()?;
        println!("wrote {count} records to {} in {:.1} s", path.display(), started.elapsed().as_secs_f64());
    }
    let keys = [signer.public_key().to_vec()];
    let connection = open_for_reading(&path)?;
    for _ in 0..3 {
        for (walk, parallelism) in [("sequential", Parallelism { threshold: i64::MAX, slice: 1 }), ("parallel", Parallelism::default())] {
            let started = Instant::now();
            let report = verify_with(&connection, &keys, parallelism).map_err(|problem| anyhow::anyhow!("{problem}"))?;
            let seconds = started.elapsed().as_secs_f64();
            println!("{walk:>10}: {} records in {seconds:.3} s = {:.2} M records/s", report.records, report.records as f64 / seconds / 1e6);
        }
    }
    Ok(())
}
