//! XML in and out: a bounded parser into a small namespace-resolved tree ([`Element`]) and a
//! writer for answers ([`XmlWriter`]).
//!
//! Requests are small (≤ 4 MB) and read once, so a tree is simpler and safer than streaming:
//! every later check walks typed structure, never raw text. The parser refuses what a SOAP
//! service has no use for and attackers love: DTDs (hence entity declarations and expansion),
//! unbound prefixes, non-UTF-8 input, and trees deeper, wider or longer-named than the limits.
//!
//! Cost stays linear in the input: quick-xml's checked attribute iterator compares each
//! attribute with every earlier one, and its namespace resolver scans the bindings in scope for
//! every name, so an element's attributes and namespace declarations are counted with the
//! unchecked iterator first, and declarations are bounded per element, per document and in
//! scope, before any checked pass or resolution of further names.

mod writer;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

pub use writer::XmlWriter;

/// Bounds on the shape of a request document. The defaults are far above anything the
/// contract allows and far below what would cost memory or time.
#[derive(Debug, Clone, Copy)]
pub struct XmlLimits {
    pub max_depth: usize,
    pub max_elements: usize,
    /// Attributes on one element, namespace declarations not included.
    pub max_attributes: usize,
    pub max_name_length: usize,
    /// Namespace declarations (`xmlns`, `xmlns:p`) on one element.
    pub max_namespace_declarations: usize,
    /// Namespace declarations in the whole document.
    pub max_namespace_declarations_total: usize,
    /// Namespace declarations in scope at once (on an element and its ancestors): every name
    /// is resolved by a scan of these.
    pub max_namespaces_in_scope: usize,
}

impl Default for XmlLimits {
    fn default() -> Self {
        XmlLimits {
            max_depth: 32,
            max_elements: 10_000,
            max_attributes: 32,
            max_name_length: 256,
            max_namespace_declarations: 32,
            max_namespace_declarations_total: 256,
            max_namespaces_in_scope: 64,
        }
    }
}

/// An element with its namespace resolved. Text is the concatenation of the element's own
/// text and CDATA nodes (the contract has no mixed content).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    pub namespace: Option<String>,
    pub name: String,
    pub attributes: Vec<Attribute>,
    pub children: Vec<Element>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub namespace: Option<String>,
    pub name: String,
    pub value: String,
}

/// Why a document was refused. Messages never quote the document's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("the document is not valid UTF-8")]
    NotUtf8,
    #[error("the document declares an encoding other than UTF-8")]
    NotUtf8Declared,
    #[error("DTDs and entity declarations are not allowed")]
    Dtd,
    #[error("the document is not well-formed: {0}")]
    NotWellFormed(String),
    #[error("the document has no root element")]
    Empty,
    #[error("the document exceeds the limit on {0}")]
    TooLarge(&'static str),
}

impl Element {
    /// Whether this element has the given namespace and local name.
    pub fn is(&self, namespace: &str, name: &str) -> bool {
        self.name == name && self.namespace.as_deref() == Some(namespace)
    }

