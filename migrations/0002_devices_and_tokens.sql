-- Up Migration
-- Devices and the tokens that authenticate them. Tokens are stored only as SHA-256 hashes of the
-- random token, so a database leak yields no usable token. Deleting a device deletes its tokens.
CREATE TABLE devices (
  user_id      TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
  device_id    TEXT NOT NULL,
  display_name TEXT,
  created_at   BIGINT NOT NULL,
  last_seen_at BIGINT,
  PRIMARY KEY (user_id, device_id)
);

CREATE TABLE refresh_tokens (
  id            BIGSERIAL PRIMARY KEY,
  token_hash    BYTEA NOT NULL UNIQUE,
  user_id       TEXT NOT NULL,
  device_id     TEXT NOT NULL,
  created_at    BIGINT NOT NULL,
  -- Set when this token has been exchanged; the old token stays usable until the new access
  -- token is first used (spec: refreshing access tokens), then it is deleted.
  next_token_id BIGINT REFERENCES refresh_tokens (id) ON DELETE CASCADE,
  FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
);

CREATE TABLE access_tokens (
  id               BIGSERIAL PRIMARY KEY,
  token_hash       BYTEA NOT NULL UNIQUE,
  user_id          TEXT NOT NULL,
  device_id        TEXT NOT NULL,
  created_at       BIGINT NOT NULL,
  expires_at       BIGINT,                    -- NULL: does not expire (no refresh token issued)
  refresh_token_id BIGINT REFERENCES refresh_tokens (id) ON DELETE CASCADE,
  used_at          BIGINT,                    -- first use, which retires the previous refresh token
  FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
);
CREATE INDEX access_tokens_device ON access_tokens (user_id, device_id);
CREATE INDEX refresh_tokens_device ON refresh_tokens (user_id, device_id);

-- Down Migration
DROP TABLE access_tokens;
DROP TABLE refresh_tokens;
DROP TABLE devices;
