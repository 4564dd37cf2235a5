-- Up Migration
-- Registration bans added through the admin API (the configured ones live in the environment):
-- an IP address or CIDR range, or a user-agent pattern. Checked before any password hash or
-- outgoing message, on every instance (read from here on each check, so a ban takes effect
-- everywhere without a redeploy).
CREATE TABLE registration_bans (
  id         BIGSERIAL PRIMARY KEY,
  kind       TEXT NOT NULL CHECK (kind IN ('ip', 'user_agent')),
  value      TEXT NOT NULL,            -- canonical CIDR ("203.0.113.0/24", "2001:db8::/32") or glob pattern
  reason     TEXT,
  created_at BIGINT NOT NULL,
  UNIQUE (kind, value)
);

-- Down Migration
DROP TABLE registration_bans;
