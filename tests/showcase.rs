//! An oracle that does not come from the service: README's showcase persons checked against
//! facts written down by hand (which events, on which days, which queues), so that a wrong
//! register query cannot be recorded into `wsdl/samples/expected/` and then pass as expected.

mod common;

use common::*;
use spolis_adapter::xml::{self, Element, XmlLimits};

/// The answer's payload element (the SOAP Body's child), parsed.
fn payload(body: &str) -> Element {
    let root = xml::parse(body.as_bytes(), &XmlLimits { max_elements: 1_000_000, ..Default::default() }).expect("a well-formed answer");
    let soap_body = root.children.into_iter().find(|c| c.name == "Body").expect("a SOAP Body");
    soap_body.children.into_iter().next().expect("a payload")
}

fn child<'a>(element: &'a Element, name: &str) -> Option<&'a Element> {
    element.children.iter().find(|c| c.name == name)
}

fn text(element: &Element, path: &[&str]) -> String {
    path.iter()
        .try_fold(element, |at, name| child(at, name))
        .map_or_else(|| panic!("no {path:?} in {}", element.name), |found| found.text.trim().to_string())
}

fn children<'a>(element: &'a Element, list: &str, item: &str) -> Vec<&'a Element> {
    child(element, list).map_or_else(Vec::new, |list| list.children.iter().filter(|c| c.name == item).collect())
}

async fn ask(client: &mut Client, operation_name: &str, person: &str) -> Element {
    let reply = client
        .soap(&format!("/{operation_name}"), &envelope("1.1", &operation(operation_name, &format!("<PersonCode>{person}</PersonCode>"))))
        .await;
    assert_eq!(error_code(&reply.body), None, "{person}: {}", reply.body);
    payload(&reply.body)
}

/// (event kind, event date) of every queue event, in the answer's order.
async fn events(client: &mut Client, person: &str) -> (Vec<(u32, String)>, Vec<Element>) {
    let answer = ask(client, "GetQueueStatusList", person).await;
    let events = children(&answer, "QueueEvents", "QueueEvent")
        .into_iter()
        .map(|event| (text(event, &["EventKind", "Code"]).parse().expect("a kind number"), text(event, &["EventDate"])))
        .collect();
    let positions = children(&answer, "QueuePositions", "QueuePosition").into_iter().cloned().collect();
    (events, positions)
}

fn kinds_and_days(facts: &[(u32, &str)]) -> Vec<(u32, String)> {
    facts.iter().map(|(kind, day)| (*kind, day.to_string())).collect()
}

#[tokio::test]
async fn erika_kalnina_waits_in_two_queues_with_a_legal_representative() {
    let server = TestServer::start().await;
    let mut client = server.client("riga").await;
    let (events, positions) = events(&mut client, "150342-10121").await;
    // Documents asked for, admitted to two queues, an offer declined and the place restored,
    // the renewal asked for and sent.
    let expected = [(15, "2024-09-30"), (1, "2024-10-28"), (1, "2025-02-24"), (6, "2025-06-10"), (7, "2025-06-13"), (8, "2025-06-27"), (2, "2025-10-06"), (3, "2025-10-20")];
    assert_eq!(events, kinds_and_days(&expected));
    let queues: Vec<(String, String)> = positions.iter().map(|p| (text(p, &["Provider", "Code"]), text(p, &["QueuedSince"]))).collect();
    assert_eq!(queues, [("VSAC-RIG-EZE".to_string(), "2024-10-28".to_string()), ("LO-0110".to_string(), "2025-02-24".to_string())]);
    for position in &positions {
        let ahead: u32 = text(position, &["PlacesAhead"]).parse().unwrap();
        let length: u32 = text(position, &["QueueLength"]).parse().unwrap();
        assert!(ahead > 0 && ahead < length, "places ahead {ahead} of {length}");
    }

    let applications = ask(&mut client, "GetApplicationList", "150342-10121").await;
    let applications = children(&applications, "Applications", "Application");
    let numbers: Vec<String> = applications.iter().map(|a| text(a, &["ApplicationNumber"])).collect();
    assert_eq!(numbers, ["SPOLIS-IES-2024-000001", "SPOLIS-IES-2025-000001"]);
    for application in &applications {
        assert_eq!(text(application, &["LegalRepresentative", "Surname"]), "Liepiņa");
        assert_eq!(children(application, "GrantDecisions", "GrantDecision").len(), 0, "not granted yet");
    }
}

#[tokio::test]
async fn janis_berzins_was_granted_a_place_after_declining_one_then_changed_provider() {
    let server = TestServer::start().await;
    let mut client = server.client("riga").await;
    for spelling in ["320417-28315", "32041728315"] {
        let (events, positions) = events(&mut client, spelling).await;
        let expected = [
            (1, "2019-06-03"),
            (2, "2020-05-11"),
            (3, "2020-05-25"),
            (6, "2020-09-14"),
            (7, "2020-09-18"),
            (8, "2020-10-05"),
            (6, "2021-02-15"),
            (5, "2021-02-26"),
            (4, "2023-04-12"),
            (9, "2023-05-02"),
            (10, "2024-01-15"),
        ];
        assert_eq!(events, kinds_and_days(&expected), "{spelling}");
        assert!(positions.is_empty(), "granted: in no queue now");
    }
    let applications = ask(&mut client, "GetApplicationList", "320417-28315").await;
    let applications = children(&applications, "Applications", "Application");
    assert_eq!(applications.len(), 2, "the application and the provider change");
    assert!(applications.iter().all(|a| child(a, "LegalRepresentative").is_none()));
    assert!(applications.iter().all(|a| children(a, "GrantDecisions", "GrantDecision").len() == 1), "each granted once");
}

#[tokio::test]
async fn aivars_ozolins_was_asked_for_documents_and_refused() {
    let server = TestServer::start().await;
    let mut client = server.client("riga").await;
    let (events, positions) = events(&mut client, "020761-12340").await;
    assert_eq!(events, kinds_and_days(&[(15, "2023-03-27"), (14, "2023-05-15")]));
    assert!(positions.is_empty());
}

#[tokio::test]
async fn liga_vitola_went_from_an_institution_to_a_halfway_house_to_a_group_apartment() {
    let server = TestServer::start().await;
    let mut client = server.client("riga").await;
    let (events, positions) = events(&mut client, "231188-13456").await;
    let expected = [(1, "2020-03-02"), (6, "2020-08-17"), (5, "2020-08-24"), (11, "2021-06-07"), (12, "2021-11-15"), (11, "2023-09-04"), (13, "2024-03-18")];
    assert_eq!(events, kinds_and_days(&expected));
    assert!(positions.is_empty());
}

#[tokio::test]
async fn a_valid_code_without_records_is_an_empty_answer() {
    let server = TestServer::start().await;
    let mut client = server.client("riga").await;
    let (events, positions) = events(&mut client, "051230-10106").await;
    assert!(events.is_empty() && positions.is_empty());
    let applications = ask(&mut client, "GetApplicationList", "051230-10106").await;
    assert!(children(&applications, "Applications", "Application").is_empty());
}
