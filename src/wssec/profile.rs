//! The signature profile: what a request's `ds:Signature` may say before any of it is handed
//! to the XML-DSig library. XML-DSig lets the signer choose transforms (XPath, XSLT), URIs
//! (files, URLs, XPointer), key sources and any number of references, and a library does what
//! it is told *before* the SignatureValue proves anything. So everything outside one narrow
//! profile, which WCF, WSS4J/CXF and xmlsec1 produce by default, is refused first:
//!
//! - the document is a SOAP Envelope with one `wsse:Security` header addressed to us (no
//!   `actor`/`role`, or the "next"/"ultimateReceiver" one), holding the document's only
//!   `ds:Signature`, at most [`MAX_SIGNATURE_BYTES`] long, with SignedInfo, SignatureValue
//!   and KeyInfo only (no Object, no Manifest);
//! - SignedInfo: Exclusive C14N (with or without comments, an optional InclusiveNamespaces
//!   PrefixList), a SignatureMethod of [`SIGNATURE_METHODS`], then 2 to [`MAX_REFERENCES`]
//!   References;
//! - each Reference: `URI="#id"` only, naming exactly one element of the document, all
//!   different, each of them the Body, a child of our Security header (the Timestamp, a
//!   BinarySecurityToken) or another SOAP header block (WS-Addressing); the Body and the
//!   Timestamp among them; one Transform, Exclusive C14N (the enveloped-signature transform
//!   never makes sense here: no allowed target contains the Signature); a DigestMethod of
//!   [`DIGEST_METHODS`] and a DigestValue of its length;
//! - KeyInfo: one `ds:X509Data` with one `ds:X509Certificate`, or one
//!   `wsse:SecurityTokenReference` with one `wsse:Reference URI="#id"`. No KeyValue, no
//!   RetrievalMethod, no KeyInfoReference, no EncryptedKey.
//!
//! The check reads the very tree the library then verifies, and returns the nodes each
//! Reference must resolve to, so that the caller can compare them after verification.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use bergshamra::xml::{Document, NodeId, NodeKind};

use super::{DSIG_NS, WSSE_NS, WSU_NS};

/// Most References a signature may carry: Body, Timestamp, a BinarySecurityToken and the
/// WS-Addressing headers WCF signs (Action, To, MessageID, ReplyTo, From) fit with room.
pub const MAX_REFERENCES: usize = 8;
/// The largest `ds:Signature` element accepted, in bytes of the request: an RSA-4096
/// certificate inline and eight references take under 8 KiB.
pub const MAX_SIGNATURE_BYTES: usize = 32 * 1024;

pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
pub const EXC_C14N_WITH_COMMENTS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";

/// The SignatureMethods accepted: RSA PKCS#1 v1.5, RSA-PSS and ECDSA, each with SHA-2.
pub const SIGNATURE_METHODS: &[&str] = &[
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1",
    "http://www.w3.org/2007/05/xmldsig-more#sha384-rsa-MGF1",
    "http://www.w3.org/2007/05/xmldsig-more#sha512-rsa-MGF1",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
];

/// The DigestMethods accepted, with their digest length in bytes.
pub const DIGEST_METHODS: &[(&str, usize)] = &[
    ("http://www.w3.org/2001/04/xmlenc#sha256", 32),
    ("http://www.w3.org/2001/04/xmldsig-more#sha384", 48),
    ("http://www.w3.org/2001/04/xmlenc#sha512", 64),
];

const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";

/// The `actor` (SOAP 1.1) / `role` (SOAP 1.2) values that address a header block to us; no
/// attribute at all does too.
pub const OUR_ROLES: &[&str] = &[
    "http://schemas.xmlsoap.org/soap/actor/next",
    "http://www.w3.org/2003/05/soap-envelope/role/next",
    "http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver",
];

/// Whether a header block with this `actor`/`role` value (if any) is meant for us.
pub fn addressed_to_us(role: Option<&str>) -> bool {
    role.is_none_or(|role| OUR_ROLES.contains(&role.trim()))
}

