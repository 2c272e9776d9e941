//! The statements both stores run as they are: standard SQL with `$1`-style parameters, which
//! PostgreSQL numbers and SQLite binds in the order they first appear (a test checks that
//! they appear in order). Where the dialects differ the statements take the form both read:
//! `active = TRUE` (a BOOLEAN in PostgreSQL, 1 in SQLite) and `CAST($n AS BIGINT)` for a
//! parameter that may be NULL (PostgreSQL must know its type; SQLite ignores the cast).

pub(crate) use crate::database::SQL_SCHEMA_VERSION;

pub(crate) const SQL_PERSON: &str = "SELECT id, person_code, first_name, surname FROM persons WHERE person_code = $1";

pub(crate) const SQL_SERVICE_KIND_ID: &str = "SELECT id FROM service_kinds WHERE code = $1";

pub(crate) const SQL_PROVIDER_ID: &str = "SELECT id FROM providers WHERE code = $1";

/// $1 person id, $2 $3 the period.
pub(crate) const SQL_APPLICATIONS: &str = "\
SELECT a.id, a.application_number, a.submitted_on, a.application_kind,
       sk.code, sk.name, pp.code, pp.name,
       m.code, m.name, m.address, m.phone, m.email,
       r.first_name, r.surname, r.person_code, r.address, r.phone, r.email, cg.code, cg.name
FROM applications a
JOIN service_kinds sk ON sk.id = a.service_kind_id
LEFT JOIN client_groups cg ON cg.id = a.client_group_id
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

pub(crate) const SQL_REFUSAL_DECISIONS: &str = "\
SELECT d.application_id, d.decided_on, d.document_number, d.reason
FROM applications a JOIN refusal_decisions d ON d.application_id = a.id
WHERE a.person_id = $1 AND a.submitted_on BETWEEN $2 AND $3
ORDER BY d.decided_on, d.id";

/// The kinds of the events of the applications in the answer, in date order: each
/// application's status is derived from them (`ApplicationStatus::after`). Starts from the
/// person's events (`queue_events_by_person`), as there is no index by application.
pub(crate) const SQL_APPLICATION_EVENTS: &str = "\
SELECT e.application_id, e.kind
FROM queue_events e JOIN applications a ON a.id = e.application_id
WHERE e.person_id = $1 AND a.submitted_on BETWEEN $2 AND $3
ORDER BY e.event_date, e.id";

/// $1 person id, $2 $3 the period, $4 service kind id or NULL, $5 provider id or NULL.
pub(crate) const SQL_QUEUE_EVENTS: &str = "\
SELECT e.kind, e.event_date, e.decision_number, sk.code, sk.name,
       pp.code, pp.name, op.code, op.name, coalesce(e.offered_address, op.address),
       e.granted_on, a.application_number, cg.code, cg.name
FROM queue_events e
JOIN service_kinds sk ON sk.id = e.service_kind_id
LEFT JOIN providers pp ON pp.id = e.preferred_provider_id
LEFT JOIN providers op ON op.id = e.offered_provider_id
LEFT JOIN applications a ON a.id = e.application_id
LEFT JOIN client_groups cg ON cg.id = a.client_group_id
WHERE e.person_id = $1 AND e.event_date BETWEEN $2 AND $3
  AND (CAST($4 AS BIGINT) IS NULL OR e.service_kind_id = CAST($4 AS BIGINT))
  AND (CAST($5 AS BIGINT) IS NULL OR e.preferred_provider_id = CAST($5 AS BIGINT) OR e.offered_provider_id = CAST($5 AS BIGINT))
ORDER BY e.event_date, e.id";

/// $1 person id, $2 service kind id or NULL, $3 provider id or NULL. A queue is ordered by
/// queued_since, then id; the two counts are range scans of `queue_entries_by_queue`.
pub(crate) const SQL_QUEUE_POSITIONS: &str = "\
SELECT sk.code, sk.name, p.code, p.name, e.queued_since,
       (SELECT count(*) FROM queue_entries o
         WHERE o.provider_id = e.provider_id AND o.service_kind_id = e.service_kind_id
           AND o.active = TRUE AND (o.queued_since, o.id) < (e.queued_since, e.id)),
       (SELECT count(*) FROM queue_entries o
         WHERE o.provider_id = e.provider_id AND o.service_kind_id = e.service_kind_id
           AND o.active = TRUE)
FROM queue_entries e
JOIN service_kinds sk ON sk.id = e.service_kind_id
JOIN providers p ON p.id = e.provider_id
WHERE e.person_id = $1 AND e.active = TRUE
  AND (CAST($2 AS BIGINT) IS NULL OR e.service_kind_id = CAST($2 AS BIGINT))
  AND (CAST($3 AS BIGINT) IS NULL OR e.provider_id = CAST($3 AS BIGINT))
ORDER BY e.queued_since, e.id";
