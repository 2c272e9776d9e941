//! `spolis-adapter client` end to end: the real binary against a real server over mutual TLS —
//! table, XML and JSON output for both services, SOAP versions and styles, refusals with their
//! code and exit status 2, and the printout PDF (its text read back through the fonts'
//! ToUnicode maps by `pdftotext`, which the test requires, and its fonts listed by `pdffonts`).

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

const OPERATOR_ARG: &str = "Anna Liepiņa 120379-10015";

/// Runs the binary with the connection arguments for `server` and the Riga certificate, and
/// the purpose when `args` give none.
async fn client(server: &TestServer, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_spolis-adapter"));
    command.arg("client").args(riga_connection_args(server.address.port())).args(args);
    // Times are shown in the local time of the municipal systems' computers.
    command.env("TZ", "Europe/Riga");
    if !args.contains(&"--purpose") {
        command.args(["--purpose", LEGAL_BASIS]);
    }
    tokio::task::spawn_blocking(move || command.output().expect("the client runs")).await.expect("join")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn table_output_shows_the_person_and_the_applications() {
    let server = TestServer::start().await;
    let output = client(&server, &["--service", "ep115", "--person", "150342-10121", "--operator", OPERATOR_ARG]).await;
    assert!(output.status.success(), "{output:?}");
    let text = stdout(&output);
    assert!(text.contains("Ērika Kalniņa, personas kods 150342-10121"), "{text}");
    assert!(text.contains("Iesnieguma veids:"), "{text}");
    assert!(text.contains("Lēmumi par uzņemšanu rindā"), "{text}");
}

#[tokio::test]
async fn ep116_over_soap12_ivis_shows_events_and_positions() {
    let server = TestServer::start().await;
    let output = client(
        &server,
        &["--service", "ep116", "--person", "150342-10121", "--operator", OPERATOR_ARG, "--soap", "1.2", "--ivis"],
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let text = stdout(&output);
    assert!(text.starts_with("IVIS success"), "{text}");
    assert!(text.contains("lēmums par uzņemšanu rindā"), "{text}");
    assert!(text.contains("Rindas virzība"), "{text}");
}

#[tokio::test]
async fn xml_output_is_the_envelope_as_received_and_json_has_arrays() {
    let server = TestServer::start().await;
    let xml = client(&server, &["--service", "ep116", "--person", "150342-10121", "--operator", OPERATOR_ARG, "--format", "xml", "--soap", "1.2"]).await;
    assert!(xml.status.success());
    assert!(stdout(&xml).contains(&format!("Envelope xmlns:soap=\"{SOAP12}\"")), "{}", stdout(&xml));

    let json = client(&server, &["--service", "ep115", "--person", "051230-10106", "--operator", OPERATOR_ARG, "--format", "json"]).await;
    assert!(json.status.success());
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(value["GetApplicationListResponse"]["Applications"], serde_json::json!([]));
    assert!(value["GetApplicationListResponse"].get("Person").is_none());
}

#[tokio::test]
async fn a_refusal_shows_its_code_and_exits_2() {
    let server = TestServer::start().await;
    for style in [&[][..], &["--ivis"][..]] {
        let mut args = vec!["--service", "ep115", "--person", "150342-10120", "--operator", OPERATOR_ARG];
        args.extend_from_slice(style);
        let output = client(&server, &args).await;
        assert_eq!(output.status.code(), Some(2), "{output:?}");
        let text = stdout(&output);
        assert!(text.contains("REFUSED") && text.contains("InvalidPersonCode"), "{text}");
    }
    let output = client(&server, &["--service", "ep115", "--person", "150342-10121", "--operator", "Liepiņa"]).await;
    assert_eq!(output.status.code(), Some(1), "a malformed --operator is the client's own error");
}

#[tokio::test]
async fn the_printout_is_a_pdf_with_the_seeds_text_and_latvian_letters() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("printout.pdf");
    let output = client(
        &server,
        &["--service", "ep115", "--person", "150342-10121", "--operator", OPERATOR_ARG, "--format", "pdf", "--output", path.to_str().expect("path")],
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let pdf = std::fs::read(&path).expect("the PDF");
    assert!(pdf.starts_with(b"%PDF-1.7"), "not a PDF");
    assert!(pdf.trim_ascii_end().ends_with(b"%%EOF"), "not a complete PDF");

    let expected = [
        "Dati par personas sociālo pakalpojumu iesniegumiem un lēmumiem informācijas sistēmā SPOLIS",
        "Vārds, uzvārds:",
        "Ērika Kalniņa",
        "Personas kods:",
        "150342-10121",
        "Iesniegumi sociālo pakalpojumu saņemšanai",
        "Iesnieguma datums:",
        "Iesnieguma veids:",
        "Rindas statuss sociālo pakalpojumu saņemšanai",
        "Problēmas būtība",
        "Vēlamais VSAC",
        "Notikuma statuss",
        "Lēmuma Nr.",
        "Vēlamais SAC",
        "Piedāvātā vieta un adrese",
        // The status word of seed 000's sample, not the event label.
        "Uzņemts rindā",
        "Iesnieguma statuss:",
        "Problēmas būtība:",
        "Persona ar I vai II grupas redzes invaliditāti",
        "Sagatavoja: Anna Liepiņa,",
    ];
    // Read back by an independent reader: the text through the fonts' ToUnicode maps, so
    // every Latvian letter must map back to itself.
    let text = pdftotext(&path);
    for expected in expected {
        assert!(text.contains(expected), "{expected:?} not in pdftotext's text:\n{text}");
    }
    // Both fonts embedded, as subsets, with a ToUnicode map.
    let fonts = poppler(Command::new("pdffonts").arg(&path));
    for font in ["+DejaVuSans ", "+DejaVuSans-Bold "] {
        let line = fonts.lines().find(|line| line.contains(font)).unwrap_or_else(|| panic!("{font:?} not in pdffonts:\n{fonts}"));
        assert!(line.contains("CID TrueType") && line.contains("Identity-H") && line.contains("yes yes yes"), "{line}");
    }
}

/// Jānis Bērziņš waits in no queue now (granted twice); on 1 January 2020 he waited at
/// Allaži, queued on 3 June 2019.
#[tokio::test]
async fn as_of_a_day_the_client_shows_the_queues_of_that_day_and_the_printout_says_so() {
    let server = TestServer::start().await;
    let janis = ["--service", "ep116", "--person", "320417-28315", "--operator", OPERATOR_ARG];
    let now = client(&server, &janis).await;
    assert!(now.status.success(), "{now:?}");
    assert!(stdout(&now).contains("waits in no queue now") && !stdout(&now).contains("Stāvoklis uz"), "{}", stdout(&now));
    let then = client(&server, &[&janis[..], &["--as-of", "2020-01-01", "--case-number", "SD-2026/1417"]].concat()).await;
    assert!(then.status.success(), "{then:?}");
    let text = stdout(&then);
    assert!(text.starts_with("Stāvoklis uz: 01.01.2020"), "{text}");
    assert!(text.contains("Allaži") && text.contains("03.06.2019") && !text.contains("waits in no queue"), "{text}");
    assert!(!text.contains("2021"), "nothing dated after the day: {text}");

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("then.pdf");
    let printed = client(&server, &[&janis[..], &["--as-of", "2020-01-01", "--format", "pdf", "--output", path.to_str().expect("path")]].concat()).await;
    assert!(printed.status.success(), "{printed:?}");
    let pdf = pdftotext(&path);
    assert!(pdf.contains("Stāvoklis uz:") && pdf.contains("01.01.2020") && pdf.contains("Rindas virzība"), "{pdf}");

    let future = client(&server, &[&janis[..], &["--as-of", "2999-01-01"]].concat()).await;
    assert_eq!(future.status.code(), Some(2), "{future:?}");
    assert!(stdout(&future).contains("AsOfInFuture"), "{}", stdout(&future));
    let no_purpose = client(&server, &[&janis[..], &["--purpose", " "]].concat()).await;
    assert_eq!(no_purpose.status.code(), Some(2), "{no_purpose:?}");
    assert!(stdout(&no_purpose).contains("PurposeMissing"), "{}", stdout(&no_purpose));
}

#[tokio::test]
async fn the_table_and_the_printout_say_when_spolis_extracted_the_data_and_what_wait_to_expect() {
    let register = imported_demo_register(50);
    let server = TestServer::start_with(Options { data_dir: Some(register.path().to_path_buf()), ..Default::default() }).await;
    // The demo export's AsOf, 2026-11-01T00:00:00Z, is 02:00 in Riga (winter time, UTC+2).
    for service in ["ep115", "ep116"] {
        let output = client(&server, &["--service", service, "--person", "150342-10121", "--operator", OPERATOR_ARG]).await;
        assert!(output.status.success(), "{output:?}");
        assert!(stdout(&output).lines().any(|line| line == "Dati uz 01.11.2026 02:00"), "{}", stdout(&output));
    }
    // Each position with its expected wait, and the basis of each under the table.
    let output = client(&server, &["--service", "ep116", "--person", "150342-10121", "--operator", OPERATOR_ARG]).await;
    let text = stdout(&output);
    assert!(text.contains("Paredzamā gaidīšana"), "{text}");
    assert_eq!(text.matches("12 mēnešos (01.11.2025.–31.10.2026.)").count(), 2, "a basis per position: {text}");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("dated.pdf");
    let printed = client(&server, &["--service", "ep115", "--person", "150342-10121", "--operator", OPERATOR_ARG, "--format", "pdf", "--output", path.to_str().expect("path")]).await;
    assert!(printed.status.success(), "{printed:?}");
    let pdf = pdftotext(&path);
    assert!(pdf.contains("Dati uz 01.11.2026 02:00") && pdf.contains("Paredzamā gaidīšana"), "{pdf}");
    assert!(pdf.contains("no rindas izgājušo personu skaits"), "the basis is printed: {pdf}");

    // A register never imported has no as-of time, and the client claims none.
    let unimported = TestServer::start().await;
    let output = client(&unimported, &["--service", "ep116", "--person", "150342-10121", "--operator", OPERATOR_ARG]).await;
    assert!(output.status.success() && !stdout(&output).contains("Dati uz"), "{}", stdout(&output));
}

#[tokio::test]
async fn the_printout_for_a_person_without_records_says_so() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("empty.pdf");
    let output = client(
        &server,
        &["--service", "ep116", "--person", "051230-10106", "--operator", OPERATOR_ARG, "--format", "pdf", "--output", path.to_str().expect("path"), "--soap", "1.2"],
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let text = pdftotext(&path);
    assert!(text.contains("051230-10106") && text.contains("Iesniegumu nav.") && text.contains("Rindas notikumu nav."), "{text}");
}

/// The text of the PDF at `path` as `pdftotext -raw` reads it, lines joined for searching
/// (the layout wraps long text).
fn pdftotext(path: &Path) -> String {
    poppler(Command::new("pdftotext").arg("-raw").arg(path).arg("-")).replace('\n', " ")
}

/// The standard output of a poppler-utils command. A missing tool fails the test loudly
/// (scripts/test-all installs poppler-utils); it never silently checks less.
fn poppler(command: &mut Command) -> String {
    let run = command.output().unwrap_or_else(|error| panic!("{command:?} is required by this test (apt-get install poppler-utils): {error}"));
    assert!(run.status.success(), "{command:?} failed: {run:?}");
    String::from_utf8_lossy(&run.stdout).into_owned()
}
