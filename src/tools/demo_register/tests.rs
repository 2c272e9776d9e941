//! The demo register as the services see it: sizes, formats, stories, timing.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use super::generator::ascii_lower;
use super::reference::KIND_PROVIDER_CHANGE;
use super::*;
use crate::model::*;
use crate::personal_code::PersonalCode;
use crate::store::sqlite::{SqliteStore, DATABASE_FILE};

struct Seeded {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    store: SqliteStore,
    report: DemoReport,
}

fn seeded(persons: u64, seed: u64) -> Seeded {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DATABASE_FILE);
    let report = seed_sqlite(&path, &DemoOptions { persons, seed }).unwrap();
    let store = SqliteStore::open(&path).unwrap();
    Seeded { _dir: dir, path, store, report }
}

fn raw(path: &Path) -> Connection {
    Connection::open(path).unwrap()
}

fn code(text: &str) -> PersonalCode {
    PersonalCode::parse(text).unwrap()
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

async fn ep115(store: &SqliteStore, person: &str, period: Period) -> ApplicationList {
    store.application_list(ApplicationQuery { person_code: code(person), period, as_of: None }).await.unwrap()
}

async fn ep116(
    store: &SqliteStore,
    person: &str,
    period: Period,
    service_kind: Option<&str>,
    provider: Option<&str>,
) -> QueueStatusList {
    store
        .queue_status_list(QueueStatusQuery {
            person_code: code(person),
            period,
            service_kind_code: service_kind.map(str::to_owned),
            provider_code: provider.map(str::to_owned),
            as_of: None,
            today: None,
        })
        .await
        .unwrap()
}

fn kinds(list: &QueueStatusList) -> Vec<u8> {
    list.events.iter().map(|e| e.kind.code()).collect()
}

#[test]
fn seeds_the_requested_persons_with_valid_unique_codes_of_both_formats() {
    let db = seeded(1000, 7);
    assert_eq!(db.report.persons, 1000);
    assert_eq!(db.store.person_count().unwrap(), 1000);
    assert!(db.report.applications >= 1000 && db.report.queue_events > 2000, "{:?}", db.report);
    let conn = raw(&db.path);
    let mut stmt = conn.prepare("SELECT person_code, first_name || ' ' || surname FROM persons").unwrap();
    let rows: Vec<(String, String)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
    let codes: Vec<PersonalCode> = rows.iter().map(|(c, _)| code(c)).collect();
    assert_eq!(codes.iter().collect::<BTreeSet<_>>().len(), 1000);
    let new_format = codes.iter().filter(|c| c.is_new_format()).count();
    assert!(new_format > 30 && new_format < 200, "{new_format} new-format codes");
    assert!(!codes.contains(&code(NO_RECORDS_PERSON_CODE)));
    assert!(rows.iter().any(|(_, name)| name.contains('ņ') || name.contains('ā')));
    // Representatives' codes are valid and are nobody else's.
    let mut stmt = conn.prepare("SELECT person_code FROM legal_representatives").unwrap();
    let reps: Vec<PersonalCode> =
        stmt.query_map([], |r| r.get::<_, String>(0)).unwrap().map(|c| code(&c.unwrap())).collect();
    assert!(reps.len() > 200, "{} representatives", reps.len());
    let all: BTreeSet<_> = codes.iter().chain(&reps).collect();
    assert_eq!(all.len(), codes.len() + reps.len());
}

#[test]
fn every_event_kind_occurs_and_every_date_lies_in_the_register_years() {
    let db = seeded(1000, 7);
    let conn = raw(&db.path);
    let mut stmt = conn.prepare("SELECT DISTINCT kind FROM queue_events ORDER BY kind").unwrap();
    let found: Vec<u8> = stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    assert_eq!(found, (1..=15).collect::<Vec<u8>>());
    // Every kind occurs among the random persons too, not only in the showcase.
    let random_kinds: i64 = conn
        .query_row("SELECT count(DISTINCT kind) FROM queue_events WHERE person_id > 4", [], |r| r.get(0))
        .unwrap();
    assert_eq!(random_kinds, 15);
    let (first, last): (String, String) = conn
        .query_row(
            "SELECT min(d), max(d) FROM (
                SELECT submitted_on AS d FROM applications UNION ALL SELECT submitted_on FROM submitted_documents
                UNION ALL SELECT requested_on FROM document_requests UNION ALL SELECT due_on FROM document_requests
                UNION ALL SELECT fulfilled_on FROM document_requests WHERE fulfilled_on IS NOT NULL
                UNION ALL SELECT decided_on FROM grant_decisions UNION ALL SELECT granted_from FROM grant_decisions
                UNION ALL SELECT decided_on FROM queue_decisions UNION ALL SELECT event_date FROM queue_events
                UNION ALL SELECT granted_on FROM queue_events WHERE granted_on IS NOT NULL
                UNION ALL SELECT queued_since FROM queue_entries)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(first.as_str() >= "2015-01-01", "{first}");
    assert!(last.as_str() <= DATA_HORIZON, "{last}");
}

#[test]
fn queues_have_realistic_lengths_and_references_hold() {
    let db = seeded(1000, 7);
    let conn = raw(&db.path);
    let (queues, longest, waiting): (i64, i64, i64) = conn
        .query_row(
            "SELECT count(*), max(n), (SELECT count(DISTINCT person_id) FROM queue_entries WHERE active = 1)
             FROM (SELECT count(*) AS n FROM queue_entries WHERE active = 1 GROUP BY provider_id, service_kind_id)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert!(queues >= 20, "{queues} queues");
    assert!(longest >= 25, "longest queue {longest}");
    assert!((250..=450).contains(&waiting), "{waiting} persons waiting");
    let broken: i64 = conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
    assert_eq!(broken, 0);
}

#[tokio::test]
async fn erika_waits_in_two_queues_with_persons_ahead() {
    let db = seeded(1000, 7);
    let erika = SHOWCASE[0].person_code;
    let status = ep116(&db.store, erika, Period::default(), None, None).await;
    let person = status.person.clone().unwrap();
    assert_eq!((person.first_name.as_str(), person.surname.as_str()), ("Ērika", "Kalniņa"));
    assert_eq!(kinds(&status), [15, 1, 1, 6, 7, 8, 2, 3]);
    assert_eq!(status.positions.len(), 2);
    for p in &status.positions {
        assert!(p.places_ahead > 0, "{p:?}");
        assert!(p.queue_length > p.places_ahead, "{p:?}");
    }
    // The positions agree with counting the queue by hand.
    let conn = raw(&db.path);
    for p in &status.positions {
        let mut stmt = conn
            .prepare(
                "SELECT e.person_id, e.queued_since, e.id FROM queue_entries e
                 JOIN providers p ON p.id = e.provider_id JOIN service_kinds k ON k.id = e.service_kind_id
                 WHERE p.code = ?1 AND k.code = ?2 AND e.active = 1",
            )
            .unwrap();
        let mut queue: Vec<(i64, String, i64)> = stmt
            .query_map((&p.provider.code, &p.service_kind.code), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        queue.sort_by(|a, b| (&a.1, a.2).cmp(&(&b.1, b.2)));
        let mine = queue.iter().position(|e| e.0 == 1).unwrap();
        assert_eq!((p.places_ahead as usize, p.queue_length as usize), (mine, queue.len()));
    }
    let apps = ep115(&db.store, erika, Period::default()).await;
    assert_eq!(apps.applications.len(), 2);
    let first = &apps.applications[0];
    assert_eq!(first.submitted_on, date("2024-09-16"));
    assert_eq!(first.applicant, person);
    assert_eq!(first.municipality.name, "Rīgas valstspilsēta");
    let rep = first.legal_representative.as_ref().unwrap();
    assert!(rep.person_code.is_some() && rep.address.is_some() && rep.contacts.phone.is_some());
    assert_eq!(first.submitted_documents.len(), 6);
    assert_eq!(first.document_requests.len(), 2);
    assert_eq!(first.queue_decisions.len(), 1);
    assert!(first.grant_decisions.is_empty());
    assert_eq!(first.service_kind.code, "ISAR");
    assert_eq!(first.service_kind.name, "Ilgstošās sociālās aprūpes un sociālās rehabilitācijas institūcija", "seed 000's text");
    assert_eq!(first.problem_nature.as_ref().map(|g| g.code.as_str()), Some("REDZES-INVALIDITATE"));
    assert!(first.application_number.starts_with("SPOLIS-IES-2024-"));
    assert!(first.queue_decisions[0].document_number.starts_with("LM-2024/"));
}

#[tokio::test]
async fn janis_declined_a_place_was_granted_and_changed_provider() {
    let db = seeded(1000, 7);
    let janis = SHOWCASE[1].person_code;
    assert!(code(janis).is_new_format());
    let status = ep116(&db.store, janis, Period::default(), None, None).await;
    assert_eq!(kinds(&status), [1, 2, 3, 6, 7, 8, 6, 5, 4, 9, 10]);
    assert!(status.positions.is_empty());
    let declined = &status.events[4];
    assert_eq!(declined.offered_place.as_ref().unwrap().provider.code, "VSAC-ZEM-IEC");
    assert!(declined.decision_number.is_none());
    let granted = &status.events[7];
    assert_eq!(granted.granted_on, Some(date("2021-03-08")));
    assert!(granted.decision_number.as_deref().unwrap().ends_with("-P"));
    let apps = ep115(&db.store, janis, Period::default()).await;
    assert_eq!(apps.applications.len(), 2);
    assert_eq!(apps.applications[1].application_kind, KIND_PROVIDER_CHANGE);
    assert_eq!(apps.applications[1].grant_decisions[0].provider.code, "VSAC-RIG-EZE");
    assert_eq!(status.events[10].application_number.as_deref(), Some(apps.applications[1].application_number.as_str()));
}

#[tokio::test]
async fn aivars_was_asked_for_a_document_and_refused() {
    let db = seeded(1000, 7);
    let status = ep116(&db.store, SHOWCASE[2].person_code, Period::default(), None, None).await;
    assert_eq!(kinds(&status), [15, 14]);
    assert!(status.positions.is_empty());
    let apps = ep115(&db.store, SHOWCASE[2].person_code, Period::default()).await;
    let app = &apps.applications[0];
    assert_eq!(app.document_requests.len(), 1);
    assert_eq!(app.document_requests[0].fulfilled_on, None);
    assert!(app.queue_decisions.is_empty() && app.grant_decisions.is_empty());
    assert_eq!(app.status, ApplicationStatus::Refused);
    assert_eq!(app.refusal_decisions.len(), 1);
    assert_eq!(app.refusal_decisions[0].decided_on, status.events[1].event_date);
    assert_eq!(Some(&app.refusal_decisions[0].document_number), status.events[1].decision_number.as_ref());
}

#[test]
fn every_refusal_event_has_its_refusal_decision_and_no_other_does() {
    let db = seeded(1000, 7);
    let conn = raw(&db.path);
    let (refusals, matched, decisions): (i64, i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM queue_events WHERE kind = 14),
                    (SELECT count(*) FROM queue_events e JOIN refusal_decisions d
                       ON d.application_id = e.application_id AND d.decided_on = e.event_date
                      AND d.document_number = e.decision_number WHERE e.kind = 14),
                    (SELECT count(*) FROM refusal_decisions WHERE reason <> '')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert!(refusals > 20, "{refusals} refusals");
    assert_eq!((matched, decisions), (refusals, refusals));
}

#[tokio::test]
async fn liga_moved_to_a_halfway_house_then_a_group_apartment() {
    let db = seeded(1000, 7);
    let liga = SHOWCASE[3].person_code;
    let status = ep116(&db.store, liga, Period::default(), None, None).await;
    assert_eq!(kinds(&status), [1, 6, 5, 11, 12, 11, 13]);
    let halfway = ep116(&db.store, liga, Period::default(), Some("PUSCELA"), None).await;
    assert_eq!(kinds(&halfway), [11, 12]);
    assert!(halfway.events.iter().all(|e| e.service_kind.name == "Pusceļa māja"));
    let apps = ep115(&db.store, liga, Period::default()).await;
    assert_eq!(apps.applications.len(), 3);
    assert!(apps.applications[0].legal_representative.is_some());
}

#[tokio::test]
async fn the_no_records_code_has_no_person_and_no_rows() {
    let db = seeded(1000, 7);
    let apps = ep115(&db.store, NO_RECORDS_PERSON_CODE, Period::default()).await;
    assert_eq!(apps, ApplicationList { register_as_of: None, person: None, applications: Vec::new() });
    let status = ep116(&db.store, NO_RECORDS_PERSON_CODE, Period::default(), None, None).await;
    assert_eq!(status, QueueStatusList { register_as_of: None, person: None, events: Vec::new(), positions: Vec::new() });
}

#[tokio::test]
async fn the_period_narrows_applications_and_events_but_not_positions() {
    let db = seeded(1000, 7);
    let erika = SHOWCASE[0].person_code;
    let until_2024 = Period { from: None, till: Some(date("2024-12-31")) };
    let apps = ep115(&db.store, erika, until_2024).await;
    assert_eq!(apps.applications.len(), 1);
    assert_eq!(apps.applications[0].submitted_documents.len(), 6, "children come whatever their own date");
    let from_2025 = Period { from: Some(date("2025-02-03")), till: None };
    assert_eq!(ep115(&db.store, erika, from_2025).await.applications.len(), 1, "the start is inclusive");

    let year_2025 = Period { from: Some(date("2025-01-01")), till: Some(date("2025-12-31")) };
    let status = ep116(&db.store, erika, year_2025, None, None).await;
    assert_eq!(kinds(&status), [1, 6, 7, 8, 2, 3]);
    assert!(status.events.iter().all(|e| year_2025.contains(e.event_date)));
    assert_eq!(status.positions.len(), 2);
    let one_day = Period { from: Some(date("2025-06-13")), till: Some(date("2025-06-13")) };
    assert_eq!(kinds(&ep116(&db.store, erika, one_day, None, None).await), [7]);
}

#[tokio::test]
async fn service_kind_and_provider_narrow_events_and_positions() {
    let db = seeded(1000, 7);
    let erika = SHOWCASE[0].person_code;
    let home = ep116(&db.store, erika, Period::default(), None, Some("LO-0110")).await;
    assert_eq!(kinds(&home), [1]);
    assert_eq!(home.positions.len(), 1);
    assert_eq!(home.positions[0].provider.code, "LO-0110");
    // A provider narrows on the offered place too.
    let aizpute = ep116(&db.store, erika, Period::default(), None, Some("VSAC-KUR-AIZ")).await;
    assert_eq!(kinds(&aizpute), [6, 7]);
    assert!(aizpute.positions.is_empty());
    let institution = ep116(&db.store, erika, Period::default(), Some("ISAR"), None).await;
    assert_eq!(institution.events.len(), 8);
    assert_eq!(institution.positions.len(), 2);
    let halfway = ep116(&db.store, erika, Period::default(), Some("PUSCELA"), None).await;
    assert!(halfway.person.is_some() && halfway.events.is_empty() && halfway.positions.is_empty());
    let unknown = ep116(&db.store, erika, Period::default(), None, Some("NO-SUCH")).await;
    assert!(unknown.person.is_some() && unknown.events.is_empty() && unknown.positions.is_empty());
}

/// Every row of every register table, in id order, as text.
fn dump(path: &Path) -> Vec<String> {
    let conn = raw(path);
    let mut out = Vec::new();
    for table in [
        "service_kinds", "providers", "municipalities", "persons", "legal_representatives", "applications",
        "submitted_documents", "document_requests", "grant_decisions", "queue_decisions", "refusal_decisions", "queue_events",
        "queue_entries",
    ] {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table} ORDER BY id")).unwrap();
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            let values: Vec<String> = (0..columns).map(|i| format!("{:?}", row.get_ref(i).unwrap())).collect();
            out.push(format!("{table}: {}", values.join(" | ")));
        }
    }
    out
}

#[tokio::test]
async fn the_same_options_give_the_same_register() {
    let a = seeded(400, 42);
    let b = seeded(400, 42);
    let c = seeded(400, 43);
    let (dump_a, dump_b, dump_c) = (dump(&a.path), dump(&b.path), dump(&c.path));
    assert_eq!(dump_a.len(), dump_b.len());
    assert!(dump_a == dump_b, "the same seed gave different rows");
    assert!(dump_a != dump_c, "another seed gave the same rows");
    for showcase in SHOWCASE {
        let period = Period::default();
        assert_eq!(ep115(&a.store, showcase.person_code, period).await, ep115(&b.store, showcase.person_code, period).await);
        let (x, y) = (
            ep116(&a.store, showcase.person_code, period, None, None).await,
            ep116(&b.store, showcase.person_code, period, None, None).await,
        );
        assert_eq!(x, y);
    }
}

#[test]
fn a_register_that_holds_persons_is_not_seeded_again() {
    let db = seeded(10, 1);
    let err = seed_sqlite(&db.path, &DemoOptions { persons: 10, seed: 1 }).unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    assert_eq!(db.store.person_count().unwrap(), 10);
}

#[tokio::test]
async fn erika_has_places_ahead_even_in_a_small_register() {
    let db = seeded(20, 5);
    let status = ep116(&db.store, SHOWCASE[0].person_code, Period::default(), None, None).await;
    assert_eq!(status.positions.len(), 2);
    assert!(status.positions.iter().all(|p| p.places_ahead >= 3 && p.queue_length > p.places_ahead), "{:?}", status.positions);
}

#[test]
fn a_tiny_register_still_holds_the_showcase() {
    let db = seeded(2, 1);
    assert_eq!(db.report.persons, SHOWCASE.len() as u64);
    let db = seeded(5, 1);
    assert_eq!(db.report.persons, 5);
}

#[test]
fn no_query_scans_the_seeded_register() {
    let db = seeded(2000, 3);
    let conn = raw(&db.path);
    crate::store::sqlite::tests::assert_no_scans(&conn);
}

/// (number, date, issuer, year, n) of every decision event.
fn decisions(conn: &Connection) -> Vec<(String, String, String, String, u32)> {
    let mut stmt = conn.prepare("SELECT decision_number, event_date FROM queue_events WHERE decision_number IS NOT NULL").unwrap();
    let rows: Vec<(String, String)> = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
    rows.into_iter()
        .map(|(number, date)| {
            let (head, tail) = number.rsplit_once('/').unwrap_or_else(|| panic!("{number}"));
            let (issuer, year) = head.rsplit_once('-').unwrap_or_else(|| panic!("{number}"));
            let n = tail.split('-').next().unwrap().parse().unwrap_or_else(|_| panic!("{number}"));
            (number.clone(), date, issuer.to_string(), year.to_string(), n)
        })
        .collect()
}

#[test]
fn decision_numbers_ascend_with_their_dates_per_issuer_and_year() {
    let db = seeded(1000, 7);
    let conn = raw(&db.path);
    let mut by_issuer_year: std::collections::BTreeMap<(String, String), Vec<(u32, String)>> = Default::default();
    for (number, date, issuer, year, n) in decisions(&conn) {
        assert_eq!(&date[..4], year, "{number} dated {date}");
        by_issuer_year.entry((issuer, year)).or_default().push((n, date));
    }
    assert!(by_issuer_year.len() > 20, "{} issuer-years", by_issuer_year.len());
    for ((issuer, year), mut numbers) in by_issuer_year {
        numbers.sort();
        let ns: Vec<u32> = numbers.iter().map(|(n, _)| *n).collect();
        assert_eq!(ns, (1..=numbers.len() as u32).collect::<Vec<_>>(), "{issuer} {year}: numbers without gaps");
        for pair in numbers.windows(2) {
            assert!(pair[0].1 <= pair[1].1, "{issuer}-{year}/{} dated {} before /{} dated {}", pair[1].0, pair[1].1, pair[0].0, pair[0].1);
        }
    }
    // The decision rows carry the event's number.
    let stray: i64 = conn
        .query_row(
            "SELECT count(*) FROM (SELECT document_number FROM grant_decisions UNION ALL SELECT document_number FROM queue_decisions
               UNION ALL SELECT document_number FROM refusal_decisions) d
             WHERE d.document_number NOT IN (SELECT decision_number FROM queue_events WHERE decision_number IS NOT NULL)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stray, 0);
}