/// Why a signature was refused: for the log only; the caller always gets the same message.
pub type Reason = &'static str;

/// What the profile found: the Signature, and for each Reference in order the element it
/// must resolve to and its DigestValue; which of them are the Body and the Timestamp.
#[derive(Debug)]
pub struct Profiled {
    pub signature: NodeId,
    pub targets: Vec<NodeId>,
    pub digests: Vec<Vec<u8>>,
    pub body: NodeId,
    pub timestamp: NodeId,
}

/// Parses `text` as the XML-DSig library does and checks it against the profile (for the
/// fuzz target and tests; the verifier checks the tree it goes on to verify).
pub fn check_text(text: &str) -> Result<(), Reason> {
    let doc = bergshamra::xml::uppsala::parse(text).map_err(|_| "the request cannot be parsed")?;
    check(&doc).map(|_| ())
}

/// Checks `doc` (the request as the XML-DSig library parsed it) against the profile.
pub fn check(doc: &Document<'_>) -> Result<Profiled, Reason> {
    let root = doc.document_element().ok_or("no root element")?;
    let soap = [SOAP11, SOAP12].into_iter().find(|ns| is(doc, root, ns, "Envelope")).ok_or("not a SOAP envelope")?;
    let top = elements(doc, root)?;
    let bodies: Vec<NodeId> = top.iter().copied().filter(|&n| is(doc, n, soap, "Body")).collect();
    let [body] = bodies[..] else { return Err("not exactly one Body") };
    let header = top.iter().copied().find(|&n| is(doc, n, soap, "Header")).ok_or("no Header")?;
    let blocks = elements(doc, header)?;
    let ours: Vec<NodeId> = blocks
        .iter()
        .copied()
        .filter(|&n| is(doc, n, WSSE_NS, "Security") && addressed_to_us(role(doc, n)))
        .collect();
    let [security] = ours[..] else { return Err("not exactly one Security header addressed to us") };

    let signatures = doc.get_elements_by_tag_name_ns(DSIG_NS, "Signature");
    let [signature] = signatures[..] else { return Err("not exactly one Signature") };
    if doc.parent(signature) != Some(security) {
        return Err("the Signature is not in our Security header");
    }
    let size = doc.node_range(signature).map_or(usize::MAX, |range| range.len());
    if size > MAX_SIGNATURE_BYTES {
        return Err("the Signature is too large");
    }
    only_attributes(doc, signature, &[(None, "Id")])?;
    let [signed_info, signature_value, key_info] = elements(doc, signature)?[..] else {
        return Err("the Signature is not SignedInfo, SignatureValue, KeyInfo");
    };
    expect(doc, signed_info, DSIG_NS, "SignedInfo")?;
    expect(doc, signature_value, DSIG_NS, "SignatureValue")?;
    expect(doc, key_info, DSIG_NS, "KeyInfo")?;
    only_attributes(doc, signed_info, &[(None, "Id")])?;
    only_attributes(doc, signature_value, &[(None, "Id")])?;
    leaf(doc, signature_value)?;
    check_key_info(doc, key_info)?;

    let parts = elements(doc, signed_info)?;
    let [c14n, method, references @ ..] = &parts[..] else { return Err("SignedInfo is incomplete") };
    expect(doc, *c14n, DSIG_NS, "CanonicalizationMethod")?;
    c14n_algorithm(doc, *c14n)?;
    expect(doc, *method, DSIG_NS, "SignatureMethod")?;
    only_attributes(doc, *method, &[(None, "Algorithm")])?;
    if !SIGNATURE_METHODS.contains(&algorithm(doc, *method)?) {
        return Err("SignatureMethod not allowed");
    }
    if !elements(doc, *method)?.is_empty() {
        return Err("SignatureMethod has parameters");
    }
    if references.len() < 2 || references.len() > MAX_REFERENCES {
        return Err("too few or too many References");
    }

    let timestamps: Vec<NodeId> = elements(doc, security)?.into_iter().filter(|&n| is(doc, n, WSU_NS, "Timestamp")).collect();
    let [timestamp] = timestamps[..] else { return Err("not exactly one Timestamp in our Security header") };
    let ids = IdIndex::of(doc, root);
    let mut targets = Vec::with_capacity(references.len());
    let mut digests = Vec::with_capacity(references.len());
    for &reference in references {
        let (target, digest) = check_reference(doc, reference, &ids)?;
        let allowed = target == body
            || (doc.parent(target) == Some(security) && target != signature)
            || (doc.parent(target) == Some(header) && !is(doc, target, WSSE_NS, "Security"));
        if !allowed {
            return Err("a Reference names an element outside the profile");
        }
        if targets.contains(&target) {
            return Err("two References name the same element");
        }
        targets.push(target);
        digests.push(digest);
    }
    if !targets.contains(&body) {
        return Err("the Body is not signed");
    }
    if !targets.contains(&timestamp) {
        return Err("the Timestamp is not signed");
    }
    Ok(Profiled { signature, targets, digests, body, timestamp })
}

