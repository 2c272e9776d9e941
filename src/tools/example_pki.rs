//! The example PKI: writes a throw-away CA, a server certificate and client certificates
//! for every mutual-TLS case the tests and demos need, plus a consumer registry that
//! registers two of the clients.
//!
//! - **Input → output:** a directory → the files listed in [`EXAMPLE_FILES`] inside it
//!   (created if missing, overwritten if present), keys as PKCS#8 PEM.
//! - **Cases covered:** a registered consumer bound by fingerprint (`riga`, with its
//!   expired predecessor `expired` also listed, so a passing expired certificate would
//!   be a TLS bug and not a registry one), one bound by issuer and serial (`talsi`, on a
//!   P-384 key so both ECDSA curves are exercised), a valid but unregistered client
//!   (`unregistered`), a client with riga's subject issued by a foreign CA (`rogue`), and a
//!   client the CA has revoked (`revoked`), listed in the CA's CRL `ca.crl`.
//! - **Dates:** the committed set (`gen-certs`) is valid from 2026-01-01; the test suites
//!   make the same set dated from the run ([`generate_example_certificates_from`]). CRLs and
//!   clients issued later for a set take their dates from its CA.
//! - **Never:** these certificates say EXAMPLE in their CA name and must never be trusted
//!   in production; the private keys are committed to the repository. Nothing else in
//!   `dir` is read or touched. RSA keys are not made: ring, the only crypto provider we
//!   build with, cannot generate them.

use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use anyhow::Context;
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, CertificateRevocationListParams,
    DistinguishedName, DnType, DnValue, ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyPair,
    KeyUsagePurpose, RevocationReason, RevokedCertParams, SanType, SerialNumber,
    SignatureAlgorithm, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384,
};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::identity::{toml_string, CertificateIdentity};

/// Every file [`generate_example_certificates`] writes.
pub const EXAMPLE_FILES: &[&str] = &[
    "ca.crt",
    "ca.key",
    "server.crt",
    "server.key",
    "riga.crt",
    "riga.key",
    "talsi.crt",
    "talsi.key",
    "unregistered.crt",
    "unregistered.key",
    "bus.crt",
    "bus.key",
    "expired.crt",
    "expired.key",
    "rogue-ca.crt",
    "rogue.crt",
    "rogue.key",
    "consumers.toml",
    "revoked.crt",
    "revoked.key",
    "ca.crl",
];

/// The files [`generate_revocation_examples`] writes (a subset of [`EXAMPLE_FILES`]).
pub const REVOCATION_FILES: &[&str] = &["revoked.crt", "revoked.key", "ca.crl"];

/// Registration number of Rīgas valstspilsētas pašvaldība, used as riga's consumer id.
const RIGA_CONSUMER_ID: &str = "90011524360";
/// Registration number used as talsi's consumer id (example data).
const TALSI_CONSUMER_ID: &str = "90009113532";
/// The example VISS bus's consumer id: an intermediary forwarding riga's and talsi's calls.
const BUS_CONSUMER_ID: &str = "VISS-example";

const COUNTRY: &str = "LV";
const CA_NAME: &str = "SPOLIS adapter EXAMPLE CA — not for production";
const CA_ORGANISATION: &str = "Labklājības ministrija (example)";
const RIGA_ORGANISATION: &str = "Rīgas valstspilsētas pašvaldība";
const RIGA_SYSTEM: &str = "SOPA Rīgas Sociālais dienests";
const BUS_ORGANISATION: &str = "Valsts reģionālās attīstības aģentūra (example)";
const BUS_SYSTEM: &str = "VISS example bus";

/// The validity of everything in an example set, counted from the set's start (the CA's
/// notBefore): the CA for 20 years, the server and clients for 10, the expired client from
/// 6 to 5 years before the start, the CRL issued a day after the start.
#[derive(Debug, Clone, Copy)]
struct Dates {
    start: OffsetDateTime,
}

impl Dates {
    /// The committed `certs-example/`: from 2026-01-01, so regenerating gives certificates
    /// of the same dates.
    fn committed() -> anyhow::Result<Dates> {
        Ok(Dates { start: utc(2026, Month::January, 1)? })
    }

