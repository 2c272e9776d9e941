-- 0010_audit_administrative_records (PostgreSQL): version 3 of the audit record adds an
-- administrative record's details — something done to the service rather than a call to it:
-- each register import (batch id, file digest, counts, full/delta, as-of; src/audit/record.rs),
-- so "what did the register say that day, and where did it come from" is answered by the
-- same tamper-evident chain as the calls. Rows written before keep their version and verify
-- as before. Details in a row of an earlier version are covered by no hash: refused here,
-- and reported as altered by `audit verify`.
ALTER TABLE audit_records
    DROP CONSTRAINT audit_records_record_version_check,
    ADD CONSTRAINT audit_records_record_version_check CHECK (record_version IN (1, 2, 3)),
    ADD COLUMN administrative TEXT,
    ADD CONSTRAINT audit_records_before_version_3_is_no_administrative_record
        CHECK (record_version >= 3 OR administrative IS NULL);
