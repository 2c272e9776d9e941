//! The services' payloads inside the SOAP Body: one module per operation reads its typed
//! request out of the payload element and writes its answer; this module holds the reading
//! cursor and the value types both share. Requests are checked against the contract
//! (`xsd/`): element names, namespace, order, cardinality and value types. Each refusal
//! names the element path, never the value sent.
//!
//! The checks mirror the XSD by hand: no pure-Rust XSD validator exists that we would trust,
//! and the two request types are small. The tests in `tests/` cross-check the samples and
//! answers against the real XSDs with xmllint.

pub(crate) mod get_application_list;
pub(crate) mod get_queue_statistics;
pub(crate) mod get_queue_status_list;
mod render;

use chrono::NaiveDate;

use crate::contract::SPOLIS_NS;
use crate::error::{ErrorCode, ServiceError};
use crate::model::Period;
use crate::personal_code::PersonalCode;
use crate::xml::Element;

pub use get_application_list::GetApplicationList;
pub use get_queue_statistics::{GetQueueStatistics, StatisticsPeriod};
pub use get_queue_status_list::GetQueueStatusList;

/// The operator (the human using the calling system) as the request names them.
#[derive(Clone, PartialEq, Eq)]
pub struct Operator {
    pub first_name: String,
    pub surname: String,
    pub person_code: PersonalCode,
}

impl std::fmt::Debug for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Operator(..)")
    }
}

/// Why the data are asked for (Regulation No. 587, 19.2 and 21; seed 000, 1.16–1.17): the
/// legal basis and, optionally, the case of the municipal social service it is for.
#[derive(Clone, PartialEq, Eq)]
pub struct Purpose {
    pub legal_basis: String,
    pub case_number: Option<String>,
}

impl std::fmt::Debug for Purpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A case number leads to a person: kept out of logs like the operator.
        f.write_str("Purpose(..)")
    }
}

/// The longest `LegalBasis` (`LegalBasisType`) and `CaseNumber` (`DocumentNumberType`).
pub(crate) const LEGAL_BASIS_MAX: usize = 500;
pub(crate) const CASE_NUMBER_MAX: usize = 50;

/// What a request said, kept as sent (trimmed) before validation, so that even a refused
/// call's audit record shows who asked about whom.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AsSent {
    pub person_code: Option<String>,
    pub operator_first_name: Option<String>,
    pub operator_surname: Option<String>,
    pub operator_person_code: Option<String>,
    pub purpose_legal_basis: Option<String>,
    pub purpose_case_number: Option<String>,
}

impl AsSent {
    /// Picks the identifying fields out of a payload without judging its shape.
    pub fn collect(payload: &Element) -> AsSent {
        let text = |element: &Element, name: &str| {
            element
                .children
                .iter()
                .find(|c| c.name == name)
                .map(|c| c.text.trim().to_string())
        };
        let operator = payload.children.iter().find(|c| c.name == "Operator");
        let purpose = payload.children.iter().find(|c| c.name == "Purpose");
        AsSent {
            person_code: text(payload, "PersonCode"),
            operator_first_name: operator.and_then(|o| text(o, "FirstName")),
            operator_surname: operator.and_then(|o| text(o, "Surname")),
            operator_person_code: operator.and_then(|o| text(o, "PersonCode")),
            purpose_legal_basis: purpose.and_then(|p| text(p, "LegalBasis")),
            purpose_case_number: purpose.and_then(|p| text(p, "CaseNumber")),
        }
    }
}

/// Why a payload is refused. Each names the element path, never the value sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The element does not keep to the schema.
    #[error("{path} {problem}.")]
    WrongFormat { path: String, problem: String },
    /// The operator or one of its parts is missing or empty.
    #[error("{path} {problem}.")]
    OperatorMissing { path: String, problem: &'static str },
    /// The purpose or its legal basis is missing or empty.
    #[error("{path} {problem}.")]
    PurposeMissing { path: String, problem: &'static str },
    /// A personal code does not parse.
    #[error("{path}: {why}.")]
    InvalidPersonCode { path: String, why: String },
    /// `From` after `Till`.
    #[error("The period's From date is after its Till date.")]
    InvalidPeriod,
}

impl PayloadError {
    /// Its code in the error table.
    pub fn code(&self) -> ErrorCode {
        match self {
            PayloadError::WrongFormat { .. } => ErrorCode::BodyWrongFormat,
            PayloadError::OperatorMissing { .. } => ErrorCode::OperatorMissing,
            PayloadError::PurposeMissing { .. } => ErrorCode::PurposeMissing,
            PayloadError::InvalidPersonCode { .. } => ErrorCode::InvalidPersonCode,
            PayloadError::InvalidPeriod => ErrorCode::InvalidPeriod,
        }
    }
}

impl From<PayloadError> for ServiceError {
    fn from(error: PayloadError) -> ServiceError {
        match error {
            // The table's message says it all.
            PayloadError::InvalidPeriod => ServiceError::new(ErrorCode::InvalidPeriod),
            error => ServiceError::with_detail(error.code(), error.to_string()),
        }
    }
}

/// A cursor over an element's children in the payload namespace, consumed in schema order.
pub(crate) struct Children<'a> {
    parent: &'a str,
    elements: std::iter::Peekable<std::slice::Iter<'a, Element>>,
}

