//! The import's and export's statements, generated from [`format::ENTITIES`] where they
//! follow the table, written out where they follow the register's relations. `$n`
//! parameters, which PostgreSQL numbers and SQLite binds by first appearance.

use super::format::{Kind, Link, ENTITIES};
use super::load::columns;

/// `INSERT INTO table (columns) VALUES (params)`; `param(n)` writes the n-th placeholder.
pub(crate) fn insert(entity: usize, param: impl Fn(usize) -> String) -> String {
    let columns = columns(entity);
    let params: Vec<String> = (1..=columns.len()).map(param).collect();
    format!("INSERT INTO {} ({}) VALUES ({})", ENTITIES[entity].table, columns.join(", "), params.join(", "))
}

/// `UPDATE table SET field columns WHERE id = first param`, for classifiers and persons
/// (whose rows are the id, then the fields).
pub(crate) fn update(entity: usize, param: impl Fn(usize) -> String) -> String {
    let columns = columns(entity);
    let sets: Vec<String> = columns.iter().enumerate().skip(1).map(|(i, c)| format!("{c} = {}", param(i + 1))).collect();
    format!("UPDATE {} SET {} WHERE id = {}", ENTITIES[entity].table, sets.join(", "), param(1))
}

pub(crate) const FIND_PERSON: &str = "SELECT id FROM persons WHERE person_code = $1";
pub(crate) const FIND_APPLICATION: &str = "SELECT id FROM applications WHERE application_number = $1";

pub(crate) const PERSON_REPRESENTATIVES: &str =
    "SELECT legal_representative_id FROM applications WHERE person_id = $1 AND legal_representative_id IS NOT NULL";
pub(crate) const APPLICATION_REPRESENTATIVE: &str =
    "SELECT legal_representative_id FROM applications WHERE id = $1 AND legal_representative_id IS NOT NULL";

/// Everything of person $1 but the person row, children before parents.
pub(crate) const CLEAR_PERSON: [&str; 8] = [
    "DELETE FROM submitted_documents WHERE application_id IN (SELECT id FROM applications WHERE person_id = $1)",
    "DELETE FROM document_requests WHERE application_id IN (SELECT id FROM applications WHERE person_id = $1)",
    "DELETE FROM grant_decisions WHERE application_id IN (SELECT id FROM applications WHERE person_id = $1)",
    "DELETE FROM queue_decisions WHERE application_id IN (SELECT id FROM applications WHERE person_id = $1)",
    "DELETE FROM refusal_decisions WHERE application_id IN (SELECT id FROM applications WHERE person_id = $1)",
    "DELETE FROM queue_events WHERE person_id = $1",
    "DELETE FROM queue_entries WHERE person_id = $1",
    "DELETE FROM applications WHERE person_id = $1",
];

/// Application $1 with its children and the events and entries that name it (each found
/// through an index on `application_id`, not a scan).
pub(crate) const DELETE_APPLICATION: [&str; 8] = [
    "DELETE FROM submitted_documents WHERE application_id = $1",
    "DELETE FROM document_requests WHERE application_id = $1",
    "DELETE FROM grant_decisions WHERE application_id = $1",
    "DELETE FROM queue_decisions WHERE application_id = $1",
    "DELETE FROM refusal_decisions WHERE application_id = $1",
    "DELETE FROM queue_events WHERE application_id = $1",
    "DELETE FROM queue_entries WHERE application_id = $1",
    "DELETE FROM applications WHERE id = $1",
];

pub(crate) const DELETE_REPRESENTATIVE: &str = "DELETE FROM legal_representatives WHERE id = $1";
pub(crate) const DELETE_PERSON: &str = "DELETE FROM persons WHERE id = $1";

const IMPORT_COLUMNS: &str =
    "batch_id, kind, as_of, file_digest, files, persons, applications, queue_events, queue_entries, deletions, imported_at, duration_ms";

pub(crate) const RECORD_IMPORT_SQLITE: &str = "INSERT INTO register_imports (seq, batch_id, kind, as_of, file_digest, files, persons, applications, queue_events, queue_entries, deletions, imported_at, duration_ms) \
     VALUES ((SELECT coalesce(max(seq), 0) + 1 FROM register_imports), ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

