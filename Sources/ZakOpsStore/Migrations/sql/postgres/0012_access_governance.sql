-- Access governance (issue 13).
-- approval_pending: a self-registered operator waits (inactive) until an admin enables them.
-- reset_required: a forced reset (an admin's, or the auth-breach playbook's): sign-in answers
--   403 PASSWORD_RESET_REQUIRED until the e-mailed link has set a new password.
-- erased_at: personal data removed on request; the row keeps its id, the audit trail's pseudonym.
ALTER TABLE operators ADD COLUMN approval_pending BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE operators ADD COLUMN reset_required BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE operators ADD COLUMN disabled_at TEXT;
ALTER TABLE operators ADD COLUMN erased_at TEXT;
ALTER TABLE operators ADD COLUMN created_by TEXT;

-- API keys expire (API_KEY_MAX_AGE_DAYS); a rotation shortens the old key's life to the grace period.
ALTER TABLE api_keys ADD COLUMN expires_at TEXT;
ALTER TABLE api_keys ADD COLUMN replaced_by TEXT;

-- Webhook secrets rotate with an overlap: deliveries carry a signature with each secret until
-- previous_secret_until.
ALTER TABLE webhooks ADD COLUMN previous_secret TEXT;
ALTER TABLE webhooks ADD COLUMN previous_secret_until TEXT;
ALTER TABLE webhooks ADD COLUMN secret_rotated_at TEXT;

-- Reports the playbooks store (the auth-breach access report, access reviews), as JSON.
CREATE TABLE reports (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX reports_kind ON reports (kind, created_at);
