-- Up Migration
-- Global registration caps (REGISTRATION_MAX_PER_HOUR / _PER_DAY), counted per fixed window
-- ('hour' or 'day' + the window's start) in Postgres so every instance shares one count. A
-- registration takes its slot with one conditional upsert inside the transaction that creates the
-- account, so concurrent registrations on any number of instances never exceed the cap.
CREATE TABLE registration_caps (
  period       TEXT NOT NULL CHECK (period IN ('hour', 'day')),
  window_start BIGINT NOT NULL,
  count        INTEGER NOT NULL CHECK (count >= 0),
  PRIMARY KEY (period, window_start)
);

-- Down Migration
DROP TABLE registration_caps;
