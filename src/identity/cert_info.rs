//! `spolis-adapter cert-info`: what an operator must copy into the registry for each
//! certificate of a file, printed as ready-to-paste `[[consumer.certificate]]` entries.

use std::fs;
use std::path::Path;

use anyhow::Context;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::certificate::CertificateIdentity;

/// Prints what the operator needs to register each certificate in a PEM (or DER) file:
/// fingerprint, subject, issuer, serial, validity, and ready-to-paste registry entries.
pub fn describe_certificate(path: &Path) -> anyhow::Result<String> {
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let ders = certificates_in(&bytes)
        .with_context(|| format!("{} holds no readable certificate", path.display()))?;
    let mut out = String::new();
    for (position, der) in ders.iter().enumerate() {
        let identity = CertificateIdentity::from_der(der)
            .with_context(|| format!("certificate {} in {}", position + 1, path.display()))?;
        // Cannot fail: `from_der` just parsed the same bytes.
        let (_, certificate) = X509Certificate::from_der(der)
            .map_err(|error| anyhow::anyhow!("certificate {}: {error}", position + 1))?;
        let validity = certificate.validity();
        out.push_str(&format!(
            "# certificate {} of {} in {}\n\
             # subject:    {}\n\
             # issuer:     {}\n\
             # serial:     {}\n\
             # sha256:     {}\n\
             # valid:      {} .. {}\n\
             # register it by fingerprint:\n\
             [[consumer.certificate]]\n\
             sha256 = {}\n\
             # or by issuer and serial:\n\
             # [[consumer.certificate]]\n\
             # issuer = {}\n\
             # serial = {}\n",
            position + 1,
            ders.len(),
            path.display(),
            identity.subject,
            identity.issuer,
            identity.serial,
            identity.sha256_fingerprint,
            utc_timestamp(validity.not_before.to_datetime()),
            utc_timestamp(validity.not_after.to_datetime()),
            toml_string(&identity.sha256_fingerprint),
            toml_string(&identity.issuer),
            toml_string(&identity.serial),
        ));
        if position + 1 < ders.len() {
            out.push('\n');
        }
    }
    out.push_str(NEW_CONSUMER_ENTRY);
    Ok(out)
}

/// For a consumer not yet registered: the entry the access application (seed 000 part III)
/// fills in, to paste above its certificate entries.
const NEW_CONSUMER_ENTRY: &str = "
# a consumer not registered yet: fill in from its access application, above its certificates
# [[consumer]]
# id = \"90000000000\"                       # institution registration number
# name = \"…\"                               # the institution's social service
# system = \"…\"                             # the system that will call (Sistēmas nosaukums)
# planned_start = 2026-01-01                # planned start of the data exchange
# environment = \"test\"                     # or \"production\"
# services = [\"EP115\", \"EP116\"]
# allowed_networks = [\"192.0.2.10/32\"]     # the system's addresses (Sistēmas IP adreses)
# bulk_requests = { prepared_by = \"…\" }    # only for bulk requests (Masveida pieprasījums)
# [[consumer.contact]]                      # one or more
# name = \"…\"
# position = \"…\"
# phone = \"…\"
# email = \"vards.uzvards@example.lv\"
";

/// The certificates of a PEM bundle, or the file itself if it is not PEM (then taken as DER).
fn certificates_in(bytes: &[u8]) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut reader = bytes;
    let ders = rustls_pemfile::certs(&mut reader)
        .map(|certificate| certificate.map(|der| der.as_ref().to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .context("malformed PEM")?;
    if !ders.is_empty() {
        return Ok(ders);
    }
    if bytes.first() == Some(&0x30) {
        // A DER SEQUENCE: let `CertificateIdentity::from_der` judge it.
        return Ok(vec![bytes.to_vec()]);
    }
    anyhow::bail!("no PEM CERTIFICATE block and not DER")
}

/// `YYYY-MM-DD HH:MM:SS UTC`, formatted by hand so as not to depend on `time` features.
fn utc_timestamp(moment: time::OffsetDateTime) -> String {
    let moment = moment.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        moment.year(),
        u8::from(moment.month()),
        moment.day(),
        moment.hour(),
        moment.minute(),
        moment.second()
    )
}

/// A TOML basic string, quoted and escaped.
pub(crate) fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use super::*;
    use crate::identity::ConsumerRegistry;
    use crate::identity::test_support::{riga_der, RegistryText};

    fn pem(der: &[u8]) -> String {
        let base64 = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = base64.as_bytes().chunks(64).map(|line| std::str::from_utf8(line).unwrap_or_default()).collect();
        format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
    }

    #[test]
    fn cert_info_output_pastes_into_a_working_registry() {
        let der = riga_der();
        let identity = CertificateIdentity::from_der(&der).expect("identity");
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join("riga.crt");
        fs::write(&path, pem(&der)).expect("write");
        let description = describe_certificate(&path).expect("described");
        assert!(description.contains(&identity.sha256_fingerprint), "{description}");
        assert!(description.contains(&identity.issuer), "{description}");
        let text = RegistryText::default().consumer("A").text() + &description;
        let registry = |text: &str| ConsumerRegistry::from_toml_str(text).expect("registry should load");
        assert_eq!(registry(&text).identify(&identity).map(|c| c.id.as_str()), Some("A"));
        // The commented-out issuer-and-serial alternative works as well.
        let uncommented = text
            .replace("[[consumer.certificate]]\nsha256", "# sha256")
            .replace("# [[consumer.certificate]]", "[[consumer.certificate]]")
            .replace("# issuer =", "issuer =")
            .replace("# serial =", "serial =");
        assert_eq!(registry(&uncommented).identify(&identity).map(|c| c.id.as_str()), Some("A"));

        // The new consumer's entry, uncommented above the certificate entry, is a whole one.
        let (entries, template) = description.split_once("# a consumer not registered yet").expect("a new consumer's entry");
        let template: String = template.lines().skip(1).map(|line| line.strip_prefix("# ").unwrap_or(line).to_owned() + "\n").collect();
        let consumer = registry(&(template + entries)).identify(&identity).cloned().expect("registered by the template");
        assert_eq!(consumer.id, "90000000000");
        assert!(consumer.system.is_some() && consumer.planned_start.is_some() && consumer.makes_bulk_requests(), "{consumer:?}");
        assert_eq!(consumer.contacts.len(), 1);

        fs::write(&path, "not a certificate").expect("write");
        assert!(describe_certificate(&path).is_err());
    }
}
