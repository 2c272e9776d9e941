//! EP115 and EP116 end to end: both services × SOAP 1.1/1.2 × plain/IVIS style, over mutual
//! TLS against the seeded demo register, with the answers' content checked.

mod common;

use common::*;

const ERIKA: &str = "150342-10121";
const NO_RECORDS: &str = "051230-10106";

fn is_ok_envelope(reply: &Reply, soap_ns: &str) {
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.contains(soap_ns), "answered in another SOAP version: {}", reply.body);
    assert!(!reply.body.contains("Fault>"), "{}", reply.body);
}

#[tokio::test]
async fn every_sample_is_answered_in_its_version_and_style() {
    let server = TestServer::start().await;
    let mut client = server.client("riga").await;
    for service in ["ep115", "ep116"] {
        for version in ["soap11", "soap12"] {
            for style in ["plain", "ivis"] {
                let name = format!("{service}-{version}-{style}.xml");
                let path = if service == "ep115" { "/GetApplicationList" } else { "/GetQueueStatusList" };
                let reply = client.soap(path, &sample(&name)).await;
                let (soap_ns, content_type) =
                    if version == "soap11" { (SOAP11, "text/xml") } else { (SOAP12, "application/soap+xml") };
                is_ok_envelope(&reply, soap_ns);
                assert!(reply.content_type.starts_with(content_type), "{name}: {}", reply.content_type);
                let answer = if service == "ep115" { "GetApplicationListResponse" } else { "GetQueueStatusListResponse" };
                assert!(reply.body.contains(&format!("<{answer} xmlns=\"{SPOLIS}\">")), "{name}: {}", reply.body);
                assert!(reply.body.contains(&format!("<PersonCode>{ERIKA}</PersonCode><FirstName>Ērika</FirstName><Surname>Kalniņa</Surname>")), "{name}");
                if style == "ivis" {
                    assert!(reply.body.contains(&format!("<IVISResponse xmlns=\"{IVIS}\">")), "{name}");
                    assert_eq!(texts(&reply.body, "Result"), ["success"], "{name}");
                    let sent = texts(&sample(&name), "ivis:TransactionID");
                    assert_eq!(texts(&reply.body, "TransactionID"), sent, "{name}");
                    assert_eq!(texts(&reply.body, "CorrelationID").len(), 1, "{name}");
                    let response_type = format!("URN:IVIS:100001:XSD-LM-SPOLIS-v1-0-TYPE-{}", answer);
                    assert_eq!(texts(&reply.body, "MessageType"), [response_type], "{name}");
                }
            }
        }
    }
}

#[tokio::test]
async fn ep115_answers_every_application_with_its_decisions() {
    let server = TestServer::start().await;
    let mut client = server.client("riga").await;
    let request = envelope("1.1", &operation("GetApplicationList", &format!("<PersonCode>{ERIKA}</PersonCode>")));
    let reply = client.soap("/GetApplicationList", &request).await;
    is_ok_envelope(&reply, SOAP11);
    let body = &reply.body;
    let applications = texts(body, "ApplicationNumber");
    assert!(!applications.is_empty(), "{body}");
    // Every application carries the fields of point 12.
    for application in body.split("<Application>").skip(1) {
        for field in ["ApplicationNumber", "SubmissionDate", "ApplicationKind", "ServiceKind", "Applicant", "Municipality", "SubmittedDocuments", "DocumentRequests", "GrantDecisions", "QueueDecisions"] {
            assert!(application.contains(&format!("<{field}>")), "{field} missing in {application}");
        }
    }
    assert_eq!(body.matches("<ApplicationKind>").count(), applications.len());
    // Ērika has a legal representative and was admitted to a queue.
    assert!(body.contains("<LegalRepresentative>"), "{body}");
    assert!(body.contains("<QueueDecision><DecisionDate>"), "{body}");
    // Applications come oldest first.
    let dates = texts(body, "SubmissionDate");
    let application_dates: Vec<_> = body
        .split("<Application>")
        .skip(1)
        .map(|a| texts(a, "SubmissionDate")[0].clone())
        .collect();
    let mut sorted = application_dates.clone();
    sorted.sort();
    assert_eq!(application_dates, sorted);
    assert!(dates.len() >= application_dates.len());
}

