//! The statements both stores run as they are: standard SQL with `$1`-style parameters, which
//! PostgreSQL numbers and SQLite binds in the order they first appear (a test checks that
//! they appear in order). Where the dialects differ the statements take the form both read:
//! `active = TRUE` (a BOOLEAN in PostgreSQL, 1 in SQLite) and `CAST($n AS BIGINT)` for a
//! parameter that may be NULL (PostgreSQL must know its type; SQLite ignores the cast).

pub(crate) use crate::database::SQL_SCHEMA_VERSION;

/// The register's version and as-of time: the newest import's sequence number and `AsOf`
/// (RFC 3339 text on SQLite, TIMESTAMPTZ on PostgreSQL); no row before the first import.
/// Two primary-key look-ups, not a scan.
pub(crate) const SQL_REGISTER_VERSION: &str =
    "SELECT seq, as_of FROM register_imports WHERE seq = (SELECT max(seq) FROM register_imports)";

pub(crate) const SQL_PERSON: &str = "SELECT id, person_code, first_name, surname FROM persons WHERE person_code = $1";

pub(crate) const SQL_SERVICE_KIND_ID: &str = "SELECT id FROM service_kinds WHERE code = $1";

pub(crate) const SQL_PROVIDER_ID: &str = "SELECT id FROM providers WHERE code = $1";

/// $1 person id, $2 $3 the period, $4 the as-of day (the widest date for "now"): each of the
/// five EP115 statements leaves out what is dated after it (the document requests take the
/// four in another order).
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
WHERE a.person_id = $1 AND a.submitted_on BETWEEN $2 AND $3 AND a.submitted_on <= $4
ORDER BY a.submitted_on, a.application_number";

pub(crate) const SQL_DOCUMENTS: &str = "\
SELECT d.application_id, d.title, d.submitted_on
FROM applications a JOIN submitted_documents d ON d.application_id = a.id
WHERE a.person_id = $1 AND a.submitted_on BETWEEN $2 AND $3 AND d.submitted_on <= $4
ORDER BY d.submitted_on, d.id";

/// Its parameters in another order, as SQLite numbers them by first appearance: $1 the as-of
/// day (a request fulfilled after it shows unfulfilled), $2 person id, $3 $4 the period.
pub(crate) const SQL_DOCUMENT_REQUESTS: &str = "\
SELECT q.application_id, q.requested_on, q.description, q.due_on,
       CASE WHEN q.fulfilled_on <= $1 THEN q.fulfilled_on END
FROM applications a JOIN document_requests q ON q.application_id = a.id
WHERE a.person_id = $2 AND a.submitted_on BETWEEN $3 AND $4 AND q.requested_on <= $1
ORDER BY q.requested_on, q.id";

pub(crate) const SQL_GRANT_DECISIONS: &str = "\
SELECT g.application_id, g.decided_on, g.document_number, p.code, p.name, g.granted_from
FROM applications a JOIN grant_decisions g ON g.application_id = a.id
JOIN providers p ON p.id = g.provider_id
WHERE a.person_id = $1 AND a.submitted_on BETWEEN $2 AND $3 AND g.decided_on <= $4
ORDER BY g.decided_on, g.id";

pub(crate) const SQL_QUEUE_DECISIONS: &str = "\
SELECT d.application_id, d.decided_on, d.document_number, p.code, p.name, d.queued_from
FROM applications a JOIN queue_decisions d ON d.application_id = a.id
JOIN providers p ON p.id = d.provider_id
WHERE a.person_id = $1 AND a.submitted_on BETWEEN $2 AND $3 AND d.decided_on <= $4
ORDER BY d.decided_on, d.id";

/// $1 person id, $2 $3 the period, $4 the as-of day: the refusals decided by then.
pub(crate) const SQL_REFUSAL_DECISIONS: &str = "\
SELECT d.application_id, d.decided_on, d.document_number, d.reason
FROM applications a JOIN refusal_decisions d ON d.application_id = a.id
WHERE a.person_id = $1 AND a.submitted_on BETWEEN $2 AND $3 AND d.decided_on <= $4
ORDER BY d.decided_on, d.id";