impl<'a> Children<'a> {
    /// Starts reading `element`'s children; `path` names it in error messages.
    pub(crate) fn of(element: &'a Element, path: &'a str) -> Result<Self, PayloadError> {
        if !element.text.trim().is_empty() {
            return Err(wrong_format(path, "must not contain text"));
        }
        Ok(Children { parent: path, elements: element.children.iter().peekable() })
    }

    /// The next child if it is `name` (minOccurs=0).
    pub(crate) fn optional(&mut self, name: &str) -> Result<Option<&'a Element>, PayloadError> {
        match self.elements.peek() {
            Some(next) if next.name == name => {
                if next.namespace.as_deref() != Some(SPOLIS_NS) {
                    return Err(wrong_format(&format!("{}/{name}", self.parent), "is not in the service's namespace"));
                }
                Ok(self.elements.next())
            }
            _ => Ok(None),
        }
    }

    /// The next child, which must be `name` (minOccurs=1).
    pub(crate) fn required(&mut self, name: &str) -> Result<&'a Element, PayloadError> {
        self.optional(name)?
            .ok_or_else(|| wrong_format(&format!("{}/{name}", self.parent), "is missing or out of order"))
    }

    /// Whether a child `name` is still to come, anywhere (to tell "missing" from "misplaced").
    pub(crate) fn contains(&mut self, name: &str) -> bool {
        self.elements.clone().any(|e| e.name == name)
    }

    /// Ends the sequence: anything left is not in the schema.
    pub(crate) fn end(mut self) -> Result<(), PayloadError> {
        match self.elements.next() {
            None => Ok(()),
            Some(extra) => Err(wrong_format(&format!("{}/{}", self.parent, extra.name), "is not allowed here")),
        }
    }
}

/// `BodyWrongFormat` naming the element path.
pub(crate) fn wrong_format(path: &str, problem: &str) -> PayloadError {
    PayloadError::WrongFormat { path: path.to_string(), problem: problem.to_string() }
}

/// The text of a leaf element: no children, trimmed, within the length bounds of its type.
pub(crate) fn leaf_text<'a>(element: &'a Element, path: &str, max_length: usize) -> Result<&'a str, PayloadError> {
    if !element.children.is_empty() {
        return Err(wrong_format(path, "must not contain elements"));
    }
    let text = element.text.trim();
    if text.is_empty() {
        return Err(wrong_format(path, "is empty"));
    }
    if text.chars().count() > max_length {
        return Err(wrong_format(path, &format!("is longer than {max_length} characters")));
    }
    Ok(text)
}

/// A `PersonCodeType` value: any problem is `InvalidPersonCode`, the more useful answer
/// than a pattern mismatch.
pub(crate) fn person_code(element: &Element, path: &str) -> Result<PersonalCode, PayloadError> {
    if !element.children.is_empty() {
        return Err(wrong_format(path, "must not contain elements"));
    }
    PersonalCode::parse(&element.text)
        .map_err(|why| PayloadError::InvalidPersonCode { path: path.to_string(), why: why.to_string() })
}

/// An `xs:date`: `YYYY-MM-DD` with an optional time zone, which a date-only filter ignores.
pub(crate) fn date(element: &Element, path: &str) -> Result<NaiveDate, PayloadError> {
    let text = leaf_text(element, path, 32)?;
    // Split after ten characters, not ten bytes: a multi-byte character there must not panic.
    let (date_part, zone) = match text.char_indices().nth(10) {
        Some((boundary, _)) => text.split_at(boundary),
        None => (text, ""),
    };
    let zone_ok = zone.is_empty()
        || zone == "Z"
        || (zone.len() == 6 && (zone.starts_with('+') || zone.starts_with('-')) && zone.as_bytes()[3] == b':');
    match NaiveDate::parse_from_str(date_part, "%Y-%m-%d") {
        Ok(date) if zone_ok && date_part.len() == 10 => Ok(date),
        _ => Err(wrong_format(path, "is not a date (YYYY-MM-DD)")),
    }
}

