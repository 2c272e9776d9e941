-- 0006_audit_record_purpose (PostgreSQL): version 2 of the audit record adds the request's
-- purpose (its legal basis and the social service's case number) and, for a consumer
-- registered for bulk requests, who prepares them (the bulk mark). Rows written before keep
-- version 1 and are hashed as version 1 (src/audit/record.rs): they still verify. A version-1
-- row never holds a purpose (its hash would not cover one): `audit verify` reports one that
-- does as altered, and the constraint refuses it in the first place.
ALTER TABLE audit_records
    ADD COLUMN record_version      SMALLINT NOT NULL DEFAULT 1 CHECK (record_version IN (1, 2)),
    ADD COLUMN purpose_legal_basis TEXT,
    ADD COLUMN purpose_case_number TEXT,
    ADD COLUMN bulk_prepared_by    TEXT,
    ADD CONSTRAINT audit_records_version_1_has_no_purpose
        CHECK (record_version > 1 OR (purpose_legal_basis IS NULL AND purpose_case_number IS NULL AND bulk_prepared_by IS NULL));
