//! The consumer registry: the TOML file the operator keeps, checked whole when loaded, and
//! the lookups from a verified certificate to its [`Consumer`].
//!
//! ```toml
//! [[consumer]]
//! id = "90011524360"                       # institution registration number (or a VISS id such as "AU:100001")
//! name = "Rīgas Sociālais dienests (SOPA)"
//! environment = "test"                     # "test" or "production"
//! services = ["EP115", "EP116", "STATS"]   # or "GetApplicationList" / "GetQueueStatusList" / "GetQueueStatistics"
//!
//! [[consumer.certificate]]                 # by SHA-256 fingerprint of the certificate's DER…
//! sha256 = "ab12…"                         # 64 hex digits; colons, spaces and case are ignored
//!
//! [[consumer.certificate]]                 # …or by issuer and serial number
//! issuer = "C=LV, O=…, CN=…"               # exactly as `spolis-adapter cert-info` prints it
//! serial = "0a1b…"                         # hex; colons, spaces, case and leading zeros are ignored
//! ```
//!
//! A serial is the signed integer its DER INTEGER encodes: `serial = "ef6e"` is 61294
//! (DER `00 ef 6e`), and a certificate whose serial octets are `ef 6e` (−4242: negative
//! serials break RFC 5280 but exist) is registered as `serial = "-1092"`, sign and
//! magnitude, as `openssl x509 -serial` and `spolis-adapter cert-info` print it.
//!
//! Optional per consumer (before its `[[consumer.certificate]]` entries):
//!
//! ```toml
//! allowed_networks = ["10.0.0.0/8", "127.0.0.1/32", "::1/128"]   # absent: any address
//! require_signed_requests = true           # requests must carry a WS-Security signature
//! sender_ids = ["100001"]                  # further ids an IVIS Sender may name it by
//! forwards_for = ["90011524360"]           # an intermediary (the VISS bus): whom it forwards for
//! ```
//!
//! What the access application (seed 000, part III) records about the consumer: optional for
//! the service, but `check-config` reports a production consumer without `system` or a
//! contact (the ministry must be able to tell it about interruptions):
//!
//! ```toml
//! system = "RD Vienotās informācijas sistēmas lietojumprogramma SOPA"   # the calling system
//! planned_start = 2015-10-01               # planned start of the data exchange
//! bulk_requests = { prepared_by = "Jānis Bērziņš, datu analītiķis" }   # registered for bulk requests
//!
//! [[consumer.contact]]                     # one or more: whom to tell about interruptions
//! name = "Anna Kalniņa"
//! position = "IT projektu vadītāja"
//! phone = "+371 67012345"
//! email = "anna.kalnina@example.lv"
//! ```
//!
//! A consumer registered for bulk requests ("Masveida pieprasījums") is not held to the
//! per-operator rate limit and daily quota — one person prepares its batches — but its own
//! limits and daily quota stay, and each of its calls is marked as bulk in the audit record.
//!
//! An intermediary may list `services = []`: it calls nothing for itself. A call it forwards
//! is judged as the registered consumer its IVIS `Sender` names ([`ConsumerRegistry::forwarded_sender`]).
//!
//! A signed request must be signed with the consumer's TLS client certificate or with
//! another certificate registered to it **by fingerprint** (an issuer-and-serial entry is
//! only trusted for the certificate the TLS handshake verified).
//!
//! A consumer may list several certificates (an old and a new one while a certificate is
//! being renewed). Each certificate entry gives either `sha256`, or `issuer` and `serial`,
//! never both. Unknown keys, unknown service names, a consumer id used twice, and the same
//! fingerprint or the same issuer-and-serial listed twice are all errors: a registry that
//! is not exactly understood is not loaded at all.
//!
//! A fingerprint binds one exact certificate. Issuer and serial is what certificate
//! authorities and VISS paperwork usually quote; it is safe only because `tls` has already
//! checked that the issuer really signed the certificate. When a certificate matches a
//! fingerprint entry, that entry wins; the registry cannot detect at load time that a
//! fingerprint entry and an issuer-and-serial entry of different consumers name the same
//! certificate, so keep one binding style per certificate.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::certificate::{canonical_fingerprint, canonical_serial_from_text, CertificateIdentity};
use super::consumer::{sender_institution, BulkRequests, Consumer, Contact};
use super::name::{canonical_name, NameSyntaxError};
use super::network::IpNetwork;
use crate::contract::{Environment, Service};

