-- 0001_register (PostgreSQL): the part of the SPOLIS register that EP115 and EP116 read.
-- The same tables, columns and indexes as migrations/sqlite/0001_register.sql, in
-- PostgreSQL's types:
-- * dates are DATE; ids BIGINT; `active` BOOLEAN;
-- * application numbers sort byte-wise (COLLATE "C"), as SQLite sorts text, so that both
--   backends answer in the same order whatever the database's locale;
-- * personal codes are the eleven digits without the hyphen (PersonalCode::digits).
--
-- At run time the register is read-only; it is filled by an import (or `demo --database-url`).

CREATE TABLE service_kinds (
    id   BIGINT PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL
);

CREATE TABLE providers (
    id      BIGINT PRIMARY KEY,
    code    TEXT NOT NULL UNIQUE,
    name    TEXT NOT NULL,
    address TEXT NOT NULL
);

CREATE TABLE municipalities (
    id      BIGINT PRIMARY KEY,
    code    TEXT NOT NULL UNIQUE,
    name    TEXT NOT NULL,
    address TEXT NOT NULL,
    phone   TEXT,
    email   TEXT
);

CREATE TABLE persons (
    id          BIGINT PRIMARY KEY,
    person_code TEXT NOT NULL,
    first_name  TEXT NOT NULL,
    surname     TEXT NOT NULL
);
CREATE UNIQUE INDEX persons_by_code ON persons (person_code);

CREATE TABLE legal_representatives (
    id          BIGINT PRIMARY KEY,
    first_name  TEXT NOT NULL,
    surname     TEXT NOT NULL,
    person_code TEXT,
    address     TEXT,
    phone       TEXT,
    email       TEXT
);

CREATE TABLE applications (
    id                      BIGINT PRIMARY KEY,
    person_id               BIGINT NOT NULL REFERENCES persons (id),
    application_number      TEXT COLLATE "C" NOT NULL,
    submitted_on            DATE NOT NULL,
    application_kind        TEXT NOT NULL,
    service_kind_id         BIGINT NOT NULL REFERENCES service_kinds (id),
    preferred_provider_id   BIGINT REFERENCES providers (id),
    municipality_id         BIGINT NOT NULL REFERENCES municipalities (id),
    legal_representative_id BIGINT REFERENCES legal_representatives (id)
);
CREATE UNIQUE INDEX applications_by_number ON applications (application_number);
CREATE INDEX applications_by_person ON applications (person_id, submitted_on, application_number);

CREATE TABLE submitted_documents (
    id             BIGINT PRIMARY KEY,
    application_id BIGINT NOT NULL REFERENCES applications (id),
    title          TEXT NOT NULL,
    submitted_on   DATE NOT NULL
);
CREATE INDEX submitted_documents_by_application ON submitted_documents (application_id);

CREATE TABLE document_requests (
    id             BIGINT PRIMARY KEY,
    application_id BIGINT NOT NULL REFERENCES applications (id),
    requested_on   DATE NOT NULL,
    description    TEXT NOT NULL,
    due_on         DATE,
    fulfilled_on   DATE
);
CREATE INDEX document_requests_by_application ON document_requests (application_id);

CREATE TABLE grant_decisions (
    id              BIGINT PRIMARY KEY,
    application_id  BIGINT NOT NULL REFERENCES applications (id),
    decided_on      DATE NOT NULL,
    document_number TEXT NOT NULL,
    provider_id     BIGINT NOT NULL REFERENCES providers (id),
    granted_from    DATE NOT NULL
);
CREATE INDEX grant_decisions_by_application ON grant_decisions (application_id);

CREATE TABLE queue_decisions (
    id              BIGINT PRIMARY KEY,
    application_id  BIGINT NOT NULL REFERENCES applications (id),
    decided_on      DATE NOT NULL,
    document_number TEXT NOT NULL,
    provider_id     BIGINT NOT NULL REFERENCES providers (id),
    queued_from     DATE NOT NULL
);
CREATE INDEX queue_decisions_by_application ON queue_decisions (application_id);

CREATE TABLE queue_events (
    id                    BIGINT PRIMARY KEY,
    person_id             BIGINT NOT NULL REFERENCES persons (id),
    application_id        BIGINT REFERENCES applications (id),
    kind                  INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 15),
    event_date            DATE NOT NULL,
    decision_number       TEXT,
    service_kind_id       BIGINT NOT NULL REFERENCES service_kinds (id),
    preferred_provider_id BIGINT REFERENCES providers (id),
    offered_provider_id   BIGINT REFERENCES providers (id),
    offered_address       TEXT,
    granted_on            DATE
);
CREATE INDEX queue_events_by_person ON queue_events (person_id, event_date, id);

CREATE TABLE queue_entries (
    id              BIGINT PRIMARY KEY,
    person_id       BIGINT NOT NULL REFERENCES persons (id),
    application_id  BIGINT REFERENCES applications (id),
    provider_id     BIGINT NOT NULL REFERENCES providers (id),
    service_kind_id BIGINT NOT NULL REFERENCES service_kinds (id),
    queued_since    DATE NOT NULL,
    active          BOOLEAN NOT NULL
);
CREATE INDEX queue_entries_by_person ON queue_entries (person_id, active);
CREATE INDEX queue_entries_by_queue ON queue_entries (provider_id, service_kind_id, active, queued_since, id);
