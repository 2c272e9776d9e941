//! GetQueueStatistics over real mutual TLS: on a register built by hand whose every count is
//! known, in SOAP 1.1 and 1.2, plain and IVIS; who may call it; filters and period bounds;
//! what is withheld — and an outsider's attempt to compute a withheld number from everything
//! the answers publish, which must fail.
//!
//! The register (ISAR-P at two providers; months of 2025):
//! - VSAC-A: 8 persons of M1 admitted on 10 January, 5 of them granted in March (after 50, 54,
//!   59, 64 and 69 days); 3 of M2 admitted on 5 February; 6 of M3 admitted on 20 January, one
//!   refused on 10 April (so removed), the other 5 offered a place on 12 May, all declining
//!   it on 14 May and restored on 20 May;
//! - VSAC-B: 12 persons of M1 admitted on 1 February.

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::*;
use spolis_adapter::personal_code::PersonalCode;
use spolis_adapter::register::{self, ImportOptions, Target};
use spolis_adapter::store::sqlite;

const REGISTER_NS: &str = "http://ivis.eps.gov.lv/XMLSchemas/100001/LM-SPOLIS-Register/v1-0";

/// One person's history: municipality, provider, admitted on, and events after (kind, date).
struct History {
    municipality: &'static str,
    provider: &'static str,
    admitted: &'static str,
    later: Vec<(u8, &'static str)>,
    active: bool,
}

fn histories() -> Vec<History> {
    let mut all = Vec::new();
    let history = |municipality, provider, admitted, later: Vec<(u8, &'static str)>, active| History { municipality, provider, admitted, later, active };
    for grant in ["2025-03-01", "2025-03-05", "2025-03-10", "2025-03-15", "2025-03-20"] {
        all.push(history("M1", "VSAC-A", "2025-01-10", vec![(5, grant)], false));
    }
    for _ in 0..3 {
        all.push(history("M1", "VSAC-A", "2025-01-10", vec![], true));
    }
    for _ in 0..3 {
        all.push(history("M2", "VSAC-A", "2025-02-05", vec![], true));
    }
    all.push(history("M3", "VSAC-A", "2025-01-20", vec![(14, "2025-04-10")], false));
    for _ in 0..5 {
        all.push(history("M3", "VSAC-A", "2025-01-20", vec![(6, "2025-05-12"), (7, "2025-05-14"), (8, "2025-05-20")], true));
    }
    for _ in 0..12 {
        all.push(history("M1", "VSAC-B", "2025-02-01", vec![], true));
    }
    all
}

/// The hand-built register as a full export.
fn export() -> String {
    let mut persons = String::new();
    let mut event_id = 0;
    for (n, history) in histories().iter().enumerate() {
        let code = PersonalCode::new_format(1000 + n as u64);
        let number = format!("A-{n}");
        let mut events = String::new();
        for (kind, date) in std::iter::once((1u8, history.admitted)).chain(history.later.iter().copied()) {
            event_id += 1;
            let granted = if kind == 5 { format!("<GrantedOn>{date}</GrantedOn>") } else { String::new() };
            events.push_str(&format!(
                "<QueueEvent><EventId>{event_id}</EventId><Kind>{kind}</Kind><EventDate>{date}</EventDate><ApplicationNumber>{number}</ApplicationNumber><ServiceKind>ISAR-P</ServiceKind><PreferredProvider>{}</PreferredProvider>{granted}</QueueEvent>",
                history.provider
            ));
        }
        persons.push_str(&format!(
            "<Person><PersonCode>{code}</PersonCode><FirstName>Test</FirstName><Surname>Persona</Surname>\
             <Application><ApplicationNumber>{number}</ApplicationNumber><SubmittedOn>2024-12-01</SubmittedOn><ApplicationKind>Iesniegums</ApplicationKind>\
             <ServiceKind>ISAR-P</ServiceKind><PreferredProvider>{provider}</PreferredProvider><Municipality>{municipality}</Municipality></Application>\
             {events}<QueueEntry><EntryId>{entry}</EntryId><ApplicationNumber>{number}</ApplicationNumber><Provider>{provider}</Provider><ServiceKind>ISAR-P</ServiceKind>\
             <QueuedSince>{admitted}</QueuedSince><Active>{active}</Active></QueueEntry></Person>",
            code = code.digits(),
            provider = history.provider,
            municipality = history.municipality,
            entry = n + 1,
            admitted = history.admitted,
            active = history.active,
        ));
    }
    let municipality = |code: &str, name: &str| format!("<Municipality><Code>{code}</Code><Name>{name}</Name><Address>{name}</Address></Municipality>");
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><RegisterExport xmlns="{REGISTER_NS}"><AsOf>2025-07-01T00:00:00Z</AsOf><Kind>full</Kind>
<ServiceKinds><ServiceKind><Code>ISAR-P</Code><Name>Pilngadīgām personām</Name></ServiceKind></ServiceKinds>
<Providers><Provider><Code>VSAC-A</Code><Name>VSAC A</Name><Address>Rīga</Address></Provider><Provider><Code>VSAC-B</Code><Name>VSAC B</Name><Address>Talsi</Address></Provider></Providers>
<Municipalities>{}{}{}</Municipalities>
<Persons>{persons}</Persons></RegisterExport>"#,
        municipality("M1", "Rīga"),
        municipality("M2", "Talsi"),
        municipality("M3", "Ventspils"),
    )
}

/// A data directory whose register is the hand-built one, loaded by `register import` (which
/// builds the statistics).
fn hand_built_register() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("export.xml");
    std::fs::write(&file, export()).expect("export written");
    let options = ImportOptions { files: vec![file], delta: false, dry_run: false };
    let outcome = register::import(&Target::Sqlite(dir.path().join(sqlite::DATABASE_FILE)), &options, &mut |_| {}, &mut |_| Ok(())).expect("import runs");
    assert!(outcome.problems.is_empty(), "{:?}", outcome.problems);
    dir
}