/// The consumers allowed to call, indexed by how their certificates are bound.
#[derive(Debug, Clone, Default)]
pub struct ConsumerRegistry {
    consumers: Vec<Consumer>,
    /// Canonical fingerprint → index into `consumers`.
    by_fingerprint: HashMap<String, usize>,
    /// Canonical issuer → canonical serial → index into `consumers`. Nested rather than
    /// keyed by a tuple so that a lookup borrows the identity's strings instead of cloning.
    by_issuer_and_serial: HashMap<String, HashMap<String, usize>>,
}

impl ConsumerRegistry {
    /// Reads and checks the registry file; errors name the file and the entry.
    pub fn load(path: &Path) -> Result<Self, RegistryError> {
        let text = fs::read_to_string(path).map_err(|source| RegistryError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text).map_err(|problem| RegistryError::Invalid {
            path: Some(path.to_owned()),
            problem,
        })
    }

    /// Checks registry text given directly (tests, embedded configuration).
    pub fn from_toml_str(text: &str) -> Result<Self, RegistryError> {
        Self::parse(text).map_err(|problem| RegistryError::Invalid {
            path: None,
            problem,
        })
    }

    /// What a production consumer's entry lacks of the access application (seed 000 part
    /// III): the calling system and someone to contact. The service runs without them;
    /// `check-config` reports them.
    pub fn incomplete_production_entries(&self) -> Vec<String> {
        let production = self.consumers.iter().filter(|consumer| consumer.environment == Environment::Production);
        production
            .flat_map(|consumer| {
                let missing_system = consumer.system.is_none().then(|| format!("production consumer {:?} names no system (system = \"…\")", consumer.id));
                let missing_contact = consumer.contacts.is_empty().then(|| format!("production consumer {:?} has no [[consumer.contact]]", consumer.id));
                missing_system.into_iter().chain(missing_contact)
            })
            .collect()
    }

    /// The consumer a verified certificate belongs to: by fingerprint first, then by issuer
    /// and serial; `None` for a certificate nobody registered.
    pub fn identify(&self, certificate: &CertificateIdentity) -> Option<&Consumer> {
        let index = self
            .by_fingerprint
            .get(&certificate.sha256_fingerprint)
            .or_else(|| {
                self.by_issuer_and_serial
                    .get(&certificate.issuer)?
                    .get(&certificate.serial)
            })?;
        self.consumers.get(*index)
    }

    /// The consumer a certificate is registered to by its SHA-256 fingerprint only (64
    /// lowercase hex digits): for certificates that no TLS handshake has verified.
    pub(crate) fn identify_by_fingerprint(&self, fingerprint: &str) -> Option<&Consumer> {
        self.consumers.get(*self.by_fingerprint.get(fingerprint)?)
    }

    /// How many consumers are registered.
    pub fn len(&self) -> usize {
        self.consumers.len()
    }

    /// Whether no consumer is registered (so every call will be refused).
    pub fn is_empty(&self) -> bool {
        self.consumers.is_empty()
    }

    /// The registered consumers, in file order.
    pub fn iter(&self) -> impl Iterator<Item = &Consumer> {
        self.consumers.iter()
    }

    fn parse(text: &str) -> Result<Self, RegistryProblem> {
        let file: RegistryFile =
            toml::from_str(text).map_err(|error| RegistryProblem::Syntax(error.to_string()))?;
        let mut registry = ConsumerRegistry::default();
        // The first entry to claim each id or binding, to name both sides of a duplicate.
        let mut first_with_id: HashMap<String, usize> = HashMap::new();
        for entry in file.consumer {
            let index = registry.consumers.len();
            let id = checked_consumer_id(&entry.id)?;
            if first_with_id.insert(id.clone(), index).is_some() {
                return Err(RegistryProblem::DuplicateConsumerId { id });
            }
            let name = entry.name.trim();
            if name.is_empty() {
                return Err(RegistryProblem::EmptyName { consumer: id });
            }
            // An intermediary may call nothing for itself: it only forwards.
            if entry.services.is_empty() && entry.forwards_for.is_empty() {
                return Err(RegistryProblem::NoServices { consumer: id });
            }
            if entry.certificates.is_empty() {
                return Err(RegistryProblem::NoCertificates { consumer: id });
            }
            for (position, certificate) in entry.certificates.iter().enumerate() {
                let place = EntryPlace {
                    consumer: id.clone(),
                    certificate: position + 1,
                };
                registry.bind(certificate, place, index)?;
            }
            let allowed_networks = entry
                .allowed_networks
                .iter()
                .map(|text| text.parse())
                .collect::<Result<Vec<IpNetwork>, String>>()
                .map_err(|problem| RegistryProblem::BadNetwork { consumer: id.clone(), problem })?;
            let system = match entry.system.as_deref().map(str::trim) {
                Some("") => return Err(RegistryProblem::EmptyField { consumer: id, field: "system" }),
                system => system.map(str::to_owned),
            };
            let planned_start = entry.planned_start.map(|date| calendar_date(date).ok_or_else(|| RegistryProblem::BadPlannedStart { consumer: id.clone(), value: date.to_string() })).transpose()?;
            let contacts = entry.contacts.into_iter().enumerate().map(|(position, contact)| checked_contact(&id, position + 1, contact)).collect::<Result<Vec<_>, _>>()?;
            let bulk_requests = match entry.bulk_requests {
                Some(bulk) if bulk.prepared_by.trim().is_empty() => return Err(RegistryProblem::EmptyField { consumer: id, field: "bulk_requests.prepared_by" }),
                Some(bulk) => Some(BulkRequests { prepared_by: bulk.prepared_by.trim().to_owned() }),
                None => None,
            };
            registry.consumers.push(Consumer {
                id,
                name: name.to_owned(),
                system,
                contacts,
                planned_start,
                bulk_requests,
                environment: entry.environment,
                services: entry.services,
                allowed_networks,
                require_signed_requests: entry.require_signed_requests,
                sender_ids: entry.sender_ids,
                forwards_for: entry.forwards_for,
            });
        }
        for consumer in &registry.consumers {
            for forwarded in &consumer.forwards_for {
                if *forwarded == consumer.id || !first_with_id.contains_key(forwarded) {
                    return Err(RegistryProblem::UnknownForwardedConsumer { consumer: consumer.id.clone(), forwarded: forwarded.clone() });
                }
            }
        }
        Ok(registry)
    }

