//! Verifying signed requests: the one place an XML-DSig implementation (bergshamra, pinned)
//! is used, so that another can be swapped in behind the same two functions.
//!
//! A request signature is accepted only if
//! - it keeps to the signature profile ([`super::profile`]), checked on the very tree the
//!   library verifies before the library sees it: one `ds:Signature` in the one
//!   `wsse:Security` header addressed to us, allowed algorithms only, `#id` References (2 to
//!   8, each to a distinct element) to the Envelope's Body, the Timestamp of that header and
//!   optionally other header blocks, Exclusive C14N as the only transform;
//! - it verifies (every reference digest, then the SignatureValue) with the public key of the
//!   certificate the caller vouches for ([`signing_certificate`] finds the one the request
//!   names; the pipeline checks it belongs to the calling consumer): the library runs with
//!   `trusted_keys_only`, so a key inside the request (KeyValue, …) is never used;
//! - each Reference resolved to the element the profile found for it. With Exclusive C14N as
//!   the only transform, what was digested is that element, so the Body and Timestamp the
//!   pipeline processes are the ones signed (a signed Body moved elsewhere does not count).
//!
//! bergshamra's strict mode rejects the usual WS-Security layout (the Body is neither an
//! ancestor nor a sibling of the Signature), so it runs with strict mode off; the profile
//! fixes the positions instead.
//!
//! Every refusal reaches the caller as `SignatureInvalid` with one fixed message (no oracle
//! for probing the profile or the key); the reason is for the log ([`Refusal::reason`]).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use bergshamra::{DsigContext, KeysManager, VerifyResult};
use sha2::{Digest, Sha256};

use crate::error::{ErrorCode, ServiceError};
use crate::xml::Element;

use super::profile::{self, Reason};
use super::{DSIG_NS, WSSE_NS, WSU_NS};

/// A refused signature: the code for the caller, the reason for the log only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub reason: Reason,
}

impl Refusal {
    pub fn invalid(reason: Reason) -> Refusal {
        Refusal { code: ErrorCode::SignatureInvalid, reason }
    }
}

/// The caller learns the code and the code's fixed message, nothing of the reason.
impl From<Refusal> for ServiceError {
    fn from(refusal: Refusal) -> ServiceError {
        ServiceError::new(refusal.code)
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.name(), self.reason)
    }
}

/// What a verified signature vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRequest {
    /// The `Created` texts of the signed Timestamp, as the verified tree reads them (one,
    /// unless the request is to be refused for it).
    pub created: Vec<String>,
    /// Its `Expires` texts.
    pub expires: Vec<String>,
    /// A replay key over what the signature covers: SHA-256 of SignedInfo's DigestValues in
    /// order. Not of the SignatureValue: ECDSA signatures are malleable, the digests are not.
    pub replay_key: String,
}

