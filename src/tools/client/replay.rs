//! `spolis-adapter replay`: sends every sample request of a directory (`wsdl/samples/` by
//! default) to a running service and compares each answer with the expected one beside it
//! (`expected/<name>.xml`), ignoring what differs on every call — message ids, time stamps,
//! error ids — and shows a unified diff of the pretty-printed XML where they differ.
//! With `record`, writes the answers as the new expected ones instead.
//!
//! Input: a URL, a TLS identity, a directory of SOAP request envelopes. Output: a line per
//! sample (and a diff per difference) on the given writer, and the counts. The SOAP version
//! comes from the envelope, the style (IVIS or plain) and the path from the Body's content.
//! Never sends anything but the files found, never changes a sample.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};

use super::answer::answer_limits;
use super::transport::{Endpoint, TlsFiles};
use crate::contract::{ServiceContract, IVIS_NS, SERVICES, SOAP11_NS, SOAP12_NS, SPOLIS_NS, WS_ADDRESSING_NS, WS_SECURITY_NS};
use crate::soap::SoapVersion;
use crate::xml::{self, Element, XmlLimits};

/// Elements whose text changes on every call; compared as "(ignored)".
const VOLATILE_ELEMENTS: [&str; 5] = ["MessageID", "TimeStamp", "ErrorId", "Created", "Expires"];
const IGNORED: &str = "(ignored)";

/// What to replay and where.
pub struct ReplayOptions {
    pub url: String,
    pub tls: TlsFiles,
    pub samples_dir: PathBuf,
    /// Write the answers as the expected ones instead of comparing.
    pub record: bool,
}

/// How a replay went.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    pub passed: usize,
    pub failed: usize,
    pub recorded: usize,
}

/// The directory of the expected answers.
pub fn expected_dir(samples_dir: &Path) -> PathBuf {
    samples_dir.join("expected")
}