    /// The consumer an IVIS `Sender` names, among those `intermediary` forwards for.
    pub(crate) fn forwarded_sender(&self, intermediary: &Consumer, sender: &str) -> Option<&Consumer> {
        let institution = sender_institution(sender);
        self.consumers.iter().find(|consumer| intermediary.forwards_for.contains(&consumer.id) && consumer.is_named_by(institution))
    }

    /// Adds one `[[consumer.certificate]]` entry for the consumer that will sit at `index`.
    fn bind(
        &mut self,
        entry: &CertificateEntry,
        place: EntryPlace,
        index: usize,
    ) -> Result<(), RegistryProblem> {
        let already_bound_to = |other: usize, consumers: &[Consumer]| {
            // `other` is either an earlier consumer or the one being built (`index`).
            consumers
                .get(other)
                .map_or_else(|| place.consumer.clone(), |consumer| consumer.id.clone())
        };
        match (&entry.sha256, &entry.issuer, &entry.serial) {
            (Some(fingerprint), None, None) => {
                let fingerprint = canonical_fingerprint(fingerprint).ok_or_else(|| {
                    RegistryProblem::BadFingerprint {
                        place: place.clone(),
                        value: fingerprint.clone(),
                    }
                })?;
                if let Some(&other) = self.by_fingerprint.get(&fingerprint) {
                    return Err(RegistryProblem::DuplicateCertificate {
                        binding: format!("sha256 {fingerprint}"),
                        other_consumer: already_bound_to(other, &self.consumers),
                        place,
                    });
                }
                self.by_fingerprint.insert(fingerprint, index);
            }
            (None, Some(issuer), Some(serial)) => {
                let canonical_issuer =
                    canonical_name(issuer).map_err(|reason| RegistryProblem::BadIssuer {
                        place: place.clone(),
                        value: issuer.clone(),
                        reason,
                    })?;
                let serial = canonical_serial_from_text(serial).ok_or_else(|| {
                    RegistryProblem::BadSerial {
                        place: place.clone(),
                        value: serial.clone(),
                    }
                })?;
                let serials = self
                    .by_issuer_and_serial
                    .entry(canonical_issuer.clone())
                    .or_default();
                if let Some(&other) = serials.get(&serial) {
                    return Err(RegistryProblem::DuplicateCertificate {
                        binding: format!("issuer {canonical_issuer:?} serial {serial}"),
                        other_consumer: already_bound_to(other, &self.consumers),
                        place,
                    });
                }
                serials.insert(serial, index);
            }
            _ => return Err(RegistryProblem::IncompleteCertificate { place }),
        }
        Ok(())
    }
}

/// A registry that could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The registry file could not be read.
    #[error("cannot read the consumer registry {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The contents are wrong; `path` is `None` when they did not come from a file.
    #[error("consumer registry{}: {problem}", in_file(.path.as_deref()))]
    Invalid {
        path: Option<PathBuf>,
        problem: RegistryProblem,
    },
}

