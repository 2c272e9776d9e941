-- 0004_register_imports: where the register came from and how current it is.
-- One row per import that changed the register (`spolis-adapter register import`); the
-- register's as-of time is the as_of of the newest row (seq). Written in the import's own
-- transaction, so the row and the data it describes appear together.
CREATE TABLE register_imports (
    seq           INTEGER PRIMARY KEY,
    batch_id      TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL CHECK (kind IN ('full', 'delta')),
    as_of         TEXT NOT NULL,          -- RFC 3339, UTC
    file_digest   TEXT NOT NULL,          -- SHA-256 hex of the files, in order
    files         TEXT NOT NULL,          -- their names, one per line
    persons       INTEGER NOT NULL,
    applications  INTEGER NOT NULL,
    queue_events  INTEGER NOT NULL,
    queue_entries INTEGER NOT NULL,
    deletions     INTEGER NOT NULL,
    imported_at   TEXT NOT NULL,          -- RFC 3339, UTC
    duration_ms   INTEGER NOT NULL
);

-- A delta deletes an application or a legal representative by id: these find what refers
-- to it without scanning (foreign-key checks on PostgreSQL, and the delete itself).
CREATE INDEX queue_events_by_application ON queue_events (application_id);
CREATE INDEX queue_entries_by_application ON queue_entries (application_id);
CREATE INDEX applications_by_representative ON applications (legal_representative_id);