fn check_reference(doc: &Document<'_>, reference: NodeId, ids: &IdIndex) -> Result<(NodeId, Vec<u8>), Reason> {
    expect(doc, reference, DSIG_NS, "Reference")?;
    only_attributes(doc, reference, &[(None, "URI"), (None, "Id")])?;
    let uri = doc.get_attribute_ns_none(reference, "URI").ok_or("a Reference has no URI")?;
    let id = uri.strip_prefix('#').filter(|id| is_plain_id(id)).ok_or("a Reference URI is not #id")?;
    let target = ids.unique(id).ok_or("a Reference URI names no element, or several")?;
    let [transforms, digest_method, digest_value] = elements(doc, reference)?[..] else {
        return Err("a Reference is not Transforms, DigestMethod, DigestValue");
    };
    expect(doc, transforms, DSIG_NS, "Transforms")?;
    only_attributes(doc, transforms, &[])?;
    let [transform] = elements(doc, transforms)?[..] else { return Err("a Reference has not exactly one Transform") };
    expect(doc, transform, DSIG_NS, "Transform")?;
    c14n_algorithm(doc, transform)?;
    expect(doc, digest_method, DSIG_NS, "DigestMethod")?;
    only_attributes(doc, digest_method, &[(None, "Algorithm")])?;
    if !elements(doc, digest_method)?.is_empty() {
        return Err("DigestMethod has parameters");
    }
    let algorithm = algorithm(doc, digest_method)?;
    let &(_, length) = DIGEST_METHODS.iter().find(|(uri, _)| *uri == algorithm).ok_or("DigestMethod not allowed")?;
    expect(doc, digest_value, DSIG_NS, "DigestValue")?;
    only_attributes(doc, digest_value, &[])?;
    let text = leaf(doc, digest_value)?;
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let digest = BASE64.decode(compact).map_err(|_| "a DigestValue is not base64")?;
    if digest.len() != length {
        return Err("a DigestValue has the wrong length");
    }
    Ok((target, digest))
}

/// CanonicalizationMethod or Transform: Exclusive C14N, at most one InclusiveNamespaces.
fn c14n_algorithm(doc: &Document<'_>, node: NodeId) -> Result<(), Reason> {
    only_attributes(doc, node, &[(None, "Algorithm")])?;
    if ![EXC_C14N, EXC_C14N_WITH_COMMENTS].contains(&algorithm(doc, node)?) {
        return Err("a canonicalization or transform is not Exclusive C14N");
    }
    match elements(doc, node)?[..] {
        [] => Ok(()),
        [inclusive] if is(doc, inclusive, EXC_C14N, "InclusiveNamespaces") => {
            only_attributes(doc, inclusive, &[(None, "PrefixList")])?;
            match elements(doc, inclusive)?.is_empty() {
                true => Ok(()),
                false => Err("InclusiveNamespaces has children"),
            }
        }
        _ => Err("a canonicalization or transform has parameters outside the profile"),
    }
}