/// The DER of the certificate a request's signature names: `ds:KeyInfo/ds:X509Data/
/// ds:X509Certificate`, or a `wsse:SecurityTokenReference` to a `wsse:BinarySecurityToken`
/// of the same Security header. `SignatureRequired` when the request holds no signature.
pub fn signing_certificate(headers: &[Element]) -> Result<Vec<u8>, Refusal> {
    let signatures: usize = headers.iter().map(count_signatures).sum();
    let security = super::freshness::security_header(headers).ok().flatten();
    let signature = security.and_then(|s| s.children.iter().find(|c| c.is(DSIG_NS, "Signature")));
    let (Some(security), Some(signature)) = (security, signature) else {
        return match signatures {
            0 => Err(Refusal { code: ErrorCode::SignatureRequired, reason: "no signature" }),
            _ => Err(Refusal::invalid("the signature is not in our Security header")),
        };
    };
    let key_info = child(signature, DSIG_NS, "KeyInfo").ok_or(Refusal::invalid("no KeyInfo"))?;
    let base64 = if let Some(certificate) = child(key_info, DSIG_NS, "X509Data").and_then(|data| child(data, DSIG_NS, "X509Certificate")) {
        certificate.text.as_str()
    } else {
        let uri = child(key_info, WSSE_NS, "SecurityTokenReference")
            .and_then(|reference| child(reference, WSSE_NS, "Reference"))
            .and_then(|reference| reference.attribute(None, "URI"))
            .and_then(|uri| uri.strip_prefix('#'))
            .ok_or(Refusal::invalid("KeyInfo names neither an X509Certificate nor a BinarySecurityToken"))?;
        let mut tokens = security
            .children
            .iter()
            .filter(|c| c.is(WSSE_NS, "BinarySecurityToken") && c.attribute(Some(WSU_NS), "Id") == Some(uri));
        let (Some(token), None) = (tokens.next(), tokens.next()) else {
            return Err(Refusal::invalid("not exactly one BinarySecurityToken with the id KeyInfo names"));
        };
        token.text.as_str()
    };
    let compact: String = base64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    BASE64.decode(compact).map_err(|_| Refusal::invalid("the signing certificate is not base64"))
}

fn child<'a>(element: &'a Element, namespace: &str, name: &str) -> Option<&'a Element> {
    element.children.iter().find(|c| c.is(namespace, name))
}

fn count_signatures(element: &Element) -> usize {
    usize::from(element.is(DSIG_NS, "Signature")) + element.children.iter().map(count_signatures).sum::<usize>()
}

/// Verifies the one signature of `document` (the request as received) with the public key of
/// `certificate_der`: first against the profile, then with the library, then that each
/// Reference resolved to the element the profile expects. CPU-bound (up to a few ms per MB):
/// the pipeline runs it on the bounded signature pool, never on an async worker. `document`
/// must be one `xml::parse` accepted: its depth bound keeps the library's recursive tree
/// walks shallow.
pub fn verify_request(document: &str, certificate_der: &[u8]) -> Result<VerifiedRequest, Refusal> {
    let doc = bergshamra::xml::uppsala::parse(document).map_err(|_| Refusal::invalid("the request cannot be parsed for verification"))?;
    let profiled = profile::check(&doc).map_err(Refusal::invalid)?;
    let key = bergshamra::keys::loader::load_x509_cert_der(certificate_der)
        .map_err(|_| Refusal::invalid("the signing certificate's key cannot be used"))?;
    let mut keys = KeysManager::new();
    keys.add_key(key);
    // `new` keeps trusted_keys_only (only our key) and required reference digests; strict
    // mode is off for the WS-Security layout (see the module doc).
    let context = DsigContext::new(keys).with_strict_verification(false);
    let result = bergshamra::dsig::verify::verify_document_with_source(&context, &doc, Some(document))
        .map_err(|_| Refusal::invalid("the library could not verify the signature"))?;
    let references = match result {
        VerifyResult::Valid { references, .. } => references,
        VerifyResult::Invalid { .. } => return Err(Refusal::invalid("the signature does not verify")),
        #[allow(unreachable_patterns)]
        _ => return Err(Refusal::invalid("the signature does not verify")),
    };
    if references.len() != profiled.targets.len() {
        return Err(Refusal::invalid("the library verified other References than the profile checked"));
    }
    for (reference, target) in references.iter().zip(&profiled.targets) {
        if !reference.digest_verified || reference.resolved_node != Some(*target) {
            return Err(Refusal::invalid("a Reference resolved to another element than the profile found"));
        }
    }
    let (created, expires) = profile::timestamp_fields(&doc, profiled.timestamp).map_err(Refusal::invalid)?;
    let mut hasher = Sha256::new();
    for digest in &profiled.digests {
        hasher.update((digest.len() as u32).to_be_bytes());
        hasher.update(digest);
    }
    Ok(VerifiedRequest { created, expires, replay_key: hex::encode(hasher.finalize()) })
}
