//! The client's JSON output: the element inside the SOAP Body (the EP115/EP116 answer, the
//! IVISResponse, or the Fault) as a JSON object, keyed by local element names.
//!
//! Input: an [`Element`]. Output: a `serde_json::Value`. Elements that the contract repeats
//! (applications, events, positions, documents, decisions of every kind, errors) are always arrays, even
//! with one or no item, so a consumer's code does not depend on the count; leaves are strings,
//! exactly as sent (no number or date conversion, nothing dropped but namespace prefixes).

use serde_json::{Map, Value};

use crate::xml::Element;

/// Elements whose children are a repeated list (`Wrapper` → `Item`*).
const LISTS: [(&str, &str); 10] = [
    ("Applications", "Application"),
    ("QueueEvents", "QueueEvent"),
    ("QueuePositions", "QueuePosition"),
    ("SubmittedDocuments", "Document"),
    ("DocumentRequests", "DocumentRequest"),
    ("GrantDecisions", "GrantDecision"),
    ("QueueDecisions", "QueueDecision"),
    ("RefusalDecisions", "RefusalDecision"),
    ("ErrorList", "Error"),
    ("Reason", "Text"),
];

/// `{ "<root name>": <value> }`.
pub fn to_json(element: &Element) -> Value {
    let mut object = Map::new();
    object.insert(element.name.clone(), value_of(element));
    Value::Object(object)
}

fn value_of(element: &Element) -> Value {
    if let Some((_, item)) = LISTS.iter().find(|(wrapper, _)| *wrapper == element.name) {
        return Value::Array(element.children.iter().filter(|c| c.name == *item).map(value_of).collect());
    }
    if element.children.is_empty() {
        return Value::String(element.text.trim().to_string());
    }
    // Children in document order; a name that occurs more than once becomes an array.
    let mut object = Map::new();
    for child in &element.children {
        let repeated = element.children.iter().filter(|c| c.name == child.name).count() > 1;
        let value = value_of(child);
        if !repeated {
            object.insert(child.name.clone(), value);
        } else if let Some(Value::Array(items)) = object.get_mut(&child.name) {
            items.push(value);
        } else {
            object.insert(child.name.clone(), Value::Array(vec![value]));
        }
    }
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{parse, XmlLimits};

    #[test]
    fn repeated_elements_are_always_arrays() {
        let element = parse(
            "<GetQueueStatusListResponse><QueueEvents/><QueuePositions><QueuePosition><PlacesAhead>3</PlacesAhead></QueuePosition></QueuePositions></GetQueueStatusListResponse>".as_bytes(),
            &XmlLimits::default(),
        )
        .unwrap();
        let json = to_json(&element);
        assert_eq!(json["GetQueueStatusListResponse"]["QueueEvents"], serde_json::json!([]));
        assert_eq!(json["GetQueueStatusListResponse"]["QueuePositions"][0]["PlacesAhead"], "3");
    }
}
