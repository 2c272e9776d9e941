//! Request parsing as the pipeline does it: bytes → bounded XML → SOAP 1.1 or 1.2 envelope →
//! plain operation or IVIS request (split, then checked against both services) → typed
//! request; plus the WS-Security Timestamp of the headers and the replay key of a MessageID.
//! Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spolis_adapter::contract::{IVIS_NS, SERVICES};
use spolis_adapter::soap::payload::GetApplicationList;
use spolis_adapter::soap::payload::GetQueueStatusList;
use spolis_adapter::soap::ivis::IvisRequest;
use spolis_adapter::soap::{parse_envelope, replay, SoapVersion};
use spolis_adapter::wssec::freshness;
use spolis_adapter::xml::{parse, XmlLimits};

fuzz_target!(|data: &[u8]| {
    let Ok(root) = parse(data, &XmlLimits::default()) else { return };
    for version in [SoapVersion::V11, SoapVersion::V12] {
        let Ok(envelope) = parse_envelope(root.clone(), version) else { continue };
        if let Ok(Some(timestamp)) = freshness::timestamp(&envelope.headers) {
            let rules = freshness::Freshness {
                skew: chrono::Duration::seconds(60),
                max_age: chrono::Duration::minutes(5),
                max_validity: chrono::Duration::minutes(15),
            };
            for signed in [false, true] {
                let _ = freshness::check_timestamp(&timestamp, chrono::Utc::now(), &rules, signed);
            }
        }
        for header in envelope.headers.iter().filter(|h| h.name == "MessageID") {
            let _ = replay::replay_key(&header.text);
        }
        let payloads = if envelope.body.is(IVIS_NS, "IVISRequest") {
            SERVICES
                .iter()
                .filter_map(|contract| IvisRequest::split(envelope.body.clone()).ok()?.check(contract).ok())
                .collect()
        } else {
            vec![envelope.body]
        };
        for payload in payloads {
            let _ = GetApplicationList::parse(&payload);
            let _ = GetQueueStatusList::parse(&payload);
        }
    }
});