#[test]
fn group_apartment_decisions_are_the_municipality_s_and_the_rest_the_ministry_s() {
    let db = seeded(1000, 7);
    let conn = raw(&db.path);
    let mut stmt = conn
        .prepare(
            "SELECT e.decision_number, k.code, m.code FROM queue_events e JOIN applications a ON a.id = e.application_id
             JOIN service_kinds k ON k.id = a.service_kind_id JOIN municipalities m ON m.id = a.municipality_id
             WHERE e.decision_number IS NOT NULL",
        )
        .unwrap();
    let rows: Vec<(String, String, String)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect();
    let group_apartments = rows.iter().filter(|(_, kind, _)| kind == "GRUPU-DZ").count();
    assert!(group_apartments > 5, "{group_apartments} group apartment decisions");
    for (number, kind, municipality) in rows {
        let issuer = if kind == "GRUPU-DZ" { format!("{municipality}-SD-") } else { "LM-".to_string() };
        assert!(number.starts_with(&issuer), "{number} ({kind}, {municipality})");
    }
}

#[test]
fn every_application_of_a_child_has_a_legal_representative() {
    let db = seeded(1000, 7);
    let conn = raw(&db.path);
    let (children, unrepresented): (i64, i64) = conn
        .query_row(
            "SELECT count(*), count(*) FILTER (WHERE a.legal_representative_id IS NULL)
             FROM applications a JOIN client_groups g ON g.id = a.client_group_id
             WHERE g.code LIKE 'BERNS-%'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(children > 20, "{children} applications for children");
    assert_eq!(unrepresented, 0, "of {children} applications for children");
}

/// (provider, service kind, client group) codes of every place asked for, offered or granted.
fn places(conn: &Connection) -> Vec<(String, String, String)> {
    let mut stmt = conn
        .prepare(
            "SELECT p.code, k.code, g.code FROM (
                 SELECT a.preferred_provider_id AS provider_id, a.id AS application_id FROM applications a
                 UNION ALL SELECT e.offered_provider_id, e.application_id FROM queue_events e WHERE e.offered_provider_id IS NOT NULL
                 UNION ALL SELECT d.provider_id, d.application_id FROM grant_decisions d) x
             JOIN applications a ON a.id = x.application_id JOIN providers p ON p.id = x.provider_id
             JOIN service_kinds k ON k.id = a.service_kind_id JOIN client_groups g ON g.id = a.client_group_id",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
}

#[test]
fn every_place_is_at_a_provider_that_takes_the_client_group_and_service_kind() {
    let db = seeded(1000, 7);
    let places = places(&raw(&db.path));
    assert!(places.len() > 2000, "{} places", places.len());
    let index = |codes: &[(&str, &str)], code: &str| codes.iter().position(|c| c.0 == code).unwrap_or_else(|| panic!("{code}"));
    for (provider, kind, group) in &places {
        let seed = reference::PROVIDERS.iter().find(|p| p.code == provider).unwrap();
        let (kind, group) = (index(&reference::SERVICE_KINDS, kind), index(&reference::CLIENT_GROUPS, group));
        assert!(seed.serves(kind, group), "{provider} does not offer {kind:?} to {group:?}");
    }
    // No municipal care home with a state queue: VSAC branches and contract organisations only.
    assert!(places.iter().all(|(p, _, _)| p.starts_with("VSAC-") || p.starts_with("LO-")));
    // Halfway houses and group apartments are for adults with mental disorders.
    assert!(places.iter().all(|(_, kind, group)| kind == "ISAR" || group == "GARIGI-TRAUCEJUMI"));
    // Every group is there, and asks at VSAC branches and contract organisations alike.
    for group in ["GARIGI-TRAUCEJUMI", "REDZES-INVALIDITATE", "BERNS-BEZ-GADIBAS", "BERNS-INVALIDITATE"] {
        for owner in ["VSAC-", "LO-"] {
            assert!(places.iter().any(|(p, _, g)| g == group && p.starts_with(owner)), "{group} at {owner}");
        }
    }
}

#[test]
fn every_service_kind_a_group_is_offered_has_providers() {
    use reference::{CLIENT_GROUPS, GRUPU_DZ, ISAR, MENTAL, PROVIDERS, PUSCELA};
    let offered = (0..CLIENT_GROUPS.len()).map(|group| (ISAR, group)).chain([(PUSCELA, MENTAL), (GRUPU_DZ, MENTAL)]);
    for (kind, group) in offered {
        let providers = PROVIDERS.iter().filter(|p| p.serves(kind, group)).count();
        assert!(providers >= 2, "{providers} providers of {kind} for {group}");
    }
}

#[test]
fn children_apply_as_minors_and_adults_as_adults_of_working_age_and_older() {
    let db = seeded(1000, 7);
    let conn = raw(&db.path);
    let mut stmt = conn
        .prepare(
            "SELECT p.person_code, a.submitted_on, g.code FROM applications a JOIN persons p ON p.id = a.person_id
             JOIN client_groups g ON g.id = a.client_group_id",
        )
        .unwrap();
    let rows: Vec<(String, String, String)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect();
    let (mut children, mut working_age, mut elderly) = (0, 0, 0);
    for (person, submitted, group) in &rows {
        let Some(born) = code(person).birth_date() else { continue };
        let age = date(submitted).years_since(born).unwrap_or_else(|| panic!("{person} applied on {submitted}, before birth"));
        if group.starts_with("BERNS-") {
            assert!(age < 18, "{person} ({group}) applied on {submitted} at {age}");
            children += 1;
        } else {
            assert!(age >= 18, "{person} ({group}) applied on {submitted} at {age}");
            if age < 65 { working_age += 1 } else { elderly += 1 }
        }
    }
    assert!(children > 20 && working_age > 200 && elderly > 100, "{children} children, {working_age} of working age, {elderly} elderly");
    // Codes carry no birth date after 30 June 2017: those born later have new-format codes.
    assert!(rows.iter().all(|(person, _, _)| code(person).birth_date().is_none_or(|d| d <= date("2017-06-30"))));
}

/// A child's wait ends before they come of age (old-format codes, which carry the birth date).
#[test]
fn no_child_waits_or_is_granted_a_place_as_an_adult() {
    let db = seeded(1000, 7);
    let conn = raw(&db.path);
    let mut stmt = conn
        .prepare(
            "SELECT p.person_code, e.event_date FROM queue_events e JOIN applications a ON a.id = e.application_id
             JOIN persons p ON p.id = a.person_id JOIN client_groups g ON g.id = a.client_group_id
             WHERE g.code LIKE 'BERNS-%'
             UNION ALL
             SELECT p.person_code, ?1 FROM queue_entries q JOIN applications a ON a.id = q.application_id
             JOIN persons p ON p.id = a.person_id JOIN client_groups g ON g.id = a.client_group_id
             WHERE g.code LIKE 'BERNS-%' AND q.active = 1",
        )
        .unwrap();
    let rows: Vec<(String, String)> =
        stmt.query_map([DATA_HORIZON], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
    assert!(rows.len() > 50, "{} events of children", rows.len());
    for (person, day) in rows {
        if let Some(born) = code(&person).birth_date() {
            assert!(date(&day).years_since(born).is_some_and(|age| age < 18), "{person} on {day}");
        }
    }
}

#[test]
fn a_declined_offer_is_not_always_followed_by_restoration() {
    let db = seeded(1000, 7);
    let conn = raw(&db.path);
    let (restored, not_restored, still_queued): (i64, i64, i64) = conn
        .query_row(
            "WITH declined AS (
               SELECT d.application_id, EXISTS (SELECT 1 FROM queue_events r WHERE r.application_id = d.application_id
                                                 AND r.kind = 8 AND r.event_date >= d.event_date) AS restored
               FROM queue_events d WHERE d.kind = 7)
             SELECT count(*) FILTER (WHERE restored), count(*) FILTER (WHERE NOT restored),
                    count(*) FILTER (WHERE NOT restored AND EXISTS (SELECT 1 FROM queue_entries q
                                     WHERE q.application_id = declined.application_id AND q.active = 1))
             FROM declined",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert!(restored > 10 && not_restored > 5, "{restored} restored, {not_restored} not");
    assert_eq!(still_queued, 0, "who declined and was not restored waits no more");
}

#[test]
fn phone_numbers_are_latvian_landlines_and_mobiles() {
    let db = seeded(1000, 7);
    let conn = raw(&db.path);
    let digits = |phone: &str| -> String {
        let rest = phone.strip_prefix("+371 ").unwrap_or_else(|| panic!("{phone}"));
        assert!(rest.len() == 8 && rest.bytes().all(|b| b.is_ascii_digit()), "{phone}");
        rest.to_string()
    };
    // Landline areas: Rīga 66/67, Kurzeme and Zemgale 63, Vidzeme 64, Latgale and Sēlija 65.
    let mut stmt = conn.prepare("SELECT name, phone FROM municipalities").unwrap();
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).unwrap() {
        let (name, phone) = row.unwrap();
        let number = digits(&phone);
        assert!(["63", "64", "65", "66", "67"].contains(&&number[..2]), "{name}: {phone}");
        if name == "Rīgas valstspilsēta" {
            assert!(number.starts_with("67"), "{phone}");
        }
        if name == "Daugavpils valstspilsēta" {
            assert!(number.starts_with("654"), "{phone}");
        }
    }
    let mut stmt = conn.prepare("SELECT phone FROM legal_representatives").unwrap();
    for phone in stmt.query_map([], |r| r.get::<_, String>(0)).unwrap() {
        let phone = phone.unwrap();
        let number = digits(&phone);
        assert!(number.starts_with('2') && !number.starts_with("21"), "{phone}: a mobile number");
        assert!(!number.contains("123456"), "{phone}");
    }
}

#[test]
fn about_2600_persons_wait_in_a_register_of_the_whole_country() {
    let mut generator = generator::Generator::new(1);
    let random = 2_000_000 - SHOWCASE.len() as u64;
    generator.set_waiting_share(random);
    let waiting = generator.expected_waiting(random);
    assert!((2_500..=2_700).contains(&waiting), "{waiting} waiting of 2 million");
    generator.set_waiting_share(996);
    assert_eq!(generator.expected_waiting(996), 348, "a small register: a third waits");
}

#[test]
fn ascii_lower_strips_latvian_diacritics() {
    assert_eq!(ascii_lower("Ērika Ķēniņa Žagare"), "erika kenina zagare");
}

/// Measures seeding and answering: `SPOLIS_DEMO_PERSONS=100000 cargo test --release --lib seed_timing -- --ignored --nocapture`.
#[test]
#[ignore]
fn seed_timing() {
    let persons = std::env::var("SPOLIS_DEMO_PERSONS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    // SPOLIS_DEMO_OUT keeps the register for a look with the sqlite3 shell.
    let path = std::env::var_os("SPOLIS_DEMO_OUT").map_or_else(|| dir.path().join(DATABASE_FILE), Into::into);
    let report = seed_sqlite(&path, &DemoOptions { persons, seed: 1 }).unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    eprintln!("{report:?}, {} MB", size / 1_000_000);
    let store = SqliteStore::open(&path).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let started = Instant::now();
    let rounds = 200;
    for _ in 0..rounds {
        for showcase in SHOWCASE {
            let period = Period::default();
            runtime.block_on(async {
                ep115(&store, showcase.person_code, period).await;
                ep116(&store, showcase.person_code, period, None, None).await;
            });
        }
    }
    eprintln!("EP115+EP116: {:?} per pair", started.elapsed() / (rounds * SHOWCASE.len() as u32));
    crate::store::sqlite::tests::assert_no_scans(&raw(&path));
}
