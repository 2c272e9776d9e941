//! `spolis-adapter cert-info`: what an operator must copy into the registry for each
//! certificate of a file, printed as ready-to-paste `[[consumer.certificate]]` entries.

use std::fs;
use std::path::{Path, PathBuf};

use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::time::ASN1Time;

use super::certificate::{CertificateIdentity, IdentityError};

/// Why `cert-info` cannot describe a file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertInfoError {
    #[error("cannot read {}", .path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{} holds no readable certificate: malformed PEM", .path.display())]
    MalformedPem { path: PathBuf, source: std::io::Error },
    #[error("{} holds no readable certificate: no PEM CERTIFICATE block and not DER", .path.display())]
    NotACertificate { path: PathBuf },
    #[error("certificate {position} in {}", .path.display())]
    Certificate { position: usize, path: PathBuf, source: IdentityError },
}

/// Prints what the operator needs to register each certificate in a PEM (or DER) file:
/// fingerprint, subject, issuer, serial, validity, and ready-to-paste registry entries.
pub fn describe_certificate(path: &Path) -> Result<String, CertInfoError> {
    let bytes = fs::read(path).map_err(|source| CertInfoError::Read { path: path.to_path_buf(), source })?;
    let ders = certificates_in(&bytes, path)?;
    let mut out = String::new();
    for (position, der) in ders.iter().enumerate() {
        let unreadable = |source| CertInfoError::Certificate { position: position + 1, path: path.to_path_buf(), source };
        let identity = CertificateIdentity::from_der(der).map_err(unreadable)?;
        // Cannot fail: `from_der` just parsed the same bytes.
        let (_, certificate) = X509Certificate::from_der(der).map_err(|error| unreadable(IdentityError::Malformed(error.to_string())))?;
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
            utc_timestamp(validity.not_before),
            utc_timestamp(validity.not_after),
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
fn certificates_in(bytes: &[u8], path: &Path) -> Result<Vec<Vec<u8>>, CertInfoError> {
    let mut reader = bytes;
    let ders = rustls_pemfile::certs(&mut reader)
        .map(|certificate| certificate.map(|der| der.as_ref().to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| CertInfoError::MalformedPem { path: path.to_path_buf(), source })?;
    if !ders.is_empty() {
        return Ok(ders);
    }
    if bytes.first() == Some(&0x30) {
        // A DER SEQUENCE: let `CertificateIdentity::from_der` judge it.
        return Ok(vec![bytes.to_vec()]);
    }
    Err(CertInfoError::NotACertificate { path: path.to_path_buf() })
}

/// `YYYY-MM-DD HH:MM:SS UTC`.
fn utc_timestamp(moment: ASN1Time) -> String {
    chrono::DateTime::from_timestamp(moment.timestamp(), 0)
        .map_or_else(|| format!("{} s after 1970 UTC", moment.timestamp()), |moment| moment.format("%Y-%m-%d %H:%M:%S UTC").to_string())
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

    #[test]
    fn validity_times_read_as_utc() {
        let moment = ASN1Time::from_timestamp(1_796_195_646).expect("a time");
        assert_eq!(utc_timestamp(moment), "2026-12-02 07:14:06 UTC");
    }
}