async fn server_on(dir: &Path, backend: Backend) -> TestServer {
    TestServer::start_with(Options { data_dir: Some(dir.to_path_buf()), backend: Some(backend), ..Options::default() }).await
}

/// A plain request: the period's elements and the filters, as XML.
fn request(version: &str, inner: &str) -> String {
    envelope(version, &operation("GetQueueStatistics", inner))
}

fn months(from: &str, till: &str) -> String {
    format!("<Period><FromMonth>{from}</FromMonth><TillMonth>{till}</TillMonth></Period>")
}

/// A sample of `wsdl/samples/` with a fresh IVIS MessageID.
fn fresh_ivis(name: &str) -> String {
    let text = sample(name);
    let start = text.find("<ivis:MessageID>").expect("MessageID") + "<ivis:MessageID>".len();
    let end = text[start..].find('<').expect("end") + start;
    format!("{}{}{}", &text[..start], uuid::Uuid::new_v4(), &text[end..])
}

/// An answer's numbers: (service kind, provider, municipality or "") → month → element →
/// `Some(value)` or `None` when suppressed.
type Table = HashMap<(String, String, String), HashMap<String, HashMap<String, Option<u32>>>>;

fn table(body: &str) -> Table {
    answer_reader::parse(body)
}

/// A tiny reader of the answer's queues, enough for these tests (no XML library is a
/// dependency of the tests; the answer's shape is fixed by the schema it was validated against).
mod answer_reader {
    use super::Table;

    fn between<'a>(text: &'a str, open: &str, close: &str) -> Vec<&'a str> {
        let mut found = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find(open) {
            let after = &rest[start + open.len()..];
            let Some(end) = after.find(close) else { break };
            found.push(&after[..end]);
            rest = &after[end + close.len()..];
        }
        found
    }

    fn code(text: &str, element: &str) -> String {
        between(text, &format!("<{element}>"), &format!("</{element}>"))
            .first()
            .and_then(|inner| between(inner, "<Code>", "</Code>").first().map(|c| c.to_string()))
            .unwrap_or_default()
    }

    pub fn parse(body: &str) -> Table {
        let mut table = Table::new();
        for queue in between(body, "<Queue>", "</Queue>") {
            let key = (code(queue, "ServiceKind"), code(queue, "Provider"), code(queue, "Municipality"));
            let months = table.entry(key).or_default();
            for month in queue.split("<Month><Month>").skip(1) {
                let name = &month[..7];
                let cells = months.entry(name.to_string()).or_default();
                for element in ["Waiting", "Admitted", "Offered", "Declined", "Granted", "Refused", "Removed", "MedianWaitDays", "Percentile90WaitDays"] {
                    if let Some(inner) = between(month, &format!("<{element}>"), &format!("</{element}>")).first() {
                        let value = between(inner, "<Value>", "</Value>").first().map(|v| v.parse().expect("a number"));
                        assert!(value.is_some() != inner.contains("<Suppressed"), "a value or Suppressed, never both: {inner}");
                        cells.insert(element.to_string(), value);
                    }
                }
            }
        }
        table
    }
}

