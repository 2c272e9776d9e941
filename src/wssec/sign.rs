//! Signing answers: a WS-Security header with a `wsu:Timestamp` and an XML Signature over
//! the SOAP Body and the Timestamp (Exclusive C14N, SHA-256, ECDSA or RSA), made with the
//! server's TLS key and carrying its certificate in `ds:KeyInfo/ds:X509Data`.
//!
//! No general canonicaliser is needed: every signed element is written here, or by
//! [`XmlWriter`], already in Exclusive C14N form (namespace declarations the element uses,
//! sorted; attributes sorted; start and end tags; C14N escaping; no whitespace), so the bytes
//! that are digested are the bytes that are sent. The tests prove it by verifying answers with
//! xmlsec1 and signxml. Never put anything into a signed part that bypasses `XmlWriter`'s
//! escaping.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use chrono::{DateTime, Utc};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, RsaKeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::soap::SoapVersion;

use super::{DSIG_NS, EXC_C14N, SHA256_DIGEST, WSSE_NS, WSU_NS};

/// Why the server's certificate and key cannot sign answers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnswerSignerError {
    #[error(transparent)]
    Files(#[from] crate::tls::PemError),
    #[error("{}: cannot sign answers with it", .private_key.display())]
    Key { private_key: PathBuf, source: SigningKeyError },
}

/// What is wrong with a certificate and key for signing answers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SigningKeyError {
    #[error("no certificate")]
    NoCertificate,
    #[error("the key is neither ECDSA P-256/P-384 nor RSA")]
    Unsupported,
    #[error("not a usable RSA key: {0}")]
    Rsa(ring::error::KeyRejected),
    #[error("the SEC1 key names no supported curve")]
    Sec1NoCurve,
    #[error("the SEC1 key is not on P-256 or P-384")]
    Sec1Curve,
    #[error("unsupported private key format")]
    Format,
    /// The probe signature failed.
    #[error(transparent)]
    Probe(#[from] SignatureFailed),
}

/// The key refused to sign (ring says no more).
#[derive(Debug, thiserror::Error)]
#[error("{algorithm} signing failed")]
pub struct SignatureFailed {
    algorithm: &'static str,
}

/// The server's signing key, as read from its TLS key file.
enum SigningKey {
    Ecdsa { key: EcdsaKeyPair, method: &'static str },
    Rsa(RsaKeyPair),
}

/// Signs answers with the server's key and certificate.
pub struct AnswerSigner {
    key: SigningKey,
    /// The end-entity certificate, base64 (`ds:X509Certificate`).
    certificate_base64: String,
    rng: SystemRandom,
    /// How long an answer's Timestamp says it is fresh (`Expires` − `Created`).
    validity: chrono::Duration,
}

impl std::fmt::Debug for AnswerSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnswerSigner").field("method", &self.method()).finish_non_exhaustive()
    }
}

impl AnswerSigner {
    /// Reads the server's certificate chain and key (PEM) the way `tls` does.
    pub fn load(certificate: &Path, private_key: &Path, validity: chrono::Duration) -> Result<AnswerSigner, AnswerSignerError> {
        let chain = crate::tls::read_certificates(certificate)?;
        let key = crate::tls::read_private_key(private_key)?;
        AnswerSigner::new(&chain, &key, validity).map_err(|source| AnswerSignerError::Key { private_key: private_key.to_path_buf(), source })
    }

    /// A signer for an end-entity certificate (first of `chain`) and its key: ECDSA P-256 or
    /// P-384 (PKCS#8 or SEC1), or RSA (PKCS#8 or PKCS#1).
    pub fn new(chain: &[CertificateDer<'_>], key: &PrivateKeyDer<'_>, validity: chrono::Duration) -> Result<AnswerSigner, SigningKeyError> {
        let certificate = chain.first().ok_or(SigningKeyError::NoCertificate)?;
        let rng = SystemRandom::new();
        let key = match key {
            PrivateKeyDer::Pkcs8(der) => ecdsa_from_pkcs8(der.secret_pkcs8_der(), &rng)
                .or_else(|| RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).ok().map(SigningKey::Rsa))
                .ok_or(SigningKeyError::Unsupported)?,
            PrivateKeyDer::Pkcs1(der) => SigningKey::Rsa(RsaKeyPair::from_der(der.secret_pkcs1_der()).map_err(SigningKeyError::Rsa)?),
            PrivateKeyDer::Sec1(der) => {
                ecdsa_from_pkcs8(&sec1_to_pkcs8(der.secret_sec1_der())?, &rng).ok_or(SigningKeyError::Sec1Curve)?
            }
            _ => return Err(SigningKeyError::Format),
        };
        let signer = AnswerSigner { key, certificate_base64: BASE64.encode(certificate.as_ref()), rng, validity };
        // A key that does not fit the certificate would sign answers nobody can verify; the
        // TLS configuration already refuses that, this makes sure signing works at all.
        signer.sign(b"probe")?;
        Ok(signer)
    }

