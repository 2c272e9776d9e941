//! The contract as served: `?wsdl` for each service with the server's own address, the XSDs
//! it imports reachable from the URLs written in it, and — checked with xmllint (libxml2) as
//! an independent validator — every sample request and every answer valid against `xsd/`.

mod common;


use common::*;

#[tokio::test]
async fn each_service_serves_its_wsdl_with_this_servers_address() {
    let server = TestServer::start().await;
    let mut client = server.client("riga").await;
    let origin = format!("https://localhost:{}", server.address.port());
    for (path, other) in [("/GetApplicationList", "/GetQueueStatusList"), ("/GetQueueStatusList", "/GetApplicationList")] {
        let reply = client.get(&format!("{path}?wsdl")).await;
        assert_eq!(reply.status, 200);
        assert!(reply.content_type.starts_with("text/xml"));
        assert_eq!(reply.body.matches(&format!("location=\"{origin}{path}\"")).count(), 2, "two ports: {}", reply.body);
        assert!(!reply.body.contains(&format!("{origin}{other}\"")));
        assert!(!reply.body.contains("../xsd/") && !reply.body.contains("localhost:8443"));
    }
}

#[tokio::test]
async fn every_schema_the_wsdl_imports_is_served_with_its_own_imports() {
    let server = TestServer::start().await;
    let mut client = server.client("talsi").await;
    let origin = format!("https://localhost:{}", server.address.port());
    let mut pending: Vec<String> = Vec::new();
    for path in ["/GetApplicationList?wsdl", "/GetQueueStatusList?wsdl"] {
        let wsdl = client.get(path).await.body;
        for location in wsdl.split("schemaLocation=\"").skip(1) {
            pending.push(location.split('"').next().unwrap().to_string());
        }
    }
    assert!(pending.len() >= 4, "{pending:?}");
    let mut fetched = std::collections::HashSet::new();
    while let Some(url) = pending.pop() {
        let path = url.strip_prefix(&origin).map(str::to_string).unwrap_or_else(|| format!("/xsd/{url}"));
        if !fetched.insert(path.clone()) {
            continue;
        }
        let reply = client.get(&path).await;
        assert_eq!(reply.status, 200, "{path}");
        assert!(reply.body.contains("<xs:schema"), "{path}");
        for location in reply.body.split("schemaLocation=\"").skip(1) {
            pending.push(location.split('"').next().unwrap().to_string());
        }
    }
    assert!(fetched.len() >= 4, "{fetched:?}");
    assert_eq!(client.get("/xsd/Secret.xsd").await.status, 404);
}

/// The first element inside `<…Body>` of a SOAP envelope, with the namespace declarations of
/// the envelope carried down so it stands alone.
fn body_payload(envelope: &str) -> String {
    let root = spolis_adapter::xml::parse(envelope.as_bytes(), &Default::default()).expect("well-formed");
    let body = root.children.iter().find(|c| c.name == "Body").expect("Body");
    let payload = &body.children[0];
    // The payload's start tag, prefixed (`<p:Name`) or not (`<Name`).
    let open = match envelope.find(&format!("<{}", payload.name)) {
        Some(unprefixed) => unprefixed,
        None => {
            let name = envelope.find(&format!(":{}", payload.name)).unwrap();
            envelope[..name].rfind('<').unwrap()
        }
    };
    let end_tag_start = envelope.rfind("Body>").unwrap();
    let close = envelope[..end_tag_start].rfind("</").unwrap();
    let mut text = envelope[open..close].to_string();
    // Carry the envelope's namespace declarations onto the payload element.
    let mut declarations = Vec::new();
    let mut rest = &envelope[..open];
    while let Some(at) = rest.find(" xmlns") {
        let from = at + 1;
        let Some(quote) = rest[from..].find('"') else { break };
        let Some(end) = rest[from + quote + 1..].find('"') else { break };
        let until = from + quote + 1 + end + 1;
        // Each prefix once (a signed answer declares some on several elements).
        let declaration = &rest[from..until];
        let prefix = &declaration[..declaration.find('=').unwrap_or(0)];
        if !declarations.iter().any(|d: &&str| d.starts_with(&format!("{prefix}="))) {
            declarations.push(declaration);
        }
        rest = &rest[until..];
    }
    if let Some(name_end) = text.find([' ', '>', '/']) {
        text.insert_str(name_end, &format!(" {}", declarations.join(" ")));
    }
    text
}

