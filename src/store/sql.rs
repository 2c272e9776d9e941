//! The statements both stores run as they are: standard SQL with `$1`-style parameters, which
//! PostgreSQL numbers and SQLite binds in the order they first appear (a test checks that
//! they appear in order). The two EP116 statements differ by dialect (booleans, typed NULL
//! parameters) and stay with their store.

pub(crate) const SQL_SCHEMA_VERSION: &str = "SELECT max(version) FROM schema_migrations";

pub(crate) const SQL_PERSON: &str = "SELECT id, person_code, first_name, surname FROM persons WHERE person_code = $1";

pub(crate) const SQL_SERVICE_KIND_ID: &str = "SELECT id FROM service_kinds WHERE code = $1";

pub(crate) const SQL_PROVIDER_ID: &str = "SELECT id FROM providers WHERE code = $1";

/// $1 person id, $2 $3 the period.
pub(crate) const SQL_APPLICATIONS: &str = "\
SELECT a.id, a.application_number, a.submitted_on, a.application_kind,
       sk.code, sk.name, pp.code, pp.name,
       m.code, m.name, m.address, m.phone, m.email,
       r.first_name, r.surname, r.person_code, r.address, r.phone, r.email
FROM applications a
JOIN service_kinds sk ON sk.id = a.service_kind_id
LEFT JOIN providers pp ON pp.id = a.preferred_provider_id
JOIN municipalities m ON m.id = a.municipality_id
LEFT JOIN legal_representatives r ON r.id = a.legal_representative_id
WHERE a.person_id = $1 AND a.submitted_on BETWEEN $2 AND $3
ORDER BY a.submitted_on, a.application_number";

pub(crate) const SQL_DOCUMENTS: &str = "\
SELECT d.application_id, d.title, d.submitted_on
FROM applications a JOIN submitted_documents d ON d.application_id = a.id
WHERE a.person_id = $1 AND a.submitted_on BETWEEN $2 AND $3
ORDER BY d.submitted_on, d.id";

pub(crate) const SQL_DOCUMENT_REQUESTS: &str = "\
SELECT q.application_id, q.requested_on, q.description, q.due_on, q.fulfilled_on
FROM applications a JOIN document_requests q ON q.application_id = a.id
WHERE a.person_id = $1 AND a.submitted_on BETWEEN $2 AND $3
ORDER BY q.requested_on, q.id";

pub(crate) const SQL_GRANT_DECISIONS: &str = "\
SELECT g.application_id, g.decided_on, g.document_number, p.code, p.name, g.granted_from
FROM applications a JOIN grant_decisions g ON g.application_id = a.id
JOIN providers p ON p.id = g.provider_id
WHERE a.person_id = $1 AND a.submitted_on BETWEEN $2 AND $3
ORDER BY g.decided_on, g.id";

pub(crate) const SQL_QUEUE_DECISIONS: &str = "\
SELECT d.application_id, d.decided_on, d.document_number, p.code, p.name, d.queued_from
FROM applications a JOIN queue_decisions d ON d.application_id = a.id
JOIN providers p ON p.id = d.provider_id
WHERE a.person_id = $1 AND a.submitted_on BETWEEN $2 AND $3
ORDER BY d.decided_on, d.id";
