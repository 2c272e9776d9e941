//! `spolis-adapter client` end to end: the real binary against a real server over mutual TLS —
//! table, XML and JSON output for both services, SOAP versions and styles, refusals with their
//! code and exit status 2, and the printout PDF (its text read back with `pdftotext`, which
//! the test requires, and from the PDF's own content streams and ToUnicode maps).

mod common;

use std::collections::HashMap;
use std::io::Read;
use std::process::{Command, Output};

use common::*;

const OPERATOR_ARG: &str = "Anna Liepiņa 120379-10015";

/// Runs the binary with the connection arguments for `server` and the Riga certificate.
async fn client(server: &TestServer, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_spolis-adapter"));
    command.arg("client").args(riga_connection_args(server.address.port())).args(args);
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
    assert!(pdf.ends_with(b"%%EOF\n"));

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
    let own = text_from_pdf(&pdf);
    for text in expected {
        assert!(own.contains(text), "{text:?} not in the PDF's text:\n{own}");
    }
    // An independent reader: a missing pdftotext fails the test loudly (scripts/test-all
    // installs poppler-utils), it never silently checks less.
    let run = Command::new("pdftotext")
        .arg("-raw")
        .arg(&path)
        .arg("-")
        .output()
        .unwrap_or_else(|error| panic!("pdftotext is required by this test (apt-get install poppler-utils): {error}"));
    assert!(run.status.success(), "pdftotext failed: {run:?}");
    let text = String::from_utf8_lossy(&run.stdout).replace('\n', " ");
    for expected in ["Dati par personas sociālo pakalpojumu", "Ērika Kalniņa", "Piedāvātā vieta un adrese", "Sagatavoja: Anna Liepiņa,"] {
        assert!(text.contains(expected), "{expected:?} not in pdftotext's text:\n{text}");
    }
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
    let text = text_from_pdf(&std::fs::read(&path).expect("the PDF"));
    assert!(text.contains("051230-10106") && text.contains("Iesniegumu nav.") && text.contains("Rindas notikumu nav."), "{text}");
}

/// The text a PDF written by the client shows: each content stream's `<hex> Tj` glyph ids
/// mapped back through the ToUnicode map of the font selected by `/Fn … Tf`; a line per Tj.
fn text_from_pdf(pdf: &[u8]) -> String {
    let streams = streams(pdf);
    // The fonts' ToUnicode maps appear in font order (F1, F2, …).
    let maps: Vec<HashMap<String, char>> = streams
        .iter()
        .filter(|s| s.contains("beginbfchar"))
        .map(|cmap| {
            cmap.lines()
                .filter_map(|line| {
                    let (glyph, unicode) = line.strip_prefix('<')?.split_once("> <")?;
                    let code = u32::from_str_radix(unicode.strip_suffix('>')?, 16).ok()?;
                    Some((glyph.to_string(), char::from_u32(code)?))
                })
                .collect()
        })
        .collect();
    let mut text = String::new();
    for content in streams.iter().filter(|s| s.contains(" Tj ET")) {
        for line in content.lines() {
            let Some(rest) = line.strip_prefix("BT /F") else { continue };
            let font: usize = rest.split(' ').next().and_then(|n| n.parse().ok()).unwrap_or(1);
            let Some(hex) = line.split('<').nth(1).and_then(|h| h.split('>').next()) else { continue };
            let map = &maps[font - 1];
            for glyph in hex.as_bytes().chunks(4) {
                text.push(map.get(std::str::from_utf8(glyph).unwrap_or_default()).copied().unwrap_or('\u{fffd}'));
            }
            text.push('\n');
        }
    }
    // Lines wrapped by the layout are joined for searching.
    text.replace('\n', " ")
}

/// Every stream of the PDF, inflated.
fn streams(pdf: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(start) = find(pdf, b"stream\n", at) {
        let data_start = start + b"stream\n".len();
        let Some(end) = find(pdf, b"\nendstream", data_start) else { break };
        let mut inflated = Vec::new();
        if flate2::read::ZlibDecoder::new(&pdf[data_start..end]).read_to_end(&mut inflated).is_ok() {
            found.push(String::from_utf8_lossy(&inflated).into_owned());
        }
        at = end + b"\nendstream".len();
    }
    found
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|i| i + from)
}