/// What the hand-built register holds, for every row, month and count that is not 0.
fn truth() -> HashMap<(&'static str, &'static str, &'static str, &'static str), u32> {
    let mut truth = HashMap::new();
    let mut set = |provider, municipality, months: &[&'static str], element, value| {
        for month in months {
            truth.insert((provider, municipality, *month, element), value);
        }
    };
    let from = |first: usize| -> Vec<&'static str> { ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06"][first..].to_vec() };
    // VSAC-A, the whole queue and its municipalities.
    set("VSAC-A", "", &from(0)[..1], "Waiting", 14);
    set("VSAC-A", "", &from(1)[..1], "Waiting", 17);
    set("VSAC-A", "", &from(2)[..1], "Waiting", 12);
    set("VSAC-A", "", &from(3), "Waiting", 11);
    set("VSAC-A", "", &["2025-01"], "Admitted", 14);
    set("VSAC-A", "", &["2025-02"], "Admitted", 3);
    set("VSAC-A", "", &["2025-03"], "Granted", 5);
    set("VSAC-A", "", &["2025-04"], "Refused", 1);
    set("VSAC-A", "", &["2025-04"], "Removed", 1);
    set("VSAC-A", "", &["2025-05"], "Offered", 5);
    set("VSAC-A", "", &["2025-05"], "Declined", 5);
    set("VSAC-A", "M1", &from(0)[..2], "Waiting", 8);
    set("VSAC-A", "M1", &from(2), "Waiting", 3);
    set("VSAC-A", "M1", &["2025-01"], "Admitted", 8);
    set("VSAC-A", "M1", &["2025-03"], "Granted", 5);
    set("VSAC-A", "M2", &from(1), "Waiting", 3);
    set("VSAC-A", "M2", &["2025-02"], "Admitted", 3);
    set("VSAC-A", "M3", &from(0)[..3], "Waiting", 6);
    set("VSAC-A", "M3", &from(3), "Waiting", 5);
    set("VSAC-A", "M3", &["2025-01"], "Admitted", 6);
    set("VSAC-A", "M3", &["2025-04"], "Refused", 1);
    set("VSAC-A", "M3", &["2025-04"], "Removed", 1);
    set("VSAC-A", "M3", &["2025-05"], "Offered", 5);
    set("VSAC-A", "M3", &["2025-05"], "Declined", 5);
    for municipality in ["", "M1"] {
        set("VSAC-B", municipality, &from(1), "Waiting", 12);
        set("VSAC-B", municipality, &["2025-02"], "Admitted", 12);
    }
    truth
}

const COUNTS: [&str; 7] = ["Waiting", "Admitted", "Offered", "Declined", "Granted", "Refused", "Removed"];

/// Every published number equals the register's; every count of 1–4 is withheld.
fn agrees_with_the_register(table: &Table, months: &[&str]) {
    let truth = truth();
    for ((_, provider, municipality), by_month) in table {
        for month in months {
            let cells = by_month.get(*month).unwrap_or_else(|| panic!("{provider} {municipality}: no {month}"));
            for element in COUNTS {
                let real = truth.get(&(provider.as_str(), municipality.as_str(), *month, element)).copied().unwrap_or(0);
                match cells.get(element).copied().flatten() {
                    Some(published) => assert_eq!(published, real, "{provider} {municipality} {month} {element}"),
                    None => {}
                }
                if (1..5).contains(&real) {
                    assert_eq!(cells.get(element), Some(&None), "{provider} {municipality} {month} {element}: {real} must be withheld");
                }
            }
        }
    }
}

