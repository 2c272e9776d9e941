-- 0007_refusal_decisions (PostgreSQL): as migrations/sqlite/0002_refusal_decisions.sql.
CREATE TABLE refusal_decisions (
    id              BIGINT PRIMARY KEY,
    application_id  BIGINT NOT NULL REFERENCES applications (id),
    decided_on      DATE NOT NULL,
    document_number TEXT NOT NULL,
    reason          TEXT NOT NULL
);
CREATE INDEX refusal_decisions_by_application ON refusal_decisions (application_id);
