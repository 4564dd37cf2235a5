-- Up Migration
-- Messages to deliver (email over SMTP, text messages over the HTTP gateway). Written in the same
-- transaction as the validation session that needs them, and sent by a background worker on any
-- instance: a worker claims rows with FOR UPDATE SKIP LOCKED by moving next_attempt_at past a
-- lease, commits, sends outside any transaction, then records the outcome. An outage delays
-- messages and loses none; after the last attempt a row is marked failed (and logged).
CREATE TABLE outbox (
  id              BIGSERIAL PRIMARY KEY,
  channel         TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
  recipient       TEXT NOT NULL,
  subject         TEXT,
  body_text       TEXT NOT NULL,
  body_html       TEXT,
  status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  created_at      BIGINT NOT NULL,
  sent_at         BIGINT,
  last_error      TEXT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';

-- Down Migration
DROP TABLE outbox;
