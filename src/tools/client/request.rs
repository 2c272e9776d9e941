//! Builds the requests `spolis-adapter client` sends: the payload element of EP115, EP116 or
//! GetQueueStatistics,
//! optionally inside an IVIS envelope, inside a SOAP 1.1 or 1.2 envelope, with the matching
//! Content-Type and SOAP action — exactly as `docs/CONTRACT.md` describes them.
//!
//! Input: what the command line says (service, person, operator, period, narrowing).
//! Output: the path, headers and body of one HTTP request. Checks only what it must to build
//! well-formed XML; the server is the judge of personal codes and the rest, so a client can
//! also be used to see the server refuse.

use chrono::NaiveDate;

use crate::contract::{Service, ServiceContract, IVIS_NS, SPOLIS_NS};
use crate::soap::SoapVersion;
use crate::xml::XmlWriter;

/// The operator (the social worker asking): first name(s), surname, personal code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorName {
    pub first_name: String,
    pub surname: String,
    pub person_code: String,
}

impl OperatorName {
    /// Reads "First [Second …] Surname CODE": the last word is the personal code, the one
    /// before it the surname, everything before that the first name(s).
    pub fn parse(text: &str) -> Result<OperatorName, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        match words.as_slice() {
            [first @ .., surname, code] if !first.is_empty() => Ok(OperatorName {
                first_name: first.join(" "),
                surname: (*surname).to_string(),
                person_code: (*code).to_string(),
            }),
            _ => Err(format!("expected \"First Surname PERSONAL-CODE\", got {text:?}")),
        }
    }

    /// "First Surname", as the printout's footer names the operator.
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.surname)
    }
}

/// One call to make.
#[derive(Debug, Clone)]
pub struct CallRequest {
    pub service: Service,
    pub person_code: String,
    pub operator: OperatorName,
    pub from: Option<NaiveDate>,
    pub till: Option<NaiveDate>,
    /// The register as it stood at the end of this day (the service's today when absent).
    pub as_of: Option<NaiveDate>,
    /// Why the data are asked for: the legal basis (mandatory for the service; the client
    /// sends what it is given, so that an empty one can be seen refused).
    pub legal_basis: String,
    /// The municipal social service's case number, if the look-up is for one.
    pub case_number: Option<String>,
    /// EP116 only: narrow to one service kind.
    pub service_kind_code: Option<String>,
    /// EP116 only: narrow to one provider.
    pub provider_code: Option<String>,
    pub soap: SoapVersion,
    /// Wrap the payload in an IVISRequest (the VISS style).
    pub ivis: bool,
    /// GetQueueStatistics only: the months, the municipality narrowing, by municipality.
    pub statistics: StatisticsRequest,
}

/// What a GetQueueStatistics call asks beyond the service kind and provider.
#[derive(Debug, Clone, Default)]
pub struct StatisticsRequest {
    /// The last n months (`MonthsBack`), when no months are given.
    pub months_back: Option<u16>,
    /// `FromMonth` and `TillMonth`, `YYYY-MM`.
    pub months: Option<(String, String)>,
    pub municipality_code: Option<String>,
    pub by_municipality: bool,
}

/// An HTTP request ready to send.
#[derive(Debug, Clone)]
pub struct PreparedRequest {
    pub path: &'static str,
    pub content_type: String,
    /// The SOAPAction header (SOAP 1.1 only; 1.2 carries the action in the Content-Type).
    pub soap_action: Option<String>,
    pub body: String,
}

impl CallRequest {
    /// The envelope, path and headers of this call.
    pub fn prepare(&self) -> PreparedRequest {
        let contract = ServiceContract::of(self.service);
        let payload = self.payload(contract);
        let (inner, action) = if self.ivis {
            (ivis_request(contract, &payload), contract.ivis_action)
        } else {
            (payload, contract.plain_action)
        };
        let body = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{}"><soap:Body>{inner}</soap:Body></soap:Envelope>"#,
            self.soap.namespace()
        );
        let (content_type, soap_action) = match self.soap {
            SoapVersion::V11 => (self.soap.content_type().to_string(), Some(action.to_string())),
            SoapVersion::V12 => (format!("{}; action=\"{action}\"", self.soap.content_type()), None),
        };
        PreparedRequest { path: contract.path, content_type, soap_action, body }
    }

    /// The `spolis:GetApplicationList` / `spolis:GetQueueStatusList` /
    /// `spolis:GetQueueStatistics` element.
    fn payload(&self, contract: &ServiceContract) -> String {
        let mut w = XmlWriter::with_capacity(512);
        w.open_with(contract.operation, &[("xmlns", SPOLIS_NS)]);
        if self.service == Service::QueueStatistics {
            let statistics = &self.statistics;
            w.open("Period");
            match &statistics.months {
                Some((from, till)) => w.leaf("FromMonth", from).leaf("TillMonth", till),
                None => w.number("MonthsBack", statistics.months_back.unwrap_or(12)),
            };
            w.close("Period")
                .leaf_opt("ServiceKindCode", self.service_kind_code.as_deref())
                .leaf_opt("ProviderCode", self.provider_code.as_deref())
                .leaf_opt("MunicipalityCode", statistics.municipality_code.as_deref());
            if statistics.by_municipality {
                w.leaf("ByMunicipality", "true");
            }
        } else {
            w.leaf("PersonCode", &self.person_code);
            if self.from.is_some() || self.till.is_some() {
                w.open("Period").date_opt("From", self.from).date_opt("Till", self.till).close("Period");
            }
            w.date_opt("AsOf", self.as_of);
        }
        if self.service == Service::Ep116 {
            w.leaf_opt("ServiceKindCode", self.service_kind_code.as_deref())
                .leaf_opt("ProviderCode", self.provider_code.as_deref());
        }
        w.open("Purpose")
            .leaf("LegalBasis", &self.legal_basis)
            .leaf_opt("CaseNumber", self.case_number.as_deref())
            .close("Purpose")
            .open("Operator")
            .leaf("FirstName", &self.operator.first_name)
            .leaf("Surname", &self.operator.surname)
            .leaf("PersonCode", &self.operator.person_code)
            .close("Operator")
            .close(contract.operation);
        w.finish()
    }
}

