-- The audit log: one row per call, chained by hash, with signed checkpoints of the chain head.
-- Kept in its own file (audit.sqlite3), apart from the register: it has its own durability
-- (synchronous=FULL), its own retention, and the register can be reloaded without touching it.

CREATE TABLE audit_records (
    seq                  INTEGER PRIMARY KEY,           -- position in the chain, from 1, gapless
    record_id            TEXT    NOT NULL UNIQUE,       -- the call id (UUID)
    received_at_micros   INTEGER NOT NULL,              -- UTC, microseconds since 1970
    message_id           TEXT,
    transaction_id       TEXT,
    correlation_id       TEXT,
    consumer_id          TEXT,
    consumer_name        TEXT,
    certificate_sha256   TEXT    NOT NULL,
    certificate_subject  TEXT    NOT NULL,
    client_ip            TEXT    NOT NULL,
    environment          TEXT    NOT NULL,
    operator_first_name  TEXT,
    operator_surname     TEXT,
    operator_person_code TEXT,
    ivis_sender          TEXT,
    service              TEXT    NOT NULL,
    request_style        TEXT,
    soap_version         TEXT,
    person_code          TEXT,
    outcome              TEXT    NOT NULL,
    records_returned     INTEGER NOT NULL,
    processing_micros    INTEGER NOT NULL,
    prev_hash            BLOB    NOT NULL,              -- the previous record's hash (zeros for the first)
    hash                 BLOB    NOT NULL               -- SHA-256 over prev_hash and the canonical encoding
);

-- "Who looked at my data", "what did this operator look at", "what did this system ask":
-- each answered by an index range, never a scan of two years.
CREATE INDEX audit_records_by_person   ON audit_records (person_code, received_at_micros);
CREATE INDEX audit_records_by_operator ON audit_records (operator_person_code, received_at_micros);
CREATE INDEX audit_records_by_consumer ON audit_records (consumer_id, received_at_micros);
CREATE INDEX audit_records_by_time     ON audit_records (received_at_micros);

CREATE TABLE audit_checkpoints (
    seq               INTEGER PRIMARY KEY,              -- the chain head this checkpoint covers
    head_hash         BLOB    NOT NULL,                 -- the hash of record `seq`
    signed_at_micros  INTEGER NOT NULL,
    key_id            TEXT    NOT NULL,                 -- hex SHA-256 of the public key
    public_key        BLOB    NOT NULL,                 -- Ed25519
    signature         BLOB    NOT NULL
);
