-- Runtime switches shared by every instance (outbox paused, SSE degraded mode, ...).
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT
);