/// Replays every `*.xml` directly in the samples directory, in name order.
pub async fn replay(options: &ReplayOptions, out: &mut dyn Write) -> anyhow::Result<ReplayReport> {
    let endpoint = Endpoint::new(&options.url, &options.tls)?;
    let mut samples: Vec<PathBuf> = std::fs::read_dir(&options.samples_dir)
        .with_context(|| format!("cannot read {}", options.samples_dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file() && path.extension().is_some_and(|e| e == "xml"))
        .collect();
    samples.sort();
    if samples.is_empty() {
        bail!("no *.xml samples in {}", options.samples_dir.display());
    }
    let expected = expected_dir(&options.samples_dir);
    if options.record {
        std::fs::create_dir_all(&expected).with_context(|| format!("cannot create {}", expected.display()))?;
    }
    let mut report = ReplayReport::default();
    for sample in samples {
        let name = sample.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        match replay_one(&endpoint, &sample, &expected.join(&name), options.record).await {
            Ok(Verdict::Same) => {
                report.passed += 1;
                writeln!(out, "ok      {name}")?;
            }
            Ok(Verdict::Recorded(status)) => {
                report.recorded += 1;
                writeln!(out, "written expected/{name} (HTTP {status})")?;
            }
            Ok(Verdict::Different(diff)) => {
                report.failed += 1;
                writeln!(out, "DIFFERS {name}\n{diff}")?;
            }
            Err(error) => {
                report.failed += 1;
                writeln!(out, "FAILED  {name}: {error:#}")?;
            }
        }
    }
    if options.record {
        writeln!(out, "{} expected answers written to {}", report.recorded, expected.display())?;
    } else {
        writeln!(out, "replay: {} passed, {} failed", report.passed, report.failed)?;
    }
    Ok(report)
}

enum Verdict {
    Same,
    Recorded(u16),
    Different(String),
}

async fn replay_one(endpoint: &Endpoint, sample: &Path, expected_path: &Path, record: bool) -> anyhow::Result<Verdict> {
    let body = std::fs::read(sample).with_context(|| format!("cannot read {}", sample.display()))?;
    let request = classify(&body)?;
    let answer = endpoint
        .post(request.contract.path, &request.content_type, request.soap_action.as_deref(), body)
        .await?;
    let actual = xml::parse(&answer.body, &answer_limits())
        .map_err(|e| anyhow!("HTTP {}: the answer is not XML ({e}): {}", answer.status, String::from_utf8_lossy(&answer.body)))?;
    if record {
        std::fs::write(expected_path, pretty(&unsigned(actual))).with_context(|| format!("cannot write {}", expected_path.display()))?;
        return Ok(Verdict::Recorded(answer.status));
    }
    let expected_bytes = std::fs::read(expected_path)
        .with_context(|| format!("no expected answer at {} (record them with --record)", expected_path.display()))?;
    let expected = xml::parse(&expected_bytes, &answer_limits()).map_err(|e| anyhow!("{}: {e}", expected_path.display()))?;
    let (expected_text, actual_text) = (pretty(&normalized(expected)), pretty(&normalized(actual)));
    if expected_text == actual_text {
        return Ok(Verdict::Same);
    }
    let file = expected_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let diff = similar::TextDiff::from_lines(&expected_text, &actual_text)
        .unified_diff()
        .context_radius(3)
        .header(&format!("expected/{file}"), &format!("answer (HTTP {})", answer.status))
        .to_string();
    Ok(Verdict::Different(diff))
}

/// How a sample must be sent.
struct SampleRequest {
    contract: &'static ServiceContract,
    content_type: String,
    soap_action: Option<String>,
}

/// The SOAP version from the envelope's namespace; the operation from the Body's element (or
/// the element inside an IVISRequest's Body); the action of the plain or IVIS operation.
fn classify(body: &[u8]) -> anyhow::Result<SampleRequest> {
    let root = xml::parse(body, &XmlLimits::default()).map_err(|e| anyhow!("the sample is not XML: {e}"))?;
    let version = if root.is(SOAP11_NS, "Envelope") {
        SoapVersion::V11
    } else if root.is(SOAP12_NS, "Envelope") {
        SoapVersion::V12
    } else {
        bail!("the sample is not a SOAP envelope");
    };
    let body = root
        .children
        .iter()
        .find(|e| e.is(version.namespace(), "Body"))
        .and_then(|b| b.children.first())
        .ok_or_else(|| anyhow!("the sample's Body is empty"))?;
    let (payload, ivis) = if body.is(IVIS_NS, "IVISRequest") {
        let inner = body
            .children
            .iter()
            .find(|e| e.is(IVIS_NS, "Body"))
            .and_then(|b| b.children.first())
            .ok_or_else(|| anyhow!("the sample's IVISRequest has no Body element"))?;
        (inner, true)
    } else {
        (body, false)
    };
    let contract = SERVICES
        .into_iter()
        .find(|c| payload.is(SPOLIS_NS, c.operation))
        .ok_or_else(|| anyhow!("the sample's Body holds {}, not an operation of this service", payload.qualified_name()))?;
    let action = if ivis { contract.ivis_action } else { contract.plain_action };
    let (content_type, soap_action) = match version {
        SoapVersion::V11 => (version.content_type().to_string(), Some(action.to_string())),
        SoapVersion::V12 => (format!("{}; action=\"{action}\"", version.content_type()), None),
    };
    Ok(SampleRequest { contract, content_type, soap_action })
}

/// The answer with every volatile value replaced by "(ignored)". The WS-Security header
/// (Timestamp and signature, new for every answer; verified by `tests/security.rs`) and the
/// `wsu:Id` it signs by are left out.
pub fn normalized(element: Element) -> Element {
    let mut element = unsigned(element);
    normalize(&mut element);
    element
}

/// The answer as recorded: without the WS-Security header and the `wsu:Id` it signs by,
/// which are new for every answer and would make every re-recording a diff of signatures.
fn unsigned(mut element: Element) -> Element {
    element.children.retain(|child| !child.children.iter().any(|block| block.is(crate::wssec::WSSE_NS, "Security")));
    strip_signing_ids(&mut element);
    element
}

fn strip_signing_ids(element: &mut Element) {
    element.attributes.retain(|attribute| attribute.namespace.as_deref() != Some(crate::wssec::WSU_NS));
    for child in &mut element.children {
        strip_signing_ids(child);
    }
}

fn normalize(element: &mut Element) {
    element.attributes.retain(|attribute| attribute.namespace.as_deref() != Some(crate::wssec::WSU_NS));
    if VOLATILE_ELEMENTS.contains(&element.name.as_str()) && element.children.is_empty() {
        element.text = IGNORED.to_string();
    }
    // An IVIS error's description quotes the call's id: "…; ErrorId <uuid>]".
    if element.name == "ErrorDescription" {
        if let Some(at) = element.text.find("ErrorId ") {
            let start = at + "ErrorId ".len();
            let end = element.text[start..].find([']', ' ', ';']).map_or(element.text.len(), |i| start + i);
            element.text.replace_range(start..end, IGNORED);
        }
    }
    for child in &mut element.children {
        normalize(child);
    }
}

/// The document indented, one element per line, with fixed prefixes per namespace (declared
/// on the root), so that two answers differing only in prefixes or whitespace print the same.
pub fn pretty(root: &Element) -> String {
    let mut prefixes: BTreeMap<String, String> = BTreeMap::new();
    collect_namespaces(root, &mut prefixes);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    write_element(root, &prefixes, 0, true, &mut out);
    out
}

fn known_prefix(namespace: &str) -> Option<&'static str> {
    match namespace {
        SOAP11_NS => Some("soap"),
        SOAP12_NS => Some("env"),
        IVIS_NS => Some("ivis"),
        SPOLIS_NS => Some("spolis"),
        WS_ADDRESSING_NS => Some("wsa"),
        WS_SECURITY_NS => Some("wsse"),
        "http://www.w3.org/XML/1998/namespace" => Some("xml"),
        _ => None,
    }
}