#[tokio::test]
async fn ep116_answers_events_with_latvian_labels_and_current_positions() {
    let server = TestServer::start().await;
    let mut client = server.client("riga").await;
    let request = envelope("1.2", &operation("GetQueueStatusList", &format!("<PersonCode>{ERIKA}</PersonCode>")));
    let reply = client.soap("/GetQueueStatusList", &request).await;
    is_ok_envelope(&reply, SOAP12);
    let body = &reply.body;
    assert!(body.contains("<EventKind><Code>1</Code><Name>lēmums par uzņemšanu rindā</Name></EventKind>"), "{body}");
    let positions: Vec<&str> = body.split("<QueuePosition>").skip(1).collect();
    assert!(positions.len() >= 2, "Ērika waits in two queues: {body}");
    for position in positions {
        let ahead: u32 = texts(position, "PlacesAhead")[0].parse().unwrap();
        let length: u32 = texts(position, "QueueLength")[0].parse().unwrap();
        assert!(ahead > 0 && length > ahead, "ahead {ahead}, length {length}");
        assert_eq!(texts(position, "QueuedSince").len(), 1);
    }
}

#[tokio::test]
async fn a_person_with_no_records_gets_an_empty_answer_not_an_error() {
    let server = TestServer::start().await;
    let mut client = server.client("riga").await;
    for (path, name, empty) in [
        ("/GetApplicationList", "GetApplicationList", "<Applications></Applications>"),
        ("/GetQueueStatusList", "GetQueueStatusList", "<QueueEvents></QueueEvents><QueuePositions></QueuePositions>"),
    ] {
        let request = envelope("1.1", &operation(name, &format!("<PersonCode>{NO_RECORDS}</PersonCode>")));
        let reply = client.soap(path, &request).await;
        is_ok_envelope(&reply, SOAP11);
        assert!(reply.body.contains(empty), "{}", reply.body);
        assert!(!reply.body.contains("<Person>"), "{}", reply.body);
    }
}

#[tokio::test]
async fn the_period_narrows_applications_and_events() {
    let server = TestServer::start().await;
    let mut client = server.client("riga").await;
    let all = client
        .soap("/GetQueueStatusList", &envelope("1.1", &operation("GetQueueStatusList", &format!("<PersonCode>{ERIKA}</PersonCode>"))))
        .await;
    let dates = texts(&all.body, "EventDate");
    assert!(dates.len() >= 3, "{}", all.body);
    let middle = &dates[dates.len() / 2];
    let narrowed = client
        .soap(
            "/GetQueueStatusList",
            &envelope(
                "1.1",
                &operation("GetQueueStatusList", &format!("<PersonCode>{ERIKA}</PersonCode><Period><From>{middle}</From></Period>")),
            ),
        )
        .await;
    let narrowed_dates = texts(&narrowed.body, "EventDate");
    assert!(!narrowed_dates.is_empty() && narrowed_dates.len() < dates.len(), "{narrowed_dates:?} of {dates:?}");
    assert!(narrowed_dates.iter().all(|d| d >= middle));
    // Positions are the current ones whatever the period.
    assert_eq!(texts(&narrowed.body, "QueuedSince"), texts(&all.body, "QueuedSince"));

    let nothing = client
        .soap(
            "/GetApplicationList",
            &envelope("1.1", &operation("GetApplicationList", &format!("<PersonCode>{ERIKA}</PersonCode><Period><Till>1990-01-01</Till></Period>"))),
        )
        .await;
    assert!(nothing.body.contains("<Applications></Applications>"), "{}", nothing.body);
}

