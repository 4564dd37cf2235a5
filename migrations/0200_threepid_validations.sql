-- Up Migration
-- Validation sessions of third-party identifiers (requestToken → submitToken → UIA stage). The
-- service validates addresses itself (no identity server). A session belongs to one purpose
-- (registration or password reset), checked again when a UIA stage consumes it, so a session made
-- for one cannot be spent on the other. The token is stored only as its SHA-256; a NULL hash is a
-- session that can never validate (the non-revealing answer for an address that may not be used).
CREATE TABLE threepid_validations (
  sid              TEXT PRIMARY KEY,             -- CSPRNG, [0-9a-zA-Z.=_-]
  client_secret    TEXT NOT NULL,
  purpose          TEXT NOT NULL CHECK (purpose IN ('registration', 'reset')),
  medium           TEXT NOT NULL CHECK (medium IN ('email', 'msisdn')),
  address          TEXT NOT NULL,                -- canonical email, or msisdn digits without "+"
  send_attempt     BIGINT NOT NULL,              -- the highest send_attempt seen
  token_hash       BYTEA,
  token_expires_at BIGINT NOT NULL,
  next_link        TEXT,                         -- vetted against the allow-list at requestToken
  failed_attempts  INTEGER NOT NULL DEFAULT 0,
  created_at       BIGINT NOT NULL,
  expires_at       BIGINT NOT NULL,
  validated_at     BIGINT,
  consumed_at      BIGINT                        -- spent by a registration or reset
);
-- The spec scopes send_attempt to client_secret + address: one session per such pair and purpose.
CREATE UNIQUE INDEX threepid_validations_key ON threepid_validations (purpose, medium, address, client_secret);
CREATE INDEX threepid_validations_expiry ON threepid_validations (expires_at);

-- Down Migration
DROP TABLE threepid_validations;
