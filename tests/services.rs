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

/// A queue written by hand into a private register: provider TEST-Q, service kind ISAR.
/// Anna waits from 2022-01-10 until granted a place on 2024-06-15; Berta from 2023-06-01;
/// Cilda and then Dace (a later id) from 2024-02-01, Dace until refused on 2025-01-10.
const HAND_QUEUE: &str = "
    INSERT INTO providers VALUES (900001, 'TEST-Q', 'Pansionāts \"Rinda\"', 'Rindas iela 1, Rīga');
    INSERT INTO persons VALUES (900001, '32999000001', 'Anna', 'Pirmā'), (900002, '32999000002', 'Berta', 'Otrā'),
        (900003, '32999000003', 'Cilda', 'Trešā'), (900004, '32999000004', 'Dace', 'Ceturtā');
    INSERT INTO applications
        SELECT 900000 + p, 900000 + p, 'TEST-A-' || p, submitted, 'Sociālās aprūpes un rehabilitācijas pakalpojums',
               (SELECT id FROM service_kinds WHERE code = 'ISAR'), 900001, (SELECT min(id) FROM municipalities), NULL, NULL
        FROM (SELECT 1 AS p, '2022-01-03' AS submitted UNION ALL SELECT 2, '2023-05-20'
              UNION ALL SELECT 3, '2024-01-20' UNION ALL SELECT 4, '2024-01-22');
    INSERT INTO queue_decisions SELECT 900000 + p, 900000 + p, since, 'LM-T/' || p || '-R', 900001, since
        FROM (SELECT 1 AS p, '2022-01-10' AS since UNION ALL SELECT 2, '2023-06-01' UNION ALL SELECT 3, '2024-02-01' UNION ALL SELECT 4, '2024-02-01');
    INSERT INTO queue_events SELECT 900000 + n, 900000 + p, 900000 + p, kind, day, 'LM-T/' || n, (SELECT id FROM service_kinds WHERE code = 'ISAR'),
               900001, CASE kind WHEN 5 THEN 900001 END, NULL, CASE kind WHEN 5 THEN '2024-07-01' END
        FROM (SELECT 1 AS n, 1 AS p, 1 AS kind, '2022-01-10' AS day UNION ALL SELECT 2, 2, 1, '2023-06-01'
              UNION ALL SELECT 3, 3, 1, '2024-02-01' UNION ALL SELECT 4, 4, 1, '2024-02-01'
              UNION ALL SELECT 5, 1, 5, '2024-06-15' UNION ALL SELECT 6, 4, 14, '2025-01-10');
    INSERT INTO queue_entries SELECT 900000 + p, 900000 + p, 900000 + p, 900001, (SELECT id FROM service_kinds WHERE code = 'ISAR'), since, active
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

/// One person of a hand-built export: an application in queue `provider`, admitted (event 1)
/// and queued on `queued`; with `then` = (event kind, day) events after it; the entry active
/// unless one of them is a grant (5) or refusal (14).
fn hand_person(index: u32, name: &str, provider: &str, queued: &str, then: &[(u32, &str)]) -> String {
    let number = format!("EW-{index}");
    let mut events = format!("<QueueEvent><EventId>{}</EventId><Kind>1</Kind><EventDate>{queued}</EventDate><ApplicationNumber>{number}</ApplicationNumber><ServiceKind>ISAR-P</ServiceKind><PreferredProvider>{provider}</PreferredProvider></QueueEvent>", index * 10);
    for (i, (kind, day)) in then.iter().enumerate() {
        let offered = if *kind == 6 || *kind == 5 { format!("<OfferedProvider>{provider}</OfferedProvider>") } else { String::new() };
        events.push_str(&format!("<QueueEvent><EventId>{}</EventId><Kind>{kind}</Kind><EventDate>{day}</EventDate><ApplicationNumber>{number}</ApplicationNumber><ServiceKind>ISAR-P</ServiceKind><PreferredProvider>{provider}</PreferredProvider>{offered}</QueueEvent>", index * 10 + 1 + i as u32));
    }
    let active = !then.iter().any(|(kind, _)| *kind == 5 || *kind == 14);
    format!(
        "<Person><PersonCode>329991-{index:05}</PersonCode><FirstName>{name}</FirstName><Surname>Gaidītāja</Surname>\
         <Application><ApplicationNumber>{number}</ApplicationNumber><SubmittedOn>2024-01-01</SubmittedOn><ApplicationKind>Iesniegums</ApplicationKind>\
         <ServiceKind>ISAR-P</ServiceKind><PreferredProvider>{provider}</PreferredProvider><Municipality>RIGA</Municipality></Application>\
         {events}<QueueEntry><EntryId>{index}</EntryId><ApplicationNumber>{number}</ApplicationNumber><Provider>{provider}</Provider><ServiceKind>ISAR-P</ServiceKind>\
         <QueuedSince>{queued}</QueuedSince><Active>{active}</Active></QueueEntry></Person>"
    )
}

