-- Up Migration
-- Outgoing webhook calls (a new account awaiting approval), queued in the transaction that creates
-- the account so none is lost if the process dies. A worker on any instance claims due rows with
-- FOR UPDATE SKIP LOCKED in a short transaction, calls the URL outside any transaction, and
-- records the outcome; failures are retried with backoff.
CREATE TABLE webhook_outbox (
  id              BIGSERIAL PRIMARY KEY,
  event           TEXT NOT NULL,
  payload         JSONB NOT NULL,
  status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  created_at      BIGINT NOT NULL,
  sent_at         BIGINT,
  last_error      TEXT
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at) WHERE status = 'pending';

-- Down Migration
DROP TABLE webhook_outbox;
