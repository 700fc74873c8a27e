-- The tamper-evident audit trail (issue 14): each entry carries an HMAC over its content and the
-- previous entry's MAC (mac), naming the key (mac_key). Entries written before this migration
-- are unsigned; the chain starts at audit.chain_start (the next audit number).
ALTER TABLE audit_log ADD COLUMN mac TEXT;
ALTER TABLE audit_log ADD COLUMN mac_key TEXT;
INSERT INTO settings (key, value, updated_at, updated_by)
    SELECT 'audit.chain_start', CAST(audit_value + 1 AS TEXT), to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'migration'
    FROM event_sequence WHERE id = 1;

-- A purge of the oldest entries leaves a signed checkpoint: the last purged number, the chain
-- head there, how many were purged. Checkpoints are append-only.
CREATE TABLE audit_checkpoints (
    seq BIGINT PRIMARY KEY,
    head_mac TEXT NOT NULL,
    purged INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    mac TEXT NOT NULL,
    mac_key TEXT NOT NULL
);

-- Deletion is allowed only for entries a checkpoint already covers (written first, in the same
-- transaction): no session setting opens it any more. UPDATE is always refused; so is TRUNCATE.
-- (Function bodies stay on one line: the migration runner splits statements at semicolons
-- that end a line.)
CREATE OR REPLACE FUNCTION zakops_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN IF TG_OP = 'DELETE' AND OLD.seq <= (SELECT COALESCE(MAX(seq), 0) FROM audit_checkpoints) THEN RETURN OLD; END IF; RAISE EXCEPTION 'audit_log is append-only'; END
$$;
CREATE FUNCTION zakops_append_only_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END
$$;
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION zakops_append_only_statement();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION zakops_append_only_statement();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION zakops_append_only_statement();
