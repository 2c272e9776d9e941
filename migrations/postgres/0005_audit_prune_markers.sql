-- A checkpoint is either a signed head ('head') or a prune marker ('prune', written by
-- `audit prune` at the last record it removed), signed under different domains: see
-- migrations/audit-sqlite/0003_prune_markers.sql.
ALTER TABLE audit_checkpoints ADD COLUMN kind TEXT NOT NULL DEFAULT 'head';
