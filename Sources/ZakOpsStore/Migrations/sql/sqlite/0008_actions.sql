-- Actions proposed by agents (or operators), approved or rejected by a human.
CREATE TABLE actions (
    id TEXT PRIMARY KEY,
    deal_id TEXT NOT NULL REFERENCES deals (id),
    type TEXT NOT NULL,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    inputs TEXT NOT NULL,
    risk TEXT NOT NULL,
    status TEXT NOT NULL,
    proposed_by TEXT NOT NULL,
    proposed_by_kind TEXT NOT NULL,
    decided_by TEXT,
    decided_at TEXT,
    decision_reason TEXT,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX actions_created ON actions (created_at, id);
CREATE INDEX actions_pending ON actions (status, expires_at);
