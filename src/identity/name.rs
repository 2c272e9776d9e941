//! Distinguished names both ways: a certificate's subject or issuer → one line of text
//! ([`render_name`]), and the `issuer` an operator wrote in the registry → the same text
//! ([`canonical_name`]), so that the two compare as strings.
//!
//! Names are rendered in the order the certificate stores them (country first for most
//! CAs, as `openssl x509 -noout -issuer` prints them, *not* the reversed RFC 4514 order), as
//! `TYPE=value` joined by `", "` (and `" + "` inside a multi-valued RDN). Values are escaped
//! as in RFC 4514 (`\,` `\+` `\"` `\\` `\;` `\<` `\>`, a leading `#` or space, a trailing
//! space) and control characters as `\XX`. The keywords are CN, SN, GN, SERIALNUMBER, C, L,
//! ST, STREET, O, OU, TITLE, ORGANIZATIONIDENTIFIER, UID, DC and EMAILADDRESS; any other
//! type is written as a dotted OID with a `#`-hex DER value.
//!
//! When the registry is loaded, each `issuer` is parsed and re-rendered the same way, so
//! keyword case (`cn=` vs `CN=`), spaces around separators and optional escapes do not
//! matter. Values are compared exactly, case included, and no Unicode normalisation is
//! done: copy the issuer as `spolis-adapter cert-info` prints it.

use x509_parser::der_parser::asn1_rs::{Any, Tag, ToDer};
use x509_parser::prelude::X509Name;

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

/// A distinguished name → the canonical text this module's doc describes.
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
                        _ => format!("#{}", hex::encode(value_der(attribute.attr_value()))),
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
pub(super) fn canonical_name(text: &str) -> Result<String, NameSyntaxError> {
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
    use rcgen::DnType;

    use super::*;
    use crate::identity::test_support::certificate;
    use crate::identity::CertificateIdentity;

    #[test]
    fn awkward_names_are_escaped_and_read_back_identically() {
        let der = certificate(
            &[
                (DnType::CountryName, "LV"),
                (DnType::OrganizationName, "Sabiedrība, \"Piemērs\" + Co; <x>\\"),
                (DnType::OrganizationalUnitName, "#hash and trailing space "),
                (DnType::CommonName, "line\nbreak"),
                (DnType::CustomDnType(vec![2, 5, 4, 97]), "NTRLV-90011524360"),
                (DnType::CustomDnType(vec![1, 3, 6, 1, 4, 1, 99999, 1]), "custom"),
            ],
            &[1],
        );
        let issuer = CertificateIdentity::from_der(&der).expect("identity").issuer;
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
        assert_eq!(canonical_name("cn=a+ou=b,1.2.3=#0C0161"), Ok("CN=a + OU=b, 1.2.3=#0c0161".into()));
        assert_eq!(canonical_name("CN=\\41\\c4\\81"), Ok("CN=Aā".into()));
        assert!(matches!(canonical_name("CN=a;b"), Err(NameSyntaxError::Unescaped(';'))));
        assert!(matches!(canonical_name("CN=a, O"), Err(NameSyntaxError::MissingEquals(_))));
        assert_eq!(canonical_name("  "), Err(NameSyntaxError::Empty));
    }
}
