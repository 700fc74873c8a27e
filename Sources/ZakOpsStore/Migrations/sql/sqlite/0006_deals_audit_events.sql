-- Deals: the pipeline's records. Money amounts are exact decimals kept as text; company_info is
-- a JSON object of bounded size (checked by the API). Soft-deleted rows keep deleted_at.
CREATE TABLE deals (
    id TEXT PRIMARY KEY,
    canonical_name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    stage TEXT NOT NULL,
    status TEXT NOT NULL,
    broker_name TEXT,
    broker_email TEXT,
    company_info TEXT NOT NULL,
    asking_price TEXT,
    ebitda TEXT,
    revenue TEXT,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    created_by TEXT NOT NULL
);
CREATE INDEX deals_created ON deals (created_at, id);
CREATE INDEX deals_stage ON deals (stage);

-- Every data modification, written in the transaction of the change. Never updated or deleted
-- by the application.
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    occurred_at TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    changes TEXT NOT NULL,
    request_id TEXT,
    client_ip TEXT
);
CREATE INDEX audit_log_occurred ON audit_log (occurred_at, id);
CREATE INDEX audit_log_target ON audit_log (target_kind, target_id);

-- The event log: one row per change with a gap-free, increasing sequence number taken from
-- event_sequence in the writing transaction (a rolled-back change takes no number).
CREATE TABLE event_log (
    sequence BIGINT PRIMARY KEY,
    occurred_at TEXT NOT NULL,
    type TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX event_log_subject ON event_log (subject_kind, subject_id, sequence);
CREATE TABLE event_sequence (
    id INTEGER PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO event_sequence (id, value) VALUES (1, 0);

-- The audit log is append-only: UPDATE and DELETE are refused (the retention job will drop and
-- recreate this trigger around its own deletes).
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
