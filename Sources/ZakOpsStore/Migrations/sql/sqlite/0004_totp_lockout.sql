-- Failed one-time codes per operator: after five, TOTP attempts are refused for 15 minutes.
ALTER TABLE operators ADD COLUMN totp_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE operators ADD COLUMN totp_locked_until TEXT;