fn check_key_info(doc: &Document<'_>, key_info: NodeId) -> Result<(), Reason> {
    only_attributes(doc, key_info, &[(None, "Id")])?;
    let [hint] = elements(doc, key_info)?[..] else { return Err("KeyInfo has not exactly one child") };
    if is(doc, hint, DSIG_NS, "X509Data") {
        only_attributes(doc, hint, &[])?;
        let [certificate] = elements(doc, hint)?[..] else { return Err("X509Data has not exactly one child") };
        expect(doc, certificate, DSIG_NS, "X509Certificate")?;
        only_attributes(doc, certificate, &[])?;
        leaf(doc, certificate)?;
        return Ok(());
    }
    if is(doc, hint, WSSE_NS, "SecurityTokenReference") {
        let [reference] = elements(doc, hint)?[..] else { return Err("SecurityTokenReference has not exactly one child") };
        expect(doc, reference, WSSE_NS, "Reference")?;
        only_attributes(doc, reference, &[(None, "URI"), (None, "ValueType")])?;
        let uri = doc.get_attribute_ns_none(reference, "URI").unwrap_or_default();
        if !uri.strip_prefix('#').is_some_and(is_plain_id) {
            return Err("the token reference is not #id");
        }
        return match elements(doc, reference)?.is_empty() {
            true => Ok(()),
            false => Err("the token reference has children"),
        };
    }
    Err("KeyInfo names the key in a way outside the profile")
}

/// An id as WCF (`_0`, `uuid-…-1`), WSS4J (`id-…`, `TS-…`) and we (`Body-…`) write them:
/// no XPointer, no escapes.
fn is_plain_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && id.len() <= 128
}

/// Every id-like attribute value of the document (any attribute named `Id`, `ID`, `id` or
/// `AssertionID`, in any namespace, as the library indexes them), with how often it occurs.
struct IdIndex<'d> {
    ids: std::collections::HashMap<&'d str, (NodeId, usize)>,
}

impl<'d> IdIndex<'d> {
    fn of(doc: &'d Document<'_>, root: NodeId) -> IdIndex<'d> {
        let mut ids = std::collections::HashMap::new();
        let mut stack = vec![root];
        while let Some(node) = stack.pop() {
            let Some(element) = doc.element(node) else { continue };
            for attribute in &element.attributes {
                if matches!(attribute.name.local_name.as_ref(), "Id" | "ID" | "id" | "AssertionID") {
                    let entry = ids.entry(attribute.value.as_ref()).or_insert((node, 0));
                    entry.1 += 1;
                }
            }
            stack.extend(doc.children(node));
        }
        IdIndex { ids }
    }

    fn unique(&self, id: &str) -> Option<NodeId> {
        self.ids.get(id).filter(|(_, count)| *count == 1).map(|(node, _)| *node)
    }
}

/// The element children of `node`; anything but whitespace text or comments beside them is
/// outside the profile (text hides nothing from C14N, but nothing legitimate puts it there).
fn elements(doc: &Document<'_>, node: NodeId) -> Result<Vec<NodeId>, Reason> {
    let mut found = Vec::new();
    for child in doc.children_iter(node) {
        match doc.node_kind(child) {
            Some(NodeKind::Element(_)) => found.push(child),
            Some(NodeKind::Text(text)) | Some(NodeKind::CData(text)) if text.trim().is_empty() => {}
            Some(NodeKind::Comment(_)) => {}
            _ => return Err("unexpected content in the Signature or envelope"),
        }
    }
    Ok(found)
}

/// The text of an element that must hold only text.
fn leaf(doc: &Document<'_>, node: NodeId) -> Result<String, Reason> {
    let mut text = String::new();
    for child in doc.children_iter(node) {
        match doc.node_kind(child) {
            Some(NodeKind::Text(part)) | Some(NodeKind::CData(part)) => text.push_str(part),
            Some(NodeKind::Comment(_)) => {}
            _ => return Err("an element that holds text has other content"),
        }
    }
    Ok(text)
}

