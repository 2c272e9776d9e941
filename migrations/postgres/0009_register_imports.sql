-- 0009_register_imports: where the register came from and how current it is; see
-- migrations/sqlite/0004_register_imports.sql.
CREATE TABLE register_imports (
    seq           BIGINT PRIMARY KEY,
    batch_id      TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL CHECK (kind IN ('full', 'delta')),
    as_of         TIMESTAMPTZ NOT NULL,
    file_digest   TEXT NOT NULL,
    files         TEXT NOT NULL,
    persons       BIGINT NOT NULL,
    applications  BIGINT NOT NULL,
    queue_events  BIGINT NOT NULL,
    queue_entries BIGINT NOT NULL,
    deletions     BIGINT NOT NULL,
    imported_at   TIMESTAMPTZ NOT NULL,
    duration_ms   BIGINT NOT NULL
);

-- A delta deletes an application or a legal representative by id: these find what refers
-- to it without scanning (the foreign-key checks and the delete itself).
CREATE INDEX queue_events_by_application ON queue_events (application_id);
CREATE INDEX queue_entries_by_application ON queue_entries (application_id);
CREATE INDEX applications_by_representative ON applications (legal_representative_id);
