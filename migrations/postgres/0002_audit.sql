-- 0002_audit (PostgreSQL): the audit log, always on the primary. The same records and
-- checkpoints as migrations/audit-sqlite/0001_audit.sql, plus the chain head.
--
-- Several adapter instances append to one chain. The head (last seq and hash) lives in the
-- single row of audit_head; every batch locks it (SELECT … FOR UPDATE) in its transaction,
-- chains its records on it and moves it, so batches of different instances are serialized
-- by the database and the chain stays gapless and linked.

CREATE TABLE audit_records (
    seq                  BIGINT  PRIMARY KEY,           -- position in the chain, from 1, gapless
    record_id            TEXT    NOT NULL UNIQUE,       -- the call id (UUID)
    received_at_micros   BIGINT  NOT NULL,              -- UTC, microseconds since 1970
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
    records_returned     BIGINT  NOT NULL,
    processing_micros    BIGINT  NOT NULL,
    prev_hash            BYTEA   NOT NULL,
    hash                 BYTEA   NOT NULL
);
CREATE INDEX audit_records_by_person   ON audit_records (person_code, received_at_micros);
CREATE INDEX audit_records_by_operator ON audit_records (operator_person_code, received_at_micros);
CREATE INDEX audit_records_by_consumer ON audit_records (consumer_id, received_at_micros);
CREATE INDEX audit_records_by_time     ON audit_records (received_at_micros);

CREATE TABLE audit_checkpoints (
    seq               BIGINT PRIMARY KEY,
    head_hash         BYTEA  NOT NULL,
    signed_at_micros  BIGINT NOT NULL,
    key_id            TEXT   NOT NULL,
    public_key        BYTEA  NOT NULL,
    signature         BYTEA  NOT NULL
);

-- The chain head: exactly one row. Pruning never moves it back.
CREATE TABLE audit_head (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    seq      BIGINT  NOT NULL,
    hash     BYTEA   NOT NULL
);
INSERT INTO audit_head (only_row, seq, hash) VALUES (TRUE, 0, decode(repeat('00', 32), 'hex'));