/// The optional `Period` (`From`?, `Till`?), with From ≤ Till.
pub(crate) fn period(element: Option<&Element>, path: &str) -> Result<Period, PayloadError> {
    let Some(element) = element else { return Ok(Period::default()) };
    let mut children = Children::of(element, path)?;
    let from_path = format!("{path}/From");
    let till_path = format!("{path}/Till");
    let from = children.optional("From")?.map(|e| date(e, &from_path)).transpose()?;
    let till = children.optional("Till")?.map(|e| date(e, &till_path)).transpose()?;
    children.end()?;
    if let (Some(from), Some(till)) = (from, till) {
        if from > till {
            return Err(PayloadError::InvalidPeriod);
        }
    }
    Ok(Period { from, till })
}

/// The optional `AsOf` date.
pub(crate) fn as_of(children: &mut Children<'_>, path: &str) -> Result<Option<NaiveDate>, PayloadError> {
    children.optional("AsOf")?.map(|e| date(e, &format!("{path}/AsOf"))).transpose()
}

/// The mandatory `Purpose` (`LegalBasis`, `CaseNumber`?). A missing `Purpose` or an empty or
/// missing `LegalBasis` is `PurposeMissing`; anything else out of shape is `BodyWrongFormat`.
pub(crate) fn purpose(children: &mut Children<'_>, path: &str) -> Result<Purpose, PayloadError> {
    let purpose_path = format!("{path}/Purpose");
    let Some(element) = children.optional("Purpose")? else {
        if children.contains("Purpose") {
            return Err(wrong_format(&purpose_path, "is out of order"));
        }
        return Err(PayloadError::PurposeMissing { path: purpose_path, problem: "is missing" });
    };
    let mut parts = Children::of(element, &purpose_path)?;
    let basis_path = format!("{purpose_path}/LegalBasis");
    let missing = || PayloadError::PurposeMissing { path: basis_path.clone(), problem: "is missing or empty" };
    let Some(basis) = parts.optional("LegalBasis")? else {
        if parts.contains("LegalBasis") {
            return Err(wrong_format(&basis_path, "is out of order"));
        }
        return Err(missing());
    };
    if basis.text.trim().is_empty() && basis.children.is_empty() {
        return Err(missing());
    }
    let legal_basis = leaf_text(basis, &basis_path, LEGAL_BASIS_MAX)?.to_string();
    let case_number = parts
        .optional("CaseNumber")?
        .map(|e| leaf_text(e, &format!("{purpose_path}/CaseNumber"), CASE_NUMBER_MAX).map(str::to_string))
        .transpose()?;
    parts.end()?;
    Ok(Purpose { legal_basis, case_number })
}

