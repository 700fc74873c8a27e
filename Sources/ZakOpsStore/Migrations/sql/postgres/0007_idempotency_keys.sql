-- Idempotency keys of creating POSTs: per principal, kept 24 hours. status is null while the
-- first request is still running; then the response it got, to replay.
CREATE TABLE idempotency_keys (
    principal_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER,
    response_body TEXT,
    location TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (principal_id, idempotency_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
