-- Up Migration
-- Accounts. All times are milliseconds since the epoch, written by the service's injected clock
-- (never the database's now()), so tests can fix time and instances agree on one clock source.
CREATE TABLE users (
  user_id        TEXT PRIMARY KEY,            -- full MXID, @localpart:server_name
  localpart      TEXT NOT NULL UNIQUE,        -- lower case: the unique constraint settles name races
  password_hash  TEXT,                        -- argon2id PHC string; NULL for guests
  is_guest       BOOLEAN NOT NULL DEFAULT FALSE,
  admin          BOOLEAN NOT NULL DEFAULT FALSE,
  created_at     BIGINT NOT NULL,
  -- Deactivated accounts keep their row forever so the user ID can never be registered again.
  deactivated_at BIGINT,
  erased         BOOLEAN NOT NULL DEFAULT FALSE,
  registration_token TEXT                     -- which registration token (if any) admitted it
);

-- Down Migration
DROP TABLE users;