fn collect_namespaces(element: &Element, prefixes: &mut BTreeMap<String, String>) {
    let namespaces = element.namespace.iter().chain(element.attributes.iter().filter_map(|a| a.namespace.as_ref()));
    for namespace in namespaces {
        if !prefixes.contains_key(namespace) {
            let prefix = known_prefix(namespace).map(str::to_string).unwrap_or_else(|| format!("ns{}", prefixes.len()));
            prefixes.insert(namespace.clone(), prefix);
        }
    }
    for child in &element.children {
        collect_namespaces(child, prefixes);
    }
}

fn qualified(namespace: Option<&String>, name: &str, prefixes: &BTreeMap<String, String>) -> String {
    match namespace.and_then(|ns| prefixes.get(ns)) {
        Some(prefix) => format!("{prefix}:{name}"),
        None => name.to_string(),
    }
}

fn write_element(element: &Element, prefixes: &BTreeMap<String, String>, depth: usize, root: bool, out: &mut String) {
    let indent = "  ".repeat(depth);
    let name = qualified(element.namespace.as_ref(), &element.name, prefixes);
    out.push_str(&indent);
    out.push('<');
    out.push_str(&name);
    if root {
        let mut declared: Vec<(&String, &String)> = prefixes.iter().filter(|(_, p)| p.as_str() != "xml").collect();
        declared.sort_by(|a, b| a.1.cmp(b.1));
        for (namespace, prefix) in declared {
            out.push_str(&format!(" xmlns:{prefix}=\"{}\"", escape(namespace)));
        }
    }
    for attribute in &element.attributes {
        out.push_str(&format!(" {}=\"{}\"", qualified(attribute.namespace.as_ref(), &attribute.name, prefixes), escape(&attribute.value)));
    }
    let text = element.text.trim();
    if element.children.is_empty() {
        if text.is_empty() {
            out.push_str("/>\n");
        } else {
            out.push_str(&format!(">{}</{name}>\n", escape(text)));
        }
        return;
    }
    out.push_str(">\n");
    if !text.is_empty() {
        out.push_str(&format!("{indent}  {}\n", escape(text)));
    }
    for child in &element.children {
        write_element(child, prefixes, depth + 1, false, out);
    }
    out.push_str(&format!("{indent}</{name}>\n"));
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Element {
        xml::parse(text.as_bytes(), &XmlLimits::default()).unwrap()
    }

    #[test]
    fn prefixes_and_whitespace_do_not_matter_but_content_does() {
        let a = parse(r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><R xmlns="urn:x"><A>1</A></R></s:Body></s:Envelope>"#);
        let b = parse("<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\">\n <soapenv:Body>\n  <x:R xmlns:x=\"urn:x\">\n   <x:A>1</x:A>\n  </x:R>\n </soapenv:Body>\n</soapenv:Envelope>");
        assert_eq!(pretty(&a), pretty(&b));
        let c = parse(r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><R xmlns="urn:x"><A>2</A></R></s:Body></s:Envelope>"#);
        assert_ne!(pretty(&a), pretty(&c));
    }

    #[test]
    fn ids_and_times_are_ignored() {
        let a = parse("<H><MessageID>1</MessageID><TimeStamp>t1</TimeStamp><ErrorDescription>Bad. [InvalidPersonCode 108; ErrorId 11-22]</ErrorDescription></H>");
        let b = parse("<H><MessageID>2</MessageID><TimeStamp>t2</TimeStamp><ErrorDescription>Bad. [InvalidPersonCode 108; ErrorId 33-44]</ErrorDescription></H>");
        assert_eq!(pretty(&normalized(a)), pretty(&normalized(b)));
    }

    #[test]
    fn samples_are_classified_by_envelope_and_content() {
        let sample = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/wsdl/samples/ep116-soap12-ivis.xml")).unwrap();
        let request = classify(&sample).unwrap();
        assert_eq!(request.contract.path, "/GetQueueStatusList");
        assert!(request.content_type.starts_with("application/soap+xml"));
        assert!(request.content_type.contains("GetQueueStatusListIVIS"));
    }
}