/// A register built by hand and loaded through `register import`, as of 2026-03-10: queue Q1
/// (provider Q1 × ISAR-P) where Cilda waits since 2025-01-15 behind Anna, Berta and Dace (who
/// declined an offer, 6 and 7, and was restored, 8 — no exit), and 18 persons who left it, each
/// on a grant (5) or a refusal (14, E4): E17 on 2025-02-10; by month from March 2025 to
/// February 2026 E1–E16: 1 1 2 1 0 1 3 1 1 2 1 2; E18 on 2026-03-05. Frida left queue Q2.
fn waiting_register() -> tempfile::TempDir {
    let exits: [(u32, u32, &str); 18] = [
        (1, 5, "2025-03-10"), (2, 5, "2025-04-10"), (3, 5, "2025-05-05"), (4, 14, "2025-05-20"), (5, 5, "2025-06-10"),
        (6, 5, "2025-08-10"), (7, 5, "2025-09-03"), (8, 5, "2025-09-10"), (9, 5, "2025-09-17"), (10, 5, "2025-10-10"),
        (11, 5, "2025-11-10"), (12, 5, "2025-12-05"), (13, 5, "2025-12-20"), (14, 5, "2026-01-10"), (15, 5, "2026-02-05"),
        (16, 5, "2026-02-20"), (17, 5, "2025-02-10"), (18, 5, "2026-03-05"),
    ];
    let mut persons: Vec<String> = exits
        .iter()
        .map(|(index, kind, day)| hand_person(100 + index, &format!("E{index}"), "Q1", &format!("2024-01-{:02}", 1 + index), &[(*kind, day)]))
        .collect();
    persons.push(hand_person(1, "Anna", "Q1", "2024-06-01", &[]));
    persons.push(hand_person(2, "Berta", "Q1", "2024-07-01", &[]));
    persons.push(hand_person(3, "Cilda", "Q1", "2025-01-15", &[]));
    persons.push(hand_person(4, "Dace", "Q1", "2024-01-05", &[(6, "2025-07-01"), (7, "2025-07-03"), (8, "2025-07-20")]));
    persons.push(hand_person(5, "Frida", "Q2", "2024-01-01", &[(5, "2025-06-01")]));
    let export = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<RegisterExport xmlns=\"{}\"><AsOf>2026-03-10T08:00:00Z</AsOf><Kind>full</Kind>\
         <ServiceKinds><ServiceKind><Code>ISAR-P</Code><Name>Pilngadīgām personām</Name></ServiceKind></ServiceKinds>\
         <Providers><Provider><Code>Q1</Code><Name>Pansionāts \"Rinda\"</Name><Address>Rindas iela 1</Address></Provider>\
         <Provider><Code>Q2</Code><Name>Pansionāts \"Otrā\"</Name><Address>Otrā iela 2</Address></Provider></Providers>\
         <Municipalities><Municipality><Code>RIGA</Code><Name>Rīgas valstspilsēta</Name><Address>Rātslaukums 1</Address></Municipality></Municipalities>\
         <Persons>{}</Persons></RegisterExport>\n",
        spolis_adapter::register::format::NAMESPACE,
        persons.join("\n")
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("hand.xml");
    std::fs::write(&file, export).expect("export written");
    let target = spolis_adapter::register::Target::Sqlite(dir.path().join(spolis_adapter::store::sqlite::DATABASE_FILE));
    let options = spolis_adapter::register::ImportOptions { files: vec![file], delta: false, dry_run: false };
    let outcome = spolis_adapter::register::import(&target, &options, &mut |_| {}, &mut |_| Ok(())).expect("imported");
    assert!(outcome.problems.is_empty(), "{:?}", outcome.problems);
    dir
}

