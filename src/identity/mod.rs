//! Who is calling: maps the client certificate of a TLS connection to a registered
//! [`Consumer`] and says which services it may call.
//!
//! - **Owns:** the consumer registry (a TOML file the operator keeps), the canonical
//!   rendering of certificate names and serials, and [`describe_certificate`], which prints
//!   what the operator must copy into the registry.
//! - **Input → output:** the DER of a client certificate that `tls` has *already verified*
//!   (chain to a trusted CA, validity, clientAuth) → [`CertificateIdentity`] →
//!   `Option<&Consumer>`; the registry file → [`ConsumerRegistry`] or a [`RegistryError`]
//!   naming the file and the entry.
//! - **Never:** this module does not verify signatures, chains or validity dates. An
//!   issuer-and-serial binding is only as good as the chain check done before it, which
//!   is why `tls` must never accept a certificate it has not verified. Nothing here logs or
//!   stores personal codes; subjects and issuers are rendered with control characters
//!   escaped, so they are safe to put in a log line.
//!
//! # The registry file
//!
//! ```toml
//! [[consumer]]
//! id = "90011524360"                       # institution registration number (or a VISS id such as "AU:100001")
//! name = "Rīgas Sociālais dienests (SOPA)"
//! environment = "test"                     # "test" or "production"
//! services = ["EP115", "EP116"]            # or "GetApplicationList" / "GetQueueStatusList"
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
//! ```
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
//!
//! # Name rendering
//!
//! Subjects and issuers are rendered in the order the certificate stores them (country
//! first for most CAs, as `openssl x509 -noout -issuer` prints them, *not* the reversed
//! RFC 4514 order), as `TYPE=value` joined by `", "` (and `" + "` inside a multi-valued
//! RDN). Values are escaped as in RFC 4514 (`\,` `\+` `\"` `\\` `\;` `\<` `\>`, a leading
//! `#` or space, a trailing space) and control characters as `\XX`. The keywords are CN,
//! SN, GN, SERIALNUMBER, C, L, ST, STREET, O, OU, TITLE, ORGANIZATIONIDENTIFIER, UID, DC
//! and EMAILADDRESS; any other type is written as a dotted OID with a `#`-hex DER value.
//!
//! When the registry is loaded, each `issuer` is parsed and re-rendered the same way, so
//! keyword case (`cn=` vs `CN=`), spaces around separators and optional escapes do not
//! matter. Values are compared exactly, case included, and no Unicode normalisation is
//! done: copy the issuer as `spolis-adapter cert-info` prints it.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::Context;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use x509_parser::der_parser::asn1_rs::{Any, Tag, ToDer};
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};

use crate::contract::{Environment, Service};

/// A registered calling system (patērētājs): an institution's system allowed to call some
/// of the services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumer {
    /// The institution's registration number (reģistrācijas numurs), e.g. `"90011524360"`,
    /// or a VISS system id such as `"AU:100001"`. Goes into the audit record.
    pub id: String,
    /// A human-readable name for logs and the audit record.
    pub name: String,
    /// The environment this consumer's certificates are registered for.
    pub environment: Environment,
    /// The services it may call; never empty.
    pub services: BTreeSet<Service>,
    /// The networks it may call from; empty: any address.
    pub allowed_networks: Vec<IpNetwork>,
    /// Whether its requests must carry a WS-Security XML Signature (see `wssec::verify`).
    pub require_signed_requests: bool,
    /// Further identifiers an IVIS `Sender` may name this institution by (e.g. its VISS
    /// authority id), besides `id`; compared without an `AU:` prefix.
    pub sender_ids: Vec<String>,
    /// For an intermediary (the VISS bus): the ids of the consumers it forwards IVIS calls
    /// for. Empty for every other consumer.
    pub forwards_for: BTreeSet<String>,
}

impl Consumer {
    /// Whether this consumer is granted `service`.
    pub fn may_call(&self, service: Service) -> bool {
        self.services.contains(&service)
    }

    /// Whether it may call from `address` (any address when no networks are listed).
    pub fn may_connect_from(&self, address: std::net::IpAddr) -> bool {
        self.allowed_networks.is_empty() || self.allowed_networks.iter().any(|network| network.contains(address))
    }

    /// Whether it forwards calls for other consumers (the VISS bus).
    pub fn is_intermediary(&self) -> bool {
        !self.forwards_for.is_empty()
    }

    /// Whether an IVIS `Sender`'s institution (see [`sender_institution`]) is this consumer.
    pub fn is_named_by(&self, institution: &str) -> bool {
        let bare = |id: &str| id.strip_prefix("AU:").unwrap_or(id).to_owned();
        let institution = bare(institution);
        bare(&self.id) == institution || self.sender_ids.iter().any(|id| bare(id) == institution)
    }
}

