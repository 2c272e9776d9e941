-- 0002_refusal_decisions: the decisions of refusal (event 14) with their reasons, beside the
-- grant (12.6) and queue (12.7) decisions, so that EP115 shows a refused application as
-- refused and why (Cabinet Regulation No. 587 point 10.9). An application's status is not
-- stored: it is derived from its queue events when answering.
CREATE TABLE refusal_decisions (
    id              INTEGER PRIMARY KEY,
    application_id  INTEGER NOT NULL REFERENCES applications (id),
    decided_on      TEXT NOT NULL,
    document_number TEXT NOT NULL,
    reason          TEXT NOT NULL
);
CREATE INDEX refusal_decisions_by_application ON refusal_decisions (application_id);
