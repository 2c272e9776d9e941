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
/// waiting in one queue; Ērika offered a place in her second; Aivars refused on a second
/// application (its events written out of date order).
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
         INSERT INTO queue_entries VALUES (3, 1, 2, 2, 1, '2025-03-20', 1);",
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

#[tokio::test]
async fn positions_count_active_entries_queued_earlier() {
    for backend in BACKENDS {
        eprintln!("on {backend:?}");
        let register = TinyRegister::open(backend);
        let store = &register.store;
        let answer = store
            .queue_status_list(QueueStatusQuery {
                person_code: person("150342-10121"),
                period: Period::default(),
                service_kind_code: None,
                provider_code: None,
            })
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
                person_code: person("150342-10121"),
                period: Period { from: Some(date("2025-01-01")), till: None },
                service_kind_code: None,
                provider_code: Some("P1".into()),
            })
            .await
            .unwrap();
        assert!(narrowed.events.is_empty(), "the P1 event lies before the period");
        assert_eq!(narrowed.positions.len(), 1, "the period does not apply to positions");

        let unknown = store
            .queue_status_list(QueueStatusQuery {
                person_code: person("150342-10121"),
                period: Period::default(),
                service_kind_code: Some("NO-SUCH".into()),
                provider_code: None,
            })
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
            .application_list(ApplicationQuery { person_code: person("150342-10121"), period: Period::default() })
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
            .queue_status_list(QueueStatusQuery {
                person_code: person("150342-10121"),
                period: Period::default(),
                service_kind_code: None,
                provider_code: None,
            })
            .await
            .unwrap()
            .events;
        let natures: Vec<Option<&str>> = events.iter().map(|e| e.problem_nature.as_ref().map(|n| n.code.as_str())).collect();
        assert_eq!(natures, [Some("REDZES-INVALIDITATE"), None, None], "each event has its application's");

        let inclusive = store
            .application_list(ApplicationQuery {
                person_code: person("150342-10121"),
                period: Period { from: Some(date("2024-01-10")), till: Some(date("2024-01-10")) },
            })
            .await
            .unwrap();
        assert_eq!(inclusive.applications.len(), 1, "both ends of the period are inclusive");
        assert_eq!(inclusive.applications[0].submitted_documents.len(), 1);
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
            .application_list(ApplicationQuery { person_code: person("150342-10121"), period: Period::default() })
            .await
            .unwrap();
        assert_eq!(statuses(&erika), [ApplicationStatus::InQueue, ApplicationStatus::PlaceOffered]);
        assert!(erika.applications.iter().all(|a| a.refusal_decisions.is_empty()));
        let aivars = store
            .application_list(ApplicationQuery { person_code: person("020761-12340"), period: Period::default() })
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
            .application_list(ApplicationQuery { person_code: person("051230-10106"), period: Period::default() })
            .await
            .unwrap();
        assert_eq!(answer, ApplicationList { person: None, applications: Vec::new() });
    }
}
