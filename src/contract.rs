//! The published contract in one place: the vocabulary ([`Service`], [`Environment`]),
//! namespaces, URNs, SOAP actions, element names, and the WSDL and XSD documents themselves (compiled in, so the binary always serves the
//! contract it implements). `docs/CONTRACT.md` is the map of this file.
//!
//! Several values are the product's own choices where VISS sources are silent (VISS.md §10,
//! §11.4) — LM's IVIS authority id above all. Change them here and nowhere else.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize, Serializer};

/// One of the SPOLIS e-services this adapter answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub enum Service {
    /// EP115 GetApplicationList: status of applications for social services.
    Ep115,
    /// EP116 GetQueueStatusList: queue status for social services.
    Ep116,
    /// GetQueueStatistics: how the queues move, month by month, with no personal data. The
    /// VISS catalogue has no EP number for it yet; `STATS` is the product's own code until
    /// it has one.
    QueueStatistics,
}

impl Service {
    /// Every service, in code order.
    pub const ALL: [Service; 3] = [Service::Ep115, Service::Ep116, Service::QueueStatistics];

    /// The e-service code of the VISS catalogue: `"EP115"`, `"EP116"`, or `"STATS"` (ours).
    pub fn code(self) -> &'static str {
        match self {
            Service::Ep115 => "EP115",
            Service::Ep116 => "EP116",
            Service::QueueStatistics => "STATS",
        }
    }

    /// The SOAP operation name: `"GetApplicationList"`, `"GetQueueStatusList"` or
    /// `"GetQueueStatistics"`.
    pub fn operation(self) -> &'static str {
        match self {
            Service::Ep115 => "GetApplicationList",
            Service::Ep116 => "GetQueueStatusList",
            Service::QueueStatistics => "GetQueueStatistics",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A service name that is neither an EP code nor an operation name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown service {0:?}: expected \"EP115\", \"EP116\", \"STATS\", \"GetApplicationList\", \"GetQueueStatusList\" or \"GetQueueStatistics\""
)]
pub struct UnknownService(pub String);

impl FromStr for Service {
    type Err = UnknownService;

    /// Accepts the EP code or the operation name, exactly as spelt in [`Service::code`] and
    /// [`Service::operation`].
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Service::ALL
            .into_iter()
            .find(|service| name == service.code() || name == service.operation())
            .ok_or_else(|| UnknownService(name.to_owned()))
    }
}

impl TryFrom<String> for Service {
    type Error = UnknownService;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        name.parse()
    }
}

impl Serialize for Service {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

/// Which VISS environment a consumer's certificate is registered for; each has its own
/// certificates and IP addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// The test environment (testa vide).
    Test,
    /// The production environment (produkcijas vide).
    Production,
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Environment::Test => "test",
            Environment::Production => "production",
        })
    }
}

/// SOAP 1.1 envelope namespace.
pub const SOAP11_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// SOAP 1.2 envelope namespace.
pub const SOAP12_NS: &str = "http://www.w3.org/2003/05/soap-envelope";
/// The payload namespace of every service's requests, answers and fault detail.
pub const SPOLIS_NS: &str = "http://ivis.eps.gov.lv/XMLSchemas/100001/LM-SPOLIS/v1-0";
/// The VISS IVIS envelope namespace (IVISRequest / IVISResponse).
pub const IVIS_NS: &str = "http://ivis.eps.gov.lv/XMLSchemas/100001/IVIS/v1-0";
/// WS-Addressing 1.0, whose headers (sent with mustUnderstand by WCF clients) we accept.
pub const WS_ADDRESSING_NS: &str = "http://www.w3.org/2005/08/addressing";
/// WS-Security secext, whose `Security` header (Timestamp) we accept.
pub const WS_SECURITY_NS: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";