    /// The dates of the set whose CA is `dir/ca.crt`, so that what is issued later for that
    /// set (CRLs, test clients) is valid when the set is.
    fn of_set(dir: &Path) -> anyhow::Result<Dates> {
        let path = dir.join("ca.crt");
        let ders = crate::tls::read_certificates(&path)?;
        let der = ders.first().ok_or_else(|| anyhow::anyhow!("{}: no certificate", path.display()))?;
        let (_, ca) = x509_parser::parse_x509_certificate(der.as_ref()).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Ok(Dates { start: ca.validity().not_before.to_datetime() })
    }

    fn years(self, years: i32) -> OffsetDateTime {
        let year = self.start.year() + years;
        // 29 February has no counterpart in most years: 1 March then.
        let day_before = self.start - time::Duration::DAY;
        self.start.replace_year(year).or_else(|_| day_before.replace_year(year).map(|d| d + time::Duration::DAY)).unwrap_or(self.start)
    }

    fn ca_until(self) -> OffsetDateTime {
        self.years(20)
    }

    fn leaf_until(self) -> OffsetDateTime {
        self.years(10)
    }

    fn crl_issued(self) -> OffsetDateTime {
        self.start + time::Duration::DAY
    }
}

/// Writes the example CA, server and client certificates and `consumers.toml` into `dir`.
///
/// Dates are fixed (valid from 2026-01-01) so that regenerating gives certificates of the
/// same shape; keys, serials and therefore fingerprints change every time, which is why
/// `consumers.toml` is rewritten too.
pub fn generate_example_certificates(dir: &Path) -> anyhow::Result<()> {
    write_example_set(dir, Dates::committed()?)
}

/// Like [`generate_example_certificates`], but valid from `start` instead of 2026-01-01
/// (the expired client ended five years before it): a set that never expires for test
/// runs, made relative to the clock. `start` should be a day or more in the past, so the
/// CRL (issued a day after `start`) is already in force.
pub fn generate_example_certificates_from(dir: &Path, start: OffsetDateTime) -> anyhow::Result<()> {
    // Whole seconds: certificates and CRLs carry no fractions.
    write_example_set(dir, Dates { start: start.replace_nanosecond(0)? })
}

/// For the crate's unit tests: an example set made once per test run, valid from two days
/// ago (as tests/common's `certs_dir` makes for the suites), so no test depends on the
/// committed set not having expired.
#[cfg(test)]
pub(crate) fn clock_relative_set() -> &'static Path {
    static SET: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    SET.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        generate_example_certificates_from(dir.path(), OffsetDateTime::now_utc() - time::Duration::days(2)).expect("example set");
        dir
    })
    .path()
}

fn write_example_set(dir: &Path, dates: Dates) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;

    let ca = Issued::ca(name(CA_ORGANISATION, CA_NAME), dates.start, dates.ca_until())?;
    ca.write(dir, "ca")?;

    let server = Issued::leaf(
        &ca,
        LeafProfile {
            subject: name(CA_ORGANISATION, "localhost"),
            algorithm: &PKCS_ECDSA_P256_SHA256,
            purpose: ExtendedKeyUsagePurpose::ServerAuth,
            alt_names: vec![
                SanType::DnsName("localhost".try_into()?),
                SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            ],
            not_before: dates.start,
            not_after: dates.leaf_until(),
        },
    )?;
    server.write(dir, "server")?;

    let client = |organisation: &str, system: &str, algorithm| -> anyhow::Result<LeafProfile> {
        Ok(LeafProfile {
            subject: name(organisation, system),
            algorithm,
            purpose: ExtendedKeyUsagePurpose::ClientAuth,
            alt_names: Vec::new(),
            not_before: dates.start,
            not_after: dates.leaf_until(),
        })
    };

    let riga = Issued::leaf(
        &ca,
        client(RIGA_ORGANISATION, RIGA_SYSTEM, &PKCS_ECDSA_P256_SHA256)?,
    )?;
    riga.write(dir, "riga")?;

    let talsi = Issued::leaf(
        &ca,
        client(
            "Talsu novada pašvaldība",
            "Talsu novada Sociālais dienests",
            &PKCS_ECDSA_P384_SHA384,
        )?,
    )?;
    talsi.write(dir, "talsi")?;

    let unregistered = Issued::leaf(
        &ca,
        client(
            "Example pašvaldība (not registered)",
            "Unregistered example system",
            &PKCS_ECDSA_P256_SHA256,
        )?,
    )?;
    unregistered.write(dir, "unregistered")?;

    // The bus: the TLS peer of every call it forwards for riga and talsi.
    let bus = Issued::leaf(&ca, client(BUS_ORGANISATION, BUS_SYSTEM, &PKCS_ECDSA_P256_SHA256)?)?;
    bus.write(dir, "bus")?;

    // Riga's previous certificate: same subject, long expired.
    let expired = Issued::leaf(
        &ca,
        LeafProfile {
            not_before: dates.years(-6),
            not_after: dates.years(-5),
            ..client(RIGA_ORGANISATION, RIGA_SYSTEM, &PKCS_ECDSA_P256_SHA256)?
        },
    )?;
    expired.write(dir, "expired")?;

    // A CA nobody trusts, issuing a certificate that claims to be riga.
    let rogue_ca = Issued::ca(
        name(
            "Rogue example organisation",
            "ROGUE example CA — never trust",
        ),
        dates.start,
        dates.ca_until(),
    )?;
    write_file(dir, "rogue-ca.crt", &rogue_ca.certificate.pem())?;
    let rogue = Issued::leaf(
        &rogue_ca,
        client(RIGA_ORGANISATION, RIGA_SYSTEM, &PKCS_ECDSA_P256_SHA256)?,
    )?;
    rogue.write(dir, "rogue")?;

    let riga_identity = CertificateIdentity::from_der(riga.certificate.der())?;
    let expired_identity = CertificateIdentity::from_der(expired.certificate.der())?;
    let talsi_identity = CertificateIdentity::from_der(talsi.certificate.der())?;
    let bus_identity = CertificateIdentity::from_der(bus.certificate.der())?;
    write_file(
        dir,
        "consumers.toml",
        &consumers_toml(&riga_identity, &expired_identity, &talsi_identity, &bus_identity),
    )?;
    write_revocation_examples(dir, &ca, dates)
}