/// The kinds of the events of the applications in the answer up to the as-of day ($4), in
/// date order: each application's status is derived from them (`ApplicationStatus::after`),
/// so it is the status as it stood that day. Starts from the person's events
/// (`queue_events_by_person`), as there is no index by application.
pub(crate) const SQL_APPLICATION_EVENTS: &str = "\
SELECT e.application_id, e.kind
FROM queue_events e JOIN applications a ON a.id = e.application_id
WHERE e.person_id = $1 AND a.submitted_on BETWEEN $2 AND $3 AND e.event_date <= $4
ORDER BY e.event_date, e.id";

/// $1 person id, $2 $3 the period (its end no later than the as-of day), $4 service kind id or
/// NULL, $5 provider id or NULL.
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
/// queued_since, then id; the two counts are range scans of `queue_entries_by_queue`. The
/// queue's ids come last: they key its exits ([`SQL_QUEUE_EXITS`]).
pub(crate) const SQL_QUEUE_POSITIONS: &str = "\
SELECT sk.code, sk.name, p.code, p.name, e.queued_since,
       (SELECT count(*) FROM queue_entries o
         WHERE o.provider_id = e.provider_id AND o.service_kind_id = e.service_kind_id
           AND o.active = TRUE AND (o.queued_since, o.id) < (e.queued_since, e.id)),
       (SELECT count(*) FROM queue_entries o
         WHERE o.provider_id = e.provider_id AND o.service_kind_id = e.service_kind_id
           AND o.active = TRUE),
       e.provider_id, e.service_kind_id
FROM queue_entries e
JOIN service_kinds sk ON sk.id = e.service_kind_id
JOIN providers p ON p.id = e.provider_id
WHERE e.person_id = $1 AND e.active = TRUE
  AND (CAST($2 AS BIGINT) IS NULL OR e.service_kind_id = CAST($2 AS BIGINT))
  AND (CAST($3 AS BIGINT) IS NULL OR e.provider_id = CAST($3 AS BIGINT))
ORDER BY e.queued_since, e.id";

/// Whether queue entry `x` was waiting at the end of day $1, judged by the events up to that
/// day: it was queued by then, and no decision that ends waiting — a grant (5, 10, 12, 13) or a
/// refusal (14) of its application, dated on or after it was queued — came by then. An entry
/// no longer active must have such a decision after $1 (an inactive entry without one left on
/// a day the register does not say, and is counted on no day). The decisions are found through
/// the person's own events (`queue_events_by_person`).
macro_rules! waiting_on_day_1 {
    ($x:literal) => {
        concat!(
            $x, ".queued_since <= $1
           AND NOT EXISTS (SELECT 1 FROM queue_events v WHERE v.person_id = ", $x, ".person_id
                 AND v.application_id = ", $x, ".application_id AND v.kind IN (5, 10, 12, 13, 14)
                 AND v.event_date >= ", $x, ".queued_since AND v.event_date <= $1)
           AND (", $x, ".active = TRUE OR EXISTS (SELECT 1 FROM queue_events v WHERE v.person_id = ", $x, ".person_id
                 AND v.application_id = ", $x, ".application_id AND v.kind IN (5, 10, 12, 13, 14)
                 AND v.event_date >= ", $x, ".queued_since AND v.event_date > $1))"
        )
    };
}

