-- 0008_client_groups (PostgreSQL): as migrations/sqlite/0003_client_groups.sql.
CREATE TABLE client_groups (
    id   BIGINT PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL
);
ALTER TABLE applications ADD COLUMN client_group_id BIGINT REFERENCES client_groups (id);
