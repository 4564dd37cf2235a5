-- Up Migration
-- Third-party identifiers bound to accounts. The primary key makes an address belong to at most
-- one account: a registration racing another for the same address fails on it cleanly.
CREATE TABLE user_threepids (
  medium       TEXT NOT NULL CHECK (medium IN ('email', 'msisdn')),
  address      TEXT NOT NULL,
  user_id      TEXT NOT NULL REFERENCES users (user_id),
  validated_at BIGINT NOT NULL,
  added_at     BIGINT NOT NULL,
  PRIMARY KEY (medium, address)
);
CREATE INDEX user_threepids_user ON user_threepids (user_id);

-- Down Migration
DROP TABLE user_threepids;