/// The mandatory `Operator` (`FirstName`, `Surname`, `PersonCode`). Missing or empty parts are
/// `OperatorMissing`; a bad personal code is `InvalidPersonCode`.
pub(crate) fn operator(children: &mut Children<'_>, path: &str) -> Result<Operator, PayloadError> {
    let operator_path = format!("{path}/Operator");
    let Some(element) = children.optional("Operator")? else {
        if children.contains("Operator") {
            return Err(wrong_format(&operator_path, "is out of order"));
        }
        return Err(PayloadError::OperatorMissing { path: operator_path, problem: "is missing" });
    };
    let mut parts = Children::of(element, &operator_path)?;
    let missing = |part: &str| PayloadError::OperatorMissing { path: format!("{operator_path}/{part}"), problem: "is missing or empty" };
    let name_part = |parts: &mut Children<'_>, part: &str| -> Result<String, PayloadError> {
        let element = parts.optional(part)?.ok_or_else(|| missing(part))?;
        if element.text.trim().is_empty() && element.children.is_empty() {
            return Err(missing(part));
        }
        leaf_text(element, &format!("{operator_path}/{part}"), 100).map(str::to_string)
    };
    let first_name = name_part(&mut parts, "FirstName")?;
    let surname = name_part(&mut parts, "Surname")?;
    let code_element = parts.optional("PersonCode")?.ok_or_else(|| missing("PersonCode"))?;
    if code_element.text.trim().is_empty() && code_element.children.is_empty() {
        return Err(missing("PersonCode"));
    }
    let person_code = person_code(code_element, &format!("{operator_path}/PersonCode"))?;
    parts.end()?;
    Ok(Operator { first_name, surname, person_code })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{parse, XmlLimits};

    fn element(inner: &str) -> Element {
        let text = format!(r#"<R xmlns="{SPOLIS_NS}">{inner}</R>"#);
        parse(text.as_bytes(), &XmlLimits::default()).unwrap()
    }

    #[test]
    fn dates_accept_time_zones_and_refuse_other_shapes() {
        for ok in ["2024-02-29", "2024-02-29Z", "2024-02-29+02:00"] {
            let root = element(&format!("<D>{ok}</D>"));
            assert!(date(&root.children[0], "D").is_ok(), "{ok}");
        }
        for bad in ["2023-02-29", "2024-2-9", "29.02.2024", "2024-02-29T10:00:00", "2024-02-29+0200", "2024-01-0ā", "2024-01-0āZ", "ā2024-01-01", "2024-01-01ā"] {
            let root = element(&format!("<D>{bad}</D>"));
            assert_eq!(date(&root.children[0], "D").unwrap_err().code(), ErrorCode::BodyWrongFormat, "{bad}");
        }
    }

    #[test]
    fn period_refuses_from_after_till() {
        let root = element("<Period><From>2024-02-01</From><Till>2024-01-01</Till></Period>");
        assert_eq!(period(root.children.first(), "P").unwrap_err().code(), ErrorCode::InvalidPeriod);
        let root = element("<Period><Till>2024-01-01</Till><From>2023-01-01</From></Period>");
        assert_eq!(period(root.children.first(), "P").unwrap_err().code(), ErrorCode::BodyWrongFormat);
    }

    #[test]
    fn a_purpose_without_its_legal_basis_is_purpose_missing() {
        for case in ["", "<Purpose/>", "<Purpose><LegalBasis> </LegalBasis></Purpose>", "<Purpose><CaseNumber>SD-1</CaseNumber></Purpose>"] {
            let root = element(case);
            let mut children = Children::of(&root, "R").unwrap();
            assert_eq!(purpose(&mut children, "R").unwrap_err().code(), ErrorCode::PurposeMissing, "{case}");
        }
        for case in [
            "<Operator/><Purpose><LegalBasis>x</LegalBasis></Purpose>",
            "<Purpose><CaseNumber>SD-1</CaseNumber><LegalBasis>x</LegalBasis></Purpose>",
            "<Purpose><LegalBasis>x</LegalBasis><CaseNumber/></Purpose>",
            &format!("<Purpose><LegalBasis>{}</LegalBasis></Purpose>", "ā".repeat(LEGAL_BASIS_MAX + 1)),
            &format!("<Purpose><LegalBasis>x</LegalBasis><CaseNumber>{}</CaseNumber></Purpose>", "1".repeat(CASE_NUMBER_MAX + 1)),
        ] {
            let root = element(case);
            let mut children = Children::of(&root, "R").unwrap();
            assert_eq!(purpose(&mut children, "R").unwrap_err().code(), ErrorCode::BodyWrongFormat, "{case}");
        }
        let root = element(&format!("<Purpose><LegalBasis> {} </LegalBasis><CaseNumber>SD-2026/17</CaseNumber></Purpose>", "ā".repeat(LEGAL_BASIS_MAX)));
        let mut children = Children::of(&root, "R").unwrap();
        let read = purpose(&mut children, "R").unwrap();
        assert_eq!((read.legal_basis.chars().count(), read.case_number.as_deref()), (LEGAL_BASIS_MAX, Some("SD-2026/17")));
    }

    #[test]
    fn operator_parts_missing_or_empty_are_operator_missing() {
        let cases = [
            "",
            "<Operator/>",
            "<Operator><FirstName>Anna</FirstName><Surname>Liepiņa</Surname></Operator>",
            "<Operator><FirstName> </FirstName><Surname>Liepiņa</Surname><PersonCode>120379-10015</PersonCode></Operator>",
            "<Operator><FirstName>Anna</FirstName><Surname>Liepiņa</Surname><PersonCode/></Operator>",
        ];
        for case in cases {
            let root = element(case);
            let mut children = Children::of(&root, "R").unwrap();
            assert_eq!(operator(&mut children, "R").unwrap_err().code(), ErrorCode::OperatorMissing, "{case}");
        }
        let root = element("<Operator><FirstName>Anna</FirstName><Surname>Liepiņa</Surname><PersonCode>120379-10016</PersonCode></Operator>");
        let mut children = Children::of(&root, "R").unwrap();
        assert_eq!(operator(&mut children, "R").unwrap_err().code(), ErrorCode::InvalidPersonCode);
    }
}