/// The institution an IVIS `Sender` (as `soap::ivis` renders it in one line) stands for:
/// `AU:90011524360` and an employee's `AU:90011524360-PK:…` both name `90011524360`; any
/// other form (a resident's `PK:…`, a SystemID) is returned whole and names no institution
/// unless registered so. The personal code of an employee is never part of the result.
pub fn sender_institution(sender: &str) -> &str {
    let sender = sender.trim();
    match sender.strip_prefix("AU:") {
        Some(rest) => rest.split("-PK:").next().unwrap_or(rest),
        None => sender,
    }
}

/// An IP network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`); a bare address is a /32
/// or /128. IPv4-mapped IPv6 client addresses (`::ffff:10.1.2.3`) match IPv4 networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNetwork {
    address: std::net::IpAddr,
    prefix: u8,
}

impl IpNetwork {
    pub fn contains(&self, address: std::net::IpAddr) -> bool {
        use std::net::IpAddr;
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            v4 => v4,
        };
        match (self.address, address) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(network) & mask == u32::from(address) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(network) & mask == u128::from(address) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpNetwork {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{text:?} is not an IP network like \"10.0.0.0/8\"");
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text.trim(), None),
        };
        let address: std::net::IpAddr = address.parse().map_err(|_| bad())?;
        let bits = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) => prefix.parse::<u8>().ok().filter(|p| *p <= bits).ok_or_else(bad)?,
            None => bits,
        };
        Ok(IpNetwork { address, prefix })
    }
}

impl fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

/// What identifies a client certificate, in the canonical forms the registry matches on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CertificateIdentity {
    /// SHA-256 of the certificate's DER: 64 lowercase hex digits, no colons.
    pub sha256_fingerprint: String,
    /// The subject, rendered as the module doc describes.
    pub subject: String,
    /// The issuer, rendered as the module doc describes; registry `issuer` values are
    /// compared with this.
    pub issuer: String,
    /// The serial number as the signed integer DER encodes: lowercase hex of its magnitude
    /// without leading zeros, `-` before a negative one (`"0"` for zero).
    pub serial: String,
}

/// Why bytes could not be read as a certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// Not a DER-encoded X.509 certificate.
    #[error("not a DER X.509 certificate: {0}")]
    Malformed(String),
    /// A certificate followed by extra bytes; the fingerprint would not be the certificate's.
    #[error("{0} unexpected bytes after the certificate")]
    TrailingBytes(usize),
}

impl CertificateIdentity {
    /// Reads the identity of one DER-encoded certificate (as rustls hands it over).
    pub fn from_der(der: &[u8]) -> Result<Self, IdentityError> {
        let (rest, certificate) = X509Certificate::from_der(der)
            .map_err(|error| IdentityError::Malformed(error.to_string()))?;
        if !rest.is_empty() {
            return Err(IdentityError::TrailingBytes(rest.len()));
        }
        Ok(CertificateIdentity {
            sha256_fingerprint: lowercase_hex(&Sha256::digest(der)),
            subject: render_name(certificate.subject()),
            issuer: render_name(certificate.issuer()),
            serial: canonical_serial_from_bytes(certificate.raw_serial()),
        })
    }
}

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
    pub fn identify_by_fingerprint(&self, fingerprint: &str) -> Option<&Consumer> {
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
            registry.consumers.push(Consumer {
                id,
                name: name.to_owned(),
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
    pub fn forwarded_sender(&self, intermediary: &Consumer, sender: &str) -> Option<&Consumer> {
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
    #[error("cannot read the consumer registry {}: {source}", path.display())]
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
    Ok(out)
}

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

fn lowercase_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut hex, byte| {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{byte:02x}");
        hex
    })
}

/// Registry input → the form of [`CertificateIdentity::sha256_fingerprint`], or `None`.
fn canonical_fingerprint(text: &str) -> Option<String> {
    let hex: String = text
        .chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit())).then_some(hex)
}

/// Registry input → the form of [`CertificateIdentity::serial`], or `None`: hex of the
/// magnitude, `-` first for a negative serial.
fn canonical_serial_from_text(text: &str) -> Option<String> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let hex: String = digits
        .chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    Some(signed(negative, strip_leading_zeros(&hex)))
}

/// The serial's content octets, a two's-complement DER INTEGER → the signed integer in the
/// form of [`CertificateIdentity::serial`]. Octets `ef 6e` (−4242) and `00 ef 6e` (61294)
/// are different serials and must never match the same registry entry.
fn canonical_serial_from_bytes(bytes: &[u8]) -> String {
    match bytes.first() {
        Some(first) if first & 0x80 != 0 => {
            // Negative: the magnitude is the two's complement (invert, add one).
            let mut magnitude: Vec<u8> = bytes.iter().map(|byte| !byte).collect();
            for byte in magnitude.iter_mut().rev() {
                let (sum, carry) = byte.overflowing_add(1);
                *byte = sum;
                if !carry {
                    break;
                }
            }
            signed(true, strip_leading_zeros(&lowercase_hex(&magnitude)))
        }
        _ => strip_leading_zeros(&lowercase_hex(bytes)),
    }
}