#[tokio::test]
async fn ep116_narrows_by_service_kind_and_provider() {
    let server = TestServer::start().await;
    let mut client = server.client("talsi").await;
    let all = client
        .soap("/GetQueueStatusList", &envelope("1.1", &operation("GetQueueStatusList", &format!("<PersonCode>{ERIKA}</PersonCode>"))))
        .await;
    let first_position = all.body.split("<QueuePosition>").nth(1).expect("a position").to_string();
    let provider_code = texts(texts(&first_position, "Provider")[0].as_str(), "Code")[0].clone();
    let kind_code = texts(texts(&first_position, "ServiceKind")[0].as_str(), "Code")[0].clone();

    let by_provider = client
        .soap(
            "/GetQueueStatusList",
            &envelope("1.1", &operation("GetQueueStatusList", &format!("<PersonCode>{ERIKA}</PersonCode><ProviderCode>{provider_code}</ProviderCode>"))),
        )
        .await;
    let positions: Vec<&str> = by_provider.body.split("<QueuePosition>").skip(1).collect();
    assert_eq!(positions.len(), 1, "{}", by_provider.body);
    assert!(texts(&by_provider.body, "QueueEvent").len() <= texts(&all.body, "QueueEvent").len());

    let by_kind = client
        .soap(
            "/GetQueueStatusList",
            &envelope("1.1", &operation("GetQueueStatusList", &format!("<PersonCode>{ERIKA}</PersonCode><ServiceKindCode>{kind_code}</ServiceKindCode>"))),
        )
        .await;
    let events: Vec<&str> = by_kind.body.split("<QueueEvent>").skip(1).collect();
    // Without this the loop below would pass on an answer with no events at all.
    assert!(!events.is_empty(), "the filter by the kind of one of Ērika's events finds events: {}", by_kind.body);
    for event in events {
        assert!(event.contains(&format!("<ServiceKind><Code>{kind_code}</Code>")), "{event}");
    }
}

#[tokio::test]
async fn new_format_personal_codes_and_codes_without_hyphen_are_answered() {
    let server = TestServer::start().await;
    let mut client = server.client("riga").await;
    for code in ["320417-28315", "32041728315"] {
        let reply = client
            .soap("/GetQueueStatusList", &envelope("1.2", &operation("GetQueueStatusList", &format!("<PersonCode>{code}</PersonCode>"))))
            .await;
        is_ok_envelope(&reply, SOAP12);
        assert!(reply.body.contains("<PersonCode>320417-28315</PersonCode><FirstName>Jānis</FirstName><Surname>Bērziņš</Surname>"), "{}", reply.body);
    }
}

#[tokio::test]
async fn the_soap_action_may_be_given_and_must_then_match() {
    let server = TestServer::start().await;
    let mut client = server.client("riga").await;
    let request = envelope("1.1", &operation("GetApplicationList", &format!("<PersonCode>{ERIKA}</PersonCode>")));
    let action = "\"http://ivis.eps.gov.lv/ISS/LM-GetApplicationList/v1-0/GetApplicationList\"";
    let reply = client.post("/GetApplicationList", "text/xml; charset=utf-8", Some(action), request.clone()).await;
    is_ok_envelope(&reply, SOAP11);
    let request12 = envelope("1.2", &operation("GetApplicationList", &format!("<PersonCode>{ERIKA}</PersonCode>")));
    let content_type = "application/soap+xml; charset=utf-8; action=\"http://ivis.eps.gov.lv/ISS/LM-GetApplicationList/v1-0/GetApplicationList\"";
    let reply = client.post("/GetApplicationList", content_type, None, request12).await;
    is_ok_envelope(&reply, SOAP12);
}

