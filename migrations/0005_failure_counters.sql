-- Up Migration
-- Fixed-window counters of failed attempts (e.g. wrong registration tokens per IP). In Postgres,
-- so a budget holds across every instance behind the load balancer.
CREATE TABLE failure_counters (
  key        TEXT PRIMARY KEY,
  window_end BIGINT NOT NULL,
  count      INTEGER NOT NULL
);
CREATE INDEX failure_counters_window ON failure_counters (window_end);

-- Down Migration
DROP TABLE failure_counters;