/// The outsider: every equation the published numbers satisfy — a queue is the sum of its
/// municipalities, waiting moves by admitted − granted − removed — solved by elimination
/// for the withheld ones. Returns the withheld numbers that the equations pin down.
fn recoverable(queues: &Table, municipalities: &Table, months: &[&str]) -> Vec<String> {
    let mut unknowns: Vec<String> = Vec::new();
    let mut column = |name: String| match unknowns.iter().position(|u| *u == name) {
        Some(i) => i,
        None => {
            unknowns.push(name);
            unknowns.len() - 1
        }
    };
    // Each equation: (column, coefficient) of its withheld terms (the published ones only
    // move the right-hand side, which does not matter for what is determined).
    let mut equations: Vec<Vec<(usize, f64)>> = Vec::new();
    let mut term = |table: &Table, key: &(String, String, String), month: &str, element: &str, coefficient: f64, equation: &mut Vec<(usize, f64)>| {
        let withheld = table.get(key).and_then(|m| m.get(month)).and_then(|c| c.get(element)).is_some_and(|v| v.is_none());
        if withheld {
            equation.push((column(format!("{key:?} {month} {element}")), coefficient));
        }
    };
    for (key, _) in queues {
        for month in months {
            for element in COUNTS {
                let mut equation = Vec::new();
                term(queues, key, month, element, 1.0, &mut equation);
                for part in municipalities.keys().filter(|k| k.0 == key.0 && k.1 == key.1) {
                    term(municipalities, part, month, element, -1.0, &mut equation);
                }
                equations.push(equation);
            }
        }
    }
    for table in [queues, municipalities] {
        for key in table.keys() {
            for pair in months.windows(2) {
                let (previous, month) = (pair[0], pair[1]);
                let mut equation = Vec::new();
                term(table, key, month, "Waiting", 1.0, &mut equation);
                term(table, key, previous, "Waiting", -1.0, &mut equation);
                term(table, key, month, "Admitted", -1.0, &mut equation);
                term(table, key, month, "Granted", 1.0, &mut equation);
                term(table, key, month, "Removed", 1.0, &mut equation);
                equations.push(equation);
            }
        }
    }
    let mut rows: Vec<Vec<f64>> = equations
        .into_iter()
        .filter(|e| !e.is_empty())
        .map(|e| {
            let mut row = vec![0.0; unknowns.len()];
            for (c, v) in e {
                row[c] += v;
            }
            row
        })
        .collect();
    let mut pivot_row = 0;
    for c in 0..unknowns.len() {
        let Some(p) = (pivot_row..rows.len()).find(|&r| rows[r][c].abs() > 1e-9) else { continue };
        rows.swap(pivot_row, p);
        let lead = rows[pivot_row][c];
        rows[pivot_row].iter_mut().for_each(|v| *v /= lead);
        let pivot = rows[pivot_row].clone();
        for (r, row) in rows.iter_mut().enumerate() {
            if r != pivot_row && row[c].abs() > 1e-9 {
                let factor = row[c];
                row.iter_mut().zip(&pivot).for_each(|(v, p)| *v -= factor * p);
            }
        }
        pivot_row += 1;
    }
    rows.iter()
        .filter_map(|row| {
            let nonzero: Vec<usize> = (0..row.len()).filter(|&c| row[c].abs() > 1e-9).collect();
            (nonzero.len() == 1).then(|| unknowns[nonzero[0]].clone())
        })
        .collect()
}

const PERIOD: [&str; 12] = ["2024-07", "2024-08", "2024-09", "2024-10", "2024-11", "2024-12", "2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06"];