#[tokio::test]
async fn each_position_carries_the_wait_its_queue_throughput_implies() {
    let register = waiting_register();
    let server = TestServer::start_with(Options { data_dir: Some(register.path().to_path_buf()), ..Default::default() }).await;
    let mut client = server.client("riga").await;
    let mut ask = async |as_of: Option<&str>| {
        let as_of = as_of.map(|day| format!("<AsOf>{day}</AsOf>")).unwrap_or_default();
        let reply = client
            .soap("/GetQueueStatusList", &envelope("1.1", &operation("GetQueueStatusList", &format!("<PersonCode>329991-00003</PersonCode>{as_of}"))))
            .await;
        is_ok_envelope(&reply, SOAP11);
        validate_answer(&reply.body).expect("valid against the schema");
        reply.body
    };
    let wait = |body: &str| -> Vec<Vec<String>> {
        ["PlacesAhead", "Months", "MonthsLow", "MonthsHigh", "InsufficientData", "BasisExits", "BasisMonths", "BasisFrom", "BasisTill"]
            .iter()
            .map(|name| texts(body, name))
            .collect()
    };
    let expect = |cells: [&str; 9]| -> Vec<Vec<String>> {
        cells.iter().map(|cell| if cell.is_empty() { vec![] } else { vec![cell.to_string()] }).collect()
    };

    // Now (no AsOf): the window is the 12 whole months before the register's as-of day
    // (2026-03-10), March 2025 – February 2026: E1–E16, 16 exits, not E17 (before) nor E18 (in
    // March 2026) nor Frida (another queue) nor Dace (a declined offer is no exit).
    // Monthly 1 1 2 1 0 1 3 1 1 2 1 2, sorted 0 1 1 1 1 1 1 1 2 2 2 3: mean 16/12 = 1.33,
    // P25 = (x2 + 3·x3)/4 = 1, P75 = (3·x8 + x9)/4 = 2. Anna, Berta, Dace ahead: n = 4.
    // Months 4 / 1.33 = 3.0; low 4 / 2 = 2.0; high 4 / 1 = 4.0.
    let now = ask(None).await;
    assert_eq!(wait(&now), expect(["3", "3.0", "2.0", "4.0", "false", "16", "12", "2025-03-01", "2026-02-28"]), "{now}");
    assert_eq!(
        texts(&now, "Basis"),
        ["Aprēķināts no rindas kustības 12 mēnešos (01.03.2025.–28.02.2026.): no rindas izgājušo personu skaits 16 (piešķirta vieta vai atteikums)."]
    );

    // As of 2025-12-15 the window moves to December 2024 – November 2025: E17 and E1–E11, 12
    // exits; monthly 0 0 1 1 1 2 1 0 1 3 1 1, sorted 0 0 0 1 1 1 1 1 1 1 2 3: mean 1,
    // P25 = (0 + 3·1)/4 = 0.75, P75 = (3·1 + 1)/4 = 1. Ahead that day: Anna, Berta, Dace and
    // E13–E16, E18, who left later: n = 9. Months 9 / 1 = 9.0; low 9 / max(1, 1) = 9.0;
    // high 9 / min(0.75, 1) = 12.0.
    let december = ask(Some("2025-12-15")).await;
    assert_eq!(wait(&december), expect(["8", "9.0", "9.0", "12.0", "false", "12", "12", "2024-12-01", "2025-11-30"]), "{december}");

    // As of 2025-03-20 the window is March 2024 – February 2025: only E17 left, fewer than 6
    // exits — said so, no number guessed.
    let early = ask(Some("2025-03-20")).await;
    assert_eq!(wait(&early)[1..], expect(["3", "", "", "", "true", "1", "12", "2024-03-01", "2025-02-28"])[1..], "{early}");
    assert_eq!(
        texts(&early, "Basis"),
        ["Par maz rindas kustības novērtējumam: 12 mēnešos (01.03.2024.–28.02.2025.) no rindas izgājušo personu skaits 1, vajag vismaz 6."]
    );
}