/// The text of the one Created and of each Expires child of a Timestamp, as this tree reads
/// them (several of either are the caller's to refuse).
pub fn timestamp_fields(doc: &Document<'_>, timestamp: NodeId) -> Result<(Vec<String>, Vec<String>), Reason> {
    let (mut created, mut expires) = (Vec::new(), Vec::new());
    for field in elements(doc, timestamp)? {
        if is(doc, field, WSU_NS, "Created") {
            created.push(leaf(doc, field)?);
        } else if is(doc, field, WSU_NS, "Expires") {
            expires.push(leaf(doc, field)?);
        } else {
            return Err("the Timestamp holds something other than Created and Expires");
        }
    }
    Ok((created, expires))
}

fn only_attributes(doc: &Document<'_>, node: NodeId, allowed: &[(Option<&str>, &str)]) -> Result<(), Reason> {
    let element = doc.element(node).ok_or("not an element")?;
    let fine = element.attributes.iter().all(|attribute| {
        let namespace = attribute.name.namespace_uri.as_deref();
        allowed.iter().any(|(ns, name)| *ns == namespace && *name == attribute.name.local_name)
    });
    match fine {
        true => Ok(()),
        false => Err("an attribute outside the profile"),
    }
}

fn algorithm<'d>(doc: &'d Document<'_>, node: NodeId) -> Result<&'d str, Reason> {
    doc.get_attribute_ns_none(node, "Algorithm").ok_or("no Algorithm")
}

fn expect(doc: &Document<'_>, node: NodeId, namespace: &str, name: &str) -> Result<(), Reason> {
    match is(doc, node, namespace, name) {
        true => Ok(()),
        false => Err("an element outside the profile"),
    }
}

pub fn is(doc: &Document<'_>, node: NodeId, namespace: &str, name: &str) -> bool {
    doc.element(node).is_some_and(|e| e.name.local_name == name && e.name.namespace_uri.as_deref() == Some(namespace))
}

/// The `actor` (SOAP 1.1) or `role` (SOAP 1.2) of a header block.
fn role<'d>(doc: &'d Document<'_>, node: NodeId) -> Option<&'d str> {
    let element = doc.element(node)?;
    element
        .attributes
        .iter()
        .find(|a| {
            matches!((a.name.namespace_uri.as_deref(), a.name.local_name.as_ref()), (Some(SOAP11), "actor") | (Some(SOAP12), "role"))
        })
        .map(|a| a.value.as_ref())
}

/// Unprefixed attributes only: `Algorithm`, `URI` and friends have no namespace.
trait NoNamespace {
    fn get_attribute_ns_none(&self, node: NodeId, name: &str) -> Option<&str>;
}

