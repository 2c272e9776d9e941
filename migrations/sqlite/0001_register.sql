-- 0001_register: the part of the SPOLIS register that EP115 and EP116 read.
--
-- Conventions:
-- * dates are ISO 8601 text 'YYYY-MM-DD' (they sort and compare as dates);
-- * personal codes are the eleven digits without the hyphen (PersonalCode::digits);
-- * every row that belongs to a person is reachable from persons.id through an index whose
--   first column is person_id (or application_id, for the children of an application), so an
--   answer about one person never scans the register.
--
-- At run time the register is read-only; it is filled by an import (or `seed-demo`).

-- Classifier of social service kinds (sociālā pakalpojuma veids).
CREATE TABLE service_kinds (
    id   INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL
);

-- Service providers (pakalpojuma sniedzēji): state social care centres and contract organisations.
CREATE TABLE providers (
    id      INTEGER PRIMARY KEY,
    code    TEXT NOT NULL UNIQUE,
    name    TEXT NOT NULL,
    address TEXT NOT NULL
);

-- Municipalities (pašvaldības) whose social service assessed the need.
CREATE TABLE municipalities (
    id      INTEGER PRIMARY KEY,
    code    TEXT NOT NULL UNIQUE,
    name    TEXT NOT NULL,
    address TEXT NOT NULL,
    phone   TEXT,
    email   TEXT
);

-- Persons (personas) the register knows.
CREATE TABLE persons (
    id          INTEGER PRIMARY KEY,
    person_code TEXT NOT NULL,
    first_name  TEXT NOT NULL,
    surname     TEXT NOT NULL
);
CREATE UNIQUE INDEX persons_by_code ON persons (person_code);

-- Legal representatives (likumiskie pārstāvji) named on applications.
CREATE TABLE legal_representatives (
    id          INTEGER PRIMARY KEY,
    first_name  TEXT NOT NULL,
    surname     TEXT NOT NULL,
    person_code TEXT,
    address     TEXT,
    phone       TEXT,
    email       TEXT
);

-- Applications (iesniegumi), point 12.1 of Cabinet Regulation No. 587.
CREATE TABLE applications (
    id                      INTEGER PRIMARY KEY,
    person_id               INTEGER NOT NULL REFERENCES persons (id),
    application_number      TEXT NOT NULL,
    submitted_on            TEXT NOT NULL,
    application_kind        TEXT NOT NULL,
    service_kind_id         INTEGER NOT NULL REFERENCES service_kinds (id),
    preferred_provider_id   INTEGER REFERENCES providers (id),
    municipality_id         INTEGER NOT NULL REFERENCES municipalities (id),
    legal_representative_id INTEGER REFERENCES legal_representatives (id)
);
CREATE UNIQUE INDEX applications_by_number ON applications (application_number);
-- EP115: one person's applications in a period, in answer order.
CREATE INDEX applications_by_person ON applications (person_id, submitted_on, application_number);

-- 12.4 Documents submitted with an application.
CREATE TABLE submitted_documents (
    id             INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES applications (id),
    title          TEXT NOT NULL,
    submitted_on   TEXT NOT NULL
);
CREATE INDEX submitted_documents_by_application ON submitted_documents (application_id);

-- 12.5 Requests for additional (or renewed) documents.
CREATE TABLE document_requests (
    id             INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES applications (id),
    requested_on   TEXT NOT NULL,
    description    TEXT NOT NULL,
    due_on         TEXT,
    fulfilled_on   TEXT
);
CREATE INDEX document_requests_by_application ON document_requests (application_id);

-- 12.6 Decisions to grant the service.
CREATE TABLE grant_decisions (
    id              INTEGER PRIMARY KEY,
    application_id  INTEGER NOT NULL REFERENCES applications (id),
    decided_on      TEXT NOT NULL,
    document_number TEXT NOT NULL,
    provider_id     INTEGER NOT NULL REFERENCES providers (id),
    granted_from    TEXT NOT NULL
);
CREATE INDEX grant_decisions_by_application ON grant_decisions (application_id);

-- 12.7 Decisions to admit to the queue.
CREATE TABLE queue_decisions (
    id              INTEGER PRIMARY KEY,
    application_id  INTEGER NOT NULL REFERENCES applications (id),
    decided_on      TEXT NOT NULL,
    document_number TEXT NOT NULL,
    provider_id     INTEGER NOT NULL REFERENCES providers (id),
    queued_from     TEXT NOT NULL
);
CREATE INDEX queue_decisions_by_application ON queue_decisions (application_id);

-- EP116 queue events (rindas notikumi); kind is the 1–15 code of the seed document's list.
CREATE TABLE queue_events (
    id                    INTEGER PRIMARY KEY,
    person_id             INTEGER NOT NULL REFERENCES persons (id),
    application_id        INTEGER REFERENCES applications (id),
    kind                  INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 15),
    event_date            TEXT NOT NULL,
    decision_number       TEXT,
    service_kind_id       INTEGER NOT NULL REFERENCES service_kinds (id),
    preferred_provider_id INTEGER REFERENCES providers (id),
    -- The offered place: its provider and, when it differs from the provider's seat, its address.
    offered_provider_id   INTEGER REFERENCES providers (id),
    offered_address       TEXT,
    granted_on            TEXT
);
-- EP116: one person's events in a period, in answer order (date, then id: the rowid ends every index).
CREATE INDEX queue_events_by_person ON queue_events (person_id, event_date);

-- Queue entries: who waits (active = 1) or waited (active = 0) in which queue, one queue
-- being a provider × service kind. Positions are counted over the active entries of a queue.
CREATE TABLE queue_entries (
    id              INTEGER PRIMARY KEY,
    person_id       INTEGER NOT NULL REFERENCES persons (id),
    application_id  INTEGER REFERENCES applications (id),
    provider_id     INTEGER NOT NULL REFERENCES providers (id),
    service_kind_id INTEGER NOT NULL REFERENCES service_kinds (id),
    queued_since    TEXT NOT NULL,
    active          INTEGER NOT NULL CHECK (active IN (0, 1))
);
-- EP116: the person's current queues.
CREATE INDEX queue_entries_by_person ON queue_entries (person_id, active);
-- EP116: places ahead and queue length are range counts inside one queue.
CREATE INDEX queue_entries_by_queue ON queue_entries (provider_id, service_kind_id, active, queued_since, id);