/// Writes only `revoked.crt`, `revoked.key` and `ca.crl`, issued by the CA already in `dir`
/// (`ca.crt`, `ca.key`): every other file, and so every fingerprint, stays as it is.
pub fn generate_revocation_examples(dir: &Path) -> anyhow::Result<()> {
    let dates = Dates::of_set(dir)?;
    write_revocation_examples(dir, &existing_ca(dir, dates)?, dates)
}

/// A CRL (PEM) of the example CA in `dir`, revoking the certificates in the given PEM files
/// (none: an empty CRL); `crl_number` must grow with each new CRL. For tests of revocation.
pub fn example_crl(dir: &Path, revoked: &[&Path], crl_number: u64) -> anyhow::Result<String> {
    let mut serials = Vec::new();
    for path in revoked {
        for der in crate::tls::read_certificates(path)? {
            let (_, certificate) = x509_parser::parse_x509_certificate(der.as_ref()).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            serials.push(SerialNumber::from_slice(certificate.raw_serial()));
        }
    }
    let dates = Dates::of_set(dir)?;
    crl_pem(&existing_ca(dir, dates)?, serials, crl_number, dates)
}

/// A CRL (PEM) of the example CA in `dir`, like [`example_crl`] but with the given
/// thisUpdate and nextUpdate: for tests of stale CRLs and of CRL rollback.
pub fn example_crl_dated(dir: &Path, revoked: &[&Path], crl_number: u64, this_update: OffsetDateTime, next_update: OffsetDateTime) -> anyhow::Result<String> {
    let mut serials = Vec::new();
    for path in revoked {
        for der in crate::tls::read_certificates(path)? {
            let (_, certificate) = x509_parser::parse_x509_certificate(der.as_ref()).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            serials.push(SerialNumber::from_slice(certificate.raw_serial()));
        }
    }
    crl_pem_dated(&existing_ca(dir, Dates::of_set(dir)?)?, serials, crl_number, this_update, next_update)
}

/// A client certificate and its key (both PEM) issued by the example CA in `dir`, valid
/// as long as the set's clients (2026–2036 for the committed set), with exactly the given keyUsage and extendedKeyUsage (empty: the extension
/// is left out): for tests of what a client certificate may be used for.
pub fn example_client_with_usages(dir: &Path, key_usages: Vec<KeyUsagePurpose>, extended_key_usages: Vec<ExtendedKeyUsagePurpose>) -> anyhow::Result<(String, String)> {
    let dates = Dates::of_set(dir)?;
    let ca = existing_ca(dir, dates)?;
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = name("Example pašvaldība (key usage test)", "Key usage test system");
    params.serial_number = Some(random_serial());
    params.not_before = dates.start;
    params.not_after = dates.leaf_until();
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = key_usages;
    params.extended_key_usages = extended_key_usages;
    params.use_authority_key_identifier_extension = true;
    let certificate = params.signed_by(&key, &ca.certificate, &ca.key)?;
    Ok((certificate.pem(), key.serialize_pem()))
}

