//! Tools on the calling side of the service, for integrators and testers: `spolis-adapter
//! client` (call EP115 or EP116 with a certificate, operator and personal code; print the
//! answer as a table, raw XML or JSON, or write the printout PDF; or call GetQueueStatistics
//! and print its table, CSV or SVG chart) and `spolis-adapter replay`
//! (send the sample requests and compare the answers with the expected ones).
//!
//! Input: a service URL, a client certificate, key and CA, and what to ask. Output: text or a
//! file, and an exit status (0 answered, 2 refused by the service, 1 for any other failure).
//! The parts: `transport` (mutual TLS + HTTP/1.1), `request` (envelopes), `answer` (parsing
//! answers into the model types), `table` / `json` / `printout` + `pdf` / `statistics`
//! (output), `replay`.
//! Never prints personal data anywhere but the chosen output, and never trusts any CA but the
//! one given.

pub(crate) mod answer;
pub mod cli;
pub(crate) mod json;
pub(crate) mod pdf;
pub(crate) mod printout;
pub(crate) mod replay;
pub(crate) mod request;
pub(crate) mod statistics;
pub(crate) mod table;
pub(crate) mod transport;

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};

use crate::contract::Service;
use answer::{parse_answer, Answer, Outcome, Payload};
use request::CallRequest;
use transport::{Endpoint, HttpAnswer, TlsFiles};

/// Exit status when the service refused the call (a fault or an IVIS error list).
pub(crate) const EXIT_REFUSED: i32 = 2;

/// How `client` shows the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputFormat {
    Table,
    Xml,
    Json,
    Pdf,
    /// GetQueueStatistics only: for spreadsheets.
    Csv,
    /// GetQueueStatistics only: the waiting counts as a line chart.
    Svg,
}

/// One `spolis-adapter client` run.
pub(crate) struct ClientCommand {
    pub url: String,
    pub tls: TlsFiles,
    pub request: CallRequest,
    pub format: OutputFormat,
    pub output: Option<PathBuf>,
}

/// Runs the command; returns the process exit status.
pub(crate) async fn run_client(command: &ClientCommand) -> anyhow::Result<i32> {
    let endpoint = Endpoint::new(&command.url, &command.tls)?;
    if command.format == OutputFormat::Pdf {
        return write_printout(&endpoint, command).await;
    }
    let (http, answer) = call(&endpoint, &command.request).await?;
    let refused = answer.as_ref().map(|a| !matches!(a.outcome, Outcome::Answered(_))).unwrap_or(true);
    let text = match (command.format, &answer) {
        (OutputFormat::Xml, _) => String::from_utf8_lossy(&http.body).into_owned(),
        (OutputFormat::Json, Ok(answer)) => {
            let mut json = serde_json::to_string_pretty(&json::to_json(&answer.body_element))?;
            json.push('\n');
            json
        }
        (OutputFormat::Csv | OutputFormat::Svg, Ok(answer)) => match &answer.outcome {
            Outcome::Answered(Payload::Statistics(statistics)) if command.format == OutputFormat::Csv => statistics::csv(statistics),
            Outcome::Answered(Payload::Statistics(statistics)) => statistics::svg(statistics),
            Outcome::Answered(_) => bail!("--format csv and svg are for --service stats"),
            _ => table::render(answer),
        },
        (OutputFormat::Table | OutputFormat::Pdf, Ok(answer)) => match command.request.as_of {
            Some(as_of) => format!("Stāvoklis uz: {} (the register as it stood that day)\n{}", table::day(as_of), table::render(answer)),
            None => table::render(answer),
        },
        (_, Err(error)) => bail!("HTTP {}: {error:#}\n{}", http.status, String::from_utf8_lossy(&http.body)),
    };
    emit(command.output.as_ref(), text.as_bytes())?;
    if let Ok(answer) = &answer {
        if refused {
            eprintln!("refused: {} (HTTP {}{})", answer.error_code().unwrap_or_default(), http.status, call_id(&http));
        }
    }
    Ok(if refused { EXIT_REFUSED } else { 0 })
}

/// Calls the service; the answer parsed, or why it could not be.
pub(crate) async fn call(endpoint: &Endpoint, request: &CallRequest) -> anyhow::Result<(HttpAnswer, anyhow::Result<Answer>)> {
    let prepared = request.prepare();
    let http = endpoint
        .post(prepared.path, &prepared.content_type, prepared.soap_action.as_deref(), prepared.body.into_bytes())
        .await?;
    let answer = parse_answer(&http.body);
    Ok((http, answer))
}

/// `--format pdf`: asks both services and writes the printout.
async fn write_printout(endpoint: &Endpoint, command: &ClientCommand) -> anyhow::Result<i32> {
    let Some(output) = &command.output else {
        bail!("--format pdf writes a file: give --output FILE.pdf");
    };
    let mut applications = None;
    let mut queue = None;
    for service in [Service::Ep115, Service::Ep116] {
        let request = CallRequest { service, ..command.request.clone() };
        let (http, answer) = call(endpoint, &request).await?;
        let answer = answer.with_context(|| format!("{} answered HTTP {}", service.code(), http.status))?;
        match answer.outcome {
            Outcome::Answered(Payload::Applications(list)) => applications = Some(list),
            Outcome::Answered(Payload::QueueStatus(list)) => queue = Some(list),
            _ => {
                eprint!("{}", table::render(&answer));
                eprintln!("{} refused the call (HTTP {}{}); no printout written", service.code(), http.status, call_id(&http));
                return Ok(EXIT_REFUSED);
            }
        }
    }
    let (Some(applications), Some(queue)) = (applications, queue) else {
        bail!("a service answered with the other service's answer");
    };
    let pdf = printout::render(&printout::PrintoutInput {
        person_code: &command.request.person_code,
        applications: &applications,
        queue: &queue,
        operator_name: &command.request.operator.full_name(),
        as_of: command.request.as_of,
        printed_at: chrono::Local::now().naive_local(),
    })?;
    std::fs::write(output, &pdf).with_context(|| format!("cannot write {}", output.display()))?;
    eprintln!(
        "printout written to {} ({} applications, {} queue events, {} queue positions; {} bytes)",
        output.display(),
        applications.applications.len(),
        queue.events.len(),
        queue.positions.len(),
        pdf.len()
    );
    Ok(0)
}

fn call_id(http: &HttpAnswer) -> String {
    http.call_id.as_ref().map(|id| format!(", call id {id}")).unwrap_or_default()
}

fn emit(output: Option<&PathBuf>, bytes: &[u8]) -> anyhow::Result<()> {
    match output {
        Some(path) => std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display())),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(bytes)?;
            stdout.flush()?;
            Ok(())
        }
    }
}