impl NoNamespace for Document<'_> {
    fn get_attribute_ns_none(&self, node: NodeId, name: &str) -> Option<&str> {
        self.element(node)?
            .attributes
            .iter()
            .find(|a| a.name.namespace_uri.is_none() && a.name.local_name == name)
            .map(|a| a.value.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::SoapVersion;
    use crate::wssec::AnswerSigner;

    /// A request signed by our own signer with riga's example key: inside the profile.
    fn signed() -> String {
        let dir = crate::tools::example_pki::clock_relative_set();
        let signer = AnswerSigner::load(&dir.join("riga.crt"), &dir.join("riga.key"), chrono::Duration::minutes(5)).unwrap();
        signer.envelope(SoapVersion::V12, r#"<Op xmlns="urn:x"/>"#, uuid::Uuid::nil(), chrono::Utc::now()).unwrap()
    }

    const BODY_TRANSFORM: &str = r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"></ds:Transform>"#;
    const BODY_URI: &str = "URI=\"#Body-00000000-0000-0000-0000-000000000000\"";

    fn body_reference(text: &str) -> &str {
        let at = text.find("<ds:Reference URI=\"#Body-").unwrap();
        &text[at..text[at..].find("</ds:Reference>").unwrap() + at + "</ds:Reference>".len()]
    }

    #[test]
    fn what_our_signer_and_wcf_write_is_inside() {
        let text = signed();
        assert_eq!(check_text(&text), Ok(()));
        // WCF: signed WS-Addressing headers, a BinarySecurityToken, InclusiveNamespaces.
        let wcf = text
            .replacen(
                "<soap:Header>",
                r#"<soap:Header><a:To xmlns:a="http://www.w3.org/2005/08/addressing" xmlns:u="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd" u:Id="_2">https://x/</a:To>"#,
                1,
            )
            .replacen("</ds:SignedInfo>", &format!("{}</ds:SignedInfo>", body_reference(&text).replace(BODY_URI, "URI=\"#_2\"")), 1)
            .replacen(
                BODY_TRANSFORM,
                r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"><ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="soap"/></ds:Transform>"#,
                1,
            );
        assert_eq!(check_text(&wcf), Ok(()), "{wcf}");
    }

    #[test]
    fn everything_outside_is_refused() {
        let text = signed();
        let reference = body_reference(&text).to_string();
        let transform = |algorithm: &str, content: &str| format!(r#"<ds:Transform Algorithm="{algorithm}">{content}</ds:Transform>"#);
        let cases: Vec<(&str, String)> = vec![
            ("XPath", text.replacen(BODY_TRANSFORM, &transform("http://www.w3.org/TR/1999/REC-xpath-19991116", "<ds:XPath>0</ds:XPath>"), 1)),
            ("XSLT", text.replacen(BODY_TRANSFORM, &transform("http://www.w3.org/TR/1999/REC-xslt-19991116", ""), 1)),
            ("XPath filter 2", text.replacen(BODY_TRANSFORM, &transform("http://www.w3.org/2002/06/xmldsig-filter2", ""), 1)),
            ("base64", text.replacen(BODY_TRANSFORM, &transform("http://www.w3.org/2000/09/xmldsig#base64", ""), 1)),
            ("enveloped", text.replacen(BODY_TRANSFORM, &transform("http://www.w3.org/2000/09/xmldsig#enveloped-signature", ""), 1)),
            ("inclusive C14N", text.replacen(BODY_TRANSFORM, &transform("http://www.w3.org/TR/2001/REC-xml-c14n-20010315", ""), 1)),
            ("two transforms", text.replacen(BODY_TRANSFORM, &format!("{BODY_TRANSFORM}{BODY_TRANSFORM}"), 1)),
            ("no transform", text.replacen(&format!("<ds:Transforms>{BODY_TRANSFORM}</ds:Transforms>"), "", 1)),
            ("file URI", text.replacen(BODY_URI, "URI=\"dev/zero\"", 1)),
            ("whole document", text.replacen(BODY_URI, "URI=\"\"", 1)),
            ("XPointer", text.replacen(BODY_URI, "URI=\"#xpointer(/)\"", 1)),
            ("unknown id", text.replacen(BODY_URI, "URI=\"#nothing\"", 1)),
            ("Reference Type", text.replacen(BODY_URI, &format!("{BODY_URI} Type=\"http://www.w3.org/2000/09/xmldsig#Manifest\""), 1)),
            ("the Body twice", text.replacen("</ds:SignedInfo>", &format!("{reference}</ds:SignedInfo>"), 1)),
            ("nine References", text.replacen("</ds:SignedInfo>", &format!("{}</ds:SignedInfo>", reference.repeat(7)), 1)),
            ("no Body Reference", text.replacen(&reference, "", 1).replacen("</ds:SignedInfo>", &format!("{}</ds:SignedInfo>", reference.replace(BODY_URI, "URI=\"#_x\"")), 1).replacen("<soap:Header>", "<soap:Header><h:H xmlns:h=\"urn:h\" Id=\"_x\"/>", 1)),
            ("a duplicate id", text.replacen("<soap:Header>", "<soap:Header><h:H xmlns:h=\"urn:h\" Id=\"Body-00000000-0000-0000-0000-000000000000\"/>", 1)),
            ("SHA-1 digest", text.replacen("http://www.w3.org/2001/04/xmlenc#sha256", "http://www.w3.org/2000/09/xmldsig#sha1", 1)),
            ("short digest", text.replacen("<ds:DigestValue>", "<ds:DigestValue>AAAA", 1)),
            ("ECDSA-SHA1", text.replacen("xmldsig-more#ecdsa-sha256", "xmldsig-more#ecdsa-sha1", 1)),
            ("HMAC", text.replacen("http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256", "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256", 1)),
            ("inclusive SignedInfo", text.replacen("<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"", "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"", 1)),
            ("Object", text.replacen("</ds:KeyInfo>", "</ds:KeyInfo><ds:Object/>", 1)),
            ("KeyValue", text.replacen("<ds:KeyInfo>", "<ds:KeyInfo><ds:KeyValue/>", 1)),
            ("RetrievalMethod", text.replacen("<ds:X509Data>", "<ds:RetrievalMethod URI=\"file:///etc/passwd\"/><ds:X509Data>", 1)),
            ("two certificates", text.replacen("<ds:X509Certificate>", "<ds:X509Certificate>AA==</ds:X509Certificate><ds:X509Certificate>", 1)),
            ("too large", text.replacen("<ds:SignatureValue>", &format!("<ds:SignatureValue>{}", " ".repeat(MAX_SIGNATURE_BYTES)), 1)),
            ("two Security headers", text.replacen("<soap:Header>", &format!("<soap:Header><wsse:Security xmlns:wsse=\"{WSSE_NS}\"/>"), 1)),
            ("Signature for another role", text.replacen("<wsse:Security ", "<wsse:Security soap:role=\"urn:bus\" ", 1)),
            ("a second Signature", text.replacen("</soap:Header>", &format!("<x xmlns=\"urn:x\"><ds:Signature xmlns:ds=\"{DSIG_NS}\"/></x></soap:Header>"), 1)),
            ("text in SignedInfo", text.replacen("<ds:SignatureMethod", "text<ds:SignatureMethod", 1)),
        ];
        // Each refused for its own reason, not for some other flaw of the mutation.
        let reasons = [
            "a canonicalization or transform is not Exclusive C14N",
            "a canonicalization or transform is not Exclusive C14N",
            "a canonicalization or transform is not Exclusive C14N",
            "a canonicalization or transform is not Exclusive C14N",
            "a canonicalization or transform is not Exclusive C14N",
            "a canonicalization or transform is not Exclusive C14N",
            "a Reference has not exactly one Transform",
            "a Reference is not Transforms, DigestMethod, DigestValue",
            "a Reference URI is not #id",
            "a Reference URI is not #id",
            "a Reference URI is not #id",
            "a Reference URI names no element, or several",
            "an attribute outside the profile",
            "two References name the same element",
            "too few or too many References",
            "the Body is not signed",
            "a Reference URI names no element, or several",
            "DigestMethod not allowed",
            "a DigestValue has the wrong length",
            "SignatureMethod not allowed",
            "SignatureMethod not allowed",
            "a canonicalization or transform is not Exclusive C14N",
            "the Signature is not SignedInfo, SignatureValue, KeyInfo",
            "KeyInfo has not exactly one child",
            "KeyInfo has not exactly one child",
            "X509Data has not exactly one child",
            "the Signature is too large",
            "not exactly one Security header addressed to us",
            "not exactly one Security header addressed to us",
            "not exactly one Signature",
            "unexpected content in the Signature or envelope",
        ];
        assert_eq!(cases.len(), reasons.len());
        for ((name, mutated), reason) in cases.into_iter().zip(reasons) {
            assert_ne!(mutated, text, "{name}: the mutation did not apply");
            assert_eq!(check_text(&mutated), Err(reason), "{name}:\n{mutated}");
        }
    }

    #[test]
    fn roles_addressed_to_us() {
        assert!(addressed_to_us(None));
        assert!(addressed_to_us(Some("http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver")));
        assert!(addressed_to_us(Some(" http://schemas.xmlsoap.org/soap/actor/next ")));
        assert!(!addressed_to_us(Some("urn:example:bus")));
        assert!(!addressed_to_us(Some("http://www.w3.org/2003/05/soap-envelope/role/none")));
    }
}
