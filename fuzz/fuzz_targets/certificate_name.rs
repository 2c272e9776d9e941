//! Certificate names both ways: any bytes as a DER certificate (its subject and issuer
//! rendered as RFC 4514 text by `identity`, then read back by the registry's RFC 4514 name
//! parser), and any text as a registry `issuer`. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spolis_adapter::identity::{CertificateIdentity, ConsumerRegistry};

fn registry_with_issuer(issuer: &str) -> String {
    format!(
        "[[consumer]]\nid = \"1\"\nname = \"n\"\nenvironment = \"test\"\nservices = [\"EP115\"]\n\
         [[consumer.certificate]]\nissuer = {}\nserial = \"01\"\n",
        toml::Value::String(issuer.to_owned())
    )
}

fuzz_target!(|data: &[u8]| {
    if let Ok(identity) = CertificateIdentity::from_der(data) {
        // A well-formed name reads back (unit tests pin that for awkward names). A malformed
        // one — no RDN, an attribute type that is no OID or a one-arc OID — renders as text the
        // registry refuses ("", "=#…", "0=#…"): no CA issues such names, the handshake's chain
        // building compares the CA's real name byte for byte, and no registry entry can hold
        // one, so it matches nothing. What is hunted here is a panic either way.
        let _ = ConsumerRegistry::from_toml_str(&registry_with_issuer(&identity.issuer));
        let _ = ConsumerRegistry::from_toml_str(&registry_with_issuer(&identity.subject));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = ConsumerRegistry::from_toml_str(&registry_with_issuer(text));
    }
});
