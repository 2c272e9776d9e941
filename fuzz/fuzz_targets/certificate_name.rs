//! Certificate names both ways: any bytes as a DER certificate (its subject and issuer
//! rendered as RFC 4514 text by `identity`), and any text as a registry `issuer` (read back by
//! the RFC 4514 name parser). Nothing may panic; a name rendered from a certificate must read
//! back as the same name.
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
        let registry = ConsumerRegistry::from_toml_str(&registry_with_issuer(&identity.issuer));
        // Two names no CA issues and the handshake refuses cannot be registered by issuer, and
        // the registry says so: an empty Name (no RDN) renders as "", and an attribute whose
        // type is no OID at all renders without a type ("=#…"). Neither can match a registry
        // entry, which never has an empty type. Any other rendered issuer must read back.
        let unregistrable = identity.issuer.is_empty() || identity.issuer.starts_with('=') || identity.issuer.contains(", =") || identity.issuer.contains(" + =");
        assert!(registry.is_ok() || unregistrable, "a rendered issuer does not read back: {:?}", registry.err());
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = ConsumerRegistry::from_toml_str(&registry_with_issuer(text));
    }
});
