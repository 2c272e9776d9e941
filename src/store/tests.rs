//! The store's own tests, each run on both backends: the same tiny register written into
//! SQLite and copied into a fresh PostgreSQL database (`SPOLIS_TEST_POSTGRES`, default the
//! local server), asked the same questions, giving the same answers.

use std::path::Path;

use chrono::NaiveDate;

use super::*;
use crate::database::postgres::{connect, describe, PostgresOptions};
use crate::database::runtime::block_on;
use crate::model::*;
use crate::personal_code::PersonalCode;

/// Writes a tiny register by hand into the migrated SQLite file at `path`: two persons
/// waiting in one queue, one event each (Ērika two, in two queues); Ērika offered a place in
/// her second; Aivars refused on a second application (its events written out of date order);
/// and a third who waited ahead of both in the first queue from 2022 until granted a place on
/// 2024-06-15.
pub(crate) fn write_tiny_register(path: &Path) {
    let conn = crate::database::sqlite::open_writer(path).unwrap();
    conn.execute_batch(
        "INSERT INTO service_kinds VALUES (1, 'ISAR-P', 'Pilngadīgām personām');
         INSERT INTO providers VALUES (1, 'P1', 'VSAC \"Rīga\" filiāle \"Ezerkrasti\"', 'Rīga');
         INSERT INTO providers VALUES (2, 'P2', 'Pansionāts \"Ābeļdārzs\"', 'Rīga 2');
         INSERT INTO municipalities VALUES (1, 'RIGA', 'Rīgas valstspilsēta', 'Rīga', NULL, NULL);
         INSERT INTO client_groups VALUES (1, 'REDZES-INVALIDITATE', 'Persona ar redzes invaliditāti');
         INSERT INTO persons VALUES (1, '15034210121', 'Ērika', 'Kalniņa');
         INSERT INTO persons VALUES (2, '02076112340', 'Aivars', 'Ozoliņš');
         INSERT INTO applications VALUES (1, 1, 'A-1', '2024-01-10', 'Sociālās aprūpes un rehabilitācijas pakalpojums', 1, 1, 1, NULL, NULL);
         INSERT INTO applications VALUES (2, 1, 'A-2', '2025-03-01', 'Sociālās aprūpes un rehabilitācijas pakalpojums', 1, 2, 1, NULL, NULL);
         INSERT INTO applications VALUES (3, 2, 'A-3', '2023-05-05', 'Sociālās aprūpes un rehabilitācijas pakalpojums', 1, 1, 1, NULL, NULL);
         INSERT INTO applications VALUES (4, 2, 'A-4', '2024-01-02', 'Sociālās aprūpes un rehabilitācijas pakalpojums', 1, 2, 1, NULL, NULL);
         UPDATE applications SET client_group_id = 1 WHERE id = 1;
         INSERT INTO submitted_documents VALUES (1, 1, 'Iesniegums', '2024-01-10');
         INSERT INTO submitted_documents VALUES (2, 2, 'Iesniegums', '2025-03-01');
         INSERT INTO document_requests VALUES (9, 1, '2024-01-15', 'Ārsta atzinums', '2024-02-15', '2024-02-10');
         INSERT INTO queue_decisions VALUES (1, 1, '2024-02-01', 'LM-2024/1-R', 1, '2024-02-01');
         INSERT INTO queue_events VALUES (1, 1, 1, 1, '2024-02-01', 'LM-2024/1-R', 1, 1, NULL, NULL, NULL);
         INSERT INTO queue_events VALUES (2, 1, 2, 1, '2025-03-20', 'LM-2025/2-R', 1, 2, NULL, NULL, NULL);
         INSERT INTO queue_events VALUES (3, 2, 3, 1, '2023-06-01', 'LM-2023/3-R', 1, 1, NULL, NULL, NULL);
         INSERT INTO queue_events VALUES (4, 1, 2, 6, '2025-09-01', NULL, 1, 2, 2, NULL, NULL);
         INSERT INTO queue_events VALUES (5, 2, 4, 14, '2024-03-01', 'LM-2024/2-A', 1, 2, NULL, NULL, NULL);
         INSERT INTO queue_events VALUES (6, 2, 4, 15, '2024-01-15', NULL, 1, 2, NULL, NULL, NULL);
         INSERT INTO refusal_decisions VALUES (1, 4, '2024-03-01', 'LM-2024/2-A', 'Nav iesniegti pieprasītie dokumenti');
         INSERT INTO queue_entries VALUES (1, 2, 3, 1, 1, '2023-06-01', 1);
         INSERT INTO queue_entries VALUES (2, 1, 1, 1, 1, '2024-02-01', 1);
         INSERT INTO queue_entries VALUES (3, 1, 2, 2, 1, '2025-03-20', 1);
         INSERT INTO persons VALUES (9, '23118813456', 'Līga', 'Vītola');
         INSERT INTO applications VALUES (9, 9, 'A-9', '2022-01-05', 'Sociālās aprūpes un rehabilitācijas pakalpojums', 1, 1, 1, NULL, NULL);
         INSERT INTO queue_events VALUES (91, 9, 9, 1, '2022-01-10', 'LM-2022/1-R', 1, 1, NULL, NULL, NULL);
         INSERT INTO queue_events VALUES (92, 9, 9, 5, '2024-06-15', 'LM-2024/9-P', 1, 1, 1, NULL, '2024-07-01');
         INSERT INTO queue_entries VALUES (9, 9, 9, 1, 1, '2022-01-10', 0);",
    )
    .unwrap();
}