#[test]
fn every_sample_request_is_valid_against_the_schemas() {
    for entry in std::fs::read_dir(repo_path("wsdl/samples")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("xml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let payload = body_payload(&text);
        let schema = if payload.contains("IVISRequest") {
            "IVIS.xsd"
        } else if payload.contains("GetApplicationList") {
            "GetApplicationList.xsd"
        } else if payload.contains("GetQueueStatistics") {
            "GetQueueStatistics.xsd"
        } else {
            "GetQueueStatusList.xsd"
        };
        xmllint_validate(schema, &payload).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

#[tokio::test]
async fn every_answer_is_valid_against_the_schemas() {
    let server = TestServer::start().await;
    let mut client = server.client("riga").await;
    let persons = ["150342-10121", "320417-28315", "020761-12340", "231188-13456", "051230-10106"];
    for person in persons {
        for (path, name, schema) in [
            ("/GetApplicationList", "GetApplicationList", "GetApplicationList.xsd"),
            ("/GetQueueStatusList", "GetQueueStatusList", "GetQueueStatusList.xsd"),
        ] {
            let request = envelope("1.1", &operation(name, &format!("<PersonCode>{person}</PersonCode>")));
            let reply = client.soap(path, &request).await;
            assert_eq!(reply.status, 200);
            xmllint_validate(schema, &body_payload(&reply.body)).unwrap_or_else(|e| panic!("{name} {person}: {e}\n{}", reply.body));
        }
    }
    // IVIS answers, a success and a refusal, against IVIS.xsd.
    let success = client.soap("/GetApplicationList", &sample("ep115-soap12-ivis.xml")).await;
    xmllint_validate("IVIS.xsd", &body_payload(&success.body)).unwrap_or_else(|e| panic!("IVIS success: {e}"));
    let refusal = client
        .soap("/GetApplicationList", &sample("ep115-soap12-ivis.xml").replace("<spolis:PersonCode>150342-10121", "<spolis:PersonCode>150342-10122"))
        .await;
    assert!(refusal.body.contains("<ErrorList>"));
    xmllint_validate("IVIS.xsd", &body_payload(&refusal.body)).unwrap_or_else(|e| panic!("IVIS refusal: {e}"));
    // The fault detail against the common schema.
    let fault = client.soap("/GetApplicationList", &envelope("1.1", &operation("GetApplicationList", "<PersonCode>1</PersonCode>"))).await;
    let detail_start = fault.body.find("<ServiceError").unwrap();
    let detail_end = fault.body.find("</ServiceError>").unwrap() + "</ServiceError>".len();
    xmllint_validate("SpolisCommon.xsd", &fault.body[detail_start..detail_end]).unwrap_or_else(|e| panic!("fault detail: {e}"));
}

#[tokio::test]
async fn the_harness_schema_check_refuses_an_answer_that_breaks_the_schema() {
    let server = TestServer::start().await;
    // Every reply through the harness has passed validate_answer already; tamper with one.
    let reply = server.client("riga").await.soap("/GetQueueStatusList", &sample("ep116-soap11-plain.xml")).await;
    assert!(validate_answer(&reply.body).is_ok());
    let broken = reply.body.replacen("<QueuePositions>", "<QueuePositions><Unexpected/>", 1);
    assert!(validate_answer(&broken).is_err());
    let no_payload = reply.body.replace("GetQueueStatusListResponse", "SomethingElse");
    assert!(validate_answer(&no_payload).is_err());
}
