-- Rate-limit counters shared by every instance: one row per key and fixed window. Used when the
-- database is PostgreSQL (several instances); a SQLite instance counts in memory.
CREATE TABLE rate_limit_counters (
    bucket TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits INTEGER NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
CREATE INDEX rate_limit_counters_window ON rate_limit_counters (window_start);

-- Failed logins per e-mail address, known or not, keyed by the SHA-256 of the lower-cased
-- address (no address is stored). After five, each attempt waits a growing delay.
CREATE TABLE login_failures (
    subject_hash TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_failure_at TEXT NOT NULL,
    locked_until TEXT
);
CREATE INDEX login_failures_last_failure ON login_failures (last_failure_at);
