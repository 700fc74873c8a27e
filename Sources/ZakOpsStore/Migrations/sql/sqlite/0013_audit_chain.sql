-- The tamper-evident audit trail (issue 14): each entry carries an HMAC over its content and the
-- previous entry's MAC (mac), naming the key (mac_key). Entries written before this migration
-- are unsigned; the chain starts at audit.chain_start (the next audit number).
ALTER TABLE audit_log ADD COLUMN mac TEXT;
ALTER TABLE audit_log ADD COLUMN mac_key TEXT;
INSERT INTO settings (key, value, updated_at, updated_by)
    SELECT 'audit.chain_start', CAST(audit_value + 1 AS TEXT), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'migration'
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
-- transaction). SQLite has no TRUNCATE: DELETE without WHERE runs this trigger for every row.
DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN OLD.seq > (SELECT COALESCE(MAX(seq), 0) FROM audit_checkpoints)
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
