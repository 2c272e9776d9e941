-- A checkpoint is either a signed head ('head', written while records are appended) or a
-- prune marker ('prune', written by `audit prune` at the last record it removed). The two are
-- signed under different domains, so a plain head cannot be passed off as a prune marker:
-- a prefix deleted without pruning leaves the log anchored on no marker, and `audit verify`
-- says so. Checkpoints written before this layout are heads.
ALTER TABLE audit_checkpoints ADD COLUMN kind TEXT NOT NULL DEFAULT 'head';
