-- Webhook subscriptions. The signing secret must be readable to sign deliveries, so it is
-- stored (see docs/decisions.md); it is shown to the admin once, at creation.
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    event_types TEXT NOT NULL,
    secret TEXT NOT NULL,
    is_active BOOLEAN NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);

-- The transactional outbox: whatever leaves the process is a row written in the transaction of
-- the change that caused it. status: pending, processing (leased), delivered, dead (the DLQ).
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    consumer TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TEXT NOT NULL,
    lease_expires_at TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL,
    delivered_at TEXT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_dead ON outbox (status, created_at, id);
