-- Each record is stored as its canonical encoding (the bytes the hash chain covers), with
-- copies of the fields the export searches by. Verification then reads one value per record
-- instead of 23 columns, which was half its time; the copies are checked against the
-- encoding by `audit verify`, and the export checks its filter against the decoded record.
-- The rows of version 1 are re-encoded by the migration's code (sqlite.rs), with their
-- stored hashes kept, so a record altered before the migration still fails verification.

ALTER TABLE audit_records RENAME TO audit_records_version_1;
DROP INDEX audit_records_by_person;
DROP INDEX audit_records_by_operator;
DROP INDEX audit_records_by_consumer;
DROP INDEX audit_records_by_time;

CREATE TABLE audit_records (
    seq                  INTEGER PRIMARY KEY,           -- position in the chain, from 1, gapless
    received_at_micros   INTEGER NOT NULL,              -- copy of field 2 (UTC, microseconds since 1970)
    person_code          TEXT,                          -- copy of field 19, the personal code asked about
    operator_person_code TEXT,                          -- copy of field 14
    consumer_id          TEXT,                          -- copy of field 6
    prev_hash            BLOB    NOT NULL,              -- the previous record's hash (zeros for the first)
    hash                 BLOB    NOT NULL,              -- SHA-256 over the domain, prev_hash and encoded
    encoded              BLOB    NOT NULL               -- the record's canonical encoding (record.rs)
);

CREATE INDEX audit_records_by_person   ON audit_records (person_code, received_at_micros);
CREATE INDEX audit_records_by_operator ON audit_records (operator_person_code, received_at_micros);
CREATE INDEX audit_records_by_consumer ON audit_records (consumer_id, received_at_micros);
CREATE INDEX audit_records_by_time     ON audit_records (received_at_micros);
