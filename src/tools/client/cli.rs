//! The command-line arguments of `spolis-adapter client` and `spolis-adapter replay` (clap),
//! and running them: `main.rs` only names the subcommands and hands over here.
//!
//! Input: parsed arguments. Output: the process's exit status (0 answered / all equal,
//! 2 refused by the service, 1 any difference or failure). Builds its own small runtime;
//! never starts a server.

use std::path::PathBuf;

use anyhow::Context;
use chrono::NaiveDate;

use super::replay::{replay, ReplayOptions};
use super::request::{CallRequest, OperatorName, StatisticsRequest};
use super::transport::TlsFiles;
use super::{run_client, ClientCommand, OutputFormat};
use crate::contract::Service;
use crate::soap::SoapVersion;

/// The client's mutual-TLS identity and where the service is.
#[derive(Debug, Clone, clap::Args)]
pub struct Connection {
    /// The service's base URL, e.g. https://localhost:8443 (the operation's path is appended).
    #[arg(long)]
    pub url: String,
    /// The client certificate (PEM), registered with the service as a consumer.
    #[arg(long)]
    pub cert: PathBuf,
    /// The client certificate's private key (PEM).
    #[arg(long)]
    pub key: PathBuf,
    /// The CA certificate(s) (PEM) the server's certificate must chain to; no other CA is trusted.
    #[arg(long)]
    pub ca: PathBuf,
}

