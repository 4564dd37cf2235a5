-- Up Migration
-- The audit log: one row per registration attempt that ended (an account created, one left
-- awaiting approval, or a refusal and why), so an operator can see an attack and its shape.
-- Rows older than REGISTRATION_AUDIT_RETENTION are deleted by the clean-up job.
CREATE TABLE registration_attempts (
  id          BIGSERIAL PRIMARY KEY,
  at          BIGINT NOT NULL,
  outcome     TEXT NOT NULL CHECK (outcome IN ('registered', 'pending_approval', 'refused')),
  errcode     TEXT,                    -- for refusals: the Matrix error code answered
  reason      TEXT,                    -- for refusals: a short machine-readable reason (banned_ip, cap_hour...)
  ip          TEXT NOT NULL,
  user_agent  TEXT,
  kind        TEXT NOT NULL,           -- 'user' or 'guest'
  username    TEXT,                    -- requested localpart, if any
  user_id     TEXT,                    -- the account created, if any
  flow        TEXT[],                  -- the UIA stages completed
  registration_token TEXT
);
CREATE INDEX registration_attempts_at ON registration_attempts (at);
CREATE INDEX registration_attempts_ip ON registration_attempts (ip, at);

-- Down Migration
DROP TABLE registration_attempts;
