//! `spolis-adapter register …`: import SPOLIS's export, export the register, show its state.
//! Text for people (a progress bar on a terminal), one JSON object on standard output with
//! `--log-format json`.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;

use spolis_adapter::register::{self, ImportOptions, ImportOutcome, Progress};

use crate::AuditLocation;

#[derive(Subcommand)]
pub(crate) enum RegisterCommand {
    /// Check and import export files (xsd/RegisterExport.xsd): a full export replaces the
    /// register at once, a delta changes what it names. A file with any problem changes
    /// nothing; every problem is listed with file, line and element path (exit 1).
    Import {
        #[command(flatten)]
        location: AuditLocation,
        /// The files are deltas (without it, together one full export).
        #[arg(long)]
        delta: bool,
        /// Check only; change nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Write the register as a full export.
    Export {
        #[command(flatten)]
        location: AuditLocation,
        #[arg(long)]
        output: PathBuf,
    },
    /// The register's as-of time, its last import and its rows by entity.
    Status {
        #[command(flatten)]
        location: AuditLocation,
    },
}

/// Runs a register command; returns the exit code.
pub(crate) fn run(command: RegisterCommand, json: bool) -> anyhow::Result<i32> {
    match command {
        RegisterCommand::Import { location, delta, dry_run, files } => {
            let target = location.register_target()?;
            let provenance = location.provenance()?;
            let outcome = import_with_progress(&target, &ImportOptions { files, delta, dry_run }, json, &provenance)?;
            Ok(report(&outcome, json))
        }
        RegisterCommand::Export { location, output } => {
            let target = location.register_target()?;
            let started = std::time::Instant::now();
            let file = spolis_adapter::private_files::create(&output).with_context(|| format!("cannot create {}", output.display()))?;
            let counts = register::export(&target, std::io::BufWriter::with_capacity(1 << 20, file))?;
            match json {
                true => println!("{}", serde_json::json!({"output": output, "persons": counts.persons, "applications": counts.applications, "queue_events": counts.queue_events, "seconds": started.elapsed().as_secs_f64()})),
                false => eprintln!(
                    "{}: {} persons, {} applications, {} queue events in {:.1?}",
                    output.display(),
                    counts.persons,
                    counts.applications,
                    counts.queue_events,
                    started.elapsed()
                ),
            }
            Ok(0)
        }
        RegisterCommand::Status { location } => {
            let state = register::state(&location.register_target()?)?;
            if json {
                let counts: serde_json::Map<String, serde_json::Value> = state.counts.iter().map(|(t, n)| (t.to_string(), (*n).into())).collect();
                println!("{}", serde_json::json!({"as_of": state.last.as_ref().map(|l| &l.as_of), "last_import": state.last, "counts": counts}));
                return Ok(0);
            }
            match &state.last {
                None => println!("as of: never imported"),
                Some(last) => {
                    println!("as of: {}", last.as_of);
                    println!(
                        "last import: {} ({}) at {}, {} ms; batch {}; SHA-256 {}; files {}",
                        last.kind,
                        summary(&last.counts),
                        last.imported_at,
                        last.duration_ms,
                        last.batch_id,
                        last.file_digest,
                        last.files.replace('\n', ", ")
                    );
                }
            }
            for (table, count) in &state.counts {
                println!("  {table:<22} {count:>10}");
            }
            Ok(0)
        }
    }
}

/// Where an import's administrative record goes: the audit log the service writes, and the
/// environment it serves.
pub(crate) struct AuditTrail {
    pub(crate) log: spolis_adapter::audit::AuditLocation,
    pub(crate) environment: String,
}

/// Runs the import, with a progress bar when standard error is a terminal (and not JSON).
/// The import is recorded in `audit`'s log before it commits; if it cannot be, it changes
/// nothing.
pub(crate) fn import_with_progress(target: &register::Target, options: &ImportOptions, json: bool, audit: &AuditTrail) -> anyhow::Result<ImportOutcome> {
    let bar = (!json && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg:9} [{bar:30}] {percent:>3}%  {prefix} persons  {per_sec}  ETA {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar
    });
    let mut checking = None;
    let mut progress = |p: Progress| {
        let Some(bar) = &bar else { return };
        if checking != Some(p.checking) {
            checking = Some(p.checking);
            bar.reset();
            bar.set_length(p.total_bytes);
            bar.set_message(if p.checking { "checking" } else { "loading" });
        }
        bar.set_prefix(p.persons.to_string());
        bar.set_position(p.bytes);
    };
    let mut provenance = |entry: &register::ImportRecord| {
        let mut records = [entry.audit_record(&audit.environment)];
        audit.log.append_administrative(&mut records).map(|_| ()).map_err(|error| {
            spolis_adapter::store::StoreError::Unavailable(format!("import: the audit log ({}) cannot record the import: {error}", audit.log.describe()))
        })
    };
    let outcome = register::import(target, options, &mut progress, &mut provenance);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    Ok(outcome?)
}

fn summary(counts: &register::Counts) -> String {
    format!(
        "{} persons, {} applications, {} queue events, {} queue entries, {} deletions",
        counts.persons, counts.applications, counts.queue_events, counts.queue_entries, counts.deletions
    )
}

/// Prints the outcome; the exit code: 0 imported (or a clean dry run), 1 problems.
pub(crate) fn report(outcome: &ImportOutcome, json: bool) -> i32 {
    let code = if outcome.problems.is_empty() && outcome.record.is_some() { 0 } else { 1 };
    if json {
        println!("{}", serde_json::to_string(outcome).unwrap_or_default());
        return code;
    }
    for problem in &outcome.problems {
        eprintln!("{problem}");
    }
    if outcome.more_problems > 0 {
        eprintln!("… and {} more problems", outcome.more_problems);
    }
    match (&outcome.record, outcome.dry_run) {
        (None, _) if outcome.problems.is_empty() => eprintln!("nothing imported: no export header could be read"),
        (None, _) => eprintln!("{} problem(s); nothing was changed", outcome.problems.len() + outcome.more_problems),
        (Some(record), true) => eprintln!("dry run: no problems; a {} import as of {} would write {}", record.kind, record.as_of, summary(&record.counts)),
        (Some(record), false) => eprintln!(
            "imported ({}) as of {}: {} in {:.1} s; batch {}",
            record.kind,
            record.as_of,
            summary(&record.counts),
            record.duration_ms as f64 / 1000.0,
            record.batch_id
        ),
    }
    code
}