    /// The XML Signature method URI.
    pub fn method(&self) -> &'static str {
        match &self.key {
            SigningKey::Ecdsa { method, .. } => method,
            SigningKey::Rsa(_) => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        }
    }

    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, SignatureFailed> {
        match &self.key {
            SigningKey::Ecdsa { key, .. } => {
                // The FIXED encoding (r ‖ s) is what XML Signature's ECDSA methods use.
                Ok(key.sign(&self.rng, data).map_err(|_| SignatureFailed { algorithm: "ECDSA" })?.as_ref().to_vec())
            }
            SigningKey::Rsa(key) => {
                let mut signature = vec![0; key.public().modulus_len()];
                key.sign(&signature::RSA_PKCS1_SHA256, &self.rng, data, &mut signature)
                    .map_err(|_| SignatureFailed { algorithm: "RSA" })?;
                Ok(signature)
            }
        }
    }

    /// The complete answer envelope around `payload` (the SOAP Body's content, as written by
    /// `XmlWriter`), with the WS-Security header signing Body and Timestamp.
    pub fn envelope(&self, version: SoapVersion, payload: &str, call_id: Uuid, now: DateTime<Utc>) -> Result<String, SignatureFailed> {
        let soap_ns = version.namespace();
        let body_id = format!("Body-{call_id}");
        let timestamp_id = format!("TS-{call_id}");
        let body = format!(r#"<soap:Body xmlns:soap="{soap_ns}" xmlns:wsu="{WSU_NS}" wsu:Id="{body_id}">{payload}</soap:Body>"#);
        let timestamp = format!(
            r#"<wsu:Timestamp xmlns:wsu="{WSU_NS}" wsu:Id="{timestamp_id}"><wsu:Created>{}</wsu:Created><wsu:Expires>{}</wsu:Expires></wsu:Timestamp>"#,
            xsd_date_time(now),
            xsd_date_time(now + self.validity),
        );
        let mut signed_info = format!(
            r#"<ds:SignedInfo xmlns:ds="{DSIG_NS}"><ds:CanonicalizationMethod Algorithm="{EXC_C14N}"></ds:CanonicalizationMethod><ds:SignatureMethod Algorithm="{}"></ds:SignatureMethod>"#,
            self.method()
        );
        for (id, canonical) in [(&body_id, &body), (&timestamp_id, &timestamp)] {
            signed_info.push_str(&format!(
                r##"<ds:Reference URI="#{id}"><ds:Transforms><ds:Transform Algorithm="{EXC_C14N}"></ds:Transform></ds:Transforms><ds:DigestMethod Algorithm="{SHA256_DIGEST}"></ds:DigestMethod><ds:DigestValue>{}</ds:DigestValue></ds:Reference>"##,
                BASE64.encode(Sha256::digest(canonical.as_bytes()))
            ));
        }
        signed_info.push_str("</ds:SignedInfo>");
        let signature_value = BASE64.encode(self.sign(signed_info.as_bytes())?);

        let mut out = String::with_capacity(payload.len() + signed_info.len() + self.certificate_base64.len() + 1024);
        out.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
        out.push_str(&format!(r#"<soap:Envelope xmlns:soap="{soap_ns}"><soap:Header>"#));
        out.push_str(&format!(r#"<wsse:Security xmlns:wsse="{WSSE_NS}" xmlns:wsu="{WSU_NS}">"#));
        out.push_str(&timestamp);
        out.push_str(&format!(r#"<ds:Signature xmlns:ds="{DSIG_NS}">"#));
        out.push_str(&signed_info);
        out.push_str(&format!(
            "<ds:SignatureValue>{signature_value}</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>",
            self.certificate_base64
        ));
        out.push_str("</wsse:Security></soap:Header>");
        out.push_str(&body);
        out.push_str("</soap:Envelope>");
        Ok(out)
    }
}

/// `xs:dateTime` in UTC with milliseconds, as WS-Security timestamps are usually written.
pub fn xsd_date_time(moment: DateTime<Utc>) -> String {
    moment.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn ecdsa_from_pkcs8(pkcs8: &[u8], rng: &SystemRandom) -> Option<SigningKey> {
    let curves: [(&'static signature::EcdsaSigningAlgorithm, &'static str); 2] = [
        (&signature::ECDSA_P256_SHA256_FIXED_SIGNING, "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"),
        (&signature::ECDSA_P384_SHA384_FIXED_SIGNING, "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"),
    ];
    curves
        .into_iter()
        .find_map(|(algorithm, method)| EcdsaKeyPair::from_pkcs8(algorithm, pkcs8, rng).ok().map(|key| SigningKey::Ecdsa { key, method }))
}

/// Wraps a SEC1 `ECPrivateKey` (which names its curve) into the PKCS#8 ring reads.
fn sec1_to_pkcs8(sec1: &[u8]) -> Result<Vec<u8>, SigningKeyError> {
    const P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    const P384: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
    let curve = [P256, P384]
        .into_iter()
        .find(|oid| sec1.windows(oid.len()).any(|window| window == *oid))
        .ok_or(SigningKeyError::Sec1NoCurve)?;
    let ec_public_key: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    let algorithm = der(0x30, &[ec_public_key, curve].concat());
    let version = [0x02, 0x01, 0x00];
    Ok(der(0x30, &[&version[..], &algorithm, &der(0x04, sec1)].concat()))
}

/// One DER TLV.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let length = content.len();
    if length < 0x80 {
        out.push(length as u8);
    } else {
        let bytes: Vec<u8> = length.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{parse, XmlLimits};

    fn example_signer() -> AnswerSigner {
        let dir = crate::tools::example_pki::clock_relative_set();
        AnswerSigner::load(&dir.join("server.crt"), &dir.join("server.key"), chrono::Duration::minutes(5)).unwrap()
    }

    #[test]
    fn the_example_key_is_ecdsa_p256() {
        assert_eq!(example_signer().method(), "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256");
    }

    #[test]
    fn a_signed_envelope_is_well_formed_and_digests_what_it_sends() {
        let signer = example_signer();
        let payload = r#"<R xmlns="urn:r"><A>"x" &amp; 'y' &lt;z&gt;</A></R>"#;
        let text = signer.envelope(SoapVersion::V12, payload, Uuid::nil(), Utc::now()).unwrap();
        let root = parse(text.as_bytes(), &XmlLimits::default()).unwrap();
        assert_eq!(root.children.len(), 2);
        let body_start = text.find("<soap:Body").unwrap();
        let body = &text[body_start..text.len() - "</soap:Envelope>".len()];
        let digest = BASE64.encode(Sha256::digest(body.as_bytes()));
        assert!(text.contains(&format!("<ds:DigestValue>{digest}</ds:DigestValue>")));
    }

    #[test]
    fn sec1_keys_are_wrapped_for_ring() {
        // A throw-away key made with `openssl ecparam -name prime256v1 -genkey -noout`.
        const SEC1: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIKtWrHCauolcxYYyHv3igk2y83A2ta4l0RaZLP/2TjtgoAoGCCqGSM49
AwEHoUQDQgAEXlncMxtpNTKwpYruYU0hLirYc5iQBZy5nDEFiWgFBbAL7DN+rq7I
UsD95HY4bgdlnjlVyXu7H0aQ+Lgje01G7w==
-----END EC PRIVATE KEY-----
";
        let key = rustls_pemfile::private_key(&mut SEC1.as_bytes()).unwrap().unwrap();
        let PrivateKeyDer::Sec1(sec1) = &key else { panic!("not SEC1") };
        let rng = SystemRandom::new();
        assert!(matches!(ecdsa_from_pkcs8(&sec1_to_pkcs8(sec1.secret_sec1_der()).unwrap(), &rng), Some(SigningKey::Ecdsa { .. })));
    }
}