#[tokio::test]
async fn both_answers_say_when_spolis_extracted_the_register() {
    let register = imported_demo_register(50);
    let server = TestServer::start_with(Options { data_dir: Some(register.path().to_path_buf()), ..Default::default() }).await;
    let mut client = server.client("riga").await;
    for name in ["GetApplicationList", "GetQueueStatusList"] {
        // The same for a person without records and for any AsOf: it is the register's.
        for request in [format!("<PersonCode>{ERIKA}</PersonCode>"), format!("<PersonCode>{NO_RECORDS}</PersonCode><AsOf>2020-01-01</AsOf>")] {
            let reply = client.soap(&format!("/{name}"), &envelope("1.1", &operation(name, &request))).await;
            is_ok_envelope(&reply, SOAP11);
            assert_eq!(texts(&reply.body, "RegisterAsOf"), ["2026-11-01T00:00:00Z"], "the demo export's AsOf: {}", reply.body);
            validate_answer(&reply.body).expect("valid against the schema");
        }
    }
    // Never imported (the register was written directly): no as-of time is claimed.
    let unimported = TestServer::start().await;
    let reply = unimported.client("riga").await.soap("/GetQueueStatusList", &envelope("1.1", &operation("GetQueueStatusList", &format!("<PersonCode>{ERIKA}</PersonCode>")))).await;
    is_ok_envelope(&reply, SOAP11);
    assert!(texts(&reply.body, "RegisterAsOf").is_empty(), "{}", reply.body);
}

/// A queue written by hand into a private register: provider TEST-Q, service kind ISAR-P.
/// Anna waits from 2022-01-10 until granted a place on 2024-06-15; Berta from 2023-06-01;
/// Cilda and then Dace (a later id) from 2024-02-01, Dace until refused on 2025-01-10.
const HAND_QUEUE: &str = "
    INSERT INTO providers VALUES (900001, 'TEST-Q', 'Pansionāts \"Rinda\"', 'Rindas iela 1, Rīga');
    INSERT INTO persons VALUES (900001, '32999000001', 'Anna', 'Pirmā'), (900002, '32999000002', 'Berta', 'Otrā'),
        (900003, '32999000003', 'Cilda', 'Trešā'), (900004, '32999000004', 'Dace', 'Ceturtā');
    INSERT INTO applications
        SELECT 900000 + p, 900000 + p, 'TEST-A-' || p, submitted, 'Sociālās aprūpes un rehabilitācijas pakalpojums',
               (SELECT id FROM service_kinds WHERE code = 'ISAR-P'), 900001, (SELECT min(id) FROM municipalities), NULL, NULL
        FROM (SELECT 1 AS p, '2022-01-03' AS submitted UNION ALL SELECT 2, '2023-05-20'
              UNION ALL SELECT 3, '2024-01-20' UNION ALL SELECT 4, '2024-01-22');
    INSERT INTO queue_decisions SELECT 900000 + p, 900000 + p, since, 'LM-T/' || p || '-R', 900001, since
        FROM (SELECT 1 AS p, '2022-01-10' AS since UNION ALL SELECT 2, '2023-06-01' UNION ALL SELECT 3, '2024-02-01' UNION ALL SELECT 4, '2024-02-01');
    INSERT INTO queue_events SELECT 900000 + n, 900000 + p, 900000 + p, kind, day, 'LM-T/' || n, (SELECT id FROM service_kinds WHERE code = 'ISAR-P'),
               900001, CASE kind WHEN 5 THEN 900001 END, NULL, CASE kind WHEN 5 THEN '2024-07-01' END
        FROM (SELECT 1 AS n, 1 AS p, 1 AS kind, '2022-01-10' AS day UNION ALL SELECT 2, 2, 1, '2023-06-01'
              UNION ALL SELECT 3, 3, 1, '2024-02-01' UNION ALL SELECT 4, 4, 1, '2024-02-01'
              UNION ALL SELECT 5, 1, 5, '2024-06-15' UNION ALL SELECT 6, 4, 14, '2025-01-10');
    INSERT INTO queue_entries SELECT 900000 + p, 900000 + p, 900000 + p, 900001, (SELECT id FROM service_kinds WHERE code = 'ISAR-P'), since, active
        FROM (SELECT 1 AS p, '2022-01-10' AS since, 0 AS active UNION ALL SELECT 2, '2023-06-01', 1
              UNION ALL SELECT 3, '2024-02-01', 1 UNION ALL SELECT 4, '2024-02-01', 0);
