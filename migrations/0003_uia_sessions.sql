-- Up Migration
-- User-interactive authentication sessions, in the database so any instance can continue one.
CREATE TABLE uia_sessions (
  session_id    TEXT PRIMARY KEY,
  -- The normalised operation that started the session ("POST /register"); another operation
  -- presenting this session is refused.
  operation     TEXT NOT NULL,
  -- Security-relevant request parameters frozen when first seen (username, kind, and a salted
  -- digest of the password - never the password itself).
  binding       JSONB NOT NULL DEFAULT '{}',
  -- The argon2id hash of the password, computed once, so a registration costs one hash however
  -- many rounds carry the password.
  password_hash TEXT,
  completed     JSONB NOT NULL DEFAULT '{}',  -- stage type -> what the stage established
  created_at    BIGINT NOT NULL,
  expires_at    BIGINT NOT NULL,
  -- Set in the transaction that performs the operation: a spent session never performs it twice.
  spent_at      BIGINT,
  result        JSONB                         -- what the operation did (e.g. the user ID)
);
CREATE INDEX uia_sessions_expires ON uia_sessions (expires_at);

-- Down Migration
DROP TABLE uia_sessions;
