//! Nothing panics on any input, and every answer is well-formed XML with a known status:
//! thousands of deterministic mutations of the samples (flipped bytes, cuts, splices, XML
//! special characters) go through the same pipeline the server runs for each request.

mod common;

use std::net::SocketAddr;

use bytes::Bytes;
use common::*;
use spolis_adapter::contract::SERVICES;
use spolis_adapter::identity::CertificateIdentity;
use spolis_adapter::service::{Peer, SoapRequest};
use spolis_adapter::xml::{self, XmlLimits};

/// splitmix64: a deterministic stream, so a failure reproduces exactly.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SPECIALS: [&[u8]; 10] = [b"<", b">", b"&", b"\"", b"]]>", b"\0", b"&amp;", b"<!DOCTYPE x>", b"\xff", "ā".as_bytes()];

fn mutate(random: &mut Random, original: &[u8]) -> Vec<u8> {
    let mut bytes = original.to_vec();
    for _ in 0..=random.below(3) {
        let at = random.below(bytes.len());
        match random.below(5) {
            0 => bytes[at] = random.next() as u8,
            1 => bytes.truncate(at),
            2 => {
                let end = (at + random.below(64)).min(bytes.len());
                let slice = bytes[at..end].to_vec();
                let to = random.below(bytes.len());
                bytes.splice(to..to, slice);
            }
            3 => {
                let special = SPECIALS[random.below(SPECIALS.len())];
                bytes.splice(at..at, special.iter().copied());
            }
            _ => {
                let end = (at + random.below(32)).min(bytes.len());
                bytes.drain(at..end);
            }
        }
        if bytes.is_empty() {
            break;
        }
    }
    bytes
}

#[tokio::test]
async fn mutated_requests_never_panic_and_always_get_well_formed_answers() {
    let server = TestServer::start().await;
    let app = server.app.clone().expect("running");
    let services = &app.services;
    let der = spolis_adapter::tls::read_certificates(&certs_dir().join("riga.crt")).unwrap();
    let peer = Peer {
        address: SocketAddr::from(([127, 0, 0, 1], 40000)),
        certificate: CertificateIdentity::from_der(der[0].as_ref()).unwrap(),
    };
    let samples: Vec<(String, String)> = std::fs::read_dir(repo_path("wsdl/samples"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    // Every operation × SOAP version × style: EP115, EP116 and the statistics.
    assert_eq!(samples.len(), 12);

    let mut random = Random(20261123);
    let (mut unmutated_ok, mut mutated_ivis_ok) = (0, 0);
    for round in 0..400 {
        for (name, text) in &samples {
            let contract = SERVICES[match &name[..5] {
                "ep115" => 0,
                "ep116" => 1,
                _ => 2,
            }];
            let content_type = if text.contains(SOAP12) { "application/soap+xml; charset=utf-8" } else { "text/xml; charset=utf-8" };
            // Each IVIS request gets a fresh MessageID before it is mutated, so that mutations
            // reach the store and the renderer instead of stopping at MessageReplayed.
            let text = with_fresh_message_id(text);
            let body = if round == 0 { text.as_bytes().to_vec() } else { mutate(&mut random, text.as_bytes()) };
            let (answer, record) = services
                .call(&peer, contract, SoapRequest { content_type: Some(content_type), soap_action: None, body: Ok(Bytes::from(body.clone())) })
                .await;
            assert!(
                matches!(answer.status.as_u16(), 200 | 400 | 500),
                "{name} round {round}: status {} for {:?}",
                answer.status,
                String::from_utf8_lossy(&body)
            );
            if let Err(error) = xml::parse(answer.body.as_bytes(), &XmlLimits { max_elements: 1_000_000, ..Default::default() }) {
                panic!("{name} round {round}: answer is not well-formed ({error}): {}", answer.body);
            }
            if let Err(error) = &record.outcome {
                assert_ne!(error.code, spolis_adapter::error::ErrorCode::MessageReplayed, "{name} round {round}: a fresh MessageID");
            }
            match (round, record.outcome.is_ok()) {
                (0, ok) => {
                    assert!(ok, "{name}: the unmutated sample is answered: {}", answer.body);
                    unmutated_ok += 1;
                }
                (_, true) if name.contains("ivis") => mutated_ivis_ok += 1,
                _ => {}
            }
        }
    }
    assert_eq!(unmutated_ok, samples.len());
    // Mutations that only touched ignorable text are answered, IVIS ones too: the run reaches
    // the store and the renderer, not only the parsers.
    assert!(mutated_ivis_ok > 0, "no mutated IVIS request reached the store");
}

/// The text with the IVIS MessageID (if any) replaced by a new UUID.
fn with_fresh_message_id(text: &str) -> String {
    let Some(start) = text.find("<ivis:MessageID>").map(|at| at + "<ivis:MessageID>".len()) else { return text.to_string() };
    let end = start + text[start..].find('<').expect("the MessageID ends");
    format!("{}{}{}", &text[..start], uuid::Uuid::new_v4(), &text[end..])
}