impl RegistryError {
    /// What is wrong with the contents, if the file could be read at all.
    pub fn problem(&self) -> Option<&RegistryProblem> {
        match self {
            RegistryError::Read { .. } => None,
            RegistryError::Invalid { problem, .. } => Some(problem),
        }
    }
}

fn in_file(path: Option<&Path>) -> String {
    path.map(|path| format!(" {}", path.display()))
        .unwrap_or_default()
}

/// Which certificate entry of which consumer a problem is in (certificates count from 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPlace {
    /// The consumer's `id`.
    pub consumer: String,
    /// Which of its `[[consumer.certificate]]` entries, counting from 1.
    pub certificate: usize,
}

impl fmt::Display for EntryPlace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "consumer {:?}, certificate {}",
            self.consumer, self.certificate
        )
    }
}

/// What is wrong inside a registry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryProblem {
    /// Not TOML, or not the registry's shape: an unknown key, an unknown service or
    /// environment, a missing field. The text names the line, column and key.
    #[error("{0}")]
    Syntax(String),
    /// A consumer id that is empty, too long, or has characters other than ASCII letters,
    /// digits and `:-_.`.
    #[error("consumer id {id:?} must be 1 to 64 ASCII letters, digits or \":-_.\"")]
    BadConsumerId { id: String },
    /// Two consumers with the same id.
    #[error("consumer {id:?} is registered more than once")]
    DuplicateConsumerId { id: String },
    /// A consumer with a blank name.
    #[error("consumer {consumer:?} has an empty name")]
    EmptyName { consumer: String },
    /// An optional text field given but blank (`system`, a contact's field, who prepares
    /// bulk requests).
    #[error("consumer {consumer:?} has an empty {field}")]
    EmptyField { consumer: String, field: &'static str },
    /// `planned_start` that is not a date alone (`planned_start = 2015-10-01`).
    #[error("consumer {consumer:?}: planned_start {value} must be a date such as 2015-10-01")]
    BadPlannedStart { consumer: String, value: String },
    /// A contact whose e-mail address has no `@`.
    #[error("consumer {consumer:?}, contact {contact}: {value:?} is not an e-mail address")]
    BadContactEmail { consumer: String, contact: usize, value: String },
    /// A consumer with `services = []` that forwards for nobody.
    #[error("consumer {consumer:?} lists no services")]
    NoServices { consumer: String },
    /// `forwards_for` names a consumer that is not registered, or the intermediary itself.
    #[error("consumer {consumer:?} forwards for {forwarded:?}, which is not another registered consumer")]
    UnknownForwardedConsumer { consumer: String, forwarded: String },
    /// An `allowed_networks` entry that is not CIDR notation.
    #[error("consumer {consumer:?}: {problem}")]
    BadNetwork { consumer: String, problem: String },
    /// A consumer with no `[[consumer.certificate]]`.
    #[error("consumer {consumer:?} has no [[consumer.certificate]] entry")]
    NoCertificates { consumer: String },
    /// A certificate entry that gives neither binding, only half of issuer-and-serial, or both.
    #[error("{place}: give either sha256, or issuer and serial")]
    IncompleteCertificate { place: EntryPlace },
    /// A `sha256` that is not 64 hex digits once colons and spaces are removed.
    #[error("{place}: sha256 {value:?} is not 64 hex digits")]
    BadFingerprint { place: EntryPlace, value: String },
    /// A `serial` that is not hex.
    #[error("{place}: serial {value:?} is not a hex number")]
    BadSerial { place: EntryPlace, value: String },
    /// An `issuer` that is not a distinguished name as `cert-info` prints it.
    #[error("{place}: issuer {value:?} cannot be read: {reason}")]
    BadIssuer {
        place: EntryPlace,
        value: String,
        reason: NameSyntaxError,
    },
    /// The same certificate binding listed twice, in one consumer or in two.
    #[error("{place}: {binding} is already registered for consumer {other_consumer:?}")]
    DuplicateCertificate {
        place: EntryPlace,
        binding: String,
        other_consumer: String,
    },
}