";

#[tokio::test]
async fn as_of_a_day_the_queue_is_counted_as_it_stood_that_day() {
    let server = TestServer::start_with(Options { register_rows: Some(HAND_QUEUE), backend: Some(Backend::from_environment()), ..Default::default() }).await;
    let mut client = server.client("riga").await;
    let mut ask = async |person: &str, as_of: Option<&str>| {
        let as_of = as_of.map(|day| format!("<AsOf>{day}</AsOf>")).unwrap_or_default();
        let reply = client
            .soap("/GetQueueStatusList", &envelope("1.1", &operation("GetQueueStatusList", &format!("<PersonCode>{person}</PersonCode>{as_of}"))))
            .await;
        is_ok_envelope(&reply, SOAP11);
        reply.body
    };
    let position = |body: &str| (texts(body, "QueuedSince"), texts(body, "PlacesAhead"), texts(body, "QueueLength"));
    let cilda = "329990-00003";
    let at = |since: &str, ahead: &str, length: &str| (vec![since.to_string()], vec![ahead.to_string()], vec![length.to_string()]);
    // Now: Berta ahead (Anna granted, Dace refused).
    assert_eq!(position(&ask(cilda, None).await), at("2024-02-01", "1", "2"));
    // Anna and Berta ahead, Dace (queued the same day, later) behind.
    let then = ask(cilda, Some("2024-03-01")).await;
    assert_eq!(position(&then), at("2024-02-01", "2", "4"));
    assert_eq!(texts(&then, "EventDate"), ["2024-02-01"]);
    assert_eq!(position(&ask(cilda, Some("2024-06-14")).await), at("2024-02-01", "2", "4"));
    assert_eq!(position(&ask(cilda, Some("2024-06-15")).await), at("2024-02-01", "1", "3"), "Anna granted that day");
    assert_eq!(position(&ask(cilda, Some("2025-01-10")).await), at("2024-02-01", "1", "2"), "Dace refused that day");
    let before = ask(cilda, Some("2024-01-31")).await;
    assert!(texts(&before, "QueuePosition").is_empty() && texts(&before, "EventDate").is_empty(), "{before}");
    assert_eq!(texts(&before, "FirstName"), ["Cilda"], "the person is still named");
    // Anna first of four while she waited; no position once granted, her events up to the day.
    assert_eq!(position(&ask("329990-00001", Some("2024-03-01")).await), at("2022-01-10", "0", "4"));
    let granted = ask("329990-00001", Some("2024-06-15")).await;
    assert!(texts(&granted, "PlacesAhead").is_empty(), "{granted}");
    assert_eq!(texts(&granted, "EventDate"), ["2022-01-10", "2024-06-15"]);
    // Today is the register as it stands.
    let today = chrono::Utc::now().date_naive().to_string();
    assert_eq!(position(&ask(cilda, Some(&today)).await), position(&ask(cilda, None).await));

    // EP115 as of a day: Cilda's application without the decision that came later.
    let mut applications = async |as_of: &str| {
        let payload = operation("GetApplicationList", &format!("<PersonCode>{cilda}</PersonCode><AsOf>{as_of}</AsOf>"));
        client.soap("/GetApplicationList", &envelope("1.2", &payload)).await.body
    };
    let submitted = applications("2024-01-31").await;
    assert_eq!(texts(&submitted, "ApplicationNumber"), ["TEST-A-3"], "{submitted}");
    assert!(texts(&submitted, "QueueDecision").is_empty() && !submitted.contains("<QueuedFrom>"), "{submitted}");
    let decided = applications("2024-02-01").await;
    assert_eq!(texts(&decided, "QueuedFrom"), ["2024-02-01"], "{decided}");
    assert!(texts(&applications("2024-01-19").await, "ApplicationNumber").is_empty());
}
