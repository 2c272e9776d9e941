-- 0003_client_groups: the nature of the person's problem (problēmas būtība) — the client
-- group a state-funded long-term care service is for under Cabinet Regulation No. 587 and the
-- Law on Social Services and Social Assistance (adults with severe mental disorders, children
-- without parental care or with disabilities, persons with visual impairment) — as a
-- classifier, and each application's value. NULL where an older register does not record it.
CREATE TABLE client_groups (
    id   INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL
);
ALTER TABLE applications ADD COLUMN client_group_id INTEGER REFERENCES client_groups (id);
