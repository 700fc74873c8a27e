-- Event streams counted across the cluster (issue 16): each open stream holds a lease row,
-- renewed by its instance while it stays open and removed when it closes; a stream of an
-- instance that died stops counting when its lease expires. A user's sixth stream is refused
-- whichever instances the six land on. (SQLite runs one instance: it counts in memory only,
-- the table stays empty.)
CREATE TABLE stream_leases (
    id TEXT PRIMARY KEY,
    principal_id TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX stream_leases_principal ON stream_leases (principal_id, expires_at);
CREATE INDEX stream_leases_instance ON stream_leases (instance_id);
