//! Signed-request verification: any bytes as a request (seeded with requests signed by riga's
//! example key), through the signature profile, finding the signing certificate and verifying
//! the signature against riga's certificate and its coverage of Body and Timestamp. Nothing
//! may panic (nor overflow the stack); whatever is accepted must keep to the profile and carry
//! one signed Timestamp.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use spolis_adapter::soap::{parse_envelope, SoapVersion};
use spolis_adapter::wssec::{profile, verify};
use spolis_adapter::xml::{parse, XmlLimits};

fn riga() -> &'static [u8] {
    static RIGA: OnceLock<Vec<u8>> = OnceLock::new();
    RIGA.get_or_init(|| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../certs-example/riga.crt");
        spolis_adapter::tls::read_certificates(&path).expect("riga.crt")[0].as_ref().to_vec()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // The pipeline only verifies documents its own parser accepted as an envelope.
    let Ok(root) = parse(data, &XmlLimits::default()) else { return };
    let version = if text.contains("http://www.w3.org/2003/05/soap-envelope") { SoapVersion::V12 } else { SoapVersion::V11 };
    let Ok(envelope) = parse_envelope(root, version) else { return };
    let in_profile = profile::check_text(text).is_ok();
    let _ = verify::signing_certificate(&envelope.headers);
    if let Ok(verified) = verify::verify_request(text, riga()) {
        assert!(in_profile, "a signature outside the profile was accepted");
        assert!(text.contains("Timestamp") && text.contains("Body"));
        assert_eq!(verified.created.len(), 1);
    }
});