#[tokio::test]
async fn counts_agree_with_a_register_known_by_hand_and_no_withheld_number_can_be_recovered() {
    let dir = hand_built_register();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let server = server_on(dir.path(), backend).await;
        let mut riga = server.client("riga").await;
        let queues = riga.soap("/GetQueueStatistics", &request("1.1", &months("2024-07", "2025-06"))).await;
        assert_eq!(queues.status, 200, "{}", queues.body);
        let by_municipality = riga.soap("/GetQueueStatistics", &request("1.2", &format!("{}<ByMunicipality>true</ByMunicipality>", months("2024-07", "2025-06")))).await;
        assert_eq!(by_municipality.status, 200, "{}", by_municipality.body);
        assert!(!queues.body.contains("PersonCode") && !by_municipality.body.contains("PersonCode"), "no personal data");

        let (queues, municipalities) = (table(&queues.body), table(&by_municipality.body));
        assert_eq!(queues.len(), 2, "{backend:?}: VSAC-A and VSAC-B");
        assert_eq!(municipalities.len(), 4, "{backend:?}: VSAC-A × M1, M2, M3 and VSAC-B × M1");
        agrees_with_the_register(&queues, &PERIOD);
        agrees_with_the_register(&municipalities, &PERIOD);

        // Plenty is published: VSAC-B's 12 and VSAC-A's grants with their waits.
        let vsac_b = &queues[&("ISAR-P".to_string(), "VSAC-B".to_string(), String::new())];
        assert_eq!(vsac_b["2025-06"]["Waiting"], Some(12));
        let march = &queues[&("ISAR-P".to_string(), "VSAC-A".to_string(), String::new())]["2025-03"];
        assert_eq!((march["Granted"], march["MedianWaitDays"], march["Percentile90WaitDays"]), (Some(5), Some(59), Some(69)));
        // M2's three are withheld wherever they are told apart.
        let m2 = &municipalities[&("ISAR-P".to_string(), "VSAC-A".to_string(), "M2".to_string())];
        assert!(m2.values().all(|cells| cells.values().all(|v| *v != Some(3))));

        // The outsider tries, with everything both answers publish.
        let withheld: usize = [&queues, &municipalities].iter().flat_map(|t| t.values()).flat_map(|m| m.values()).flat_map(|c| c.values()).filter(|v| v.is_none()).count();
        assert!(withheld >= 4, "there is something to recover");
        assert_eq!(recoverable(&queues, &municipalities, &PERIOD), Vec::<String>::new(), "{backend:?}");

        // The same outsider does recover a number when only the small counts are withheld:
        // the complements are what stops them.
        let mut naive_queues = queues.clone();
        let mut naive_municipalities = municipalities.clone();
        let truth = truth();
        for (table, municipal) in [(&mut naive_queues, false), (&mut naive_municipalities, true)] {
            for ((_, provider, municipality), by_month) in table.iter_mut() {
                assert_eq!(municipal, !municipality.is_empty());
                for (month, cells) in by_month.iter_mut() {
                    for element in COUNTS {
                        let real = truth.get(&(provider.as_str(), municipality.as_str(), month.as_str(), element)).copied().unwrap_or(0);
                        cells.insert(element.to_string(), (!(1..5).contains(&real)).then_some(real));
                    }
                }
            }
        }
        assert!(!recoverable(&naive_queues, &naive_municipalities, &PERIOD).is_empty(), "the attack works on primary suppression alone");
    }
}

#[tokio::test]
async fn plain_and_ivis_in_both_soap_versions_are_answered_to_riga_and_refused_to_talsi() {
    let server = TestServer::start().await;
    let mut riga = server.client("riga").await;
    let mut talsi = server.client("talsi").await;
    for name in ["stats-soap11-plain.xml", "stats-soap12-plain.xml", "stats-soap11-ivis.xml", "stats-soap12-ivis.xml"] {
        let body = if name.contains("ivis") { fresh_ivis(name) } else { sample(name) };
        let answer = riga.soap("/GetQueueStatistics", &body).await;
        assert_eq!(answer.status, 200, "{name}: {}", answer.body);
        assert_eq!(error_code(&answer.body), None, "{name}: {}", answer.body);
        assert!(answer.body.contains("<MinimumCount>5</MinimumCount>"), "{name}");
        if name.contains("ivis") {
            assert_eq!(texts(&answer.body, "Result"), ["success"], "{name}");
            assert!(answer.body.contains("GetQueueStatisticsResponse</ivis:MessageType>") || answer.body.contains("TYPE-GetQueueStatisticsResponse"), "{name}");
        }
        let refused = talsi.soap("/GetQueueStatistics", &if name.contains("ivis") { fresh_ivis(name).replace("AU:90011524360", "AU:90009113532") } else { body.clone() }).await;
        assert_eq!(error_code(&refused.body).as_deref(), Some("ServiceNotAllowed"), "{name}: {}", refused.body);
    }
    // The statistics are not served at another service's path, nor the others at theirs.
    let elsewhere = riga.soap("/GetQueueStatusList", &sample("stats-soap11-plain.xml")).await;
    assert_eq!(error_code(&elsewhere.body).as_deref(), Some("UnknownOperation"));
    let wsdl = riga.get("/GetQueueStatistics?wsdl").await;
    assert_eq!(wsdl.status, 200);
    assert!(wsdl.body.contains("GetQueueStatisticsIVIS") && wsdl.body.contains("/xsd/GetQueueStatistics.xsd"));
    assert_eq!(riga.get("/xsd/GetQueueStatistics.xsd").await.status, 200);
}

