//! What identifies a client certificate: its SHA-256 fingerprint, its issuer and its serial
//! number, each in the one canonical form the registry matches on, whether it comes from a
//! certificate or from the text an operator wrote.

use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::name::render_name;

/// What identifies a client certificate, in the canonical forms the registry matches on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CertificateIdentity {
    /// SHA-256 of the certificate's DER: 64 lowercase hex digits, no colons.
    pub sha256_fingerprint: String,
    /// The subject, rendered as the `name` module describes.
    pub subject: String,
    /// The issuer, rendered as the `name` module describes; registry `issuer` values are
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
            sha256_fingerprint: hex::encode(Sha256::digest(der)),
            subject: render_name(certificate.subject()),
            issuer: render_name(certificate.issuer()),
            serial: canonical_serial_from_bytes(certificate.raw_serial()),
        })
    }
}

/// Registry input → the form of [`CertificateIdentity::sha256_fingerprint`], or `None`.
pub(super) fn canonical_fingerprint(text: &str) -> Option<String> {
    hex_digits(text).filter(|hex| hex.len() == 64)
}

/// Registry input → the form of [`CertificateIdentity::serial`], or `None`: hex of the
/// magnitude, `-` first for a negative serial.
pub(super) fn canonical_serial_from_text(text: &str) -> Option<String> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let hex = hex_digits(digits).filter(|hex| !hex.is_empty())?;
    Some(signed(negative, strip_leading_zeros(&hex)))
}

/// Hex as operators paste it (`AB:12 cd`) → lowercase digits only; `None` if anything
/// else is left.
fn hex_digits(text: &str) -> Option<String> {
    let hex: String = text
        .chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    hex.chars().all(|c| c.is_ascii_hexdigit()).then_some(hex)
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
            signed(true, strip_leading_zeros(&hex::encode(&magnitude)))
        }
        _ => strip_leading_zeros(&hex::encode(bytes)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::test_support::riga_der;

    #[test]
    fn identity_renders_subject_issuer_serial_and_fingerprint() {
        let der = riga_der();
        let identity = CertificateIdentity::from_der(&der).expect("identity");
        assert_eq!(identity.subject, "C=LV, O=Rīgas valstspilsētas pašvaldība, CN=SOPA Rīgas Sociālais dienests");
        assert_eq!(identity.issuer, identity.subject);
        assert_eq!(identity.serial, "a1b2c");
        assert_eq!(identity.sha256_fingerprint.len(), 64);
        assert_eq!(identity.sha256_fingerprint, hex::encode(Sha256::digest(&der)));
    }

    #[test]
    fn garbage_and_trailing_bytes_are_not_certificates() {
        assert!(matches!(CertificateIdentity::from_der(b"not a certificate"), Err(IdentityError::Malformed(_))));
        let mut der = riga_der();
        der.push(0);
        assert_eq!(CertificateIdentity::from_der(&der), Err(IdentityError::TrailingBytes(1)));
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
}
