//! What the unit tests of `identity` share: certificates made on the spot, and registry
//! text built from valid defaults, so that each test writes only what it is about.

use rcgen::{CertificateParams, DistinguishedName, DnType, DnValue, KeyPair, SerialNumber};

use super::{toml_string, ConsumerRegistry, RegistryError, RegistryProblem};

/// A self-signed certificate with the given subject (also its issuer) and serial.
pub(super) fn certificate(subject: &[(DnType, &str)], serial: &[u8]) -> Vec<u8> {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    for (kind, value) in subject {
        name.push(kind.clone(), DnValue::Utf8String((*value).to_owned()));
    }
    params.distinguished_name = name;
    params.serial_number = Some(SerialNumber::from_slice(serial));
    let key = KeyPair::generate().expect("P-256 key generation");
    params.self_signed(&key).expect("signing").der().to_vec()
}

/// A certificate shaped like a municipality's, with a fresh key each call.
pub(super) fn riga_der() -> Vec<u8> {
    certificate(
        &[
            (DnType::CountryName, "LV"),
            (DnType::OrganizationName, "Rīgas valstspilsētas pašvaldība"),
            (DnType::CommonName, "SOPA Rīgas Sociālais dienests"),
        ],
        &[0x00, 0x0a, 0x1b, 0x2c],
    )
}

/// Registry text, one `[[consumer]]` after another. Each consumer starts valid but for its
/// certificates (a name, `environment = "test"`, `services = ["EP115"]`); `set` and `unset`
/// change its fields, and the certificate methods add `[[consumer.certificate]]` entries.
#[derive(Clone, Default)]
pub(super) struct RegistryText {
    consumers: Vec<ConsumerText>,
}

#[derive(Clone)]
struct ConsumerText {
    /// Key and TOML value, in file order.
    fields: Vec<(String, String)>,
    /// The lines of each certificate entry.
    certificates: Vec<String>,
    /// The lines of each `[[consumer.contact]]` entry.
    contacts: Vec<String>,
}

impl RegistryText {
    pub(super) fn consumer(mut self, id: &str) -> Self {
        let fields = [
            ("id", toml_string(id)),
            ("name", toml_string(&format!("consumer {id}"))),
            ("environment", toml_string("test")),
            ("services", r#"["EP115"]"#.to_owned()),
        ];
        self.consumers.push(ConsumerText {
            fields: fields.into_iter().map(|(key, value)| (key.to_owned(), value)).collect(),
            certificates: Vec::new(),
            contacts: Vec::new(),
        });
        self
    }

    /// Sets a field of the last consumer to a TOML value (`r#"["EP116"]"#`, `"true"`).
    pub(super) fn set(mut self, key: &str, value: &str) -> Self {
        let fields = &mut self.last().fields;
        match fields.iter_mut().find(|(known, _)| known == key) {
            Some(field) => field.1 = value.to_owned(),
            None => fields.push((key.to_owned(), value.to_owned())),
        }
        self
    }

    pub(super) fn unset(mut self, key: &str) -> Self {
        self.last().fields.retain(|(known, _)| known != key);
        self
    }

    pub(super) fn by_fingerprint(self, sha256: &str) -> Self {
        self.certificate(&format!("sha256 = {}", toml_string(sha256)))
    }

    pub(super) fn by_issuer_and_serial(self, issuer: &str, serial: &str) -> Self {
        self.certificate(&format!("issuer = {}\nserial = {}", toml_string(issuer), toml_string(serial)))
    }

    /// A certificate entry of the last consumer, its lines as given.
    pub(super) fn certificate(mut self, lines: &str) -> Self {
        self.last().certificates.push(lines.to_owned());
        self
    }

    /// A contact entry of the last consumer, its lines as given.
    pub(super) fn contact(mut self, lines: &str) -> Self {
        self.last().contacts.push(lines.to_owned());
        self
    }

    pub(super) fn text(&self) -> String {
        let mut text = String::new();
        for consumer in &self.consumers {
            text.push_str("[[consumer]]\n");
            for (key, value) in &consumer.fields {
                text.push_str(&format!("{key} = {value}\n"));
            }
            for certificate in &consumer.certificates {
                text.push_str(&format!("[[consumer.certificate]]\n{certificate}\n"));
            }
            for contact in &consumer.contacts {
                text.push_str(&format!("[[consumer.contact]]\n{contact}\n"));
            }
        }
        text
    }

    pub(super) fn load(&self) -> ConsumerRegistry {
        ConsumerRegistry::from_toml_str(&self.text()).expect("registry should load")
    }

    pub(super) fn error(&self) -> RegistryError {
        ConsumerRegistry::from_toml_str(&self.text()).expect_err("registry should be refused")
    }

    /// What is wrong with the contents (not the syntax).
    pub(super) fn problem(&self) -> RegistryProblem {
        self.error().problem().cloned().expect("a content problem")
    }

    fn last(&mut self) -> &mut ConsumerText {
        self.consumers.last_mut().expect("consumer() first")
    }
}