/// [`SQL_QUEUE_POSITIONS`] as the queues stood at the end of day $1: the person's entries
/// waiting that day, each with the entries of its queue waiting that day ahead of it and in
/// all. $2 person id, $3 service kind id or NULL, $4 provider id or NULL. The counts scan one
/// queue's entries (`queue_entries_by_queue`), those that have left it included.
pub(crate) const SQL_QUEUE_POSITIONS_AS_OF: &str = concat!(
    "SELECT sk.code, sk.name, p.code, p.name, e.queued_since,
       (SELECT count(*) FROM queue_entries o
         WHERE o.provider_id = e.provider_id AND o.service_kind_id = e.service_kind_id
           AND (o.queued_since, o.id) < (e.queued_since, e.id) AND ",
    waiting_on_day_1!("o"),
    "),
       (SELECT count(*) FROM queue_entries o
         WHERE o.provider_id = e.provider_id AND o.service_kind_id = e.service_kind_id AND ",
    waiting_on_day_1!("o"),
    "),
       e.provider_id, e.service_kind_id
FROM queue_entries e
JOIN service_kinds sk ON sk.id = e.service_kind_id
JOIN providers p ON p.id = e.provider_id
WHERE ",
    waiting_on_day_1!("e"),
    "
  AND e.person_id = $2
  AND (CAST($3 AS BIGINT) IS NULL OR e.service_kind_id = CAST($3 AS BIGINT))
  AND (CAST($4 AS BIGINT) IS NULL OR e.provider_id = CAST($4 AS BIGINT))
ORDER BY e.queued_since, e.id"
);

/// The exits of one queue — $1 provider id, $2 service kind id — by day: each of its entries
/// leaves on its application's first grant (5, 10, 12, 13) or refusal (14) on or after its
/// queuing, the decisions that end waiting in [`SQL_QUEUE_POSITIONS_AS_OF`] too. Reads every
/// entry the queue ever had (`queue_entries_by_queue`) and each one's decisions
/// (`queue_events_by_person`): too much for every request on a large register, so the stores
/// keep the result per queue and register version (`store::exits`). One row has a NULL day:
/// the entries that have not left (not filtered here, which would run the subquery twice).
pub(crate) const SQL_QUEUE_EXITS: &str = "\
SELECT x.left_on, count(*) FROM (
  SELECT (SELECT min(v.event_date) FROM queue_events v
           WHERE v.person_id = o.person_id AND v.application_id = o.application_id
             AND v.kind IN (5, 10, 12, 13, 14) AND v.event_date >= o.queued_since) AS left_on
  FROM queue_entries o
  WHERE o.provider_id = $1 AND o.service_kind_id = $2
) x
GROUP BY x.left_on";

/// Every queue there can be (provider × service kind), for counting their exits ahead of the
/// requests after an import (`store::exits`). The classifiers only: a few hundred rows. Not on
/// a request's path.
pub(crate) const SQL_ALL_QUEUES: &str = "SELECT p.id, s.id FROM providers p CROSS JOIN service_kinds s ORDER BY p.id, s.id";

pub(crate) const SQL_MUNICIPALITY_ID: &str = "SELECT id FROM municipalities WHERE code = $1";

/// The last month the queue statistics reach (no row: never built).
pub(crate) const SQL_STATISTICS_HORIZON: &str = "SELECT last_month FROM queue_statistics_horizon";

/// GetQueueStatistics: the stored cells of months $1 to $2 (`model::Month` numbers), the
/// queues' own rows ($3 = 0) or their municipalities' ($3 = 1), narrowed by service kind
/// ($4), provider ($5) and municipality ($6) ids or NULL; grouped by row, months in order.
/// A range of the primary key's first column: the cost is the period's cells, never the
/// register's persons.
pub(crate) const SQL_QUEUE_STATISTICS: &str = "\
SELECT s.month, sk.code, sk.name, p.code, p.name, m.code, m.name,
       s.waiting, s.admitted, s.offered, s.declined, s.granted, s.refused, s.removed,
       s.median_wait_days, s.percentile90_wait_days, s.suppressed
FROM queue_statistics s
JOIN service_kinds sk ON sk.id = s.service_kind_id
JOIN providers p ON p.id = s.provider_id
LEFT JOIN municipalities m ON m.id = s.municipality_id
WHERE s.month BETWEEN CAST($1 AS BIGINT) AND CAST($2 AS BIGINT)
  AND ((CAST($3 AS BIGINT) = 0 AND s.municipality_id = 0) OR (CAST($3 AS BIGINT) = 1 AND s.municipality_id <> 0))
  AND (CAST($4 AS BIGINT) IS NULL OR s.service_kind_id = CAST($4 AS BIGINT))
  AND (CAST($5 AS BIGINT) IS NULL OR s.provider_id = CAST($5 AS BIGINT))
  AND (CAST($6 AS BIGINT) IS NULL OR s.municipality_id = CAST($6 AS BIGINT))
ORDER BY sk.code, p.code, m.code, s.month";
