-- Lists page in commit order, not by a time stamped before commit: a transaction that commits
-- late with an earlier stamp could otherwise fall behind a reader's cursor and be skipped.
-- Deals and actions take the sequence number of their creation event; audit entries take one
-- from a second counter on the event_sequence row (one row, so one lock and one lock order).
-- Both counters are locked until commit, so numbers are handed out in commit order.
ALTER TABLE event_sequence ADD COLUMN audit_value BIGINT NOT NULL DEFAULT 0;

ALTER TABLE deals ADD COLUMN seq BIGINT;
UPDATE deals SET seq = (SELECT MIN(sequence) FROM event_log WHERE subject_kind = 'deal' AND subject_id = deals.id);
CREATE UNIQUE INDEX deals_seq ON deals (seq);

ALTER TABLE actions ADD COLUMN seq BIGINT;
UPDATE actions SET seq = (SELECT MIN(sequence) FROM event_log WHERE subject_kind = 'action' AND subject_id = actions.id);
CREATE UNIQUE INDEX actions_seq ON actions (seq);

ALTER TABLE audit_log ADD COLUMN seq BIGINT;
ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;
UPDATE audit_log SET seq = numbered.n FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY occurred_at, id) AS n FROM audit_log) AS numbered WHERE numbered.id = audit_log.id;
ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only;
UPDATE event_sequence SET audit_value = (SELECT COUNT(*) FROM audit_log) WHERE id = 1;
CREATE UNIQUE INDEX audit_log_seq ON audit_log (seq);