/// The registry file as written; turned into [`ConsumerRegistry`] by `parse`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryFile {
    #[serde(default)]
    consumer: Vec<ConsumerEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsumerEntry {
    id: String,
    name: String,
    environment: Environment,
    services: BTreeSet<Service>,
    #[serde(default)]
    allowed_networks: Vec<String>,
    #[serde(default)]
    require_signed_requests: bool,
    #[serde(default)]
    sender_ids: Vec<String>,
    #[serde(default)]
    forwards_for: BTreeSet<String>,
    #[serde(rename = "certificate", default)]
    certificates: Vec<CertificateEntry>,
    system: Option<String>,
    planned_start: Option<toml::value::Datetime>,
    #[serde(rename = "contact", default)]
    contacts: Vec<ContactEntry>,
    bulk_requests: Option<BulkRequestsEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactEntry {
    name: String,
    position: String,
    phone: String,
    email: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BulkRequestsEntry {
    prepared_by: String,
}

/// A contact with every field filled in (the `contact`-th of `consumer`, counting from 1).
fn checked_contact(consumer: &str, contact: usize, entry: ContactEntry) -> Result<Contact, RegistryProblem> {
    let filled = |value: String, field: &'static str| {
        let value = value.trim().to_owned();
        if value.is_empty() {
            return Err(RegistryProblem::EmptyField { consumer: consumer.to_owned(), field });
        }
        Ok(value)
    };
    let email = filled(entry.email, "contact email")?;
    if !email.contains('@') {
        return Err(RegistryProblem::BadContactEmail { consumer: consumer.to_owned(), contact, value: email });
    }
    Ok(Contact { name: filled(entry.name, "contact name")?, position: filled(entry.position, "contact position")?, phone: filled(entry.phone, "contact phone")?, email })
}

/// A TOML local date (no time, no offset) as a calendar date.
fn calendar_date(value: toml::value::Datetime) -> Option<chrono::NaiveDate> {
    match value {
        toml::value::Datetime { date: Some(date), time: None, offset: None } => chrono::NaiveDate::from_ymd_opt(date.year.into(), date.month.into(), date.day.into()),
        _ => None,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CertificateEntry {
    sha256: Option<String>,
    issuer: Option<String>,
    serial: Option<String>,
}

/// Keeps ids to characters that are safe in log lines, file names and audit records.
fn checked_consumer_id(id: &str) -> Result<String, RegistryProblem> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '_' | '.');
    if id.is_empty() || id.len() > 64 || !id.chars().all(allowed) {
        return Err(RegistryProblem::BadConsumerId { id: id.to_owned() });
    }
    Ok(id.to_owned())
}

#[cfg(test)]
mod tests {
    use rcgen::DnType;

    use super::*;
    use crate::identity::test_support::{certificate, riga_der, RegistryText};

    fn registry() -> RegistryText {
        RegistryText::default()
    }

    #[test]
    fn a_certificate_is_found_by_fingerprint() {
        let identity = CertificateIdentity::from_der(&riga_der()).expect("identity");
        let registry = registry()
            .consumer("90011524360")
            .set("services", r#"["EP115", "GetQueueStatusList"]"#)
            .by_fingerprint(&identity.sha256_fingerprint)
            .load();
        assert_eq!(registry.len(), 1);
        let consumer = registry.identify(&identity).expect("registered");
        assert_eq!(consumer.id, "90011524360");
        assert_eq!(consumer.environment, Environment::Test);
        assert!(consumer.may_call(Service::Ep115));
        assert!(consumer.may_call(Service::Ep116));
    }

    #[test]
    fn a_certificate_is_found_by_issuer_and_serial() {
        let identity = CertificateIdentity::from_der(&riga_der()).expect("identity");
        let registry = registry()
            .consumer("90009113532")
            .set("environment", r#""production""#)
            .set("services", r#"["EP116"]"#)
            .by_issuer_and_serial(&identity.issuer, "0a1b2c")
            .load();
        let consumer = registry.identify(&identity).expect("registered");
        assert_eq!(consumer.id, "90009113532");
        assert!(!consumer.may_call(Service::Ep115));
        assert!(consumer.may_call(Service::Ep116));
    }

    #[test]
    fn colons_case_spacing_and_leading_zeros_are_normalised() {
        let identity = CertificateIdentity::from_der(&riga_der()).expect("identity");
        let shouting_fingerprint = identity
            .sha256_fingerprint
            .to_ascii_uppercase()
            .as_bytes()
            .chunks(2)
            .map(|pair| String::from_utf8_lossy(pair).into_owned())
            .collect::<Vec<_>>()
            .join(":");
        let by_fingerprint = registry().consumer("A").by_fingerprint(&shouting_fingerprint).load();
        assert_eq!(by_fingerprint.identify(&identity).map(|c| c.id.as_str()), Some("A"));

        let by_issuer = registry()
            .consumer("B")
            .by_issuer_and_serial("c=LV,o = Rīgas valstspilsētas pašvaldība ,  cn=SOPA Rīgas Sociālais dienests", "00:0A:1B:2C")
            .load();
        assert_eq!(by_issuer.identify(&identity).map(|c| c.id.as_str()), Some("B"));
    }

    #[test]
    fn a_negative_serial_and_its_positive_look_alike_are_different_certificates() {
        let subject = [(DnType::CountryName, "LV"), (DnType::CommonName, "Serial test")];
        // rcgen always encodes a positive serial: make 6f 6e, then set the sign bit in the
        // DER (identities are read from certificates already verified; no signature here).
        let mut negative_der = certificate(&subject, &[0x6f, 0x6e]);
        let at = negative_der.windows(4).position(|w| w == [0x02, 0x02, 0x6f, 0x6e]).expect("the serial");
        negative_der[at + 2] = 0xef;
        let negative = CertificateIdentity::from_der(&negative_der).expect("identity");
        let positive = CertificateIdentity::from_der(&certificate(&subject, &[0x00, 0xef, 0x6e])).expect("identity");
        assert_eq!(negative.serial, "-1092");
        assert_eq!(positive.serial, "ef6e");
        let entry = |serial: &str| registry().consumer("A").by_issuer_and_serial(&positive.issuer, serial).load();
        // The registry syntax of before: hex is the (positive) serial, leading zeros ignored.
        for text in ["ef6e", "00:EF:6E"] {
            let registry = entry(text);
            assert!(registry.identify(&positive).is_some(), "{text}");
            assert!(registry.identify(&negative).is_none(), "{text} matched serial −4242");
        }
        let registry = entry("-1092");
        assert!(registry.identify(&negative).is_some());
        assert!(registry.identify(&positive).is_none());
    }

    #[test]
    fn an_unregistered_certificate_is_nobody() {
        let registered = CertificateIdentity::from_der(&riga_der()).expect("identity");
        let stranger = CertificateIdentity::from_der(&riga_der()).expect("identity");
        let registry = registry().consumer("A").by_fingerprint(&registered.sha256_fingerprint).load();
        // Same subject, issuer and serial, different key: only the fingerprint tells them
        // apart, and it does.
        assert!(registry.identify(&stranger).is_none());
        assert!(ConsumerRegistry::from_toml_str("").expect("empty").identify(&registered).is_none());
    }

    #[test]
    fn a_fingerprint_registered_twice_is_refused() {
        let fingerprint = "ab".repeat(32);
        let twice = registry()
            .consumer("A")
            .by_fingerprint(&fingerprint)
            .consumer("B")
            .set("services", r#"["EP116"]"#)
            .by_fingerprint(&fingerprint.to_ascii_uppercase());
        assert_eq!(
            twice.problem(),
            RegistryProblem::DuplicateCertificate {
                place: EntryPlace { consumer: "B".into(), certificate: 1 },
                binding: format!("sha256 {fingerprint}"),
                other_consumer: "A".into(),
            }
        );
    }

    #[test]
    fn an_issuer_and_serial_registered_twice_is_refused() {
        let thrice = registry()
            .consumer("A")
            .by_issuer_and_serial("C=LV, CN=Example CA", "1f")
            .by_issuer_and_serial("cn=Example CA , c=LV", "1f")
            .by_issuer_and_serial("C=LV,CN=Example CA", "001F");
        assert!(matches!(
            thrice.problem(),
            RegistryProblem::DuplicateCertificate { place, other_consumer, .. }
                if place.certificate == 3 && other_consumer == "A"
        ));
    }

    #[test]
    fn a_consumer_id_registered_twice_is_refused() {
        let twice = registry()
            .consumer("90011524360")
            .by_fingerprint(&"01".repeat(32))
            .consumer("90011524360")
            .by_fingerprint(&"02".repeat(32));
        assert_eq!(twice.problem(), RegistryProblem::DuplicateConsumerId { id: "90011524360".into() });
    }

    #[test]
    fn an_unknown_service_is_refused_by_name() {
        let error = registry().consumer("A").set("services", r#"["EP115", "EP117"]"#).error();
        assert!(matches!(error.problem(), Some(RegistryProblem::Syntax(_))));
        assert!(error.to_string().contains("unknown service \"EP117\""), "{error}");
    }

    #[test]
    fn an_unknown_key_is_refused() {
        for text in [
            registry().consumer("A").set("allow_all", "true").text(),
            registry().consumer("A").certificate("sha1 = \"00\"").text(),
            "[[consumers]]\nid = \"A\"\n".to_owned(),
        ] {
            let error = ConsumerRegistry::from_toml_str(&text).expect_err("unknown key");
            assert!(error.to_string().contains("unknown field"), "{error}");
        }
    }

    #[test]
    fn an_unknown_environment_is_refused() {
        let error = registry().consumer("A").set("environment", r#""staging""#).error();
        assert!(error.to_string().contains("staging"), "{error}");
    }

    #[test]
    fn malformed_certificate_entries_are_refused_with_their_place() {
        let consumer = registry().consumer("A");
        let with = |certificate: &str| consumer.clone().certificate(certificate).problem();
        let place = EntryPlace { consumer: "A".into(), certificate: 1 };
        assert_eq!(with("sha256 = \"abc\""), RegistryProblem::BadFingerprint { place: place.clone(), value: "abc".into() });
        assert_eq!(with("issuer = \"CN=x\"\nserial = \"xyz\""), RegistryProblem::BadSerial { place: place.clone(), value: "xyz".into() });
        assert_eq!(with("issuer = \"CN=x\""), RegistryProblem::IncompleteCertificate { place: place.clone() });
        assert_eq!(
            with(&format!("sha256 = \"{}\"\nissuer = \"CN=x\"\nserial = \"1\"", "00".repeat(32))),
            RegistryProblem::IncompleteCertificate { place: place.clone() }
        );
        assert!(matches!(
            with("issuer = \"Common Name=x\"\nserial = \"1\""),
            RegistryProblem::BadIssuer { reason: NameSyntaxError::UnknownType(_), .. }
        ));
        assert_eq!(consumer.problem(), RegistryProblem::NoCertificates { consumer: "A".into() });
    }

    #[test]
    fn errors_from_a_file_name_the_file() {
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join("consumers.toml");
        fs::write(&path, "[[consumer]]\nid = \"bad id\"\n").expect("write");
        let error = ConsumerRegistry::load(&path).expect_err("bad");
        assert!(error.to_string().contains("consumers.toml"), "{error}");
        let missing = ConsumerRegistry::load(&directory.path().join("absent.toml")).expect_err("missing file");
        assert!(matches!(missing, RegistryError::Read { .. }));
    }

    #[test]
    fn bad_consumer_ids_are_refused() {
        for id in ["", "has space", "quote\"", &"9".repeat(65)] {
            assert_eq!(registry().consumer(id).problem(), RegistryProblem::BadConsumerId { id: id.into() });
        }
    }

    #[test]
    fn allowed_networks_and_signed_requests_are_read_per_consumer() {
        let consumer = |networks: &str| {
            registry()
                .consumer("1")
                .set("allowed_networks", networks)
                .set("require_signed_requests", "true")
                .by_fingerprint("aa11bd35209c60cbe59c644d6809cc46e86b32db962b96cb173b344a00391ed8")
        };
        let registry = consumer(r#"["10.0.0.0/8"]"#).load();
        let consumer_one = registry.iter().next().unwrap();
        assert!(consumer_one.require_signed_requests);
        assert!(consumer_one.may_connect_from("10.1.1.1".parse().unwrap()));
        assert!(!consumer_one.may_connect_from("127.0.0.1".parse().unwrap()));
        let bad = consumer(r#"["10.0.0.0/40"]"#).problem();
        assert!(matches!(bad, RegistryProblem::BadNetwork { .. }), "{bad:?}");
    }

    #[test]
    fn an_intermediary_forwards_only_for_registered_consumers_named_by_the_sender() {
        let with_bus = |forwards_for: &str| {
            let text = registry()
                .consumer("90011524360")
                .set("sender_ids", r#"["100001"]"#)
                .by_fingerprint("aa11bd35209c60cbe59c644d6809cc46e86b32db962b96cb173b344a00391ed8")
                .consumer("bus")
                .set("services", "[]")
                .set("forwards_for", forwards_for)
                .by_fingerprint("bb11bd35209c60cbe59c644d6809cc46e86b32db962b96cb173b344a00391ed8");
            match forwards_for {
                "" => text.unset("forwards_for"),
                _ => text,
            }
        };
        let registry = with_bus(r#"["90011524360"]"#).load();
        let bus = registry.iter().find(|c| c.id == "bus").unwrap();
        assert!(bus.is_intermediary());
        for sender in ["AU:90011524360", "90011524360", "AU:90011524360-PK:12037910015", "AU:100001", " AU:100001-PK:1 "] {
            assert_eq!(registry.forwarded_sender(bus, sender).map(|c| c.id.as_str()), Some("90011524360"), "{sender}");
        }
        for sender in ["AU:9001152436", "PK:90011524360", "AU:bus", "", "AU:"] {
            assert!(registry.forwarded_sender(bus, sender).is_none(), "{sender}");
        }
        let unknown = with_bus(r#"["42"]"#).problem();
        assert!(matches!(unknown, RegistryProblem::UnknownForwardedConsumer { .. }), "{unknown:?}");
        let itself = with_bus(r#"["bus"]"#).problem();
        assert!(matches!(itself, RegistryProblem::UnknownForwardedConsumer { .. }), "{itself:?}");
        let idle = with_bus("").problem();
        assert!(matches!(idle, RegistryProblem::NoServices { .. }), "{idle:?}");
    }

    const CONTACT: &str = "name = \"Anna Kalniņa\"\nposition = \"IT projektu vadītāja\"\nphone = \"+371 67012345\"\nemail = \"anna.kalnina@example.lv\"";

    #[test]
    fn the_access_application_is_recorded_with_the_consumer() {
        let loaded = registry()
            .consumer("90009113532")
            .set("system", r#""RD Vienotās informācijas sistēmas lietojumprogramma SOPA""#)
            .set("planned_start", "2015-10-01")
            .set("bulk_requests", r#"{ prepared_by = " Jānis Bērziņš " }"#)
            .by_fingerprint("aa11bd35209c60cbe59c644d6809cc46e86b32db962b96cb173b344a00391ed8")
            .contact(CONTACT)
            .contact(&CONTACT.replace("Anna Kalniņa", "Pēteris Ozols"))
            .load();
        let consumer = loaded.iter().next().unwrap();
        assert_eq!(consumer.system.as_deref(), Some("RD Vienotās informācijas sistēmas lietojumprogramma SOPA"));
        assert_eq!(consumer.planned_start, chrono::NaiveDate::from_ymd_opt(2015, 10, 1));
        assert_eq!(consumer.contacts.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["Anna Kalniņa", "Pēteris Ozols"]);
        assert_eq!(consumer.contacts[0].email, "anna.kalnina@example.lv");
        assert_eq!(consumer.bulk_requests.as_ref().map(|bulk| bulk.prepared_by.as_str()), Some("Jānis Bērziņš"));
        assert!(consumer.makes_bulk_requests());
        let plain = registry().consumer("1").by_fingerprint("aa11bd35209c60cbe59c644d6809cc46e86b32db962b96cb173b344a00391ed8").load();
        assert!(!plain.iter().next().unwrap().makes_bulk_requests());
    }

    #[test]
    fn an_access_application_half_filled_in_is_refused() {
        let base = || registry().consumer("1").by_fingerprint("aa11bd35209c60cbe59c644d6809cc46e86b32db962b96cb173b344a00391ed8");
        let problem = base().set("system", r#"" ""#).problem();
        assert_eq!(problem, RegistryProblem::EmptyField { consumer: "1".into(), field: "system" });
        let problem = base().set("bulk_requests", r#"{ prepared_by = "" }"#).problem();
        assert_eq!(problem, RegistryProblem::EmptyField { consumer: "1".into(), field: "bulk_requests.prepared_by" });
        let problem = base().contact(&CONTACT.replace("IT projektu vadītāja", "")).problem();
        assert_eq!(problem, RegistryProblem::EmptyField { consumer: "1".into(), field: "contact position" });
        let problem = base().contact(CONTACT).contact(&CONTACT.replace("anna.kalnina@example.lv", "67012345")).problem();
        assert_eq!(problem, RegistryProblem::BadContactEmail { consumer: "1".into(), contact: 2, value: "67012345".into() });
        let problem = base().set("planned_start", "2015-10-01T08:00:00").problem();
        assert!(matches!(problem, RegistryProblem::BadPlannedStart { .. }), "{problem:?}");
        // A contact without a phone, or with a key the registry does not know, is not understood.
        assert!(matches!(base().contact("name = \"A\"\nposition = \"B\"\nemail = \"a@b\"").problem(), RegistryProblem::Syntax(_)));
        assert!(matches!(base().contact(&format!("{CONTACT}\nmobile = \"1\"")).problem(), RegistryProblem::Syntax(_)));
    }

    #[test]
    fn a_production_consumer_without_system_or_contact_is_reported() {
        let loaded = registry()
            .consumer("test-only")
            .by_fingerprint("aa11bd35209c60cbe59c644d6809cc46e86b32db962b96cb173b344a00391ed8")
            .consumer("bare")
            .set("environment", r#""production""#)
            .by_fingerprint("bb11bd35209c60cbe59c644d6809cc46e86b32db962b96cb173b344a00391ed8")
            .consumer("complete")
            .set("environment", r#""production""#)
            .set("system", r#""SOPA""#)
            .by_fingerprint("cc11bd35209c60cbe59c644d6809cc46e86b32db962b96cb173b344a00391ed8")
            .contact(CONTACT)
            .load();
        let reported = loaded.incomplete_production_entries();
        assert_eq!(reported.len(), 2, "{reported:#?}");
        assert!(reported.iter().all(|problem| problem.contains("\"bare\"")), "{reported:#?}");
    }
}