fn signed(negative: bool, magnitude: String) -> String {
    match negative && magnitude != "0" {
        true => format!("-{magnitude}"),
        false => magnitude,
    }
}

fn strip_leading_zeros(hex: &str) -> String {
    let trimmed = hex.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Attribute keywords this module renders and accepts, by OID. Our own table rather than
/// the parser's registry, so that an upgrade of x509-parser cannot change the rendering
/// operators have copied into registries.
const ATTRIBUTE_KEYWORDS: &[(&str, &str)] = &[
    ("2.5.4.3", "CN"),
    ("2.5.4.4", "SN"),
    ("2.5.4.5", "SERIALNUMBER"),
    ("2.5.4.6", "C"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.9", "STREET"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("2.5.4.12", "TITLE"),
    ("2.5.4.42", "GN"),
    ("2.5.4.97", "ORGANIZATIONIDENTIFIER"),
    ("0.9.2342.19200300.100.1.1", "UID"),
    ("0.9.2342.19200300.100.1.25", "DC"),
    ("1.2.840.113549.1.9.1", "EMAILADDRESS"),
];

/// A distinguished name → the canonical text described in the module doc.
pub(crate) fn render_name(name: &X509Name<'_>) -> String {
    let rdns: Vec<String> = name
        .iter()
        .map(|rdn| {
            let attributes: Vec<String> = rdn
                .iter()
                .map(|attribute| {
                    let oid = attribute.attr_type().to_id_string();
                    let keyword = ATTRIBUTE_KEYWORDS
                        .iter()
                        .find(|(known, _)| *known == oid)
                        .map(|(_, keyword)| *keyword);
                    let value = match (keyword, attribute_text(attribute.attr_value())) {
                        (Some(_), Some(text)) => escape_value(&text),
                        // RFC 4514: a dotted type, or a value that is not a string, is
                        // written as '#' and the hex of its DER.
                        _ => format!("#{}", lowercase_hex(&value_der(attribute.attr_value()))),
                    };
                    format!("{}={value}", keyword.unwrap_or(&oid))
                })
                .collect();
            attributes.join(" + ")
        })
        .collect();
    rdns.join(", ")
}

/// The text of a string-typed attribute value, or `None` for other types.
fn attribute_text(value: &Any<'_>) -> Option<String> {
    match value.tag() {
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::Ia5String
        | Tag::NumericString
        | Tag::VisibleString
        | Tag::T61String => std::str::from_utf8(value.data).ok().map(str::to_owned),
        Tag::BmpString => {
            let units: Vec<u16> = value
                .data
                .chunks_exact(2)
                .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
                .collect();
            (value.data.len() % 2 == 0)
                .then(|| String::from_utf16(&units).ok())
                .flatten()
        }
        Tag::UniversalString => {
            if value.data.len() % 4 != 0 {
                return None;
            }
            value
                .data
                .chunks_exact(4)
                .map(|quad| {
                    char::from_u32(u32::from_be_bytes([quad[0], quad[1], quad[2], quad[3]]))
                })
                .collect()
        }
        _ => None,
    }
}

/// The DER of an attribute value (tag, length, content), for the `#hex` form.
fn value_der(value: &Any<'_>) -> Vec<u8> {
    value.to_der_vec().unwrap_or_else(|_| value.data.to_vec())
}

/// RFC 4514 escaping, plus control characters as `\XX` so a name is always one safe line.
fn escape_value(value: &str) -> String {
    let last = value.chars().count().saturating_sub(1);
    let mut out = String::with_capacity(value.len());
    for (position, c) in value.chars().enumerate() {
        let special = matches!(c, '"' | '+' | ',' | ';' | '<' | '>' | '\\')
            || (position == 0 && (c == '#' || c == ' '))
            || (position == last && c == ' ');
        if special {
            out.push('\\');
            out.push(c);
        } else if c.is_control() {
            let mut buffer = [0u8; 4];
            for byte in c.encode_utf8(&mut buffer).bytes() {
                out.push_str(&format!("\\{byte:02x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Why an `issuer` in the registry is not a readable distinguished name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameSyntaxError {
    /// Nothing but whitespace.
    #[error("it is empty")]
    Empty,
    /// An attribute with no `=`.
    #[error("\"{0}\" has no '='")]
    MissingEquals(String),
    /// An attribute type that is neither a known keyword nor a dotted OID.
    #[error("unknown attribute type {0:?} (use CN, O, OU, C, L, ST, … or a dotted OID)")]
    UnknownType(String),
    /// A `\` not followed by a special character or two hex digits.
    #[error("bad escape after {0:?}")]
    BadEscape(String),
    /// A character RFC 4514 requires to be escaped appears bare.
    #[error("{0:?} must be escaped with '\\'")]
    Unescaped(char),
    /// A `#` value that is not hex.
    #[error("value {0:?} after '#' is not hex")]
    BadHexValue(String),
    /// Escaped bytes that do not form UTF-8.
    #[error("escaped bytes are not UTF-8")]
    NotUtf8,
}

/// Registry input → the same text [`render_name`] gives for that name.
fn canonical_name(text: &str) -> Result<String, NameSyntaxError> {
    if text.trim().is_empty() {
        return Err(NameSyntaxError::Empty);
    }
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    loop {
        // Attribute type, up to '='.
        let mut keyword = String::new();
        let mut found_equals = false;
        for c in chars.by_ref() {
            if c == '=' {
                found_equals = true;
                break;
            }
            keyword.push(c);
        }
        let keyword = keyword.trim();
        if !found_equals {
            return Err(NameSyntaxError::MissingEquals(keyword.to_owned()));
        }
        let keyword = canonical_keyword(keyword)?;

        // Value, up to an unescaped ',' or '+'.
        while chars.next_if(|c| *c == ' ').is_some() {}
        let (value, separator) = if chars.peek() == Some(&'#') {
            chars.next();
            let mut hex = String::new();
            let mut separator = None;
            for c in chars.by_ref() {
                if c == ',' || c == '+' {
                    separator = Some(c);
                    break;
                }
                hex.push(c);
            }
            let hex = hex.trim().to_ascii_lowercase();
            if hex.is_empty() || hex.len() % 2 != 0 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(NameSyntaxError::BadHexValue(hex));
            }
            (format!("#{hex}"), separator)
        } else {
            let mut bytes: Vec<u8> = Vec::new();
            // Bytes up to here came from escapes or non-space characters and survive trimming.
            let mut kept = 0;
            let mut separator = None;
            while let Some(c) = chars.next() {
                match c {
                    ',' | '+' => {
                        separator = Some(c);
                        break;
                    }
                    '\\' => {
                        let escaped = chars.next().ok_or_else(|| {
                            NameSyntaxError::BadEscape(String::from_utf8_lossy(&bytes).into())
                        })?;
                        if let Some(high) = escaped.to_digit(16) {
                            let low =
                                chars.next().and_then(|c| c.to_digit(16)).ok_or_else(|| {
                                    NameSyntaxError::BadEscape(
                                        String::from_utf8_lossy(&bytes).into(),
                                    )
                                })?;
                            // Two hex digits: at most 0xff, so the cast cannot truncate.
                            bytes.push((high * 16 + low) as u8);
                        } else if matches!(
                            escaped,
                            '"' | '+' | ',' | ';' | '<' | '>' | '\\' | '#' | '=' | ' '
                        ) {
                            let mut buffer = [0u8; 4];
                            bytes.extend_from_slice(escaped.encode_utf8(&mut buffer).as_bytes());
                        } else {
                            return Err(NameSyntaxError::BadEscape(
                                String::from_utf8_lossy(&bytes).into(),
                            ));
                        }
                        kept = bytes.len();
                    }
                    '"' | ';' | '<' | '>' => return Err(NameSyntaxError::Unescaped(c)),
                    _ => {
                        let mut buffer = [0u8; 4];
                        bytes.extend_from_slice(c.encode_utf8(&mut buffer).as_bytes());
                        if c != ' ' {
                            kept = bytes.len();
                        }
                    }
                }
            }
            bytes.truncate(kept);
            let value = String::from_utf8(bytes).map_err(|_| NameSyntaxError::NotUtf8)?;
            (escape_value(&value), separator)
        };
        out.push_str(keyword);
        out.push('=');
        out.push_str(&value);
        match separator {
            Some(',') => out.push_str(", "),
            Some(_) => out.push_str(" + "),
            None => return Ok(out),
        }
    }
}

/// A type as written → the keyword [`render_name`] uses (known keywords, any case) or the
/// dotted OID itself.
fn canonical_keyword(keyword: &str) -> Result<&str, NameSyntaxError> {
    if keyword.is_empty() {
        return Err(NameSyntaxError::UnknownType(String::new()));
    }
    if let Some((_, known)) = ATTRIBUTE_KEYWORDS
        .iter()
        .find(|(oid, known)| known.eq_ignore_ascii_case(keyword) || *oid == keyword)
    {
        return Ok(known);
    }
    let dotted = keyword.split('.').count() >= 2
        && keyword
            .split('.')
            .all(|arc| !arc.is_empty() && arc.chars().all(|c| c.is_ascii_digit()));
    if dotted {
        Ok(keyword)
    } else {
        Err(NameSyntaxError::UnknownType(keyword.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use rcgen::{CertificateParams, DistinguishedName, DnType, DnValue, KeyPair, SerialNumber};

    use super::*;

    /// A self-signed certificate with the given subject (also its issuer) and serial.
    fn certificate(subject: &[(DnType, &str)], serial: &[u8]) -> Vec<u8> {
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

    fn riga_der() -> Vec<u8> {
        certificate(
            &[
                (DnType::CountryName, "LV"),
                (DnType::OrganizationName, "Rīgas valstspilsētas pašvaldība"),
                (DnType::CommonName, "SOPA Rīgas Sociālais dienests"),
            ],
            &[0x00, 0x0a, 0x1b, 0x2c],
        )
    }

    fn registry(text: &str) -> ConsumerRegistry {
        ConsumerRegistry::from_toml_str(text).expect("registry should load")
    }

    fn problem(text: &str) -> RegistryProblem {
        ConsumerRegistry::from_toml_str(text)
            .expect_err("registry should be refused")
            .problem()
            .cloned()
            .expect("a content problem")
    }

    #[test]
    fn identity_renders_subject_issuer_serial_and_fingerprint() {
        let der = riga_der();
        let identity = CertificateIdentity::from_der(&der).expect("identity");
        assert_eq!(
            identity.subject,
            "C=LV, O=Rīgas valstspilsētas pašvaldība, CN=SOPA Rīgas Sociālais dienests"
        );
        assert_eq!(identity.issuer, identity.subject);
        assert_eq!(identity.serial, "a1b2c");
        assert_eq!(identity.sha256_fingerprint.len(), 64);
        assert_eq!(
            identity.sha256_fingerprint,
            lowercase_hex(&Sha256::digest(&der))
        );
    }

    #[test]
    fn garbage_and_trailing_bytes_are_not_certificates() {
        assert!(matches!(
            CertificateIdentity::from_der(b"not a certificate"),
            Err(IdentityError::Malformed(_))
        ));
        let mut der = riga_der();
        der.push(0);
        assert_eq!(
            CertificateIdentity::from_der(&der),
            Err(IdentityError::TrailingBytes(1))
        );
    }

    #[test]
    fn a_certificate_is_found_by_fingerprint() {
        let identity = CertificateIdentity::from_der(&riga_der()).expect("identity");
        let registry = registry(&format!(
            r#"
            [[consumer]]
            id = "90011524360"
            name = "Rīgas Sociālais dienests (SOPA)"
            environment = "test"
            services = ["EP115", "GetQueueStatusList"]
            [[consumer.certificate]]
            sha256 = "{}"
            "#,
            identity.sha256_fingerprint
        ));
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
        let registry = registry(&format!(
            r#"
            [[consumer]]
            id = "90009113532"
            name = "Talsu novada Sociālais dienests"
            environment = "production"
            services = ["EP116"]
            [[consumer.certificate]]
            issuer = {}
            serial = "0a1b2c"
            "#,
            toml_string(&identity.issuer)
        ));
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
        let by_fingerprint = registry(&format!(
            r#"
            [[consumer]]
            id = "A"
            name = "a"
            environment = "test"
            services = ["EP115"]
            [[consumer.certificate]]
            sha256 = "{shouting_fingerprint}"
            "#
        ));
        assert_eq!(
            by_fingerprint.identify(&identity).map(|c| c.id.as_str()),
            Some("A")
        );

        let by_issuer = registry(
            r#"
            [[consumer]]
            id = "B"
            name = "b"
            environment = "test"
            services = ["EP115"]
            [[consumer.certificate]]
            issuer = "c=LV,o = Rīgas valstspilsētas pašvaldība ,  cn=SOPA Rīgas Sociālais dienests"
            serial = "00:0A:1B:2C"
            "#,
        );
        assert_eq!(
            by_issuer.identify(&identity).map(|c| c.id.as_str()),
            Some("B")
        );
    }

    #[test]
    fn serials_are_compared_as_the_signed_integers_der_encodes() {
        // Octets ef 6e: −4242; 00 ef 6e: 61294; non-minimal encodings mean the same integer.
        assert_eq!(canonical_serial_from_bytes(&[0xef, 0x6e]), "-1092");
        assert_eq!(canonical_serial_from_bytes(&[0x00, 0xef, 0x6e]), "ef6e");
        assert_eq!(canonical_serial_from_bytes(&[0xff, 0xef, 0x6e]), "-1092");
        assert_eq!(canonical_serial_from_bytes(&[0x00, 0x00, 0x01]), "1");
        assert_eq!(canonical_serial_from_bytes(&[0x80]), "-80");
        assert_eq!(canonical_serial_from_bytes(&[0xff]), "-1");
        assert_eq!(canonical_serial_from_bytes(&[0x00]), "0");
        assert_eq!(canonical_serial_from_bytes(&[]), "0");
        // Registry text: hex of the magnitude (as before), `-` for a negative serial.
        assert_eq!(canonical_serial_from_text("ef6e").as_deref(), Some("ef6e"));
        assert_eq!(canonical_serial_from_text("00:EF:6E").as_deref(), Some("ef6e"));
        assert_eq!(canonical_serial_from_text("-10:92").as_deref(), Some("-1092"));
        assert_eq!(canonical_serial_from_text("-0").as_deref(), Some("0"));
        assert_eq!(canonical_serial_from_text("--1"), None);
        assert_eq!(canonical_serial_from_text("-"), None);
        assert_eq!(canonical_serial_from_text("1-2"), None);
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
        let entry = |serial: &str| {
            registry(&format!(
                "[[consumer]]\nid = \"A\"\nname = \"a\"\nenvironment = \"test\"\nservices = [\"EP115\"]\n[[consumer.certificate]]\nissuer = {}\nserial = \"{serial}\"\n",
                toml_string(&positive.issuer)
            ))
        };
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
        let registry = registry(&format!(
            r#"
            [[consumer]]
            id = "A"
            name = "a"
            environment = "test"
            services = ["EP115"]
            [[consumer.certificate]]
            sha256 = "{}"
            "#,
            registered.sha256_fingerprint
        ));
        // Same subject, issuer and serial, different key: only the fingerprint tells them
        // apart, and it does.
        assert!(registry.identify(&stranger).is_none());
        assert!(ConsumerRegistry::from_toml_str("")
            .expect("empty")
            .identify(&registered)
            .is_none());
    }

    #[test]
    fn a_fingerprint_registered_twice_is_refused() {
        let fingerprint = "ab".repeat(32);
        let text = format!(
            r#"
            [[consumer]]
            id = "A"
            name = "a"
            environment = "test"
            services = ["EP115"]
            [[consumer.certificate]]
            sha256 = "{fingerprint}"
            [[consumer]]
            id = "B"
            name = "b"
            environment = "test"
            services = ["EP116"]
            [[consumer.certificate]]
            sha256 = "{}"
            "#,
            fingerprint.to_ascii_uppercase()
        );
        assert_eq!(
            problem(&text),
            RegistryProblem::DuplicateCertificate {
                place: EntryPlace {
                    consumer: "B".into(),
                    certificate: 1
                },
                binding: format!("sha256 {fingerprint}"),
                other_consumer: "A".into(),
            }
        );
    }

    #[test]
    fn an_issuer_and_serial_registered_twice_is_refused() {
        let text = r#"
            [[consumer]]
            id = "A"
            name = "a"
            environment = "test"
            services = ["EP115"]
            [[consumer.certificate]]
            issuer = "C=LV, CN=Example CA"
            serial = "1f"
            [[consumer.certificate]]
            issuer = "cn=Example CA , c=LV"
            serial = "1f"
            [[consumer.certificate]]
            issuer = "C=LV,CN=Example CA"
            serial = "001F"
            "#;
        assert!(matches!(
            problem(text),
            RegistryProblem::DuplicateCertificate { place, other_consumer, .. }
                if place.certificate == 3 && other_consumer == "A"
        ));
    }

    #[test]
    fn a_consumer_id_registered_twice_is_refused() {
        let entry = |fingerprint: &str| {
            format!(
                r#"
                [[consumer]]
                id = "90011524360"
                name = "x"
                environment = "test"
                services = ["EP115"]
                [[consumer.certificate]]
                sha256 = "{fingerprint}"
                "#
            )
        };
        let text = entry(&"01".repeat(32)) + &entry(&"02".repeat(32));
        assert_eq!(
            problem(&text),
            RegistryProblem::DuplicateConsumerId {
                id: "90011524360".into()
            }
        );
    }

    #[test]
    fn an_unknown_service_is_refused_by_name() {
        let error = ConsumerRegistry::from_toml_str(
            r#"
            [[consumer]]
            id = "A"
            name = "a"
            environment = "test"
            services = ["EP115", "EP117"]
            "#,
        )
        .expect_err("EP117 does not exist");
        assert!(matches!(error.problem(), Some(RegistryProblem::Syntax(_))));
        assert!(
            error.to_string().contains("unknown service \"EP117\""),
            "{error}"
        );
    }

    #[test]
    fn an_unknown_key_is_refused() {
        for text in [
            "[[consumer]]\nid = \"A\"\nname = \"a\"\nenvironment = \"test\"\nservices = [\"EP115\"]\nallow_all = true\n",
            "[[consumer]]\nid = \"A\"\nname = \"a\"\nenvironment = \"test\"\nservices = [\"EP115\"]\n[[consumer.certificate]]\nsha1 = \"00\"\n",
            "[[consumers]]\nid = \"A\"\n",
        ] {
            let error = ConsumerRegistry::from_toml_str(text).expect_err("unknown key");
            assert!(error.to_string().contains("unknown field"), "{error}");
        }
    }

    #[test]
    fn an_unknown_environment_is_refused() {
        let error = ConsumerRegistry::from_toml_str(
            "[[consumer]]\nid = \"A\"\nname = \"a\"\nenvironment = \"staging\"\nservices = [\"EP115\"]\n",
        )
        .expect_err("no staging environment");
        assert!(error.to_string().contains("staging"), "{error}");
    }

    #[test]
    fn malformed_certificate_entries_are_refused_with_their_place() {
        let consumer = "[[consumer]]\nid = \"A\"\nname = \"a\"\nenvironment = \"test\"\nservices = [\"EP115\"]\n";
        let with =
            |certificate: &str| format!("{consumer}[[consumer.certificate]]\n{certificate}\n");
        let place = EntryPlace {
            consumer: "A".into(),
            certificate: 1,
        };
        assert_eq!(
            problem(&with("sha256 = \"abc\"")),
            RegistryProblem::BadFingerprint {
                place: place.clone(),
                value: "abc".into()
            }
        );
        assert_eq!(
            problem(&with("issuer = \"CN=x\"\nserial = \"xyz\"")),
            RegistryProblem::BadSerial {
                place: place.clone(),
                value: "xyz".into()
            }
        );
        assert_eq!(
            problem(&with("issuer = \"CN=x\"")),
            RegistryProblem::IncompleteCertificate {
                place: place.clone()
            }
        );
        assert_eq!(
            problem(&with(&format!(
                "sha256 = \"{}\"\nissuer = \"CN=x\"\nserial = \"1\"",
                "00".repeat(32)
            ))),
            RegistryProblem::IncompleteCertificate {
                place: place.clone()
            }
        );
        assert!(matches!(
            problem(&with("issuer = \"Common Name=x\"\nserial = \"1\"")),
            RegistryProblem::BadIssuer {
                reason: NameSyntaxError::UnknownType(_),
                ..
            }
        ));
        assert_eq!(
            problem(consumer),
            RegistryProblem::NoCertificates {
                consumer: "A".into()
            }
        );
    }

    #[test]
    fn errors_from_a_file_name_the_file() {
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join("consumers.toml");
        fs::write(&path, "[[consumer]]\nid = \"bad id\"\n").expect("write");
        let error = ConsumerRegistry::load(&path).expect_err("bad");
        assert!(error.to_string().contains("consumers.toml"), "{error}");
        let missing = ConsumerRegistry::load(&directory.path().join("absent.toml"))
            .expect_err("missing file");
        assert!(matches!(missing, RegistryError::Read { .. }));
    }

    #[test]
    fn bad_consumer_ids_are_refused() {
        for id in ["", "has space", "quote\"", &"9".repeat(65)] {
            let text = format!(
                "[[consumer]]\nid = {}\nname = \"a\"\nenvironment = \"test\"\nservices = [\"EP115\"]\n",
                toml_string(id)
            );
            assert_eq!(
                problem(&text),
                RegistryProblem::BadConsumerId { id: id.into() }
            );
        }
    }

    #[test]
    fn awkward_names_are_escaped_and_read_back_identically() {
        let der = certificate(
            &[
                (DnType::CountryName, "LV"),
                (
                    DnType::OrganizationName,
                    "Sabiedrība, \"Piemērs\" + Co; <x>\\",
                ),
                (DnType::OrganizationalUnitName, "#hash and trailing space "),
                (DnType::CommonName, "line\nbreak"),
                (DnType::CustomDnType(vec![2, 5, 4, 97]), "NTRLV-90011524360"),
                (
                    DnType::CustomDnType(vec![1, 3, 6, 1, 4, 1, 99999, 1]),
                    "custom",
                ),
            ],
            &[1],
        );
        let issuer = CertificateIdentity::from_der(&der)
            .expect("identity")
            .issuer;
        assert_eq!(
            issuer,
            "C=LV, O=Sabiedrība\\, \\\"Piemērs\\\" \\+ Co\\; \\<x\\>\\\\, \
             OU=\\#hash and trailing space\\ , CN=line\\0abreak, \
             ORGANIZATIONIDENTIFIER=NTRLV-90011524360, 1.3.6.1.4.1.99999.1=#0c06637573746f6d"
        );
        assert_eq!(canonical_name(&issuer), Ok(issuer.clone()));
    }

    #[test]
    fn multi_valued_rdns_and_hex_values_read_back() {
        assert_eq!(
            canonical_name("cn=a+ou=b,1.2.3=#0C0161"),
            Ok("CN=a + OU=b, 1.2.3=#0c0161".into())
        );
        assert_eq!(canonical_name("CN=\\41\\c4\\81"), Ok("CN=Aā".into()));
        assert!(matches!(
            canonical_name("CN=a;b"),
            Err(NameSyntaxError::Unescaped(';'))
        ));
        assert!(matches!(
            canonical_name("CN=a, O"),
            Err(NameSyntaxError::MissingEquals(_))
        ));
        assert_eq!(canonical_name("  "), Err(NameSyntaxError::Empty));
    }

    #[test]
    fn cert_info_output_pastes_into_a_working_registry() {
        let der = riga_der();
        let identity = CertificateIdentity::from_der(&der).expect("identity");
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join("riga.crt");
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            base64_lines(&der)
        );
        fs::write(&path, pem).expect("write");
        let description = describe_certificate(&path).expect("described");
        assert!(
            description.contains(&identity.sha256_fingerprint),
            "{description}"
        );
        assert!(description.contains(&identity.issuer), "{description}");
        let text = format!(
            "[[consumer]]\nid = \"A\"\nname = \"a\"\nenvironment = \"test\"\nservices = [\"EP115\"]\n{description}"
        );
        assert_eq!(
            registry(&text).identify(&identity).map(|c| c.id.as_str()),
            Some("A")
        );
        // The commented-out issuer-and-serial alternative works as well.
        let uncommented = text
            .replace("[[consumer.certificate]]\nsha256", "# sha256")
            .replace("# [[consumer.certificate]]", "[[consumer.certificate]]")
            .replace("# issuer =", "issuer =")
            .replace("# serial =", "serial =");
        let by_issuer = registry(&uncommented);
        assert_eq!(
            by_issuer.identify(&identity).map(|c| c.id.as_str()),
            Some("A")
        );

        fs::write(&path, "not a certificate").expect("write");
        assert!(describe_certificate(&path).is_err());
    }

    /// Standard base64 in 64-character lines, enough to write a PEM file in a test.
    fn base64_lines(bytes: &[u8]) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut encoded = String::new();
        for chunk in bytes.chunks(3) {
            let group = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = u32::from_be_bytes([0, group[0], group[1], group[2]]);
            for position in 0..4 {
                if position <= chunk.len() {
                    encoded.push(ALPHABET[(n >> (18 - 6 * position) & 63) as usize] as char);
                } else {
                    encoded.push('=');
                }
            }
        }
        encoded
            .as_bytes()
            .chunks(64)
            .map(|line| String::from_utf8_lossy(line).into_owned())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn networks_parse_and_match_v4_v6_and_mapped_addresses() {
        let net: IpNetwork = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains("10.200.1.2".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        let host: IpNetwork = "127.0.0.1".parse().unwrap();
        assert_eq!(host.to_string(), "127.0.0.1/32");
        assert!(!host.contains("127.0.0.2".parse().unwrap()));
        let v6: IpNetwork = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()) && !v6.contains("2001:db9::1".parse().unwrap()));
        assert!("0.0.0.0/0".parse::<IpNetwork>().unwrap().contains("8.8.8.8".parse().unwrap()));
        for bad in ["10.0.0.0/33", "10.0.0/8", "any", "::/129", ""] {
            assert!(bad.parse::<IpNetwork>().is_err(), "{bad}");
        }
    }

    #[test]
    fn allowed_networks_and_signed_requests_are_read_per_consumer() {
        let text = r#"
[[consumer]]
id = "1"
name = "A"
environment = "test"
services = ["EP115"]
allowed_networks = ["10.0.0.0/8"]
require_signed_requests = true
[[consumer.certificate]]
sha256 = "aa11bd35209c60cbe59c644d6809cc46e86b32db962b96cb173b344a00391ed8"
"#;
        let registry = registry(text);
        let consumer = registry.iter().next().unwrap();
        assert!(consumer.require_signed_requests);
        assert!(consumer.may_connect_from("10.1.1.1".parse().unwrap()));
        assert!(!consumer.may_connect_from("127.0.0.1".parse().unwrap()));
        let bad = problem(&text.replace("10.0.0.0/8", "10.0.0.0/40"));
        assert!(matches!(bad, RegistryProblem::BadNetwork { .. }), "{bad:?}");
    }

    #[test]
    fn an_intermediary_forwards_only_for_registered_consumers_named_by_the_sender() {
        let text = r#"
[[consumer]]
id = "90011524360"
name = "Riga"
environment = "test"
services = ["EP115"]
sender_ids = ["100001"]
[[consumer.certificate]]
sha256 = "aa11bd35209c60cbe59c644d6809cc46e86b32db962b96cb173b344a00391ed8"
[[consumer]]
id = "bus"
name = "Bus"
environment = "test"
services = []
forwards_for = ["90011524360"]
[[consumer.certificate]]
sha256 = "bb11bd35209c60cbe59c644d6809cc46e86b32db962b96cb173b344a00391ed8"
"#;
        let registry = registry(text);
        let bus = registry.iter().find(|c| c.id == "bus").unwrap();
        assert!(bus.is_intermediary());
        for sender in ["AU:90011524360", "90011524360", "AU:90011524360-PK:12037910015", "AU:100001", " AU:100001-PK:1 "] {
            assert_eq!(registry.forwarded_sender(bus, sender).map(|c| c.id.as_str()), Some("90011524360"), "{sender}");
        }
        for sender in ["AU:9001152436", "PK:90011524360", "AU:bus", "", "AU:"] {
            assert!(registry.forwarded_sender(bus, sender).is_none(), "{sender}");
        }
        let unknown = problem(&text.replace(r#"forwards_for = ["90011524360"]"#, r#"forwards_for = ["42"]"#));
        assert!(matches!(unknown, RegistryProblem::UnknownForwardedConsumer { .. }), "{unknown:?}");
        let itself = problem(&text.replace(r#"forwards_for = ["90011524360"]"#, r#"forwards_for = ["bus"]"#));
        assert!(matches!(itself, RegistryProblem::UnknownForwardedConsumer { .. }), "{itself:?}");
        let idle = problem(&text.replace(r#"forwards_for = ["90011524360"]"#, ""));
        assert!(matches!(idle, RegistryProblem::NoServices { .. }), "{idle:?}");
    }

}