/// The example CA of `dir` as rcgen needs it to issue: the same name and key as `ca.crt` (a
/// certificate issued with it names that issuer and carries that key's identifier, so it
/// chains to ca.crt).
fn existing_ca(dir: &Path, dates: Dates) -> anyhow::Result<Issued> {
    let key_path = dir.join("ca.key");
    let key_pem = fs::read_to_string(&key_path).with_context(|| format!("cannot read {}", key_path.display()))?;
    let key = KeyPair::from_pem(&key_pem).with_context(|| format!("{}: not a usable key", key_path.display()))?;
    Issued::ca_with_key(name(CA_ORGANISATION, CA_NAME), dates.start, dates.ca_until(), key)
}

fn crl_pem(ca: &Issued, serials: Vec<SerialNumber>, crl_number: u64, dates: Dates) -> anyhow::Result<String> {
    crl_pem_dated(ca, serials, crl_number, dates.crl_issued(), dates.ca_until())
}

fn crl_pem_dated(ca: &Issued, serials: Vec<SerialNumber>, crl_number: u64, this_update: OffsetDateTime, next_update: OffsetDateTime) -> anyhow::Result<String> {
    let revocation_time = this_update;
    let crl = CertificateRevocationListParams {
        this_update,
        next_update,
        crl_number: SerialNumber::from(crl_number),
        issuing_distribution_point: None,
        revoked_certs: serials
            .into_iter()
            .map(|serial_number| RevokedCertParams {
                serial_number,
                revocation_time,
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&ca.certificate, &ca.key)?;
    Ok(crl.pem()?)
}

/// A valid client certificate of the example CA, and the CA's CRL revoking it.
fn write_revocation_examples(dir: &Path, ca: &Issued, dates: Dates) -> anyhow::Result<()> {
    let revoked = Issued::leaf(
        ca,
        LeafProfile {
            subject: name("Example pašvaldība (revoked)", "Revoked example system"),
            algorithm: &PKCS_ECDSA_P256_SHA256,
            purpose: ExtendedKeyUsagePurpose::ClientAuth,
            alt_names: Vec::new(),
            not_before: dates.start,
            not_after: dates.leaf_until(),
        },
    )?;
    revoked.write(dir, "revoked")?;
    let serial = revoked
        .certificate
        .params()
        .serial_number
        .clone()
        .ok_or_else(|| anyhow::anyhow!("the revoked certificate has no serial"))?;
    write_file(dir, "ca.crl", &crl_pem(ca, vec![serial], 1, dates)?)
}

/// A certificate with the key it was issued to.
struct Issued {
    certificate: Certificate,
    key: KeyPair,
}

/// What differs between the end-entity certificates.
struct LeafProfile {
    subject: DistinguishedName,
    algorithm: &'static SignatureAlgorithm,
    purpose: ExtendedKeyUsagePurpose,
    alt_names: Vec<SanType>,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
}

impl Issued {
    /// A self-signed root that may sign end-entity certificates only (path length 0).
    fn ca(
        subject: DistinguishedName,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> anyhow::Result<Self> {
        Self::ca_with_key(subject, not_before, not_after, KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?)
    }

    /// The same, with a given key.
    fn ca_with_key(
        subject: DistinguishedName,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
        key: KeyPair,
    ) -> anyhow::Result<Self> {
        let mut params = CertificateParams::default();
        params.distinguished_name = subject;
        params.serial_number = Some(random_serial());
        params.not_before = not_before;
        params.not_after = not_after;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let certificate = params.self_signed(&key)?;
        Ok(Issued { certificate, key })
    }

    /// An end-entity certificate issued by `issuer`.
    fn leaf(issuer: &Issued, profile: LeafProfile) -> anyhow::Result<Self> {
        let key = KeyPair::generate_for(profile.algorithm)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = profile.subject;
        params.serial_number = Some(random_serial());
        params.not_before = profile.not_before;
        params.not_after = profile.not_after;
        // CA:FALSE stated explicitly, so no verifier can mistake a client for an issuer.
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![profile.purpose];
        params.subject_alt_names = profile.alt_names;
        // Lets verifiers pick the issuing key without trying every CA of the same name.
        params.use_authority_key_identifier_extension = true;
        let certificate = params.signed_by(&key, &issuer.certificate, &issuer.key)?;
        Ok(Issued { certificate, key })
    }

    /// Writes `<stem>.crt` and `<stem>.key`.
    fn write(&self, dir: &Path, stem: &str) -> anyhow::Result<()> {
        write_file(dir, &format!("{stem}.crt"), &self.certificate.pem())?;
        write_file(dir, &format!("{stem}.key"), &self.key.serialize_pem())
    }
}

/// `C=LV, O=<organisation>, CN=<common name>`; the country as PrintableString, as CAs do.
fn name(organisation: &str, common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    // "LV" is within PrintableString's alphabet, so the conversion cannot fail; fall back
    // to UTF8String rather than panic all the same.
    let country = COUNTRY
        .try_into()
        .map(DnValue::PrintableString)
        .unwrap_or_else(|_| DnValue::Utf8String(COUNTRY.to_owned()));
    name.push(DnType::CountryName, country);
    name.push(DnType::OrganizationName, organisation);
    name.push(DnType::CommonName, common_name);
    name
}

/// Midnight UTC of a fixed date.
fn utc(year: i32, month: Month, day: u8) -> anyhow::Result<OffsetDateTime> {
    let date = Date::from_calendar_date(year, month, day)?;
    Ok(PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_utc())
}

/// 16 random bytes with the top bit clear (a positive INTEGER) and the next bit set (so
/// the DER encoding is exactly 16 bytes, never shortened by leading zeros). The randomness
/// comes from a v4 UUID: the crate already depends on `uuid`, which draws from the OS.
fn random_serial() -> SerialNumber {
    let mut bytes = *uuid::Uuid::new_v4().as_bytes();
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::from_slice(&bytes)
}

/// Writes one file; key files are made owner-only on Unix, as real keys must be.
fn write_file(dir: &Path, file_name: &str, contents: &str) -> anyhow::Result<()> {
    let path = dir.join(file_name);
    fs::write(&path, contents).with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    if file_name.ends_with(".key") {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot restrict {}", path.display()))?;
    }
    Ok(())
}

/// The example registry: riga (every service) by fingerprint — its current certificate
/// and the expired one — talsi (EP116 only, no statistics) by issuer and serial, and the bus forwarding
/// for both.
fn consumers_toml(
    riga: &CertificateIdentity,
    riga_expired: &CertificateIdentity,
    talsi: &CertificateIdentity,
    bus: &CertificateIdentity,
) -> String {
    format!(
        r#"# EXAMPLE consumer registry for spolis-adapter — never use in production.
# Generated by `spolis-adapter gen-certs` together with the certificates beside it;
# regenerating makes new keys and serials, so this file is rewritten too.
#
# Format:
#   [[consumer]]                 one per calling system
#   id          institution registration number (or a VISS id such as "AU:100001");
#               ASCII letters, digits and ":-_." only; unique
#   name        for logs and the audit record
#   environment "test" or "production"
#   services    any of "EP115"/"GetApplicationList", "EP116"/"GetQueueStatusList",
#               "STATS"/"GetQueueStatistics" (the queues' statistics, no personal data)
#   sender_ids  (optional) further ids an IVIS Sender may name the institution by
#   forwards_for (optional) an intermediary (the VISS bus): the consumer ids whose IVIS
#               calls it forwards; such a call is judged as the Sender's consumer's
#   system, planned_start, [[consumer.contact]] (name, position, phone, email)
#               (optional) from the access application (seed 000 part III): the calling
#               system, its planned start, whom to tell about interruptions; `check-config`
#               reports a production consumer without a system or a contact
#   bulk_requests = {{ prepared_by = "…" }}  (optional) registered for bulk requests: the
#               per-operator limits do not apply, the consumer's do; audited as bulk
#
#   [[consumer.certificate]]     one or more per consumer (several while renewing)
#   either  sha256 = "…"         SHA-256 of the certificate's DER, 64 hex digits;
#                                colons, spaces and case are ignored
#   or      issuer = "…"         the issuer exactly as `spolis-adapter cert-info` prints it
#           serial = "…"         hex; colons, spaces, case and leading zeros are ignored
#
# Unknown keys, unknown services, a repeated id and a certificate listed twice are
# errors: the adapter refuses to start rather than guess.
# `spolis-adapter cert-info <file.crt>` prints ready-to-paste entries for a certificate.

[[consumer]]
id = {riga_id}
name = "Rīgas Sociālais dienests (SOPA)"
system = "RD Vienotās informācijas sistēmas lietojumprogramma SOPA"
planned_start = 2015-10-01
environment = "test"
services = ["EP115", "EP116", "STATS"]

[[consumer.contact]]
name = "Anna Kalniņa (example)"
position = "IT projektu vadītāja"
phone = "+371 67012345"
email = "anna.kalnina@example.lv"

# riga.crt — subject {riga_subject}
[[consumer.certificate]]
sha256 = {riga_fingerprint}

# expired.crt — riga's previous certificate, expired 2021-01-01. Still listed, as during a
# renewal, so that only certificate validity checking can refuse it.
[[consumer.certificate]]
sha256 = {expired_fingerprint}

[[consumer]]
id = {talsi_id}
name = "Talsu novada Sociālais dienests"
system = "LIETIS"
planned_start = 2016-03-01
environment = "test"
services = ["EP116"]

[[consumer.contact]]
name = "Pēteris Ozols (example)"
position = "sociālā dienesta vadītājs"
phone = "+371 63224567"
email = "peteris.ozols@example.lv"

# talsi.crt — subject {talsi_subject}
[[consumer.certificate]]
issuer = {talsi_issuer}
serial = {talsi_serial}

# The bus: forwards riga's and talsi's IVIS calls; calls nothing for itself.
[[consumer]]
id = {bus_id}
name = "VISS (example bus)"
environment = "test"
services = []
forwards_for = [{riga_id}, {talsi_id}]

# bus.crt — subject {bus_subject}
[[consumer.certificate]]
sha256 = {bus_fingerprint}
"#,
        bus_id = toml_string(BUS_CONSUMER_ID),
        bus_subject = bus.subject,
        bus_fingerprint = toml_string(&bus.sha256_fingerprint),
        riga_id = toml_string(RIGA_CONSUMER_ID),
        riga_subject = riga.subject,
        riga_fingerprint = toml_string(&riga.sha256_fingerprint),
        expired_fingerprint = toml_string(&riga_expired.sha256_fingerprint),
        talsi_id = toml_string(TALSI_CONSUMER_ID),
        talsi_subject = talsi.subject,
        talsi_issuer = toml_string(&talsi.issuer),
        talsi_serial = toml_string(&talsi.serial),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rustls::client::danger::ServerCertVerifier;
    use rustls::client::WebPkiServerVerifier;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::server::WebPkiClientVerifier;
    use rustls::{CertificateError, RootCertStore};
    use x509_parser::extensions::GeneralName;
    use x509_parser::prelude::{FromDer, X509Certificate};

    use super::*;
    use crate::contract::Service;
    use crate::identity::ConsumerRegistry;

    /// Generates once into a temp dir; the `TempDir` keeps the files alive.
    fn generated() -> tempfile::TempDir {
        let directory = tempfile::tempdir().expect("temp dir");
        generate_example_certificates(directory.path()).expect("generation");
        directory
    }

    fn der(directory: &Path, file_name: &str) -> CertificateDer<'static> {
        let pem = fs::read(directory.join(file_name)).expect("certificate file");
        let mut reader = pem.as_slice();
        let first = rustls_pemfile::certs(&mut reader)
            .next()
            .expect("one certificate")
            .expect("valid PEM");
        first
    }

    fn identity(directory: &Path, file_name: &str) -> CertificateIdentity {
        CertificateIdentity::from_der(&der(directory, file_name)).expect("identity")
    }

    fn provider() -> Arc<rustls::crypto::CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    fn trusting(directory: &Path, ca_file: &str) -> Arc<RootCertStore> {
        let mut roots = RootCertStore::empty();
        roots
            .add(der(directory, ca_file))
            .expect("CA accepted as a root");
        Arc::new(roots)
    }

    #[test]
    fn every_listed_file_is_written_and_keys_are_pkcs8() {
        let directory = generated();
        for file_name in EXAMPLE_FILES {
            assert!(directory.path().join(file_name).is_file(), "{file_name}");
        }
        let key = fs::read_to_string(directory.path().join("riga.key")).expect("key");
        assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"), "{key}");
    }

    #[test]
    fn certificates_have_the_promised_shape() {
        let directory = generated();
        let path = directory.path();
        let ca_der = der(path, "ca.crt");
        let (_, ca) = X509Certificate::from_der(&ca_der).expect("CA parses");
        assert!(ca
            .subject()
            .to_string()
            .contains("EXAMPLE CA — not for production"));
        assert!(ca.is_ca());
        let usage = ca.key_usage().expect("extension").expect("present").value;
        assert!(usage.key_cert_sign() && usage.crl_sign());
        assert_eq!(ca.validity().not_before.timestamp(), 1_767_225_600); // 2026-01-01
        assert_eq!(ca.validity().not_after.timestamp(), 2_398_377_600); // 2046-01-01

        let mut serials = Vec::new();
        for file_name in EXAMPLE_FILES.iter().filter(|f| f.ends_with(".crt")) {
            let certificate_der = der(path, file_name);
            let (_, certificate) = X509Certificate::from_der(&certificate_der).expect("parses");
            let serial = certificate.raw_serial();
            assert_eq!(serial.len(), 16, "{file_name}");
            assert!(serial[0] & 0x80 == 0 && serial[0] != 0, "{file_name}");
            serials.push(serial.to_vec());
            if !file_name.contains("ca") {
                let issuer_file = if file_name.starts_with("rogue") {
                    "rogue-ca.crt"
                } else {
                    "ca.crt"
                };
                let issuer_der = der(path, issuer_file);
                let (_, issuer) = X509Certificate::from_der(&issuer_der).expect("parses");
                assert_eq!(certificate.issuer(), issuer.subject(), "{file_name}");
                assert!(!certificate.is_ca(), "{file_name}");
            }
        }
        serials.sort();
        serials.dedup();
        assert_eq!(
            serials.len(),
            EXAMPLE_FILES.iter().filter(|f| f.ends_with(".crt")).count()
        );

        let server_der = der(path, "server.crt");
        let (_, server) = X509Certificate::from_der(&server_der).expect("parses");
        let alt_names = server
            .subject_alternative_name()
            .expect("ext")
            .expect("present");
        let names: Vec<String> = alt_names
            .value
            .general_names
            .iter()
            .map(|name| match name {
                GeneralName::DNSName(dns) => (*dns).to_owned(),
                GeneralName::IPAddress(ip) => format!("{ip:?}"),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(names.contains(&"localhost".to_owned()));
        assert!(
            server
                .extended_key_usage()
                .expect("ext")
                .expect("present")
                .value
                .server_auth
        );

        let expired_der = der(path, "expired.crt");
        let (_, expired) = X509Certificate::from_der(&expired_der).expect("parses");
        assert_eq!(expired.validity().not_after.timestamp(), 1_609_459_200); // 2021-01-01

        let rogue = identity(path, "rogue.crt");
        let riga = identity(path, "riga.crt");
        assert_eq!(rogue.subject, riga.subject);
        assert_ne!(rogue.issuer, riga.issuer);
        assert_eq!(
            riga.subject,
            "C=LV, O=Rīgas valstspilsētas pašvaldība, CN=SOPA Rīgas Sociālais dienests"
        );
    }

    #[test]
    fn the_example_registry_knows_riga_talsi_and_the_bus_only() {
        let directory = generated();
        let path = directory.path();
        let registry =
            ConsumerRegistry::load(&path.join("consumers.toml")).expect("registry loads");
        assert_eq!(registry.len(), 3);

        let bus = registry.identify(&identity(path, "bus.crt")).expect("bus");
        assert_eq!(bus.id, BUS_CONSUMER_ID);
        assert!(bus.is_intermediary() && !bus.may_call(Service::Ep115) && !bus.may_call(Service::Ep116));
        assert_eq!(registry.forwarded_sender(bus, "AU:90011524360").map(|c| c.id.as_str()), Some(RIGA_CONSUMER_ID));

        let riga = registry
            .identify(&identity(path, "riga.crt"))
            .expect("riga");
        assert_eq!(riga.id, RIGA_CONSUMER_ID);
        assert!(riga.may_call(Service::Ep115) && riga.may_call(Service::Ep116) && riga.may_call(Service::QueueStatistics));
        let old_riga = registry
            .identify(&identity(path, "expired.crt"))
            .expect("expired");
        assert_eq!(old_riga.id, RIGA_CONSUMER_ID);

        let talsi = registry
            .identify(&identity(path, "talsi.crt"))
            .expect("talsi");
        assert_eq!(talsi.id, TALSI_CONSUMER_ID);
        assert!(!talsi.may_call(Service::Ep115) && talsi.may_call(Service::Ep116) && !talsi.may_call(Service::QueueStatistics));

        for stranger in ["unregistered.crt", "rogue.crt", "server.crt", "ca.crt"] {
            assert!(
                registry.identify(&identity(path, stranger)).is_none(),
                "{stranger}"
            );
        }
    }

    #[test]
    fn a_set_made_from_a_start_is_dated_from_it_and_so_is_what_it_issues_later() {
        let start = utc(2030, Month::June, 15).expect("date") + time::Duration::hours(13);
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path();
        generate_example_certificates_from(path, start + time::Duration::nanoseconds(5)).expect("generation");
        let validity = |file_name: &str| {
            let der = der(path, file_name);
            let (_, certificate) = X509Certificate::from_der(&der).expect("parses");
            let validity = certificate.validity();
            (validity.not_before.to_datetime(), validity.not_after.to_datetime())
        };
        let years = |n: i32| start.replace_year(2030 + n).expect("date");
        assert_eq!(validity("ca.crt"), (start, years(20)));
        for leaf in ["server.crt", "riga.crt", "talsi.crt", "bus.crt", "unregistered.crt", "revoked.crt"] {
            assert_eq!(validity(leaf), (start, years(10)), "{leaf}");
        }
        assert_eq!(validity("expired.crt"), (years(-6), years(-5)));
        let crl_dates = |pem: &str| {
            let (_, pem) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).expect("PEM");
            let (_, crl) = x509_parser::revocation_list::CertificateRevocationList::from_der(&pem.contents).expect("CRL");
            (crl.last_update().to_datetime(), crl.next_update().map(|t| t.to_datetime()))
        };
        let issued = (start + time::Duration::DAY, Some(years(20)));
        assert_eq!(crl_dates(&fs::read_to_string(path.join("ca.crl")).expect("ca.crl")), issued);
        // Issued later for the same set: dated from its CA, not from 2026.
        assert_eq!(crl_dates(&example_crl(path, &[], 2).expect("CRL")), issued);
        let (certificate, _) = example_client_with_usages(path, Vec::new(), Vec::new()).expect("client");
        let (_, pem) = x509_parser::pem::parse_x509_pem(certificate.as_bytes()).expect("PEM");
        let (_, client) = X509Certificate::from_der(&pem.contents).expect("parses");
        assert_eq!((client.validity().not_before.to_datetime(), client.validity().not_after.to_datetime()), (start, years(10)));
    }

    #[test]
    fn a_set_starting_on_29_february_ends_on_1_march() {
        let dates = Dates { start: utc(2028, Month::February, 29).expect("date") };
        assert_eq!(dates.years(10), utc(2038, Month::March, 1).expect("date"));
        assert_eq!(dates.years(20), utc(2048, Month::February, 29).expect("date"));
    }

    #[test]
    fn rustls_accepts_good_clients_and_refuses_expired_and_rogue_ones() {
        // Checked now, so on a set valid now (the committed dates would expire in 2036).
        let path = clock_relative_set();
        let verifier =
            WebPkiClientVerifier::builder_with_provider(trusting(path, "ca.crt"), provider())
                .build()
                .expect("client verifier");
        let now = UnixTime::now();
        for good in ["riga.crt", "talsi.crt", "unregistered.crt"] {
            verifier
                .verify_client_cert(&der(path, good), &[], now)
                .unwrap_or_else(|error| panic!("{good}: {error}"));
        }
        let expired = verifier
            .verify_client_cert(&der(path, "expired.crt"), &[], now)
            .err();
        assert!(
            matches!(
                expired,
                Some(rustls::Error::InvalidCertificate(
                    CertificateError::Expired | CertificateError::ExpiredContext { .. }
                ))
            ),
            "{expired:?}"
        );
        assert_eq!(
            verifier
                .verify_client_cert(&der(path, "rogue.crt"), &[], now)
                .err(),
            Some(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer
            ))
        );
        // A server certificate is not a client certificate.
        assert!(verifier
            .verify_client_cert(&der(path, "server.crt"), &[], now)
            .is_err());
    }

    #[test]
    fn rustls_accepts_the_server_certificate_for_localhost_and_loopback() {
        // Checked now, so on a set valid now (the committed dates would expire in 2036).
        let path = clock_relative_set();
        let verifier =
            WebPkiServerVerifier::builder_with_provider(trusting(path, "ca.crt"), provider())
                .build()
                .expect("server verifier");
        for host in ["localhost", "127.0.0.1", "::1"] {
            let name = ServerName::try_from(host).expect("server name");
            verifier
                .verify_server_cert(&der(path, "server.crt"), &[], &name, &[], UnixTime::now())
                .unwrap_or_else(|error| panic!("{host}: {error}"));
        }
    }
}