#[tokio::test]
async fn every_call_is_audited_without_a_person() {
    let server = TestServer::start().await;
    let mut riga = server.client("riga").await;
    let mut talsi = server.client("talsi").await;
    let ok = riga.soap("/GetQueueStatistics", &sample("stats-soap11-plain.xml")).await;
    let refused = talsi.soap("/GetQueueStatistics", &sample("stats-soap11-plain.xml")).await;
    let (_, audit_dir) = server.stop().await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_spolis-adapter"))
        .args(["audit", "export", "--data-dir", audit_dir.path().to_str().unwrap(), "--format", "json"])
        .output()
        .expect("audit export runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let records: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout).lines().map(|l| serde_json::from_str(l).expect("JSON")).collect();
    let record = |id: &str| records.iter().find(|r| r["record_id"] == id).unwrap_or_else(|| panic!("no record {id}")).clone();
    let (ok, refused) = (record(&ok.call_id), record(&refused.call_id));
    for record in [&ok, &refused] {
        assert_eq!(record["service"], "STATS");
        assert_eq!(record["person_code"], serde_json::Value::Null, "no person is asked about");
        assert_eq!(record["operator_person_code"], "12037910015");
        assert!(record["purpose_legal_basis"].as_str().unwrap().contains("587"));
    }
    assert_eq!(ok["outcome"], "ok");
    assert!(ok["records_returned"].as_i64().unwrap() > 0, "queue months answered");
    assert_eq!(refused["outcome"], "ServiceNotAllowed");
    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_spolis-adapter"))
        .args(["audit", "verify", "--data-dir", audit_dir.path().to_str().unwrap()])
        .output()
        .expect("audit verify runs");
    assert!(verify.status.success(), "{}{}", String::from_utf8_lossy(&verify.stdout), String::from_utf8_lossy(&verify.stderr));
}

#[tokio::test]
async fn filters_narrow_the_rows_and_unknown_codes_answer_nothing() {
    let dir = hand_built_register();
    let server = server_on(dir.path(), Backend::Sqlite).await;
    let mut riga = server.client("riga").await;
    let period = months("2025-01", "2025-06");
    let ask = |inner: String| request("1.1", &inner);
    let provider = table(&riga.soap("/GetQueueStatistics", &ask(format!("{period}<ProviderCode>VSAC-B</ProviderCode>"))).await.body);
    assert_eq!(provider.keys().map(|k| k.1.as_str()).collect::<Vec<_>>(), ["VSAC-B"]);
    let municipality = table(&riga.soap("/GetQueueStatistics", &ask(format!("{period}<MunicipalityCode>M3</MunicipalityCode>"))).await.body);
    assert_eq!(municipality.keys().cloned().collect::<Vec<_>>(), [("ISAR-P".to_string(), "VSAC-A".to_string(), "M3".to_string())]);
    let kind = table(&riga.soap("/GetQueueStatistics", &ask(format!("{period}<ServiceKindCode>ISAR-P</ServiceKindCode>"))).await.body);
    assert_eq!(kind.len(), 2);
    for unknown in ["<ServiceKindCode>NONE</ServiceKindCode>", "<ProviderCode>NONE</ProviderCode>", "<MunicipalityCode>NONE</MunicipalityCode>"] {
        let answer = riga.soap("/GetQueueStatistics", &ask(format!("{period}{unknown}"))).await;
        assert_eq!(answer.status, 200);
        assert!(answer.body.contains("<Queues></Queues>") || answer.body.contains("<Queues/>"), "{unknown}: {}", answer.body);
    }
    // Every month of the period is answered, in order.
    let vsac_b = &provider[&("ISAR-P".to_string(), "VSAC-B".to_string(), String::new())];
    assert_eq!(vsac_b.len(), 6);
    assert_eq!(vsac_b["2025-01"]["Waiting"], Some(0));
}

#[tokio::test]
async fn periods_out_of_bounds_are_refused_with_their_documented_codes() {
    let server = TestServer::start().await;
    let mut riga = server.client("riga").await;
    let this_month = spolis_adapter::model::Month::of((chrono::Utc::now() + chrono::Duration::hours(3)).date_naive());
    let next_month = this_month.plus(1);
    let cases = [
        ("<Period><MonthsBack>0</MonthsBack></Period>".to_string(), "PeriodOutOfRange"),
        ("<Period><MonthsBack>37</MonthsBack></Period>".to_string(), "PeriodOutOfRange"),
        (months("2020-01", "2023-01"), "PeriodOutOfRange"),
        (months(&this_month.to_string(), &next_month.to_string()), "PeriodOutOfRange"),
        (months("2025-03", "2025-02"), "InvalidPeriod"),
        ("<Period><FromMonth>2025-13</FromMonth><TillMonth>2025-12</TillMonth></Period>".to_string(), "BodyWrongFormat"),
        (String::new(), "BodyWrongFormat"),
    ];
    for (period, code) in cases {
        let answer = riga.soap("/GetQueueStatistics", &request("1.2", &period)).await;
        assert_eq!(error_code(&answer.body).as_deref(), Some(code), "{period}: {}", answer.body);
        assert_eq!(answer.status, 400, "SOAP 1.2: the caller's fault");
    }
    for back in [1, 36] {
        let answer = riga.soap("/GetQueueStatistics", &request("1.1", &format!("<Period><MonthsBack>{back}</MonthsBack></Period>"))).await;
        assert_eq!(answer.status, 200, "{back}: {}", answer.body);
        assert_eq!(texts(&answer.body, "TillMonth"), [this_month.to_string()]);
    }
}

#[tokio::test]
async fn an_import_into_postgresql_full_then_delta_keeps_the_same_statistics_as_sqlite() {
    let dir = hand_built_register();
    let database = std::sync::Arc::new(TestDatabase::create());
    let target = Target::Postgres { url: database.url.clone(), options: database.options.clone() };
    let file = dir.path().join("export.xml");
    let (import_target, import_file) = (target.clone(), file.clone());
    tokio::task::spawn_blocking(move || {
        let outcome = register::import(&import_target, &ImportOptions { files: vec![import_file], delta: false, dry_run: false }, &mut |_| {}, &mut |_| Ok(())).expect("full import");
        assert!(outcome.problems.is_empty(), "{:?}", outcome.problems);
    })
    .await
    .expect("join");
    let ask = request("1.1", &format!("{}<ByMunicipality>true</ByMunicipality>", months("2024-07", "2025-06")));
    let on_sqlite = {
        let server = server_on(dir.path(), Backend::Sqlite).await;
        let mut riga = server.client("riga").await;
        table(&riga.soap("/GetQueueStatistics", &ask).await.body)
    };
    let server = TestServer::start_with(Options { database: Some(database.clone()), data_dir: Some(dir.path().to_path_buf()), ..Options::default() }).await;
    let mut riga = server.client("riga").await;
    assert_eq!(table(&riga.soap("/GetQueueStatistics", &ask).await.body), on_sqlite, "the full import's statistics");

    // A delta deletes the person refused in April: M3 has one refusal and removal fewer,
    // and the running service sees the statistics change with the register.
    let refused = histories().iter().position(|h| h.later.first().is_some_and(|(kind, _)| *kind == 14)).expect("the refused person");
    let code = PersonalCode::new_format(1000 + refused as u64);
    let delta = dir.path().join("delta.xml");
    std::fs::write(
        &delta,
        format!(r#"<?xml version="1.0" encoding="UTF-8"?><RegisterExport xmlns="{REGISTER_NS}"><AsOf>2025-07-02T00:00:00Z</AsOf><Kind>delta</Kind><Deletions><PersonCode>{}</PersonCode></Deletions></RegisterExport>"#, code.digits()),
    )
    .expect("delta written");
    tokio::task::spawn_blocking(move || {
        let outcome = register::import(&target, &ImportOptions { files: vec![delta], delta: true, dry_run: false }, &mut |_| {}, &mut |_| Ok(())).expect("delta import");
        assert!(outcome.problems.is_empty(), "{:?}", outcome.problems);
    })
    .await
    .expect("join");
    let after = table(&riga.soap("/GetQueueStatistics", &ask).await.body);
    let m3 = &after[&("ISAR-P".to_string(), "VSAC-A".to_string(), "M3".to_string())];
    assert_eq!(m3["2025-04"]["Refused"], Some(0));
    assert_eq!(m3["2025-04"]["Removed"], Some(0));
    assert_ne!(after, on_sqlite);
}