#[derive(Debug, Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

/// The tiny register opened as a [`Store`] on `backend`; dropping it removes its files and
/// its PostgreSQL database.
struct TinyRegister {
    store: Store,
    _dir: tempfile::TempDir,
    _database: Option<ScratchDatabase>,
}

impl TinyRegister {
    fn open(backend: Backend) -> TinyRegister {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(sqlite::DATABASE_FILE);
        drop(Store::open_sqlite(dir.path()).unwrap());
        write_tiny_register(&path);
        let (store, database) = match backend {
            Backend::Sqlite => (Store::open_sqlite(dir.path()).unwrap(), None),
            Backend::Postgres => {
                let database = ScratchDatabase::create();
                let options = PostgresOptions::default();
                import::import_sqlite_register(&database.url, &options, &path).unwrap();
                (Store::open_postgres(&database.url, None, &options).unwrap(), Some(database))
            }
        };
        TinyRegister { store, _dir: dir, _database: database }
    }
}

/// A PostgreSQL database of its own for one test, dropped with it.
struct ScratchDatabase {
    name: String,
    url: String,
}

impl ScratchDatabase {
    fn server() -> String {
        std::env::var("SPOLIS_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string())
    }

    fn create() -> ScratchDatabase {
        let name = format!("spolis_store_test_{}", uuid::Uuid::new_v4().simple());
        admin(&format!("CREATE DATABASE {name}"));
        ScratchDatabase { url: format!("{}/{name}", Self::server()), name }
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        admin(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

/// Runs `sql` on the test server's `postgres` database.
fn admin(sql: &str) {
    let url = format!("{}/postgres", ScratchDatabase::server());
    block_on(|| async {
        let client = connect(&url, &PostgresOptions::default()).await?;
        client.batch_execute(sql).await.map_err(|e| StoreError::Unavailable(describe(&e)))
    })
    .unwrap_or_else(|error| panic!("PostgreSQL for the store's tests ({sql}): {error}"));
}

fn person(digits: &str) -> PersonalCode {
    PersonalCode::parse(digits).unwrap()
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

/// EP116 about Ērika (150342-10121): everything, as of today; tests narrow it with `..`.
fn erikas_queues() -> QueueStatusQuery {
    QueueStatusQuery {
        person_code: person("150342-10121"),
        period: Period::default(),
        service_kind_code: None,
        provider_code: None,
        as_of: None,
        today: None,
    }
}

#[tokio::test]
async fn positions_count_active_entries_queued_earlier() {
    for backend in BACKENDS {
        eprintln!("on {backend:?}");
        let register = TinyRegister::open(backend);
        let store = &register.store;
        let answer = store
            .queue_status_list(erikas_queues())
            .await
            .unwrap();
        assert_eq!(answer.person.unwrap().first_name, "Ērika");
        assert_eq!(answer.events.len(), 3);
        let ahead: Vec<(String, u32, u32)> = answer
            .positions
            .iter()
            .map(|p| (p.provider.code.clone(), p.places_ahead, p.queue_length))
            .collect();
        assert_eq!(ahead, [("P1".to_owned(), 1, 2), ("P2".to_owned(), 0, 1)]);

        let narrowed = store
            .queue_status_list(QueueStatusQuery {
                period: Period { from: Some(date("2025-01-01")), till: None },
                provider_code: Some("P1".into()),
                ..erikas_queues()
            })
            .await
            .unwrap();
        assert!(narrowed.events.is_empty(), "the P1 event lies before the period");
        assert_eq!(narrowed.positions.len(), 1, "the period does not apply to positions");

        let unknown = store
            .queue_status_list(QueueStatusQuery { service_kind_code: Some("NO-SUCH".into()), ..erikas_queues() })
            .await
            .unwrap();
        assert!(unknown.person.is_some() && unknown.events.is_empty() && unknown.positions.is_empty());
    }
}

#[tokio::test]
async fn applications_carry_their_children_and_respect_the_period() {
    for backend in BACKENDS {
        eprintln!("on {backend:?}");
        let register = TinyRegister::open(backend);
        let store = &register.store;
        let all = store
            .application_list(ApplicationQuery { person_code: person("150342-10121"), period: Period::default(), as_of: None })
            .await
            .unwrap();
        let numbers: Vec<&str> = all.applications.iter().map(|a| a.application_number.as_str()).collect();
        assert_eq!(numbers, ["A-1", "A-2"]);
        assert_eq!(all.applications[0].submitted_documents.len(), 1);
        assert_eq!(all.applications[0].queue_decisions.len(), 1);
        assert_eq!(all.applications[1].queue_decisions.len(), 0);
        assert_eq!(all.applications[1].preferred_provider.as_ref().unwrap().code, "P2");
        let nature = Classifier { code: "REDZES-INVALIDITATE".into(), name: "Persona ar redzes invaliditāti".into() };
        assert_eq!(all.applications[0].problem_nature.as_ref(), Some(&nature));
        assert_eq!(all.applications[1].problem_nature, None, "not recorded for A-2");
        let events = store
            .queue_status_list(erikas_queues())
            .await
            .unwrap()
            .events;
        let natures: Vec<Option<&str>> = events.iter().map(|e| e.problem_nature.as_ref().map(|n| n.code.as_str())).collect();
        assert_eq!(natures, [Some("REDZES-INVALIDITATE"), None, None], "each event has its application's");

        let inclusive = store
            .application_list(ApplicationQuery {
                person_code: person("150342-10121"),
                period: Period { from: Some(date("2024-01-10")), till: Some(date("2024-01-10")) },
                as_of: None,
            })
            .await
            .unwrap();
        assert_eq!(inclusive.applications.len(), 1, "both ends of the period are inclusive");
        assert_eq!(inclusive.applications[0].submitted_documents.len(), 1);
    }
}

/// Ērika's queue P1 by hand: Līga waited in it from 2022-01-10 until her grant of 2024-06-15,
/// Aivars from 2023-06-01, Ērika from 2024-02-01; Ērika's P2 queue from 2025-03-20.
#[tokio::test]
async fn positions_as_of_a_day_count_who_waited_that_day() {
    for backend in BACKENDS {
        eprintln!("on {backend:?}");
        let register = TinyRegister::open(backend);
        let ask = |as_of: Option<&str>| QueueStatusQuery { as_of: as_of.map(date), ..erikas_queues() };
        let places = |answer: &QueueStatusList| -> Vec<(String, u32, u32)> {
            answer.positions.iter().map(|p| (p.provider.code.clone(), p.places_ahead, p.queue_length)).collect()
        };
        let now = register.store.queue_status_list(ask(None)).await.unwrap();
        assert_eq!(places(&now), [("P1".to_owned(), 1, 2), ("P2".to_owned(), 0, 1)]);
        // Today is the register as it stands.
        let today = chrono::Utc::now().date_naive().to_string();
        assert_eq!(register.store.queue_status_list(ask(Some(&today))).await.unwrap(), now);

        let before_grant = register.store.queue_status_list(ask(Some("2024-03-01"))).await.unwrap();
        assert_eq!(places(&before_grant), [("P1".to_owned(), 2, 3)], "Līga and Aivars ahead; P2 not yet");
        assert_eq!(before_grant.events.iter().map(|e| e.event_date).collect::<Vec<_>>(), [date("2024-02-01")]);
        let grant_day = register.store.queue_status_list(ask(Some("2024-06-15"))).await.unwrap();
        assert_eq!(places(&grant_day), [("P1".to_owned(), 1, 2)], "granted that day, Līga waits no more");
        let day_before = register.store.queue_status_list(ask(Some("2024-06-14"))).await.unwrap();
        assert_eq!(places(&day_before), [("P1".to_owned(), 2, 3)]);
        let queued_day = register.store.queue_status_list(ask(Some("2024-02-01"))).await.unwrap();
        assert_eq!(places(&queued_day), [("P1".to_owned(), 2, 3)], "queued that day counts");
        let not_yet = register.store.queue_status_list(ask(Some("2024-01-31"))).await.unwrap();
        assert!(not_yet.positions.is_empty() && not_yet.events.is_empty() && not_yet.person.is_some());

        // The period still narrows the events, ending no later than the day.
        let narrowed = QueueStatusQuery { period: Period { from: Some(date("2024-01-01")), till: Some(date("2025-12-31")) }, ..ask(Some("2024-03-01")) };
        assert_eq!(register.store.queue_status_list(narrowed).await.unwrap().events.len(), 1);
        // The narrowing by provider applies as of a day too.
        let p2 = QueueStatusQuery { provider_code: Some("P2".into()), ..ask(Some("2025-04-01")) };
        assert_eq!(places(&register.store.queue_status_list(p2).await.unwrap()), [("P2".to_owned(), 0, 1)]);

        // Līga's own answer: waiting (first, of three) before her grant, no position after.
        let liga = |as_of: &str| QueueStatusQuery { person_code: person("231188-13456"), ..ask(Some(as_of)) };
        assert_eq!(places(&register.store.queue_status_list(liga("2024-03-01")).await.unwrap()), [("P1".to_owned(), 0, 3)]);
        assert!(register.store.queue_status_list(liga("2024-06-15")).await.unwrap().positions.is_empty());
        assert_eq!(register.store.queue_status_list(liga("2024-06-15")).await.unwrap().events.len(), 2);
    }
}

#[tokio::test]
async fn applications_as_of_a_day_leave_out_what_came_later() {
    for backend in BACKENDS {
        eprintln!("on {backend:?}");
        let register = TinyRegister::open(backend);
        let ask = |as_of: &str| ApplicationQuery { person_code: person("150342-10121"), period: Period::default(), as_of: Some(date(as_of)) };
        let numbers = |list: &ApplicationList| list.applications.iter().map(|a| a.application_number.clone()).collect::<Vec<_>>();
        let before_decision = register.store.application_list(ask("2024-01-31")).await.unwrap();
        assert_eq!(numbers(&before_decision), ["A-1"]);
        assert_eq!(before_decision.applications[0].submitted_documents.len(), 1);
        assert!(before_decision.applications[0].queue_decisions.is_empty(), "decided on 2024-02-01");
        let requests = &before_decision.applications[0].document_requests;
        assert_eq!((requests.len(), requests[0].fulfilled_on), (1, None), "requested 2024-01-15, fulfilled only on 2024-02-10");
        let fulfilled = register.store.application_list(ask("2024-02-10")).await.unwrap();
        assert_eq!(fulfilled.applications[0].document_requests[0].fulfilled_on, Some(date("2024-02-10")));
        assert!(register.store.application_list(ask("2024-01-14")).await.unwrap().applications[0].document_requests.is_empty());
        let decided = register.store.application_list(ask("2024-02-01")).await.unwrap();
        assert_eq!(decided.applications[0].queue_decisions.len(), 1);
        assert_eq!(numbers(&register.store.application_list(ask("2025-03-01")).await.unwrap()), ["A-1", "A-2"]);
        assert!(register.store.application_list(ask("2024-01-09")).await.unwrap().applications.is_empty());
        let today = ApplicationQuery { as_of: Some(chrono::Utc::now().date_naive()), ..ask("2024-01-01") };
        let now = ApplicationQuery { as_of: None, ..ask("2024-01-01") };
        assert_eq!(register.store.application_list(today).await.unwrap(), register.store.application_list(now).await.unwrap());
    }
}

#[tokio::test]
async fn an_application_has_the_status_its_latest_event_sets_and_its_refusals() {
    for backend in BACKENDS {
        eprintln!("on {backend:?}");
        let register = TinyRegister::open(backend);
        let store = &register.store;
        let statuses = |list: &ApplicationList| list.applications.iter().map(|a| a.status).collect::<Vec<_>>();
        let erika = store
            .application_list(ApplicationQuery { person_code: person("150342-10121"), period: Period::default(), as_of: None })
            .await
            .unwrap();
        assert_eq!(statuses(&erika), [ApplicationStatus::InQueue, ApplicationStatus::PlaceOffered]);
        assert!(erika.applications.iter().all(|a| a.refusal_decisions.is_empty()));
        let aivars = store
            .application_list(ApplicationQuery { person_code: person("020761-12340"), period: Period::default(), as_of: None })
            .await
            .unwrap();
        // A-4's refusal (14) is dated after the letter (15) although written before it.
        assert_eq!(statuses(&aivars), [ApplicationStatus::InQueue, ApplicationStatus::Refused]);
        let refusal = RefusalDecision {
            decided_on: date("2024-03-01"),
            document_number: "LM-2024/2-A".into(),
            reason: "Nav iesniegti pieprasītie dokumenti".into(),
        };
        assert_eq!(aivars.applications[1].refusal_decisions, [refusal]);
        assert!(aivars.applications[0].refusal_decisions.is_empty());
    }
}

#[tokio::test]
async fn an_unknown_person_is_no_person_and_no_rows() {
    for backend in BACKENDS {
        eprintln!("on {backend:?}");
        let register = TinyRegister::open(backend);
        let store = &register.store;
        let answer = store
            .application_list(ApplicationQuery { person_code: person("051230-10106"), period: Period::default(), as_of: None })
            .await
            .unwrap();
        assert_eq!(answer, ApplicationList { register_as_of: None, person: None, applications: Vec::new() });
    }
}

/// The exits behind the estimated waits, on both backends: Līga left queue P1 with her grant of
/// 2024-06-15; Aivars waits in P1 from 2023-06-01 (his refusal of 2024-03-01 was of A-4, an
/// application never queued: no exit). The window is the 12 whole months before the day.
#[tokio::test]
async fn estimated_waits_count_the_exits_of_the_months_before_the_day() {
    for backend in BACKENDS {
        eprintln!("on {backend:?}");
        let register = TinyRegister::open(backend);
        let ask = |as_of: Option<&str>, today: Option<&str>| QueueStatusQuery {
            person_code: person("020761-12340"),
            period: Period::default(),
            service_kind_code: None,
            provider_code: None,
            as_of: as_of.map(date),
            today: today.map(date),
        };
        let waits = |answer: QueueStatusList| -> Vec<(String, WaitOutcome, u32, NaiveDate, NaiveDate)> {
            answer
                .positions
                .iter()
                .map(|p| {
                    let w = p.estimated_wait.as_ref().expect("every position has its estimate");
                    (p.provider.code.clone(), w.outcome, w.basis_exits, w.basis_from, w.basis_till)
                })
                .collect()
        };
        let p1 = |exits: u32, from: &str, till: &str| vec![("P1".to_owned(), WaitOutcome::InsufficientData, exits, date(from), date(till))];
        let store = &register.store;
        assert_eq!(waits(store.queue_status_list(ask(Some("2025-01-10"), None)).await.unwrap()), p1(1, "2024-01-01", "2024-12-31"));
        assert_eq!(waits(store.queue_status_list(ask(Some("2024-06-30"), None)).await.unwrap()), p1(0, "2023-06-01", "2024-05-31"));
        assert_eq!(waits(store.queue_status_list(ask(Some("2025-07-01"), None)).await.unwrap()), p1(0, "2024-07-01", "2025-06-30"));
        // Without AsOf the window ends before the day of the call (never imported: no as-of day).
        assert_eq!(waits(store.queue_status_list(ask(None, Some("2025-01-10"))).await.unwrap()), p1(1, "2024-01-01", "2024-12-31"));
    }
}