impl Connection {
    fn tls(&self) -> TlsFiles {
        TlsFiles { certificate: self.cert.clone(), private_key: self.key.clone(), ca: self.ca.clone() }
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ServiceArg {
    /// EP115 GetApplicationList: the person's applications and the decisions taken.
    Ep115,
    /// EP116 GetQueueStatusList: the person's queue events and current queue positions.
    Ep116,
    /// GetQueueStatistics: the queues' monthly statistics (no person; --months or --from-month/--till-month).
    Stats,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SoapArg {
    #[value(name = "1.1")]
    V11,
    #[value(name = "1.2")]
    V12,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// Readable text: the person, the applications or the queue events and positions.
    Table,
    /// The answer's SOAP envelope exactly as received.
    Xml,
    /// The element inside the SOAP Body as JSON; repeated elements are always arrays.
    Json,
    /// The printout (asks both EP115 and EP116; needs --output FILE).
    Pdf,
    /// --service stats: one line per queue and month, `;`-separated, for spreadsheets.
    Csv,
    /// --service stats: the persons waiting at each month's end as a line chart.
    Svg,
}

/// `spolis-adapter client`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Exit status: 0 answered, 2 refused by the service (the fault's or IVIS error's code is printed), 1 any other failure.\n\
Example: spolis-adapter client --url https://localhost:8443 --cert certs-example/riga.crt --key certs-example/riga.key \
--ca certs-example/ca.crt --service ep116 --person 150342-10121 --operator \"Anna Liepiņa 120379-10015\" \
--purpose \"Sociālo pakalpojumu un sociālās palīdzības likums, 9. pants\"")]
pub struct ClientArgs {
    #[command(flatten)]
    pub connection: Connection,
    /// Which e-service to call (with --format pdf both EP115 and EP116 are called).
    #[arg(long, value_enum)]
    pub service: ServiceArg,
    /// The personal code asked about (with or without the hyphen); not for --service stats.
    #[arg(long)]
    pub person: Option<String>,
    /// The operator asking: "First Surname PERSONAL-CODE" (several first names allowed).
    #[arg(long)]
    pub operator: String,
    /// Why the data are needed: the legal basis of the look-up (sent as Purpose/LegalBasis).
    #[arg(long)]
    pub purpose: String,
    /// The municipal social service's case the look-up is for (Purpose/CaseNumber).
    #[arg(long)]
    pub case_number: Option<String>,
    /// Show the register as it stood at the end of this day (YYYY-MM-DD): events and decisions
    /// up to it, queue positions as they were then. Today when absent.
    #[arg(long)]
    pub as_of: Option<NaiveDate>,
    /// SOAP version of the request.
    #[arg(long, value_enum, default_value = "1.1")]
    pub soap: SoapArg,
    /// Send the request inside the VISS IVIS envelope (IVISRequest) instead of plain.
    #[arg(long)]
    pub ivis: bool,
    /// How to show the answer.
    #[arg(long, value_enum, default_value = "table")]
    pub format: FormatArg,
    /// Write the output here instead of standard output (required for pdf).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Only applications submitted (EP115) / events dated (EP116) on or after this day (YYYY-MM-DD).
    #[arg(long)]
    pub from: Option<NaiveDate>,
    /// Only applications submitted / events dated on or before this day (YYYY-MM-DD).
    #[arg(long)]
    pub till: Option<NaiveDate>,
    /// EP116, stats: only this service kind (its code, e.g. ISAR).
    #[arg(long)]
    pub service_kind: Option<String>,
    /// EP116, stats: only this provider (its code, e.g. VSAC-RIG-EZE).
    #[arg(long)]
    pub provider: Option<String>,
    /// stats: the last N months, this month the last (1–36).
    #[arg(long, group = "months_or_range")]
    pub months: Option<u16>,
    /// stats: the first month (YYYY-MM); with --till-month.
    #[arg(long, requires = "till_month", group = "months_or_range")]
    pub from_month: Option<String>,
    /// stats: the last month (YYYY-MM); with --from-month.
    #[arg(long, requires = "from_month")]
    pub till_month: Option<String>,
    /// stats: only the persons of this municipality (its code, e.g. RIGA); by municipality.
    #[arg(long)]
    pub municipality: Option<String>,
    /// stats: one row per queue and municipality.
    #[arg(long)]
    pub by_municipality: bool,
}

/// `spolis-adapter replay`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Each *.xml request in SAMPLES_DIR is sent (SOAP version from its envelope, IVIS or plain and the path from its Body) \
and its answer compared with SAMPLES_DIR/expected/<name>.xml, ignoring MessageID, TimeStamp, ErrorId and the id quoted in IVIS error descriptions. \
Differences are shown as a unified diff of the pretty-printed XML. Exit status: 0 all equal, 1 any difference or failure.")]
pub struct ReplayArgs {
    #[command(flatten)]
    pub connection: Connection,
    /// The directory of sample requests.
    #[arg(default_value = "wsdl/samples")]
    pub samples_dir: PathBuf,
    /// Write the answers received as SAMPLES_DIR/expected/<name>.xml instead of comparing
    /// (against the demo: `spolis-adapter demo`).
    #[arg(long)]
    pub record: bool,
}

/// Runs `client`; returns the exit status.
pub fn client(args: ClientArgs) -> anyhow::Result<i32> {
    let operator = OperatorName::parse(&args.operator).map_err(|e| anyhow::anyhow!("--operator: {e}"))?;
    let statistics = matches!(args.service, ServiceArg::Stats);
    if !statistics && args.person.is_none() {
        anyhow::bail!("--person is required for ep115 and ep116");
    }
    if statistics && args.format == FormatArg::Pdf {
        anyhow::bail!("--format pdf is the person's printout; for --service stats use table, csv, svg or xml");
    }
    if !statistics && matches!(args.format, FormatArg::Csv | FormatArg::Svg) {
        anyhow::bail!("--format csv and svg are for --service stats");
    }
    let command = ClientCommand {
        url: args.connection.url.clone(),
        tls: args.connection.tls(),
        request: CallRequest {
            service: match args.service {
                ServiceArg::Ep115 => Service::Ep115,
                ServiceArg::Ep116 => Service::Ep116,
                ServiceArg::Stats => Service::QueueStatistics,
            },
            person_code: args.person.as_deref().unwrap_or_default().trim().to_string(),
            operator,
            from: args.from,
            till: args.till,
            as_of: args.as_of,
            legal_basis: args.purpose,
            case_number: args.case_number,
            service_kind_code: args.service_kind,
            provider_code: args.provider,
            soap: match args.soap {
                SoapArg::V11 => SoapVersion::V11,
                SoapArg::V12 => SoapVersion::V12,
            },
            ivis: args.ivis,
            statistics: StatisticsRequest {
                months_back: args.months,
                months: args.from_month.zip(args.till_month),
                municipality_code: args.municipality,
                by_municipality: args.by_municipality,
            },
        },
        format: match args.format {
            FormatArg::Table => OutputFormat::Table,
            FormatArg::Xml => OutputFormat::Xml,
            FormatArg::Json => OutputFormat::Json,
            FormatArg::Pdf => OutputFormat::Pdf,
            FormatArg::Csv => OutputFormat::Csv,
            FormatArg::Svg => OutputFormat::Svg,
        },
        output: args.output,
    };
    runtime()?.block_on(run_client(&command))
}

/// Runs `replay`; returns the exit status.
pub fn replay_samples(args: ReplayArgs) -> anyhow::Result<i32> {
    let options = ReplayOptions {
        url: args.connection.url.clone(),
        tls: args.connection.tls(),
        samples_dir: args.samples_dir,
        record: args.record,
    };
    let report = runtime()?.block_on(replay(&options, &mut std::io::stdout().lock()))?;
    Ok(if report.failed == 0 { 0 } else { 1 })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the async runtime")
}
