//! The `spolis-adapter` command: parses the command line and hands over to the library.
//! `demo` and `serve` start the service; the other subcommands are tools around it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio::net::TcpListener;

use chrono::{DateTime, Utc};

use spolis_adapter::audit::{self, export::ExportFilter, export::ExportFormat, AuditSigner};
use spolis_adapter::config::Config;
use spolis_adapter::identity;
use spolis_adapter::store::{import, sqlite};
use spolis_adapter::tools::demo_register::{self, DemoOptions};
use spolis_adapter::tools::{client, example_pki};
use spolis_adapter::{ops, register, server};

#[derive(Parser)]
#[command(name = "spolis-adapter", version, about = "SPOLIS EP115 GetApplicationList and EP116 GetQueueStatusList over SOAP and mutual TLS")]
struct Cli {
    /// Log format on standard error: human-readable text or one JSON object per line.
    #[arg(long, global = true, value_enum, default_value = "text", env = "SPOLIS_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Start on the embedded store with the example certificates, seeding demo data if the
    /// store does not exist yet.
    Demo {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8443")]
        listen: SocketAddr,
        /// Directory of the embedded store.
        #[arg(long, default_value = "data/demo")]
        data_dir: PathBuf,
        /// Directory holding ca.crt, server.crt/.key and consumers.toml.
        #[arg(long, default_value = "certs-example")]
        certs_dir: PathBuf,
        /// Persons to generate when the store is created.
        #[arg(long, default_value_t = 2000)]
        persons: u64,
        /// Address of the operations listener (/health, /ready, /metrics; plain HTTP).
        #[arg(long, default_value = "127.0.0.1:9090")]
        ops_listen: SocketAddr,
        /// Use PostgreSQL (`postgres://…`) instead of the embedded store, seeding it with the
        /// same demo data when its register is empty. The data directory keeps the audit key.
        #[arg(long, env = "SPOLIS_DATABASE_URL")]
        database_url: Option<String>,
        /// Append each signed audit checkpoint here (default `<data-dir>/audit-witness.log`).
        #[arg(long)]
        witness_file: Option<PathBuf>,
    },
    /// Start in production from a configuration file (see docs/CONFIGURATION.md).
    Serve {
        #[arg(long)]
        config: PathBuf,
        /// Address of the operations listener; overrides `ops_listen` in the file.
        #[arg(long)]
        ops_listen: Option<SocketAddr>,
        /// The PostgreSQL primary (`postgres://…`); overrides `database_url` in the file.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Check a configuration file and report every problem at once; exit 0 only if none.
    CheckConfig { file: PathBuf },
    /// Fill a new embedded store with deterministic demo data.
    SeedDemo {
        #[arg(long)]
        data_dir: PathBuf,
        /// Persons to generate (from a few to millions).
        #[arg(long, default_value_t = 2000)]
        persons: u64,
        /// Seed of the generator: the same seed and size give the same register.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Write a fresh set of example certificates and their consumer registry (never for production).
    GenCerts {
        #[arg(long, default_value = "certs-example")]
        out: PathBuf,
        /// Write only revoked.crt/.key and ca.crl, issued by the CA already in OUT (every
        /// other certificate and fingerprint stays).
        #[arg(long)]
        revocation_only: bool,
    },
    /// Print a PEM certificate's SHA-256 fingerprint, subject, issuer and serial, as the consumer registry matches them.
    CertInfo { file: PathBuf },
    /// Check, export or prune the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Import SPOLIS's register export, export the register, or show what it holds.
    #[command(subcommand)]
    Register(register_cli::RegisterCommand),
    /// Call EP115 or EP116 with a client certificate, operator and personal code; print the
    /// answer as a table, raw XML or JSON, or write the printout PDF.
    Client(client::cli::ClientArgs),
    /// Send the sample requests to a running service and compare the answers with the
    /// expected ones (or record them with --record).
    Replay(client::cli::ReplayArgs),
}

mod register_cli;

/// Where the audit log (and the register) is: the same way `demo` and `serve` find them.
#[derive(clap::Args)]
struct AuditLocation {
    /// The data directory (as given to `demo`); the log is `<dir>/audit.sqlite3`, the
    /// embedded register `<dir>/spolis.sqlite3`.
    #[arg(long, conflicts_with = "config")]
    data_dir: Option<PathBuf>,
    /// The configuration file (as given to `serve`).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The PostgreSQL primary holding the log (`postgres://…`), as given to `demo` or
    /// `serve`; overrides the file's. The signing key is still found by --data-dir/--config.
    #[arg(long, env = "SPOLIS_DATABASE_URL")]
    database_url: Option<String>,
}

impl AuditLocation {
    /// Where the log is, and the signing key.
    fn resolve(&self) -> anyhow::Result<(audit::AuditLocation, PathBuf)> {
        let config = self.config()?;
        Ok((config.audit_location()?, config.audit_signing_key()))
    }

    /// The register's store, as the service would open it.
    fn register_target(&self) -> anyhow::Result<spolis_adapter::register::Target> {
        let config = self.config()?;
        Ok(match config.postgres_url() {
            Some(url) => spolis_adapter::register::Target::Postgres { url: url.to_owned(), options: config.postgres_options()? },
            None => {
                spolis_adapter::private_files::create_dir(&config.data_dir).with_context(|| format!("cannot create {}", config.data_dir.display()))?;
                spolis_adapter::register::Target::Sqlite(config.data_dir.join(sqlite::DATABASE_FILE))
            }
        })
    }

    /// Where a register import is recorded: the audit log the service writes.
    fn provenance(&self) -> anyhow::Result<register_cli::AuditTrail> {
        let config = self.config()?;
        Ok(register_cli::AuditTrail { log: config.audit_location()?, environment: config.environment.to_string() })
    }

    /// The configuration the log is found by.
    fn config(&self) -> anyhow::Result<Config> {
        let mut config = match &self.config {
            Some(path) => Config::load(path)?,
            None => {
                // As `demo`: the SPOLIS_* overrides (database URL and TLS, say), then the flags.
                let mut config = Config::demo("127.0.0.1:0".parse()?, PathBuf::from("data/demo"), Path::new("."));
                config.apply_environment(|name| std::env::var(name).ok())?;
                if let Some(data_dir) = &self.data_dir {
                    config.data_dir = data_dir.clone();
                }
                config
            }
        };
        if let Some(url) = &self.database_url {
            config.backend = config.backend.with_primary(url.clone())?;
        }
        Ok(config)
    }
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the whole chain and every checkpoint signature; exit 0 only if all verifies.
    Verify {
        #[command(flatten)]
        location: AuditLocation,
        /// Trust this public key (hex, as in `audit-signing.key.pub`) instead of the one
        /// beside the signing key; keep a copy off the server and pass it here. Repeat it
        /// when several instances sign with keys of their own.
        #[arg(long)]
        public_key: Vec<PathBuf>,
        /// Also check the log against this witness file (a copy of the service's
        /// `audit-witness.log`, kept off the database's machine): the log must reach every
        /// head it names, with the same hash. Repeat it for each instance's witness.
        #[arg(long)]
        witness: Vec<PathBuf>,
        /// Check the RFC 3161 time-stamps in the witness files against this TSA CA
        /// certificate (PEM): each must verify, chain to it for time-stamping, and stamp a
        /// checkpoint line no later than its claimed signing time.
        #[arg(long, requires = "witness")]
        tsa_ca: Option<PathBuf>,
    },
    /// Write the records matching every given filter, in chain order.
    Export {
        #[command(flatten)]
        location: AuditLocation,
        /// Calls that asked about this personal code ("who looked at my data").
        #[arg(long)]
        person: Option<String>,
        /// Calls made by this operator (personal code).
        #[arg(long)]
        operator: Option<String>,
        /// Calls made by this consumer (id).
        #[arg(long)]
        consumer: Option<String>,
        /// Calls received at or after this time (RFC 3339).
        #[arg(long)]
        from: Option<DateTime<Utc>>,
        /// Calls received at or before this time (RFC 3339).
        #[arg(long)]
        till: Option<DateTime<Utc>>,
        /// Calls whose stated purpose holds this text: in its legal basis or its case number,
        /// letter case ignored (narrows the other filters; alone it reads the whole log).
        #[arg(long)]
        purpose: Option<String>,
        #[arg(long, value_enum, default_value = "csv")]
        format: Format,
        /// Write here instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Remove records older than the retention period, re-anchoring the chain at a signed checkpoint.
    Prune {
        #[command(flatten)]
        location: AuditLocation,
        /// Keep this many days of records.
        #[arg(long, default_value_t = 730)]
        retention_days: u32,
        /// Append the prune marker to this witness file instead of the configured one
        /// (`[audit] witness_file`, default `<data-dir>/audit-witness.log`).
        #[arg(long)]
        witness_file: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Csv,
    /// One JSON object per line.
    Json,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Json => logs.json().flatten_event(true).with_current_span(false).init(),
        LogFormat::Text => logs.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init(),
    }
    spolis_adapter::service::install_panic_hook();
    match cli.command {
        Command::Demo { listen, data_dir, certs_dir, persons, ops_listen, database_url, witness_file } => {
            spolis_adapter::private_files::create_dir(&data_dir).with_context(|| format!("cannot create {}", data_dir.display()))?;
            // The file-less demo takes `serve`'s SPOLIS_* overrides (database TLS, say); its flags win.
            let mut config = Config::demo(listen, data_dir.clone(), &certs_dir);
            config.apply_environment(|name| std::env::var(name).ok())?;
            let mut config = Config { listen, data_dir: data_dir.clone(), ops_listen: Some(ops_listen), ..config };
            if let Some(url) = database_url {
                config.backend = config.backend.with_primary(url)?;
            }
            if witness_file.is_some() {
                config.audit.witness_file = witness_file;
            }
            let json = cli.log_format == LogFormat::Json;
            let trail = register_cli::AuditTrail { log: config.audit_location()?, environment: config.environment.to_string() };
            match config.postgres_url() {
                Some(url) if !import::holds_persons(url, &config.postgres_options()?)? => {
                    let target = register::Target::Postgres { url: url.to_owned(), options: config.postgres_options()? };
                    seed(&target, &data_dir, persons, 1, json, &trail)?
                }
                Some(_) => {}
                None if !data_dir.join(sqlite::DATABASE_FILE).exists() => {
                    seed(&register::Target::Sqlite(data_dir.join(sqlite::DATABASE_FILE)), &data_dir, persons, 1, json, &trail)?
                }
                None => {}
            }
            let same = config.clone();
            start(config, move || Ok(same.clone()))
        }
        Command::Serve { config: path, ops_listen, database_url } => {
            let config = Config::load(&path)?;
            let mut config = Config { ops_listen: ops_listen.or(config.ops_listen), ..config };
            if let Some(url) = database_url {
                config.backend = config.backend.with_primary(url)?;
            }
            // SIGHUP re-reads the file: the registry, TLS files and signing key named in it.
            start(config, move || Ok(Config::load(&path)?))
        }
        Command::CheckConfig { file } => {
            let config = Config::load(&file)?;
            let problems = config.problems();
            if problems.is_empty() {
                println!("{}: no problems found", file.display());
                return Ok(());
            }
            for problem in &problems {
                eprintln!("{}: {problem}", file.display());
            }
            anyhow::bail!("{} problem(s) in {}", problems.len(), file.display())
        }
        Command::SeedDemo { data_dir, persons, seed: generator_seed } => {
            spolis_adapter::private_files::create_dir(&data_dir).with_context(|| format!("cannot create {}", data_dir.display()))?;
            // As `demo` would keep it: the audit log beside the register, environment `test`.
            let trail = register_cli::AuditTrail {
                log: audit::AuditLocation::Sqlite(data_dir.join(audit::sqlite::AUDIT_FILE)),
                environment: Config::demo("127.0.0.1:0".parse()?, data_dir.clone(), Path::new(".")).environment.to_string(),
            };
            seed(&register::Target::Sqlite(data_dir.join(sqlite::DATABASE_FILE)), &data_dir, persons, generator_seed, cli.log_format == LogFormat::Json, &trail)
        }
        Command::GenCerts { out, revocation_only: true } => {
            example_pki::generate_revocation_examples(&out)?;
            println!("{} written to {}", example_pki::REVOCATION_FILES.join(", "), out.display());
            Ok(())
        }
        Command::GenCerts { out, revocation_only: false } => {
            example_pki::generate_example_certificates(&out)?;
            println!("example certificates and consumers.toml written to {}", out.display());
            Ok(())
        }
        Command::CertInfo { file } => {
            println!("{}", identity::describe_certificate(&file)?);
            Ok(())
        }
        Command::Audit(command) => run_audit(command),
        Command::Register(command) => std::process::exit(register_cli::run(command, cli.log_format == LogFormat::Json)?),
        Command::Client(args) => std::process::exit(client::cli::client(args)?),
        Command::Replay(args) => std::process::exit(client::cli::replay_samples(args)?),
    }
}

fn run_audit(command: AuditCommand) -> anyhow::Result<()> {
    match command {
        AuditCommand::Verify { location, public_key, witness, tsa_ca } => {
            let config = location.config()?;
            let (database, signing_key) = (config.audit_location()?, config.audit_signing_key());
            let keys = if public_key.is_empty() { vec![audit::signing::public_key_path(&signing_key)] } else { public_key };
            let trusted = keys.iter().map(|path| audit::signing::read_public_key(path)).collect::<Result<Vec<_>, _>>()?;
            let mut options = audit::verify::VerifyOptions::new(&trusted);
            options.max_unsigned_age = Some(config.audit_max_unsigned_age());
            let mut result = Ok(());
            for path in &witness {
                match audit::verify::witnessed_heads(path, &trusted) {
                    Ok(heads) => options.expected_heads.extend(heads),
                    Err(problem) => {
                        result = Err(problem);
                        break;
                    }
                }
            }
            // Checking against the service's own witness proves less than against a copy kept elsewhere, but more than nothing.
            let own = config.audit_witness_file();
            let unwitnessed = match own.exists() {
                true => format!("no witness file given: check it against one with --witness {} (better, a copy kept off this machine)", own.display()),
                false => "no witness file given (--witness)".to_string(),
            };
            let verified = match result {
                Ok(()) => database.verify(&options)?,
                Err(problem) => Err(problem),
            };
            let stamps = match (&verified, &tsa_ca) {
                (Err(_), _) => String::new(),
                (Ok(_), Some(ca)) => {
                    let anchors = audit::timestamp::read_anchors(ca)?;
                    let (mut count, mut latest) = (0, None::<audit::timestamp::Stamped>);
                    for path in &witness {
                        match audit::timestamp::verify_file(path, &anchors) {
                            Ok((n, last)) => {
                                count += n;
                                if last.as_ref().is_some_and(|l| latest.as_ref().is_none_or(|m| l.gen_time > m.gen_time)) {
                                    latest = last;
                                }
                            }
                            Err(error) => {
                                eprintln!("audit log FAILED verification: {}", spolis_adapter::error::ErrorChain(&error));
                                std::process::exit(1);
                            }
                        }
                    }
                    match latest {
                        Some(latest) => format!("; {count} RFC 3161 time-stamps verified, the latest at {} by {}", latest.gen_time.to_rfc3339(), latest.tsa),
                        None => "; no RFC 3161 time-stamps in the witness".to_string(),
                    }
                }
                (Ok(_), None) => {
                    let mut count = 0usize;
                    for path in &witness {
                        let _ = audit::witness::visit(path, |_| Ok(()), |_| {
                            count += 1;
                            Ok(())
                        });
                    }
                    match count {
                        0 => String::new(),
                        n => format!("; {n} RFC 3161 time-stamps not checked (--tsa-ca)"),
                    }
                }
            };
            match verified {
                Ok(report) => {
                    println!(
                        "audit log verified: {} records (seq {}..{}), {} signed checkpoints, last at seq {}; {} records after it not yet signed; {}{stamps}; {:.1?}",
                        report.records,
                        report.first_seq.unwrap_or(0),
                        report.last_seq.unwrap_or(0),
                        report.checkpoints,
                        report.last_checkpoint_seq.unwrap_or(0),
                        report.unsigned_tail,
                        match (witness.len(), report.witnessed_up_to) {
                            (0, Some(seq)) => format!("reaches the head audit_head names (seq {seq}); {unwitnessed}"),
                            (0, None) => unwitnessed,
                            (files, up_to) => format!(
                                "reaches all {} heads named outside its checkpoints ({files} witness file(s)), up to seq {}",
                                report.witnessed,
                                up_to.unwrap_or(0)
                            ),
                        },
                        report.elapsed
                    );
                    Ok(())
                }
                Err(problem) => {
                    eprintln!("audit log FAILED verification at seq {}: {}", problem.seq, problem.message);
                    std::process::exit(1);
                }
            }
        }
        AuditCommand::Export { location, person, operator, consumer, from, till, purpose, format, output } => {
            let (database, _) = location.resolve()?;
            let filter = ExportFilter { person, operator, consumer, from, till, purpose };
            let format = match format {
                Format::Csv => ExportFormat::Csv,
                Format::Json => ExportFormat::Json,
            };
            let count = match output {
                Some(path) => {
                    let mut file = std::io::BufWriter::new(spolis_adapter::private_files::create(&path).with_context(|| format!("cannot create {}", path.display()))?);
                    database.export(&filter, format, &mut file)?
                }
                None => database.export(&filter, format, &mut std::io::stdout().lock())?,
            };
            eprintln!("{count} records exported");
            Ok(())
        }
        AuditCommand::Prune { location, retention_days, witness_file } => {
            let config = location.config()?;
            let (database, signing_key) = (config.audit_location()?, config.audit_signing_key());
            // The file only: this process ends before a command could be waited for.
            let witness = audit::Witness::new(Some(witness_file.unwrap_or_else(|| config.audit_witness_file())), &[]);
            if let audit::AuditLocation::Sqlite(path) = &database {
                if !path.exists() {
                    anyhow::bail!("no audit log at {}", path.display());
                }
            }
            let signer = AuditSigner::load_or_create(&signing_key)?;
            let cutoff = Utc::now() - chrono::Duration::days(i64::from(retention_days));
            let report = database.prune(&signer, cutoff, &witness)?;
            println!("{} records older than {} removed; chain anchored at seq {}", report.removed, cutoff.to_rfc3339(), report.anchored_at.map_or("-".to_string(), |s| s.to_string()));
            Ok(())
        }
    }
}

/// Fills `target` with the demo register through the one way in: the generator writes an
/// export into the data directory, `register import` loads it, the export is deleted.
fn seed(target: &register::Target, data_dir: &Path, persons: u64, generator_seed: u64, json: bool, trail: &register_cli::AuditTrail) -> anyhow::Result<()> {
    if let register::Target::Sqlite(path) = target {
        if path.exists() && register::state(target)?.counts.iter().any(|(table, n)| *table == "persons" && *n > 0) {
            anyhow::bail!("{} already holds persons; seed a new data directory (or use `register import`)", path.display());
        }
    }
    let export = data_dir.join(format!(".demo-export-{}.xml", std::process::id()));
    if !json {
        eprintln!("generating {persons} demo persons (seed {generator_seed})…");
    }
    let generated = demo_register::write_export(&export, &DemoOptions { persons, seed: generator_seed });
    let outcome = generated.map_err(anyhow::Error::from).and_then(|_| {
        register_cli::import_with_progress(target, &register::ImportOptions { files: vec![export.clone()], delta: false, dry_run: false }, json, trail)
    });
    let _ = std::fs::remove_file(&export);
    let outcome = outcome?;
    if register_cli::report(&outcome, json) != 0 {
        anyhow::bail!("the demo register could not be imported");
    }
    Ok(())
}

/// Serves until SIGINT/SIGTERM; on SIGHUP, `reread` gives the configuration to reload from.
fn start(config: Config, reread: impl Fn() -> anyhow::Result<Config> + Send + 'static) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let (audit_writer, audit_witness) = runtime.block_on(async move {
        let listener = TcpListener::bind(config.listen).await.with_context(|| format!("cannot listen on {}", config.listen))?;
        let local = listener.local_addr()?;
        // The demo may listen on port 0: tell the port actually bound.
        let public_url = match config.public_url.strip_suffix(":0") {
            Some(base) => format!("{base}:{}", local.port()),
            None => config.public_url.clone(),
        };
        let config = Config { public_url: public_url.clone(), ..config };
        let prepared = server::prepare(&config)?;
        let (ops_stop, ops_stopped) = tokio::sync::oneshot::channel::<()>();
        if let Some(ops_listen) = config.ops_listen {
            let ops_listener = TcpListener::bind(ops_listen).await.with_context(|| format!("cannot listen on {ops_listen}"))?;
            let ops = Arc::new(ops::Ops::new(prepared.app.clone()));
            println!("  operations: http://{}/health /ready /metrics", ops_listener.local_addr()?);
            tokio::spawn(ops::run(ops_listener, ops, async {
                let _ = ops_stopped.await;
            }));
        }
        tracing::info!(listen = %local, consumers = prepared.app.services.registry.current().len(), environment = %config.environment, "spolis-adapter started");
        println!("spolis-adapter listening on {public_url} (bound to {local}, {} environment)", config.environment);
        println!("  EP115: {public_url}/GetApplicationList   WSDL: {public_url}/GetApplicationList?wsdl");
        println!("  EP116: {public_url}/GetQueueStatusList   WSDL: {public_url}/GetQueueStatusList?wsdl");
        println!("  STATS: {public_url}/GetQueueStatistics   WSDL: {public_url}/GetQueueStatistics?wsdl");
        println!("  audit log: {}", config.audit_location()?.describe());
        spawn_reload_on_sighup(prepared.reloader.clone(), reread);
        server::run(listener, prepared.tls, prepared.app, shutdown_signal()).await?;
        let _ = ops_stop.send(());
        anyhow::Ok((prepared.audit_writer, prepared.audit_witness))
    })?;
    drop(runtime);
    // Every handle to the audit log is gone: the writer signs its last checkpoint and ends.
    let _ = audit_writer.join();
    // And the TSA gets a moment to stamp it.
    audit_witness.settle(std::time::Duration::from_secs(10));
    Ok(())
}

/// Reloads the consumer registry, TLS files and answer-signing key on each SIGHUP; a
/// configuration that does not load is refused with a log line and the old one stays.
fn spawn_reload_on_sighup(reloader: server::Reloader, reread: impl Fn() -> anyhow::Result<Config> + Send + 'static) {
    #[cfg(unix)]
    tokio::spawn(async move {
        let Ok(mut hangups) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else { return };
        while hangups.recv().await.is_some() {
            match reread().and_then(|config| Ok(reloader.reload(&config)?)) {
                Ok(summary) => tracing::info!(%summary, "configuration reloaded"),
                Err(error) => tracing::error!(error = %format!("{error:#}"), "reload refused; the previous configuration stays in force"),
            }
        }
    });
    #[cfg(not(unix))]
    let _ = (reloader, reread);
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutting down");
}