pub(crate) const RECORD_IMPORT_POSTGRES: &str = "INSERT INTO register_imports (seq, batch_id, kind, as_of, file_digest, files, persons, applications, queue_events, queue_entries, deletions, imported_at, duration_ms) \
     VALUES ((SELECT coalesce(max(seq), 0) + 1 FROM register_imports), $1, $2, CAST(CAST($3 AS TEXT) AS TIMESTAMPTZ), $4, $5, $6, $7, $8, $9, $10, CAST(CAST($11 AS TEXT) AS TIMESTAMPTZ), $12)";

/// The newest import; times as RFC 3339 text on both backends.
pub(crate) fn last_import(postgres: bool) -> String {
    let time = |column: &str| match postgres {
        true => format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"),
        false => column.to_owned(),
    };
    let columns = IMPORT_COLUMNS.replace("as_of", &time("as_of")).replace("imported_at", &time("imported_at"));
    format!("SELECT {columns} FROM register_imports ORDER BY seq DESC LIMIT 1")
}


/// The export's query for `entity`: the owning person's id and application's id (as text,
/// NULL where none), then the fields as the export writes them, in person order.
pub(crate) fn export(entity: usize, postgres: bool) -> String {
    let spec = &ENTITIES[entity];
    let mut select = Vec::new();
    let (owners, from, order) = match spec.link {
        Link::Classifier(_) => (["NULL", "NULL"].map(str::to_owned), format!("{} t", spec.table), "t.id".to_owned()),
        Link::Person => (["CAST(t.id AS TEXT)".into(), "NULL".into()], format!("{} t", spec.table), "t.id".into()),
        Link::OfPerson if entity == super::format::APPLICATION => {
            (["CAST(t.person_id AS TEXT)".into(), "CAST(t.id AS TEXT)".into()], format!("{} t", spec.table), "t.person_id, t.id".into())
        }
        Link::OfPerson => (["CAST(t.person_id AS TEXT)".into(), "NULL".into()], format!("{} t", spec.table), "t.person_id, t.id".into()),
        Link::OfApplication => (
            ["CAST(a.person_id AS TEXT)".into(), "CAST(t.application_id AS TEXT)".into()],
            format!("{} t JOIN applications a ON a.id = t.application_id", spec.table),
            "a.person_id, t.application_id, t.id".into(),
        ),
        Link::Representative => (
            ["CAST(a.person_id AS TEXT)".into(), "CAST(a.id AS TEXT)".into()],
            format!("applications a JOIN {} t ON t.id = a.legal_representative_id", spec.table),
            "a.person_id, a.id".into(),
        ),
    };
    select.extend(owners);
    for field in spec.fields {
        let column = format!("t.{}", field.column);
        select.push(match field.kind {
            Kind::Text => column,
            Kind::Date if postgres => format!("to_char({column}, 'YYYY-MM-DD')"),
            Kind::Date => column,
            Kind::PersonCode | Kind::EventCode | Kind::Id => format!("CAST({column} AS TEXT)"),
            Kind::Boolean => format!("CASE WHEN {column} THEN 'true' ELSE 'false' END"),
            Kind::Code(classifier) => {
                format!("(SELECT c.code FROM {} c WHERE c.id = {column})", ENTITIES[super::format::classifier_entity(classifier)].table)
            }
            Kind::ApplicationRef => format!("(SELECT r.application_number FROM applications r WHERE r.id = {column})"),
        });
    }
    format!("SELECT {} FROM {from} ORDER BY {order}", select.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::register::format::Link;

    /// A delta that replaces or deletes an application must take every row that belongs to
    /// it: one forgotten table left orphans on SQLite and failed on PostgreSQL's foreign keys.
    #[test]
    fn replacing_a_person_or_deleting_an_application_takes_every_child_table() {
        for entity in ENTITIES.iter().filter(|e| e.link == Link::OfApplication || e.link == Link::OfPerson) {
            let table = format!("DELETE FROM {} ", entity.table);
            assert!(CLEAR_PERSON.iter().any(|s| s.starts_with(&table)), "CLEAR_PERSON misses {}", entity.table);
            assert!(DELETE_APPLICATION.iter().any(|s| s.starts_with(&table)), "DELETE_APPLICATION misses {}", entity.table);
        }
    }
}