/// An `IVISRequest` around `payload`, with a fresh MessageID and the operator as employee.
fn ivis_request(contract: &ServiceContract, payload: &str) -> String {
    let mut w = XmlWriter::with_capacity(payload.len() + 1024);
    w.open_with("IVISRequest", &[("xmlns", IVIS_NS)])
        .open("Header")
        .leaf("MessageID", &uuid::Uuid::new_v4().to_string())
        .leaf("MessageType", contract.request_type_urn)
        .leaf("Destination", contract.service_urn)
        .close("Header")
        .open("Body")
        .raw(payload)
        .close("Body")
        .close("IVISRequest");
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_is_first_names_surname_and_code() {
        let operator = OperatorName::parse("Anna Marija  Liepiņa 120379-10015").unwrap();
        assert_eq!(operator.first_name, "Anna Marija");
        assert_eq!(operator.surname, "Liepiņa");
        assert_eq!(operator.person_code, "120379-10015");
        assert!(OperatorName::parse("Liepiņa 120379-10015").is_err());
    }

    #[test]
    fn soap12_ivis_request_carries_the_action_in_the_content_type() {
        let request = CallRequest {
            service: Service::Ep116,
            person_code: "150342-10121".into(),
            operator: OperatorName::parse("Anna Liepiņa 120379-10015").unwrap(),
            from: NaiveDate::from_ymd_opt(2020, 1, 1),
            till: None,
            as_of: NaiveDate::from_ymd_opt(2025, 6, 30),
            legal_basis: "Sociālo pakalpojumu un sociālās palīdzības likums, 9. pants".into(),
            case_number: Some("SD-2026/1417".into()),
            service_kind_code: Some("ISAR".into()),
            provider_code: None,
            soap: SoapVersion::V12,
            ivis: true,
            statistics: StatisticsRequest::default(),
        }
        .prepare();
        assert_eq!(request.path, "/GetQueueStatusList");
        assert!(request.content_type.contains("GetQueueStatusListIVIS"));
        assert!(request.soap_action.is_none());
        assert!(request.body.contains("<Period><From>2020-01-01</From></Period><AsOf>2025-06-30</AsOf><ServiceKindCode>ISAR</ServiceKindCode>"));
        assert!(request.body.contains(
            "</ServiceKindCode><Purpose><LegalBasis>Sociālo pakalpojumu un sociālās palīdzības likums, 9. pants</LegalBasis><CaseNumber>SD-2026/1417</CaseNumber></Purpose><Operator>"
        ));
        assert!(request.body.contains("<Destination>URN:IVIS:100001:ISS-LM-GetQueueStatusList-v1-0</Destination>"));
    }

    #[test]
    fn a_statistics_request_names_no_person() {
        let request = CallRequest {
            service: Service::QueueStatistics,
            person_code: String::new(),
            operator: OperatorName::parse("Anna Liepiņa 120379-10015").unwrap(),
            from: None,
            till: None,
            as_of: None,
            legal_basis: "MK noteikumi Nr. 587".into(),
            case_number: None,
            service_kind_code: Some("ISAR-P".into()),
            provider_code: None,
            soap: SoapVersion::V11,
            ivis: false,
            statistics: StatisticsRequest { months_back: Some(6), months: None, municipality_code: Some("RIGA".into()), by_municipality: true },
        }
        .prepare();
        assert_eq!(request.path, "/GetQueueStatistics");
        assert!(request.body.contains(
            "<GetQueueStatistics xmlns=\"http://ivis.eps.gov.lv/XMLSchemas/100001/LM-SPOLIS/v1-0\"><Period><MonthsBack>6</MonthsBack></Period><ServiceKindCode>ISAR-P</ServiceKindCode><MunicipalityCode>RIGA</MunicipalityCode><ByMunicipality>true</ByMunicipality><Purpose>"
        ), "{}", request.body);
        assert!(!request.body.contains("<PersonCode></PersonCode>"));
    }
}
