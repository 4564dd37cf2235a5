-- Up Migration
-- Account approval (MSC3866). Existing accounts were usable, so they stay approved; a new account
-- is written with approved = FALSE when REGISTRATION_REQUIRES_APPROVAL is on, and cannot be used
-- (no login, /register answers M_USER_AWAITING_APPROVAL) until an admin approves it.
ALTER TABLE users ADD COLUMN approved BOOLEAN NOT NULL DEFAULT TRUE;

-- How each account was registered, kept with the account (not with the audit log, which is pruned)
-- so the admin's pending list can show where a registration came from.
CREATE TABLE account_registrations (
  user_id            TEXT PRIMARY KEY REFERENCES users (user_id) ON DELETE CASCADE,
  ip                 TEXT NOT NULL,
  user_agent         TEXT,
  registration_token TEXT,
  threepids          JSONB NOT NULL DEFAULT '[]',   -- [{medium, address}] validated during registration
  created_at         BIGINT NOT NULL
);
-- The pending list: unapproved, live accounts, oldest first.
CREATE INDEX users_pending_approval ON users (created_at) WHERE NOT approved AND deactivated_at IS NULL;

-- Down Migration
DROP INDEX users_pending_approval;
DROP TABLE account_registrations;
ALTER TABLE users DROP COLUMN approved;
