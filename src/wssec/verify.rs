//! Verifying signed requests: the one place an XML-DSig implementation (bergshamra, pinned)
//! is used, so that another (e.g. xml-sec) can be swapped in behind the same two functions.
//!
//! A request signature is accepted only if
//! - there is exactly one `ds:Signature` in the document, inside the `wsse:Security` header;
//! - it verifies (SignedInfo signature and every reference digest) with the public key of the
//!   certificate the caller vouches for ([`signing_certificate`] finds the one the request
//!   names; the pipeline checks it belongs to the calling consumer) — keys inside the request
//!   are never trusted on their own;
//! - its references resolve to the SOAP Body that is the direct child of the document's root
//!   `Envelope` — the one element `soap::parse_envelope` hands to the pipeline, since an
//!   envelope with more than one Body or anything after it is refused there — and to the
//!   `wsu:Timestamp` of that Security header (which must exist). A signature over a copy of
//!   the Body moved elsewhere (signature wrapping) therefore does not count.
//!
//! bergshamra's strict mode rejects the usual WS-Security layout (the Body is neither an
//! ancestor nor a sibling of the Signature), so it runs with strict mode off and the
//! position checks above are done here, on the nodes its references resolved to.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use bergshamra::xml::{Document, NodeId};
use bergshamra::{DsigContext, KeysManager, VerifyResult};

use crate::error::{ErrorCode, ServiceError};
use crate::xml::Element;

use super::{DSIG_NS, WSSE_NS, WSU_NS};

fn invalid(detail: impl Into<String>) -> ServiceError {
    ServiceError::with_detail(ErrorCode::SignatureInvalid, detail.into())
}

/// The DER of the certificate a request's signature names: `ds:KeyInfo/ds:X509Data/
/// ds:X509Certificate`, or a `wsse:SecurityTokenReference` to a `wsse:BinarySecurityToken`
/// of the same Security header. `SignatureRequired` when the header holds no signature.
pub fn signing_certificate(headers: &[Element]) -> Result<Vec<u8>, ServiceError> {
    let signatures: usize = headers.iter().map(count_signatures).sum();
    let security = super::freshness::security_header(headers);
    let signature = security.and_then(|s| s.children.iter().find(|c| c.is(DSIG_NS, "Signature")));
    let (Some(security), Some(signature)) = (security, signature) else {
        return match signatures {
            0 => Err(ServiceError::new(ErrorCode::SignatureRequired)),
            _ => Err(invalid("The signature is not in the WS-Security header.")),
        };
    };
    let key_info = child(signature, DSIG_NS, "KeyInfo").ok_or_else(|| invalid("The signature has no KeyInfo."))?;
    let base64 = if let Some(certificate) = child(key_info, DSIG_NS, "X509Data").and_then(|data| child(data, DSIG_NS, "X509Certificate")) {
        certificate.text.as_str()
    } else {
        let uri = child(key_info, WSSE_NS, "SecurityTokenReference")
            .and_then(|reference| child(reference, WSSE_NS, "Reference"))
            .and_then(|reference| reference.attribute(None, "URI"))
            .and_then(|uri| uri.strip_prefix('#'))
            .ok_or_else(|| invalid("KeyInfo names neither an X509Certificate nor a BinarySecurityToken."))?;
        let token = security
            .children
            .iter()
            .find(|c| c.is(WSSE_NS, "BinarySecurityToken") && c.attribute(Some(WSU_NS), "Id") == Some(uri))
            .ok_or_else(|| invalid("The BinarySecurityToken KeyInfo refers to is not in the Security header."))?;
        token.text.as_str()
    };
    let compact: String = base64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    BASE64.decode(compact).map_err(|_| invalid("The signing certificate is not base64."))
}

fn child<'a>(element: &'a Element, namespace: &str, name: &str) -> Option<&'a Element> {
    element.children.iter().find(|c| c.is(namespace, name))
}

fn count_signatures(element: &Element) -> usize {
    usize::from(element.is(DSIG_NS, "Signature")) + element.children.iter().map(count_signatures).sum::<usize>()
}

/// Verifies the one signature of `document` (the request as received) with the public key of
/// `certificate_der`, and that it covers the Envelope's Body and the Security header's
/// Timestamp.
pub fn verify_request(document: &str, certificate_der: &[u8]) -> Result<(), ServiceError> {
    let key = bergshamra::keys::loader::load_x509_cert_der(certificate_der)
        .map_err(|_| invalid("The signing certificate's key cannot be used."))?;
    let mut keys = KeysManager::new();
    keys.add_key(key);
    // Secure defaults (only our key, every reference digest checked), but strict mode off:
    // see the module doc; the positions are checked below instead.
    let context = DsigContext::new(keys).with_strict_verification(false);
    let doc = bergshamra::xml::uppsala::parse(document).map_err(|_| invalid("The request cannot be read for verification."))?;
    // One signature only: bergshamra verifies the first in document order, and that must be
    // the one in the Security header (checked by `signing_certificate`).
    let signatures = doc.get_elements_by_tag_name_ns(DSIG_NS, "Signature").len();
    if signatures != 1 {
        return Err(invalid("The request must hold exactly one signature."));
    }
    let result = bergshamra::dsig::verify::verify_document_with_source(&context, &doc, Some(document))
        .map_err(|error| invalid(format!("The signature cannot be verified: {}.", short(&error.to_string()))))?;
    let references = match result {
        VerifyResult::Valid { references, .. } => references,
        VerifyResult::Invalid { reason } => return Err(invalid(format!("The signature does not verify: {}.", short(&reason)))),
        #[allow(unreachable_patterns)]
        _ => return Err(invalid("The signature does not verify.")),
    };
    if references.iter().any(|r| !r.digest_verified) {
        return Err(invalid("A reference of the signature was not digested."));
    }
    let resolved: Vec<NodeId> = references.iter().filter_map(|r| r.resolved_node).collect();
    let root = doc.document_element().ok_or_else(|| invalid("The request has no root element."))?;
    let body = doc
        .children(root)
        .into_iter()
        .find(|&node| is(&doc, node, &["http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope"], "Body"))
        .ok_or_else(|| invalid("The request has no Body."))?;
    if !resolved.contains(&body) {
        return Err(invalid("The signature does not cover the SOAP Body."));
    }
    let timestamp = doc
        .children(root)
        .into_iter()
        .filter(|&node| is(&doc, node, &["http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope"], "Header"))
        .flat_map(|header| doc.children(header))
        .filter(|&node| is(&doc, node, &[WSSE_NS], "Security"))
        .flat_map(|security| doc.children(security))
        .find(|&node| is(&doc, node, &[WSU_NS], "Timestamp"))
        .ok_or_else(|| invalid("A signed request must carry a WS-Security Timestamp."))?;
    if !resolved.contains(&timestamp) {
        return Err(invalid("The signature does not cover the Timestamp."));
    }
    Ok(())
}

fn is(doc: &Document<'_>, node: NodeId, namespaces: &[&str], name: &str) -> bool {
    doc.element(node)
        .is_some_and(|e| e.name.local_name == name && e.name.namespace_uri.as_deref().is_some_and(|ns| namespaces.contains(&ns)))
}

/// A library's message, shortened: it goes to the caller, so keep it to a line.
fn short(text: &str) -> String {
    text.chars().take(160).filter(|c| !c.is_control()).collect()
}