    /// The value of an attribute by namespace and local name.
    pub fn attribute(&self, namespace: Option<&str>, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.name == name && a.namespace.as_deref() == namespace)
            .map(|a| a.value.as_str())
    }

    /// `{namespace}name`, for messages.
    pub fn qualified_name(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{{{ns}}}{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// Parses a whole document into its root element.
pub fn parse(bytes: &[u8], limits: &XmlLimits) -> Result<Element, XmlError> {
    let text = std::str::from_utf8(bytes).map_err(|_| XmlError::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = NsReader::from_str(text);
    reader.config_mut().expand_empty_elements = false;
    reader.config_mut().check_end_names = true;

    // The open elements, innermost last; finished children are attached to their parent.
    let mut stack: Vec<Element> = Vec::new();
    // Namespace declarations of each open element, innermost last (parallel to `stack`).
    let mut declared: Vec<usize> = Vec::new();
    let mut in_scope = 0usize;
    let mut declarations_total = 0usize;
    let mut root: Option<Element> = None;
    let mut element_count = 0usize;
    let not_well_formed = |e: quick_xml::Error| XmlError::NotWellFormed(e.to_string());

    loop {
        let (resolved, event) = reader.read_resolved_event().map_err(not_well_formed)?;
        // Counted before anything else looks at the element: the reader has bound its
        // declarations in one linear pass, and nothing quadratic has run yet.
        if let Event::Start(ref start) | Event::Empty(ref start) = event {
            let declarations = count_attributes(start, limits)?;
            declarations_total += declarations;
            if declarations_total > limits.max_namespace_declarations_total {
                return Err(XmlError::TooLarge("namespace declarations in the document"));
            }
            if in_scope + declarations > limits.max_namespaces_in_scope {
                return Err(XmlError::TooLarge("namespace declarations in scope"));
            }
            if matches!(event, Event::Start(_)) {
                in_scope += declarations;
                declared.push(declarations);
            }
        }
        // Owned now: the resolution borrows the reader, which attributes need next.
        let namespace = match event {
            Event::Start(_) | Event::Empty(_) => namespace_of(resolved)?,
            _ => None,
        };
        match event {
            Event::Decl(decl) => {
                if let Some(Ok(encoding)) = decl.encoding() {
                    if !encoding.eq_ignore_ascii_case(b"utf-8") {
                        return Err(XmlError::NotUtf8Declared);
                    }
                }
            }
            Event::DocType(_) => return Err(XmlError::Dtd),
            Event::Start(ref start) | Event::Empty(ref start) => {
                if root.is_some() {
                    return Err(XmlError::NotWellFormed("content after the root element".into()));
                }
                element_count += 1;
                if element_count > limits.max_elements {
                    return Err(XmlError::TooLarge("the number of elements"));
                }
                if stack.len() >= limits.max_depth {
                    return Err(XmlError::TooLarge("element depth"));
                }
                let element = start_element(&reader, namespace, start, limits)?;
                if matches!(event, Event::Start(_)) {
                    stack.push(element);
                } else {
                    attach(&mut stack, &mut root, element);
                }
            }
            Event::End(_) => {
                in_scope -= declared.pop().unwrap_or(0);
                let element = stack.pop().ok_or_else(|| XmlError::NotWellFormed("unexpected end tag".into()))?;
                attach(&mut stack, &mut root, element);
            }
            Event::Text(text) => {
                let unescaped = text.unescape().map_err(not_well_formed)?;
                match stack.last_mut() {
                    Some(open) => open.text.push_str(&unescaped),
                    None if unescaped.trim().is_empty() => {}
                    None => return Err(XmlError::NotWellFormed("text outside the root element".into())),
                }
            }
            Event::CData(data) => {
                let data = std::str::from_utf8(&data).map_err(|_| XmlError::NotUtf8)?;
                match stack.last_mut() {
                    Some(open) => open.text.push_str(data),
                    None => return Err(XmlError::NotWellFormed("CDATA outside the root element".into())),
                }
            }
            Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::NotWellFormed("the document ends inside an element".into()));
    }
    root.ok_or(XmlError::Empty)
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, element: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

fn start_element(
    reader: &NsReader<&[u8]>,
    namespace: Option<String>,
    start: &BytesStart<'_>,
    limits: &XmlLimits,
) -> Result<Element, XmlError> {
    let name = utf8_name(start.local_name().as_ref(), limits)?;
    let mut attributes = Vec::new();
    // Checked (duplicates refused): bounded by `count_attributes` before this runs.
    for attribute in start.attributes() {
        visited_attribute();
        let attribute = attribute.map_err(|e| XmlError::NotWellFormed(e.to_string()))?;
        let key = attribute.key;
        // Namespace declarations are resolved by the reader, not kept as attributes.
        if is_namespace_declaration(key.as_ref()) {
            continue;
        }
        let (attribute_namespace, local) = reader.resolve_attribute(key);
        let value = attribute
            .unescape_value()
            .map_err(|e| XmlError::NotWellFormed(e.to_string()))?
            .into_owned();
        attributes.push(Attribute {
            namespace: namespace_of(attribute_namespace)?,
            name: utf8_name(local.as_ref(), limits)?,
            value,
        });
    }
    Ok(Element { namespace, name, attributes, children: Vec::new(), text: String::new() })
}

// Attributes visited by this thread's parses, both passes: the unit tests count work with it.
#[cfg(test)]
thread_local! {
    static ATTRIBUTES_VISITED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn visited_attribute() {
    #[cfg(test)]
    ATTRIBUTES_VISITED.with(|visited| visited.set(visited.get() + 1));
}

fn is_namespace_declaration(key: &[u8]) -> bool {
    key == b"xmlns" || key.starts_with(b"xmlns:")
}

/// Counts an element's attributes and namespace declarations in one unchecked (linear) pass,
/// refusing the element when either is over its limit; returns the declarations.
fn count_attributes(start: &BytesStart<'_>, limits: &XmlLimits) -> Result<usize, XmlError> {
    let (mut attributes, mut declarations) = (0usize, 0usize);
    for attribute in start.attributes().with_checks(false) {
        visited_attribute();
        // A malformed attribute is refused by the checked pass; count it as one.
        let is_declaration = attribute.is_ok_and(|a| is_namespace_declaration(a.key.as_ref()));
        if is_declaration {
            declarations += 1;
            if declarations > limits.max_namespace_declarations {
                return Err(XmlError::TooLarge("namespace declarations on one element"));
            }
        } else {
            attributes += 1;
            if attributes > limits.max_attributes {
                return Err(XmlError::TooLarge("the number of attributes"));
            }
        }
    }
    Ok(declarations)
}

fn utf8_name(bytes: &[u8], limits: &XmlLimits) -> Result<String, XmlError> {
    if bytes.len() > limits.max_name_length {
        return Err(XmlError::TooLarge("name length"));
    }
    std::str::from_utf8(bytes).map(str::to_owned).map_err(|_| XmlError::NotUtf8)
}

fn namespace_of(resolved: ResolveResult<'_>) -> Result<Option<String>, XmlError> {
    match resolved {
        ResolveResult::Bound(namespace) => std::str::from_utf8(namespace.as_ref())
            .map(|ns| Some(ns.to_owned()))
            .map_err(|_| XmlError::NotUtf8),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(_) => Err(XmlError::NotWellFormed("a namespace prefix is not declared".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Element, XmlError> {
        parse(text.as_bytes(), &XmlLimits::default())
    }

    #[test]
    fn resolves_namespaces_of_elements_and_attributes() {
        let root = parse_str(r#"<?xml version="1.0" encoding="UTF-8"?>
            <a:Root xmlns:a="urn:a" xmlns="urn:d"><Child a:flag="1" plain="x">t&amp;u<![CDATA[<v>]]></Child><a:Empty/></a:Root>"#)
        .unwrap();
        assert!(root.is("urn:a", "Root"));
        assert!(root.children[0].is("urn:d", "Child"));
        assert_eq!(root.children[0].text, "t&u<v>");
        assert_eq!(root.children[0].attribute(Some("urn:a"), "flag"), Some("1"));
        assert_eq!(root.children[0].attribute(None, "plain"), Some("x"));
        assert!(root.children[1].is("urn:a", "Empty"));
    }

    #[test]
    fn refuses_dtds_and_entity_declarations() {
        let xxe = r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>"#;
        assert_eq!(parse_str(xxe), Err(XmlError::Dtd));
        let laughs = r#"<!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><r>&b;</r>"#;
        assert_eq!(parse_str(laughs), Err(XmlError::Dtd));
    }

    #[test]
    fn refuses_undeclared_entities_and_prefixes() {
        assert!(matches!(parse_str("<r>&nope;</r>"), Err(XmlError::NotWellFormed(_))));
        assert!(matches!(parse_str("<p:r/>"), Err(XmlError::NotWellFormed(_))));
    }

    #[test]
    fn refuses_malformed_documents() {
        for text in ["", "<r>", "<r></s>", "<r/><r/>", "text", "<r a='1' a='2'/>", "<r></r>trailing"] {
            assert!(parse_str(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn refuses_other_encodings_and_invalid_utf8() {
        assert_eq!(parse_str(r#"<?xml version="1.0" encoding="ISO-8859-1"?><r/>"#), Err(XmlError::NotUtf8Declared));
        assert_eq!(parse(b"<r>\xff</r>", &XmlLimits::default()), Err(XmlError::NotUtf8));
    }

    #[test]
    fn enforces_depth_and_width_limits() {
        let deep = "<a>".repeat(40) + &"</a>".repeat(40);
        assert_eq!(parse_str(&deep), Err(XmlError::TooLarge("element depth")));
        let wide = format!("<r>{}</r>", "<a/>".repeat(20_000));
        assert_eq!(parse_str(&wide), Err(XmlError::TooLarge("the number of elements")));
        let attributes: String = (0..40).map(|i| format!(" a{i}='x'")).collect();
        assert_eq!(parse_str(&format!("<r{attributes}/>")), Err(XmlError::TooLarge("the number of attributes")));
        let long_name = "n".repeat(300);
        assert_eq!(parse_str(&format!("<{long_name}/>")), Err(XmlError::TooLarge("name length")));
    }

    /// `count` declarations `xmlns:p{i}` on one element, the last two binding the same prefix.
    fn declarations(count: usize) -> String {
        let mut text = String::from("<r");
        for i in 0..count - 1 {
            text.push_str(&format!(" xmlns:p{i}='urn:{i}'"));
        }
        text + &format!(" xmlns:p{}='urn:again'/>", count - 2)
    }

    #[test]
    fn namespace_declarations_are_counted_before_any_quadratic_pass() {
        // Within the limits the checked pass runs and finds the duplicate prefix.
        let within = XmlLimits { max_namespace_declarations: 10, max_namespaces_in_scope: 10, ..XmlLimits::default() };
        assert!(matches!(parse(declarations(10).as_bytes(), &within), Err(XmlError::NotWellFormed(_))));
        // A flood (120 000 declarations, 2.5 MB) is refused by the linear count: had the checked,
        // quadratic pass run first, it would have reported the duplicate at its end. And the
        // count stops at the limit: 33 attributes looked at, not 120 000 (nor 120 000² / 2).
        let flood = declarations(120_000);
        assert!(flood.len() > 2_000_000);
        let visited = |text: &str| {
            ATTRIBUTES_VISITED.with(|visited| visited.set(0));
            let result = parse_str(text);
            (result, ATTRIBUTES_VISITED.with(|visited| visited.get()))
        };
        let limit = XmlLimits::default().max_namespace_declarations;
        assert_eq!(visited(&flood), (Err(XmlError::TooLarge("namespace declarations on one element")), limit + 1));
        // The same holds for ordinary attributes.
        let attributes: String = (0..100_000).map(|i| format!(" a{i}='x'")).collect();
        let limit = XmlLimits::default().max_attributes;
        assert_eq!(visited(&format!("<r{attributes} a0='x'/>")), (Err(XmlError::TooLarge("the number of attributes")), limit + 1));
        // An accepted element is looked at twice: counted, then read.
        assert_eq!(visited("<r xmlns:p='urn:p' a='1' p:b='2'/>").1, 6);
    }

    #[test]
    fn namespace_declarations_are_bounded_per_element_per_document_and_in_scope() {
        let limits = XmlLimits::default();
        let on_one = |n: usize| (0..n).map(|i| format!(" xmlns:p{i}='urn:{i}'")).collect::<String>();
        assert!(parse_str(&format!("<r{}/>", on_one(limits.max_namespace_declarations))).is_ok());
        assert_eq!(
            parse_str(&format!("<r{}/>", on_one(limits.max_namespace_declarations + 1))),
            Err(XmlError::TooLarge("namespace declarations on one element"))
        );
        // Nested: each element within its own limit, together over the limit in scope.
        let nested = |levels: usize| format!("{}{}", format!("<a{}>", on_one(16)).repeat(levels), "</a>".repeat(levels));
        assert!(parse_str(&nested(4)).is_ok());
        assert_eq!(parse_str(&nested(5)), Err(XmlError::TooLarge("namespace declarations in scope")));
        // Siblings: never more than 16 in scope, but 16 × 17 in the document.
        let siblings = |count: usize| format!("<r>{}</r>", format!("<a{}/>", on_one(16)).repeat(count));
        assert!(parse_str(&siblings(16)).is_ok());
        assert_eq!(parse_str(&siblings(17)), Err(XmlError::TooLarge("namespace declarations in the document")));
        // Declarations go out of scope with their element.
        let closed = format!("<r>{}</r>", format!("<a{}><b/></a>", on_one(30)).repeat(8));
        assert!(parse_str(&closed).is_ok());
    }

    #[test]
    fn accepts_a_byte_order_mark() {
        assert!(parse("\u{feff}<r/>".as_bytes(), &XmlLimits::default()).is_ok());
    }
}
