-- Up Migration
-- Registration tokens, with Synapse's fields. pending counts uses held by UIA sessions that passed
-- the token stage but have not finished; each hold is a row below that lapses at expires_at, when
-- its use is given back. Reserving a use is one conditional UPDATE, so uses are never exceeded.
CREATE TABLE registration_tokens (
  token        TEXT PRIMARY KEY,
  uses_allowed INTEGER CHECK (uses_allowed >= 0),     -- NULL: unlimited
  pending      INTEGER NOT NULL DEFAULT 0 CHECK (pending >= 0),
  completed    INTEGER NOT NULL DEFAULT 0 CHECK (completed >= 0),
  expiry_time  BIGINT,                                -- ms since the epoch; NULL: never expires
  created_at   BIGINT NOT NULL
);

CREATE TABLE registration_token_holds (
  session_id TEXT PRIMARY KEY,
  token      TEXT NOT NULL REFERENCES registration_tokens (token) ON DELETE CASCADE,
  expires_at BIGINT NOT NULL
);
CREATE INDEX registration_token_holds_expiry ON registration_token_holds (expires_at);
CREATE INDEX registration_token_holds_token ON registration_token_holds (token);

-- Down Migration
DROP TABLE registration_token_holds;
DROP TABLE registration_tokens;
