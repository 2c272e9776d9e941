//! The client's terminal output: an answer as readable text — the person, then each
//! application's point-12 fields, or the queue events and current positions as aligned
//! tables (with each position's expected wait and its basis); a refusal as its code, number
//! and messages.
//!
//! Input: a parsed [`Answer`]. Output: text (UTF-8, no terminal escapes). Shows what the
//! answer holds and nothing more; never reformats codes or numbers.

use std::fmt::Write;

use chrono::{DateTime, NaiveDate, Utc};

use super::answer::{Answer, Outcome, Payload};
use crate::model::{Application, ApplicationList, EstimatedWait, Person, QueueStatusList, WaitOutcome};

/// Renders an answer for a terminal.
pub fn render(answer: &Answer) -> String {
    let mut out = String::new();
    if let Some(ivis) = &answer.ivis {
        let _ = writeln!(out, "IVIS {} — {} (MessageID {})", ivis.result, ivis.message_type, ivis.message_id);
    }
    match &answer.outcome {
        Outcome::Answered(Payload::Applications(list)) => applications(&mut out, list),
        Outcome::Answered(Payload::QueueStatus(list)) => queue_status(&mut out, list),
        Outcome::Answered(Payload::Statistics(statistics)) => out.push_str(&super::statistics::table(statistics)),
        Outcome::Fault(fault) => {
            let _ = writeln!(out, "REFUSED (SOAP Fault {})", fault.fault_code);
            let _ = writeln!(
                out,
                "  code:     {} {}",
                fault.code.as_deref().unwrap_or("(no ServiceError detail)"),
                fault.number.as_deref().unwrap_or("")
            );
            let _ = writeln!(out, "  message:  {}", fault.reason);
            if let Some(lv) = &fault.message_lv {
                let _ = writeln!(out, "  ziņojums: {lv}");
            }
            if let Some(id) = &fault.error_id {
                let _ = writeln!(out, "  ErrorId:  {id}");
            }
        }
        Outcome::IvisFailure(errors) => {
            let _ = writeln!(out, "REFUSED (IVIS ErrorList)");
            for error in errors {
                let _ = writeln!(out, "  {} [{}]: {}", error.code, error.severity, error.description);
            }
        }
    }
    out
}

fn person_line(out: &mut String, person: Option<&Person>, what: &str, count: usize) {
    match person {
        Some(p) => {
            let _ = writeln!(out, "{} {}, personas kods {} — {count} {what}", p.first_name, p.surname, p.person_code);
        }
        None => {
            let _ = writeln!(out, "The register holds nothing about this personal code — {count} {what}");
        }
    }
}

/// "Dati uz 01.11.2026 02:00": when SPOLIS extracted the data, in this computer's local time
/// (as the printout's time of printing).
pub fn data_as_of(as_of: DateTime<Utc>) -> String {
    format!("Dati uz {}", as_of.with_timezone(&chrono::Local).format("%d.%m.%Y %H:%M"))
}

fn register_line(out: &mut String, as_of: Option<DateTime<Utc>>) {
    if let Some(as_of) = as_of {
        let _ = writeln!(out, "{}", data_as_of(as_of));
    }
}

fn applications(out: &mut String, list: &ApplicationList) {
    person_line(out, list.person.as_ref(), "application(s) (EP115)", list.applications.len());
    register_line(out, list.register_as_of);
    for application in &list.applications {
        application_block(out, application);
    }
}

fn application_block(out: &mut String, a: &Application) {
    let _ = writeln!(out, "\nIesniegums {} — iesnieguma datums {}", a.application_number, day(a.submitted_on));
    let mut field = |label: &str, value: String| {
        let _ = writeln!(out, "  {label:<22} {value}");
    };
    field("Iesnieguma veids:", a.application_kind.clone());
    field("Statuss:", format!("{} ({})", a.status.label(), a.status.code()));
    field("Pakalpojuma veids:", format!("{} ({})", a.service_kind.name, a.service_kind.code));
    if let Some(nature) = &a.problem_nature {
        field("Problēmas būtība:", format!("{} ({})", nature.name, nature.code));
    }
    if let Some(p) = &a.preferred_provider {
        field("Vēlamais sniedzējs:", format!("{} ({})", p.name, p.code));
    }
    field("Iesniedzējs:", format!("{} {}, {}", a.applicant.first_name, a.applicant.surname, a.applicant.person_code));
    if let Some(r) = &a.legal_representative {
        field("Likumiskais pārstāvis:", representative_line(r));
    }
    let m = &a.municipality;
    let mut municipality = format!("{} ({}), {}", m.name, m.code, m.address);
    for part in [m.contacts.phone.clone(), m.contacts.email.clone()].into_iter().flatten() {
        municipality.push_str(", ");
        municipality.push_str(&part);
    }
    field("Pašvaldība:", municipality);
    if !a.submitted_documents.is_empty() {
        let rows = a.submitted_documents.iter().map(|d| vec![day(d.submitted_on), d.title.clone()]).collect();
        section(out, "Iesniegtie dokumenti", &["Datums", "Dokuments"], rows);
    }
    if !a.document_requests.is_empty() {
        let rows = a
            .document_requests
            .iter()
            .map(|r| vec![day(r.requested_on), r.description.clone(), opt_day(r.due_on), opt_day(r.fulfilled_on)])
            .collect();
        section(out, "Papildu dokumentu pieprasījumi", &["Datums", "Apraksts", "Termiņš", "Izpildīts"], rows);
    }
    if !a.grant_decisions.is_empty() {
        let rows = a
            .grant_decisions
            .iter()
            .map(|d| vec![day(d.decided_on), d.document_number.clone(), d.provider.name.clone(), day(d.granted_from)])
            .collect();
        section(out, "Lēmumi par pakalpojuma piešķiršanu", &["Lēmuma datums", "Lēmuma Nr.", "Sniedzējs", "Piešķirts no"], rows);
    }
    if !a.queue_decisions.is_empty() {
        let rows = a
            .queue_decisions
            .iter()
            .map(|d| vec![day(d.decided_on), d.document_number.clone(), d.provider.name.clone(), day(d.queued_from)])
            .collect();
        section(out, "Lēmumi par uzņemšanu rindā", &["Lēmuma datums", "Lēmuma Nr.", "Sniedzējs", "Rindā no"], rows);
    }
    if !a.refusal_decisions.is_empty() {
        let rows = a
            .refusal_decisions
            .iter()
            .map(|d| vec![day(d.decided_on), d.document_number.clone(), d.reason.clone()])
            .collect();
        section(out, "Lēmumi par atteikumu", &["Lēmuma datums", "Lēmuma Nr.", "Atteikuma iemesls"], rows);
    }
}