/// Everything that names one service on the wire.
#[derive(Debug)]
pub struct ServiceContract {
    pub service: Service,
    /// The HTTP path, also the plain operation's name with a leading slash.
    pub path: &'static str,
    /// The plain document/literal operation and its request element.
    pub operation: &'static str,
    /// The answer element.
    pub response_element: &'static str,
    /// The IVIS-style operation name in the WSDL.
    pub ivis_operation: &'static str,
    /// The service's URN:IVIS, the `Destination` of an IVISRequest.
    pub service_urn: &'static str,
    /// `MessageType` of the request and of the answer.
    pub request_type_urn: &'static str,
    pub response_type_urn: &'static str,
    /// SOAP actions of the plain and the IVIS-style operation.
    pub plain_action: &'static str,
    pub ivis_action: &'static str,
    /// The WSDL's file name and text.
    pub wsdl_file: &'static str,
    wsdl: &'static str,
}

pub const GET_APPLICATION_LIST: ServiceContract = ServiceContract {
    service: Service::Ep115,
    path: "/GetApplicationList",
    operation: "GetApplicationList",
    response_element: "GetApplicationListResponse",
    ivis_operation: "GetApplicationListIVIS",
    service_urn: "URN:IVIS:100001:ISS-LM-GetApplicationList-v1-0",
    request_type_urn: "URN:IVIS:100001:XSD-LM-SPOLIS-v1-0-TYPE-GetApplicationList",
    response_type_urn: "URN:IVIS:100001:XSD-LM-SPOLIS-v1-0-TYPE-GetApplicationListResponse",
    plain_action: "http://ivis.eps.gov.lv/ISS/LM-GetApplicationList/v1-0/GetApplicationList",
    ivis_action: "http://ivis.eps.gov.lv/ISS/LM-GetApplicationList/v1-0/GetApplicationListIVIS",
    wsdl_file: "GetApplicationList.wsdl",
    wsdl: include_str!("../wsdl/GetApplicationList.wsdl"),
};

pub const GET_QUEUE_STATUS_LIST: ServiceContract = ServiceContract {
    service: Service::Ep116,
    path: "/GetQueueStatusList",
    operation: "GetQueueStatusList",
    response_element: "GetQueueStatusListResponse",
    ivis_operation: "GetQueueStatusListIVIS",
    service_urn: "URN:IVIS:100001:ISS-LM-GetQueueStatusList-v1-0",
    request_type_urn: "URN:IVIS:100001:XSD-LM-SPOLIS-v1-0-TYPE-GetQueueStatusList",
    response_type_urn: "URN:IVIS:100001:XSD-LM-SPOLIS-v1-0-TYPE-GetQueueStatusListResponse",
    plain_action: "http://ivis.eps.gov.lv/ISS/LM-GetQueueStatusList/v1-0/GetQueueStatusList",
    ivis_action: "http://ivis.eps.gov.lv/ISS/LM-GetQueueStatusList/v1-0/GetQueueStatusListIVIS",
    wsdl_file: "GetQueueStatusList.wsdl",
    wsdl: include_str!("../wsdl/GetQueueStatusList.wsdl"),
};

pub const GET_QUEUE_STATISTICS: ServiceContract = ServiceContract {
    service: Service::QueueStatistics,
    path: "/GetQueueStatistics",
    operation: "GetQueueStatistics",
    response_element: "GetQueueStatisticsResponse",
    ivis_operation: "GetQueueStatisticsIVIS",
    service_urn: "URN:IVIS:100001:ISS-LM-GetQueueStatistics-v1-0",
    request_type_urn: "URN:IVIS:100001:XSD-LM-SPOLIS-v1-0-TYPE-GetQueueStatistics",
    response_type_urn: "URN:IVIS:100001:XSD-LM-SPOLIS-v1-0-TYPE-GetQueueStatisticsResponse",
    plain_action: "http://ivis.eps.gov.lv/ISS/LM-GetQueueStatistics/v1-0/GetQueueStatistics",
    ivis_action: "http://ivis.eps.gov.lv/ISS/LM-GetQueueStatistics/v1-0/GetQueueStatisticsIVIS",
    wsdl_file: "GetQueueStatistics.wsdl",
    wsdl: include_str!("../wsdl/GetQueueStatistics.wsdl"),
};

