// Fixed-window failure counters shared by every instance through Postgres.
import type { Queryable } from './db.js';

export interface Budget {
  count: number;
  windowEnd: number;
}

/** Current count in the key's window (0 when the window has ended). */
export async function peekFailures(q: Queryable, key: string, now: number): Promise<Budget> {
  const r = await q.query<{ count: number; window_end: number }>(
    'SELECT count, window_end FROM failure_counters WHERE key = $1 AND window_end > $2',
    [key, now],
  );
  const row = r.rows[0];
  return row ? { count: row.count, windowEnd: row.window_end } : { count: 0, windowEnd: now };
}

/** Counts one failure (one atomic upsert) and returns the new count in the window. */
export async function recordFailure(q: Queryable, key: string, now: number, windowMs: number): Promise<Budget> {
  const r = await q.query<{ count: number; window_end: number }>(
    `INSERT INTO failure_counters (key, window_end, count) VALUES ($1, $2::bigint + $3::bigint, 1)
     ON CONFLICT (key) DO UPDATE SET
       count      = CASE WHEN failure_counters.window_end <= $2::bigint THEN 1 ELSE failure_counters.count + 1 END,
       window_end = CASE WHEN failure_counters.window_end <= $2 THEN $2::bigint + $3::bigint ELSE failure_counters.window_end END
     RETURNING count, window_end`,
    [key, now, windowMs],
  );
  const row = r.rows[0]!;
  return { count: row.count, windowEnd: row.window_end };
}

export async function deleteEndedWindows(q: Queryable, now: number): Promise<void> {
  await q.query('DELETE FROM failure_counters WHERE window_end <= $1', [now]);
}
