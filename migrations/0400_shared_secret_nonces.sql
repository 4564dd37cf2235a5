-- Up Migration
-- Nonces of Synapse-compatible shared-secret registration (/_synapse/admin/v1/register).
-- They live in PostgreSQL, not in one instance's memory, so a nonce fetched from one instance
-- is accepted by another behind the same load balancer. Each is deleted when used (single use)
-- and is refused after expires_at (short-lived); expired rows are swept by the maintenance job.
CREATE TABLE shared_secret_nonces (
  nonce      TEXT PRIMARY KEY,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX shared_secret_nonces_expires_at ON shared_secret_nonces (expires_at);

-- Down Migration
DROP TABLE shared_secret_nonces;