/// Every service: the two EP services in EP number order, then the statistics.
pub const SERVICES: [&ServiceContract; 3] = [&GET_APPLICATION_LIST, &GET_QUEUE_STATUS_LIST, &GET_QUEUE_STATISTICS];

/// The schemas the WSDLs import, served under `/xsd/<file>`.
pub const SCHEMAS: [(&str, &str); 5] = [
    ("SpolisCommon.xsd", include_str!("../xsd/SpolisCommon.xsd")),
    ("GetApplicationList.xsd", include_str!("../xsd/GetApplicationList.xsd")),
    ("GetQueueStatusList.xsd", include_str!("../xsd/GetQueueStatusList.xsd")),
    ("GetQueueStatistics.xsd", include_str!("../xsd/GetQueueStatistics.xsd")),
    ("IVIS.xsd", include_str!("../xsd/IVIS.xsd")),
];

/// The address written in the WSDL files in the repository; replaced when served.
const WSDL_PLACEHOLDER_ORIGIN: &str = "https://localhost:8443";

impl ServiceContract {
    /// The contract of the service at an HTTP path.
    pub fn by_path(path: &str) -> Option<&'static ServiceContract> {
        SERVICES.into_iter().find(|contract| contract.path == path)
    }

    pub fn of(service: Service) -> &'static ServiceContract {
        match service {
            Service::Ep115 => &GET_APPLICATION_LIST,
            Service::Ep116 => &GET_QUEUE_STATUS_LIST,
            Service::QueueStatistics => &GET_QUEUE_STATISTICS,
        }
    }

    /// The WSDL as served: the endpoint address is `public_url` + path, and the imported
    /// schemas are fetched from `public_url/xsd/`, so a client needs only the `?wsdl` URL.
    pub fn wsdl_for(&self, public_url: &str) -> String {
        let public_url = public_url.trim_end_matches('/');
        self.wsdl
            .replace(WSDL_PLACEHOLDER_ORIGIN, public_url)
            .replace("\"../xsd/", &format!("\"{public_url}/xsd/"))
    }
}

/// A schema by file name, as served under `/xsd/`. Schemas import each other by relative
/// names, which resolve against the `/xsd/` URL they were fetched from.
pub fn schema(file: &str) -> Option<&'static str> {
    SCHEMAS.iter().find(|(name, _)| *name == file).map(|(_, text)| *text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn served_wsdl_points_at_the_public_url_only() {
        for contract in SERVICES {
            let wsdl = contract.wsdl_for("https://adapter.example.lv:9443/");
            assert!(wsdl.contains(&format!("\"https://adapter.example.lv:9443{}\"", contract.path)), "{}", contract.path);
            assert!(wsdl.contains("\"https://adapter.example.lv:9443/xsd/"));
            assert!(!wsdl.contains("localhost:8443") && !wsdl.contains("../xsd/"));
            assert!(wsdl.contains(contract.plain_action) && wsdl.contains(contract.ivis_action));
        }
    }

    #[test]
    fn every_schema_a_schema_includes_is_served() {
        for (_, text) in SCHEMAS {
            for location in text.split("schemaLocation=\"").skip(1) {
                let file = location.split('"').next().unwrap_or_default();
                assert!(schema(file).is_some(), "{file} is referenced but not served");
            }
        }
    }

    #[test]
    fn services_parse_from_codes_and_operations_only() {
        assert_eq!("EP115".parse(), Ok(Service::Ep115));
        assert_eq!("GetQueueStatusList".parse(), Ok(Service::Ep116));
        assert_eq!(
            "ep115".parse::<Service>(),
            Err(UnknownService("ep115".into()))
        );
        assert_eq!(Service::Ep116.code(), "EP116");
        assert_eq!(Service::Ep115.operation(), "GetApplicationList");
        assert_eq!("STATS".parse(), Ok(Service::QueueStatistics));
        assert_eq!("GetQueueStatistics".parse(), Ok(Service::QueueStatistics));
        assert_eq!(Environment::Production.to_string(), "production");
    }
}
