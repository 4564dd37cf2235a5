-- Up Migration
-- Which version of each policy document (m.login.terms) an account accepted at registration:
-- the spec expects the server to track the versions it presented. One row per account and
-- policy, written in the registration transaction.
CREATE TABLE policy_acceptances (
  user_id      TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
  policy       TEXT NOT NULL,                 -- the policy id, e.g. terms_of_service
  version      TEXT NOT NULL,                 -- the version presented and accepted
  accepted_at  BIGINT NOT NULL,               -- ms since the epoch (the service's clock)
  PRIMARY KEY (user_id, policy)
);

-- Down Migration
DROP TABLE policy_acceptances;