fn queue_status(out: &mut String, list: &QueueStatusList) {
    person_line(out, list.person.as_ref(), "queue event(s) (EP116)", list.events.len());
    register_line(out, list.register_as_of);
    if !list.events.is_empty() {
        let rows = list
            .events
            .iter()
            .map(|e| {
                vec![
                    day(e.event_date),
                    format!("{:>2} {}", e.kind.code(), e.kind.label()),
                    e.decision_number.clone().unwrap_or_default(),
                    e.service_kind.code.clone(),
                    e.preferred_provider.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
                    e.offered_place.as_ref().map(|p| format!("{}, {}", p.provider.name, p.address)).unwrap_or_default(),
                    opt_day(e.granted_on),
                ]
            })
            .collect();
        section(
            out,
            "Rindas notikumi",
            &["Notikuma datums", "Notikuma statuss", "Lēmuma Nr.", "Pakalpojums", "Vēlamais SAC", "Piedāvātā vieta un adrese", "Piešķiršanas datums"],
            rows,
        );
    }
    let rows = list.positions.iter().map(position_row).collect::<Vec<_>>();
    if rows.is_empty() {
        let _ = writeln!(out, "\nRindas virzība: the person waits in no queue now.");
    } else {
        section(
            out,
            "Rindas virzība (current positions)",
            &["Pakalpojuma veids", "Sniedzējs", "Rindā no", "Priekšā", "Rindas garums", "Paredzamā gaidīšana"],
            rows,
        );
        for (provider, basis) in wait_bases(list) {
            let _ = writeln!(out, "    {provider}: {basis}");
        }
    }
}

/// The expected wait in a cell, in Latvian: "~4,5 mēn. (3,1–5,7)", "~1,5 mēn. (no 1,0)" when
/// the range has no upper end, "nepietiek datu" when the queue moved too little.
pub fn wait_cell(wait: Option<&EstimatedWait>) -> String {
    match wait.map(|w| w.outcome) {
        None => String::new(),
        Some(WaitOutcome::InsufficientData) => "nepietiek datu".to_string(),
        Some(WaitOutcome::Estimated { months, low, high: Some(high) }) => {
            format!("~{} mēn. ({}–{})", months.latvian(), low.latvian(), high.latvian())
        }
        Some(WaitOutcome::Estimated { months, low, high: None }) => format!("~{} mēn. (no {})", months.latvian(), low.latvian()),
    }
}

/// Each position's provider with the basis of its expected wait, as the service states it.
pub fn wait_bases(list: &QueueStatusList) -> impl Iterator<Item = (&str, &str)> {
    list.positions.iter().filter_map(|p| p.estimated_wait.as_ref().map(|w| (p.provider.name.as_str(), w.basis.as_str())))
}

/// A titled, aligned table.
fn section(out: &mut String, title: &str, headers: &[&str], rows: Vec<Vec<String>>) {
    let _ = writeln!(out, "\n  {title}");
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell}{}", " ".repeat(width.saturating_sub(cell.chars().count()))))
            .collect();
        format!("    {}", padded.join(" │ ").trim_end())
    };
    let _ = writeln!(out, "{}", line(headers.iter().map(|h| h.to_string()).collect()));
    let _ = writeln!(out, "    {}", widths.iter().map(|w| "─".repeat(*w)).collect::<Vec<_>>().join("─┼─"));
    for row in rows {
        let _ = writeln!(out, "{}", line(row));
    }
}

/// A legal representative in one line: name, then personal code, address, phone, e-mail
/// where known (terminal and printout).
pub fn representative_line(r: &crate::model::LegalRepresentative) -> String {
    let mut text = format!("{} {}", r.first_name, r.surname);
    for part in [r.person_code.map(|c| c.to_string()), r.address.clone(), r.contacts.phone.clone(), r.contacts.email.clone()]
        .into_iter()
        .flatten()
    {
        text.push_str(", ");
        text.push_str(&part);
    }
    text
}

/// One queue position as the cells of the "Rindas virzība" table (terminal and printout):
/// service kind, provider, queued since, places ahead, queue length, expected wait.
pub fn position_row(position: &crate::model::QueuePosition) -> Vec<String> {
    vec![
        position.service_kind.name.clone(),
        position.provider.name.clone(),
        day(position.queued_since),
        position.places_ahead.to_string(),
        position.queue_length.to_string(),
        wait_cell(position.estimated_wait.as_ref()),
    ]
}

/// Latvian date style, as on the printout: 04.12.2014.
pub fn day(date: NaiveDate) -> String {
    date.format("%d.%m.%Y").to_string()
}

fn opt_day(date: Option<NaiveDate>) -> String {
    date.map(day).unwrap_or_default()
}
