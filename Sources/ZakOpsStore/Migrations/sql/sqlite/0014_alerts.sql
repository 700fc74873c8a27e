-- Monitoring (issue 15).
-- metric_snapshots: each serving instance's latest numbers (the alert rules' counters and
--   gauges, as JSON), written every ALERT_EVALUATION_SECONDS; removed at a clean stop. The
--   embedded evaluator reads every instance's row, so its rates are the cluster's, and a row
--   that stops changing is an instance that died.
CREATE TABLE metric_snapshots (
    instance_id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    sampled_at TEXT NOT NULL,
    body TEXT NOT NULL
);

-- alert_states: each built-in alert's state as the embedded evaluator last left it
--   (inactive, pending, firing), so a restart or another instance taking over neither
--   forgets a firing alert nor notifies it twice.
CREATE TABLE alert_states (
    name TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    value TEXT,
    active_since TEXT,
    fired_at TEXT,
    resolved_at TEXT,
    evaluated_at TEXT NOT NULL
);
